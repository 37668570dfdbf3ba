/**
 * DICOM Part 10 bytes -> the core's PixelAttributes and stored values, in Node.
 *
 * The browser gets its pixels from Cornerstone's decoder (extension/src/adapters/cornerstonePixels.ts);
 * the worker asks the PACS for Explicit VR Little Endian (scoreImage.ts; Orthanc transcodes) and
 * parses the file itself with dcmjs. When the PACS hands back a compressed image anyway,
 * decodePart10 decodes it in process (decompress.ts: dcmjs-codecs) and reads the result as it
 * reads any uncompressed file. It hands the core exactly what
 * the core's rules need and lets pixels.ts decide what is acceptable (modality, photometric
 * interpretation, frames, bit depth, corrupt length), so the panel and the worker refuse the same
 * images with the same messages. What only a Part 10 reader can know is checked here: the file
 * parses, the transfer syntax is one whose pixels are plain little-endian values (or one the
 * worker decodes), and the pixel data's byte length fits the element size.
 */
import { type DicomJson, type ImageAttributes, InputError, type StoredPixels } from '@chestaid/core';
import { dcmjs } from './dcmjs';
import { DECODED_TRANSFER_SYNTAXES, decompress } from './decompress';
import { DEFAULT_LIMITS, type ImageLimits } from './imageLimits';

/** Native (uncompressed) little-endian transfer syntaxes: the pixel data is the values as they are. */
export const NATIVE_TRANSFER_SYNTAXES: Readonly<Record<string, string>> = {
  '1.2.840.10008.1.2': 'Implicit VR Little Endian',
  '1.2.840.10008.1.2.1': 'Explicit VR Little Endian',
};

/** Names for the refusal message; anything else is named by its UID alone. */
const KNOWN_TRANSFER_SYNTAXES: Readonly<Record<string, string>> = {
  '1.2.840.10008.1.2.2': 'Explicit VR Big Endian',
  '1.2.840.10008.1.2.1.99': 'Deflated Explicit VR Little Endian',
  '1.2.840.10008.1.2.4.50': 'JPEG Baseline',
  '1.2.840.10008.1.2.4.51': 'JPEG Extended',
  '1.2.840.10008.1.2.4.57': 'JPEG Lossless',
  '1.2.840.10008.1.2.4.70': 'JPEG Lossless SV1',
  '1.2.840.10008.1.2.4.80': 'JPEG-LS Lossless',
  '1.2.840.10008.1.2.4.81': 'JPEG-LS Near-Lossless',
  '1.2.840.10008.1.2.4.90': 'JPEG 2000 Lossless',
  '1.2.840.10008.1.2.4.91': 'JPEG 2000',
  '1.2.840.10008.1.2.5': 'RLE Lossless',
};

export type NaturalDataset = Record<string, unknown>;

export interface Part10Image {
  readonly studyInstanceUID: string;
  readonly seriesInstanceUID: string;
  readonly sopInstanceUID: string;
  readonly sopClassUID: string;
  readonly transferSyntaxUID: string;
  readonly attributes: ImageAttributes;
  readonly pixels: StoredPixels;
  /** The naturalised header (dcmjs keywords), pixel data removed: the result builders read it. */
  readonly dataset: NaturalDataset;
  /** Set when the worker decoded the pixels itself: the compressed transfer syntax it decoded. */
  readonly decodedFrom?: string;
}

type Message = { meta: Record<string, { Value?: unknown[] }>; dict: Record<string, unknown> };

function text(ds: NaturalDataset, key: string): string | undefined {
  const v = Array.isArray(ds[key]) ? (ds[key] as unknown[])[0] : ds[key];
  return typeof v === 'string' ? v.trim() : undefined;
}

function num(ds: NaturalDataset, key: string): number | undefined {
  const raw = Array.isArray(ds[key]) ? (ds[key] as unknown[])[0] : ds[key];
  if (raw === undefined || raw === null || raw === '') return undefined;
  return Number(raw);
}

/** Multi-valued numbers (WindowCenter/Width) stay lists; the core takes the first. */
function nums(ds: NaturalDataset, key: string): number | number[] | undefined {
  const raw = ds[key];
  if (raw === undefined || raw === null || raw === '') return undefined;
  if (Array.isArray(raw)) return raw.length > 0 ? raw.map(Number) : undefined;
  return Number(raw);
}

function present(ds: NaturalDataset, key: string): boolean {
  const v = ds[key];
  return Array.isArray(v) ? v.length > 0 : v !== undefined && v !== null;
}

function requireUid(ds: NaturalDataset, key: string, where: string): string {
  const uid = text(ds, key);
  if (!uid) throw new InputError(`${where} has no ${key}`);
  return uid;
}

/**
 * The stored values of a native single frame as the typed array the core's rules expect:
 * BitsAllocated picks the element size, PixelRepresentation the sign. A trailing pad byte (8-bit
 * data of odd length is padded to even) is dropped; any other mismatch is left for the core,
 * which names the expected and the actual count.
 */
function storedValues(bytes: ArrayBuffer, a: ImageAttributes, where: string): StoredPixels {
  const signed = a.pixelRepresentation === 1;
  let size: number;
  switch (a.bitsAllocated) {
    case 8:
      size = 1;
      break;
    case 16:
      size = 2;
      break;
    case 32:
      size = 4;
      break;
    default:
      // The core names the bad value; give it an empty array so that its own check speaks first.
      return new Uint8Array(0);
  }
  const expected = a.rows * a.columns;
  let count = Math.floor(bytes.byteLength / size);
  if (size === 1 && count === expected + 1 && bytes.byteLength % 2 === 0) count = expected;
  if (bytes.byteLength % size !== 0 && count !== expected) {
    throw new InputError(
      `${where}: pixel data is ${bytes.byteLength} bytes, not a whole number of ${a.bitsAllocated}-bit values (corrupt or truncated image)`,
    );
  }
  if (size === 1) return signed ? new Int8Array(bytes, 0, count) : new Uint8Array(bytes, 0, count);
  if (size === 2) return signed ? new Int16Array(bytes, 0, count) : new Uint16Array(bytes, 0, count);
  return signed ? new Int32Array(bytes, 0, count) : new Uint32Array(bytes, 0, count);
}

function readMessage(part10: ArrayBuffer | Uint8Array, where: string): { buffer: ArrayBuffer; message: Message; transferSyntaxUID: string } {
  const buffer =
    part10 instanceof Uint8Array ? (part10.buffer.slice(part10.byteOffset, part10.byteOffset + part10.byteLength) as ArrayBuffer) : part10;
  let message: Message;
  try {
    message = dcmjs.data.DicomMessage.readFile(buffer);
  } catch (error) {
    throw new InputError(`${where} is not a readable DICOM Part 10 file: ${(error as Error).message ?? String(error)}`);
  }
  const transferSyntaxUID = String(message.meta['00020010']?.Value?.[0] ?? '').trim();
  return { buffer, message, transferSyntaxUID };
}

function refuseSyntax(transferSyntaxUID: string, where: string, hint: string): never {
  const name = KNOWN_TRANSFER_SYNTAXES[transferSyntaxUID];
  throw new InputError(
    `${where} uses transfer syntax ${transferSyntaxUID || '(none)'}${name ? ` (${name})` : ''}, which the worker cannot decode; ${hint}`,
  );
}

/**
 * Parse a Part 10 file with uncompressed little-endian pixel data. `where` names the instance in
 * messages (e.g. its SOP Instance UID or file name). Throws InputError for anything the worker
 * cannot score, a compressed file included (decodePart10 reads those); whether an image is
 * acceptable as a chest radiograph is the core's call (toUnitGrey's checks run at scoring time).
 */
export function readPart10(part10: ArrayBuffer | Uint8Array, where = 'the instance'): Part10Image {
  const { message, transferSyntaxUID } = readMessage(part10, where);
  if (!(transferSyntaxUID in NATIVE_TRANSFER_SYNTAXES)) {
    refuseSyntax(transferSyntaxUID, where, 'readPart10 reads uncompressed little-endian pixel data only (decodePart10 decodes compressed files)');
  }
  return imageOf(message, transferSyntaxUID, where);
}

/**
 * Parse a Part 10 file, decoding compressed pixel data in process (RLE, JPEG Lossless, JPEG-LS,
 * JPEG 2000; DECODED_TRANSFER_SYNTAXES) to the same stored values an uncompressed copy holds.
 * The header's size is checked against `limits` before decoding, and the decoded pixels must
 * have the header's geometry. The result's `decodedFrom` names the syntax decoded.
 */
export async function decodePart10(part10: ArrayBuffer | Uint8Array, where = 'the instance', limits: ImageLimits = DEFAULT_LIMITS): Promise<Part10Image> {
  const { buffer, message, transferSyntaxUID } = readMessage(part10, where);
  if (transferSyntaxUID in NATIVE_TRANSFER_SYNTAXES) return imageOf(message, transferSyntaxUID, where);
  if (!(transferSyntaxUID in DECODED_TRANSFER_SYNTAXES)) {
    refuseSyntax(
      transferSyntaxUID,
      where,
      `it reads uncompressed little-endian pixel data and decodes ${Object.values(DECODED_TRANSFER_SYNTAXES).join(', ')} (ask the PACS to transcode to 1.2.840.10008.1.2.1)`,
    );
  }
  const decoded = await decompress(buffer, transferSyntaxUID, message.dict as DicomJson, limits, where);
  const native = readMessage(decoded.part10, where).message;
  // The codec rewrites the geometry from its codestream; the header's must still hold, or the
  // stored values would be read with the wrong shape.
  for (const [tag, name] of [
    ['00280010', 'Rows'],
    ['00280011', 'Columns'],
    ['00280002', 'SamplesPerPixel'],
    ['00280100', 'BitsAllocated'],
    ['00280103', 'PixelRepresentation'],
  ] as const) {
    const before = (message.dict[tag] as { Value?: unknown[] } | undefined)?.Value?.[0];
    const after = (native.dict[tag] as { Value?: unknown[] } | undefined)?.Value?.[0];
    if (before !== undefined && Number(before) !== Number(after)) {
      throw new InputError(`${where}: its ${decoded.name} pixel data decodes with ${name} ${String(after)}, its header says ${String(before)} (corrupt image)`);
    }
  }
  // The header as stored (the codec may also rename the photometric interpretation), the decoded pixels.
  message.dict['7FE00010'] = native.dict['7FE00010'];
  return { ...imageOf(message, transferSyntaxUID, where), decodedFrom: transferSyntaxUID };
}

function imageOf(message: Message, transferSyntaxUID: string, where: string): Part10Image {
  let ds: NaturalDataset;
  try {
    ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(message.dict);
  } catch (error) {
    throw new InputError(`${where} has a header dcmjs cannot read: ${(error as Error).message ?? String(error)}`);
  }
  const studyInstanceUID = requireUid(ds, 'StudyInstanceUID', where);
  const seriesInstanceUID = requireUid(ds, 'SeriesInstanceUID', where);
  const sopInstanceUID = requireUid(ds, 'SOPInstanceUID', where);
  const sopClassUID = requireUid(ds, 'SOPClassUID', where);

  const attributes: ImageAttributes = {
    rows: num(ds, 'Rows') as number,
    columns: num(ds, 'Columns') as number,
    samplesPerPixel: num(ds, 'SamplesPerPixel') as number,
    photometricInterpretation: text(ds, 'PhotometricInterpretation') as string,
    bitsAllocated: num(ds, 'BitsAllocated') as number,
    bitsStored: num(ds, 'BitsStored') as number,
    pixelRepresentation: num(ds, 'PixelRepresentation') as number,
    rescaleSlope: num(ds, 'RescaleSlope'),
    rescaleIntercept: num(ds, 'RescaleIntercept'),
    windowCenter: nums(ds, 'WindowCenter'),
    windowWidth: nums(ds, 'WindowWidth'),
    voiLutFunction: text(ds, 'VOILUTFunction'),
    numberOfFrames: num(ds, 'NumberOfFrames'),
    modality: text(ds, 'Modality'),
    hasModalityLutSequence: present(ds, 'ModalityLUTSequence'),
    hasVoiLutSequence: present(ds, 'VOILUTSequence'),
    highBit: num(ds, 'HighBit'),
    pixelPaddingValue: num(ds, 'PixelPaddingValue'),
    pixelPaddingRangeLimit: num(ds, 'PixelPaddingRangeLimit'),
    // What the intended-use gate reads (core/src/intendedUse.ts).
    viewPosition: text(ds, 'ViewPosition'),
    bodyPartExamined: text(ds, 'BodyPartExamined'),
    presentationIntentType: text(ds, 'PresentationIntentType'),
    patientAge: text(ds, 'PatientAge'),
    patientBirthDate: text(ds, 'PatientBirthDate'),
    studyDate: text(ds, 'StudyDate'),
  };

  const pixelData = ds.PixelData;
  delete ds.PixelData;
  const frames = Array.isArray(pixelData) ? pixelData : pixelData === undefined ? [] : [pixelData];
  let pixels: StoredPixels = new Uint8Array(0);
  if (frames.length > 0 && frames[0] instanceof ArrayBuffer) {
    pixels = storedValues(frames[0], attributes, where);
  } else if (frames.length > 0) {
    throw new InputError(`${where}: pixel data is not a byte buffer (corrupt image)`);
  }
  return { studyInstanceUID, seriesInstanceUID, sopInstanceUID, sopClassUID, transferSyntaxUID, attributes, pixels, dataset: ds };
}
