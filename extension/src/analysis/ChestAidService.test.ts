import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { NotAnalyzedError, type Analysis, type Manifest } from '@chestaid/core';
import { resultKey, SupersededError } from '../inference';
import { ChestAidService, EVENTS } from './ChestAidService';
import type { AnalysisOutcome, AnalysisTarget, Analyzer, ChestAidState } from './types';
import type { StorageLike } from './thresholdSetting';
import { MemoryStorage } from '../testing/memoryStorage';

const MANIFEST_URL = '/models/chestaid-demo/manifest.json';
const demoManifest = (): Record<string, unknown> =>
  JSON.parse(readFileSync(resolve(__dirname, '../../../models/chestaid-demo/manifest.json'), 'utf8'));
const SHA = (demoManifest().onnx as { sha256: string }).sha256;

function imageTarget(n: number, overrides: Partial<AnalysisTarget> = {}): AnalysisTarget {
  return {
    viewportId: 'default',
    displaySetInstanceUID: `ds-${n}`,
    imageId: `dicomweb:/chestaid/demo/dicom/study-0${n}.dcm`,
    sopInstanceUID: `2.25.${n}`,
    modality: 'CR',
    ...overrides,
  };
}
const target = imageTarget(1);

function outcomeFor(t: AnalysisTarget, probability = 0.7): AnalysisOutcome {
  return {
    key: resultKey(t.sopInstanceUID, SHA),
    analysis: { modelId: 'chestaid-demo', probability } as unknown as Analysis,
    run: { backend: 'wasm', threads: 2, reason: 'no WebGPU adapter: using wasm, 2 threads', totalMs: 180, runMs: 120 },
  };
}

/** An analyzer whose runs the test settles by hand, in any order. */
function controlledAnalyzer() {
  const calls: { target: AnalysisTarget; manifest: Manifest; resolve: (o: AnalysisOutcome) => void; reject: (e: Error) => void }[] = [];
  const analyzer: Analyzer = {
    modelSha256: manifest => manifest.onnx.sha256,
    analyze: (t, manifest) =>
      new Promise<AnalysisOutcome>((resolve, reject) => {
        calls.push({ target: t, manifest, resolve, reject });
      }),
  };
  return { analyzer, calls };
}

function instantAnalyzer(run: (t: AnalysisTarget) => Promise<AnalysisOutcome> = async t => outcomeFor(t)): Analyzer {
  return { modelSha256: manifest => manifest.onnx.sha256, analyze: run };
}

function serviceWith(json: unknown = demoManifest(), storage: StorageLike | null = null) {
  const fetched: string[] = [];
  const service = new ChestAidService({
    fetchJson: async url => {
      fetched.push(url);
      return json;
    },
    storage,
  });
  const states: ChestAidState[] = [];
  service.subscribe(EVENTS.STATE_CHANGED, state => states.push(state));
  return { service, fetched, states };
}

async function readyService(analyzer: Analyzer, storage: StorageLike | null = null) {
  const made = serviceWith(demoManifest(), storage);
  await made.service.configure({ analyzer });
  await made.service.loadManifest(MANIFEST_URL);
  made.service.setStudyModalities(['CR']);
  return made;
}

const flush = () => new Promise<void>(resolve => setImmediate(resolve));

describe('ChestAidService', () => {
  it('loads the manifest once and reports the model, synthetic flag and calibration included', async () => {
    const { service, fetched } = serviceWith();
    await Promise.all([service.loadManifest(MANIFEST_URL), service.loadManifest(MANIFEST_URL)]);
    expect(fetched).toEqual([MANIFEST_URL]);
    const { model } = service.getState();
    expect(model.status).toBe('ready');
    expect(model.status === 'ready' && model.info).toMatchObject({
      id: 'chestaid-demo',
      synthetic: true,
      sha256: SHA,
      calibrationMethod: expect.any(String),
      calibrationVersion: expect.any(String),
    });
  });

  it('reports a manifest the core refuses, naming the URL', async () => {
    const { service } = serviceWith({ schema_version: '2.0.0' });
    await expect(service.loadManifest(MANIFEST_URL)).rejects.toThrow(/schema version 2\.0\.0/);
    const { model } = service.getState();
    expect(model.status === 'error' && model.message).toMatch(/^Model manifest \/models\/chestaid-demo\/manifest\.json: /);
  });

  it('refuses to analyze a study that is not CR/DX and says why', async () => {
    const { service } = await readyService(instantAnalyzer());
    service.setStudyModalities(['CT']);
    await service.analyze({ ...target, modality: 'CT' });
    expect(service.getState().analysis).toEqual({
      status: 'error',
      message: 'ChestAid reads chest radiographs (CR or DX); this study has CT',
    });
  });

  it('says so when no analyzer is plugged in', async () => {
    const { service } = serviceWith();
    await service.loadManifest(MANIFEST_URL);
    service.setStudyModalities(['CR']);
    expect(service.blocker()).toBe('No analyzer is configured in this build of ChestAid.');
  });

  it('runs the analyzer with the validated manifest and announces running then done', async () => {
    const calls: unknown[] = [];
    const { service, states } = await readyService(
      instantAnalyzer(async t => {
        calls.push(t);
        return outcomeFor(t);
      }),
    );
    await service.analyze(target);
    expect(calls).toEqual([target]);
    expect(states.map(s => s.analysis.status).slice(-2)).toEqual(['running', 'done']);
    // Stamped with the calibration identity of the manifest it ran under ("1" and its sha256).
    const expected = outcomeFor(target);
    expect(service.getState().analysis).toEqual({
      status: 'done',
      target,
      outcome: { ...expected, analysis: { ...expected.analysis, calibrationVersion: expect.stringMatching(/^1\+sha256:[0-9a-f]{64}$/) } },
    });
  });

  it('turns an analyzer failure into an error state with its message', async () => {
    const { service } = await readyService(
      instantAnalyzer(async () => {
        throw new Error('PhotometricInterpretation "RGB" is not supported');
      }),
    );
    await service.analyze(target);
    expect(service.getState().analysis).toEqual({ status: 'error', message: 'PhotometricInterpretation "RGB" is not supported' });
  });

  it('shows an image the gate refuses as not analyzed, with the reason: no score, no heatmap, no retry loop', async () => {
    const refusal = { code: 'non-frontal-view', reason: 'a LL view; the model reads frontal chest radiographs (ViewPosition PA or AP) only' };
    let runs = 0;
    const { service } = await readyService(
      instantAnalyzer(async () => {
        runs++;
        throw new NotAnalyzedError(refusal);
      }),
    );
    service.setStudyImages([{ ...target, label: 'CHEST LAT' }]);
    await service.analyze(target);
    expect(service.getState().analysis).toEqual({ status: 'not-analyzed', target, refusal });
    expect(service.getState().images[0]).toMatchObject({ status: 'not-analyzed', refusal });
    expect(service.outcomeForImage(target.sopInstanceUID)).toBeNull();
    // Any refusal reason travels the same path (the out-of-distribution check's, for one).
    const { service: other } = await readyService(
      instantAnalyzer(async () => {
        throw new NotAnalyzedError({ code: 'out-of-distribution', reason: 'outside what this model was trained on' });
      }),
    );
    await other.analyze(target);
    expect(other.getState().analysis).toMatchObject({ status: 'not-analyzed', refusal: { code: 'out-of-distribution' } });
    expect(runs).toBe(1);
  });

  it('forgets the study but keeps the model when the mode exits', async () => {
    const { service } = serviceWith();
    await service.loadManifest(MANIFEST_URL);
    service.setStudyModalities(['CR']);
    service.onModeExit();
    expect(service.getState()).toMatchObject({ study: null, analysis: { status: 'idle' }, model: { status: 'ready' } });
  });

  describe('modelFile (the ONNX file the site runs)', () => {
    const int8 = () => ((demoManifest().onnx as { variants: { file: string; sha256: string; calibration: unknown }[] }).variants.find(v => v.file === 'model.int8.onnx'))!;

    it("runs the variant the site names, under its own sha256 and calibration, never the float model's", async () => {
      const { service } = serviceWith();
      await service.configure({ analyzer: instantAnalyzer(), modelFile: 'model.int8.onnx' });
      const manifest = await service.loadManifest(MANIFEST_URL);
      expect(manifest.onnx.file).toBe('model.int8.onnx');
      expect(manifest.onnx.sha256).toBe(int8().sha256);
      expect(manifest.onnx.sha256).not.toBe(SHA);
      // The int8 model's own calibration (the version the viewer names it by is the service's).
      expect({ ...manifest.calibration, version: null }).toEqual({ ...(int8().calibration as object), version: null });
      const { model } = service.getState();
      expect(model.status === 'ready' && model.info.sha256).toBe(int8().sha256);
    });

    it('refuses a file the manifest does not list, naming the files it has', async () => {
      const { service } = serviceWith();
      await service.configure({ analyzer: instantAnalyzer(), modelFile: 'model.int4.onnx' });
      await expect(service.loadManifest(MANIFEST_URL)).rejects.toThrow('model manifest lists no ONNX file "model.int4.onnx" (it has model.onnx, model.fp16.onnx, model.int8.onnx)');
      const { model } = service.getState();
      expect(model.status).toBe('error');
    });

    it('loads the manifest again when the file changes after the load', async () => {
      const { service, fetched } = serviceWith();
      await service.configure({ analyzer: instantAnalyzer() });
      await service.loadManifest(MANIFEST_URL);
      expect(service.getManifest()?.onnx.sha256).toBe(SHA);
      await service.configure({ modelFile: 'model.int8.onnx' });
      await service.loadManifest(MANIFEST_URL);
      expect(fetched).toEqual([MANIFEST_URL, MANIFEST_URL]);
      expect(service.getManifest()?.onnx.sha256).toBe(int8().sha256);
    });
  });

  describe('prepareModel (the mode opening a study)', () => {
    const preparing = (prepared: Manifest[]): Analyzer => ({ ...instantAnalyzer(), prepare: manifest => prepared.push(manifest) });

    it('hands the analyzer the validated manifest without waiting for the calibration log', async () => {
      const prepared: Manifest[] = [];
      const { service } = serviceWith();
      let readLog: () => void = () => undefined;
      const logRead = new Promise<void>(resolve => (readLog = resolve));
      // A site calibration log that takes its time (IndexedDB, a served log being verified).
      await service.configure({
        analyzer: preparing(prepared),
        calibrationStoreFor: () => ({
          readEntries: async () => {
            await logRead;
            return []; // an empty log: the manifest's own calibration
          },
          readOverlay: async () => null,
          append: async () => {
            throw new Error('not in this test');
          },
        }),
      });
      const loading = service.loadManifest(MANIFEST_URL);
      const preparation = service.prepareModel();
      expect(prepared).toEqual([]);
      await preparation;
      expect(prepared).toHaveLength(1);
      expect(prepared[0].onnx.sha256).toBe(SHA);
      expect(service.getState().model.status).toBe('loading');
      readLog();
      await loading;
      expect(service.getState().model.status).toBe('ready');
    });

    it('prepares nothing when the manifest was refused, or without an analyzer that prepares', async () => {
      const prepared: Manifest[] = [];
      const refused = serviceWith({ ...demoManifest(), schema_version: '99.0.0' });
      await refused.service.configure({ analyzer: preparing(prepared) });
      await refused.service.loadManifest(MANIFEST_URL).catch(() => undefined);
      await refused.service.prepareModel();
      expect(refused.service.getState().model.status).toBe('error');
      expect(prepared).toEqual([]);

      const { service } = await readyService(instantAnalyzer());
      await expect(service.prepareModel()).resolves.toBeUndefined();
    });
  });

  describe('results keyed by image and model', () => {
    it('never shows a result on another image when the image changes mid-run', async () => {
      const { analyzer, calls } = controlledAnalyzer();
      const { service } = await readyService(analyzer);
      const other = imageTarget(2);
      const run = service.analyze(target);
      expect(service.getState().analysis).toEqual({ status: 'running', target });

      service.setActiveImage(other);
      expect(service.getState().analysis).toEqual({ status: 'idle' });
      calls[0].resolve(outcomeFor(target));
      await run;
      expect(service.getState().analysis).toEqual({ status: 'idle' });

      // Back on the first image, its result is there without running the model again.
      service.setActiveImage(target);
      expect(service.getState().analysis).toMatchObject({ status: 'done', target, outcome: outcomeFor(target) });
      expect(calls).toHaveLength(1);
    });

    it('shows each image only its own result when two runs finish in the other order', async () => {
      const { analyzer, calls } = controlledAnalyzer();
      const { service } = await readyService(analyzer);
      const other = imageTarget(2);
      const first = service.analyze(target);
      const second = service.analyze(other);
      calls[1].resolve(outcomeFor(other, 0.2));
      await second;
      expect(service.getState().analysis).toMatchObject({ status: 'done', target: other, outcome: { analysis: { probability: 0.2 } } });
      calls[0].resolve(outcomeFor(target, 0.9));
      await first;
      expect(service.getState().analysis).toMatchObject({ status: 'done', target: other, outcome: { analysis: { probability: 0.2 } } });
    });

    it('joins concurrent Analyze clicks on the same image into one run', async () => {
      const { analyzer, calls } = controlledAnalyzer();
      const { service } = await readyService(analyzer);
      const clicks = [service.analyze(target), service.analyze(target), service.analyze({ ...target })];
      expect(calls).toHaveLength(1);
      calls[0].resolve(outcomeFor(target));
      await Promise.all(clicks);
      expect(service.getState().analysis.status).toBe('done');
    });

    it('drops an answer about other pixels than the image asked for', async () => {
      const { service } = await readyService(instantAnalyzer(async () => outcomeFor(imageTarget(9))));
      await service.analyze(target);
      const { analysis } = service.getState();
      expect(analysis.status).toBe('error');
      expect(analysis.status === 'error' && analysis.message).toMatch(/belong to another image/);
    });

    it('does not show a failure of an image the reader has left, nor a superseded run at all', async () => {
      const { analyzer, calls } = controlledAnalyzer();
      const { service } = await readyService(analyzer);
      const other = imageTarget(2);
      const first = service.analyze(target);
      service.setActiveImage(other);
      calls[0].reject(new Error('model file not found'));
      await first;
      expect(service.getState().analysis).toEqual({ status: 'idle' });
      service.setActiveImage(target);
      expect(service.getState().analysis).toEqual({ status: 'error', message: 'model file not found' });

      const again = service.analyze(target);
      calls[1].reject(new SupersededError('default', 'a', 'b'));
      await again;
      expect(service.getState().analysis).toEqual({ status: 'idle' });
    });

    it('does not key results across models: another sha256 is another result', async () => {
      const { analyzer, calls } = controlledAnalyzer();
      const { service } = await readyService(analyzer);
      const run = service.analyze(target);
      calls[0].resolve({ ...outcomeFor(target), key: resultKey(target.sopInstanceUID, 'f'.repeat(64)) });
      await run;
      expect(service.getState().analysis.status).toBe('error');
    });
  });

  describe('threshold', () => {
    it('starts at the manifest\'s clinical threshold, persists a moved one and resets it', async () => {
      const storage = new MemoryStorage();
      const { service } = await readyService(instantAnalyzer(), storage);
      const clinical = (demoManifest().thresholds as { clinical: { value: number } }).clinical.value;
      expect(service.getState().threshold).toEqual({ value: clinical, clinical, custom: false });

      service.setThreshold(0.25);
      expect(service.getState().threshold).toEqual({ value: 0.25, clinical, custom: true });
      expect([...storage.items.values()]).toEqual(['0.25']);

      // A new page load in the same browser finds it.
      const { service: reloaded } = await readyService(instantAnalyzer(), storage);
      expect(reloaded.getState().threshold).toMatchObject({ value: 0.25, custom: true });

      reloaded.resetThreshold();
      expect(reloaded.getState().threshold).toEqual({ value: clinical, clinical, custom: false });
      expect(storage.items.size).toBe(0);
    });

    it('refuses a threshold outside [0, 1], naming it, and keeps the previous one', async () => {
      const { service } = await readyService(instantAnalyzer());
      service.setThreshold(0.3);
      expect(() => service.setThreshold(1.5)).toThrow(/clinical threshold must be a number in \[0, 1\], got 1\.5/);
      expect(service.getState().threshold?.value).toBe(0.3);
    });

    it('moving the threshold changes no result and runs nothing', async () => {
      let runs = 0;
      const { service } = await readyService(
        instantAnalyzer(async t => {
          runs++;
          return outcomeFor(t);
        }),
      );
      await service.analyze(target);
      const before = service.getState().analysis;
      service.setThreshold(0.9);
      await flush();
      expect(service.getState().analysis).toEqual(before);
      expect(runs).toBe(1);
    });
  });

  describe('the study\'s images and "Analyze all images"', () => {
    const images = [1, 2, 3].map(n => {
      const { viewportId: _viewportId, ...image } = imageTarget(n);
      return { ...image, label: `image ${n}` };
    });

    it('lists every image with its status, scores them one at a time without touching the active image, and skips known results', async () => {
      const { analyzer, calls } = controlledAnalyzer();
      const { service, states } = await readyService(analyzer);
      service.setStudyImages(images);
      service.setActiveImage(imageTarget(2));
      expect(service.getState().images.map(row => [row.status, row.active])).toEqual([
        ['idle', false],
        ['idle', true],
        ['idle', false],
      ]);

      // Image 2 was analyzed by the reader already.
      const first = service.analyze(imageTarget(2));
      calls[0].resolve(outcomeFor(imageTarget(2), 0.9));
      await first;

      const all = service.analyzeAll();
      await flush();
      expect(calls).toHaveLength(2); // one at a time
      expect(calls[1].target.sopInstanceUID).toBe('2.25.1');
      expect(calls[1].target.viewportId).not.toBe('default'); // never supersedes the viewport's own Analyze
      expect(service.getState().batch).toEqual({ running: true, done: 0, total: 3, cancelled: false });
      calls[1].resolve(outcomeFor(imageTarget(1), 0.2));
      await flush();
      await flush();
      expect(calls).toHaveLength(3);
      expect(calls[2].target.sopInstanceUID).toBe('2.25.3'); // image 2 is known: not run again
      calls[2].resolve(outcomeFor(imageTarget(3), 0.6));
      await all;

      const state = service.getState();
      expect(state.batch).toEqual({ running: false, done: 3, total: 3, cancelled: false });
      expect(state.images.map(row => [row.status, row.outcome?.analysis.probability])).toEqual([
        ['done', 0.2],
        ['done', 0.9],
        ['done', 0.6],
      ]);
      // The active image stayed image 2 throughout.
      expect(state.analysis.status === 'done' && state.analysis.outcome.analysis.probability).toBe(0.9);
      expect(states.some(s => s.analysis.status === 'done' && s.analysis.target.sopInstanceUID !== '2.25.2')).toBe(false);
    });

    it('stops after the image under way when cancelled, keeping what finished', async () => {
      const { analyzer, calls } = controlledAnalyzer();
      const { service } = await readyService(analyzer);
      service.setStudyImages(images);
      const all = service.analyzeAll();
      await flush();
      service.cancelAnalyzeAll();
      expect(service.getState().batch?.cancelled).toBe(true);
      calls[0].resolve(outcomeFor(imageTarget(1)));
      await all;
      expect(calls).toHaveLength(1);
      expect(service.getState().batch).toEqual({ running: false, done: 1, total: 3, cancelled: true });
      expect(service.getState().images.map(row => row.status)).toEqual(['done', 'idle', 'idle']);
    });

    it('marks a failed image with its reason and goes on', async () => {
      const { service } = await readyService(
        instantAnalyzer(async t => {
          if (t.sopInstanceUID === '2.25.2') throw new Error('corrupt pixel data');
          return outcomeFor(t);
        }),
      );
      service.setStudyImages(images);
      await service.analyzeAll();
      expect(service.getState().images.map(row => [row.status, row.message])).toEqual([
        ['done', undefined],
        ['error', 'corrupt pixel data'],
        ['done', undefined],
      ]);
    });

    it('gives each image its own result for the heatmap layer, and none to an image never analyzed', async () => {
      const { service } = await readyService(instantAnalyzer());
      await service.analyze(imageTarget(1));
      expect(service.outcomeForImage('2.25.1')?.key).toBe(resultKey('2.25.1', SHA));
      expect(service.outcomeForImage('2.25.2')).toBeNull();
    });
  });

  describe('heatmap settings', () => {
    it('start visible at half opacity, toggle, and refuse values out of range naming them', async () => {
      const { service } = await readyService(instantAnalyzer());
      expect(service.getState().heatmap).toEqual({ visible: true, opacity: 0.5, layers: 'attention', outlineLevel: 0.5 });
      service.toggleHeatmap();
      expect(service.getState().heatmap.visible).toBe(false);
      service.setHeatmap({ opacity: 0.8, layers: 'both' });
      expect(service.getState().heatmap).toMatchObject({ opacity: 0.8, layers: 'both' });
      expect(() => service.setHeatmap({ opacity: 1.5 })).toThrow('heatmap opacity must lie in [0, 1], got 1.5');
      expect(() => service.setHeatmap({ outlineLevel: 0 })).toThrow('outline level must lie in (0, 1], got 0');
      expect(service.getState().heatmap.opacity).toBe(0.8);
    });
  });
});
