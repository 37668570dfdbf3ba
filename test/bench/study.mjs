/** The demo study's pixels, for the page's preprocessing and memory rows. */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

import { ROOT } from './harness.mjs';

const require = createRequire(import.meta.url);
const dcmjs = require('dcmjs');

/** The demo study's pixels as the viewer's decoder would hand them to the core. */
export function readStudy(name) {
  const bytes = readFileSync(join(ROOT, 'test/demo-studies/dicom', `${name}.dcm`));
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dcmjs.data.DicomMessage.readFile(buffer).dict);
  const num = v => (v === undefined || v === '' ? undefined : Number(Array.isArray(v) ? v[0] : v));
  const attributes = {
    rows: ds.Rows,
    columns: ds.Columns,
    samplesPerPixel: ds.SamplesPerPixel,
    photometricInterpretation: ds.PhotometricInterpretation,
    bitsAllocated: ds.BitsAllocated,
    bitsStored: ds.BitsStored,
    pixelRepresentation: ds.PixelRepresentation,
    rescaleSlope: num(ds.RescaleSlope),
    rescaleIntercept: num(ds.RescaleIntercept),
    windowCenter: num(ds.WindowCenter),
    windowWidth: num(ds.WindowWidth),
    modality: ds.Modality,
  };
  const frame = ds.PixelData[0];
  return { attributes, pixels: new Uint16Array(frame, 0, ds.Rows * ds.Columns) };
}

/** The same image at a typical CR size (nearest neighbour), to time preprocessing at scale. */
export function enlarge({ attributes, pixels }, rows, columns) {
  const out = new Uint16Array(rows * columns);
  for (let r = 0; r < rows; r++) {
    const sr = Math.floor((r * attributes.rows) / rows) * attributes.columns;
    for (let c = 0; c < columns; c++) out[r * columns + c] = pixels[sr + Math.floor((c * attributes.columns) / columns)];
  }
  return { attributes: { ...attributes, rows, columns }, pixels: out };
}

/** Pixels as the page's test hooks take them. */
export const toBase64 = pixels => Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength).toString('base64');
