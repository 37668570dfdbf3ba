/**
 * The append-only audit log of a model's calibration: every accepted recalibration and every
 * rollback, in order, each entry chained to the one before by a sha256 over canonical JSON, so a
 * changed, removed or reordered entry is found and named (verifyLog). The active version is the
 * last entry's; an empty log means the manifest's own calibration. What an entry is, its hash and
 * the verification of a stored log are in chain.ts (pure, no store); this file is the store
 * interface and SiteCalibrationLog, which reads, checks and appends through it.
 *
 * Nothing here ever rewrites the log. A rollback is a new entry that makes an earlier version
 * active again. A log that fails verification blocks every change (CorruptLogError) and is left
 * as it is for a person to restore from a backup. The one exception is a torn last line (text
 * after the last newline: an interrupted append, never reported done, since a change is reported
 * only once its newline is on disk): readers refuse it (TornLogError), and the writer cuts it
 * under its lock with a 'repair' entry that keeps the bytes cut (fileStore.ts recover()).
 *
 * Storage is an interface (SiteCalibrationStore); adapters: memoryStores.ts, fileStore.ts (a JSONL
 * file, Node only), and in extension/src/siteCalibration/ IndexedDB and the served read-only log. Each must append atomically and only on top of the head the
 * entry was built on: two admins recalibrating at once, the second gets a ConflictError naming
 * the first's change, and neither change is lost.
 *
 * A chain proves the order and content of the entries it holds; it cannot tell that entries were
 * cut off the END of the log, that an older copy was put back, or that the log is gone. history()
 * checks those against heads kept apart from the log (trust.ts): the reader's remembered head and
 * the store's own record of it (the file store's active.json). Limit, stated: a reader that
 * remembers nothing, facing a log and active.json rewritten together, cannot tell.
 *
 * Every change is held to a minimum target sensitivity: the base manifest's clinical target,
 * raised (never lowered) by 'policy' entries. An accept or rollback to a calibration that targets
 * less is refused, and a reader refuses an active calibration below it.
 */
import { paramsOf } from '../calibration';
import { applyOverlay, nextSiteVersion, parseOverlay, type CalibrationOverlay } from './overlay';
import { InputError, show } from '../errors';
import type { Manifest } from '../manifest';
import { headProblem, missingLog, UntrustedLogError, type TrustedHeadMemory } from './trust';
import { activeVersion, EMPTY_HEAD, overlayHash, sealEntry, verifyLog, type AuditEntry, type LogHead, type UnreadableEntry } from './chain';

/**
 * A model's calibration log and overlays, wherever they are kept. One store object holds one
 * model's log (its sha256 is in every entry and checked).
 */
export interface SiteCalibrationStore {
  /**
   * Every stored entry, in stored order, as stored: unverified (verifyLog judges them). Null when
   * the store holds no log at all (a file that does not exist, a 404): never read as "empty".
   */
  readEntries(): Promise<readonly (AuditEntry | UnreadableEntry)[] | null>;
  /** The overlay stored under `version`, unparsed, or null. */
  readOverlay(version: string): Promise<unknown | null>;
  /**
   * Appends `entry` atomically, with `overlay` stored under entry.version in the same step when
   * given, if and only if the stored log's last entry is (entry.seq - 1, entry.prevHash).
   * Otherwise throws ConflictError naming the last stored entry, and stores nothing.
   * Never changes or removes a stored entry or overlay.
   */
  append(entry: AuditEntry, overlay?: CalibrationOverlay): Promise<void>;
  /**
   * The head the store records apart from its lines (the file store's active.json), which the log
   * must still hold; `head` null: that record is missing. Left out by stores that keep none.
   */
  readHeadRecord?(): Promise<{ readonly name: string; readonly head: LogHead | null } | null>;
  /** Where the log is, in words for messages ("the served log https://…/log.jsonl"). */
  readonly where?: string;
  /**
   * The memory of the head this reader last trusted in this log, where the reader keeps it (the
   * viewer's browser storage); SiteCalibrationLogOptions.trusted, when given, wins.
   */
  readonly trusted?: TrustedHeadMemory;
}

/** A change to a calibration that targets less sensitivity than the minimum in force: refused, nothing written. */
export class BelowMinimumError extends InputError {
  constructor(message: string) {
    super(message);
    this.name = 'BelowMinimumError';
    Object.setPrototypeOf(this, new.target.prototype);
  }
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
  constructor(readonly position: number, readonly problem: string, message?: string) {
    super(
      message ??
        `the calibration audit log is corrupt at entry ${position}: ${problem}. ` +
          'No calibration change can be made until it is restored from a backup; the log is never rewritten.',
    );
    this.name = 'CorruptLogError';
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/**
 * The log's last line is incomplete (an interrupted append). Readers refuse the whole log, since
 * they cannot tell what the line was; the writer cuts it under its lock with an audit entry.
 */
export class TornLogError extends CorruptLogError {
  constructor(position: number, problem: string) {
    super(
      position,
      problem,
      `the calibration audit log is torn: its last line (entry ${position}) is incomplete, an interrupted write (${problem}). ` +
        'Nothing is scored under it until an administrator repairs it with `chestaid-recalibrate --repair --actor NAME`, ' +
        'which cuts the line under the log lock and records the bytes cut in an audit entry.',
    );
    this.name = 'TornLogError';
    Object.setPrototypeOf(this, new.target.prototype);
  }
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
  /** The minimum target sensitivity every change is held to: the manifest's, or a 'policy' entry's above it. */
  readonly minTargetSensitivity: number;
}

export interface SiteCalibrationLogOptions {
  readonly store: SiteCalibrationStore;
  /** The validated base manifest (parseManifest), without any overlay. */
  readonly manifest: Manifest;
  /** The sha256 of the ONNX file in use (the analyzer's), when not the manifest's onnx.sha256. */
  readonly modelSha256?: string;
  readonly clock?: () => Date;
  /** The last head this reader trusted: a log that no longer holds it (or is gone) is refused. */
  readonly trusted?: TrustedHeadMemory;
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
  private readonly trusted: TrustedHeadMemory | null;

  constructor({ store, manifest, modelSha256 = manifest.onnx.sha256, clock = () => new Date(), trusted }: SiteCalibrationLogOptions) {
    this.store = store;
    this.base = manifest;
    this.modelSha256 = modelSha256.toLowerCase();
    this.clock = clock;
    this.trusted = trusted ?? store.trusted ?? null;
  }

  /** The manifest's own minimum target sensitivity: its clinical threshold's target. */
  get manifestMinimum(): number {
    return this.base.thresholds.clinical.target_sensitivity;
  }

  get baseVersion(): string {
    return this.base.calibration.version;
  }

  /**
   * The verified log. Throws UntrustedLogError when the log is missing, or no longer holds a head
   * trusted before (the reader's or the store's own record): truncated or rewound; TornLogError for
   * an incomplete last line; CorruptLogError naming the first bad entry. Remembers the head it
   * verified, for the next read.
   */
  async history(): Promise<CalibrationHistory> {
    const stored = await this.store.readEntries();
    const trusted = (await this.trusted?.recall()) ?? null;
    if (stored === null) throw missingLog(this.store.where ?? 'the calibration log', trusted, this.trusted?.who ?? null);
    const check = await verifyLog(stored, { modelSha256: this.modelSha256, baseVersion: this.baseVersion, minTargetSensitivity: this.manifestMinimum });
    if (!check.ok) {
      const bad = stored[check.position - 1] as Partial<UnreadableEntry>;
      if (check.position === stored.length && bad?.torn === true) throw new TornLogError(check.position, bad.unreadable as string);
      throw new CorruptLogError(check.position, check.problem);
    }
    const record = (await this.store.readHeadRecord?.()) ?? null;
    if (record && record.head === null && check.entries.length > 0) {
      throw new UntrustedLogError(
        'truncated',
        `${record.name}, the record of its head kept beside it, is missing while the log holds ${check.entries.length} entries: ` +
          'the two may have been cut together; an administrator checks the log against a backup and rewrites the record with `chestaid-recalibrate --repair --actor NAME`',
      );
    }
    const problem = (record?.head && headProblem(check.entries, record.head, `its own ${record.name}`)) || (trusted && headProblem(check.entries, trusted, this.trusted?.who ?? 'this reader'));
    if (problem) throw problem;
    if (this.trusted && (trusted?.seq !== check.head.seq || trusted.hash !== check.head.hash)) {
      await this.trusted.remember({ ...check.head, at: this.clock().toISOString() });
    }
    const versions = [this.baseVersion, ...check.entries.filter(e => e.action === 'accept').map(e => e.version)];
    const policies = check.entries.filter(e => e.action === 'policy');
    const minTargetSensitivity = policies.length > 0 ? (policies[policies.length - 1].minTargetSensitivity as number) : this.manifestMinimum;
    return { baseVersion: this.baseVersion, entries: check.entries, head: check.head, active: activeVersion(check.entries, this.baseVersion), versions, minTargetSensitivity };
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
    const manifest = wanted === this.baseVersion ? this.base : applyOverlay(this.base, await this.overlay(wanted, history));
    // A log written past the CLI (or before the site raised its minimum) must not score below it.
    const below = belowMinimum(manifest.thresholds.clinical.target_sensitivity, history);
    if (version === undefined && below) throw new InputError(`the active calibration ${show(wanted)} cannot be used: ${below}`);
    return { manifest, history };
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
    const below = belowMinimum(overlay.threshold.target_sensitivity, history);
    if (below) throw new BelowMinimumError(`calibration overlay ${show(overlay.version)} is refused: ${below}`);
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
    const below = belowMinimum(manifest.thresholds.clinical.target_sensitivity, history);
    if (below) throw new BelowMinimumError(`cannot roll back to calibration version ${show(version)}: ${below}`);
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
      params: paramsOf(manifest.calibration, method),
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

  /**
   * Raises the site's minimum target sensitivity with a 'policy' entry. Only upward, and only to
   * what the active calibration already meets (recalibrate first): a minimum the calibration in
   * use breaks would stop every reader.
   */
  async raiseMinimum(value: number, { actor, expectedHead }: ChangeOptions): Promise<AuditEntry> {
    const { manifest, history } = await this.manifestOf();
    this.checkHead(history, expectedHead);
    if (!(typeof value === 'number' && value > 0 && value <= 1)) throw new InputError(`a minimum target sensitivity must be in (0, 1], got ${show(value)}`);
    if (!(value > history.minTargetSensitivity)) {
      throw new InputError(
        `the minimum target sensitivity can only be raised: ${show(value)} is not above the current ${show(history.minTargetSensitivity)}` +
          (history.minTargetSensitivity === this.manifestMinimum ? " (the manifest's clinical target)" : ''),
      );
    }
    const active = manifest.thresholds.clinical.target_sensitivity;
    if (active < value) {
      throw new InputError(`the active calibration ${show(history.active)} targets sensitivity ${show(active)}, below ${show(value)}: recalibrate at ${show(value)} or more first`);
    }
    const entry = await sealEntry({
      ...unchangedDraft(history.entries[history.entries.length - 1] ?? null, this.base, this.modelSha256),
      seq: history.head.seq + 1,
      at: this.clock().toISOString(),
      actor: checkActor(actor),
      action: 'policy',
      prevHash: history.head.hash,
      minTargetSensitivity: value,
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

/**
 * The calibration fields of an entry that leaves the active calibration as it is ('repair',
 * 'policy'): the last entry's, since every entry records the calibration active after it, or the
 * base manifest's for an empty log.
 */
export function unchangedDraft(
  last: AuditEntry | null,
  base: Manifest,
  modelSha256: string,
): Pick<AuditEntry, 'version' | 'previousVersion' | 'cohort' | 'method' | 'params' | 'threshold' | 'metricsBefore' | 'metricsAfter' | 'modelSha256' | 'overlaySha256'> {
  const version = last?.version ?? base.calibration.version;
  const method = last?.method ?? base.calibration.selected;
  return {
    version,
    previousVersion: version,
    cohort: last?.cohort ?? null,
    method,
    params: last?.params ?? paramsOf(base.calibration, method),
    threshold: last?.threshold ?? base.thresholds.clinical.value,
    metricsBefore: null,
    metricsAfter: null,
    modelSha256: modelSha256.toLowerCase(),
    overlaySha256: last?.overlaySha256 ?? null,
  };
}

/** Why a calibration targeting `target` breaks the history's minimum, or null. */
function belowMinimum(target: number, history: CalibrationHistory): string | null {
  if (target >= history.minTargetSensitivity - 1e-12) return null;
  return `it targets sensitivity ${show(target)}, below the minimum ${show(history.minTargetSensitivity)} this model's calibration may target`;
}

function checkActor(actor: string): string {
  if (typeof actor !== 'string' || actor.trim() === '') throw new InputError(`a calibration change needs who made it, got ${show(actor)}`);
  return actor.trim();
}
