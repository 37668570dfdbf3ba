/**
 * What a local cohort must be before ChestAid will fit a calibration to it, and the cleaning
 * that comes first. The minimums are chosen, not derived: 100 cases is the low end of the
 * 100-300 the original study advises, and 20 of each class keeps every one of 5 CV folds with
 * at least 4 of each class and the threshold's sensitivity resolution at 1/20 or finer.
 */
import { InputError, show } from '../errors';

/** Ground truth a reader recorded for an image: 1 pneumonia, 0 normal, or 'unsure'. */
export type CohortLabel = 0 | 1 | 'unsure';

/** One scored, labelled case: key identifies the image (e.g. its SOP Instance UID). */
export interface CohortItem {
  readonly key: string;
  /** The deployed model's PNEUMONIA logit for this image. */
  readonly logit: number;
  readonly label: CohortLabel;
  /** sha256 of the ONNX file that produced the logit; compared with the expected model's. */
  readonly modelSha256?: string;
}

/** A case that survived cleaning: one per image key, with a definite label. */
export interface UsableItem {
  readonly key: string;
  readonly logit: number;
  readonly label: 0 | 1;
}

/** The minimums a cohort must meet (after exclusions). */
export interface CohortMinimums {
  /** Definite-labelled, non-contradictory cases (default 100). */
  readonly minCases: number;
  /** Cases of each class (default 20). */
  readonly minPerClass: number;
}

/** Default minimums; see the module comment for why these numbers. */
export const DEFAULT_MINIMUMS: CohortMinimums = { minCases: 100, minPerClass: 20 };

/** Options of checkCohort. */
export interface CohortCheckOptions {
  /** The deployed model's ONNX sha256; items scored by another model refuse the whole cohort. */
  readonly modelSha256?: string;
  readonly minimums?: Partial<CohortMinimums>;
}

/** What cleaning removed, for the report. */
export interface CohortExclusions {
  /** Items labelled 'unsure'. */
  readonly unsure: number;
  /** Image keys with both labels recorded; all of their items are left out. */
  readonly contradictoryKeys: readonly string[];
  /** Extra items for an image key already counted with the same label (first one kept). */
  readonly duplicates: number;
}

/** The outcome of checkCohort: usable cases or the reasons for refusal. */
export type CohortCheck =
  | { readonly ok: true; readonly items: readonly UsableItem[]; readonly nPos: number; readonly nNeg: number; readonly excluded: CohortExclusions }
  | { readonly ok: false; readonly reasons: readonly string[]; readonly excluded: CohortExclusions };

/** Thrown by recalibrate when the cohort fails checkCohort; carries every reason. */
export class RefusalError extends Error {
  readonly reasons: readonly string[];
  constructor(reasons: readonly string[]) {
    super(`recalibration refused: ${reasons.join('; ')}`);
    this.name = 'RefusalError';
    this.reasons = reasons;
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

const MAX_LISTED = 5;

function listed(values: readonly string[]): string {
  const head = values.slice(0, MAX_LISTED).map(show).join(', ');
  return values.length > MAX_LISTED ? `${head} and ${values.length - MAX_LISTED} more` : head;
}

/**
 * Cleans a cohort and checks it against the minimums. Cleaning: 'unsure' labels are left out and
 * counted; an image key labelled both ways is left out entirely and reported; repeated items of
 * one key with the same label count once. Refusals: an item that is not an object with a string
 * key, a finite logit and a 0/1/'unsure' label; an item scored by another model (when
 * modelSha256 is given); fewer cases or fewer of either class than the minimums.
 */
export function checkCohort(cohort: readonly CohortItem[], options: CohortCheckOptions = {}): CohortCheck {
  const minimums = { ...DEFAULT_MINIMUMS, ...options.minimums };
  for (const [name, v] of Object.entries(minimums)) {
    if (!Number.isInteger(v) || v < 1) throw new InputError(`minimum ${name} must be a positive integer, got ${show(v)}`);
  }
  if (!Array.isArray(cohort)) throw new InputError(`cohort must be an array of items, got ${show(cohort)}`);
  const reasons: string[] = [];
  const malformed: string[] = [];
  const otherModel: string[] = [];
  let unsure = 0;
  const byKey = new Map<string, { first: UsableItem; labels: Set<0 | 1>; count: number }>();
  cohort.forEach((item, i) => {
    const problem = itemProblem(item);
    if (problem) {
      malformed.push(`item ${i}: ${problem}`);
      return;
    }
    if (options.modelSha256 !== undefined && item.modelSha256 !== undefined && item.modelSha256 !== options.modelSha256) {
      otherModel.push(item.key);
      return;
    }
    if (item.label === 'unsure') {
      unsure++;
      return;
    }
    const seen = byKey.get(item.key);
    if (seen) {
      seen.labels.add(item.label);
      seen.count++;
    } else {
      byKey.set(item.key, { first: { key: item.key, logit: item.logit, label: item.label }, labels: new Set([item.label]), count: 1 });
    }
  });
  const contradictoryKeys: string[] = [];
  const items: UsableItem[] = [];
  let duplicates = 0;
  for (const [key, entry] of byKey) {
    if (entry.labels.size > 1) {
      contradictoryKeys.push(key);
    } else {
      items.push(entry.first);
      duplicates += entry.count - 1;
    }
  }
  const excluded: CohortExclusions = { unsure, contradictoryKeys, duplicates };

  if (malformed.length) reasons.push(`${malformed.length} malformed item(s): ${malformed.slice(0, MAX_LISTED).join('; ')}`);
  if (otherModel.length) {
    reasons.push(
      `${otherModel.length} item(s) were scored by another model than sha256 ${show(options.modelSha256)}: ${listed(otherModel)}; ` +
        're-score them with the deployed model',
    );
  }
  const nPos = items.filter((it) => it.label === 1).length;
  const nNeg = items.length - nPos;
  const after = `after leaving out ${unsure} unsure and ${contradictoryKeys.length} contradictory image(s)`;
  if (items.length < minimums.minCases) reasons.push(`only ${items.length} labelled case(s) ${after}; at least ${minimums.minCases} are needed`);
  if (nPos < minimums.minPerClass) reasons.push(`only ${nPos} pneumonia case(s); at least ${minimums.minPerClass} of each class are needed`);
  if (nNeg < minimums.minPerClass) reasons.push(`only ${nNeg} normal case(s); at least ${minimums.minPerClass} of each class are needed`);
  if (reasons.length) return { ok: false, reasons, excluded };
  return { ok: true, items, nPos, nNeg, excluded };
}

function itemProblem(item: CohortItem): string | null {
  if (typeof item !== 'object' || item === null) return `${show(item)} is not an object`;
  if (typeof item.key !== 'string' || item.key === '') return `key ${show(item.key)} is not a non-empty string`;
  if (typeof item.logit !== 'number' || !Number.isFinite(item.logit)) return `logit ${show(item.logit)} of ${show(item.key)} is not a finite number`;
  if (item.label !== 0 && item.label !== 1 && item.label !== 'unsure') return `label ${show(item.label)} of ${show(item.key)} is not 0, 1 or "unsure"`;
  return null;
}
