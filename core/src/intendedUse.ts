/**
 * The intended-use gate: before any inference, refuse what the model card excludes, with the
 * reason a reader will see after "Not analyzed: ". One pure function over the DICOM attributes
 * the viewer (Cornerstone/OHIF metadata) and the worker (its Part 10 reader) both have, and the
 * decoded pixels. A refused image gets no score, no heatmap and no SR anywhere in the product.
 *
 * What it refuses, in this order (the first rule that fails names the reason):
 * 1. HighBit other than BitsStored - 1, or BitsStored above BitsAllocated: the header does not
 *    say which bits hold the pixel, so any grey level read from it is a guess.
 * 2. PresentationIntentType FOR PROCESSING: raw detector data, before the vendor's processing that
 *    every training image had; the model has never seen one.
 * 3. ViewPosition other than PA or AP (LL, RL, LATERAL, LLO...): the card covers frontal views.
 *    Absent or empty ViewPosition is NOT refused: it may be empty (Type 2 in the CR Series
 *    module) and real CR systems often leave it so; refusing it would refuse much of a CR archive; the
 *    image-based out-of-distribution check after inference is the guard for an untagged lateral.
 * 4. BodyPartExamined that is tagged and is not the chest (CHEST, THORAX, LUNG and the like, the
 *    manifest's intended_use.body_parts). Absent or empty: not refused, for the same reason.
 * 5. Patient age outside the manifest's intended_use.patient_age, from PatientAge, else from
 *    PatientBirthDate and StudyDate. Unknown age (neither present, or malformed): not refused,
 *    since anonymised exports routinely strip both; the panel's card text still states the range.
 * 6. A matrix smaller than the model's input (224 x 224 for the demo model) in either direction,
 *    counting only the extent that holds image (PixelPaddingValue excluded): the model would see
 *    upsampled, invented detail. No chest detector or film digitiser makes fewer than about 1,000
 *    pixels a side, so this refuses no diagnostic radiograph, only thumbnails, icons and fragments
 *    (a 16 x 16 "radiograph" was scored before this gate existed).
 *
 * The refusal is a value ({ code, reason }), so any later check (the out-of-distribution check
 * after inference) travels the same path: NotAnalyzedError carries it through the analysis, and
 * the panel, the worklist and the worker each show or record it as "Not analyzed".
 */
import { show } from './errors';
import type { Manifest } from './manifest';
import { paddingRange, type PixelAttributes, type StoredPixels } from './pixels';

/**
 * Why an image gets no score. `code` is for logs and tests; `reason` is what the reader reads in
 * English (the worker's log, the SR-free record); `message` names the same sentence as a key and
 * its values, so a viewer can word it in the reader's language (the extension's catalogue holds
 * the keys). Absent in records written before it existed: then the reason is shown as it is.
 */
export interface Refusal {
  readonly code: string;
  readonly reason: string;
  readonly message?: RefusalMessage;
}

/** A refusal's sentence as a catalogue key and the values it names (numbers and DICOM codes, never words). */
export interface RefusalMessage {
  readonly key: string;
  readonly params: Readonly<Record<string, string | number>>;
}

/** The codes this gate gives; other checks (out-of-distribution) add their own. */
export const GATE_CODES = Object.freeze({
  bits: 'inconsistent-bits',
  forProcessing: 'for-processing',
  view: 'non-frontal-view',
  bodyPart: 'not-chest',
  age: 'age-out-of-range',
  matrix: 'matrix-too-small',
  padding: 'no-image-content',
});

/**
 * Thrown by the analysis when an image is refused: not a failure (retrying cannot change it) and
 * not a score. Its message is the reason alone; the product words it "Not analyzed: <reason>".
 */
export class NotAnalyzedError extends Error {
  readonly refusal: Refusal;
  constructor(refusal: Refusal) {
    super(refusal.reason);
    this.name = 'NotAnalyzedError';
    this.refusal = { code: refusal.code, reason: refusal.reason, ...(refusal.message ? { message: refusal.message } : {}) };
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/** What the product shows in place of a score. */
export function notAnalyzedText(refusal: Pick<Refusal, 'reason'>): string {
  return `Not analyzed: ${refusal.reason}`;
}

/** The DICOM attributes, beyond the pixel module, that the card's rules read (dcmjs keywords, camelCased). */
export interface IntendedUseAttributes {
  readonly viewPosition?: string | null;
  readonly bodyPartExamined?: string | null;
  readonly presentationIntentType?: string | null;
  /** DICOM AS, e.g. "004Y", "006M". */
  readonly patientAge?: string | null;
  /** DICOM DA, YYYYMMDD. */
  readonly patientBirthDate?: string | null;
  /** DICOM DA, YYYYMMDD: the date the age is reckoned at when PatientAge is absent. */
  readonly studyDate?: string | null;
}

/** Everything the analysis reads from an image's header. */
export type ImageAttributes = PixelAttributes & IntendedUseAttributes;

/** The rules, as the manifest states them (intended_use) plus the model's input size. */
export interface IntendedUse {
  readonly viewPositions: readonly string[];
  readonly bodyParts: readonly string[];
  readonly minAgeYears: number;
  /** null: no upper bound. */
  readonly maxAgeYears: number | null;
  /** The smallest image extent, in pixels, in either direction. */
  readonly minMatrix: number;
}

export function intendedUseOf(manifest: Manifest): IntendedUse {
  const use = manifest.intended_use;
  return {
    viewPositions: use.view_positions,
    bodyParts: use.body_parts,
    minAgeYears: use.patient_age.min_years,
    maxAgeYears: use.patient_age.max_years,
    minMatrix: Math.max(manifest.input.size.height, manifest.input.size.width),
  };
}

/** A code string as DICOM CS compares: trimmed, upper case. */
function cs(value: string | null | undefined): string {
  return typeof value === 'string' ? value.trim().toUpperCase() : '';
}

/**
 * The image's refusal under `use`, or null when it may be analyzed. Pure: reads its arguments,
 * changes nothing.
 */
export function checkIntendedUse(attributes: ImageAttributes, pixels: StoredPixels | null | undefined, use: IntendedUse): Refusal | null {
  return (
    checkBitsConsistent(attributes) ??
    checkPresentationIntent(attributes) ??
    checkView(attributes, use) ??
    checkBodyPart(attributes, use) ??
    checkAge(attributes, use) ??
    checkMatrix(attributes, pixels, use)
  );
}

function checkBitsConsistent({ bitsAllocated, bitsStored, highBit }: PixelAttributes): Refusal | null {
  if (Number.isInteger(bitsStored) && Number.isInteger(bitsAllocated) && bitsStored > bitsAllocated) {
    return {
      code: GATE_CODES.bits,
      reason: `the header is inconsistent: BitsStored ${bitsStored} exceeds BitsAllocated ${bitsAllocated}`,
      message: { key: 'refusal.bitsStoredOverAllocated', params: { bitsStored, bitsAllocated } },
    };
  }
  // Absent HighBit: the metadata did not carry it; BitsStored alone still places the pixel.
  if (highBit !== undefined && highBit !== null && highBit !== bitsStored - 1) {
    return {
      code: GATE_CODES.bits,
      reason: `the header is inconsistent: HighBit ${show(highBit)} with BitsStored ${show(bitsStored)} (HighBit must be BitsStored - 1)`,
      message: { key: 'refusal.highBit', params: { highBit: show(highBit), bitsStored: show(bitsStored) } },
    };
  }
  return null;
}

function checkPresentationIntent({ presentationIntentType }: IntendedUseAttributes): Refusal | null {
  if (cs(presentationIntentType) === 'FOR PROCESSING') {
    return {
      code: GATE_CODES.forProcessing,
      reason: 'a FOR PROCESSING image (raw detector data); the model reads FOR PRESENTATION radiographs only',
      message: { key: 'refusal.forProcessing', params: {} },
    };
  }
  return null;
}

function checkView({ viewPosition }: IntendedUseAttributes, use: IntendedUse): Refusal | null {
  const view = cs(viewPosition);
  if (view === '' || use.viewPositions.includes(view)) return null;
  return {
    code: GATE_CODES.view,
    reason: `a ${view} view; the model reads frontal chest radiographs (ViewPosition ${use.viewPositions.join(' or ')}) only`,
    message: { key: 'refusal.view', params: { view, allowed: use.viewPositions.join(',') } },
  };
}

function checkBodyPart({ bodyPartExamined }: IntendedUseAttributes, use: IntendedUse): Refusal | null {
  const part = cs(bodyPartExamined);
  if (part === '') return null;
  // Vendors write "CHEST PA", "PORT_CHEST": accepted when one word of it names the chest.
  const words = part.split(/[\s_^,/-]+/).filter(Boolean);
  if (use.bodyParts.includes(part) || words.some(word => use.bodyParts.includes(word))) return null;
  return {
    code: GATE_CODES.bodyPart,
    reason: `BodyPartExamined is ${part}; the model reads chest radiographs only`,
    message: { key: 'refusal.bodyPart', params: { part } },
  };
}

const AGE_UNITS: Readonly<Record<string, { years: number; word: string }>> = {
  D: { years: 1 / 365.25, word: 'day' },
  W: { years: 7 / 365.25, word: 'week' },
  M: { years: 1 / 12, word: 'month' },
  Y: { years: 1, word: 'year' },
};

/**
 * A patient's age at the study: in years, how it reads in English, and as a count of one unit
 * (DICOM AS's D/W/M/Y) for a viewer to word in its own language.
 */
export interface PatientAge {
  readonly years: number;
  readonly text: string;
  readonly count: number;
  readonly unit: 'D' | 'W' | 'M' | 'Y';
  /** Where the age comes from: PatientAge as written ("006M"), or the two dates (YYYY-MM-DD). */
  readonly source: { readonly patientAge: string } | { readonly born: string; readonly study: string };
}

/** A patient's age at the study; null when the header does not say. */
export function patientAgeOf({ patientAge, patientBirthDate, studyDate }: IntendedUseAttributes): PatientAge | null {
  const as = /^(\d{3})([DWMY])$/.exec(typeof patientAge === 'string' ? patientAge.trim().toUpperCase() : '');
  if (as) {
    const count = Number(as[1]);
    const unit = AGE_UNITS[as[2]];
    return { years: count * unit.years, text: `${count} ${unit.word}${count === 1 ? '' : 's'} (PatientAge ${as[0]})`, count, unit: as[2] as PatientAge['unit'], source: { patientAge: as[0] } };
  }
  const born = dateOf(patientBirthDate);
  const seen = dateOf(studyDate);
  if (!born || !seen || seen.ms < born.ms) return null;
  // Whole calendar years first (a birthday is a birthday), the rest of the year as a fraction.
  let whole = seen.y - born.y;
  if (seen.m < born.m || (seen.m === born.m && seen.d < born.d)) whole--;
  const anniversary = Date.UTC(born.y + whole, born.m - 1, born.d);
  const years = whole + (seen.ms - anniversary) / (365.25 * 86_400_000);
  const months = Math.floor(years * 12);
  const text = whole >= 1 ? `${whole} year${whole === 1 ? '' : 's'}` : `${months} month${months === 1 ? '' : 's'}`;
  return { years, text: `${text} (born ${born.text}, study ${seen.text})`, count: whole >= 1 ? whole : months, unit: whole >= 1 ? 'Y' : 'M', source: { born: born.text, study: seen.text } };
}

function dateOf(value: string | null | undefined): { y: number; m: number; d: number; ms: number; text: string } | null {
  const match = /^(\d{4})(\d{2})(\d{2})$/.exec(typeof value === 'string' ? value.trim() : '');
  if (!match) return null;
  const [y, m, d] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const ms = Date.UTC(y, m - 1, d);
  const back = new Date(ms);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== m - 1 || back.getUTCDate() !== d) return null;
  return { y, m, d, ms, text: `${match[1]}-${match[2]}-${match[3]}` };
}

function ageRangeText(use: IntendedUse): string {
  const years = (n: number) => `${n} year${n === 1 ? '' : 's'}`;
  return use.maxAgeYears === null ? `${years(use.minAgeYears)} and older` : `${years(use.minAgeYears)} to ${years(use.maxAgeYears)}`;
}

function checkAge(attributes: IntendedUseAttributes, use: IntendedUse): Refusal | null {
  const age = patientAgeOf(attributes);
  if (!age) return null;
  const tooYoung = age.years < use.minAgeYears;
  const tooOld = use.maxAgeYears !== null && age.years > use.maxAgeYears;
  if (!tooYoung && !tooOld) return null;
  return {
    code: GATE_CODES.age,
    reason: `the patient's age, ${age.text}, is outside the model's intended use (${ageRangeText(use)})`,
    message: {
      key: use.maxAgeYears === null ? 'refusal.ageFrom' : 'refusal.ageRange',
      params: { count: age.count, unit: age.unit, ...age.source, min: use.minAgeYears, ...(use.maxAgeYears === null ? {} : { max: use.maxAgeYears }) },
    },
  };
}

function checkMatrix(attributes: PixelAttributes, pixels: StoredPixels | null | undefined, use: IntendedUse): Refusal | null {
  const { rows, columns } = attributes;
  // Malformed sizes are the pixel rules' business (pixels.ts names them); only a real size is judged here.
  if (!Number.isInteger(rows) || !Number.isInteger(columns) || rows < 1 || columns < 1) return null;
  const small = (height: number, width: number, what: string, key: string): Refusal | null =>
    height < use.minMatrix || width < use.minMatrix
      ? {
          code: GATE_CODES.matrix,
          reason: `${what} is ${width} x ${height} pixels, too small for a diagnostic radiograph (at least ${use.minMatrix} x ${use.minMatrix}, the model's input)`,
          message: { key, params: { width, height, min: use.minMatrix } },
        }
      : null;
  const whole = small(rows, columns, 'the image', 'refusal.matrix');
  if (whole) return whole;
  const box = imageExtent(attributes, pixels);
  if (box === 'all-padding') {
    return { code: GATE_CODES.padding, reason: 'every pixel is PixelPaddingValue padding: the image holds no radiograph', message: { key: 'refusal.padding', params: {} } };
  }
  return box ? small(box.height, box.width, 'the image inside its padding (PixelPaddingValue)', 'refusal.matrixInsidePadding') : null;
}

/**
 * The extent of the pixels that are image, not PixelPaddingValue padding: null when the image
 * declares no padding (or its pixels cannot be read: the pixel rules name that), 'all-padding'
 * when nothing is image.
 */
export function imageExtent(attributes: PixelAttributes, pixels: StoredPixels | null | undefined): { width: number; height: number } | 'all-padding' | null {
  const range = paddingRange(attributes);
  const { rows, columns } = attributes;
  if (!range || !pixels || pixels.length !== rows * columns) return null;
  const storedOf = storedValueReader(attributes);
  let top = rows;
  let bottom = -1;
  let left = columns;
  let right = -1;
  for (let y = 0; y < rows; y++) {
    const base = y * columns;
    for (let x = 0; x < columns; x++) {
      const stored = storedOf(pixels[base + x]);
      if (stored >= range.lo && stored <= range.hi) continue;
      if (y < top) top = y;
      bottom = y;
      if (x < left) left = x;
      if (x > right) right = x;
    }
  }
  if (bottom < 0) return 'all-padding';
  return { width: right - left + 1, height: bottom - top + 1 };
}

/** A pixel as its stored value (signed when PixelRepresentation is 1), from a raw or pre-scaled array. */
function storedValueReader(a: PixelAttributes): (v: number) => number {
  if (a.modalityLutApplied) {
    const slope = a.rescaleSlope ?? 1;
    const intercept = a.rescaleIntercept ?? 0;
    return v => Math.round((v - intercept) / slope);
  }
  const codes = 2 ** a.bitsStored;
  const mask = codes - 1;
  const signed = a.pixelRepresentation === 1;
  return v => {
    const code = v & mask;
    return signed && code >= codes / 2 ? code - codes : code;
  };
}
