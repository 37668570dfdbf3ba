import { sigmoid } from '../calibration';
import { InputError } from '../errors';
import { brentBounded, fitCalibrator, fitIsotonic, predictWith } from './fit';
import { syntheticCohort } from '../testing/cohorts';

function columns(n: number, seed: number, a: number, b: number): { z: number[]; y: number[] } {
  const cohort = syntheticCohort(n, seed, a, b);
  return { z: cohort.map((c) => c.logit), y: cohort.map((c) => c.label as number) };
}

describe('brentBounded', () => {
  it('finds an interior minimum to the requested tolerance', () => {
    expect(Math.abs(brentBounded((x) => (x - 1.234) ** 2, -7, 7, 1e-10) - 1.234)).toBeLessThan(1e-8);
  });

  it('stops at the bound when the minimum lies outside the interval', () => {
    expect(brentBounded((x) => x, -7, 7, 1e-10)).toBeCloseTo(-7, 6);
  });
});

describe('fitCalibrator', () => {
  it('recovers the temperature that generated the labels', () => {
    const { z, y } = columns(20000, 1, 0.5, 0);
    const fit = fitCalibrator('temperature', z, y);
    expect(fit.params.temperature).toBeGreaterThan(1.85);
    expect(fit.params.temperature).toBeLessThan(2.15);
  });

  it("recovers Platt's slope and intercept, including a prior shift temperature cannot express", () => {
    const { z, y } = columns(20000, 2, 0.7, -1);
    const fit = fitCalibrator('platt', z, y);
    expect(fit.params.a).toBeCloseTo(0.7, 1);
    expect(fit.params.b).toBeCloseTo(-1, 1);
    expect(fit.warnings).toEqual([]);
  });

  it('warns instead of diverging when the logits separate the classes', () => {
    const fit = fitCalibrator('platt', [-3, -2, -1, 1, 2, 3], [0, 0, 0, 1, 1, 1]);
    expect(Number.isFinite(fit.params.a) && Number.isFinite(fit.params.b)).toBe(true);
    expect(fit.warnings.join(' ')).toMatch(/separate the classes/);
  });

  it('predicts through the viewer calibration for every method', () => {
    const { z, y } = columns(500, 3, 1, 0);
    expect(Array.from(predictWith(fitCalibrator('none', z, y), [0, 2]))).toEqual([0.5, sigmoid(2)]);
    const t = fitCalibrator('temperature', z, y);
    expect(predictWith(t, [2])[0]).toBe(sigmoid(2 / t.params.temperature));
  });

  it('refuses a single-class cohort, mismatched lengths and non-finite logits, naming them', () => {
    expect(() => fitCalibrator('platt', [1, 2], [1, 1])).toThrow(/needs both classes.*only positives/);
    expect(() => fitCalibrator('platt', [1, 2, 3], [0, 1])).toThrow(/3 values but labels have 2/);
    expect(() => fitCalibrator('temperature', [1, NaN], [0, 1])).toThrow(InputError);
    expect(() => fitCalibrator('temperature', [1, NaN], [0, 1])).toThrow(/logits\[1\] = NaN/);
    expect(() => fitCalibrator('isotonic', [1, 2], [0, 2])).toThrow(/labels\[1\] = 2/);
  });
});

describe('fitIsotonic', () => {
  it('averages the labels of tied logits before pooling', () => {
    expect(fitIsotonic([1, 2, 2, 3, 4], [0, 1, 0, 1, 1])).toEqual({ x: [1, 2, 3, 4], y: [0, 0.5, 1, 1] });
  });

  it("merges logits closer than 1e-15 to a group's first value, as scikit-learn 1.2's _make_unique", () => {
    // Expected values printed by scikit-learn 1.2.1's IsotonicRegression on the same inputs.
    expect(fitIsotonic([1, 1 + 2.220446049250313e-16, 2], [0, 1, 1])).toEqual({ x: [1, 2], y: [0.5, 1] });
    expect(fitIsotonic([0, 2e-15, 2], [0, 1, 1])).toEqual({ x: [0, 2e-15, 2], y: [0, 1, 1] });
    expect(fitIsotonic([1e-20, 5e-16, 1e-15, 3], [0, 1, 0, 1])).toEqual({ x: [1e-20, 3], y: [1 / 3, 1] });
  });

  it('pools a decreasing run and keeps only the end knots of a flat stretch', () => {
    expect(fitIsotonic([1, 2, 3], [1, 0, 0])).toEqual({ x: [1, 3], y: [1 / 3, 1 / 3] });
  });

  it('is non-decreasing with y inside [0, 1] on noisy data', () => {
    const { z, y } = columns(400, 4, 1, 0);
    const knots = fitIsotonic(z, y);
    for (let i = 1; i < knots.x.length; i++) {
      expect(knots.x[i]).toBeGreaterThan(knots.x[i - 1]);
      expect(knots.y[i]).toBeGreaterThanOrEqual(knots.y[i - 1]);
    }
    expect(Math.min(...knots.y)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...knots.y)).toBeLessThanOrEqual(1);
  });

  it('does not reorder or modify the caller arrays', () => {
    const z = [3, 1, 2];
    const y = [1, 0, 1];
    fitIsotonic(z, y);
    expect(z).toEqual([3, 1, 2]);
    expect(y).toEqual([1, 0, 1]);
  });
});
