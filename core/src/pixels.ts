/**
 * Stored DICOM pixel values -> display intensity in [0, 1], bright = dense (MONOCHROME2).
 *
 * The contract is training/chestaid_train/dicom.py `stored_to_unit_float`, step for step, because
 * the parity fixtures were generated from it:
 * 1. Modality LUT: x = stored * RescaleSlope + RescaleIntercept (1 and 0 when absent).
 * 2. VOI LUT: the LINEAR function of PS3.3 C.11.2.1.2.1 onto [0, 1] with the first
 *    WindowCenter/WindowWidth pair. Without a window: the window that maps the whole modality-LUT
 *    range of the stored bit depth (signed when PixelRepresentation is 1) exactly onto [0, 1].
 * 3. MONOCHROME1: y = 1 - y.
 * Everything is computed in double precision and stored as float32, as the Python side does.
 *
 * Anything else is refused with an InputError naming the value (STYLE.md 6): the model was
 * trained on single-frame grey radiographs and would score anything it is given.
 */
import { InputError, show } from './errors';
import type { GreyImage, RowSource } from './resize';

/** The image pixel module attributes the conversion needs, as plain values (dcmjs naturalised names). */
export interface PixelAttributes {
  rows: number;
  columns: number;
  samplesPerPixel: number;
  photometricInterpretation: string;
  bitsAllocated: number;
  bitsStored: number;
  /** 0 unsigned, 1 two's complement. */
  pixelRepresentation: number;
  rescaleSlope?: number | null;
  rescaleIntercept?: number | null;
  /** A multi-valued window gives several presentations; the first is the default one. */
  windowCenter?: number | readonly number[] | null;
  windowWidth?: number | readonly number[] | null;
  numberOfFrames?: number | null;
  modality?: string | null;
  voiLutFunction?: string | null;
  /** True when the dataset has a Modality LUT Sequence, which is not supported. */
  hasModalityLutSequence?: boolean;
  /** True when the dataset has a VOI LUT Sequence; supported only alongside a window. */
  hasVoiLutSequence?: boolean;
  /**
   * True when the pixels already hold modality LUT output (stored * RescaleSlope +
   * RescaleIntercept), as Cornerstone's image loader hands them over when it "pre-scales". The
   * slope and intercept above must then be the ones the decoder applied: they are undone to find
   * each stored code, never applied a second time.
   */
  modalityLutApplied?: boolean;
  /** Type 1 in the image pixel module; absent when the metadata did not carry it. */
  highBit?: number | null;
  /**
   * PixelPaddingValue (and PixelPaddingRangeLimit, the other end of a padding range), as stored
   * values: pixels that are not image (PS3.3 C.7.5.1.1.2). They are drawn black and never read as
   * anatomy; the intended-use gate measures the image without them.
   */
  pixelPaddingValue?: number | null;
  pixelPaddingRangeLimit?: number | null;
}

/**
 * Stored values as a decoder hands them over, one frame; floating point only when the decoder
 * already applied the modality LUT (PixelAttributes.modalityLutApplied).
 */
export type StoredPixels =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array
  | Float64Array;

export interface UnitGreyOptions {
  /**
   * Modalities the model accepts (the manifest's input.grey.accepted_modalities). When given, an
   * image of another modality, or with none, is refused.
   */
  acceptedModalities?: readonly string[];
}

export interface VoiWindow {
  center: number;
  width: number;
}

const MAX_BITS_STORED = 16;
const SUPPORTED_PHOTOMETRIC = ['MONOCHROME1', 'MONOCHROME2'];

/**
 * DICOM PS3.3 C.11.2.1.2.1 LINEAR VOI function with output range [0, 1]:
 * x <= c - 0.5 - (w - 1) / 2 -> 0; x > c - 0.5 + (w - 1) / 2 -> 1;
 * else ((x - (c - 0.5)) / (w - 1) + 0.5). Width 1 is the step at c - 0.5 the thresholds define.
 */
export function voiLutLinear(x: number, center: number, width: number): number {
  const lower = center - 0.5 - (width - 1) / 2;
  if (x <= lower) return 0;
  const upper = center - 0.5 + (width - 1) / 2;
  if (x > upper || width === 1) return 1;
  return (x - (center - 0.5)) / (width - 1) + 0.5;
}

/** The window for which voiLutLinear maps lo to exactly 0 and hi to exactly 1. */
export function fullRangeWindow(lo: number, hi: number): VoiWindow {
  return { center: (lo + hi) / 2 + 0.5, width: hi - lo + 1 };
}

/**
 * Convert one frame of stored values to a grey image in [0, 1] (MONOCHROME2 orientation).
 * Stored values are masked to BitsStored and sign-extended when PixelRepresentation is 1, so a
 * decoder may hand over raw 16-bit words or already sign-extended values alike.
 */
export function toUnitGrey(
  attributes: PixelAttributes,
  pixels: StoredPixels | null | undefined,
  options: UnitGreyOptions = {},
): GreyImage {
  const rows = unitGreyRows(attributes, pixels, options);
  const { width, height } = rows;
  const data = new Float32Array(width * height);
  for (let y = 0; y < height; y++) rows.readRow(y, data.subarray(y * width, (y + 1) * width));
  return { data, width, height };
}

/**
 * toUnitGrey as a RowSource: the same checks up front, the same table, and each row converted
 * only when it is read. Preprocessor.runStored resizes from it directly, so the full-size float
 * image (4 bytes a pixel, 20 MB for a 2048 x 2500 CR) is never allocated.
 *
 * Every value comes out of the lookup table, whose entries are voiLutLinear outputs (or one
 * minus them): all in [0, 1] by construction, so the rows need no range check of their own.
 */
export function unitGreyRows(
  attributes: PixelAttributes,
  pixels: StoredPixels | null | undefined,
  options: UnitGreyOptions = {},
): RowSource {
  const a = attributes;
  checkModality(a.modality, options.acceptedModalities);
  checkPhotometric(a.photometricInterpretation);
  if (a.samplesPerPixel !== 1) {
    throw new InputError(`SamplesPerPixel must be 1 for a radiograph, got ${show(a.samplesPerPixel)}`);
  }
  const frames = a.numberOfFrames ?? 1;
  if (!Number.isInteger(frames) || frames < 1) {
    throw new InputError(`NumberOfFrames must be a positive integer, got ${show(a.numberOfFrames)}`);
  }
  if (frames > 1) {
    throw new InputError(`NumberOfFrames ${frames} is not supported; expected a single frame`);
  }
  checkPositiveInteger('Rows', a.rows);
  checkPositiveInteger('Columns', a.columns);
  checkBits(a.bitsAllocated, a.bitsStored);
  if (a.pixelRepresentation !== 0 && a.pixelRepresentation !== 1) {
    throw new InputError(`PixelRepresentation must be 0 or 1, got ${show(a.pixelRepresentation)}`);
  }
  if (a.hasModalityLutSequence) {
    throw new InputError('Modality LUT Sequence is not supported; only RescaleSlope/RescaleIntercept');
  }
  const expected = a.rows * a.columns;
  if (!pixels || pixels.length === 0) {
    throw new InputError(`the image has no pixel data; expected ${a.rows} x ${a.columns} = ${expected} values`);
  }
  if (pixels.length !== expected) {
    throw new InputError(
      `pixel data holds ${pixels.length} values; expected ${a.rows} x ${a.columns} = ${expected} (corrupt or truncated image)`,
    );
  }

  const slope = finiteOr('RescaleSlope', a.rescaleSlope, 1);
  const intercept = finiteOr('RescaleIntercept', a.rescaleIntercept, 0);
  if (slope === 0) {
    throw new InputError('RescaleSlope 0 maps every pixel to one value');
  }
  const fn = (a.voiLutFunction ?? '').trim() || 'LINEAR';
  if (fn !== 'LINEAR') {
    throw new InputError(`VOILUTFunction ${show(fn)} is not supported; only LINEAR`);
  }

  const bits = a.bitsStored;
  const signed = a.pixelRepresentation === 1;
  const window = chooseWindow(a, bits, signed, slope, intercept);
  const invert = a.photometricInterpretation.trim() === 'MONOCHROME1';

  // A table over every stored code: at most 65536 entries, the same arithmetic per pixel as the
  // direct formula, and the per-pixel loop becomes one lookup.
  const codes = 1 << bits;
  const mask = codes - 1;
  const lut = new Float32Array(codes);
  const padding = paddingRange(a);
  for (let code = 0; code < codes; code++) {
    const stored = signed && code >= codes >>> 1 ? code - codes : code;
    if (padding && stored >= padding.lo && stored <= padding.hi) {
      // Padding is not image: black whatever the window and MONOCHROME1 would make of its value.
      lut[code] = 0;
      continue;
    }
    const y = voiLutLinear(stored * slope + intercept, window.center, window.width);
    lut[code] = invert ? 1 - y : y;
  }
  const columns = a.columns;
  const source = { width: columns, height: a.rows };
  if (a.modalityLutApplied) {
    const rescale = { slope, intercept, bits, signed, columns };
    return { ...source, readRow: (y, out) => unscaleRow(out, lut, pixels, y * columns, rescale) };
  }
  if (pixels instanceof Float32Array || pixels instanceof Float64Array) {
    throw new InputError(
      'floating-point pixel data must already hold modality LUT output (modalityLutApplied); stored values are integers',
    );
  }
  const stored = pixels;
  return {
    ...source,
    readRow(y, out) {
      const base = y * columns;
      for (let x = 0; x < columns; x++) out[x] = lut[stored[base + x] & mask];
    },
  };
}

interface Rescale {
  readonly slope: number;
  readonly intercept: number;
  readonly bits: number;
  readonly signed: boolean;
  readonly columns: number;
}

/**
 * Pixels that hold modality values x = stored * slope + intercept: recover each stored code
 * (round((x - intercept) / slope), exact for the float32 a decoder writes) and look it up in the
 * same table, so a pre-scaled image gives the very numbers its stored values would, without
 * copying it first. A value no stored code of this bit depth explains means the decoder used
 * other parameters than the image's, and is refused rather than guessed at.
 * Converts the row that starts at pixel `base` into `out`.
 */
function unscaleRow(out: Float32Array, lut: Float32Array, pixels: StoredPixels, base: number, r: Rescale): void {
  const lo = r.signed ? -(2 ** (r.bits - 1)) : 0;
  const hi = r.signed ? 2 ** (r.bits - 1) - 1 : 2 ** r.bits - 1;
  const codes = 1 << r.bits;
  // Half a step would accept anything. A decoder computes in double and rounds once to its array
  // type, so an honest value sits within a few float32 ulps of a step.
  const step = Math.abs(r.slope) / 100;
  for (let x = 0; x < r.columns; x++) {
    const i = base + x;
    const v = pixels[i];
    const stored = Math.round((v - r.intercept) / r.slope);
    const tolerance = step + Math.abs(v) * 2 ** -22;
    if (!(stored >= lo && stored <= hi && Math.abs(stored * r.slope + r.intercept - v) <= tolerance)) {
      throw new InputError(
        `pre-scaled pixel value ${show(v)} at row ${Math.floor(i / r.columns)}, column ${i % r.columns} is not ` +
          `RescaleSlope ${r.slope} * a ${r.bits}-bit stored value + RescaleIntercept ${r.intercept}`,
      );
    }
    out[x] = lut[stored < 0 ? stored + codes : stored];
  }
}

/**
 * The stored values that are padding, lo..hi inclusive (signed when PixelRepresentation is 1), or
 * null when the image declares none. PixelPaddingValue's VR (US or SS) follows
 * PixelRepresentation, and metadata providers hand a negative SS over as its unsigned bit pattern
 * (65535 for -1) as often as not: both read as the same BitsStored-bit code.
 */
export function paddingRange(a: PixelAttributes): { lo: number; hi: number } | null {
  const value = a.pixelPaddingValue;
  if (value === undefined || value === null || !Number.isInteger(value)) return null;
  if (!Number.isInteger(a.bitsStored) || a.bitsStored < 1 || a.bitsStored > MAX_BITS_STORED) return null;
  const codes = 2 ** a.bitsStored;
  const asStored = (v: number) => {
    const code = v & (codes - 1);
    return a.pixelRepresentation === 1 && code >= codes / 2 ? code - codes : code;
  };
  const first = asStored(value);
  const limit = a.pixelPaddingRangeLimit;
  const second = limit !== undefined && limit !== null && Number.isInteger(limit) ? asStored(limit) : first;
  return { lo: Math.min(first, second), hi: Math.max(first, second) };
}

function checkModality(modality: string | null | undefined, accepted: readonly string[] | undefined): void {
  if (!accepted) return;
  const m = (modality ?? '').trim();
  if (m === '') {
    throw new InputError(
      `ChestAid analyses chest radiographs (${accepted.join('/')}); this image has no Modality`,
    );
  }
  if (!accepted.includes(m)) {
    throw new InputError(`ChestAid analyses chest radiographs (${accepted.join('/')}); this image is ${m}`);
  }
}

function checkPhotometric(value: string): void {
  const p = typeof value === 'string' ? value.trim() : value;
  if (!SUPPORTED_PHOTOMETRIC.includes(p)) {
    throw new InputError(
      `PhotometricInterpretation ${show(p)} is not supported; only MONOCHROME1 and MONOCHROME2 radiographs are`,
    );
  }
}

function checkPositiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new InputError(`${name} must be a positive integer, got ${show(value)}`);
  }
}

function checkBits(allocated: number, stored: number): void {
  if (allocated !== 8 && allocated !== 16 && allocated !== 32) {
    throw new InputError(`BitsAllocated must be 8, 16 or 32, got ${show(allocated)}`);
  }
  if (!Number.isInteger(stored) || stored < 1 || stored > MAX_BITS_STORED) {
    throw new InputError(`BitsStored ${show(stored)} is not supported; expected 1 to ${MAX_BITS_STORED}`);
  }
  if (stored > allocated) {
    throw new InputError(`BitsStored ${stored} exceeds BitsAllocated ${allocated}`);
  }
}

function finiteOr(name: string, value: number | null | undefined, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new InputError(`${name} must be a finite number, got ${show(value)}`);
  }
  return value;
}

/** WindowCenter/Width may be multi-valued; absent or empty counts as no window. */
function firstValue(value: number | readonly number[] | null | undefined): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number') return value;
  return value.length > 0 ? value[0] : undefined;
}

function chooseWindow(
  a: PixelAttributes,
  bits: number,
  signed: boolean,
  slope: number,
  intercept: number,
): VoiWindow {
  const center = firstValue(a.windowCenter);
  const width = firstValue(a.windowWidth);
  if (center !== undefined && width !== undefined) {
    if (!Number.isFinite(center)) {
      throw new InputError(`WindowCenter must be a finite number, got ${show(center)}`);
    }
    if (!(Number.isFinite(width) && width >= 1)) {
      throw new InputError(`WindowWidth must be >= 1 (PS3.3 C.11.2.1.2), got ${show(width)}`);
    }
    return { center, width };
  }
  if (a.hasVoiLutSequence) {
    throw new InputError('VOI LUT Sequence without WindowCenter/WindowWidth is not supported');
  }
  const lo = signed ? -(2 ** (bits - 1)) : 0;
  const hi = signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
  const ends = [lo * slope + intercept, hi * slope + intercept];
  return fullRangeWindow(Math.min(ends[0], ends[1]), Math.max(ends[0], ends[1]));
}
