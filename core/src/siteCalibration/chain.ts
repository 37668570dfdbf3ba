/**
 * The entries of the calibration audit log and their hash chain, pure and without a store: what
 * an entry is, the canonical JSON and sha256 it is hashed by, a stored JSON Lines text read as
 * entries (a torn last line kept as an UnreadableEntry, not dropped), and verifyLog, which finds
 * and names the first changed, removed, reordered or malformed entry. log.ts appends through a
 * store on top of this.
 *
 * Four actions: 'accept' (a new version), 'rollback' (an earlier one again), 'repair' (what a
 * writer mended: a torn tail cut, an orphan overlay moved aside; the active version is unchanged)
 * and 'policy' (the site raises its minimum target sensitivity; never lowers it).
 */
import type { NoneParams, SelectableMethod } from '../calibration';
import type { CalibrationOverlay, OverlayMetrics, OverlayParams } from './overlay';
import { InputError, show } from '../errors';

/** prevHash of the first entry. */
export const GENESIS_HASH = '0'.repeat(64);

export type AuditAction = 'accept' | 'rollback' | 'repair' | 'policy';

/** What a 'repair' entry mended. Every byte taken out of the log or the overlays is accounted for. */
export interface RepairRecord {
  readonly what: 'torn-tail' | 'orphan-overlay' | 'head-record';
  /** In words, for the history. */
  readonly detail: string;
  /** sha256 and length of the bytes cut (torn-tail) or moved aside (orphan-overlay). */
  readonly sha256?: string;
  readonly bytes?: number;
  /** torn-tail: the bytes cut, base64, so nothing is lost. */
  readonly cutBase64?: string;
  /** orphan-overlay: the version the file claimed, and where it now lies (relative to the calibration directory). */
  readonly version?: string;
  readonly movedTo?: string;
}

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
  readonly method: SelectableMethod;
  readonly params: OverlayParams | NoneParams;
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
  /** 'repair' entries only. */
  readonly repair?: RepairRecord;
  /** 'policy' entries only: the site's minimum target sensitivity from this entry on. */
  readonly minTargetSensitivity?: number;
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
  /** Text after the last newline: an interrupted append, which the writer may cut. */
  readonly torn?: true;
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
  if (torn !== '') entries.push({ unreadable: describe.torn(lines.length + 1), torn: true });
  return entries;
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
/** Present on one action only: repair on 'repair', minTargetSensitivity on 'policy'. */
const ACTION_KEYS: Readonly<Record<string, AuditAction>> = { repair: 'repair', minTargetSensitivity: 'policy' };
const REPAIRS = ['torn-tail', 'orphan-overlay', 'head-record'];

/** What is wrong with the shape of one stored entry, or null. */
function shapeProblem(raw: unknown): string | null {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return `it is not an entry object (${show(raw)})`;
  if ('unreadable' in raw) return `it cannot be read (${(raw as UnreadableEntry).unreadable})`;
  const e = raw as Record<string, unknown>;
  const missing = ENTRY_KEYS.filter(k => !(k in e));
  if (missing.length > 0) return `it lacks ${missing.join(', ')}`;
  const extra = Object.keys(e).filter(k => !ENTRY_KEYS.includes(k) && !(k in ACTION_KEYS));
  if (extra.length > 0) return `it has unknown fields ${extra.join(', ')}`;
  if (!Number.isInteger(e.seq)) return `seq ${show(e.seq)} is not an integer`;
  if (!['accept', 'rollback', 'repair', 'policy'].includes(e.action as string)) return `action ${show(e.action)} is not accept, rollback, repair or policy`;
  for (const [key, action] of Object.entries(ACTION_KEYS)) {
    if ((key in e) !== (e.action === action)) return `${key} ${key in e ? 'appears on' : 'is missing from'} a ${show(e.action)} entry`;
  }
  if (e.action === 'repair') {
    const r = e.repair as Record<string, unknown> | null;
    if (typeof r !== 'object' || r === null || !REPAIRS.includes(r.what as string) || typeof r.detail !== 'string') {
      return `repair ${show(e.repair)} does not say what was repaired (${REPAIRS.join(', ')}) and how`;
    }
  }
  if (e.action === 'policy' && !(typeof e.minTargetSensitivity === 'number' && e.minTargetSensitivity > 0 && e.minTargetSensitivity <= 1)) {
    return `minTargetSensitivity ${show(e.minTargetSensitivity)} is not a sensitivity in (0, 1]`;
  }
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
  /** The manifest's minimum target sensitivity: a 'policy' entry must raise the minimum above it. */
  readonly minTargetSensitivity?: number;
}

/**
 * Verifies a stored log: each entry's shape, seq 1, 2, 3... without gaps, the chain of prevHash
 * and hash, the model, and the version history (an accept introduces a new version, a rollback
 * returns to one accepted before or to the base, each previousVersion is the version active
 * before it). Reports the first entry that fails and why; entries before it verify.
 */
export async function verifyLog(stored: readonly unknown[], { modelSha256, baseVersion, minTargetSensitivity = 0 }: VerifyOptions = {}): Promise<LogCheck> {
  const good: AuditEntry[] = [];
  let head = EMPTY_HEAD;
  let active = baseVersion;
  let minimum = minTargetSensitivity;
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
    if ((entry.action === 'repair' || entry.action === 'policy') && entry.version !== entry.previousVersion) {
      return fail(`a ${entry.action} entry changes the version from ${show(entry.previousVersion)} to ${show(entry.version)}`);
    }
    if (entry.action === 'policy') {
      if (!((entry.minTargetSensitivity as number) > minimum)) {
        return fail(`it sets the minimum target sensitivity to ${show(entry.minTargetSensitivity)}, not above ${show(minimum)}: the minimum is only ever raised`);
      }
      minimum = entry.minTargetSensitivity as number;
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
