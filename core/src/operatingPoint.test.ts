import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { parseManifest, type Manifest } from './manifest';
import { operatingPointAt } from './operatingPoint';

const demo = (): Manifest => parseManifest(JSON.parse(readFileSync(resolve(__dirname, '../../models/chestaid-demo/manifest.json'), 'utf8')));
const raw = () => JSON.parse(readFileSync(resolve(__dirname, '../../models/chestaid-demo/manifest.json'), 'utf8'));

describe('operatingPointAt', () => {
  it("reads the held-out test split's sensitivity and specificity at the manifest's clinical threshold", () => {
    const manifest = demo();
    const json = raw();
    const test = json.evaluation.at_threshold.test;
    expect(test.threshold).toBe(json.thresholds.clinical.value);
    const point = operatingPointAt(manifest, json.thresholds.clinical.value);
    expect(point).toEqual({
      threshold: json.thresholds.clinical.value,
      split: 'test',
      n: test.n,
      nPos: test.n_pos,
      sensitivity: { value: test.sensitivity.value, low: test.sensitivity.ci_low, high: test.sensitivity.ci_high },
      specificity: { value: test.specificity.value, low: test.specificity.ci_low, high: test.specificity.ci_high },
      level: test.bootstrap.level,
    });
  });

  it('has nothing to say at a threshold the model was not measured at (one moved in the browser)', () => {
    const manifest = demo();
    expect(operatingPointAt(manifest, manifest.thresholds.clinical.value + 0.01)).toBeNull();
  });

  it("falls back to the threshold's own split when the manifest has no test evaluation", () => {
    const json = raw();
    delete json.evaluation;
    const manifest = parseManifest(json);
    const point = operatingPointAt(manifest, json.thresholds.clinical.value);
    expect(point).toMatchObject({ split: json.thresholds.clinical.split, sensitivity: { value: json.thresholds.clinical.at_threshold.sensitivity.value } });
  });

  it("under a site calibration, reads only the site's own measurement, never training's", () => {
    const json = raw();
    const manifest = demo();
    const site = {
      ...manifest,
      calibration: { ...manifest.calibration, overlay: { version: 'site-2', source: 'site', createdAt: '2026-12-01', createdBy: 'x', cohortN: 100 } },
      thresholds: {
        clinical: {
          value: json.thresholds.clinical.value,
          rule: 'r',
          target_sensitivity: 0.9,
          split: 'site cohort',
          at_threshold: { confusion: {}, sensitivity: { value: 0.93, low: 0.88, high: 0.97 }, specificity: { value: 0.7, low: 0.6, high: 0.8 }, interval: { level: 0.95 } },
        },
      },
    } as unknown as Manifest;
    expect(operatingPointAt(site, json.thresholds.clinical.value)).toEqual({
      threshold: json.thresholds.clinical.value,
      split: 'site cohort',
      n: null,
      nPos: null,
      sensitivity: { value: 0.93, low: 0.88, high: 0.97 },
      specificity: { value: 0.7, low: 0.6, high: 0.8 },
      level: 0.95,
    });
  });
});
