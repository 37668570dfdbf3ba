import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import type { CalibrationSection } from '../calibration';
import { parseManifest } from '../manifest';
import { syntheticCohort } from '../testing/cohorts';
import { RefusalError } from './cohort';
import { recalibrate, selectLowestEce, stratifiedFolds, stratifiedHoldout, type RecalibrationOptions } from './recalibrate';

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
  it('improves held-out ECE on a shifted cohort and moves the threshold', () => {
    const report = recalibrate(shifted, options);
    expect(report.improvesOnCurrent).toBe(true);
    expect(report.after.heldOut.metrics.ece).toBeLessThan(report.before.heldOut.metrics.ece / 2);
    expect(report.after.threshold).not.toBe(report.before.threshold);
    expect(report.after.rates.sensitivity as number).toBeGreaterThanOrEqual(0.9);
    expect(report.selected).not.toBe('temperature');
  });

  it('warns when the threshold interval collapses onto one isotonic step', () => {
    const report = recalibrate(shifted, options);
    const { low, high } = report.threshold.threshold;
    // On this cohort isotonic is selected and every replicate picks its 0.5 step.
    expect([report.selected, low, high]).toEqual(['isotonic', 0.5, 0.5]);
    expect(report.warnings).toContainEqual(expect.stringMatching(/zero width \(0.5\)/));
  });

  it('holds out half of a cohort of 200 or more, stratified, and says so', () => {
    const report = recalibrate(shifted, options);
    expect(report.scheme).toMatchObject({ kind: 'holdout', nFit: 150, nHeldOut: 150 });
    expect(report.candidates.current.metrics.n).toBe(150);
  });

  it('cross-validates a cohort under 200 with 5 folds, scoring every case out of fold', () => {
    const report = recalibrate(shifted.slice(0, 150), options);
    expect(report.scheme).toMatchObject({ kind: 'cross-validation', folds: 5, nHeldOut: 150 });
    expect(report.candidates.isotonic.metrics.n).toBe(150);
  });

  it('selects among the fitted methods by held-out ECE, as select_lowest_ece', () => {
    const report = recalibrate(shifted, options);
    const eces = { temperature: report.candidates.temperature.metrics.ece, platt: report.candidates.platt.metrics.ece, isotonic: report.candidates.isotonic.metrics.ece };
    expect(report.selected).toBe(selectLowestEce(eces));
    expect(report.manifest.calibration.selected).toBe(report.selected);
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
      calibration: { version: '2', ...report.manifest.calibration },
      thresholds: report.manifest.thresholds,
    };
    const parsed = parseManifest(overlay);
    expect(parsed.calibration.selected).toBe(report.selected);
    expect(parsed.thresholds.clinical.value).toBe(report.after.threshold);
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

  it('refuses options that cannot be right, naming them', () => {
    expect(() => recalibrate(shifted, { ...options, currentThreshold: 75 })).toThrow(/currentThreshold = 75/);
    expect(() => recalibrate(shifted, { ...options, folds: 1 })).toThrow(/folds = 1/);
  });
});

describe('stratified splits', () => {
  const items = syntheticCohort(203, 5).map((c) => ({ key: c.key, logit: c.logit, label: c.label as 0 | 1 }));
  const nPos = items.filter((i) => i.label === 1).length;

  it('hold out the same share of each class', () => {
    const out = stratifiedHoldout(items, 0.5, 0);
    expect(items.filter((it, i) => out[i] && it.label === 1).length).toBe(Math.round(nPos * 0.5));
    expect(items.filter((it, i) => out[i] && it.label === 0).length).toBe(Math.round((items.length - nPos) * 0.5));
  });

  it('give every fold nearly equal numbers of each class', () => {
    const fold = stratifiedFolds(items, 5, 0);
    for (let f = 0; f < 5; f++) {
      const pos = items.filter((it, i) => fold[i] === f && it.label === 1).length;
      expect(Math.abs(pos - nPos / 5)).toBeLessThanOrEqual(1);
    }
  });
});
