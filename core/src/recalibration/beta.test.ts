import { betaQuantile, ibeta, lnGamma } from './beta';

// Reference values from scipy 1.10 (scipy.special.betainc, scipy.stats.beta.ppf); the parity
// test checks many more against test/fixtures/recalibration.json.
describe('lnGamma', () => {
  it.each([
    [1, 0],
    [2, 0],
    [10, Math.log(362880)],
    [0.5, 0.5 * Math.log(Math.PI)],
    [171, 706.5730622457875],
  ])('ln Gamma(%d)', (x, expected) => {
    expect(Math.abs(lnGamma(x) - expected)).toBeLessThanOrEqual(1e-13 * Math.max(1, Math.abs(expected)));
  });

  it('refuses a non-positive argument by value', () => {
    expect(() => lnGamma(0)).toThrow(/x > 0, got 0/);
  });
});

describe('ibeta', () => {
  it('matches scipy betainc on both sides of the symmetry switch', () => {
    expect(Math.abs(ibeta(0.3, 2, 5) - 0.5798250000000001)).toBeLessThan(1e-14);
    // 1 - I_{1-x}(b, a) branch
    expect(Math.abs(ibeta(0.9, 2, 5) - (1 - ibeta(0.1, 5, 2)))).toBeLessThan(1e-15);
  });

  it('is the binomial tail for integer shapes: I_p(k, n - k + 1) = P(Binomial(n, p) >= k)', () => {
    const n = 20;
    const p = 0.37;
    for (const k of [1, 5, 13, 20]) {
      let tail = 0;
      for (let j = k; j <= n; j++) {
        let c = 1;
        for (let i = 0; i < j; i++) c = (c * (n - i)) / (i + 1);
        tail += c * p ** j * (1 - p) ** (n - j);
      }
      expect(Math.abs(ibeta(p, k, n - k + 1) - tail)).toBeLessThan(1e-13);
    }
  });

  it('refuses x outside [0, 1] and bad shapes by value', () => {
    expect(() => ibeta(1.5, 1, 1)).toThrow(/x in \[0, 1\], got 1.5/);
    expect(() => ibeta(0.5, 0, 1)).toThrow(/a = 0/);
  });
});

describe('betaQuantile', () => {
  it.each([
    [0.05, 29, 1, 0.9018553723227043],
    [0.025, 90, 11, 0.8237774022599773],
    [0.975, 91, 10, 0.9509953107785141],
    [0.05, 1, 10, 0.005116196891823702],
  ])('Beta quantile q=%d a=%d b=%d as scipy.stats.beta.ppf', (q, a, b, expected) => {
    expect(Math.abs(betaQuantile(q, a, b) - expected)).toBeLessThanOrEqual(1e-12 * expected);
  });

  it('inverts ibeta', () => {
    for (const [a, b] of [[3, 400], [250, 51], [1, 1], [0.5, 0.5]]) {
      for (const q of [0.001, 0.05, 0.5, 0.975]) expect(Math.abs(ibeta(betaQuantile(q, a, b), a, b) - q)).toBeLessThan(1e-13);
    }
  });

  it('gives the ends at q = 0 and q = 1', () => {
    expect(betaQuantile(0, 3, 4)).toBe(0);
    expect(betaQuantile(1, 3, 4)).toBe(1);
  });
});
