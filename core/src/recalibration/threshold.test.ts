import { bootstrapThreshold, clopperPearsonLower, minFlaggedToProve, positivesNeeded, sensitivityExact, thresholdForSensitivity, thresholdWithProvenSensitivity } from './threshold';
import { syntheticCohort } from '../testing/cohorts';
import { sigmoid } from '../calibration';

describe('thresholdForSensitivity', () => {
  it('returns the highest positive score that keeps sensitivity at the target', () => {
    const y = [1, 1, 1, 1, 0, 0];
    const p = [0.9, 0.8, 0.7, 0.6, 0.85, 0.1];
    expect(thresholdForSensitivity(y, p, 0.75)).toBe(0.7);
    expect(thresholdForSensitivity(y, p, 0.76)).toBe(0.6);
    expect(thresholdForSensitivity(y, p, 0.25)).toBe(0.9);
  });

  it('counts tied positives together, so a tie can overshoot the target', () => {
    // 0.8 is shared by two positives: thresholds 0.9 (1/4) then 0.8 (3/4).
    expect(thresholdForSensitivity([1, 1, 1, 1], [0.9, 0.8, 0.8, 0.5], 0.5)).toBe(0.8);
  });

  it('refuses a target outside (0, 1] and a split without positives', () => {
    expect(() => thresholdForSensitivity([1, 0], [0.5, 0.2], 0)).toThrow(/target sensitivity = 0/);
    expect(() => thresholdForSensitivity([0, 0], [0.5, 0.2], 0.9)).toThrow(/no positives/);
  });
});

describe('thresholdWithProvenSensitivity', () => {
  const cohort = syntheticCohort(400, 9, 1, 0);
  const y = cohort.map((c) => c.label as number);
  const p = cohort.map((c) => sigmoid(c.logit));

  it('is the highest threshold whose one-sided 95 % Clopper-Pearson lower bound reaches the target', () => {
    const out = thresholdWithProvenSensitivity(y, p, 0.9);
    const flagged = (t: number) => y.filter((v, i) => v === 1 && p[i] >= t).length;
    expect(out.flaggedPositives).toBe(flagged(out.value));
    expect(out.lowerBound).toBe(clopperPearsonLower(out.flaggedPositives, out.nPos));
    expect(out.lowerBound).toBeGreaterThanOrEqual(0.9);
    const higher = p.filter((v, i) => y[i] === 1 && v > out.value);
    if (higher.length) expect(clopperPearsonLower(flagged(Math.min(...higher)), out.nPos)).toBeLessThan(0.9);
    // Proving costs threshold: never above the point-estimate rule.
    expect(out.value).toBeLessThanOrEqual(thresholdForSensitivity(y, p, 0.9));
  });

  it('needs the fewest flagged positives the bound allows, found by bisection', () => {
    const k = minFlaggedToProve(100, 0.9) as number;
    expect(clopperPearsonLower(k, 100)).toBeGreaterThanOrEqual(0.9);
    expect(clopperPearsonLower(k - 1, 100)).toBeLessThan(0.9);
    expect(minFlaggedToProve(28, 0.9)).toBeNull();
  });

  it('refuses too few positives, saying how many are needed', () => {
    expect(positivesNeeded(0.9)).toBe(29);
    const few = [...Array(28).fill(1), ...Array(50).fill(0)];
    expect(() => thresholdWithProvenSensitivity(few, few.map((_, i) => i / 100), 0.9)).toThrow(/28 positives.*at least 29 positives are needed/);
  });

  it('reports a sensitivity with its exact two-sided interval', () => {
    const e = sensitivityExact([1, 1, 1, 1, 0], [0.9, 0.8, 0.3, 0.7, 0.95], 0.5);
    expect([e.k, e.n, e.value]).toEqual([3, 4, 0.75]);
    expect(e.low).toBeLessThan(0.75);
    expect(e.high).toBeGreaterThan(0.75);
  });
});

describe('bootstrapThreshold', () => {
  const cohort = syntheticCohort(300, 7, 1, 0);
  const y = cohort.map((c) => c.label as number);
  const p = cohort.map((c) => sigmoid(c.logit));

  it('brackets the point estimates with its percentile intervals', () => {
    const est = bootstrapThreshold(y, p, 0.9, { nBoot: 500, seed: 3 });
    expect(est.threshold.value).toBe(thresholdWithProvenSensitivity(y, p, 0.9).value);
    expect(est.pointEstimateThreshold).toBe(thresholdForSensitivity(y, p, 0.9));
    for (const iv of [est.threshold, est.sensitivity, est.specificity]) {
      expect(iv.low as number).toBeLessThanOrEqual(iv.value as number);
      expect(iv.high as number).toBeGreaterThanOrEqual(iv.value as number);
      expect(iv.high as number).toBeGreaterThan(iv.low as number);
    }
    expect(est.sensitivity.value as number).toBeGreaterThanOrEqual(0.9);
  });

  it('is reproducible with a seed and changes with it', () => {
    const a = bootstrapThreshold(y, p, 0.9, { nBoot: 200, seed: 1 });
    expect(bootstrapThreshold(y, p, 0.9, { nBoot: 200, seed: 1 })).toEqual(a);
    expect(bootstrapThreshold(y, p, 0.9, { nBoot: 200, seed: 2 }).threshold).not.toEqual(a.threshold);
  });

  it('refuses a non-integer replicate count', () => {
    expect(() => bootstrapThreshold(y, p, 0.9, { nBoot: 0.5 })).toThrow(/nBoot must be a positive integer, got 0.5/);
  });
});
