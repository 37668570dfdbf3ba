/**
 * The calibration log and overlays as files, for the Node CLI and for serving next to the model.
 * NODE ONLY (node:fs): never imported by the viewer bundle; the viewer reads the same files over
 * HTTP (servedCalibration.ts).
 *
 * Layout of `<model dir>/calibration/` (one model: the directory sits beside its model.onnx):
 *   log.jsonl              the audit log, one canonical-JSON entry per line, append-only
 *   overlays/<version>.json each accepted overlay, written once, never replaced
 *   overlays/orphaned/     overlays whose accept never reached the log, moved aside by recover()
 *   active.json            { model_sha256, version, head: { seq, hash }, overlay | null }: derived
 *                          from the log after each append, for simple consumers, and the record
 *                          of the head every reader checks the log still holds (trust.ts): a log
 *                          cut without it is refused; the only file rewritten
 *   .lock                  held while appending (exclusive create); holds pid, host and time
 *
 * init() creates an empty log: a log that does not exist is MISSING (readEntries: null), never
 * read as "no change yet", so a deleted log fails closed.
 *
 * An append takes the lock, re-reads and verifies the whole log, checks that it still holds the
 * head active.json records, checks the head, writes the overlay (temp file, fsync, rename, fsync
 * of the directory), appends the line and fsyncs it, then rewrites active.json the same way. Two
 * CLIs on one directory (or a shared filesystem with working exclusive create) serialise on the
 * lock; the second sees the first's entry and gets a ConflictError. A log that fails verification
 * is never written to.
 *
 * A crash can leave two things behind, which recover() mends under the same lock, each with a
 * 'repair' audit entry: a torn last line (the append's bytes only partly written: cut, its bytes
 * kept in the entry) and an orphan overlay (written, but its log line never appended: moved aside
 * to overlays/orphaned/, not adopted; see docs/architecture.md for why).
 */
import { createHash } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

import type { Manifest } from '../manifest';
import {
  appendConflict,
  CorruptLogError,
  unchangedDraft,
  type SiteCalibrationStore,
} from './log';
import {
  canonicalJson,
  headOf,
  logLines,
  sealEntry,
  verifyLog,
  type AuditEntry,
  type LogHead,
  type RepairRecord,
  type UnreadableEntry,
} from './chain';
import type { CalibrationOverlay } from './overlay';
import { headProblem, missingLog } from './trust';

export const LOG_FILE = 'log.jsonl';
export const ACTIVE_FILE = 'active.json';
export const OVERLAY_DIR = 'overlays';
export const LOCK_FILE = '.lock';
export const ORPHAN_DIR = 'orphaned';
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

function parseLogText(text: string): (AuditEntry | UnreadableEntry)[] {
  return logLines(text, {
    notJson: (n, line) => `line ${n} of ${LOG_FILE} is not JSON (${JSON.stringify(line.slice(0, 40))})`,
    torn: n => `line ${n} of ${LOG_FILE} is incomplete (no newline)`,
  });
}

function sha256Of(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function checkRepairActor(actor: string): string {
  if (typeof actor !== 'string' || actor.trim() === '') throw new Error(`a calibration log repair needs who made it, got ${JSON.stringify(actor)}`);
  return actor.trim();
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

  get where(): string {
    return `the calibration log ${this.logPath}`;
  }

  async readEntries(): Promise<readonly (AuditEntry | UnreadableEntry)[] | null> {
    let text: string;
    try {
      text = await fs.readFile(this.logPath, 'utf8');
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
    return parseLogText(text);
  }

  /** active.json's head: the log must still hold it. */
  async readHeadRecord(): Promise<{ name: string; head: LogHead | null }> {
    const active = await this.readActive();
    if (active && active.model_sha256 !== this.modelSha256) {
      throw new Error(`${join(this.dir, ACTIVE_FILE)} is for model sha256 ${active.model_sha256}, not ${this.modelSha256}`);
    }
    return { name: ACTIVE_FILE, head: active ? active.head : null };
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

  /**
   * Creates the empty log of a deployment that never had one (and active.json at head 0, under
   * `baseVersion`). Refuses when a log is there: a log is never replaced.
   */
  async init(baseVersion: string): Promise<void> {
    await fs.mkdir(join(this.dir, OVERLAY_DIR), { recursive: true });
    const release = await this.lock();
    try {
      if (await fs.access(this.logPath).then(() => true, () => false)) {
        throw new Error(`${this.logPath} already exists; a calibration log is never replaced`);
      }
      await writeDurably(this.dir, LOG_FILE, '');
      await this.writeActive({ model_sha256: this.modelSha256, version: baseVersion, head: { seq: 0, hash: headOf([]).hash }, overlay: null });
    } finally {
      await release();
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
      if (stored === null) throw missingLog(this.where, null, null);
      const check = await verifyLog(stored, { modelSha256: this.modelSha256 });
      if (!check.ok) throw new CorruptLogError(check.position, check.problem);
      // A log cut behind active.json's back is not built on: the next entry would hide the cut.
      const record = (await this.readHeadRecord()).head;
      const cut = record && headProblem(check.entries, record, ACTIVE_FILE);
      if (cut) throw cut;
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
      await this.writeActiveFor(entry, overlay);
    } finally {
      await release();
    }
  }

  /**
   * Mends what a crashed writer left, under the lock, with one 'repair' entry per thing mended
   * (by `actor`), and returns those entries (none: nothing to mend):
   *  - a torn last line (no newline) is cut; the entry keeps its bytes (base64), length and sha256;
   *  - an overlay file no 'accept' entry names (written, its log line never appended) is moved to
   *    overlays/orphaned/<version>.<sha256 prefix>.json: never adopted, since no admin saw that
   *    change complete and no hash in the log vouches for the file;
   *  - a missing active.json is rewritten from the log's head (said in an entry, since it is the
   *    record readers check the log against).
   * Refuses (and writes nothing) when the log without its torn line does not verify, or no longer
   * holds the head active.json records: entries were lost, which only a backup can mend.
   */
  async recover({ actor, manifest, now = () => new Date() }: { actor: string; manifest: Manifest; now?: () => Date }): Promise<readonly AuditEntry[]> {
    const release = await this.lock();
    try {
      let bytes: Buffer;
      try {
        bytes = await fs.readFile(this.logPath);
      } catch (error) {
        if (isMissing(error)) throw missingLog(this.where, null, null);
        throw error;
      }
      const keep = bytes.lastIndexOf(0x0a) + 1;
      const kept = bytes.subarray(0, keep);
      const torn = bytes.subarray(keep);
      const options = { modelSha256: this.modelSha256, baseVersion: manifest.calibration.version, minTargetSensitivity: manifest.thresholds.clinical.target_sensitivity };
      const check = await verifyLog(parseLogText(kept.toString('utf8')), options);
      if (!check.ok) throw new CorruptLogError(check.position, check.problem);
      const record = (await this.readHeadRecord()).head;
      const lost = record && headProblem(check.entries, record, ACTIVE_FILE);
      if (lost) throw lost;

      const repairs: RepairRecord[] = [];
      if (torn.length > 0) {
        repairs.push({
          what: 'torn-tail',
          detail: `line ${check.entries.length + 1} of ${LOG_FILE} was incomplete (${torn.length} bytes, no newline): an interrupted write, cut`,
          sha256: sha256Of(torn),
          bytes: torn.length,
          cutBase64: torn.toString('base64'),
        });
      }
      const accepted = new Set(check.entries.filter(e => e.action === 'accept').map(e => e.version));
      const moves: [string, string][] = [];
      for (const name of (await fs.readdir(join(this.dir, OVERLAY_DIR)).catch(() => [] as string[])).sort()) {
        const version = name.endsWith('.json') && !name.startsWith('.') ? name.slice(0, -'.json'.length) : null;
        if (version === null || accepted.has(version)) continue;
        const file = await fs.readFile(join(this.dir, OVERLAY_DIR, name));
        const sha = sha256Of(file);
        const movedTo = `${OVERLAY_DIR}/${ORPHAN_DIR}/${version}.${sha.slice(0, 12)}.json`;
        repairs.push({
          what: 'orphan-overlay',
          detail: `${OVERLAY_DIR}/${name} is an overlay no log entry accepted (its accept was interrupted before the log line): moved aside, not adopted`,
          version,
          sha256: sha,
          bytes: file.length,
          movedTo,
        });
        moves.push([join(this.dir, OVERLAY_DIR, name), join(this.dir, movedTo)]);
      }
      if (record === null && check.entries.length > 0) {
        repairs.push({ what: 'head-record', detail: `${ACTIVE_FILE} was missing; rewritten from the log's head, entry ${check.entries.length}` });
      }
      if (repairs.length === 0) return [];

      const entries: AuditEntry[] = [];
      let last = check.entries[check.entries.length - 1] ?? null;
      for (const repair of repairs) {
        const entry = await sealEntry({
          ...unchangedDraft(last, manifest, this.modelSha256),
          seq: (last?.seq ?? 0) + 1,
          at: now().toISOString(),
          actor: checkRepairActor(actor),
          action: 'repair',
          prevHash: last?.hash ?? headOf([]).hash,
          repair,
        });
        entries.push(entry);
        last = entry;
      }
      // One atomic replacement: readers see the torn log or the mended one, never a log without
      // the torn bytes and without the entry that keeps them. The kept lines are byte for byte.
      await writeDurably(this.dir, LOG_FILE, kept.toString('utf8') + entries.map(e => `${canonicalJson(e)}\n`).join(''));
      if (moves.length > 0) await fs.mkdir(join(this.dir, OVERLAY_DIR, ORPHAN_DIR), { recursive: true });
      for (const [from, to] of moves) await fs.rename(from, to);
      if (moves.length > 0) await syncDirectory(join(this.dir, OVERLAY_DIR));
      await this.writeActiveFor(entries[entries.length - 1]);
      return entries;
    } finally {
      await release();
    }
  }

  /** Rewrites active.json for the log now ending at `entry`. */
  private async writeActiveFor(entry: AuditEntry, overlay?: CalibrationOverlay): Promise<void> {
    const active = entry.overlaySha256 === null ? null : overlay ?? ((await this.readOverlay(entry.version)) as CalibrationOverlay | null);
    await this.writeActive({ model_sha256: this.modelSha256, version: entry.version, head: { seq: entry.seq, hash: entry.hash }, overlay: active });
  }

  private async writeActive(pointer: ActivePointer): Promise<void> {
    await writeDurably(this.dir, ACTIVE_FILE, `${JSON.stringify(pointer, null, 2)}\n`);
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
