/**
 * Test inputs for the dicom module: a committed demo radiograph as the source image, and a result
 * with the demo manifest's identity. Values are arbitrary but realistic; tests override fields.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import type { ResultSrInput } from '../resultSr';
import { naturalize, type Dataset } from '../values';

export const REPO = resolve(__dirname, '../../../..');

const manifest = JSON.parse(readFileSync(resolve(REPO, 'models/chestaid-demo/manifest.json'), 'utf8'));

/** Part 10 bytes of demo study `n` (1-based), as an ArrayBuffer. */
export function demoPart10(n = 1): ArrayBuffer {
  const bytes = readFileSync(resolve(REPO, `test/demo-studies/dicom/study-0${n}.dcm`));
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

export function demoSource(n = 1): Dataset {
  return naturalize(demoPart10(n));
}

export function demoResult(overrides: Partial<ResultSrInput> = {}): ResultSrInput {
  return {
    source: demoSource(),
    // 1/3 needs all 17 significant digits: a DS alone could not carry it back exactly.
    score: 1 / 3,
    logit: -0.6931471805599453,
    threshold: manifest.thresholds.clinical.value,
    decision: 1 / 3 >= manifest.thresholds.clinical.value ? 'above' : 'below',
    calibration: { method: manifest.calibration.selected, version: String(manifest.calibration.version) },
    model: {
      id: manifest.model.id,
      version: manifest.model.version,
      sha256: manifest.onnx.sha256,
      deviceUID: manifest.model.device_uid,
    },
    observedAt: '2026-11-26T11:24:30.123Z',
    trainedOnSyntheticData: manifest.data.synthetic,
    ...overrides,
  };
}
