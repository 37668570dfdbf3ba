import { IDBFactory } from 'fake-indexeddb';

import { NotAnalyzedError, type Analysis } from '@chestaid/core';
import { resultKey } from '../inference';
import type { AnalysisOutcome } from '../analysis/types';
import { runBatch, type BatchDeps, type BatchProgress, type ImageToScore, type StudyRun } from './batch';
import { IndexedDbResultStore } from './indexedDbResultStore';
import { MemoryResultStore, scoredRecord, type ResultStore } from './resultStore';

const SHA = 'c'.repeat(64);
const MODEL = { modelSha256: SHA, calibrationVersion: '1' };

const imageOf = (study: string, series = 1): ImageToScore => ({
  studyInstanceUID: study,
  seriesInstanceUID: `${study}.${series}`,
  sopInstanceUID: `${study}.${series}.1`,
  imageId: `dicomweb:/demo/${study}-${series}.dcm`,
  modality: 'CR',
});

function outcomeOf(image: ImageToScore, probability: number): AnalysisOutcome {
  return {
    key: resultKey(image.sopInstanceUID, SHA),
    analysis: { probability, cam: { data: new Float32Array(4), width: 2, height: 2 } } as unknown as Analysis,
    run: { backend: 'wasm', threads: 2, reason: '', totalMs: 100, runMs: 80 },
  };
}

/** A study list as a data source would give it: studies -> CR/DX images. */
function catalog(studies: Record<string, ImageToScore[] | Error>) {
  const listed: string[] = [];
  return {
    listed,
    imagesOf: async (uid: string) => {
      listed.push(uid);
      const images = studies[uid];
      if (images instanceof Error) throw images;
      return images ?? [];
    },
  };
}

/** An analyzer with a fixed score per image, failures by imageId, and a log of what it ran. */
function analyzer(scores: Record<string, number>, failures: Record<string, string> = {}) {
  const ran: string[] = [];
  return {
    ran,
    analyze: async (image: ImageToScore) => {
      ran.push(image.sopInstanceUID);
      const failure = failures[image.imageId];
      if (failure) throw new Error(failure);
      return outcomeOf(image, scores[image.sopInstanceUID] ?? 0.5);
    },
  };
}

function deps(over: Partial<BatchDeps> & Pick<BatchDeps, 'imagesOf' | 'analyze'>, store: ResultStore = new MemoryResultStore()): BatchDeps {
  let t = 0;
  return { store, model: MODEL, now: () => (t += 100), clock: () => 1_700_000_000_000, ...over };
}

const studies = { A: [imageOf('A')], B: [imageOf('B')], C: [imageOf('C')] };

describe('runBatch', () => {
  it('scores one image per CR/DX series of each study and stores each result', async () => {
    const store = new MemoryResultStore();
    const { imagesOf } = catalog({ A: [imageOf('A', 1), imageOf('A', 2)], B: [imageOf('B')] });
    const { analyze, ran } = analyzer({ 'A.1.1': 0.2, 'A.2.1': 0.9, 'B.1.1': 0.4 });
    const summary = await runBatch(['A', 'B'], deps({ imagesOf, analyze }, store));
    expect(ran).toEqual(['A.1.1', 'A.2.1', 'B.1.1']);
    expect(summary).toMatchObject({ total: 2, done: 2, analyzed: 2, failed: 0, cancelled: false });
    const a = (await store.forStudies(['A'])).get('A') ?? [];
    expect(a.map(r => r.status === 'scored' && r.probability).sort()).toEqual([0.2, 0.9]);
    expect(a[0]).toMatchObject({ source: 'batch', modelSha256: SHA, calibrationVersion: '1', imageId: 'dicomweb:/demo/A-1.dcm' });
  });

  it('reports n of N with a time estimate from the studies timed so far', async () => {
    const progress: BatchProgress[] = [];
    const { imagesOf } = catalog(studies);
    const { analyze } = analyzer({});
    await runBatch(['A', 'B', 'C'], deps({ imagesOf, analyze }), { onProgress: p => progress.push(p) });
    const between = progress.filter(p => p.current === null);
    expect(between.map(p => `${p.done}/${p.total}`)).toEqual(['1/3', '2/3', '3/3']);
    expect(progress[0]).toMatchObject({ done: 0, current: 'A', etaMs: null });
    expect(between[0].etaMs).toBeGreaterThan(0);
    expect(between[2].etaMs).toBe(0);
  });

  it('marks a study without a CR/DX image, a listing failure and a corrupt image with the reason, and goes on', async () => {
    const store = new MemoryResultStore();
    const runs: StudyRun[] = [];
    const { imagesOf } = catalog({ CT: [], DOWN: new Error('QIDO answered 503'), BAD: [imageOf('BAD')], OK: [imageOf('OK')] });
    const { analyze, ran } = analyzer({ 'OK.1.1': 0.8 }, { 'dicomweb:/demo/BAD-1.dcm': 'the image has no pixel data' });
    const summary = await runBatch(['CT', 'DOWN', 'BAD', 'OK'], deps({ imagesOf, analyze }, store), { onStudy: run => runs.push(run) });
    expect(runs).toEqual([
      { studyInstanceUID: 'CT', kind: 'not-applicable', reason: 'the study has no CR or DX image' },
      { studyInstanceUID: 'DOWN', kind: 'failed', reason: 'its series could not be listed: QIDO answered 503' },
      { studyInstanceUID: 'BAD', kind: 'failed', reason: 'the image has no pixel data' },
      { studyInstanceUID: 'OK', kind: 'scored', analyzedImages: 1, failedImages: 0 },
    ]);
    expect(ran).toEqual(['BAD.1.1', 'OK.1.1']);
    expect(summary).toMatchObject({ done: 4, failed: 2, cancelled: false });
    expect((await store.get({ ...imageOf('BAD'), ...MODEL }))).toMatchObject({ status: 'failed', reason: 'the image has no pixel data' });
    expect((await store.get({ ...imageOf('OK'), ...MODEL }))?.status).toBe('scored');
  });

  it('records an image the gate refuses as not analyzed, not as a failure, and does not run it again', async () => {
    const store = new MemoryResultStore();
    const runs: StudyRun[] = [];
    const { imagesOf } = catalog({ LAT: [imageOf('LAT')], OK: [imageOf('OK')] });
    const ran: string[] = [];
    const analyze = async (image: ImageToScore) => {
      ran.push(image.sopInstanceUID);
      if (image.studyInstanceUID === 'LAT') throw new NotAnalyzedError({ code: 'non-frontal-view', reason: 'a LL view' });
      return outcomeOf(image, 0.8);
    };
    const summary = await runBatch(['LAT', 'OK'], deps({ imagesOf, analyze }, store), { onStudy: run => runs.push(run) });
    expect(summary).toMatchObject({ done: 2, failed: 0 });
    expect(runs[0]).toEqual({ studyInstanceUID: 'LAT', kind: 'scored', analyzedImages: 1, failedImages: 0 });
    expect(await store.get({ ...imageOf('LAT'), ...MODEL })).toMatchObject({ status: 'refused', code: 'non-frontal-view', reason: 'a LL view', source: 'batch' });
    await runBatch(['LAT'], deps({ imagesOf, analyze }, store));
    expect(ran).toEqual(['LAT.1.1', 'OK.1.1']);
    // A later failure does not replace the refusal.
    await store.put({ ...(await store.get({ ...imageOf('LAT'), ...MODEL }))!, status: 'failed', reason: 'fetch failed' } as never);
    expect((await store.get({ ...imageOf('LAT'), ...MODEL }))?.status).toBe('refused');
  });

  it('does not store a result whose pixels came from another image', async () => {
    const store = new MemoryResultStore();
    const { imagesOf } = catalog({ A: [imageOf('A')] });
    const analyze = async () => outcomeOf(imageOf('Z'), 0.9);
    await runBatch(['A'], deps({ imagesOf, analyze }, store));
    expect(await store.get({ ...imageOf('A'), ...MODEL })).toMatchObject({ status: 'failed', reason: expect.stringContaining('another image') });
  });

  it('never loses a score when a later run of the same image fails', async () => {
    const store = new MemoryResultStore();
    await store.put(scoredRecord({ image: imageOf('A', 1), model: MODEL, outcome: outcomeOf(imageOf('A', 1), 0.9), source: 'panel', analyzedAt: 1 }));
    const { imagesOf } = catalog({ A: [imageOf('A', 1), imageOf('A', 2)] });
    const { analyze, ran } = analyzer({}, { 'dicomweb:/demo/A-2.dcm': 'fetch failed' });
    const runs: StudyRun[] = [];
    await runBatch(['A'], deps({ imagesOf, analyze }, store), { onStudy: run => runs.push(run) });
    expect(ran).toEqual(['A.2.1']);
    expect(runs).toEqual([{ studyInstanceUID: 'A', kind: 'scored', analyzedImages: 1, failedImages: 1 }]);
    expect(await store.get({ ...imageOf('A', 1), ...MODEL })).toMatchObject({ status: 'scored', probability: 0.9 });
  });

  it('stops after the image under way when cancelled, and keeps what it scored', async () => {
    const store = new MemoryResultStore();
    const controller = new AbortController();
    const { imagesOf } = catalog(studies);
    const { analyze, ran } = analyzer({});
    const summary = await runBatch(['A', 'B', 'C'], deps({ imagesOf, analyze }, store), {
      signal: controller.signal,
      onStudy: run => run.studyInstanceUID === 'A' && controller.abort(),
    });
    expect(ran).toEqual(['A.1.1']);
    expect(summary).toMatchObject({ done: 1, total: 3, cancelled: true });
    expect((await store.forStudies(['A', 'B'])).size).toBe(1);
  });

  it('resumes after a reload without redoing finished studies', async () => {
    // The first page: scores A and B of the plan, then the page goes away.
    const indexedDB = new IDBFactory();
    const firstPage = new IndexedDbResultStore({ indexedDB });
    const controller = new AbortController();
    const first = analyzer({});
    const plan = ['A', 'B', 'C'];
    await runBatch(plan, deps({ ...catalog(studies), analyze: first.analyze }, firstPage), {
      signal: controller.signal,
      onStudy: run => run.studyInstanceUID === 'B' && controller.abort(),
    });
    expect(first.ran).toEqual(['A.1.1', 'B.1.1']);
    await firstPage.close();

    // The reloaded page runs the same plan over the same database: only C is analyzed.
    const reloaded = new IndexedDbResultStore({ indexedDB });
    const second = analyzer({});
    const runs: StudyRun[] = [];
    const summary = await runBatch(plan, deps({ ...catalog(studies), analyze: second.analyze }, reloaded), { onStudy: run => runs.push(run) });
    expect(second.ran).toEqual(['C.1.1']);
    expect(runs.map(r => r.kind)).toEqual(['already-scored', 'already-scored', 'scored']);
    expect(summary).toMatchObject({ done: 3, analyzed: 1, alreadyScored: 2, cancelled: false });
  });

  it('redoes a result of another model or calibration: it is stale, not finished', async () => {
    const store = new MemoryResultStore();
    const oldModel = { modelSha256: 'd'.repeat(64), calibrationVersion: '1' };
    await store.put(scoredRecord({ image: imageOf('A'), model: oldModel, outcome: outcomeOf(imageOf('A'), 0.9), source: 'batch', analyzedAt: 1 }));
    await store.put(scoredRecord({ image: imageOf('B'), model: { ...MODEL, calibrationVersion: '0' }, outcome: outcomeOf(imageOf('B'), 0.9), source: 'batch', analyzedAt: 1 }));
    const { analyze, ran } = analyzer({});
    await runBatch(['A', 'B'], deps({ ...catalog(studies), analyze }, store));
    expect(ran).toEqual(['A.1.1', 'B.1.1']);
    expect((await store.forStudies(['A'])).get('A')).toHaveLength(2);
  });

  it('retries an image whose earlier analysis failed', async () => {
    const store = new MemoryResultStore();
    const failing = analyzer({}, { 'dicomweb:/demo/A-1.dcm': 'network down' });
    await runBatch(['A'], deps({ ...catalog(studies), analyze: failing.analyze }, store));
    const working = analyzer({ 'A.1.1': 0.3 });
    await runBatch(['A'], deps({ ...catalog(studies), analyze: working.analyze }, store));
    expect(working.ran).toEqual(['A.1.1']);
    expect(await store.get({ ...imageOf('A'), ...MODEL })).toMatchObject({ status: 'scored', probability: 0.3 });
  });

  it('yields between studies', async () => {
    const order: string[] = [];
    const { imagesOf } = catalog(studies);
    const analyze = async (image: ImageToScore) => {
      order.push(image.studyInstanceUID);
      return outcomeOf(image, 0.5);
    };
    await runBatch(['A', 'B'], deps({ imagesOf, analyze, pause: async () => void order.push('pause') }));
    expect(order).toEqual(['A', 'pause', 'B', 'pause']);
  });
});
