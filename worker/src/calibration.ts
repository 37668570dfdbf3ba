/**
 * The calibration the worker scores under: the manifest's, with the site's ACTIVE overlay applied
 * exactly as the viewer does (ChestAidService: SiteCalibrationLog over a store, then
 * manifestOf()). The store is the Node file store the calibration CLI writes beside the model,
 * `<model dir>/calibration/{log.jsonl, overlays/, active.json}`; the log is verified (hash chain,
 * versions, model, overlay hashes) on every load, and a log that fails is an error naming the
 * entry, never a silent fall back to the manifest's calibration: results under a calibration the
 * hospital did not choose would be worse than no results.
 *
 * Fails closed on a log that is not there (ENOENT is a MISSING log, not the manifest's own
 * calibration: a site that wants that starts the worker with --no-site-calibration), on a torn
 * last line, and on a log that no longer holds a head trusted before: the head the log's
 * active.json records, and the last head this worker verified (kept in its state file, so a
 * restart remembers it; in memory without one). A deletion, cut or rewind while it runs stops it.
 *
 * Change detection is a stat per poll: the log is append-only, so any accept or rollback grows
 * log.jsonl; an edit in place changes its mtime; a changed overlay file changes its own. Only a
 * changed signature costs a re-read and re-verification. active.json is not trusted (it is
 * derived, and a plain file anyone can edit): the log decides.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';

import { FileSiteCalibrationStore, LOG_FILE, OVERLAY_DIR } from '@chestaid/core/node';
import { SiteCalibrationLog, CorruptLogError, EMPTY_HEAD, TornLogError, type LogHead, type Manifest, type TrustedHead, type TrustedHeadMemory, UntrustedLogError, withCalibrationIdentity } from '@chestaid/core';
import type { WorkerState } from './state';

/** The calibration log cannot be used: missing, truncated, rewound, torn or corrupt, an overlay changed or invalid. */
export class CalibrationError extends Error {
  constructor(
    message: string,
    /** The log entry at fault (1-based), when the log says which. */
    readonly entry: number | null = null,
    /** Why, in one word, when the log is not the one trusted: missing, truncated, rewound, torn. */
    readonly kind: string | null = null,
  ) {
    super(message);
    this.name = 'CalibrationError';
  }
}

export interface CalibrationState {
  /**
   * The manifest with the active calibration applied (the base manifest when the log is empty),
   * its calibration.version the calibration's identity (core withCalibrationIdentity).
   */
  readonly manifest: Manifest;
  readonly version: string;
  readonly head: LogHead;
  readonly source: 'manifest' | 'site';
}

export interface WatchedCalibrationOptions {
  /** The calibration directory, which must hold a log; null: the site chose the manifest's own calibration (--no-site-calibration). */
  readonly dir: string | null;
  /** Where this worker remembers the last head it trusted; by default, in memory while it runs. */
  readonly trusted?: TrustedHeadMemory;
  /** The validated base manifest. */
  readonly manifest: Manifest;
  /** The sha256 of the ONNX bytes in use: every log entry and overlay must be for them. */
  readonly modelSha256: string;
  /** Attempts to read a log that fails verification before it is called corrupt (an append may be mid-write). */
  readonly attempts?: number;
  readonly retryDelayMs?: number;
}

const sleep = (ms: number) => new Promise(done => setTimeout(done, ms));

async function statSignature(path: string): Promise<string> {
  try {
    const s = await fs.stat(path);
    return `${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw error;
  }
}

export class WatchedCalibration {
  readonly dir: string | null;
  private readonly base: Manifest;
  private readonly versions: SiteCalibrationLog | null;
  private readonly attempts: number;
  private readonly retryDelayMs: number;
  private current: CalibrationState;
  private signature = '';

  private constructor(options: WatchedCalibrationOptions) {
    this.dir = options.dir;
    this.base = options.manifest;
    this.attempts = options.attempts ?? 3;
    this.retryDelayMs = options.retryDelayMs ?? 200;
    this.versions = options.dir
      ? new SiteCalibrationLog({
          store: new FileSiteCalibrationStore(options.dir, { modelSha256: options.modelSha256 }),
          manifest: options.manifest,
          modelSha256: options.modelSha256,
          trusted: options.trusted ?? new StateHeadMemory(null, trustedHeadKey(options.modelSha256, options.dir)),
        })
      : null;
    this.current = { manifest: options.manifest, version: options.manifest.calibration.version, head: EMPTY_HEAD, source: 'manifest' };
  }

  /** Loads and verifies the active calibration; throws CalibrationError naming the entry at fault. */
  static async open(options: WatchedCalibrationOptions): Promise<WatchedCalibration> {
    const watched = new WatchedCalibration(options);
    await watched.reload();
    // Results carry the calibration's identity (name + sha256), not its bare version.
    watched.current = { ...watched.current, manifest: await withCalibrationIdentity(watched.current.manifest) };
    return watched;
  }

  get state(): CalibrationState {
    return this.current;
  }

  /**
   * Called before each poll: null when the log is unchanged (a stat or two), else the newly
   * verified state. Throws CalibrationError when the changed log no longer verifies.
   */
  async check(): Promise<CalibrationState | null> {
    if (!this.dir) return null;
    if ((await this.readSignature()) === this.signature) return null;
    const before = this.current;
    await this.reload();
    return this.current.version === before.version && this.current.head.hash === before.head.hash ? null : this.current;
  }

  private async readSignature(): Promise<string> {
    return `${await this.logSignature()}|${await this.overlaySignature()}`;
  }

  private logSignature(): Promise<string> {
    return statSignature(join(this.dir as string, LOG_FILE));
  }

  /** The active overlay's own file: replacing it must be noticed (and is refused by its hash). */
  private async overlaySignature(): Promise<string> {
    return this.current.source === 'site' ? statSignature(join(this.dir as string, OVERLAY_DIR, `${this.current.version}.json`)) : '-';
  }

  private async reload(): Promise<void> {
    if (!this.versions) return;
    for (let attempt = 1; ; attempt++) {
      // Taken before the read: an append during the read leaves a newer log, seen at the next check.
      const log = await this.logSignature();
      try {
        const { manifest, history } = await this.versions.manifestOf();
        this.current = {
          manifest: await withCalibrationIdentity(manifest),
          version: history.active,
          head: history.head,
          source: history.active === this.base.calibration.version ? 'manifest' : 'site',
        };
        this.signature = `${log}|${await this.overlaySignature()}`;
        return;
      } catch (error) {
        // An append caught half-way reads as a torn last line; a moment later it is whole.
        if (attempt < this.attempts) {
          await sleep(this.retryDelayMs);
          continue;
        }
        const message = error instanceof Error ? error.message : String(error);
        throw new CalibrationError(
          `calibration log ${this.dir}: ${message}`,
          error instanceof CorruptLogError ? error.position : null,
          error instanceof UntrustedLogError ? error.kind : error instanceof TornLogError ? 'torn' : null,
        );
      }
    }
  }
}

/**
 * The last head this worker trusted in one log, in its state file (WorkerState.data.calibrationHeads)
 * so that a restart still knows it; in memory only when the worker runs without --state. A person
 * who restores an older log on purpose removes the entry (or the state file) to trust it.
 */
export class StateHeadMemory implements TrustedHeadMemory {
  private volatile: TrustedHead | null = null;
  readonly who: string;

  constructor(
    private readonly state: WorkerState | null,
    private readonly key: string,
  ) {
    this.who = state?.file ? `this worker (state file ${state.file})` : 'this worker';
  }

  async recall(): Promise<TrustedHead | null> {
    return this.state?.data.calibrationHeads?.[this.key] ?? this.volatile;
  }

  async remember(head: TrustedHead): Promise<void> {
    this.volatile = head;
    if (!this.state) return;
    this.state.data.calibrationHeads = { ...this.state.data.calibrationHeads, [this.key]: head };
    this.state.save();
  }
}

/** The memory key of the log in `dir` for `modelSha256`. */
export function trustedHeadKey(modelSha256: string, dir: string): string {
  return `${modelSha256.toLowerCase()}:${dir}`;
}

/** Whether `dir` exists as a directory. */
export async function isDirectory(dir: string): Promise<boolean> {
  try {
    return (await fs.stat(dir)).isDirectory();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}
