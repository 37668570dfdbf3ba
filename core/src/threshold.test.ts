import { ABOVE_LABEL, BELOW_LABEL, checkThreshold, decide } from './threshold';

describe('decide', () => {
  it('flags p == threshold as above (the rule is p >= t)', () => {
    const d = decide(0.3, 0.3);
    expect(d.above).toBe(true);
    expect(d.label).toBe('above the clinical threshold: read first');
  });

  it('flags p just below the threshold as below', () => {
    const d = decide(0.3 - 1e-12, 0.3);
    expect(d.above).toBe(false);
    expect(d.label).toBe(BELOW_LABEL);
  });

  it('keeps the probability and threshold it compared', () => {
    expect(decide(0.9, 0.5)).toEqual({ probability: 0.9, threshold: 0.5, above: true, label: ABOVE_LABEL });
  });

  it('accepts the ends of [0, 1] as thresholds', () => {
    expect(decide(0, 0).above).toBe(true);
    expect(decide(0.999, 1).above).toBe(false);
  });

  it.each([[-0.1], [1.5], [Number.NaN]])('refuses threshold %p, naming it', (t) => {
    expect(() => checkThreshold(t)).toThrow(/clinical threshold must be a number in \[0, 1\], got/);
    expect(() => decide(0.5, t)).toThrow(String(t));
  });

  it('refuses a probability outside [0, 1]', () => {
    expect(() => decide(1.2, 0.5)).toThrow(/probability must be a number in \[0, 1\], got 1.2/);
  });
});
