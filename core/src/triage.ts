import type { RefusalMessage } from './intendedUse';

/**
 * Triage of a study list by pneumonia risk: what a stored result is about, when it still counts,
 * what a study's status is, and the order the triage page shows. Pure data in, data out; the
 * IndexedDB store, the batch and the page sit in extension/src/triage.
 *
 * Clinical rule behind the ordering (notes/product.md): triage flags, it never hides. Every study
 * of the list is in the output exactly once, in a group that says why it is where it is, and the
 * usual order (study date, newest first) is one call away (orderByDate).
 */

/** The exact model bytes and the calibration that turned its logit into a probability. */
export interface ModelIdentity {
  readonly modelSha256: string;
  readonly calibrationVersion: string;
}

/** The image a result is about. */
export interface ImageIdentity {
  readonly studyInstanceUID: string;
  readonly seriesInstanceUID: string;
  readonly sopInstanceUID: string;
}

/** One image's result under one model and calibration: a score, or why there is none. */
export type ResultRecord = ImageIdentity &
  ModelIdentity & {
    /** Wall-clock time of the analysis, ms since the epoch (kept across reloads). */
    readonly analyzedAt: number;
  } & (
    | { readonly status: 'scored'; readonly probability: number }
    | { readonly status: 'failed'; readonly reason: string }
    /**
     * A ChestAid SR in the PACS that failed verification (dicomweb/verifyResult.ts), or verified
     * SRs of the image that disagree (`conflict`): never a score, never ranked as one.
     */
    | { readonly status: 'unverified'; readonly reason: string; readonly conflict?: boolean }
    /** Not analyzed: the model card excludes the image (intendedUse.ts) or a later check refused it. */
    | { readonly status: 'refused'; readonly code: string; readonly reason: string; readonly message?: RefusalMessage }
  );

/** study, series, instance, model sha256, calibration version: what a result is stored under. */
export type RecordKey = readonly [string, string, string, string, string];

const SHA256 = /^[0-9a-f]{64}$/i;

/**
 * The key of a result. Every part is required: a result without its model or calibration could
 * later be mixed with another model's scores, which is what the key exists to prevent.
 */
export function recordKey(record: ImageIdentity & ModelIdentity): RecordKey {
  const { studyInstanceUID, seriesInstanceUID, sopInstanceUID, modelSha256, calibrationVersion } = record;
  for (const [name, value] of Object.entries({ studyInstanceUID, seriesInstanceUID, sopInstanceUID, calibrationVersion })) {
    if (typeof value !== 'string' || value === '') {
      throw new Error(`a triage result needs a ${name}, got ${JSON.stringify(value)}`);
    }
  }
  if (typeof modelSha256 !== 'string' || !SHA256.test(modelSha256)) {
    throw new Error(`a triage result needs the model's sha256 (64 hex digits), got ${JSON.stringify(modelSha256)}`);
  }
  return [studyInstanceUID, seriesInstanceUID, sopInstanceUID, modelSha256.toLowerCase(), calibrationVersion];
}

/** Checks a record before it is stored: its key, and a probability that is one. */
export function checkRecord<R extends ResultRecord>(record: R): R {
  recordKey(record);
  if (!Number.isFinite(record.analyzedAt)) {
    throw new Error(`a triage result needs the time of its analysis, got ${JSON.stringify(record.analyzedAt)}`);
  }
  if (record.status === 'scored' && !(record.probability >= 0 && record.probability <= 1)) {
    throw new Error(`a triage score must be a probability in [0, 1], got ${record.probability}`);
  }
  if ((record.status === 'failed' || record.status === 'unverified') && !record.reason) {
    throw new Error(`${record.status === 'failed' ? 'a failed' : 'an unverified'} triage result needs its reason`);
  }
  if (record.status === 'refused' && !(record.reason && record.code)) {
    throw new Error('a triage result not analyzed needs its code and reason');
  }
  return record;
}

export function sameModel(a: ModelIdentity, b: ModelIdentity): boolean {
  return a.modelSha256.toLowerCase() === b.modelSha256.toLowerCase() && a.calibrationVersion === b.calibrationVersion;
}

/**
 * Whether a result was made by the model and calibration now in use. Anything else is stale: a
 * score from other weights or another calibration is not on the same scale (sites have seen the
 * median score move from 0.35 to 0.61 across a software update) and must not be ranked with today's.
 */
export function isCurrent(record: ModelIdentity, model: ModelIdentity): boolean {
  return sameModel(record, model);
}

export type StudyStatus =
  | {
      readonly kind: 'scored';
      /** The highest current score among the study's images. */
      readonly probability: number;
      /** The image that gave it: the one a reader opens. */
      readonly image: ImageIdentity;
      readonly analyzedAt: number;
      /** Images of the study whose analysis failed under the current model. */
      readonly failedImages: number;
      /** Other images of the study with only an unverified result or a conflict in the PACS. */
      readonly unverifiedImages?: number;
    }
  | { readonly kind: 'failed'; readonly reason: string }
  /** No verified score; a result in the PACS that failed verification, or verified ones that disagree. */
  | { readonly kind: 'unverified'; readonly reason: string; readonly conflict: boolean }
    /** Every current result of the study is a refusal: no score, never ranked, the reason shown instead. */
    | { readonly kind: 'refused'; readonly code: string; readonly reason: string; readonly message?: RefusalMessage }
  | { readonly kind: 'stale'; readonly scoredBy: ModelIdentity; readonly analyzedAt: number }
  | { readonly kind: 'unanalyzed' }
  | { readonly kind: 'not-applicable'; readonly reason: string };

export type TriageGroup = StudyStatus['kind'];

/**
 * The groups, top to bottom. Unverified results and failures come straight after the scores: a
 * person has to look at them (an SR that fails verification may be planted, and verified results
 * that disagree need a reader; Analyze all cannot fix a corrupt file). Studies the model card
 * excludes (refused: a lateral view, a child outside its ages...) follow: read without ChestAid,
 * in the usual order, never ranked by a score they do not have. Stale and unanalyzed studies only
 * wait for a run. Studies ChestAid does not read (no CR/DX image) close the list, still visible.
 */
export const GROUP_ORDER: readonly TriageGroup[] = ['scored', 'unverified', 'failed', 'refused', 'stale', 'unanalyzed', 'not-applicable'];

export interface StudyFacts {
  /** Every stored result of the study, under any model. */
  readonly records: readonly ResultRecord[];
  /** Whether the study list says the study holds CR or DX images. */
  readonly applicable: boolean;
  /** Why not, in words (e.g. "this study has CT"). */
  readonly notApplicableReason?: string;
  /** A study-level finding of the last run (e.g. its series could not be listed). */
  readonly problem?: { readonly kind: 'failed' | 'not-applicable'; readonly reason: string } | null;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A study's status under `model`. A current score wins over everything (it is what the reader
 * needs: a frontal view's score beside its study's refused lateral); then an unverified or
 * conflicting SR under any model (never a score); then a current failure; then a current refusal;
 * then a result from another model or calibration (stale, never mixed in); then nothing.
 */
export function studyStatus({ records, applicable, notApplicableReason, problem }: StudyFacts, model: ModelIdentity): StudyStatus {
  const current = records.filter(record => isCurrent(record, model));
  const scored = current.filter((r): r is Extract<ResultRecord, { status: 'scored' }> => r.status === 'scored');
  if (scored.length > 0) {
    // Highest score first; equal scores resolved by UIDs, so the same records always name the same image.
    const best = [...scored].sort(
      (a, b) =>
        b.probability - a.probability ||
        compareStrings(a.seriesInstanceUID, b.seriesInstanceUID) ||
        compareStrings(a.sopInstanceUID, b.sopInstanceUID),
    )[0];
    const scoredImages = new Set(scored.map(r => `${r.seriesInstanceUID}|${r.sopInstanceUID}`));
    const failedImages = current.filter(r => r.status === 'failed' && !scoredImages.has(`${r.seriesInstanceUID}|${r.sopInstanceUID}`)).length;
    const unverifiedImages = new Set(
      records
        .filter(r => r.status === 'unverified' && !scoredImages.has(`${r.seriesInstanceUID}|${r.sopInstanceUID}`))
        .map(r => `${r.seriesInstanceUID}|${r.sopInstanceUID}`),
    ).size;
    return {
      kind: 'scored',
      probability: best.probability,
      image: { studyInstanceUID: best.studyInstanceUID, seriesInstanceUID: best.seriesInstanceUID, sopInstanceUID: best.sopInstanceUID },
      analyzedAt: best.analyzedAt,
      failedImages,
      ...(unverifiedImages > 0 ? { unverifiedImages } : {}),
    };
  }
  // Under any model: an SR claiming other model bytes is as suspect as one with a wrong score.
  const unverified = records.filter((r): r is Extract<ResultRecord, { status: 'unverified' }> => r.status === 'unverified');
  if (unverified.length > 0) {
    const conflicts = unverified.filter(r => r.conflict === true);
    const shown = conflicts.length > 0 ? conflicts : unverified;
    const reasons = [...new Set(shown.map(r => r.reason))];
    return { kind: 'unverified', reason: reasons.join('; '), conflict: conflicts.length > 0 };
  }
  if (problem) {
    return problem.kind === 'failed' ? { kind: 'failed', reason: problem.reason } : { kind: 'not-applicable', reason: problem.reason };
  }
  const failed = current.filter((r): r is Extract<ResultRecord, { status: 'failed' }> => r.status === 'failed');
  if (failed.length > 0) {
    const latest = [...failed].sort((a, b) => b.analyzedAt - a.analyzedAt)[0];
    return { kind: 'failed', reason: latest.reason };
  }
  const refused = current.filter((r): r is Extract<ResultRecord, { status: 'refused' }> => r.status === 'refused');
  if (refused.length > 0) {
    const latest = [...refused].sort((a, b) => b.analyzedAt - a.analyzedAt)[0];
    return { kind: 'refused', code: latest.code, reason: latest.reason, ...(latest.message ? { message: latest.message } : {}) };
  }
  const older = records.filter(record => record.status === 'scored');
  if (older.length > 0) {
    const latest = [...older].sort((a, b) => b.analyzedAt - a.analyzedAt)[0];
    return {
      kind: 'stale',
      scoredBy: { modelSha256: latest.modelSha256, calibrationVersion: latest.calibrationVersion },
      analyzedAt: latest.analyzedAt,
    };
  }
  if (!applicable) {
    return { kind: 'not-applicable', reason: notApplicableReason ?? 'no CR or DX image' };
  }
  return { kind: 'unanalyzed' };
}

export interface TriageEntry {
  readonly studyInstanceUID: string;
  /** DICOM DA (YYYYMMDD) and TM (HHMMSS.FFFFFF), as the study list has them; may be empty. */
  readonly date?: string;
  readonly time?: string;
  readonly status: StudyStatus;
}

/** Date and time as one sortable digit string; '' when the date is unknown. */
function whenKey({ date, time }: Pick<TriageEntry, 'date' | 'time'>): string {
  const day = (date ?? '').replace(/\D/g, '');
  if (day.length !== 8) return '';
  const clock = (time ?? '').split('.')[0].replace(/\D/g, '');
  return day + clock.padEnd(6, '0').slice(0, 6);
}

/**
 * The usual order of a study list: newest study first, studies without a date last, then by
 * StudyInstanceUID so that equal dates always come out the same way.
 */
export function compareUsual(a: Pick<TriageEntry, 'studyInstanceUID' | 'date' | 'time'>, b: Pick<TriageEntry, 'studyInstanceUID' | 'date' | 'time'>): number {
  const whenA = whenKey(a);
  const whenB = whenKey(b);
  if (whenA !== whenB) {
    if (whenA === '') return 1;
    if (whenB === '') return -1;
    return whenA > whenB ? -1 : 1;
  }
  return compareStrings(a.studyInstanceUID, b.studyInstanceUID);
}

function probabilityOf(status: StudyStatus): number {
  return status.kind === 'scored' ? status.probability : Number.NaN;
}

/** A study as a list sorted by risk sees it: its status null while its stored results are being read. */
export interface RiskSortEntry extends Omit<TriageEntry, 'status'> {
  readonly status: StudyStatus | null;
}

export type SortDirection = 'desc' | 'asc';

/**
 * Where two studies go in a list sorted by risk, in `direction` ('desc': highest risk first).
 * Only the scores turn round with the direction: studies without a current score always follow
 * the scored ones, in GROUP_ORDER, then those still being read, so reversing the list never puts
 * "not analyzed" rows above every score. Equal scores (isotonic calibration gives many) and every
 * unscored group keep the usual order, so inside a band the reader sees the list they know.
 */
export function compareByRisk(a: RiskSortEntry, b: RiskSortEntry, direction: SortDirection): number {
  const rank = (entry: RiskSortEntry) => (entry.status ? GROUP_ORDER.indexOf(entry.status.kind) : GROUP_ORDER.length);
  const byScore =
    a.status?.kind === 'scored' && b.status?.kind === 'scored'
      ? (direction === 'desc' ? -1 : 1) * (probabilityOf(a.status) - probabilityOf(b.status))
      : 0;
  return rank(a) - rank(b) || byScore || compareUsual(a, b);
}

/**
 * Risk first: scored studies by score, highest first, then the other groups in GROUP_ORDER
 * (compareByRisk, descending). Returns a new array with every entry.
 */
export function orderByRisk(entries: readonly TriageEntry[]): TriageEntry[] {
  return [...entries].sort((a, b) => compareByRisk(a, b, 'desc'));
}

/** The usual order, whatever the scores. */
export function orderByDate(entries: readonly TriageEntry[]): TriageEntry[] {
  return [...entries].sort(compareUsual);
}

/**
 * The order to show while the reader may be pointing at a row. With `hold`, rows stay where they
 * are (rows that left the list are dropped, new ones added at the end), so a row never moves
 * under the cursor; without it, the new order applies.
 */
export function holdOrder(shown: readonly string[], next: readonly string[], hold: boolean): string[] {
  if (!hold) return [...next];
  const present = new Set(next);
  const kept = shown.filter(id => present.has(id));
  const keptSet = new Set(kept);
  return [...kept, ...next.filter(id => !keptSet.has(id))];
}

/**
 * Time left for `remaining` studies from the durations of the last `window` studies analyzed:
 * recent ones, because the first carries the model download and the rest run at a steady pace.
 * null before any study has been timed.
 */
export function remainingMs(durationsMs: readonly number[], remaining: number, window = 8): number | null {
  if (!(remaining >= 0)) throw new Error(`remaining must be a count >= 0, got ${remaining}`);
  if (!(window >= 1)) throw new Error(`window must be >= 1, got ${window}`);
  if (remaining === 0) return 0;
  const recent = durationsMs.slice(-window).filter(ms => Number.isFinite(ms) && ms >= 0);
  if (recent.length === 0) return null;
  return (recent.reduce((sum, ms) => sum + ms, 0) / recent.length) * remaining;
}

/** Studies per minute over a run. */
export function perMinute(count: number, elapsedMs: number): number {
  if (!(elapsedMs > 0)) return 0;
  return (count * 60_000) / elapsedMs;
}
