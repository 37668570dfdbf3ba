/**
 * The calibration the worker scores under: the manifest's, with the site's ACTIVE overlay applied
 * exactly as the viewer does (ChestAidService: SiteCalibrationLog over a store, then
 * manifestOf()). The store is the Node file store the calibration CLI writes beside the model,
 * `<model dir>/calibration/{log.jsonl, overlays/, active.json}`; the log is verified (hash chain,
 * versions, model, overlay hashes) on every load, and a log that fails is an error naming the
 * entry, never a silent fall back to the manifest's calibration: results under a calibration the
 * hospital did not choose would be worse than no results.
 *
 * Change detection is a stat per poll: the log is append-only, so any accept or rollback grows
 * log.jsonl; an edit in place changes its mtime; a changed overlay file changes its own. Only a
 * changed signature costs a re-read and re-verification. active.json is not trusted (it is
 * derived, and a plain file anyone can edit): the log decides.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';

import { FileSiteCalibrationStore, LOG_FILE, OVERLAY_DIR } from '@chestaid/core/node';
import { SiteCalibrationLog, CorruptLogError, EMPTY_HEAD, type LogHead, type Manifest, withCalibrationIdentity } from '@chestaid/core';

/** The calibration log cannot be used: corrupt, an overlay changed or invalid, or the directory named does not exist. */
export class CalibrationError extends Error {
  constructor(
    message: string,
    /** The log entry at fault (1-based), when the log says which. */
    readonly entry: number | null = null,
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
  /** The calibration directory; null: the manifest's own calibration, nothing watched. */
  readonly dir: string | null;
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
        throw new CalibrationError(`calibration log ${this.dir}: ${message}`, error instanceof CorruptLogError ? error.position : null);
      }
    }
  }
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
