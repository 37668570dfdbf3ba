import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import type { Analysis } from '../analysis';
import { calibrate } from '../calibration';
import { parseManifest, type Manifest } from '../manifest';
import { decide } from '../threshold';
import { heatmapInputFrom, resultSrInputFrom } from './fromAnalysis';
import { buildHeatmapParametricMap } from './parametricMap';
import { readHeatmapReference } from './readParametricMap';
import { readResultSr } from './readResultSr';
import { buildResultSr } from './resultSr';
import { demoSource, REPO } from './testing/fixtures';

const manifestJson = JSON.parse(readFileSync(resolve(REPO, 'models/chestaid-demo/manifest.json'), 'utf8'));
const manifest = parseManifest(manifestJson);

/** An Analysis as core/analysis.ts makes it, for a logit the calibration maps between the knots. */
function analysisFor(logit: number, m: Manifest = manifest): Analysis {
  const probability = calibrate(logit, m.calibration);
  return {
    modelId: m.model.id,
    modelVersion: m.model.version,
    logit,
    probability,
    calibrationMethod: m.calibration.selected,
    calibrationVersion: m.calibration.version,
    decision: decide(probability, m.thresholds.clinical.value),
    cam: { data: new Float32Array(49).fill(0.5), width: 7, height: 7 },
  };
}

describe('resultSrInputFrom / heatmapInputFrom', () => {
  it('fill the SR from the analysis and the manifest, and it reads back as computed', () => {
    const analysis = analysisFor(0.3);
    const observedAt = new Date('2026-11-26T12:00:00.000Z');
    const content = readResultSr(buildResultSr(resultSrInputFrom(analysis, manifest, { source: demoSource(), observedAt })).part10);
    expect(content).toMatchObject({
      score: analysis.probability,
      logit: 0.3,
      threshold: manifest.thresholds.clinical.value,
      decision: analysis.decision.above ? 'above' : 'below',
      calibration: { method: manifest.calibration.selected, version: String(manifest.calibration.version) },
      model: { id: manifest.model.id, version: manifest.model.version, sha256: manifest.onnx.sha256, deviceUID: manifest.model.device_uid },
      observedAt: observedAt.toISOString(),
    });
  });

  it('carry the hash of the file that ran when it is a variant', () => {
    const fp16 = manifest.onnx.variants![0].sha256;
    const input = heatmapInputFrom(analysisFor(2), manifest, { source: demoSource(), modelSha256: fp16 });
    expect(readHeatmapReference(buildHeatmapParametricMap(input).part10).model.sha256).toBe(fp16);
  });

  it('refuse a manifest without a device UID, and an analysis by another model', () => {
    const { device_uid: _dropped, ...model } = manifestJson.model;
    const noDevice = parseManifest({ ...manifestJson, model });
    expect(() => resultSrInputFrom(analysisFor(0, noDevice), noDevice, { source: demoSource(), observedAt: new Date() })).toThrow(
      /has no model.device_uid: DICOM results need a device UID/,
    );
    const other = { ...analysisFor(0), modelVersion: '9.9.9' };
    expect(() => resultSrInputFrom(other, manifest, { source: demoSource(), observedAt: new Date() })).toThrow(
      /analysis by model chestaid-demo 9.9.9 does not match manifest/,
    );
  });
});
