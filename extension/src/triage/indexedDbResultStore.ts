/**
 * The ResultStore in the browser's IndexedDB, so triage results survive reloads and stay on this
 * machine (nothing is sent anywhere). The factory is a parameter: jest passes fake-indexeddb's,
 * the browser its own.
 *
 * Schema (version 1):
 *   results   keyPath [studyInstanceUID, seriesInstanceUID, sopInstanceUID, modelSha256,
 *             calibrationVersion] (core.recordKey), index "study" on studyInstanceUID
 *   batches   the unfinished batch, under the key "current"
 *
 * Writes that must look before they leap (a failure must not replace a score) run inside one
 * readwrite transaction, in callbacks rather than awaits, so the transaction cannot commit
 * between the read and the write.
 */
import { recordKey, type ImageIdentity, type ModelIdentity } from '@chestaid/core';
import { normalised, replaces, StoreListeners, type BatchMarker, type ResultStore, type StoredResult } from './resultStore';
import { committed as idbCommitted, IdbConnection, type IdbStoreLabel } from '../idb';

export const DATABASE_NAME = 'chestaid';
const VERSION = 1;
const RESULTS = 'results';
const BATCHES = 'batches';
const STUDY_INDEX = 'study';
const CURRENT_BATCH = 'current';
const KEY_PATH = ['studyInstanceUID', 'seriesInstanceUID', 'sopInstanceUID', 'modelSha256', 'calibrationVersion'];

export interface IndexedDbResultStoreOptions {
  readonly indexedDB?: IDBFactory;
  readonly name?: string;
}

const RESULT: IdbStoreLabel = { label: 'result' };

/** Resolves with the request's result once its transaction has committed. */
function committed<T>(transaction: IDBTransaction, what: string, result: () => T): Promise<T> {
  return idbCommitted(RESULT, transaction, what, result, { onError: 'reject' });
}

function upgrade(db: IDBDatabase): void {
  if (!db.objectStoreNames.contains(RESULTS)) {
    const results = db.createObjectStore(RESULTS, { keyPath: KEY_PATH });
    results.createIndex(STUDY_INDEX, 'studyInstanceUID', { unique: false });
  }
  if (!db.objectStoreNames.contains(BATCHES)) db.createObjectStore(BATCHES);
}

export class IndexedDbResultStore implements ResultStore {
  private readonly connection: IdbConnection;
  private readonly listeners = new StoreListeners();

  constructor({ indexedDB = globalThis.indexedDB, name = DATABASE_NAME }: IndexedDbResultStoreOptions = {}) {
    if (!indexedDB) throw new Error('this browser offers no IndexedDB: triage results cannot be kept');
    this.connection = new IdbConnection({ ...RESULT, factory: indexedDB, name, version: VERSION, upgrade });
  }

  /** Opens the database once; a failed open is retried on the next call. */
  private open(): Promise<IDBDatabase> {
    return this.connection.open();
  }

  async put(record: StoredResult): Promise<boolean> {
    const stored = normalised(record);
    const db = await this.open();
    const transaction = db.transaction(RESULTS, 'readwrite');
    const results = transaction.objectStore(RESULTS);
    let written = false;
    const read = results.get(recordKey(stored) as unknown as IDBValidKey);
    read.onsuccess = () => {
      const existing = read.result as StoredResult | undefined;
      if (!replaces(stored, existing)) return;
      results.put(stored);
      written = true;
    };
    await committed(transaction, 'store a result', () => undefined);
    if (written) this.listeners.notify(stored);
    return written;
  }

  async get(image: ImageIdentity & ModelIdentity): Promise<StoredResult | undefined> {
    const key = recordKey(image) as unknown as IDBValidKey;
    const db = await this.open();
    const transaction = db.transaction(RESULTS, 'readonly');
    const request = transaction.objectStore(RESULTS).get(key);
    return committed(transaction, 'read a result', () => request.result as StoredResult | undefined);
  }

  async forStudies(studyUIDs: readonly string[]): Promise<Map<string, StoredResult[]>> {
    const found = new Map<string, StoredResult[]>();
    const unique = [...new Set(studyUIDs)].filter(uid => typeof uid === 'string' && uid !== '');
    if (unique.length === 0) return found;
    const db = await this.open();
    const transaction = db.transaction(RESULTS, 'readonly');
    const index = transaction.objectStore(RESULTS).index(STUDY_INDEX);
    for (const uid of unique) {
      const request = index.getAll(uid);
      request.onsuccess = () => {
        if (request.result.length > 0) found.set(uid, request.result as StoredResult[]);
      };
    }
    return committed(transaction, 'read the results of studies', () => found);
  }

  async loadBatch(): Promise<BatchMarker | null> {
    const db = await this.open();
    const transaction = db.transaction(BATCHES, 'readonly');
    const request = transaction.objectStore(BATCHES).get(CURRENT_BATCH);
    return committed(transaction, 'read the unfinished batch', () => (request.result as BatchMarker | undefined) ?? null);
  }

  async saveBatch(marker: BatchMarker): Promise<void> {
    const db = await this.open();
    const transaction = db.transaction(BATCHES, 'readwrite');
    transaction.objectStore(BATCHES).put(marker, CURRENT_BATCH);
    return committed(transaction, 'record the batch', () => undefined);
  }

  async clearBatch(): Promise<void> {
    const db = await this.open();
    const transaction = db.transaction(BATCHES, 'readwrite');
    transaction.objectStore(BATCHES).delete(CURRENT_BATCH);
    return committed(transaction, 'clear the batch', () => undefined);
  }

  subscribe(listener: (record: StoredResult) => void): { unsubscribe: () => void } {
    return this.listeners.subscribe(listener);
  }

  /** Closes the connection (tests; a page simply goes away). */
  close(): Promise<void> {
    return this.connection.close();
  }
}
