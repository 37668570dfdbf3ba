/**
 * The feedback outbox in IndexedDB (fake-indexeddb): an entry bound for the PACS and its
 * delivery are written in one strict transaction, the queue outlives the page (a new database
 * connection, as after a reload, sends what was left), the schema upgrade from version 1 keeps
 * the feedback recorded before it, and every write of the site database (feedback, outbox,
 * calibration log) asks for durability 'strict'.
 */
import { IDBFactory } from 'fake-indexeddb';

import { EMPTY_HEAD, FeedbackBook, FeedbackOutbox, type FeedbackInput, type FeedbackSink, OutboxRunner, SiteCalibrationLog, type StoredFeedback } from '@chestaid/core';
import { DEMO_SHA, demoManifest, feedbackInput, overlayJson } from '@chestaid/core/testing';
import { IndexedDbFeedbackStore, IndexedDbSiteCalibrationStore, SITE_DATABASE, SiteDatabase } from './indexedDbStores';

const input = (over: Partial<FeedbackInput> = {}): FeedbackInput => feedbackInput({ modelSha256: DEMO_SHA, calibrationVersion: '1', ...over });

function pacs(mode: 'up' | 'down' = 'up') {
  const received: StoredFeedback[] = [];
  const sink: FeedbackSink & { mode: 'up' | 'down' } = {
    mode,
    wants: () => true,
    async send(entry) {
      if (this.mode === 'down') throw Object.assign(new Error('PACS unreachable'), { retryable: true });
      received.push(entry);
    },
  };
  return { sink, received };
}

/** Records the options of every transaction the database opens. */
function watchTransactions(db: IDBDatabase): { stores: string[]; mode: IDBTransactionMode; durability: string }[] {
  const seen: { stores: string[]; mode: IDBTransactionMode; durability: string }[] = [];
  const original = db.transaction.bind(db);
  db.transaction = ((stores: string | string[], mode?: IDBTransactionMode, options?: IDBTransactionOptions) => {
    const transaction = original(stores, mode, options);
    seen.push({ stores: [stores].flat(), mode: transaction.mode, durability: transaction.durability });
    return transaction;
  }) as IDBDatabase['transaction'];
  return seen;
}

describe('the feedback outbox in IndexedDB', () => {
  it('survives a reload: a new connection finds the pending delivery and sends it once the PACS is back', async () => {
    const factory = new IDBFactory();
    const first = pacs('down');
    const store = new IndexedDbFeedbackStore(new SiteDatabase({ indexedDB: factory }));
    const book = new FeedbackBook({ store, outbox: new FeedbackOutbox({ store, sink: first.sink }) });
    const { entry, delivery } = await book.record(input());
    expect(delivery).toMatchObject({ state: 'pending', attempts: 1, lastError: 'PACS unreachable' });

    // The page goes away; another loads over the same browser storage.
    const reloaded = new IndexedDbFeedbackStore(new SiteDatabase({ indexedDB: factory }));
    const again = pacs('up');
    const outbox = new FeedbackOutbox({ store: reloaded, sink: again.sink });
    const runner = new OutboxRunner({ outbox, setTimer: () => 0, clearTimer: () => undefined });
    await runner.start();
    runner.stop();
    expect(again.received).toEqual([entry]);
    expect(await outbox.summary()).toMatchObject({ pending: 0, sent: 1 });
    expect(await reloaded.delivery(entry.id)).toMatchObject({ state: 'sent', attempts: 2 });
    expect(await reloaded.list()).toEqual([entry]);
  });

  it('stores and queues in one transaction: a queue write that fails leaves no entry either', async () => {
    const factory = new IDBFactory();
    const db = new SiteDatabase({ indexedDB: factory });
    const store = new IndexedDbFeedbackStore(db);
    const { entry } = await new FeedbackBook({ store, outbox: new FeedbackOutbox({ store, sink: pacs().sink }) }).record(input());
    // A delivery already under the next id makes the outbox's add fail inside the transaction.
    const connection = await db.open();
    await new Promise<void>((resolve, reject) => {
      const transaction = connection.transaction('feedbackOutbox', 'readwrite');
      transaction.objectStore('feedbackOutbox').put({ id: entry.id + 1, placeholder: true });
      transaction.oncomplete = () => resolve();
      transaction.onerror = () => reject(transaction.error);
    });
    await expect(store.addQueued({ ...input({ label: 'normal' }), at: '2026-11-26T12:00:00.000Z' }, '2026-11-26T12:00:00.000Z')).rejects.toThrow(
      /could not record and queue the feedback/,
    );
    expect((await store.list()).map(e => e.label)).toEqual(['pneumonia']);
  });

  it('refuses to update a delivery that was never queued', async () => {
    const store = new IndexedDbFeedbackStore(new SiteDatabase({ indexedDB: new IDBFactory() }));
    const { entry } = await new FeedbackBook({ store }).record(input());
    await expect(store.putDelivery({ id: entry.id, entry, state: 'sent', attempts: 1, queuedAt: entry.at, nextAttemptAt: null, lastAttemptAt: entry.at, lastError: null, sentAt: entry.at })).rejects.toThrow(
      `no queued feedback delivery ${entry.id}`,
    );
    expect(await store.deliveries()).toEqual([]);
  });

  it('upgrades a version 1 database and keeps the feedback recorded before', async () => {
    const factory = new IDBFactory();
    await new Promise<void>((resolve, reject) => {
      const request = factory.open(SITE_DATABASE, 1);
      request.onupgradeneeded = () => {
        const feedback = request.result.createObjectStore('feedback', { keyPath: 'id', autoIncrement: true });
        feedback.createIndex('image', ['studyInstanceUID', 'seriesInstanceUID', 'sopInstanceUID'], { unique: false });
        feedback.createIndex('model', 'modelSha256', { unique: false });
        feedback.add({ ...input(), at: '2026-11-01T08:00:00.000Z' });
      };
      request.onsuccess = () => {
        request.result.close();
        resolve();
      };
      request.onerror = () => reject(request.error);
    });
    const store = new IndexedDbFeedbackStore(new SiteDatabase({ indexedDB: factory }));
    expect((await store.list()).map(e => e.at)).toEqual(['2026-11-01T08:00:00.000Z']);
    const { delivery } = await new FeedbackBook({ store, outbox: new FeedbackOutbox({ store, sink: pacs().sink }) }).record(input());
    expect(delivery).toMatchObject({ id: 2, state: 'sent' });
  });
});

describe('durability of the site database', () => {
  it("commits feedback, the outbox and the calibration log with durability 'strict'", async () => {
    const db = new SiteDatabase({ indexedDB: new IDBFactory() });
    const seen = watchTransactions(await db.open());
    const store = new IndexedDbFeedbackStore(db);
    const sink = pacs('down').sink;
    const book = new FeedbackBook({ store, outbox: new FeedbackOutbox({ store, sink }) });
    await new FeedbackBook({ store }).record(input());
    await book.record(input({ label: 'normal' }));
    const log = new SiteCalibrationLog({ store: new IndexedDbSiteCalibrationStore(DEMO_SHA, db), manifest: demoManifest() });
    await log.accept(overlayJson(), { actor: 'Dr A', expectedHead: EMPTY_HEAD });
    const writes = seen.filter(t => t.mode === 'readwrite');
    expect(writes.map(t => t.stores.join('+')).sort()).toEqual(
      ['calibrationLog+calibrationOverlays', 'feedback', 'feedback+feedbackOutbox', 'feedbackOutbox'].sort(),
    );
    expect(writes.map(t => t.durability)).toEqual(writes.map(() => 'strict'));
  });
});
