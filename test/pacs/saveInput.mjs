/**
 * What the viewer's Save to PACS hands the core's PacsResults.save for one image, built in Node: for
 * the tests that put a ChestAid result in the PACS without a browser. The logit is calibrated and
 * judged under `calibrated` (a manifest; the model's own by default), the model is named from
 * `manifest`, the map is the caller's.
 */
import { requireBuilt } from '../../scripts/node-build.mjs';

export function saveInput({ manifest, calibrated = manifest, header, source, logit, heatmap, observedAt = '2026-11-26T10:05:00.000Z', synthetic = true }) {
  const { calibrate } = requireBuilt('@chestaid/core');
  const threshold = calibrated.thresholds.clinical.value;
  const score = calibrate(logit, calibrated.calibration);
  return {
    sourceHeader: header,
    source,
    result: {
      score,
      logit,
      threshold,
      decision: score >= threshold ? 'above' : 'below',
      calibration: { method: calibrated.calibration.selected, version: calibrated.calibration.version },
      model: { id: manifest.model.id, version: manifest.model.version, sha256: manifest.onnx.sha256, deviceUID: manifest.model.device_uid },
      observedAt,
    },
    heatmap,
    trainedOnSyntheticData: synthetic,
  };
}
