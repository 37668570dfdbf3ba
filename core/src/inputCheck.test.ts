/**
 * The input check against the training side (test/fixtures/input-check.json, written by
 * `python3 -m chestaid_train input-check`): the same scores on the same images, every
 * out-of-distribution class of the training report caught, every demo study kept. Scores,
 * tolerances and the threshold come from the fixture and the committed manifest.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { InputError, ManifestError } from './errors';
import { checkInput, decodeBase64, InputCheck, inputDescriptor, type InputCheckSection } from './inputCheck';
import { parseManifest } from './manifest';
import { toUnitGrey } from './pixels';
import { inputSpecOf, Preprocessor } from './preprocess';
import { BILINEAR, resize, type GreyImage } from './resize';
import { readDicom } from './testing/dicomFile';
import { demoManifestJson } from './testing/overlays';

const REPO = resolve(__dirname, '../..');
const FIXTURES = resolve(REPO, 'test/fixtures');

interface Fixture {
  threshold: number;
  tolerances: { score_same_image: number; score_from_dicom: number };
  images: { name: string; class: string; file: string; shape: [number, number]; score: number; in_distribution: boolean }[];
  studies: { name: string; file: string; score: number; in_distribution: boolean }[];
}

const fixture = JSON.parse(readFileSync(resolve(FIXTURES, 'input-check.json'), 'utf8')) as Fixture;
const manifest = parseManifest(demoManifestJson());
const section = manifest.input_check as InputCheckSection;
const spec = inputSpecOf(manifest);
const accepted = { acceptedModalities: manifest.input.grey.accepted_modalities };

function readU8Image(file: string, [height, width]: [number, number]): GreyImage {
  const bytes = readFileSync(resolve(FIXTURES, file));
  expect(bytes.length).toBe(width * height);
  return { data: Float32Array.from(bytes, (v) => v / 255), width, height };
}

function relDiff(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);
}

function grey(width: number, height: number, value: (r: number, c: number) => number): GreyImage {
  const data = new Float32Array(width * height);
  for (let r = 0; r < height; r++) for (let c = 0; c < width; c++) data[r * width + c] = value(r, c);
  return { data, width, height };
}

it('the demo manifest carries an input check whose threshold is the fixture\'s', () => {
  expect(section).toBeDefined();
  expect(section.threshold).toBe(fixture.threshold);
});

describe('parity with the training side on the same images', () => {
  it.each(fixture.images.map((c) => [c.name, c] as const))(
    '%s scores as in Python (relative difference <= the fixture tolerance)',
    (_name, c) => {
      const result = checkInput(readU8Image(c.file, c.shape), section);
      expect(relDiff(result.score, c.score)).toBeLessThanOrEqual(fixture.tolerances.score_same_image);
      expect(result.inDistribution).toBe(c.in_distribution);
      expect(result.threshold).toBe(section.threshold);
    },
  );
});

describe('out-of-distribution classes', () => {
  const classes = Object.keys(section.evaluation.caught);

  it('the fixture holds an image of every class the training report measured', () => {
    expect(classes.length).toBeGreaterThan(0);
    expect(fixture.images.map((c) => c.class).filter((k) => k !== 'in_distribution').sort()).toEqual([...classes].sort());
  });

  it.each(fixture.images.filter((c) => c.class !== 'in_distribution').map((c) => [c.class, c] as const))(
    'a %s image is outside what the model was trained on',
    (_class, c) => {
      const result = checkInput(readU8Image(c.file, c.shape), section);
      expect(result.inDistribution).toBe(false);
      expect(result.score).toBeGreaterThan(result.threshold);
    },
  );
});

describe('demo studies (test/demo-studies) are kept', () => {
  it.each(fixture.studies.map((s) => [s.name, s] as const))('%s', (_name, s) => {
    const { attributes, pixels } = readDicom(readFileSync(resolve(FIXTURES, s.file)));
    const resized = resize(toUnitGrey(attributes, pixels, accepted), spec.width, spec.height, BILINEAR);
    const result = checkInput(resized, section);
    expect(result.inDistribution).toBe(true);
    expect(relDiff(result.score, s.score)).toBeLessThanOrEqual(fixture.tolerances.score_from_dicom);
  });

  it('reads the same image from Preprocessor.runStored as from resize', () => {
    const { attributes, pixels } = readDicom(readFileSync(resolve(FIXTURES, fixture.studies[0].file)));
    const preprocessor = new Preprocessor(spec);
    preprocessor.runStored(attributes, pixels, accepted);
    const viaRunStored = checkInput(preprocessor.resizedImage, section).score;
    const resized = resize(toUnitGrey(attributes, pixels, accepted), spec.width, spec.height, BILINEAR);
    expect(relDiff(viaRunStored, checkInput(resized, section).score)).toBeLessThanOrEqual(1e-12);
  });
});

describe('descriptor', () => {
  it('averages each cell, counts the histogram and measures left-right asymmetry', () => {
    // Left half 0.25, right half 0.75 on an 8 x 8 image, grid 2, 4 bins.
    // The grid [0.25, 0.75; 0.25, 0.75] standardised by its own mean 0.5 and deviation 0.25.
    const d = inputDescriptor(grey(8, 8, (_r, c) => (c < 4 ? 0.25 : 0.75)), 2, 4);
    expect(Array.from(d)).toEqual([-1, 1, -1, 1, 0, 0.5, 0, 0.5, 2]);
  });

  it('reads the same layout whatever the exposure, and a constant image as no layout', () => {
    const bright = inputDescriptor(grey(8, 8, (r, c) => 0.1 + 0.05 * r + 0.05 * c), 2, 4);
    const dark = inputDescriptor(grey(8, 8, (r, c) => 0.5 * (0.1 + 0.05 * r + 0.05 * c)), 2, 4);
    for (let i = 0; i < 4; i++) expect(dark[i]).toBeCloseTo(bright[i], 12);
    expect(Array.from(inputDescriptor(grey(8, 8, () => 0.4), 2, 4).slice(0, 4))).toEqual([0, 0, 0, 0]);
  });

  it('refuses a section of another descriptor version', () => {
    expect(() => new InputCheck({ ...section, version: '1' })).toThrow(/version "1" is not the one this viewer computes/);
  });

  it('puts 1.0 in the last histogram bin', () => {
    const d = inputDescriptor(grey(4, 4, () => 1), 2, 4);
    expect(Array.from(d.slice(4, 8))).toEqual([0, 0, 0, 1]);
  });

  it('does not modify the image', () => {
    const image = grey(8, 8, (r, c) => (r * 8 + c) / 63);
    const copy = Float32Array.from(image.data);
    inputDescriptor(image, 2, 4);
    expect(image.data).toEqual(copy);
  });

  it('refuses an image that is not the square resized one, or values outside [0, 1], naming them', () => {
    expect(() => checkInput(grey(224, 200, () => 0.5), section)).toThrow(InputError);
    expect(() => checkInput(grey(224, 200, () => 0.5), section)).toThrow(/224 x 200/);
    expect(() => checkInput(grey(256, 256, () => 0.5), section)).toThrow(/fitted on 224 x 224 images; got 256 x 256/);
    const bad = grey(224, 224, () => 0.5);
    bad.data[224 * 3 + 5] = 1.5;
    expect(() => checkInput(bad, section)).toThrow(/got 1.5 at row 3, column 5/);
  });
});

describe('the manifest section', () => {
  it('decodes base64 as RFC 4648 does', () => {
    for (let n = 0; n < 12; n++) {
      const bytes = Uint8Array.from({ length: n }, (_v, i) => (i * 97 + 13) & 255);
      const text = Buffer.from(bytes).toString('base64');
      expect(Array.from(decodeBase64(text))).toEqual(Array.from(bytes));
    }
    expect(() => decodeBase64('ab$d')).toThrow(ManifestError);
    expect(() => decodeBase64('abc')).toThrow(/multiple of 4/);
  });

  it('a manifest whose arrays do not match the descriptor is refused, naming input_check', () => {
    const json = demoManifestJson() as { input_check: { descriptor: { grid: number } } };
    json.input_check.descriptor.grid = 8;
    expect(() => parseManifest(json)).toThrow(/input_check is invalid: mean has shape \[273\]; the descriptor has 81 values/);
  });

  it('a manifest of schema 1.0 without input_check is still read', () => {
    const json = demoManifestJson();
    delete json.input_check;
    json.schema_version = '1.0.0';
    expect(parseManifest(json).input_check).toBeUndefined();
  });

  it('an image scoring just above the threshold is out, at the threshold in', () => {
    const image = readU8Image(fixture.images[fixture.images.length - 1].file, [224, 224]);
    const score = new InputCheck(section).score(image);
    expect(new InputCheck({ ...section, threshold: score }).check(image).inDistribution).toBe(true);
    expect(new InputCheck({ ...section, threshold: score * (1 - 1e-9) }).check(image).inDistribution).toBe(false);
  });
});
