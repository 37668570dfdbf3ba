/**
 * The append-only audit log of a model's calibration: every accepted recalibration and every
 * rollback, in order, each entry chained to the one before by a sha256 over canonical JSON, so a
 * changed, removed or reordered entry is found and named (verifyLog). The active version is the
 * last entry's; an empty log means the manifest's own calibration.
 *
 * Nothing here ever rewrites the log. A rollback is a new entry that makes an earlier version
 * active again. A log that fails verification blocks every change (CorruptLogError) and is left
 * as it is for a person to restore from a backup.
 *
 * Storage is an interface (SiteCalibrationStore); adapters live in extension/src/siteCalibrationLog
 * (memory, IndexedDB, a JSONL file). Each must append atomically and only on top of the head the
 * entry was built on: two admins recalibrating at once, the second gets a ConflictError naming
 * the first's change, and neither change is lost.
 *
 * Limit, stated: a chain proves the order and content of the entries it holds; it cannot tell
 * that entries were cut off the END of the log, nor that a whole log was rewritten and rehashed.
 * The file adapter's served active.json carries the head (seq, hash) for a deployment to compare
 * with a copy kept elsewhere.
 */
import type { CalibrationMethod } from '../calibration';
import { applyOverlay, nextSiteVersion, parseOverlay, type CalibrationOverlay, type OverlayMetrics, type OverlayParams } from './overlay';
import { InputError, show } from '../errors';
import type { Manifest } from '../manifest';

/** prevHash of the first entry. */
export const GENESIS_HASH = '0'.repeat(64);

export type AuditAction = 'accept' | 'rollback';

export interface AuditEntry {
  /** 1, 2, 3, ... with no gap. */
  readonly seq: number;
  /** ISO 8601 time of the change. */
  readonly at: string;
  /** Who made it, as the admin page or CLI was told (a reader name). */
  readonly actor: string;
  readonly action: AuditAction;
  /** The version active after this entry. */
  readonly version: string;
  /** The version active before it. */
  readonly previousVersion: string;
  /** The cohort the version was fitted on (null for the manifest's own calibration). */
  readonly cohort: { readonly n: number; readonly sha256: string } | null;
  /** The calibration now active. */
  readonly method: CalibrationMethod;
  readonly params: OverlayParams;
  readonly threshold: number;
  /** The fit's metrics on held-out cases, before (current calibration) and after; null for a rollback. */
  readonly metricsBefore: OverlayMetrics | null;
  readonly metricsAfter: OverlayMetrics | null;
  readonly modelSha256: string;
  /** sha256 of the overlay's canonical JSON, so a changed overlay file is caught; null for the base. */
  readonly overlaySha256: string | null;
  readonly prevHash: string;
  /** sha256 of this entry's canonical JSON without `hash`. */
  readonly hash: string;
}

/** Where the next entry goes: the last entry's seq and hash (0 and GENESIS_HASH when empty). */
export interface LogHead {
  readonly seq: number;
  readonly hash: string;
}

export const EMPTY_HEAD: LogHead = Object.freeze({ seq: 0, hash: GENESIS_HASH });

/** A stored line that could not even be read as an entry (a torn write, a stray edit). */
export interface UnreadableEntry {
  readonly unreadable: string;
}

/**
 * The entries of a JSON Lines log as stored, for a SiteCalibrationStore's readEntries: a line that is
 * not JSON, and text after the last newline (a torn write: a complete log ends with one), become
 * UnreadableEntry with the reason `describe` words, so verifyLog can name them.
 */
export function logLines(
  text: string,
  describe: { readonly notJson: (lineNumber: number, line: string) => string; readonly torn: (lineNumber: number) => string },
): (AuditEntry | UnreadableEntry)[] {
  const lines = text.split('\n');
  const torn = lines.pop() ?? '';
  const entries: (AuditEntry | UnreadableEntry)[] = lines.map((line, i) => {
    try {
      return JSON.parse(line) as AuditEntry;
    } catch {
      return { unreadable: describe.notJson(i + 1, line) };
    }
  });
  if (torn !== '') entries.push({ unreadable: describe.torn(lines.length + 1) });
  return entries;
}

/**
 * A model's calibration log and overlays, wherever they are kept. One store object holds one
 * model's log (its sha256 is in every entry and checked).
 */
export interface SiteCalibrationStore {
  /** Every stored entry, in stored order, as stored: unverified (verifyLog judges them). */
  readEntries(): Promise<readonly (AuditEntry | UnreadableEntry)[]>;
  /** The overlay stored under `version`, unparsed, or null. */
  readOverlay(version: string): Promise<unknown | null>;
  /**
   * Appends `entry` atomically, with `overlay` stored under entry.version in the same step when
   * given, if and only if the stored log's last entry is (entry.seq - 1, entry.prevHash).
   * Otherwise throws ConflictError naming the last stored entry, and stores nothing.
   * Never changes or removes a stored entry or overlay.
   */
  append(entry: AuditEntry, overlay?: CalibrationOverlay): Promise<void>;
}

/** Another change reached the log first. Nothing was written; the admin reloads and reviews. */
export class ConflictError extends Error {
  constructor(readonly head: AuditEntry | null, readonly expected: LogHead) {
    super(
      head
        ? `calibration ${head.version} was ${head.action === 'accept' ? 'accepted' : 'made active again by a rollback'} by ${head.actor} ` +
            `at ${head.at} (log entry ${head.seq}) while this change was prepared on entry ${expected.seq}; reload and review`
        : `the calibration log changed while this change was prepared on entry ${expected.seq}; reload and review`,
    );
    this.name = 'ConflictError';
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/** The log failed verification: no change can be made, and the log is left untouched. */
export class CorruptLogError extends Error {
  constructor(readonly position: number, readonly problem: string) {
    super(
      `the calibration audit log is corrupt at entry ${position}: ${problem}. ` +
        'No calibration change can be made until it is restored from a backup; the log is never rewritten.',
    );
    this.name = 'CorruptLogError';
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/**
 * JSON with object keys sorted at every level and no whitespace: the bytes a hash is taken of.
 * Refuses what JSON cannot carry faithfully (NaN, Infinity, undefined, functions), naming where.
 */
export function canonicalJson(value: unknown, path = '$'): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new InputError(`canonical JSON cannot hold ${show(value)} at ${path}`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v, i) => canonicalJson(v, `${path}[${i}]`)).join(',')}]`;
  if (typeof value === 'object') {
    const keys = Object.keys(value).sort();
    const parts: string[] = [];
    for (const key of keys) {
      const v = (value as Record<string, unknown>)[key];
      if (v === undefined) throw new InputError(`canonical JSON cannot hold undefined at ${path}.${key}`);
      parts.push(`${JSON.stringify(key)}:${canonicalJson(v, `${path}.${key}`)}`);
    }
    return `{${parts.join(',')}}`;
  }
  throw new InputError(`canonical JSON cannot hold a ${typeof value} at ${path}`);
}

/** Lower-case hex sha256 of UTF-8 text, by WebCrypto (browsers, workers and Node >= 20). */
export async function sha256Hex(text: string): Promise<string> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) throw new Error('WebCrypto (crypto.subtle) is unavailable: the calibration log cannot be hashed (a secure context is needed)');
  const digest = await subtle.digest('SHA-256', new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), b => b.toString(16).padStart(2, '0')).join('');
}

export async function entryHash(entry: Omit<AuditEntry, 'hash'> | AuditEntry): Promise<string> {
  const { hash: _hash, ...body } = entry as AuditEntry;
  return sha256Hex(canonicalJson(body));
}

export async function overlayHash(overlay: CalibrationOverlay): Promise<string> {
  return sha256Hex(canonicalJson(overlay));
}

const HEX64 = /^[0-9a-f]{64}$/;
const ENTRY_KEYS = [
  'seq', 'at', 'actor', 'action', 'version', 'previousVersion', 'cohort', 'method', 'params', 'threshold',
  'metricsBefore', 'metricsAfter', 'modelSha256', 'overlaySha256', 'prevHash', 'hash',
];

/** What is wrong with the shape of one stored entry, or null. */
function shapeProblem(raw: unknown): string | null {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return `it is not an entry object (${show(raw)})`;
  if ('unreadable' in raw) return `it cannot be read (${(raw as UnreadableEntry).unreadable})`;
  const e = raw as Record<string, unknown>;
  const missing = ENTRY_KEYS.filter(k => !(k in e));
  if (missing.length > 0) return `it lacks ${missing.join(', ')}`;
  const extra = Object.keys(e).filter(k => !ENTRY_KEYS.includes(k));
  if (extra.length > 0) return `it has unknown fields ${extra.join(', ')}`;
  if (!Number.isInteger(e.seq)) return `seq ${show(e.seq)} is not an integer`;
  if (e.action !== 'accept' && e.action !== 'rollback') return `action ${show(e.action)} is neither accept nor rollback`;
  for (const k of ['at', 'actor', 'version', 'previousVersion'] as const) {
    if (typeof e[k] !== 'string' || e[k] === '') return `${k} ${show(e[k])} is not a non-empty string`;
  }
  for (const k of ['modelSha256', 'prevHash', 'hash'] as const) {
    if (typeof e[k] !== 'string' || !HEX64.test(e[k] as string)) return `${k} ${show(e[k])} is not a sha256`;
  }
  if (e.overlaySha256 !== null && !(typeof e.overlaySha256 === 'string' && HEX64.test(e.overlaySha256))) {
    return `overlaySha256 ${show(e.overlaySha256)} is neither null nor a sha256`;
  }
  if (!(typeof e.threshold === 'number' && e.threshold >= 0 && e.threshold <= 1)) return `threshold ${show(e.threshold)} is not a probability`;
  return null;
}

export type LogCheck =
  | { readonly ok: true; readonly entries: readonly AuditEntry[]; readonly head: LogHead }
  | {
      readonly ok: false;
      /** 1-based position of the first bad entry in stored order. */
      readonly position: number;
      readonly problem: string;
      /** The entries before it, which do verify. */
      readonly validPrefix: readonly AuditEntry[];
    };

export interface VerifyOptions {
  /** Every entry must be for these model bytes. */
  readonly modelSha256?: string;
  /** The manifest's calibration version: the first entry's previousVersion, and what a rollback may return to. */
  readonly baseVersion?: string;
}

/**
 * Verifies a stored log: each entry's shape, seq 1, 2, 3... without gaps, the chain of prevHash
 * and hash, the model, and the version history (an accept introduces a new version, a rollback
 * returns to one accepted before or to the base, each previousVersion is the version active
 * before it). Reports the first entry that fails and why; entries before it verify.
 */
export async function verifyLog(stored: readonly unknown[], { modelSha256, baseVersion }: VerifyOptions = {}): Promise<LogCheck> {
  const good: AuditEntry[] = [];
  let head = EMPTY_HEAD;
  let active = baseVersion;
  const known = new Set<string>(baseVersion === undefined ? [] : [baseVersion]);
  for (let i = 0; i < stored.length; i++) {
    const fail = (problem: string): LogCheck => ({ ok: false, position: i + 1, problem, validPrefix: good });
    const shape = shapeProblem(stored[i]);
    if (shape) return fail(shape);
    const entry = stored[i] as AuditEntry;
    if (entry.seq !== head.seq + 1) {
      return fail(`its seq is ${entry.seq} where ${head.seq + 1} was expected (an entry is missing or out of order)`);
    }
    if (entry.prevHash !== head.hash) {
      return fail(`its prevHash ${entry.prevHash.slice(0, 12)}… does not match entry ${head.seq}'s hash ${head.hash.slice(0, 12)}…`);
    }
    const actual = await entryHash(entry);
    if (actual !== entry.hash) return fail(`its content does not match its hash (stored ${entry.hash.slice(0, 12)}…, computed ${actual.slice(0, 12)}…): it was changed`);
    if (modelSha256 !== undefined && entry.modelSha256 !== modelSha256.toLowerCase()) {
      return fail(`it is for model sha256 ${entry.modelSha256}, not ${modelSha256.toLowerCase()}`);
    }
    if (active !== undefined && entry.previousVersion !== active) {
      return fail(`its previousVersion ${show(entry.previousVersion)} is not the version then active (${show(active)})`);
    }
    if (entry.action === 'accept' && known.has(entry.version)) return fail(`it accepts version ${show(entry.version)}, which already existed`);
    if (entry.action === 'accept' && entry.overlaySha256 === null) return fail(`it accepts version ${show(entry.version)} without the overlay's hash`);
    if (entry.action === 'rollback' && baseVersion !== undefined && !known.has(entry.version)) {
      return fail(`it rolls back to version ${show(entry.version)}, which was never accepted`);
    }
    known.add(entry.version);
    active = entry.version;
    head = { seq: entry.seq, hash: entry.hash };
    good.push(entry);
  }
  return { ok: true, entries: good, head };
}

/** The version a verified log makes active: its last entry's, or the base when it is empty. */
export function activeVersion(entries: readonly AuditEntry[], baseVersion: string): string {
  return entries.length === 0 ? baseVersion : entries[entries.length - 1].version;
}

export function headOf(entries: readonly AuditEntry[]): LogHead {
  const last = entries[entries.length - 1];
  return last ? { seq: last.seq, hash: last.hash } : EMPTY_HEAD;
}

/** Seals a draft: adds its hash. */
export async function sealEntry(draft: Omit<AuditEntry, 'hash'>): Promise<AuditEntry> {
  return { ...draft, hash: await entryHash(draft) };
}

/**
 * The append rule every store applies atomically: the entry must sit on the stored head.
 * Returns the ConflictError to throw, or null.
 */
export function appendConflict(last: AuditEntry | null, entry: AuditEntry): ConflictError | null {
  const head = last ? { seq: last.seq, hash: last.hash } : EMPTY_HEAD;
  if (entry.seq === head.seq + 1 && entry.prevHash === head.hash) return null;
  return new ConflictError(last, { seq: entry.seq - 1, hash: entry.prevHash });
}

/** A verified log as the admin page shows it and the viewer uses it. */
export interface CalibrationHistory {
  readonly baseVersion: string;
  readonly entries: readonly AuditEntry[];
  readonly head: LogHead;
  readonly active: string;
  /** Every version that can be made active: the base, then each accepted one, in order. */
  readonly versions: readonly string[];
}

export interface SiteCalibrationLogOptions {
  readonly store: SiteCalibrationStore;
  /** The validated base manifest (parseManifest), without any overlay. */
  readonly manifest: Manifest;
  /** The sha256 of the ONNX file in use (the analyzer's), when not the manifest's onnx.sha256. */
  readonly modelSha256?: string;
  readonly clock?: () => Date;
}

export interface ChangeOptions {
  readonly actor: string;
  /** The head the admin reviewed; a change on any other head is a ConflictError. */
  readonly expectedHead: LogHead;
}

/**
 * The versioned calibration of one model over a store: what is active, its manifest, and the two
 * changes (accept, rollback). Pure logic; the store does the I/O.
 */
export class SiteCalibrationLog {
  private readonly store: SiteCalibrationStore;
  private readonly base: Manifest;
  readonly modelSha256: string;
  private readonly clock: () => Date;

  constructor({ store, manifest, modelSha256 = manifest.onnx.sha256, clock = () => new Date() }: SiteCalibrationLogOptions) {
    this.store = store;
    this.base = manifest;
    this.modelSha256 = modelSha256.toLowerCase();
    this.clock = clock;
  }

  get baseVersion(): string {
    return this.base.calibration.version;
  }

  /** The verified log; throws CorruptLogError naming the first bad entry. */
  async history(): Promise<CalibrationHistory> {
    const check = await verifyLog(await this.store.readEntries(), { modelSha256: this.modelSha256, baseVersion: this.baseVersion });
    if (!check.ok) throw new CorruptLogError(check.position, check.problem);
    const versions = [this.baseVersion, ...check.entries.filter(e => e.action === 'accept').map(e => e.version)];
    return { baseVersion: this.baseVersion, entries: check.entries, head: check.head, active: activeVersion(check.entries, this.baseVersion), versions };
  }

  /** The overlay of an accepted version, parsed and checked against its hash in the log. */
  async overlay(version: string, history?: CalibrationHistory): Promise<CalibrationOverlay> {
    const known = history ?? (await this.history());
    const accepted = known.entries.find(e => e.action === 'accept' && e.version === version);
    if (!accepted) throw new InputError(`calibration version ${show(version)} was never accepted for this model`);
    const raw = await this.store.readOverlay(version);
    if (raw === null) throw new CorruptLogError(accepted.seq, `the overlay of version ${show(version)} it accepted is missing`);
    const overlay = parseOverlay(raw, { modelSha256: this.modelSha256 });
    if ((await overlayHash(overlay)) !== accepted.overlaySha256) {
      throw new CorruptLogError(accepted.seq, `the stored overlay of version ${show(version)} does not match the hash the log recorded: it was changed`);
    }
    return overlay;
  }

  /** The manifest of `version` (the active one by default): the base, or the base with its overlay applied. */
  async manifestOf(version?: string): Promise<{ manifest: Manifest; history: CalibrationHistory }> {
    const history = await this.history();
    const wanted = version ?? history.active;
    if (wanted === this.baseVersion) return { manifest: this.base, history };
    return { manifest: applyOverlay(this.base, await this.overlay(wanted, history)), history };
  }

  /** The version the next accept must carry. */
  async nextVersion(): Promise<string> {
    const history = await this.history();
    return nextSiteVersion(history.versions);
  }

  /**
   * Makes `overlay` the active calibration: checks it (model, version = the next site version,
   * previous version = the active one), then appends an 'accept' entry with it. Throws
   * CorruptLogError on a bad log, ConflictError when the log moved past `expectedHead`.
   */
  async accept(overlayJson: unknown, { actor, expectedHead }: ChangeOptions): Promise<AuditEntry> {
    const history = await this.history();
    this.checkHead(history, expectedHead);
    const overlay = parseOverlay(overlayJson, { modelSha256: this.modelSha256 });
    const next = nextSiteVersion(history.versions);
    if (overlay.version !== next) {
      throw new InputError(`calibration overlay version ${show(overlay.version)} cannot be accepted: the next version of this log is ${show(next)}`);
    }
    if (overlay.previous_version !== history.active) {
      throw new InputError(
        `calibration overlay ${show(overlay.version)} was made against version ${show(overlay.previous_version)}, but ${show(history.active)} is active; refit against it`,
      );
    }
    applyOverlay(this.base, overlay);
    const entry = await sealEntry({
      seq: history.head.seq + 1,
      at: this.clock().toISOString(),
      actor: checkActor(actor),
      action: 'accept',
      version: overlay.version,
      previousVersion: history.active,
      cohort: { n: overlay.cohort.n, sha256: overlay.cohort.sha256 },
      method: overlay.calibration.method,
      params: overlay.calibration.params,
      threshold: overlay.threshold.value,
      metricsBefore: overlay.metrics.before,
      metricsAfter: overlay.metrics.after,
      modelSha256: this.modelSha256,
      overlaySha256: await overlayHash(overlay),
      prevHash: history.head.hash,
    });
    await this.store.append(entry, overlay);
    return entry;
  }

  /** Makes an earlier version (an accepted one, or the base) active again with a 'rollback' entry. */
  async rollbackTo(version: string, { actor, expectedHead }: ChangeOptions): Promise<AuditEntry> {
    const history = await this.history();
    this.checkHead(history, expectedHead);
    if (!history.versions.includes(version)) {
      throw new InputError(`cannot roll back to calibration version ${show(version)}: this model has ${history.versions.map(v => show(v)).join(', ')}`);
    }
    if (version === history.active) throw new InputError(`calibration version ${show(version)} is already active`);
    const { manifest } = await this.manifestOf(version);
    const accepted = history.entries.find(e => e.action === 'accept' && e.version === version);
    const method = manifest.calibration.selected;
    const entry = await sealEntry({
      seq: history.head.seq + 1,
      at: this.clock().toISOString(),
      actor: checkActor(actor),
      action: 'rollback',
      version,
      previousVersion: history.active,
      cohort: accepted?.cohort ?? null,
      method,
      params: manifest.calibration.methods[method].params,
      threshold: manifest.thresholds.clinical.value,
      metricsBefore: null,
      metricsAfter: null,
      modelSha256: this.modelSha256,
      overlaySha256: accepted?.overlaySha256 ?? null,
      prevHash: history.head.hash,
    });
    await this.store.append(entry);
    return entry;
  }

  private checkHead(history: CalibrationHistory, expected: LogHead): void {
    if (history.head.seq !== expected.seq || history.head.hash !== expected.hash) {
      throw new ConflictError(history.entries[history.entries.length - 1] ?? null, expected);
    }
  }
}

function checkActor(actor: string): string {
  if (typeof actor !== 'string' || actor.trim() === '') throw new InputError(`a calibration change needs who made it, got ${show(actor)}`);
  return actor.trim();
}
