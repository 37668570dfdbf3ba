/**
 * Parity with the training side: every case in test/fixtures/parity is a demo DICOM study with
 * each intermediate the Python pipeline computed (training/chestaid_train/demo.py). All numbers
 * and tolerances come from the fixture files and the committed manifest, which are regenerated
 * with each demo model; nothing model-specific is written here.
 *
 * Tolerances (the fixture's own, as generated): resized grey 1e-5, normalised tensor 1e-4,
 * probability 1e-4, normalised CAM 1e-3, upsampled CAM 1e-4 (the fixture rounds it to 7 decimals).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';

import { calibrate, calibrateWith, CALIBRATION_METHODS } from './calibration';
import { normalise, upsample } from './cam';
import { parseManifest } from './manifest';
import { toUnitGrey } from './pixels';
import { inputSpecOf, preprocess } from './preprocess';
import { BILINEAR, resize } from './resize';
import { readDicom } from './testing/dicomFile';
import { decide } from './threshold';

const REPO = resolve(__dirname, '../..');
const PARITY_DIR = resolve(REPO, 'test/fixtures/parity');
const STUDIES_DIR = resolve(REPO, 'test/demo-studies');

interface ParityFixture {
  dicom: string;
  photometric: string;
  bits_stored: number;
  resized: { file: string; shape: [number, number] };
  input: { file: string; shape: [number, number, number, number] };
  logit: number;
  probability: { selected: string; temperature: number; platt: number; isotonic: number };
  cam: {
    raw: number[][];
    normalised: number[][];
    upsampled: { height: number; width: number; values: number[][] };
  };
  tolerances: {
    resized: number;
    input: number;
    probability: number;
    cam_normalised: number;
    cam_upsampled: number;
  };
}

interface DemoIndex {
  studies: {
    name: string;
    file: string;
    rows: number;
    columns: number;
    photometric: string;
    expected: { logit: number; probability: number; above_threshold: boolean };
  }[];
}

const manifest = parseManifest(JSON.parse(readFileSync(resolve(REPO, 'models/chestaid-demo/manifest.json'), 'utf8')));
const spec = inputSpecOf(manifest);
const accepted = { acceptedModalities: manifest.input.grey.accepted_modalities };

function readF32(path: string): Float32Array {
  const bytes = readFileSync(path);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

const cases = readdirSync(PARITY_DIR)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => {
    const fixture = JSON.parse(readFileSync(resolve(PARITY_DIR, f), 'utf8')) as ParityFixture;
    return { name: f.replace(/\.json$/, ''), fixture, tol: fixture.tolerances };
  });

it('finds parity fixtures to check', () => {
  expect(cases.length).toBeGreaterThan(0);
});

describe.each(cases)('parity with $name', ({ fixture, tol }) => {
  const { attributes, pixels } = readDicom(readFileSync(resolve(PARITY_DIR, fixture.dicom)));
  const grey = toUnitGrey(attributes, pixels, accepted);

  it('reads the DICOM the fixture describes', () => {
    expect(attributes.photometricInterpretation).toBe(fixture.photometric);
    expect(attributes.bitsStored).toBe(fixture.bits_stored);
  });

  it(`resizes the grey image as PIL bilinear does (max abs diff <= ${tol.resized})`, () => {
    const [h, w] = fixture.resized.shape;
    expect([h, w]).toEqual([spec.height, spec.width]);
    const resized = resize(grey, w, h, BILINEAR);
    expect(maxAbsDiff(resized.data, readF32(resolve(PARITY_DIR, fixture.resized.file)))).toBeLessThanOrEqual(tol.resized);
  });

  it(`builds the normalised [1, 3, H, W] tensor (max abs diff <= ${tol.input})`, () => {
    expect(fixture.input.shape).toEqual([1, 3, spec.height, spec.width]);
    const input = preprocess(grey, spec);
    expect(maxAbsDiff(input, readF32(resolve(PARITY_DIR, fixture.input.file)))).toBeLessThanOrEqual(tol.input);
  });

  it(`calibrates the logit with every method (abs diff <= ${tol.probability})`, () => {
    expect(fixture.probability.selected).toBe(manifest.calibration.selected);
    for (const method of CALIBRATION_METHODS) {
      const p = calibrateWith(method, fixture.logit, manifest.calibration);
      expect(Math.abs(p - fixture.probability[method])).toBeLessThanOrEqual(tol.probability);
    }
    // The fixture has a probability for each fitted method; a manifest selecting 'none' needs one for it too.
    const selected = (fixture.probability as unknown as Partial<Record<string, number>>)[manifest.calibration.selected];
    expect(selected).toBeDefined();
    expect(Math.abs(calibrate(fixture.logit, manifest.calibration) - selected!)).toBeLessThanOrEqual(tol.probability);
  });

  it(`normalises the CAM (max abs diff <= ${tol.cam_normalised}) and upsamples it (<= ${tol.cam_upsampled})`, () => {
    const h = fixture.cam.raw.length;
    const w = fixture.cam.raw[0].length;
    const norm = normalise({ data: Float32Array.from(fixture.cam.raw.flat()), width: w, height: h });
    expect(maxAbsDiff(norm.data, fixture.cam.normalised.flat())).toBeLessThanOrEqual(tol.cam_normalised);
    const { height, width, values } = fixture.cam.upsampled;
    const up = upsample(norm, height, width);
    expect(maxAbsDiff(up.data, values.flat())).toBeLessThanOrEqual(tol.cam_upsampled);
  });
});

describe('demo studies (test/demo-studies/index.json)', () => {
  const index = JSON.parse(readFileSync(resolve(STUDIES_DIR, 'index.json'), 'utf8')) as DemoIndex;
  const threshold = manifest.thresholds.clinical.value;

  it.each(index.studies.map((s) => [s.name, s] as const))(
    '%s converts to a grey image in [0, 1] and its expected probability gives the expected decision',
    (_name, study) => {
      const { attributes, pixels } = readDicom(readFileSync(resolve(STUDIES_DIR, study.file)));
      expect(attributes.photometricInterpretation).toBe(study.photometric);
      const grey = toUnitGrey(attributes, pixels, accepted);
      expect([grey.height, grey.width]).toEqual([study.rows, study.columns]);
      expect(grey.data.every((v) => v >= 0 && v <= 1)).toBe(true);

      const p = calibrate(study.expected.logit, manifest.calibration);
      expect(Math.abs(p - study.expected.probability)).toBeLessThanOrEqual(1e-9);
      // A probability within rounding of the threshold may legitimately fall either side.
      if (Math.abs(p - threshold) > 1e-9) {
        expect(decide(p, threshold).above).toBe(study.expected.above_threshold);
      }
    },
  );
});
