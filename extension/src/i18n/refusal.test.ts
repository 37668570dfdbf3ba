import { checkIntendedUse, intendedUseOf, type ImageAttributes, type Refusal } from '@chestaid/core';
import { demoManifest } from '@chestaid/core/testing';

import { notAnalyzedText } from './refusal';
import { catalogueTranslator, setTranslator } from './translate';

const USE = intendedUseOf(demoManifest());
const SIDE = 256;
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
  patientAge: '040Y',
};
const PIXELS = Uint16Array.from({ length: SIDE * SIDE }, (_, i) => 100 + (i % 3000));

/** One image of each refusal the gate gives, as the core words it. */
// Every row has three entries: jest.each hands a done callback to a function longer than its row.
const REFUSED: readonly [string, Partial<ImageAttributes>, ArrayLike<number> | null][] = [
  ['a lateral view', { viewPosition: 'LL' }, null],
  ['FOR PROCESSING', { presentationIntentType: 'FOR PROCESSING' }, null],
  ['a spine', { bodyPartExamined: 'CSPINE' }, null],
  ['a child by PatientAge', { patientAge: '006M' }, null],
  ['a newborn by PatientAge in days', { patientAge: '001D' }, null],
  ['HighBit', { highBit: 15 }, null],
  ['BitsStored above BitsAllocated', { bitsStored: 16, highBit: 15, bitsAllocated: 8 }, null],
  ['a thumbnail', { rows: 16, columns: 16 }, new Uint16Array(256)],
];

function refusalOf(patch: Partial<ImageAttributes>, pixels: ArrayLike<number> | null = null): Refusal {
  const refusal = checkIntendedUse({ ...FRONTAL, ...patch }, (pixels ?? PIXELS) as Uint16Array, USE);
  if (!refusal) throw new Error('expected a refusal');
  return refusal;
}

afterEach(() => setTranslator(catalogueTranslator('en')));

describe('refusals in the reader\'s language', () => {
  it.each(REFUSED)('words %s in English exactly as the core does (the worker\'s log, stored records)', (_, patch, pixels) => {
    const refusal = refusalOf(patch, pixels);
    expect(refusal.message).toBeDefined();
    expect(notAnalyzedText(refusal)).toBe(`Not analyzed: ${refusal.reason}`);
  });

  it.each(REFUSED)('words %s in Spanish from its key, with no English left', (_, patch, pixels) => {
    setTranslator(catalogueTranslator('es'));
    const text = notAnalyzedText(refusalOf(patch, pixels));
    expect(text).toMatch(/^Sin analizar: /);
    // Only DICOM keywords and codes stay as they are.
    const words = text.replace(/BitsStored|BitsAllocated|HighBit|PatientAge|ViewPosition|BodyPartExamined|FOR PROCESSING|FOR PRESENTATION|CSPINE|\b[A-Z]{2}\b|\d+[DWMY]\b/g, '');
    expect(words).not.toMatch(/\b(the|is|only|view|reads|image|model|year|month|day|pixels|radiographs?)\b/);
  });

  it('names the views allowed with the locale\'s "or"', () => {
    setTranslator(catalogueTranslator('es'));
    expect(notAnalyzedText(refusalOf({ viewPosition: 'LL' }))).toBe(
      'Sin analizar: una proyección LL; el modelo solo lee radiografías de tórax frontales (ViewPosition PA o AP)',
    );
  });
});
