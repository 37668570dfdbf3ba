/**
 * ChestAidService with a store of results beyond the page (the triage store): what the panel
 * saves, and what it shows from the store without running the model.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { calibrationIdentity, NotAnalyzedError, parseManifest, type Analysis, type ModelIdentity } from '@chestaid/core';
import { resultKey } from '../inference';
import { outcomeStoreOver } from '../triage/outcomeStore';
import { MemoryResultStore, scoredRecord } from '../triage/resultStore';
import { ChestAidService } from './ChestAidService';
import type { AnalysisOutcome, AnalysisTarget, Analyzer, OutcomeStore } from './types';

const manifestJson = () => JSON.parse(readFileSync(resolve(__dirname, '../../../models/chestaid-demo/manifest.json'), 'utf8'));
const SHA: string = manifestJson().onnx.sha256;
/** The calibration identity the service stamps on the manifest in use, which keys every stored result. */
let CALIBRATION: string;
let MODEL: ModelIdentity;
beforeAll(async () => {
  CALIBRATION = await calibrationIdentity(parseManifest(manifestJson()));
  MODEL = { modelSha256: SHA, calibrationVersion: CALIBRATION };
});

function targetOf(n: number, over: Partial<AnalysisTarget> = {}): AnalysisTarget {
  return {
    viewportId: 'default',
    displaySetInstanceUID: `ds-${n}`,
    imageId: `dicomweb:/demo/${n}.dcm`,
    sopInstanceUID: `2.25.${n}.1`,
    modality: 'CR',
    studyInstanceUID: `2.25.${n}`,
    seriesInstanceUID: `2.25.${n}.0`,
    ...over,
  };
}

function outcomeOf(target: AnalysisTarget, probability: number): AnalysisOutcome {
  return {
    key: resultKey(target.sopInstanceUID, SHA),
    analysis: { modelId: 'chestaid-demo', probability, cam: { data: new Float32Array(4), width: 2, height: 2 } } as unknown as Analysis,
    run: { backend: 'wasm', threads: 2, reason: 'no WebGPU adapter', totalMs: 90, runMs: 70 },
  };
}

const flush = () => new Promise(done => setTimeout(done, 0));

async function serviceWith(store: OutcomeStore, run: (t: AnalysisTarget) => Promise<AnalysisOutcome> = async t => outcomeOf(t, 0.8)) {
  const ran: string[] = [];
  const analyzer: Analyzer = {
    modelSha256: manifest => manifest.onnx.sha256,
    analyze: async t => {
      ran.push(t.sopInstanceUID);
      return run(t);
    },
  };
  const service = new ChestAidService({ fetchJson: async () => manifestJson(), storage: null });
  await service.loadManifest('/manifest.json');
  await service.configure({ analyzer, outcomeStore: store });
  service.setStudyModalities(['CR']);
  return { service, ran };
}

describe('ChestAidService with an outcome store', () => {
  it('keeps a refusal where the worklist reads it: not analyzed, with the reason, no score', async () => {
    const store = new MemoryResultStore();
    const refusal = { code: 'for-processing', reason: 'a FOR PROCESSING image (raw detector data)' };
    const { service } = await serviceWith(outcomeStoreOver(store, () => 42), async () => {
      throw new NotAnalyzedError(refusal);
    });
    const target = targetOf(3);
    await service.analyze(target);
    await flush();
    const record = await store.get({ studyInstanceUID: '2.25.3', seriesInstanceUID: '2.25.3.0', sopInstanceUID: target.sopInstanceUID, ...MODEL });
    expect(record).toMatchObject({ status: 'refused', ...refusal, source: 'panel', analyzedAt: 42 });
    expect(record).not.toHaveProperty('probability');
  });

  it('saves each finished analysis under the image, the model sha256 and the calibration version', async () => {
    const results = new MemoryResultStore();
    const { service } = await serviceWith(outcomeStoreOver(results, () => 42));
    await service.analyze(targetOf(1));
    await flush();
    const stored = await results.get({ studyInstanceUID: '2.25.1', seriesInstanceUID: '2.25.1.0', sopInstanceUID: '2.25.1.1', ...MODEL });
    expect(stored).toMatchObject({ status: 'scored', probability: 0.8, source: 'panel', analyzedAt: 42, imageId: 'dicomweb:/demo/1.dcm' });
  });

  it('shows a stored result of the image on screen without running the model', async () => {
    const results = new MemoryResultStore();
    const target = targetOf(2);
    await results.put(scoredRecord({ image: { studyInstanceUID: '2.25.2', seriesInstanceUID: '2.25.2.0', sopInstanceUID: '2.25.2.1' }, model: MODEL, outcome: outcomeOf(target, 0.93), source: 'batch', analyzedAt: 1 }));
    const { service, ran } = await serviceWith(outcomeStoreOver(results));
    service.setActiveImage(target);
    await flush();
    const { analysis } = service.getState();
    expect(analysis.status === 'done' && analysis.outcome.analysis.probability).toBe(0.93);
    await service.analyze(target);
    expect(ran).toEqual([]);
  });

  it('shows a result stored under another calibration version as stale, never as the current score', async () => {
    const results = new MemoryResultStore();
    const target = targetOf(3);
    await results.put(scoredRecord({ image: { studyInstanceUID: '2.25.3', seriesInstanceUID: '2.25.3.0', sopInstanceUID: '2.25.3.1' }, model: { ...MODEL, calibrationVersion: 'older' }, outcome: outcomeOf(target, 0.93), source: 'batch', analyzedAt: 1 }));
    const { service } = await serviceWith(outcomeStoreOver(results));
    service.setActiveImage(target);
    await flush();
    expect(service.getState().analysis).toMatchObject({ status: 'stale', calibrationVersion: 'older' });
    expect(service.outcomeForImage(target.sopInstanceUID)).toBeNull();
  });

  it('never shows a stored answer that arrives after the reader moved to another image', async () => {
    let answer: (outcome: AnalysisOutcome | null) => void = () => undefined;
    const slow: OutcomeStore = {
      find: () => new Promise(found => (answer = found)),
      save: async () => undefined,
    };
    const { service } = await serviceWith(slow);
    service.setActiveImage(targetOf(4));
    const first = answer;
    service.setActiveImage(targetOf(5));
    first(outcomeOf(targetOf(4), 0.99));
    await flush();
    expect(service.getState().analysis.status).toBe('idle');
    // Back on the first image, its result is there.
    service.setActiveImage(targetOf(4));
    await flush();
    const { analysis } = service.getState();
    expect(analysis.status === 'done' && analysis.outcome.analysis.probability).toBe(0.99);
  });

  it('keeps working when the store fails: the result is shown, the copy is lost', async () => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    const broken: OutcomeStore = {
      find: async () => {
        throw new Error('quota exceeded');
      },
      save: async () => {
        throw new Error('quota exceeded');
      },
    };
    const { service } = await serviceWith(broken);
    await service.analyze(targetOf(6));
    await flush();
    expect(service.getState().analysis.status).toBe('done');
    expect(warn).toHaveBeenCalled();
    warn.mockRestore();
  });

  it('stores nothing for an image whose study or series is unknown', async () => {
    const results = new MemoryResultStore();
    const { service } = await serviceWith(outcomeStoreOver(results));
    await service.analyze(targetOf(7, { studyInstanceUID: undefined }));
    await flush();
    expect(service.getState().analysis.status).toBe('done');
    expect((await results.forStudies(['2.25.7'])).size).toBe(0);
  });
});
