/**
 * Whether a calibration log is still the log a reader trusted. The hash chain (log.ts) proves the
 * order and content of the entries a log holds; it cannot see entries cut off its end, a log put
 * back from an older copy, or a log that is gone. Those are caught against heads kept apart from
 * the log's own lines:
 *
 *  - the reader's memory (TrustedHeadMemory): the viewer keeps the last head it verified in its
 *    browser, the worker in its state file (and in memory while it runs);
 *  - the store's own record of the head (the file store's active.json, rewritten after each
 *    append: a log cut without it being rewritten too is seen by a reader that remembers nothing).
 *
 * Each remembered head must still be in the chain: an entry with its seq and its hash. A log that
 * ends before it was truncated (or an older copy restored); a different entry at its seq means
 * the log was rewound and rewritten; no log at all, where one is configured, is missing. Every case
 * fails closed: the reader scores under no calibration rather than under the manifest's own.
 *
 * Pure: no I/O, and no import of log.ts (which imports this), so heads are plain { seq, hash }.
 */
export interface TrustedHead {
  readonly seq: number;
  readonly hash: string;
  /** ISO time the reader last verified a log ending at (or passing through) this head. */
  readonly at: string;
}

/** Where a reader keeps the last head it trusted, per log. */
export interface TrustedHeadMemory {
  /** Who remembers, in words for messages: "this viewer", "this worker". */
  readonly who: string;
  recall(): Promise<TrustedHead | null>;
  remember(head: TrustedHead): Promise<void>;
}

/** A head kept in memory only: what a worker without a state file knows while it runs. */
export class VolatileHeadMemory implements TrustedHeadMemory {
  private head: TrustedHead | null = null;
  constructor(readonly who: string) {}
  async recall(): Promise<TrustedHead | null> {
    return this.head;
  }
  async remember(head: TrustedHead): Promise<void> {
    this.head = head;
  }
}

export type UntrustedKind = 'missing' | 'truncated' | 'rewound';

/** The log is gone, shorter than a head trusted before, or rewritten under it. Nothing is scored under it. */
export class UntrustedLogError extends Error {
  constructor(readonly kind: UntrustedKind, readonly reason: string) {
    super(`the calibration log is ${kind}: ${reason}`);
    this.name = 'UntrustedLogError';
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

const short = (hash: string) => `${hash.slice(0, 12)}…`;

/** What to do about a log that lost entries: nobody but a person can say which copy is right. */
const RESTORE = 'restore it from a backup that holds that entry';

/**
 * The error for a head (`trusted`, remembered by `who`) that `entries` (a verified chain) no
 * longer holds, or null when it does.
 */
export function headProblem(entries: readonly { readonly seq: number; readonly hash: string }[], trusted: { readonly seq: number; readonly hash: string }, who: string): UntrustedLogError | null {
  if (trusted.seq === 0) return null;
  const at = entries[trusted.seq - 1];
  if (!at) {
    return new UntrustedLogError(
      'truncated',
      `it ends at entry ${entries.length}, but ${who} trusted entry ${trusted.seq} (hash ${short(trusted.hash)}): entries were cut off its end or an older copy was put back; ${RESTORE}`,
    );
  }
  if (at.hash !== trusted.hash) {
    return new UntrustedLogError(
      'rewound',
      `its entry ${trusted.seq} has hash ${short(at.hash)}, but ${who} trusted ${short(trusted.hash)} there: the log was rewound and rewritten; ${RESTORE}`,
    );
  }
  return null;
}

/** The error for a store that holds no log where one is configured; `trusted` when a reader had seen it. */
export function missingLog(where: string, trusted: TrustedHead | null, who: string | null): UntrustedLogError {
  const seen = trusted && trusted.seq > 0
    ? `, but ${who ?? 'this reader'} trusted its entry ${trusted.seq} (hash ${short(trusted.hash)}) on ${trusted.at}: it was deleted; ${RESTORE}`
    : ': restore it from a backup; a deployment that never had one creates it empty with `chestaid-recalibrate --init`';
  return new UntrustedLogError(
    'missing',
    `${where} does not exist${seen}. A site that wants the manifest's own calibration says so in its configuration (calibrationSource 'none', worker --no-site-calibration)`,
  );
}
