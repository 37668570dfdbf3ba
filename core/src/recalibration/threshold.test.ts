import { bootstrapThreshold, thresholdForSensitivity } from './threshold';
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

describe('bootstrapThreshold', () => {
  const cohort = syntheticCohort(300, 7, 1, 0);
  const y = cohort.map((c) => c.label as number);
  const p = cohort.map((c) => sigmoid(c.logit));

  it('brackets the point estimates with its percentile intervals', () => {
    const est = bootstrapThreshold(y, p, 0.9, { nBoot: 500, seed: 3 });
    expect(est.threshold.value).toBe(thresholdForSensitivity(y, p, 0.9));
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
