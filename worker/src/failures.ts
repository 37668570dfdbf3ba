/**
 * What a failure costs an image. The PACS not answering at all, or refusing the worker's
 * credentials, ends the pass (pacsLink.ts; nothing is charged to the images; the next poll starts
 * again). Anything else is charged to the image: an
 * image the core refuses (wrong modality, RGB, corrupt...) is dead-lettered at once, since
 * retrying cannot help; other failures (a STOW refusal, a 5xx that outlived the client's retries,
 * a runtime error) are retried on later polls up to maxAttempts, then dead-lettered. Either way
 * the worker moves on.
 */
import { DicomReadError, InputError, messageOf, PacsBadAnswer, PacsHttpError, PacsUnreachable, ResponseTooLarge, StowError } from '@chestaid/core';
import type { Logger } from './log';
import type { WorkerState } from './state';
import type { Counts, PassTally } from './tally';

/** Failures no retry can fix: the image itself is unusable, or larger than its metadata said (imageLimits.ts). */
export function permanent(error: unknown): boolean {
  return error instanceof InputError || error instanceof DicomReadError || error instanceof ResponseTooLarge;
}

/** The PACS, or a proxy before it, refused the worker's credentials: nothing about the image (pacsLink.ts). */
export function refusesCredentials(error: unknown): boolean {
  return (error instanceof PacsHttpError || error instanceof StowError) && (error.status === 401 || error.status === 407);
}

/** The `kind` of a failure in the log, for filtering without parsing messages. */
export function errorKind(error: unknown): string {
  if (refusesCredentials(error)) return 'pacs-credentials-refused';
  if (error instanceof StowError) return 'stow-refused';
  if (error instanceof PacsBadAnswer) return 'pacs-bad-answer';
  if (error instanceof ResponseTooLarge) return 'too-large';
  if (error instanceof PacsHttpError) return `pacs-http-${error.status}`;
  if (error instanceof PacsUnreachable) return 'pacs-unreachable';
  if (permanent(error)) return 'bad-image';
  return error instanceof Error ? error.name : 'error';
}

/** The image a failure is charged to. */
export interface ImageRef {
  readonly studyUID: string;
  readonly seriesUID: string;
  readonly sopUID: string;
}

export interface FailureLedgerDeps {
  readonly state: WorkerState;
  readonly logger: Logger;
  readonly counts: Counts;
  /** Attempts per image before it is dead-lettered. */
  readonly maxAttempts: number;
  readonly now: () => Date;
}

/** Charges failures to images in the state's failures and dead letter. */
export class FailureLedger {
  constructor(private readonly deps: FailureLedgerDeps) {}

  /** Records one failed attempt at the image under `key`; says whether it will be retried. */
  record(image: ImageRef, key: string, stage: string, error: unknown, tally: Pick<PassTally, 'failed'>): 'retry' | 'dead' {
    const { state, logger, counts, maxAttempts, now } = this.deps;
    const { studyUID, seriesUID, sopUID } = image;
    const isPermanent = permanent(error);
    const previous = state.data.failures[key];
    const attempts = (previous?.attempts ?? 0) + 1;
    const entry = { studyInstanceUID: studyUID, seriesInstanceUID: seriesUID, sopInstanceUID: sopUID, attempts, lastError: messageOf(error), at: now().toISOString() };
    counts.failed++;
    tally.failed++;
    const dead = isPermanent || attempts >= maxAttempts;
    logger.log('error', 'failed', {
      study: studyUID,
      sop: sopUID,
      stage,
      kind: errorKind(error),
      error: messageOf(error),
      attempt: attempts,
      maxAttempts,
      willRetry: !dead,
    });
    if (!dead) {
      state.data.failures[key] = entry;
      return 'retry';
    }
    delete state.data.failures[key];
    state.data.deadLetter[key] = { ...entry, permanent: isPermanent };
    counts.deadLettered++;
    logger.log('error', 'dead-lettered', {
      study: studyUID,
      sop: sopUID,
      reason: isPermanent ? 'the image cannot be scored; retrying will not help' : `failed ${attempts} time(s)`,
      error: messageOf(error),
    });
    return 'dead';
  }
}
