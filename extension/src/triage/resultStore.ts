/**
 * Where triage results live between page loads, as its users (the batch, the triage service and
 * ChestAidService through outcomeStore.ts) need it. The browser's adapter is IndexedDB
 * (indexedDbResultStore.ts); MemoryResultStore serves where storage is blocked and in tests.
 *
 * A failure never replaces a score or a refusal (a later fetch failure must not lose what was
 * decided); a refusal replaces a score (the gate refuses what was scored before it existed).
 *
 * Records are keyed by core.recordKey (study, series, instance, model sha256, calibration
 * version): results of another model or calibration are kept beside the current ones, never
 * overwritten by them nor mixed with them; core.studyStatus calls them stale.
 */
import { checkRecord, recordKey, type ImageIdentity, type ModelIdentity, type Refusal, type ResultRecord } from '@chestaid/core';
import type { AnalysisOutcome } from '../analysis/types';

/** A stored result: the core's record, plus what the panel needs to show it without a re-run. */
export type StoredResult = ResultRecord & {
  /** Who made it: "Analyze all", the panel's Analyze, or a ChestAid SR read from the PACS. */
  readonly source: 'batch' | 'panel' | 'pacs';
  /** For a PACS result: the SR it was read from. */
  readonly srSopInstanceUID?: string;
  /** The Cornerstone imageId the pixels were read from. */
  readonly imageId?: string;
  /** The panel's outcome (analysis with its CAM, and how it ran); present on scores. */
  readonly outcome?: AnalysisOutcome;
};

/** A batch that was started and neither finished nor cancelled: what to resume after a reload. */
export interface BatchMarker {
  readonly studyUIDs: readonly string[];
  readonly model: ModelIdentity;
  /** Wall-clock start, ms since the epoch. */
  readonly startedAt: number;
}

export interface ResultStore {
  /**
   * Stores a result under its key. A failure never replaces a score under the same key (a later
   * fetch failure must not lose what was scored): put then resolves false.
   */
  put(record: StoredResult): Promise<boolean>;
  get(image: ImageIdentity & ModelIdentity): Promise<StoredResult | undefined>;
  /** Every stored result of each study, under any model; studies without any are absent. */
  forStudies(studyUIDs: readonly string[]): Promise<Map<string, StoredResult[]>>;
  loadBatch(): Promise<BatchMarker | null>;
  saveBatch(marker: BatchMarker): Promise<void>;
  clearBatch(): Promise<void>;
  /** Tells `listener` of every record written through this store object. */
  subscribe(listener: (record: StoredResult) => void): { unsubscribe: () => void };
}

/** The record as stored: checked, with the sha256 in the key's lower case. */
export function normalised(record: StoredResult): StoredResult {
  checkRecord(record);
  return { ...record, modelSha256: record.modelSha256.toLowerCase() };
}

export function keyText(image: ImageIdentity & ModelIdentity): string {
  return JSON.stringify(recordKey(image));
}

interface RecordArgs {
  image: ImageIdentity;
  model: ModelIdentity;
  source: StoredResult['source'];
  imageId?: string;
  analyzedAt: number;
}

/** What every record carries: the key (image, model bytes, calibration), when, and from where. */
function recordBase({ image, model, source, imageId, analyzedAt }: RecordArgs) {
  return {
    studyInstanceUID: image.studyInstanceUID,
    seriesInstanceUID: image.seriesInstanceUID,
    sopInstanceUID: image.sopInstanceUID,
    modelSha256: model.modelSha256.toLowerCase(),
    calibrationVersion: model.calibrationVersion,
    analyzedAt,
    source,
    ...(imageId ? { imageId } : {}),
  };
}

/** The record of a finished analysis. */
export function scoredRecord({ outcome, ...args }: RecordArgs & { outcome: AnalysisOutcome }): StoredResult {
  return { ...recordBase(args), status: 'scored', probability: outcome.analysis.probability, outcome };
}

/** The record of an analysis that could not be made, with the reason a reader will see. */
export function failedRecord({ reason, ...args }: RecordArgs & { reason: string }): StoredResult {
  return { ...recordBase(args), status: 'failed', reason };
}

/** The record of an image not analyzed: the refusal's code and the reason a reader will see. */
export function refusedRecord({ refusal, ...args }: RecordArgs & { refusal: Refusal }): StoredResult {
  return { ...recordBase(args), status: 'refused', code: refusal.code, reason: refusal.reason, ...(refusal.message ? { message: refusal.message } : {}) };
}

/** Whether `record` may take the place of `existing` under the same key: a failure never replaces a decision. */
export function replaces(record: StoredResult, existing: StoredResult | undefined): boolean {
  return !(record.status === 'failed' && (existing?.status === 'scored' || existing?.status === 'refused'));
}

/** Listeners of a store, told after each write. */
export class StoreListeners {
  private readonly listeners = new Set<(record: StoredResult) => void>();

  subscribe(listener: (record: StoredResult) => void): { unsubscribe: () => void } {
    this.listeners.add(listener);
    return { unsubscribe: () => this.listeners.delete(listener) };
  }

  notify(record: StoredResult): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(record);
      } catch (error) {
        // One broken listener must not stop the others, nor fail the write that already happened.
        console.error('ChestAid: a result-store listener failed', error);
      }
    }
  }
}

/** Results in memory for this page only: where IndexedDB is unavailable, and in tests. */
export class MemoryResultStore implements ResultStore {
  private readonly records = new Map<string, StoredResult>();
  private batch: BatchMarker | null = null;
  private readonly listeners = new StoreListeners();

  async put(record: StoredResult): Promise<boolean> {
    const stored = normalised(record);
    const key = keyText(stored);
    if (!replaces(stored, this.records.get(key))) return false;
    this.records.set(key, structuredClone(stored));
    this.listeners.notify(stored);
    return true;
  }

  async get(image: ImageIdentity & ModelIdentity): Promise<StoredResult | undefined> {
    const found = this.records.get(keyText(image));
    return found && structuredClone(found);
  }

  async forStudies(studyUIDs: readonly string[]): Promise<Map<string, StoredResult[]>> {
    const wanted = new Set(studyUIDs);
    const found = new Map<string, StoredResult[]>();
    for (const record of this.records.values()) {
      if (!wanted.has(record.studyInstanceUID)) continue;
      const list = found.get(record.studyInstanceUID) ?? [];
      list.push(structuredClone(record));
      found.set(record.studyInstanceUID, list);
    }
    return found;
  }

  async loadBatch(): Promise<BatchMarker | null> {
    return this.batch && structuredClone(this.batch);
  }

  async saveBatch(marker: BatchMarker): Promise<void> {
    this.batch = structuredClone(marker);
  }

  async clearBatch(): Promise<void> {
    this.batch = null;
  }

  subscribe(listener: (record: StoredResult) => void): { unsubscribe: () => void } {
    return this.listeners.subscribe(listener);
  }
}
