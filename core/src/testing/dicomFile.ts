/**
 * A test-only DICOM reader (dcmjs): an uncompressed single-frame file's bytes -> the attributes and
 * stored values the core's pixel code takes. Shared by the parity and input-check tests, which read
 * the file (no Node built-in here: the core's purity test covers testing/ too).
 */
import type { PixelAttributes, StoredPixels } from '../pixels';

// dcmjs ships no type declarations; this is the little of it the tests read DICOM with.
interface Dcmjs {
  data: {
    DicomMessage: { readFile(buffer: ArrayBuffer): { dict: unknown } };
    DicomMetaDictionary: { naturalizeDataset(dict: unknown): Record<string, unknown> };
  };
}
const dcmjs: Dcmjs = require('dcmjs');

/** A test-only reader: uncompressed single-frame DICOM -> attributes and stored values. */
export function readDicom(bytes: Uint8Array): { attributes: PixelAttributes; pixels: StoredPixels } {
  const buffer = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(buffer).set(bytes);
  const ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dcmjs.data.DicomMessage.readFile(buffer).dict);
  const num = (key: string) => (ds[key] === undefined || ds[key] === '' ? undefined : Number(ds[key]));
  const multi = (key: string) => {
    const v = ds[key];
    if (v === undefined || v === '') return undefined;
    return Array.isArray(v) ? v.map(Number) : Number(v);
  };
  const attributes: PixelAttributes = {
    rows: Number(ds.Rows),
    columns: Number(ds.Columns),
    samplesPerPixel: Number(ds.SamplesPerPixel),
    photometricInterpretation: String(ds.PhotometricInterpretation),
    bitsAllocated: Number(ds.BitsAllocated),
    bitsStored: Number(ds.BitsStored),
    pixelRepresentation: Number(ds.PixelRepresentation),
    rescaleSlope: num('RescaleSlope'),
    rescaleIntercept: num('RescaleIntercept'),
    windowCenter: multi('WindowCenter'),
    windowWidth: multi('WindowWidth'),
    numberOfFrames: num('NumberOfFrames'),
    modality: ds.Modality === undefined ? undefined : String(ds.Modality),
    voiLutFunction: ds.VOILUTFunction === undefined ? undefined : String(ds.VOILUTFunction),
  };
  const frame = (ds.PixelData as ArrayBuffer[])[0];
  const signed = attributes.pixelRepresentation === 1;
  const pixels =
    attributes.bitsAllocated === 8
      ? signed ? new Int8Array(frame) : new Uint8Array(frame)
      : signed ? new Int16Array(frame) : new Uint16Array(frame);
  return { attributes, pixels };
}

