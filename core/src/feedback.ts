/**
 * The radiologist's ground truth for an image ChestAid scored: pneumonia, normal or unsure, with
 * what it answers (the image, the model bytes, the calibration version, the score and the LOGIT,
 * the decision shown) and who said it when. Recalibration fits on the logit, so feedback without
 * one never enters a cohort.
 *
 * Feedback is append-only: changing one's label adds an entry (history kept), and the current
 * label of an image for a reader is their latest. Readers may disagree; disagreements are kept,
 * flagged (feedbackConflicts) and left out of cohorts rather than resolved by a rule nobody chose.
 */
import { InputError, show } from './errors';
import type { ImageIdentity } from './triage';

export type GroundTruth = 'pneumonia' | 'normal' | 'unsure';
export const GROUND_TRUTHS: readonly GroundTruth[] = ['pneumonia', 'normal', 'unsure'];

/** The reader name used when none is configured. */
export const UNKNOWN_READER = 'unknown';

export interface FeedbackInput extends ImageIdentity {
  readonly modelSha256: string;
  readonly calibrationVersion: string;
  /** The calibrated probability shown. */
  readonly score: number;
  /** The model's raw output the score was calibrated from. */
  readonly logit: number;
  /** The decision shown: above the threshold or not, and the threshold. */
  readonly decision: { readonly above: boolean; readonly threshold: number };
  readonly label: GroundTruth;
  readonly comment?: string;
  readonly reader: string;
}

export interface FeedbackEntry extends FeedbackInput {
  /** ISO 8601 time it was recorded. */
  readonly at: string;
}

/** A stored entry with the store's own id (insertion order). */
export type StoredFeedback = FeedbackEntry & { readonly id: number };

const SHA256 = /^[0-9a-f]{64}$/;
const MAX_COMMENT = 2000;

/** Checks and normalises feedback before it is stored; errors name the bad value. */
export function checkFeedback(input: FeedbackInput, at: string): FeedbackEntry {
  for (const name of ['studyInstanceUID', 'seriesInstanceUID', 'sopInstanceUID', 'calibrationVersion'] as const) {
    if (typeof input[name] !== 'string' || input[name] === '') throw new InputError(`feedback needs the ${name}, got ${show(input[name])}`);
  }
  const sha = typeof input.modelSha256 === 'string' ? input.modelSha256.toLowerCase() : input.modelSha256;
  if (typeof sha !== 'string' || !SHA256.test(sha)) throw new InputError(`feedback needs the model's sha256, got ${show(input.modelSha256)}`);
  if (!GROUND_TRUTHS.includes(input.label)) throw new InputError(`feedback label must be one of ${GROUND_TRUTHS.join(', ')}, got ${show(input.label)}`);
  if (typeof input.score !== 'number' || !(input.score >= 0 && input.score <= 1)) throw new InputError(`feedback score must be a probability, got ${show(input.score)}`);
  if (typeof input.logit !== 'number' || !Number.isFinite(input.logit)) throw new InputError(`feedback needs the model's logit (a finite number), got ${show(input.logit)}`);
  const { decision } = input;
  if (!decision || typeof decision.above !== 'boolean' || !(decision.threshold >= 0 && decision.threshold <= 1)) {
    throw new InputError(`feedback decision must be { above, threshold in [0, 1] }, got ${show(decision)}`);
  }
  if (input.comment !== undefined && (typeof input.comment !== 'string' || input.comment.length > MAX_COMMENT)) {
    throw new InputError(`feedback comment must be text of at most ${MAX_COMMENT} characters`);
  }
  if (!Number.isFinite(Date.parse(at))) throw new InputError(`feedback time ${show(at)} is not a date`);
  const reader = typeof input.reader === 'string' && input.reader.trim() !== '' ? input.reader.trim() : UNKNOWN_READER;
  const comment = input.comment?.trim();
  return {
    studyInstanceUID: input.studyInstanceUID,
    seriesInstanceUID: input.seriesInstanceUID,
    sopInstanceUID: input.sopInstanceUID,
    modelSha256: sha,
    calibrationVersion: input.calibrationVersion,
    score: input.score,
    logit: input.logit,
    decision: { above: decision.above, threshold: decision.threshold },
    label: input.label,
    ...(comment ? { comment } : {}),
    reader,
    at,
  };
}

/** The image a feedback entry is about, as one string. */
export function imageKey(image: ImageIdentity): string {
  return `${image.studyInstanceUID}|${image.seriesInstanceUID}|${image.sopInstanceUID}`;
}

/** Each reader's latest entry per image (by time, then store order). */
export function currentLabels<E extends FeedbackEntry>(entries: readonly E[]): E[] {
  const latest = new Map<string, E>();
  entries.forEach(entry => {
    const key = `${imageKey(entry)}|${entry.reader}`;
    const known = latest.get(key);
    // Stored order breaks ties: later in the store is later.
    if (!known || Date.parse(entry.at) >= Date.parse(known.at)) latest.set(key, entry);
  });
  return [...latest.values()];
}

export interface FeedbackConflict {
  readonly key: string;
  readonly image: ImageIdentity;
  /** Each reader's current label on the image. */
  readonly labels: readonly { readonly reader: string; readonly label: GroundTruth; readonly at: string }[];
}

/**
 * Images whose readers' current labels contradict each other: someone says pneumonia and someone
 * says normal. "Unsure" beside a definite label is not a contradiction.
 */
export function feedbackConflicts(entries: readonly FeedbackEntry[]): FeedbackConflict[] {
  const byImage = new Map<string, FeedbackEntry[]>();
  for (const entry of currentLabels(entries)) {
    const list = byImage.get(imageKey(entry)) ?? [];
    list.push(entry);
    byImage.set(imageKey(entry), list);
  }
  const conflicts: FeedbackConflict[] = [];
  for (const [key, list] of byImage) {
    const labels = new Set(list.map(e => e.label));
    if (labels.has('pneumonia') && labels.has('normal')) {
      const { studyInstanceUID, seriesInstanceUID, sopInstanceUID } = list[0];
      conflicts.push({
        key,
        image: { studyInstanceUID, seriesInstanceUID, sopInstanceUID },
        labels: list.map(e => ({ reader: e.reader, label: e.label, at: e.at })).sort((a, b) => (a.reader < b.reader ? -1 : 1)),
      });
    }
  }
  return conflicts;
}

/**
 * One image of a feedback cohort. Structurally a recalibration CohortItem (key, logit, label,
 * modelSha256: issue 8's fitting core), plus what monitoring needs (score, version, time).
 */
export interface FeedbackCohortItem {
  readonly key: string;
  readonly logit: number;
  /** The model bytes that produced the logit. */
  readonly modelSha256: string;
  /** 1 pneumonia, 0 normal. */
  readonly label: 0 | 1;
  /** The score shown when the label was given, under `calibrationVersion`. */
  readonly score: number;
  readonly calibrationVersion: string;
  /** When the (latest) label was given. */
  readonly at: string;
}

export interface FeedbackCohort {
  readonly modelSha256: string;
  readonly items: readonly FeedbackCohortItem[];
  /** Images left out, counted by reason. */
  readonly excluded: {
    /** Labelled on other model bytes: their logits are another model's. */
    readonly otherModel: number;
    /** Every current label is "unsure". */
    readonly unsure: number;
    /** Readers' current labels contradict each other (feedbackConflicts). */
    readonly conflicting: number;
  };
}

/**
 * The labelled cohort feedback gives for recalibrating `modelSha256`: one item per image with a
 * definite, uncontested current label, carrying the logit the model gave it. Images are counted
 * once whatever the number of readers; their calibration version does not matter (a logit is the
 * model's, before any calibration).
 */
export function feedbackCohort(entries: readonly FeedbackEntry[], modelSha256: string): FeedbackCohort {
  const sha = modelSha256.toLowerCase();
  const current = currentLabels(entries);
  const otherModelImages = new Set(current.filter(e => e.modelSha256 !== sha).map(imageKey));
  const mine = current.filter(e => e.modelSha256 === sha);
  const byImage = new Map<string, FeedbackEntry[]>();
  for (const entry of mine) {
    const list = byImage.get(imageKey(entry)) ?? [];
    list.push(entry);
    byImage.set(imageKey(entry), list);
  }
  const items: FeedbackCohortItem[] = [];
  let unsure = 0;
  let conflicting = 0;
  for (const [key, list] of byImage) {
    otherModelImages.delete(key);
    const definite = list.filter(e => e.label !== 'unsure');
    const labels = new Set(definite.map(e => e.label));
    if (labels.size === 0) unsure++;
    else if (labels.size > 1) conflicting++;
    else {
      const latest = definite.reduce((a, b) => (Date.parse(b.at) >= Date.parse(a.at) ? b : a));
      items.push({ key, logit: latest.logit, modelSha256: sha, label: latest.label === 'pneumonia' ? 1 : 0, score: latest.score, calibrationVersion: latest.calibrationVersion, at: latest.at });
    }
  }
  items.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { modelSha256: sha, items, excluded: { otherModel: otherModelImages.size, unsure, conflicting } };
}

/** Where feedback is kept (browser: IndexedDB; tests: memory). Append-only. */
export interface FeedbackStore {
  /** Appends an entry (never replaces one); resolves with it as stored. */
  add(entry: FeedbackEntry): Promise<StoredFeedback>;
  /** Every entry, in stored order. */
  list(): Promise<StoredFeedback[]>;
  /** Every entry about one image, in stored order. */
  forImage(image: ImageIdentity): Promise<StoredFeedback[]>;
}

/**
 * Where feedback goes besides the browser store: the PACS, as a feedback SR stored by STOW-RS
 * (dicomweb/feedback.ts). The book asks `wants` when the label is recorded; an entry it wants is
 * queued in the feedback outbox (siteCalibration/feedbackOutbox.ts) in the same write as the entry,
 * and `send` is tried until it lands. Its failure never loses the entry.
 */
export interface FeedbackSink {
  /**
   * Whether this entry goes to the sink at all, decided once, when it is recorded (a study not
   * opened from the PACS is not sent): a later retry sends it whatever the reader has open then.
   */
  wants(entry: FeedbackEntry): boolean;
  /**
   * Sends the entry; sending the same entry again must not make a second copy (the PACS sink
   * names the SR by UIDs derived from the entry). Throws on failure; an error whose `retryable`
   * is false (FeedbackNotSent) says no retry can succeed, and the outbox stops retrying it.
   */
  send(entry: StoredFeedback): Promise<void>;
}
