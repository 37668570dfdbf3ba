import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { analyze } from './analysis';
import type { Classifier, ClassifierOutput } from './classifier';
import {
  checkIntendedUse,
  GATE_CODES,
  imageExtent,
  intendedUseOf,
  NotAnalyzedError,
  notAnalyzedText,
  patientAgeOf,
  type ImageAttributes,
} from './intendedUse';
import { parseManifest } from './manifest';
import { toUnitGrey } from './pixels';

const manifest = parseManifest(JSON.parse(readFileSync(resolve(__dirname, '../../models/chestaid-demo/manifest.json'), 'utf8')));
const USE = intendedUseOf(manifest);
const SIDE = 256;

/** An adult frontal chest CR as the demo studies are tagged: the gate lets it through. */
const FRONTAL: ImageAttributes = {
  rows: SIDE,
  columns: SIDE,
  samplesPerPixel: 1,
  photometricInterpretation: 'MONOCHROME2',
  bitsAllocated: 16,
  bitsStored: 12,
  highBit: 11,
  pixelRepresentation: 0,
  modality: 'CR',
  viewPosition: 'PA',
  bodyPartExamined: 'CHEST',
  presentationIntentType: 'FOR PRESENTATION',
  patientAge: '004Y',
  patientBirthDate: '20211009',
  studyDate: '20260107',
};
const PIXELS = Uint16Array.from({ length: SIDE * SIDE }, (_, i) => 100 + (i % 3000));

const refusalOf = (patch: Partial<ImageAttributes>, pixels = PIXELS) => checkIntendedUse({ ...FRONTAL, ...patch }, pixels, USE);

describe('the intended-use gate', () => {
  it('reads its rules from the manifest: frontal views, the chest, ages from 1 year, the model input as the smallest matrix', () => {
    expect(USE).toEqual({
      viewPositions: ['PA', 'AP'],
      bodyParts: expect.arrayContaining(['CHEST', 'THORAX']),
      minAgeYears: 1,
      maxAgeYears: null,
      minMatrix: 224,
    });
  });

  it('lets a tagged frontal chest radiograph of a 4-year-old through', () => {
    expect(refusalOf({})).toBeNull();
    expect(refusalOf({ viewPosition: 'AP', bodyPartExamined: 'THORAX' })).toBeNull();
  });

  it('refuses a lateral view, naming it', () => {
    for (const view of ['LL', 'RL', 'LATERAL', ' ll ']) {
      const refusal = refusalOf({ viewPosition: view });
      expect(refusal?.code).toBe(GATE_CODES.view);
      expect(refusal?.reason).toContain(view.trim().toUpperCase());
      expect(refusal?.reason).toMatch(/frontal chest radiographs \(ViewPosition PA or AP\)/);
    }
  });

  it('analyzes an image without ViewPosition or BodyPartExamined (Type 2, often empty on real CR)', () => {
    expect(refusalOf({ viewPosition: undefined, bodyPartExamined: null })).toBeNull();
    expect(refusalOf({ viewPosition: '', bodyPartExamined: '  ' })).toBeNull();
  });

  it('refuses a FOR PROCESSING image', () => {
    const refusal = refusalOf({ presentationIntentType: 'FOR PROCESSING' });
    expect(refusal).toEqual({
      code: GATE_CODES.forProcessing,
      reason: expect.stringMatching(/FOR PROCESSING .*FOR PRESENTATION radiographs only/),
      message: { key: 'refusal.forProcessing', params: {} },
    });
    expect(refusalOf({ presentationIntentType: 'for processing ' })?.code).toBe(GATE_CODES.forProcessing);
  });

  it('refuses a CSPINE body part and a hand, accepts vendor spellings of the chest', () => {
    expect(refusalOf({ bodyPartExamined: 'CSPINE' })).toEqual({
      code: GATE_CODES.bodyPart,
      reason: 'BodyPartExamined is CSPINE; the model reads chest radiographs only',
      message: { key: 'refusal.bodyPart', params: { part: 'CSPINE' } },
    });
    expect(refusalOf({ bodyPartExamined: 'HAND' })?.code).toBe(GATE_CODES.bodyPart);
    expect(refusalOf({ bodyPartExamined: 'CHEST PA' })).toBeNull();
    expect(refusalOf({ bodyPartExamined: 'PORT_CHEST' })).toBeNull();
  });

  it('refuses a child younger than the card\'s range by PatientAge', () => {
    const refusal = refusalOf({ patientAge: '006M' });
    expect(refusal).toEqual({
      code: GATE_CODES.age,
      reason: "the patient's age, 6 months (PatientAge 006M), is outside the model's intended use (1 year and older)",
      // The same sentence as values a viewer words in its own language.
      message: { key: 'refusal.ageFrom', params: { count: 6, unit: 'M', patientAge: '006M', min: 1 } },
    });
    expect(refusalOf({ patientAge: '010D' })?.code).toBe(GATE_CODES.age);
    expect(refusalOf({ patientAge: '012M' })).toBeNull();
    expect(refusalOf({ patientAge: '001Y' })).toBeNull();
  });

  it('reckons the age from the birth date and the study date when PatientAge is absent', () => {
    const refusal = refusalOf({ patientAge: undefined, patientBirthDate: '20250601', studyDate: '20260107' });
    expect(refusal?.code).toBe(GATE_CODES.age);
    expect(refusal?.reason).toContain('7 months (born 2025-06-01, study 2026-01-07)');
    expect(refusal?.message?.params).toMatchObject({ count: 7, unit: 'M', born: '2025-06-01', study: '2026-01-07' });
    // The first birthday is inside the range.
    expect(refusalOf({ patientAge: '', patientBirthDate: '20250107', studyDate: '20260107' })).toBeNull();
    expect(refusalOf({ patientAge: '', patientBirthDate: '20250108', studyDate: '20260107' })?.code).toBe(GATE_CODES.age);
  });

  it('analyzes an image whose age cannot be known (anonymised), and refuses above a stated upper bound', () => {
    expect(refusalOf({ patientAge: null, patientBirthDate: null })).toBeNull();
    expect(refusalOf({ patientAge: 'abc', patientBirthDate: '2025', studyDate: '20260107' })).toBeNull();
    const bounded = { ...USE, maxAgeYears: 18 };
    expect(checkIntendedUse({ ...FRONTAL, patientAge: '040Y' }, PIXELS, bounded)?.reason).toMatch(/40 years .*\(1 year to 18 years\)/);
    expect(checkIntendedUse({ ...FRONTAL, patientAge: '040Y' }, PIXELS, bounded)?.message).toEqual({ key: 'refusal.ageRange', params: { count: 40, unit: 'Y', patientAge: '040Y', min: 1, max: 18 } });
  });

  it('parses every DICOM AS unit', () => {
    expect(patientAgeOf({ patientAge: '014D' })?.years).toBeCloseTo(14 / 365.25, 12);
    expect(patientAgeOf({ patientAge: '052W' })?.years).toBeCloseTo(364 / 365.25, 12);
    expect(patientAgeOf({ patientAge: '018M' })?.years).toBeCloseTo(1.5, 12);
    expect(patientAgeOf({ patientAge: '065Y' })?.years).toBe(65);
    expect(patientAgeOf({ patientBirthDate: '20240230', studyDate: '20260101' })).toBeNull();
  });

  it('refuses a 16 x 16 matrix, stating the minimum', () => {
    const refusal = refusalOf({ rows: 16, columns: 16 }, new Uint16Array(256));
    expect(refusal).toEqual({
      code: GATE_CODES.matrix,
      reason: 'the image is 16 x 16 pixels, too small for a diagnostic radiograph (at least 224 x 224, the model\'s input)',
      message: { key: 'refusal.matrix', params: { width: 16, height: 16, min: 224 } },
    });
    expect(refusalOf({ rows: 224, columns: 223 }, new Uint16Array(224 * 223))?.code).toBe(GATE_CODES.matrix);
    expect(refusalOf({ rows: 224, columns: 224 }, new Uint16Array(224 * 224))).toBeNull();
  });

  it('refuses HighBit inconsistent with BitsStored, and BitsStored above BitsAllocated', () => {
    expect(refusalOf({ highBit: 15 })).toEqual({
      code: GATE_CODES.bits,
      reason: 'the header is inconsistent: HighBit 15 with BitsStored 12 (HighBit must be BitsStored - 1)',
      message: { key: 'refusal.highBit', params: { highBit: '15', bitsStored: '12' } },
    });
    expect(refusalOf({ bitsStored: 16, highBit: 15, bitsAllocated: 8 })?.reason).toBe(
      'the header is inconsistent: BitsStored 16 exceeds BitsAllocated 8',
    );
    expect(refusalOf({ highBit: undefined })).toBeNull();
  });

  it('honours PixelPaddingValue: the image inside the padding is what must be large enough', () => {
    // A 256 x 256 frame that is padding but for a 16 x 16 patch.
    const padded = new Uint16Array(SIDE * SIDE).fill(4095);
    for (let y = 100; y < 116; y++) for (let x = 50; x < 66; x++) padded[y * SIDE + x] = 1000;
    expect(refusalOf({}, padded)).toBeNull(); // without the tag, it is all image
    const refusal = refusalOf({ pixelPaddingValue: 4095 }, padded);
    expect(refusal?.code).toBe(GATE_CODES.matrix);
    expect(refusal?.reason).toMatch(/inside its padding \(PixelPaddingValue\) is 16 x 16 pixels/);
    expect(imageExtent({ ...FRONTAL, pixelPaddingValue: 4095 }, padded)).toEqual({ width: 16, height: 16 });
    expect(refusalOf({ pixelPaddingValue: 4095 }, new Uint16Array(SIDE * SIDE).fill(4095))?.code).toBe(GATE_CODES.padding);
  });

  it('reads a padding range and a signed padding value handed over as its unsigned bit pattern', () => {
    const signed = { ...FRONTAL, pixelRepresentation: 1, pixelPaddingValue: 0xffff, pixelPaddingRangeLimit: -1000 };
    const pixels = new Int16Array(SIDE * SIDE).fill(-500); // inside [-1000, -1]: padding
    pixels[0] = 5;
    expect(imageExtent(signed, pixels)).toEqual({ width: 1, height: 1 });
  });

  it('draws padding pixels black and leaves the others to the window (no grey from a padding value)', () => {
    const a = { ...FRONTAL, rows: 1, columns: 3, windowCenter: 2048, windowWidth: 4096 };
    const pixels = Uint16Array.from([0, 2048, 4095]);
    const plain = toUnitGrey(a, pixels).data;
    const padded = toUnitGrey({ ...a, pixelPaddingValue: 4095 }, pixels).data;
    expect(plain[2]).toBeCloseTo(1, 6);
    expect(padded[2]).toBe(0);
    expect(padded[1]).toBe(plain[1]);
    // MONOCHROME1 would turn a padding value of 0 white: it stays black.
    const inverted = toUnitGrey({ ...a, photometricInterpretation: 'MONOCHROME1', pixelPaddingValue: 0 }, pixels).data;
    expect(inverted[0]).toBe(0);
    expect(inverted[2]).toBeCloseTo(0, 6);
  });

  it('is pure: it changes neither the attributes nor the pixels', () => {
    const attributes = Object.freeze({ ...FRONTAL, pixelPaddingValue: 4095 });
    const pixels = PIXELS.slice();
    checkIntendedUse(attributes, pixels, USE);
    expect(pixels).toEqual(PIXELS);
  });
});

describe('analyze behind the gate', () => {
  class CountingClassifier implements Classifier {
    calls = 0;
    async run(): Promise<ClassifierOutput> {
      this.calls++;
      return { logit: 3, cam: new Float32Array(4), camDims: [2, 2] };
    }
  }

  it('throws NotAnalyzedError with the refusal before the classifier runs', async () => {
    const classifier = new CountingClassifier();
    const error = await analyze({ ...FRONTAL, viewPosition: 'LL' }, PIXELS, manifest, classifier).catch(e => e);
    expect(error).toBeInstanceOf(NotAnalyzedError);
    expect((error as NotAnalyzedError).refusal.code).toBe(GATE_CODES.view);
    expect(notAnalyzedText((error as NotAnalyzedError).refusal)).toMatch(/^Not analyzed: a LL view; /);
    expect(classifier.calls).toBe(0);
  });

  it('scores the same image when it is frontal', async () => {
    const classifier = new CountingClassifier();
    // Without the input check: PIXELS is a test pattern, which that check refuses (analysis.test.ts).
    const tagsOnly = { ...manifest, input_check: undefined };
    await expect(analyze(FRONTAL, PIXELS, tagsOnly, classifier)).resolves.toMatchObject({ logit: 3 });
    expect(classifier.calls).toBe(1);
  });
});
