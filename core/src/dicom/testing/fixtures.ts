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

const DX_FOR_PRESENTATION = '1.2.840.10008.5.1.4.1.1.1.1';

/** A demo radiograph re-labelled as DX (For Presentation), with the DX attributes the CR lacks. */
function asDx(source: Dataset): Dataset {
  return { ...source, SOPClassUID: DX_FOR_PRESENTATION, Modality: 'DX', PresentationIntentType: 'FOR PRESENTATION' };
}

/**
 * Source images the builders must handle, differing where the objects' headers depend on them:
 * CR and DX, with and without laterality (series Laterality, or ImageLaterality as DX has it), and
 * with and without patient coordinates. All from committed demo studies.
 */
export function sourceVariants(): [string, Dataset][] {
  return [
    ['CR, no laterality (demo study 1 as committed)', demoSource(1)],
    ['CR, series Laterality R', { ...demoSource(2), Laterality: 'R' }],
    ['DX, ImageLaterality B', { ...asDx(demoSource(3)), ImageLaterality: 'B' }],
    ['DX, no ImageLaterality', asDx(demoSource(4))],
    [
      'DX, ImageLaterality U, patient coordinates and a coded anatomic region',
      {
        ...asDx(demoSource(5)),
        ImageLaterality: 'U',
        AnatomicRegionSequence: [{ CodeValue: '43799004', CodingSchemeDesignator: 'SCT', CodeMeaning: 'Chest' }],
        FrameOfReferenceUID: '1.2.826.0.1.3680043.8.498.12345',
        PositionReferenceIndicator: '',
        ImageOrientationPatient: [1, 0, 0, 0, 0, -1],
        ImagePositionPatient: [-180, 0, 200],
      },
    ],
  ];
}
