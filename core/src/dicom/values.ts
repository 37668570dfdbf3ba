/**
 * Value encodings and dataset plumbing shared by the builders and readers: UIDs, DICOM dates and
 * times, decimal strings, and the three forms a dataset arrives in (Part 10 bytes, dcmjs's
 * naturalized object, DICOM JSON from WADO-RS metadata or QIDO-RS).
 */
import dcmjs from 'dcmjs';

import { InputError, show } from '../errors';

const { DicomDict, DicomMessage, DicomMetaDictionary } = dcmjs.data;

export type Dataset = Record<string, unknown>;

/** A dataset the readers accept: Part 10 bytes, a naturalized dataset or DICOM JSON. */
export type DatasetSource = ArrayBuffer | ArrayBufferView | Dataset;

/** An object ChestAid did not write, or wrote differently: the message says what is missing. */
export class DicomReadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DicomReadError';
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
/** ChestAid's implementation class UID (a fixed 2.25 UUID UID) and name for the file meta. */
export const IMPLEMENTATION_CLASS_UID = '2.25.163507328113945186403470101939718905137';
export const IMPLEMENTATION_VERSION_NAME = 'CHESTAID_1';

const UID_PATTERN = /^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$/;

export function isUid(value: unknown): value is string {
  return typeof value === 'string' && value.length <= 64 && UID_PATTERN.test(value);
}

/**
 * A new UID in the UUID form of PS3.5 B.2: "2.25." and a random (version 4) UUID as one decimal
 * integer. No organisational root is needed, and the 122 random bits make collisions negligible.
 */
export function newUid(): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return `2.25.${value.toString()}`;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** DA, TM and DT (with a +0000 offset) for an instant, in UTC. */
export function dicomDateTime(instant: Date): { date: string; time: string; dateTime: string } {
  const date = `${instant.getUTCFullYear()}${pad(instant.getUTCMonth() + 1)}${pad(instant.getUTCDate())}`;
  const time = `${pad(instant.getUTCHours())}${pad(instant.getUTCMinutes())}${pad(instant.getUTCSeconds())}.${pad(instant.getUTCMilliseconds(), 3)}000`;
  return { date, time, dateTime: `${date}${time}+0000` };
}

/** An ISO 8601 instant from the caller, refused unless it parses. */
export function parseInstant(name: string, value: string | Date): Date {
  const instant = value instanceof Date ? new Date(value.getTime()) : new Date(value);
  if (typeof value !== 'string' && !(value instanceof Date)) {
    throw new InputError(`${name} must be an ISO 8601 date-time string, got ${show(value)}`);
  }
  if (Number.isNaN(instant.getTime())) throw new InputError(`${name} is not a valid date-time: ${show(value)}`);
  return instant;
}

const DT_PATTERN = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d{1,6}))?([+-])(\d{2})(\d{2})$/;

/**
 * An instant from a DT value with seconds and a UTC offset (the form ChestAid writes), as an ISO
 * string; undefined for any other form (a DT without an offset is local time of an unknown zone).
 */
export function instantFromDicomDateTime(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const m = DT_PATTERN.exec(value.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac = '', sign, oh, om] = m;
  const millis = Number(frac.padEnd(6, '0').slice(0, 3));
  const utc = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), millis);
  const offsetMinutes = (Number(oh) * 60 + Number(om)) * (sign === '-' ? -1 : 1);
  const instant = new Date(utc - offsetMinutes * 60_000);
  return Number.isNaN(instant.getTime()) ? undefined : instant.toISOString();
}

/**
 * A DS value (at most 16 characters, PS3.5 6.2) as close to `value` as 16 characters allow: the
 * longest toPrecision that fits. dcmjs would otherwise truncate (not round) and log a warning.
 * The exact double travels beside it in an FD attribute where the standard offers one.
 */
export function decimalString(value: number): string {
  if (!Number.isFinite(value)) throw new InputError(`a decimal string must hold a finite number, got ${show(value)}`);
  const plain = String(value);
  if (plain.length <= 16) return plain;
  for (let precision = 16; precision >= 1; precision--) {
    const text = value.toPrecision(precision).replace(/e\+?/, 'E');
    if (text.length <= 16) return text;
  }
  throw new InputError(`cannot write ${show(value)} as a 16-character decimal string`);
}

/** A sequence's items whether naturalized as an array or (single item) as an object. */
export function itemsOf(sequence: unknown): Dataset[] {
  if (Array.isArray(sequence)) return sequence.filter((item): item is Dataset => typeof item === 'object' && item !== null);
  return typeof sequence === 'object' && sequence !== null ? [sequence as Dataset] : [];
}

/** A single-valued attribute's value whether naturalized as a scalar or a one-element list. */
export function single(value: unknown): unknown {
  return Array.isArray(value) ? value[0] : value;
}

export function text(value: unknown): string | undefined {
  const v = single(value);
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
}

export function numberOf(value: unknown): number | undefined {
  const v = single(value);
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v.trim());
    return Number.isNaN(n) ? undefined : n;
  }
  return undefined;
}

const TAG_KEY = /^[0-9A-Fa-f]{8}$/;

/** DICOM JSON (tag-keyed, each value { vr, Value }) rather than a naturalized dataset. */
function isDicomJson(dataset: Dataset): boolean {
  const keys = Object.keys(dataset);
  return keys.length > 0 && keys.every(key => TAG_KEY.test(key)) && keys.some(key => {
    const element = dataset[key];
    return typeof element === 'object' && element !== null && 'vr' in element;
  });
}

function arrayBufferOf(bytes: ArrayBuffer | ArrayBufferView): ArrayBuffer {
  if (bytes instanceof ArrayBuffer) return bytes;
  const view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return view.slice().buffer;
}

function isBytes(value: unknown): value is ArrayBuffer | ArrayBufferView {
  // Node Buffers and arrays from another realm (jest) fail instanceof ArrayBuffer; check by tag.
  return (
    value instanceof ArrayBuffer ||
    Object.prototype.toString.call(value) === '[object ArrayBuffer]' ||
    ArrayBuffer.isView(value)
  );
}

/** Any accepted form -> a naturalized dataset. Part 10 bytes that do not parse are refused by name. */
export function naturalize(source: DatasetSource): Dataset {
  if (isBytes(source)) {
    const buffer = ArrayBuffer.isView(source) ? arrayBufferOf(source) : (source as ArrayBuffer);
    let message;
    try {
      message = DicomMessage.readFile(buffer);
    } catch (error) {
      throw new DicomReadError(`not a readable DICOM Part 10 file (${buffer.byteLength} bytes): ${(error as Error).message}`);
    }
    return DicomMetaDictionary.naturalizeDataset(message.dict);
  }
  if (typeof source !== 'object' || source === null || Array.isArray(source)) {
    throw new DicomReadError(`expected Part 10 bytes, a naturalized dataset or DICOM JSON, got ${show(source)}`);
  }
  return isDicomJson(source) ? DicomMetaDictionary.naturalizeDataset(source as never) : source;
}

/** A naturalized dataset as Part 10 bytes, Explicit VR Little Endian, with its file meta. */
export function writePart10(dataset: Dataset): ArrayBuffer {
  const meta = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: dataset.SOPClassUID,
    MediaStorageSOPInstanceUID: dataset.SOPInstanceUID,
    TransferSyntaxUID: EXPLICIT_VR_LITTLE_ENDIAN,
    ImplementationClassUID: IMPLEMENTATION_CLASS_UID,
    ImplementationVersionName: IMPLEMENTATION_VERSION_NAME,
  };
  const dict = new DicomDict(DicomMetaDictionary.denaturalizeDataset(meta));
  dict.dict = DicomMetaDictionary.denaturalizeDataset(dataset);
  return dict.write();
}

/**
 * Patient, study and patient-study attributes copied from the source image into a derived object
 * (PS3.3 C.7.1.1, C.7.2.1, C.7.2.2), so the PACS files it under the same patient and study.
 */
export const COPIED_FROM_SOURCE = [
  'PatientName',
  'PatientID',
  'IssuerOfPatientID',
  'PatientBirthDate',
  'PatientSex',
  'OtherPatientIDsSequence',
  'PatientIdentityRemoved',
  'DeidentificationMethod',
  'PatientAge',
  'PatientSize',
  'PatientWeight',
  'StudyInstanceUID',
  'StudyDate',
  'StudyTime',
  'ReferringPhysicianName',
  'StudyID',
  'AccessionNumber',
  'IssuerOfAccessionNumberSequence',
  'StudyDescription',
] as const;

/** The image a result or map was computed on, as the builders need it. */
export interface SourceImageRef {
  readonly studyInstanceUID: string;
  readonly seriesInstanceUID: string;
  readonly sopInstanceUID: string;
  readonly sopClassUID: string;
}

/** The source image's identifying UIDs, each checked, naming the first that is missing or malformed. */
export function sourceRefOf(source: Dataset): SourceImageRef {
  const uid = (keyword: string): string => {
    const value = single(source[keyword]);
    if (value === undefined || value === null || value === '') {
      throw new InputError(`source image has no ${keyword}: it is needed to reference the image`);
    }
    if (!isUid(value)) throw new InputError(`source image ${keyword} is not a valid UID: ${show(value)}`);
    return value;
  };
  return {
    studyInstanceUID: uid('StudyInstanceUID'),
    seriesInstanceUID: uid('SeriesInstanceUID'),
    sopInstanceUID: uid('SOPInstanceUID'),
    sopClassUID: uid('SOPClassUID'),
  };
}

/** The copied patient/study attributes, with type 2 ones present (empty) when the source lacks them. */
/**
 * How every ChestAid object derived from a source image begins: UTF-8, its SOP identity, when it
 * was created (UTC), and the source's patient and study.
 */
export function derivedInstanceHeader(
  sopClassUID: string,
  sopInstanceUID: string,
  created: { readonly date: string; readonly time: string },
  sourceDataset: Dataset,
  studyInstanceUID: string,
): Dataset {
  return {
    SpecificCharacterSet: 'ISO_IR 192',
    SOPClassUID: sopClassUID,
    SOPInstanceUID: sopInstanceUID,
    InstanceCreationDate: created.date,
    InstanceCreationTime: created.time,
    TimezoneOffsetFromUTC: '+0000',
    ...patientAndStudyOf(sourceDataset),
    StudyInstanceUID: studyInstanceUID,
  };
}

export function patientAndStudyOf(source: Dataset): Dataset {
  const copied: Dataset = {};
  for (const keyword of COPIED_FROM_SOURCE) {
    if (source[keyword] !== undefined) copied[keyword] = source[keyword];
  }
  for (const keyword of ['PatientName', 'PatientID', 'PatientBirthDate', 'PatientSex', 'StudyDate', 'StudyTime', 'ReferringPhysicianName', 'StudyID', 'AccessionNumber']) {
    if (copied[keyword] === undefined) copied[keyword] = '';
  }
  return copied;
}
