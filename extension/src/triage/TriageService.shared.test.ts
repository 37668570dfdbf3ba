/**
 * The worklist with the PACS's results (source 'pacs') merged in: every reader sees the scores the
 * PACS holds, the browser store caches them, and a PACS that cannot be read leaves the browser's
 * own results on show with the reason.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { type Analysis, type ArchivedResult, type Manifest, parseManifest } from '@chestaid/core';
import { resultKey } from '../inference';
import type { AnalysisTarget, ArchiveSave, ResultArchive } from '../analysis/types';
import { cacheShared, recordOf, sharedResultsOf, type SharedResults } from './pacsRecords';
import { MemoryResultStore, scoredRecord } from './resultStore';
import type { StudySummary } from './studyCatalog';
import { statusIn, TriageService } from './TriageService';

const manifest: Manifest = parseManifest(JSON.parse(readFileSync(resolve(__dirname, '../../../models/chestaid-demo/manifest.json'), 'utf8')));
const SHA = manifest.onnx.sha256.toLowerCase();
const MODEL = { modelSha256: SHA, calibrationVersion: manifest.calibration.version };

const study = (uid: string): StudySummary => ({ studyInstanceUID: uid, patientName: uid, mrn: uid, date: '20260101', time: '', description: '', accession: '', modalities: 'CR\\SR' });
const image = (uid: string) => ({ studyInstanceUID: uid, seriesInstanceUID: `${uid}.1`, sopInstanceUID: `${uid}.1.1` });

function archived(uid: string, score: number, { sha256 = SHA, calibration = MODEL.calibrationVersion } = {}): ArchivedResult {
  return {
    srSopInstanceUID: `${uid}.9`,
    srSeriesInstanceUID: `${uid}.8`,
    content: {
      source: { ...image(uid), sopClassUID: '1.2.840.10008.5.1.4.1.1.1' },
      score,
      logit: 0,
      threshold: 0.5,
      decision: score >= 0.5 ? 'above' : 'below',
      calibration: { method: 'isotonic', version: calibration },
      model: { id: 'chestaid-demo', version: '1', sha256, deviceUID: '2.25.1' },
      observedAt: '2026-11-26T10:00:00.000Z',
    },
    verdict: { status: 'verified' },
  };
}

const flush = () => new Promise(done => setTimeout(done, 0));

function setup(shared: SharedResults | null) {
  const store = new MemoryResultStore();
  const service = new TriageService();
  service.configure({
    store,
    catalog: { studies: async () => [study('A'), study('B'), study('C')], imagesOf: async () => [] },
    manifest: async () => manifest,
    analyzer: { modelSha256: m => m.onnx.sha256, analyze: async () => Promise.reject(new Error('not in these tests')) },
    shared: () => shared,
  });
  return { service, store };
}

const fromPacs = (results: Record<string, ArchivedResult[]>) =>
  sharedResultsOf({ forStudies: async uids => new Map(uids.filter(uid => results[uid]).map(uid => [uid, results[uid]])) });

describe('TriageService with the PACS results', () => {
  it("shows the PACS's scores to a reader whose browser store is empty, and caches them there", async () => {
    const { service, store } = setup(fromPacs({ A: [archived('A', 0.9)], B: [archived('B', 0.3)] }));
    await service.loadStudies();
    await service.model();
    await flush();
    await flush();
    expect(statusIn(service.getState(), 'A', 'CR\\SR')).toMatchObject({ kind: 'scored', probability: 0.9 });
    expect(statusIn(service.getState(), 'B', 'CR\\SR')).toMatchObject({ kind: 'scored', probability: 0.3 });
    expect(statusIn(service.getState(), 'C', 'CR\\SR')).toEqual({ kind: 'unanalyzed' });
    expect(service.getState().shared).toEqual({ status: 'ready' });
    expect(await store.get({ ...image('A'), ...MODEL })).toMatchObject({ source: 'pacs', probability: 0.9, srSopInstanceUID: 'A.9' });
  });

  it('tells no status before the PACS has answered, so the order does not jump when it does', async () => {
    let answer: (found: Map<string, ReturnType<typeof recordOf>[]>) => void = () => undefined;
    const slow: SharedResults = { forStudies: () => new Promise(resolve => (answer = resolve)) };
    const { service } = setup(slow);
    await service.loadStudies();
    await service.model();
    await flush();
    expect(service.getState().shared).toEqual({ status: 'reading' });
    expect(statusIn(service.getState(), 'A', 'CR')).toBeNull();
    answer(new Map([['A', [recordOf(archived('A', 0.9))]]]));
    await flush();
    expect(statusIn(service.getState(), 'A', 'CR')).toMatchObject({ kind: 'scored', probability: 0.9 });
  });

  it('calls an SR of another calibration stale, like any other result', async () => {
    const { service } = setup(fromPacs({ A: [archived('A', 0.9, { calibration: 'older' })] }));
    await service.loadStudies();
    await service.model();
    await flush();
    await flush();
    expect(statusIn(service.getState(), 'A', 'CR')).toMatchObject({ kind: 'stale', scoredBy: { calibrationVersion: 'older' } });
  });

  it("keeps the browser's own results on show when the PACS cannot be read, and says why", async () => {
    const failing: SharedResults = { forStudies: async () => Promise.reject(new Error('PACS unreachable: /pacs/dicom-web/studies/A/series')) };
    const { service, store } = setup(failing);
    await store.put(scoredRecord({ image: image('A'), model: MODEL, outcome: { key: resultKey('A.1.1', SHA), analysis: { probability: 0.6 } as Analysis, run: { backend: 'wasm', threads: 2, reason: '', totalMs: 1, runMs: 1 } }, source: 'panel', analyzedAt: 1 }));
    await service.loadStudies();
    await service.model();
    await flush();
    await flush();
    expect(statusIn(service.getState(), 'A', 'CR')).toMatchObject({ kind: 'scored', probability: 0.6 });
    expect(service.getState().shared).toEqual({
      status: 'error',
      message: "The PACS's results could not be read; showing this browser's: PACS unreachable: /pacs/dicom-web/studies/A/series",
    });
  });

  it('shows an unverified or conflicting SR as such, never ranks it, never caches it, and lets a score of this browser stand', async () => {
    const planted = (uid: string, reason: string, status: 'unverified' | 'conflict' = 'unverified'): ArchivedResult => ({
      ...archived(uid, 0.01),
      verdict: { status, reason },
    });
    const { service, store } = setup(
      fromPacs({ A: [planted('A', 'score 0.01 is not calibration 1 of its logit 0')], B: [planted('B', '2 verified ChestAid results of this image disagree', 'conflict')], C: [planted('C', 'foreign UID')] }),
    );
    const outcome = { key: resultKey('C.1.1', SHA), analysis: { probability: 0.6 } as Analysis, run: { backend: 'wasm', threads: 2, reason: '', totalMs: 1, runMs: 1 } };
    await store.put(scoredRecord({ image: image('C'), model: MODEL, outcome, source: 'panel', analyzedAt: 1 }));
    await service.loadStudies();
    await service.model();
    await flush();
    await flush();
    expect(statusIn(service.getState(), 'A', 'CR')).toEqual({ kind: 'unverified', reason: 'unverified result: score 0.01 is not calibration 1 of its logit 0', conflict: false });
    expect(statusIn(service.getState(), 'B', 'CR')).toEqual({ kind: 'unverified', reason: 'conflicting results: 2 verified ChestAid results of this image disagree', conflict: true });
    expect(statusIn(service.getState(), 'C', 'CR')).toMatchObject({ kind: 'scored', probability: 0.6 });
    expect(await store.get({ ...image('A'), ...MODEL })).toBeUndefined();
  });

  it('reads nothing from the PACS while the list comes from another data source', async () => {
    const { service } = setup(null);
    await service.loadStudies();
    await flush();
    expect(service.getState().shared).toEqual({ status: 'off' });
  });
});

describe('cacheShared', () => {
  it("never replaces this browser's own score (with its heatmap) by the bare copy from the PACS", async () => {
    const store = new MemoryResultStore();
    const outcome = { key: resultKey('A.1.1', SHA), analysis: { probability: 0.61 } as Analysis, run: { backend: 'wasm', threads: 2, reason: '', totalMs: 1, runMs: 1 } };
    await store.put(scoredRecord({ image: image('A'), model: MODEL, outcome, source: 'panel', analyzedAt: 1 }));
    await cacheShared(store, [recordOf(archived('A', 0.61)), recordOf(archived('B', 0.2))]);
    expect(await store.get({ ...image('A'), ...MODEL })).toMatchObject({ source: 'panel', outcome });
    expect(await store.get({ ...image('B'), ...MODEL })).toMatchObject({ source: 'pacs', probability: 0.2 });
  });
});

describe('recordOf', () => {
  it("keys an SR's result by its source image, model sha256 (lower case) and calibration version", () => {
    expect(recordOf(archived('A', 0.7, { sha256: SHA.toUpperCase() }))).toEqual({
      ...image('A'),
      modelSha256: SHA,
      calibrationVersion: MODEL.calibrationVersion,
      analyzedAt: Date.parse('2026-11-26T10:00:00.000Z'),
      source: 'pacs',
      status: 'scored',
      probability: 0.7,
      srSopInstanceUID: 'A.9',
    });
  });
});

describe('Analyze all with "Save results to the PACS"', () => {
  function batchSetup(answers: ArchiveSave[]) {
    const saved: string[] = [];
    const archive: ResultArchive = {
      unavailableReason: () => null,
      find: async () => ({ status: 'absent' }),
      save: async (target: AnalysisTarget) => {
        saved.push(target.sopInstanceUID);
        return answers.shift() ?? { status: 'saved', srSopInstanceUID: '9', heatmapProblem: null };
      },
    };
    const store = new MemoryResultStore();
    const service = new TriageService();
    service.configure({
      store,
      catalog: { studies: async () => [study('A'), study('B')], imagesOf: async uid => [{ ...image(uid), imageId: `wadors:${uid}`, modality: 'CR' }] },
      manifest: async () => manifest,
      analyzer: {
        modelSha256: m => m.onnx.sha256,
        analyze: async t => ({ key: resultKey(t.sopInstanceUID, SHA), analysis: { probability: 0.5 } as Analysis, run: { backend: 'wasm', threads: 2, reason: '', totalMs: 1, runMs: 1 } }),
      },
      archive: () => archive,
      pause: () => Promise.resolve(),
    });
    return { service, store, saved };
  }
  const ready = async (service: TriageService) => {
    await service.loadStudies();
    await service.model();
    await flush();
    await flush();
  };

  it('saves nothing unless the reader ticks it', async () => {
    const { service, saved } = batchSetup([]);
    expect(service.canArchive()).toBe(true);
    await ready(service);
    await service.analyzeAll();
    expect(service.getState().batch.status).toBe('finished');
    expect(saved).toEqual([]);
  });

  it('saves each new score when ticked, and counts a refusal without failing the image', async () => {
    const { service, saved, store } = batchSetup([{ status: 'failed', kind: 'refused', message: 'The PACS refused the result (HTTP 409).' }]);
    service.setArchiving(true);
    await ready(service);
    await service.analyzeAll();
    expect(saved.sort()).toEqual(['A.1.1', 'B.1.1']);
    expect(service.getState().archiving).toEqual({ enabled: true, saved: 1, alreadySaved: 0, failed: 1, lastProblem: 'The PACS refused the result (HTTP 409).' });
    expect((await store.get({ ...image('A'), ...MODEL }))?.status).toBe('scored');
    expect((await store.get({ ...image('B'), ...MODEL }))?.status).toBe('scored');
  });
});
