import { IDBFactory } from 'fake-indexeddb';

import type { Analysis } from '@chestaid/core';
import { resultKey } from '../inference';
import type { AnalysisOutcome } from '../analysis/types';
import { IndexedDbResultStore } from './indexedDbResultStore';
import { failedRecord, MemoryResultStore, scoredRecord, type ResultStore, type StoredResult } from './resultStore';

const SHA_A = 'a'.repeat(64);
const SHA_B = 'b'.repeat(64);
const MODEL = { modelSha256: SHA_A, calibrationVersion: '1' };

const image = (study: string, n = 1) => ({
  studyInstanceUID: study,
  seriesInstanceUID: `${study}.${n}`,
  sopInstanceUID: `${study}.${n}.1`,
});

function outcome(sop: string, probability: number): AnalysisOutcome {
  return {
    key: resultKey(sop, SHA_A),
    analysis: {
      modelId: 'chestaid-demo',
      modelVersion: '0.1.0',
      logit: 1.5,
      probability,
      calibrationMethod: 'isotonic',
      decision: { probability, threshold: 0.75, above: probability >= 0.75, label: 'x' },
      cam: { data: new Float32Array([0, 0.5, 1, 0.25]), width: 2, height: 2 },
    } as unknown as Analysis,
    run: { backend: 'wasm', threads: 2, reason: 'no WebGPU adapter', totalMs: 150, runMs: 120 },
  };
}

const scoreOf = (study: string, probability: number, model = MODEL, n = 1): StoredResult =>
  scoredRecord({
    image: image(study, n),
    model,
    outcome: outcome(image(study, n).sopInstanceUID, probability),
    source: 'batch',
    imageId: `dicomweb:/x/${study}.dcm`,
    analyzedAt: 1_700_000_000_000,
  });
const failureOf = (study: string, reason: string, model = MODEL): StoredResult =>
  failedRecord({ image: image(study), model, reason, source: 'batch', analyzedAt: 1_700_000_000_001 });

const stores: [string, () => ResultStore][] = [
  ['IndexedDbResultStore (fake-indexeddb)', () => new IndexedDbResultStore({ indexedDB: new IDBFactory() })],
  ['MemoryResultStore', () => new MemoryResultStore()],
];

describe.each(stores)('%s', (_name, make) => {
  let store: ResultStore;
  beforeEach(() => {
    store = make();
  });

  it('gives back a stored score with its outcome, the CAM as a Float32Array', async () => {
    expect(await store.put(scoreOf('1.2', 0.9))).toBe(true);
    const found = await store.get({ ...image('1.2'), ...MODEL });
    // Structured clones come from another realm under jest: compare by content and by tag.
    expect(JSON.stringify(found)).toBe(JSON.stringify(scoreOf('1.2', 0.9)));
    expect(Object.prototype.toString.call(found?.outcome?.analysis.cam.data)).toBe('[object Float32Array]');
    expect(Array.from(found?.outcome?.analysis.cam.data ?? [])).toEqual([0, 0.5, 1, 0.25]);
  });

  it('keys by image, model and calibration: the same key overwrites, another model or calibration does not', async () => {
    await store.put(scoreOf('1.2', 0.9));
    await store.put(scoreOf('1.2', 0.4));
    await store.put(scoreOf('1.2', 0.1, { modelSha256: SHA_B, calibrationVersion: '1' }));
    await store.put(scoreOf('1.2', 0.2, { modelSha256: SHA_A, calibrationVersion: '2' }));
    const all = (await store.forStudies(['1.2'])).get('1.2') ?? [];
    expect(all.map(r => [r.modelSha256, r.calibrationVersion, r.status === 'scored' && r.probability]).sort()).toEqual([
      [SHA_A, '1', 0.4],
      [SHA_A, '2', 0.2],
      [SHA_B, '1', 0.1],
    ]);
    expect(await store.get({ ...image('1.2'), modelSha256: SHA_B, calibrationVersion: '2' })).toBeUndefined();
  });

  it('finds a result whatever the case of the sha256', async () => {
    await store.put(scoreOf('1.2', 0.9, { modelSha256: SHA_A.toUpperCase(), calibrationVersion: '1' }));
    expect((await store.get({ ...image('1.2'), ...MODEL }))?.modelSha256).toBe(SHA_A);
  });

  it('never lets a failure replace a score, but lets a score replace a failure', async () => {
    await store.put(scoreOf('1.2', 0.9));
    expect(await store.put(failureOf('1.2', 'the image could not be loaded'))).toBe(false);
    expect((await store.get({ ...image('1.2'), ...MODEL }))?.status).toBe('scored');

    await store.put(failureOf('3.4', 'corrupt'));
    expect(await store.put(scoreOf('3.4', 0.2))).toBe(true);
    expect((await store.get({ ...image('3.4'), ...MODEL }))?.status).toBe('scored');
  });

  it('lists results by study, only the studies asked for', async () => {
    await store.put(scoreOf('1', 0.1));
    await store.put(scoreOf('1', 0.3, MODEL, 2));
    await store.put(scoreOf('2', 0.2));
    await store.put(failureOf('3', 'fetch failed'));
    const found = await store.forStudies(['1', '3', 'absent']);
    expect([...found.keys()].sort()).toEqual(['1', '3']);
    expect(found.get('1')).toHaveLength(2);
    expect(found.get('3')?.[0]).toMatchObject({ status: 'failed', reason: 'fetch failed' });
    expect((await store.forStudies([])).size).toBe(0);
  });

  it('refuses a record without its model or calibration, storing nothing', async () => {
    await expect(store.put({ ...scoreOf('1', 0.5), calibrationVersion: '' })).rejects.toThrow('calibrationVersion');
    await expect(store.put({ ...scoreOf('1', 0.5), modelSha256: 'nope' })).rejects.toThrow('sha256');
    expect((await store.forStudies(['1'])).size).toBe(0);
  });

  it('keeps, returns and clears the unfinished batch', async () => {
    expect(await store.loadBatch()).toBeNull();
    const marker = { studyUIDs: ['1', '2'], model: MODEL, startedAt: 5 };
    await store.saveBatch(marker);
    expect(await store.loadBatch()).toEqual(marker);
    await store.clearBatch();
    expect(await store.loadBatch()).toBeNull();
  });

  it('tells listeners of each write, and not of a refused one', async () => {
    const heard: string[] = [];
    const subscription = store.subscribe(record => heard.push(`${record.studyInstanceUID}:${record.status}`));
    await store.put(scoreOf('1', 0.5));
    await store.put(failureOf('1', 'late failure'));
    subscription.unsubscribe();
    await store.put(scoreOf('2', 0.5));
    expect(heard).toEqual(['1:scored']);
  });
});

describe('IndexedDbResultStore', () => {
  it('keeps results and the unfinished batch across page loads (a new store on the same database)', async () => {
    const indexedDB = new IDBFactory();
    const first = new IndexedDbResultStore({ indexedDB });
    await first.put(scoreOf('1', 0.7));
    await first.saveBatch({ studyUIDs: ['1', '2'], model: MODEL, startedAt: 9 });
    await first.close();

    const reloaded = new IndexedDbResultStore({ indexedDB });
    expect((await reloaded.get({ ...image('1'), ...MODEL }))?.status).toBe('scored');
    expect((await reloaded.loadBatch())?.studyUIDs).toEqual(['1', '2']);
  });

  it('stores under the key order core.recordKey defines, with a study index', async () => {
    const indexedDB = new IDBFactory();
    await new IndexedDbResultStore({ indexedDB, name: 'schema' }).put(scoreOf('1', 0.7));
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const request = indexedDB.open('schema');
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    const results = db.transaction('results').objectStore('results');
    expect(results.keyPath).toEqual(['studyInstanceUID', 'seriesInstanceUID', 'sopInstanceUID', 'modelSha256', 'calibrationVersion']);
    expect(results.index('study').keyPath).toBe('studyInstanceUID');
    db.close();
  });

  it('does not block a deletion of its database from elsewhere, and reopens empty afterwards', async () => {
    const indexedDB = new IDBFactory();
    const store = new IndexedDbResultStore({ indexedDB });
    await store.put(scoreOf('1', 0.7));
    await new Promise<void>((resolve, reject) => {
      const request = indexedDB.deleteDatabase('chestaid');
      request.onsuccess = () => resolve();
      request.onerror = () => reject(request.error);
      request.onblocked = () => reject(new Error('blocked'));
    });
    expect(await store.forStudies(['1'])).toEqual(new Map());
  });

  it('says when the browser has no IndexedDB', () => {
    expect(() => new IndexedDbResultStore({ indexedDB: null as unknown as IDBFactory })).toThrow('no IndexedDB');
  });
});
