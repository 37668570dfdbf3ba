import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { parseManifest, type Analysis, type Manifest } from '@chestaid/core';
import { resultKey } from '../inference';
import type { AnalysisOutcome, AnalysisTarget, Analyzer } from '../analysis/types';
import type { ImageToScore } from './batch';
import { MemoryResultStore, scoredRecord, type ResultStore } from './resultStore';
import type { StudyCatalog, StudySummary } from './studyCatalog';
import { BATCH_SLOT, entriesIn, statusIn, TriageService, type TriageState } from './TriageService';

const manifest: Manifest = parseManifest(
  JSON.parse(readFileSync(resolve(__dirname, '../../../models/chestaid-demo/manifest.json'), 'utf8')),
);
const SHA = manifest.onnx.sha256.toLowerCase();
const MODEL = { modelSha256: SHA, calibrationVersion: manifest.calibration.version };

const study = (uid: string, date: string, modalities = 'CR'): StudySummary => ({
  studyInstanceUID: uid,
  patientName: `P^${uid}`,
  mrn: uid,
  date,
  time: '120000',
  description: 'CHEST',
  accession: '',
  modalities,
});
const imageOf = (uid: string): ImageToScore => ({
  studyInstanceUID: uid,
  seriesInstanceUID: `${uid}.1`,
  sopInstanceUID: `${uid}.1.1`,
  imageId: `dicomweb:/demo/${uid}.dcm`,
  modality: 'CR',
});
const outcomeOf = (sop: string, probability: number): AnalysisOutcome => ({
  key: resultKey(sop, SHA),
  analysis: { probability, cam: { data: new Float32Array(1), width: 1, height: 1 } } as unknown as Analysis,
  run: { backend: 'wasm', threads: 2, reason: '', totalMs: 10, runMs: 8 },
});

const STUDIES = [study('A', '20260101'), study('B', '20260103'), study('C', '20260102'), study('CT', '20260104', 'CT')];
const SCORES: Record<string, number> = { 'A.1.1': 0.2, 'B.1.1': 0.95, 'C.1.1': 0.6 };

function setup({ store = new MemoryResultStore() as ResultStore, failing = {} as Record<string, string> } = {}) {
  const reads: string[][] = [];
  // The store, with a log of its study reads.
  const observed: ResultStore = {
    put: record => store.put(record),
    get: key => store.get(key),
    forStudies: uids => {
      reads.push([...uids]);
      return store.forStudies(uids);
    },
    loadBatch: () => store.loadBatch(),
    saveBatch: marker => store.saveBatch(marker),
    clearBatch: () => store.clearBatch(),
    subscribe: listener => store.subscribe(listener),
  };
  const catalog: StudyCatalog = {
    studies: async () => STUDIES,
    imagesOf: async uid => (uid === 'CT' ? [] : [imageOf(uid)]),
  };
  const analyzed: AnalysisTarget[] = [];
  let gate: Promise<void> = Promise.resolve();
  const analyzer: Analyzer = {
    modelSha256: m => m.onnx.sha256,
    analyze: async target => {
      analyzed.push(target);
      await gate;
      const failure = failing[target.sopInstanceUID];
      if (failure) throw new Error(failure);
      return outcomeOf(target.sopInstanceUID, SCORES[target.sopInstanceUID] ?? 0.5);
    },
  };
  const service = new TriageService();
  service.configure({ store: observed, catalog, manifest: async () => manifest, analyzer, pause: () => Promise.resolve(), clock: () => 1 });
  const states: TriageState[] = [];
  service.subscribe(service.EVENTS.STATE_CHANGED, state => states.push(state));
  return {
    service,
    store,
    reads,
    analyzed,
    states,
    hold: () => {
      let open: () => void = () => undefined;
      gate = new Promise(done => (open = done));
      return () => open();
    },
  };
}

const flush = () => new Promise(done => setTimeout(done, 0));
const kinds = (state: TriageState) => (entriesIn(state) ?? []).map(e => `${e.studyInstanceUID}:${e.status.kind}`);

describe('TriageService', () => {
  it('reads the stored results of watched studies in one read, and tells their status only once read', async () => {
    const { service, reads, store } = setup();
    await store.put(scoredRecord({ image: imageOf('A'), model: MODEL, outcome: outcomeOf('A.1.1', 0.4), source: 'panel', analyzedAt: 1 }));
    service.watch(['A', 'B']);
    service.watch(['B', 'C']);
    expect(statusIn(service.getState(), 'A', 'CR')).toBeNull();
    await flush();
    expect(reads).toEqual([['A', 'B', 'C']]);
    expect(statusIn(service.getState(), 'A', 'CR')).toMatchObject({ kind: 'scored', probability: 0.4 });
    expect(statusIn(service.getState(), 'B', 'CR')).toEqual({ kind: 'unanalyzed' });
    expect(statusIn(service.getState(), 'X', 'CT')).toBeNull();
  });

  it('marks results of another calibration stale', async () => {
    const { service, store } = setup();
    await store.put(scoredRecord({ image: imageOf('A'), model: { ...MODEL, calibrationVersion: 'old' }, outcome: outcomeOf('A.1.1', 0.9), source: 'batch', analyzedAt: 1 }));
    service.watch(['A']);
    await flush();
    await service.model();
    expect(statusIn(service.getState(), 'A', 'CR')).toMatchObject({ kind: 'stale', scoredBy: { calibrationVersion: 'old' } });
  });

  it('analyses every unscored CR/DX study, newest first, in the batch slot, and keeps the results', async () => {
    const { service, analyzed, store } = setup();
    await store.put(scoredRecord({ image: imageOf('C'), model: MODEL, outcome: outcomeOf('C.1.1', 0.6), source: 'panel', analyzedAt: 1 }));
    await service.open();
    await flush();
    await service.analyzeAll();
    expect(analyzed.map(t => t.sopInstanceUID)).toEqual(['B.1.1', 'A.1.1']);
    expect(analyzed[0]).toMatchObject({ viewportId: BATCH_SLOT, studyInstanceUID: 'B', seriesInstanceUID: 'B.1', imageId: 'dicomweb:/demo/B.dcm' });
    const state = service.getState();
    expect(state.batch).toMatchObject({ status: 'finished', summary: { total: 2, done: 2, analyzed: 2 } });
    expect(kinds(state)).toEqual(['A:scored', 'B:scored', 'C:scored', 'CT:not-applicable']);
    expect(await store.loadBatch()).toBeNull();
  });

  it('says there is nothing to do when every study is scored', async () => {
    const { service, analyzed } = setup();
    await service.open();
    await flush();
    await service.analyzeAll();
    await service.analyzeAll();
    expect(analyzed).toHaveLength(3);
    expect(service.getState().batch).toEqual({ status: 'nothing-to-do' });
  });

  it('runs one batch however often it is asked', async () => {
    const { service, analyzed, hold } = setup();
    await service.open();
    await flush();
    const release = hold();
    const first = service.analyzeAll();
    const second = service.analyzeAll();
    await flush();
    expect(service.busy()).toBe(true);
    release();
    await Promise.all([first, second]);
    expect(analyzed).toHaveLength(3);
  });

  it('marks a failing study with its reason and goes on', async () => {
    const { service } = setup({ failing: { 'B.1.1': 'the image could not be loaded: 404' } });
    await service.open();
    await flush();
    await service.analyzeAll();
    const state = service.getState();
    expect(statusIn(state, 'B', 'CR')).toEqual({ kind: 'failed', reason: 'the image could not be loaded: 404' });
    expect(kinds(state)).toEqual(['A:scored', 'B:failed', 'C:scored', 'CT:not-applicable']);
  });

  it('cancels after the image under way, keeps the scores, and leaves nothing to resume', async () => {
    const { service, store, analyzed, hold } = setup();
    await service.open();
    await flush();
    const release = hold();
    const running = service.analyzeAll();
    await flush();
    service.cancel();
    release();
    await running;
    expect(analyzed).toHaveLength(1);
    expect(service.getState().batch).toMatchObject({ status: 'cancelled', summary: { done: 1, total: 3 } });
    expect(await store.loadBatch()).toBeNull();
  });

  it('resumes an interrupted batch when it opens after a reload, without redoing finished studies', async () => {
    const store = new MemoryResultStore();
    // The page that went away: B done, A and C left.
    await store.saveBatch({ studyUIDs: ['B', 'C', 'A'], model: MODEL, startedAt: 1 });
    await store.put(scoredRecord({ image: imageOf('B'), model: MODEL, outcome: outcomeOf('B.1.1', 0.95), source: 'batch', analyzedAt: 1 }));
    const { service, analyzed } = setup({ store });
    await service.open();
    expect(analyzed.map(t => t.sopInstanceUID)).toEqual(['C.1.1', 'A.1.1']);
    expect(service.getState().batch).toMatchObject({ status: 'finished', resumed: true, summary: { total: 3, done: 3, analyzed: 2 } });
    expect(await store.loadBatch()).toBeNull();
  });

  it('drops an interrupted batch made for another model instead of resuming it', async () => {
    const store = new MemoryResultStore();
    await store.saveBatch({ studyUIDs: ['A'], model: { ...MODEL, calibrationVersion: 'old' }, startedAt: 1 });
    const { service, analyzed } = setup({ store });
    await service.open();
    expect(analyzed).toEqual([]);
    expect(await store.loadBatch()).toBeNull();
  });

  it('shows results written elsewhere (the panel) for the studies it watches', async () => {
    const { service, store } = setup();
    service.watch(['A']);
    await flush();
    await service.model();
    await store.put(scoredRecord({ image: imageOf('A'), model: MODEL, outcome: outcomeOf('A.1.1', 0.81), source: 'panel', analyzedAt: 2 }));
    expect(statusIn(service.getState(), 'A', 'CR')).toMatchObject({ kind: 'scored', probability: 0.81 });
  });

  it('reports a study list that cannot be read, and reads it on the next try', async () => {
    const service = new TriageService();
    let fail = true;
    service.configure({
      store: new MemoryResultStore(),
      catalog: {
        studies: async () => {
          if (fail) throw new Error('503');
          return STUDIES;
        },
        imagesOf: async () => [],
      },
      manifest: async () => manifest,
      analyzer: { modelSha256: m => m.onnx.sha256, analyze: async () => outcomeOf('x', 0) },
    });
    await service.loadStudies();
    expect(service.getState().list).toEqual({ status: 'error', message: 'The study list could not be read: 503' });
    fail = false;
    await service.loadStudies();
    expect(service.getState().list.status).toBe('ready');
  });

  it('lists the studies again each time the page opens', async () => {
    const service = new TriageService();
    let listed = 0;
    service.configure({
      store: new MemoryResultStore(),
      catalog: { studies: async () => (listed++ === 0 ? STUDIES.slice(0, 1) : STUDIES), imagesOf: async () => [] },
      manifest: async () => manifest,
      analyzer: { modelSha256: m => m.onnx.sha256, analyze: async () => outcomeOf('x', 0) },
    });
    await service.open();
    await service.open();
    const { list } = service.getState();
    expect(list.status === 'ready' && list.studies.length).toBe(STUDIES.length);
  });

  it('keeps the chosen order', () => {
    const { service, states } = setup();
    service.setOrder('date');
    service.setOrder('date');
    expect(service.getState().order).toBe('date');
    expect(states).toHaveLength(1);
  });
});
