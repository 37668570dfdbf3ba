/**
 * What the worker remembers between passes (and, with --state, between runs). It is a cache and
 * a failure ledger, never the truth about what was written: the PACS is. Before every write the
 * worker asks the PACS whether a ChestAid SR for the same image, model sha256 and calibration
 * version is there, so losing or rolling back this file costs requests, never duplicates.
 *
 * - `studies`: a study's QIDO fingerprint (instance count and modalities) when it was last found
 *   complete; an unchanged fingerprint lets the next poll skip the study without more requests.
 * - `failures`: attempts so far per result key; bounded, then the item moves to `deadLetter`.
 * - `deadLetter`: items given up on, with the reason; never retried until removed from the file.
 * - `calibrationHeads`: the last calibration log head this worker verified, per model and log
 *   (calibration.ts): a log that no longer holds it is refused. Unlike the rest, losing it loses
 *   a check, not requests; removing an entry is how a person makes the worker trust a log
 *   restored on purpose from an older backup.
 * - `refused`: images not analyzed because the model card excludes them (a lateral view, a FOR
 *   PROCESSING image, a child younger than the card's range...), with the refusal. Not failures:
 *   never retried, never scored, no SR; a state file written before this list existed reads as
 *   having none.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export const STATE_VERSION = 1;

export interface StudyMemo {
  readonly fingerprint: string;
  readonly modelKey: string;
  readonly at: string;
}

export interface FailureEntry {
  readonly studyInstanceUID: string;
  readonly seriesInstanceUID: string;
  readonly sopInstanceUID: string;
  readonly attempts: number;
  readonly lastError: string;
  readonly at: string;
}

export interface DeadLetterEntry extends FailureEntry {
  readonly permanent: boolean;
}

export interface RefusedEntry {
  readonly studyInstanceUID: string;
  readonly seriesInstanceUID: string;
  readonly sopInstanceUID: string;
  readonly code: string;
  readonly reason: string;
  readonly at: string;
}

export interface StateData {
  version: number;
  studies: Record<string, StudyMemo>;
  failures: Record<string, FailureEntry>;
  deadLetter: Record<string, DeadLetterEntry>;
  /** Optional: state files written before it have none. */
  calibrationHeads?: Record<string, { readonly seq: number; readonly hash: string; readonly at: string }>;
  refused: Record<string, RefusedEntry>;
}

export function emptyState(): StateData {
  return { version: STATE_VERSION, studies: {}, failures: {}, deadLetter: {}, refused: {} };
}

export class StateFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StateFileError';
  }
}

export class WorkerState {
  private constructor(
    readonly data: StateData,
    readonly file: string | null,
  ) {}

  static memory(): WorkerState {
    return new WorkerState(emptyState(), null);
  }

  /** A missing file starts empty; an unreadable or foreign one is refused, not overwritten. */
  static open(file: string): WorkerState {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new WorkerState(emptyState(), file);
      throw new StateFileError(`state file ${file} cannot be read: ${(error as Error).message}`);
    }
    let data: StateData;
    try {
      data = JSON.parse(text) as StateData;
    } catch (error) {
      throw new StateFileError(`state file ${file} is not JSON (${(error as Error).message}); move it away to start afresh`);
    }
    if (data?.version !== STATE_VERSION || typeof data.studies !== 'object' || typeof data.failures !== 'object' || typeof data.deadLetter !== 'object') {
      throw new StateFileError(`state file ${file} has version ${JSON.stringify(data?.version)}; this worker writes version ${STATE_VERSION}`);
    }
    if (typeof data.refused !== 'object' || data.refused === null) data.refused = {};
    return new WorkerState(data, file);
  }

  /** Written to a temporary file and renamed over the old one: a crash leaves the old or the new file, never half of one. */
  save(): void {
    if (!this.file) return;
    mkdirSync(dirname(this.file), { recursive: true });
    const temporary = `${this.file}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(this.data, null, 1)}\n`);
    renameSync(temporary, this.file);
  }
}
