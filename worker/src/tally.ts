/**
 * What the worker counts: its lifetime counts (the health endpoint and the stop log show them) and
 * one pass's tally (the pass log, --once's exit code and the benchmark read it).
 */

export interface Counts {
  polls: number;
  studies: number;
  scored: number;
  stored: number;
  skipped: number;
  failed: number;
  deadLettered: number;
  /** Images the model card excludes (intended-use gate): recorded with the reason, never scored. */
  refused: number;
}

/** Per-image time, split by stage, for the log and the benchmark. */
export interface ImageTimings {
  readonly fetch: number;
  readonly decode: number;
  readonly preprocess: number;
  readonly infer: number;
  readonly write: number;
  readonly total: number;
}

/** One pass so far; the pass's result is this, frozen. */
export interface PassTally {
  studies: number;
  scored: number;
  skipped: number;
  /** Images that failed in this pass (pending a retry or dead-lettered). */
  failed: number;
  /** Images not analyzed in this pass: the model card excludes them (not failures, no SR). */
  refused: number;
  timings: ImageTimings[];
}

export interface PassResult {
  /** False when the PACS stopped answering and the pass was cut short. */
  readonly completed: boolean;
  readonly stopped: boolean;
  readonly studies: number;
  readonly scored: number;
  readonly skipped: number;
  /** Images that failed in this pass (pending a retry or dead-lettered). */
  readonly failed: number;
  readonly refused: number;
  readonly timings: readonly ImageTimings[];
  readonly ms: number;
}
