/**
 * The calibration log, overlays and radiologists' feedback in the browser's IndexedDB, in a
 * database of their own ("chestaid-site"): the triage results' database ("chestaid") is left at
 * its version, so no upgrade can lose or block what it holds.
 *
 * Schema (version 2; version 1 lacked the outbox, added by the upgrade without touching the rest):
 *   calibrationLog       keyPath [modelSha256, seq]: one chain per model; index "model"
 *   calibrationOverlays  keyPath [modelSha256, version], value { modelSha256, version, overlay }
 *   feedback             autoIncrement id, index "image" on [study, series, instance UID],
 *                        index "model" on modelSha256
 *   feedbackOutbox       keyPath id (the feedback entry's): its delivery to the PACS
 *                        (core's siteCalibration/feedbackOutbox.ts)
 *
 * Every write here is ground truth or an audit record, so it commits with durability 'strict':
 * the transaction completes only once the browser has flushed it to disk, not when the write
 * sits in the OS cache (Chromium's default, 'relaxed', can lose it to a power cut). Feedback
 * bound for the PACS is stored and queued in one transaction, so a crash leaves both or neither.
 *
 * An append runs in ONE readwrite transaction over the log and the overlays, with callbacks, not
 * awaits, between its read of the head and its writes, so the transaction cannot commit in
 * between and two tabs cannot both append on the same head: IndexedDB serialises overlapping
 * readwrite transactions, and `add` refuses an existing key besides.
 *
 * This store is per browser profile. The log a hospital shares is the file store the CLI writes
 * next to the model and the web server serves (fileStore.ts, servedCalibration.ts).
 */
import {
  appendConflict,
  type AuditEntry,
  type CalibrationOverlay,
  type SiteCalibrationStore,
  type FeedbackEntry,
  type FeedbackStore,
  type ImageIdentity,
  type StoredFeedback,
  newDelivery,
  type FeedbackDelivery,
  type OutboxStore,
} from '@chestaid/core';
import { committed as idbCommitted, IdbConnection, type IdbStoreLabel } from '../idb';

export const SITE_DATABASE = 'chestaid-site';
const VERSION = 2;
const LOG = 'calibrationLog';
const OVERLAYS = 'calibrationOverlays';
const FEEDBACK = 'feedback';
const OUTBOX = 'feedbackOutbox';
/** For every readwrite transaction of this database (see the header). */
export const STRICT: IDBTransactionOptions = Object.freeze({ durability: 'strict' });
const IMAGE_INDEX = 'image';
const MODEL_INDEX = 'model';

export interface SiteDatabaseOptions {
  readonly indexedDB?: IDBFactory;
  readonly name?: string;
}

const SITE: IdbStoreLabel = { label: 'site' };

/**
 * Resolves once the transaction has committed; rejects with `abortReason()` or the transaction's
 * error. Error events wait for the abort that follows, so they do not reach window.onerror.
 */
function committed<T>(transaction: IDBTransaction, what: string, result: () => T, abortReason: () => Error | null = () => null): Promise<T> {
  return idbCommitted(SITE, transaction, what, result, { abortReason, onError: 'await-abort' });
}

function upgrade(db: IDBDatabase): void {
  if (!db.objectStoreNames.contains(LOG)) {
    // Read through the model index: equal index keys come in primary-key (seq) order, so
    // no IDBKeyRange is needed (jest's node environment has none).
    db.createObjectStore(LOG, { keyPath: ['modelSha256', 'seq'] }).createIndex(MODEL_INDEX, 'modelSha256', { unique: false });
  }
  if (!db.objectStoreNames.contains(OVERLAYS)) db.createObjectStore(OVERLAYS, { keyPath: ['modelSha256', 'version'] });
  if (!db.objectStoreNames.contains(FEEDBACK)) {
    const feedback = db.createObjectStore(FEEDBACK, { keyPath: 'id', autoIncrement: true });
    feedback.createIndex(IMAGE_INDEX, ['studyInstanceUID', 'seriesInstanceUID', 'sopInstanceUID'], { unique: false });
    feedback.createIndex(MODEL_INDEX, 'modelSha256', { unique: false });
  }
  if (!db.objectStoreNames.contains(OUTBOX)) db.createObjectStore(OUTBOX, { keyPath: 'id' });
}

/** One connection per factory and name, opened on first use and reopened after a version change. */
export class SiteDatabase {
  private readonly connection: IdbConnection;

  constructor({ indexedDB = globalThis.indexedDB, name = SITE_DATABASE }: SiteDatabaseOptions = {}) {
    if (!indexedDB) throw new Error('this browser offers no IndexedDB: calibration changes and feedback cannot be kept');
    this.connection = new IdbConnection({ ...SITE, factory: indexedDB, name, version: VERSION, upgrade });
  }

  open(): Promise<IDBDatabase> {
    return this.connection.open();
  }

  close(): Promise<void> {
    return this.connection.close();
  }
}

/** One model's calibration log and overlays in the site database. */
export class IndexedDbSiteCalibrationStore implements SiteCalibrationStore {
  private readonly db: SiteDatabase;
  readonly modelSha256: string;

  constructor(modelSha256: string, db: SiteDatabase = new SiteDatabase()) {
    this.modelSha256 = modelSha256.toLowerCase();
    this.db = db;
  }

  async readEntries(): Promise<readonly AuditEntry[]> {
    const db = await this.db.open();
    const transaction = db.transaction(LOG, 'readonly');
    const request = transaction.objectStore(LOG).index(MODEL_INDEX).getAll(this.modelSha256);
    return committed(transaction, 'read the calibration log', () => request.result as AuditEntry[]);
  }

  async readOverlay(version: string): Promise<unknown | null> {
    const db = await this.db.open();
    const transaction = db.transaction(OVERLAYS, 'readonly');
    const request = transaction.objectStore(OVERLAYS).get([this.modelSha256, version]);
    return committed(transaction, 'read a calibration overlay', () => (request.result as { overlay: unknown } | undefined)?.overlay ?? null);
  }

  async append(entry: AuditEntry, overlay?: CalibrationOverlay): Promise<void> {
    if (entry.modelSha256 !== this.modelSha256) {
      throw new Error(`this calibration log is for model sha256 ${this.modelSha256}, not ${entry.modelSha256}`);
    }
    if (overlay && overlay.version !== entry.version) throw new Error(`overlay ${overlay.version} does not belong to entry version ${entry.version}`);
    const db = await this.db.open();
    const transaction = db.transaction([LOG, OVERLAYS], 'readwrite', STRICT);
    const log = transaction.objectStore(LOG);
    let refused: Error | null = null;
    const last = log.index(MODEL_INDEX).openCursor(this.modelSha256, 'prev');
    last.onsuccess = () => {
      const conflict = appendConflict((last.result?.value as AuditEntry | undefined) ?? null, entry);
      if (conflict) {
        refused = conflict;
        transaction.abort();
        return;
      }
      log.add(entry);
      if (overlay) {
        const put = transaction.objectStore(OVERLAYS).add({ modelSha256: this.modelSha256, version: overlay.version, overlay });
        put.onerror = () => {
          refused = new Error(`calibration overlay ${overlay.version} is already stored for this model; versions are never replaced`);
        };
      }
    };
    await committed(transaction, 'append to the calibration log', () => undefined, () => refused);
  }
}

/**
 * Radiologists' feedback in the site database: append-only, every entry kept; and the outbox of
 * the entries bound for the PACS (addQueued stores and queues in one transaction).
 */
export class IndexedDbFeedbackStore implements FeedbackStore, OutboxStore {
  constructor(private readonly db: SiteDatabase = new SiteDatabase()) {}

  async add(entry: FeedbackEntry): Promise<StoredFeedback> {
    const db = await this.db.open();
    const transaction = db.transaction(FEEDBACK, 'readwrite', STRICT);
    // The store assigns the id (autoIncrement); an entry never carries one in.
    const { id: _id, ...body } = entry as FeedbackEntry & { id?: number };
    const request = transaction.objectStore(FEEDBACK).add(body);
    return committed(transaction, 'record the feedback', () => ({ ...body, id: request.result as number }));
  }

  async addQueued(entry: FeedbackEntry, queuedAt: string): Promise<FeedbackDelivery> {
    const db = await this.db.open();
    const transaction = db.transaction([FEEDBACK, OUTBOX], 'readwrite', STRICT);
    const { id: _id, ...body } = entry as FeedbackEntry & { id?: number };
    let delivery: FeedbackDelivery | null = null;
    const request = transaction.objectStore(FEEDBACK).add(body);
    request.onsuccess = () => {
      delivery = newDelivery({ ...body, id: request.result as number }, queuedAt);
      transaction.objectStore(OUTBOX).add(delivery);
    };
    return committed(transaction, 'record and queue the feedback', () => delivery as FeedbackDelivery);
  }

  async deliveries(): Promise<FeedbackDelivery[]> {
    const db = await this.db.open();
    const transaction = db.transaction(OUTBOX, 'readonly');
    const request = transaction.objectStore(OUTBOX).getAll();
    return committed(transaction, 'read the feedback outbox', () => request.result as FeedbackDelivery[]);
  }

  async delivery(id: number): Promise<FeedbackDelivery | null> {
    const db = await this.db.open();
    const transaction = db.transaction(OUTBOX, 'readonly');
    const request = transaction.objectStore(OUTBOX).get(id);
    return committed(transaction, 'read a feedback delivery', () => (request.result as FeedbackDelivery | undefined) ?? null);
  }

  async putDelivery(delivery: FeedbackDelivery): Promise<void> {
    const db = await this.db.open();
    const transaction = db.transaction(OUTBOX, 'readwrite', STRICT);
    const outbox = transaction.objectStore(OUTBOX);
    let missing = false;
    // Only a queued delivery is updated: a put must never invent one.
    const known = outbox.getKey(delivery.id);
    known.onsuccess = () => {
      if (known.result === undefined) {
        missing = true;
        transaction.abort();
        return;
      }
      outbox.put(delivery);
    };
    await committed(transaction, 'update a feedback delivery', () => undefined, () => (missing ? new Error(`no queued feedback delivery ${delivery.id}`) : null));
  }

  async list(): Promise<StoredFeedback[]> {
    const db = await this.db.open();
    const transaction = db.transaction(FEEDBACK, 'readonly');
    const request = transaction.objectStore(FEEDBACK).getAll();
    return committed(transaction, 'read the feedback', () => request.result as StoredFeedback[]);
  }

  async forImage(image: ImageIdentity): Promise<StoredFeedback[]> {
    const db = await this.db.open();
    const transaction = db.transaction(FEEDBACK, 'readonly');
    const request = transaction.objectStore(FEEDBACK).index(IMAGE_INDEX).getAll([image.studyInstanceUID, image.seriesInstanceUID, image.sopInstanceUID]);
    return committed(transaction, 'read the feedback of an image', () => request.result as StoredFeedback[]);
  }
}
