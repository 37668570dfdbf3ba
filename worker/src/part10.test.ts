import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { unitGreyRows } from '@chestaid/core';
import { dcmjs } from './dcmjs';
import { readPart10 } from './part10';

const DEMO = resolve(__dirname, '../../test/demo-studies/dicom/study-06.dcm');
const ACCEPTED = { acceptedModalities: ['CR', 'DX'] };

function demo(): { meta: Record<string, unknown>; ds: Record<string, unknown> } {
  const bytes = readFileSync(DEMO);
  const message = dcmjs.data.DicomMessage.readFile(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  return {
    meta: dcmjs.data.DicomMetaDictionary.naturalizeDataset(message.meta),
    ds: dcmjs.data.DicomMetaDictionary.naturalizeDataset(message.dict),
  };
}

/** The demo CR with some attributes replaced, as Part 10 bytes. */
function part10(overrides: Record<string, unknown>, metaOverrides: Record<string, unknown> = {}): ArrayBuffer {
  const { meta, ds } = demo();
  const dict = new dcmjs.data.DicomDict(dcmjs.data.DicomMetaDictionary.denaturalizeDataset({ ...meta, ...metaOverrides }));
  dict.dict = dcmjs.data.DicomMetaDictionary.denaturalizeDataset({ ...ds, ...overrides });
  return dict.write();
}

/** Checks the core's rules, as scoring runs them. */
const score = (bytes: ArrayBuffer) => {
  const image = readPart10(bytes, 'test image');
  return unitGreyRows(image.attributes, image.pixels, ACCEPTED);
};

describe('readPart10', () => {
  it('hands the core the attributes and stored values of a CR file', () => {
    const image = readPart10(readFileSync(DEMO), 'study-06');
    expect(image.attributes).toMatchObject({
      rows: 343,
      columns: 340,
      samplesPerPixel: 1,
      photometricInterpretation: 'MONOCHROME2',
      bitsAllocated: 16,
      bitsStored: 8,
      pixelRepresentation: 0,
      windowCenter: 128,
      windowWidth: 256,
      modality: 'CR',
    });
    expect(image.pixels).toBeInstanceOf(Uint16Array);
    expect(image.pixels.length).toBe(343 * 340);
    expect(image.transferSyntaxUID).toBe('1.2.840.10008.1.2.1');
    expect(image.dataset.PixelData).toBeUndefined();
    expect(image.sopInstanceUID).toBe(image.dataset.SOPInstanceUID);
  });

  it('hands the intended-use gate the tags it reads', () => {
    const image = readPart10(
      part10({ ViewPosition: 'LL', BodyPartExamined: 'CSPINE', PresentationIntentType: 'FOR PROCESSING', PatientAge: '006M', PixelPaddingValue: 0, _vrMap: { PixelData: 'OW', PixelPaddingValue: 'US' } }),
    );
    expect(image.attributes).toMatchObject({
      viewPosition: 'LL',
      bodyPartExamined: 'CSPINE',
      presentationIntentType: 'FOR PROCESSING',
      patientAge: '006M',
      patientBirthDate: '20221001',
      studyDate: '20260106',
      highBit: 7,
      pixelPaddingValue: 0,
    });
  });

  it('reads 8-bit pixels of an odd count without the pad byte', () => {
    const pixels = new Uint8Array(3 * 5 + 1).fill(7);
    const image = readPart10(part10({ Rows: 3, Columns: 5, BitsAllocated: 8, BitsStored: 8, HighBit: 7, PixelData: [pixels.buffer], _vrMap: { PixelData: 'OB' } }));
    expect(image.pixels).toBeInstanceOf(Uint8Array);
    expect(image.pixels.length).toBe(15);
    expect(() => score(part10({ Rows: 3, Columns: 5, BitsAllocated: 8, BitsStored: 8, HighBit: 7, PixelData: [pixels.buffer], _vrMap: { PixelData: 'OB' } }))).not.toThrow();
  });

  it('reads signed 16-bit pixels as two’s complement', () => {
    const pixels = Int16Array.of(-5, 3, -1, 0);
    const image = readPart10(part10({ Rows: 2, Columns: 2, PixelRepresentation: 1, BitsStored: 16, HighBit: 15, WindowCenter: 0, WindowWidth: 10, PixelData: [pixels.buffer] }));
    expect(image.pixels).toBeInstanceOf(Int16Array);
    expect(Array.from(image.pixels)).toEqual([-5, 3, -1, 0]);
  });

  it('refuses bytes that are not DICOM, saying so', () => {
    expect(() => readPart10(new TextEncoder().encode('not a DICOM file at all').buffer, 'upload.bin')).toThrow(/upload.bin is not a readable DICOM Part 10 file/);
  });

  it('refuses a transfer syntax it cannot decode, naming it', () => {
    const bytes = new Uint8Array(part10({}));
    // Same length as the Explicit VR Little Endian UID, so the file meta stays well formed.
    const from = new TextEncoder().encode('1.2.840.10008.1.2.1\0');
    const to = new TextEncoder().encode('1.2.840.10008.1.2.5\0');
    const at = Buffer.from(bytes).indexOf(Buffer.from(from));
    expect(at).toBeGreaterThan(0);
    bytes.set(to, at);
    expect(() => readPart10(bytes.buffer, 'rle.dcm')).toThrow(/rle.dcm uses transfer syntax 1.2.840.10008.1.2.5 \(RLE Lossless\), which the worker cannot decode/);
  });

  it('refuses pixel data that is not a whole number of values as corrupt', () => {
    // DICOM pads values to even lengths, so a broken 32-bit image is where this shows.
    const bytes = new Uint8Array(2 * 2 * 4 - 6);
    expect(() => readPart10(part10({ Rows: 2, Columns: 2, BitsAllocated: 32, PixelData: [bytes.buffer], _vrMap: { PixelData: 'OB' } }))).toThrow(
      /pixel data is 10 bytes, not a whole number of 32-bit values \(corrupt or truncated image\)/,
    );
  });

  it('lets the core refuse truncated pixel data, with both counts', () => {
    expect(() => score(part10({ PixelData: [new Uint16Array(100).buffer] }))).toThrow(/pixel data holds 100 values; expected 343 x 340 = 116620 \(corrupt or truncated image\)/);
  });

  it('lets the core refuse RGB, multi-frame and CT images with its own messages', () => {
    expect(() => score(part10({ PhotometricInterpretation: 'RGB', SamplesPerPixel: 3 }))).toThrow(/PhotometricInterpretation "RGB" is not supported/);
    expect(() => score(part10({ NumberOfFrames: 2 }))).toThrow(/NumberOfFrames 2 is not supported/);
    expect(() => score(part10({ Modality: 'CT' }))).toThrow(/this image is CT/);
  });

  it('refuses an instance without the UIDs a result must reference', () => {
    expect(() => readPart10(part10({ SOPInstanceUID: undefined }), 'nouid.dcm')).toThrow(/nouid.dcm has no SOPInstanceUID/);
  });
});
