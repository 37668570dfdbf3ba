import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import type { CalibrationSection } from '../calibration';
import { parseManifest } from '../manifest';
import { syntheticCohort } from '../testing/cohorts';
import { RefusalError } from './cohort';
import { provableTargetProblem, recalibrate, type RecalibrationOptions } from './recalibrate';
import { selectByCv } from './select';

const demoManifest = JSON.parse(readFileSync(resolve(__dirname, '../../../models/chestaid-demo/manifest.json'), 'utf8'));

// The deployed calibration is the identity (T = 1): right for logits whose truth is sigmoid(z).
const identity: CalibrationSection = {
  input: 'logit',
  selected: 'temperature',
  methods: {
    temperature: { params: { temperature: 1 } },
    platt: { params: { a: 1, b: 0 } },
    isotonic: { params: { x: [0], y: [0.5] } },
  },
};
const options: RecalibrationOptions = { current: identity, currentThreshold: 0.75, nBoot: 200 };

// A site whose scanner shifted the logits: the truth there is sigmoid(0.5 z + 1.2).
const shifted = syntheticCohort(300, 21, 0.5, 1.2);

describe('recalibrate', () => {
  it('chooses by cross-validated log loss, improves on a shifted cohort and moves the threshold', () => {
    const report = recalibrate(shifted, options);
    // sigmoid(0.5 z + 1.2) is Platt's family: temperature cannot move the midpoint.
    expect(report.selected).toBe('platt');
    expect(report.improvesOnCurrent).toBe(true);
    expect(report.after.heldOut.metrics.nll).toBeLessThan(report.before.heldOut.metrics.nll);
    expect(report.after.threshold).not.toBe(report.before.threshold);
    expect(report.manifest.calibration.selection).toMatchObject({ metric: 'oof_nll', cv: { folds: 5, repeats: 10, seed: 0 }, best: report.selection.best });
  });

  it('selects exactly as selectByCv on the cohort in key order', () => {
    const report = recalibrate(shifted, options);
    const sorted = [...shifted].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const direct = selectByCv(
      sorted.map((c) => c.logit),
      sorted.map((c) => c.label as number),
    );
    expect(report.selected).toBe(direct.selected);
    expect(report.selection.oof).toEqual(direct.oof);
  });

  it('proves the target sensitivity at the new threshold and reports its exact interval', () => {
    const report = recalibrate(shifted, options);
    const t = report.threshold;
    expect(t.proof.lowerBound).toBeGreaterThanOrEqual(0.9);
    expect(t.proof.nPos).toBe(report.cohort.nPos);
    expect(t.sensitivityExact.low).toBeLessThanOrEqual(t.sensitivityExact.value);
    expect(report.manifest.thresholds.clinical).toMatchObject({ proven: true, proof: { method: 'clopper-pearson', one_sided: true, positives_needed: 29 } });
    expect(t.pointEstimateThreshold).toBeGreaterThanOrEqual(report.after.threshold);
  });

  it('shows isotonic under 1,000 cases without making it a candidate', () => {
    const report = recalibrate(shifted, options);
    expect(report.selection.candidates).toEqual(['none', 'temperature', 'platt']);
    expect(report.candidates.isotonic.metrics.n).toBe(300);
    expect(report.scheme.description).toMatch(/isotonic shown but not a candidate/);
  });

  it('never deploys a probability of exactly 0 or 1', () => {
    const report = recalibrate(shifted, options);
    const clip = report.fitted[report.selected].params.clip;
    expect(clip).toEqual({ low: 1 / 302, high: 1 - 1 / 302 });
  });

  it('gives the same report whatever order the cohort arrives in', () => {
    const a = recalibrate(shifted, options);
    const b = recalibrate([...shifted].reverse(), options);
    expect(b.manifest).toEqual(a.manifest);
    expect(b.threshold).toEqual(a.threshold);
  });

  it('writes calibration and threshold sections the manifest schema accepts', () => {
    const report = recalibrate(shifted, options);
    const overlay = {
      ...demoManifest,
      schema_version: '1.4.0',
      calibration: { version: '2', ...report.manifest.calibration },
      thresholds: report.manifest.thresholds,
    };
    const parsed = parseManifest(overlay);
    expect(parsed.calibration.selected).toBe(report.selected);
    expect(parsed.thresholds.clinical.value).toBe(report.after.threshold);
    expect(parsed.thresholds.clinical.proof?.lower_bound).toBe(report.threshold.proof.lowerBound);
  });

  it('compares against the deployed demo calibration when given it', () => {
    const report = recalibrate(shifted, { current: demoManifest.calibration, currentThreshold: demoManifest.thresholds.clinical.value, nBoot: 50 });
    expect(report.before.method).toBe('isotonic');
    expect(report.before.threshold).toBe(0.75);
  });

  it('refuses a cohort below the minimums with a RefusalError carrying the reasons', () => {
    let caught: unknown;
    try {
      recalibrate(shifted.slice(0, 60), options);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(RefusalError);
    expect((caught as RefusalError).reasons).toContainEqual(expect.stringMatching(/only 60 labelled case\(s\)/));
  });

  it('refuses a cohort with too few positives to prove the target, saying how many more it needs', () => {
    const many = syntheticCohort(600, 7);
    const cohort = [...many.filter((c) => c.label === 1).slice(0, 25), ...many.filter((c) => c.label === 0).slice(0, 150)];
    let caught: unknown;
    try {
      recalibrate(cohort, options);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(RefusalError);
    expect((caught as RefusalError).reasons).toEqual([expect.stringMatching(/^25 pneumonia cases cannot prove a sensitivity of 0.9 .* at least 29 are needed .* add 4 more$/)]);
    // 29 positives are enough, and a higher target needs more.
    expect(provableTargetProblem(29, 0.9)).toBeNull();
    expect(provableTargetProblem(29, 0.95)).toMatch(/at least 59 are needed/);
  });

  it('refuses options that cannot be right, naming them', () => {
    expect(() => recalibrate(shifted, { ...options, currentThreshold: 75 })).toThrow(/currentThreshold = 75/);
    expect(() => recalibrate(shifted, { ...options, folds: 1 })).toThrow(/folds = 1/);
    expect(() => recalibrate(shifted, { ...options, repeats: 0 })).toThrow(/repeats = 0/);
    expect(() => recalibrate(shifted, { ...options, targetSensitivity: 1 })).toThrow(/cannot be proven/);
  });
});
