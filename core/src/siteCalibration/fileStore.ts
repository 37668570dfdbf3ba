/**
 * The calibration log and overlays as files, for the Node CLI and for serving next to the model.
 * NODE ONLY (node:fs): never imported by the viewer bundle; the viewer reads the same files over
 * HTTP (servedCalibration.ts).
 *
 * Layout of `<model dir>/calibration/` (one model: the directory sits beside its model.onnx):
 *   log.jsonl              the audit log, one canonical-JSON entry per line, append-only
 *   overlays/<version>.json each accepted overlay, written once, never replaced
 *   active.json            { model_sha256, version, head: { seq, hash }, overlay | null }: derived
 *                          from the log after each append, for simple consumers and for
 *                          comparing the head with a copy kept elsewhere; the only file rewritten
 *   .lock                  held while appending (exclusive create); holds pid, host and time
 *
 * An append takes the lock, re-reads and verifies the whole log, checks the head, writes the
 * overlay (temp file, fsync, rename, fsync of the directory), appends the line and fsyncs it,
 * then rewrites active.json the same way. Two CLIs on one directory (or a shared filesystem
 * with working exclusive create) serialise on the lock; the second sees the first's entry and
 * gets a ConflictError. A log that fails verification is never written to.
 */
import { constants, promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

import { appendConflict, canonicalJson, CorruptLogError, verifyLog, type AuditEntry, type SiteCalibrationStore, type UnreadableEntry } from './log';
import type { CalibrationOverlay } from './overlay';
import { logLines } from './log';

export const LOG_FILE = 'log.jsonl';
export const ACTIVE_FILE = 'active.json';
export const OVERLAY_DIR = 'overlays';
export const LOCK_FILE = '.lock';
const VERSION_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export interface FileSiteCalibrationStoreOptions {
  /** How long to wait for another appender's lock before giving up, ms. */
  readonly lockTimeoutMs?: number;
  /** The model the directory belongs to: every entry must be for it. */
  readonly modelSha256: string;
}

/** What active.json holds. */
export interface ActivePointer {
  readonly model_sha256: string;
  readonly version: string;
  readonly head: { readonly seq: number; readonly hash: string };
  readonly overlay: CalibrationOverlay | null;
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException)?.code === 'ENOENT';
}

const sleep = (ms: number) => new Promise(done => setTimeout(done, ms));

/** Writes a file so that it is either absent or complete: temp file, fsync, rename, fsync of the directory. */
async function writeDurably(dir: string, name: string, text: string): Promise<void> {
  const temp = join(dir, `.${name}.${process.pid}.${Date.now()}.tmp`);
  const handle = await fs.open(temp, 'wx');
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(temp, join(dir, name));
  await syncDirectory(dir);
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await fs.open(dir, constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export class FileSiteCalibrationStore implements SiteCalibrationStore {
  readonly dir: string;
  readonly modelSha256: string;
  private readonly lockTimeoutMs: number;

  constructor(dir: string, { lockTimeoutMs = 10_000, modelSha256 }: FileSiteCalibrationStoreOptions) {
    this.dir = dir;
    this.modelSha256 = modelSha256.toLowerCase();
    this.lockTimeoutMs = lockTimeoutMs;
  }

  get logPath(): string {
    return join(this.dir, LOG_FILE);
  }

  async readEntries(): Promise<readonly (AuditEntry | UnreadableEntry)[]> {
    let text: string;
    try {
      text = await fs.readFile(this.logPath, 'utf8');
    } catch (error) {
      if (isMissing(error)) return [];
      throw error;
    }
    return logLines(text, {
      notJson: (n, line) => `line ${n} of ${LOG_FILE} is not JSON (${JSON.stringify(line.slice(0, 40))})`,
      torn: n => `line ${n} of ${LOG_FILE} is incomplete (no newline): an interrupted write`,
    });
  }

  async readOverlay(version: string): Promise<unknown | null> {
    if (!VERSION_NAME.test(version)) throw new Error(`calibration version ${JSON.stringify(version)} cannot name a file`);
    try {
      return JSON.parse(await fs.readFile(join(this.dir, OVERLAY_DIR, `${version}.json`), 'utf8'));
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
  }

  /** The derived pointer, or null before any change. */
  async readActive(): Promise<ActivePointer | null> {
    try {
      return JSON.parse(await fs.readFile(join(this.dir, ACTIVE_FILE), 'utf8')) as ActivePointer;
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
  }

  async append(entry: AuditEntry, overlay?: CalibrationOverlay): Promise<void> {
    if (entry.modelSha256 !== this.modelSha256) {
      throw new Error(`the calibration log in ${this.dir} is for model sha256 ${this.modelSha256}, not ${entry.modelSha256}`);
    }
    if (!VERSION_NAME.test(entry.version)) throw new Error(`calibration version ${JSON.stringify(entry.version)} cannot name a file`);
    if (overlay && overlay.version !== entry.version) throw new Error(`overlay ${overlay.version} does not belong to entry version ${entry.version}`);
    await fs.mkdir(join(this.dir, OVERLAY_DIR), { recursive: true });
    const release = await this.lock();
    try {
      const stored = await this.readEntries();
      const check = await verifyLog(stored, { modelSha256: this.modelSha256 });
      if (!check.ok) throw new CorruptLogError(check.position, check.problem);
      const conflict = appendConflict(check.entries[check.entries.length - 1] ?? null, entry);
      if (conflict) throw conflict;
      if (overlay) {
        const name = `${overlay.version}.json`;
        const exists = await fs.access(join(this.dir, OVERLAY_DIR, name)).then(() => true, () => false);
        if (exists) throw new Error(`calibration overlay ${overlay.version} already exists in ${join(this.dir, OVERLAY_DIR)}; versions are never replaced`);
        await writeDurably(join(this.dir, OVERLAY_DIR), name, `${JSON.stringify(overlay, null, 2)}\n`);
      }
      const handle = await fs.open(this.logPath, 'a');
      try {
        await handle.appendFile(`${canonicalJson(entry)}\n`, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      const active = entry.overlaySha256 === null ? null : overlay ?? ((await this.readOverlay(entry.version)) as CalibrationOverlay | null);
      const pointer: ActivePointer = { model_sha256: this.modelSha256, version: entry.version, head: { seq: entry.seq, hash: entry.hash }, overlay: active };
      await writeDurably(this.dir, ACTIVE_FILE, `${JSON.stringify(pointer, null, 2)}\n`);
    } finally {
      await release();
    }
  }

  /** Takes the exclusive lock file, waiting for another appender up to lockTimeoutMs. */
  private async lock(): Promise<() => Promise<void>> {
    const path = join(this.dir, LOCK_FILE);
    const deadline = Date.now() + this.lockTimeoutMs;
    for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
      try {
        const handle = await fs.open(path, 'wx');
        try {
          await handle.writeFile(`pid ${process.pid} on ${hostname()} since ${new Date().toISOString()}\n`);
        } finally {
          await handle.close();
        }
        return () => fs.unlink(path).catch(() => undefined);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        if (Date.now() >= deadline) {
          const holder = await fs.readFile(path, 'utf8').catch(() => 'unknown holder');
          throw new Error(
            `the calibration log ${this.logPath} is locked (${holder.trim()}) for more than ${this.lockTimeoutMs} ms; ` +
              `if no ChestAid CLI is running, delete ${path} and try again`,
          );
        }
        await sleep(wait);
      }
    }
  }
}
