import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import type { ImagePixels } from './adapters/cornerstonePixels';
import { createAnalyzer, type InferenceClientLike } from './analyzer';
import { InputError, parseManifest, type Manifest } from '@chestaid/core';
import { crAttributes } from '@chestaid/core/testing';
import { EVENTS, inferenceConfigFor, resultKey, type AnalyzeRequest, type BackendInfo, type InferenceConfig } from './inference';
import type { AnalysisTarget, RuntimeState } from './analysis/types';

const manifestJson = () => JSON.parse(readFileSync(resolve(__dirname, '../../models/chestaid-demo/manifest.json'), 'utf8'));
// Without the input check: these tests feed test patterns, which that check refuses (core's analysis.test.ts).
const manifest = parseManifest({ ...manifestJson(), input_check: undefined });
const URLS = { manifestUrl: 'http://viewer.test/models/chestaid-demo/manifest.json', ortBaseUrl: 'http://viewer.test/chestaid/ort/' };

const target: AnalysisTarget = {
  viewportId: 'default',
  displaySetInstanceUID: 'ds-1',
  imageId: 'dicomweb:/x/1.dcm',
  sopInstanceUID: '2.25.1',
  modality: 'CR',
};

function image(overrides: Partial<ImagePixels['attributes']> = {}): ImagePixels {
  return {
    imageId: target.imageId,
    sopInstanceUID: target.sopInstanceUID,
    // The smallest matrix the intended-use gate lets through: the model's input size.
    attributes: crAttributes({ rows: 224, columns: 224, ...overrides }),
    pixels: Uint16Array.from({ length: 224 * 224 }, (_, i) => (i * 256) % 4096),
  };
}

const INFO = {
  backend: 'wasm',
  threads: 2,
  reason: 'no WebGPU adapter (navigator.gpu is absent): using wasm, 2 threads',
} as BackendInfo;

/** A client whose model load and runs behave as told; records what it was asked. */
class FakeClient {
  readonly EVENTS = EVENTS;
  readonly requests: AnalyzeRequest[] = [];
  inits = 0;
  disposed = false;
  private progress: ((p: { loaded: number; total: number | null }) => void) | null = null;
  constructor(
    readonly config: InferenceConfig,
    private readonly clock: { t: number },
    private readonly load: () => Promise<BackendInfo> = async () => INFO,
  ) {}
  subscribe(_event: string, listener: (p: { loaded: number; total: number | null }) => void) {
    this.progress = listener;
    return { unsubscribe: () => (this.progress = null) };
  }
  private loading: Promise<unknown> = Promise.resolve();
  private initPromise: Promise<BackendInfo> | null = null;
  /** Idempotent as InferenceClient.init: one load shared by every caller; a failed one may be retried. */
  init() {
    if (this.initPromise) return this.initPromise;
    this.inits++;
    this.progress?.({ loaded: 0, total: 100 });
    this.progress?.({ loaded: 100, total: 100 });
    this.clock.t += 5000; // a slow first download
    const promise = this.load();
    this.loading = promise;
    this.initPromise = promise;
    promise.catch(() => {
      if (this.initPromise === promise) this.initPromise = null;
    });
    return promise;
  }
  async analyze(request: AnalyzeRequest) {
    this.requests.push(request);
    // As the worker does: a request sent during the load runs once the model is there.
    await null;
    await this.loading.catch(() => undefined);
    this.clock.t += 120;
    return { key: request.key, logit: 1.5, cam: new Float32Array(49).fill(1), camDims: [7, 7] as const, runMs: 100, backend: 'wasm' as const, roundTripMs: 120 };
  }
  dispose() {
    this.disposed = true;
  }
}

function setup({
  read = async () => image(),
  load,
  preload = false,
}: { read?: () => Promise<ImagePixels>; load?: () => Promise<BackendInfo>; preload?: boolean } = {}) {
  const clock = { t: 0 };
  const clients: FakeClient[] = [];
  const runtime: RuntimeState[] = [];
  const analyzer = createAnalyzer({
    readPixels: read,
    configFor: m => inferenceConfigFor(m, URLS),
    createClient: config => {
      const client = new FakeClient(config, clock, load);
      clients.push(client);
      return client as unknown as InferenceClientLike;
    },
    onRuntime: r => runtime.push(r),
    preload,
    now: () => clock.t,
  });
  return { analyzer, clients, runtime, clock };
}

describe('createAnalyzer', () => {
  it('creates no client until the first analysis, then one for all of them', async () => {
    const { analyzer, clients } = setup();
    expect(clients).toHaveLength(0);
    await analyzer.analyze(target, manifest);
    await analyzer.analyze({ ...target, sopInstanceUID: '2.25.2' }, manifest);
    expect(clients).toHaveLength(1);
    expect(clients[0].config.sha256).toBe(manifest.onnx.sha256);
  });

  it('keys the outcome by the pixels\' SOPInstanceUID and the model sha256, and says how it ran', async () => {
    const { analyzer } = setup();
    const outcome = await analyzer.analyze(target, manifest);
    expect(outcome.key).toBe(resultKey('2.25.1', manifest.onnx.sha256));
    expect(analyzer.modelSha256(manifest)).toBe(manifest.onnx.sha256);
    expect(outcome.analysis.logit).toBe(1.5);
    // The first analysis's 5 s model load is not the analysis's time.
    expect(outcome.run).toEqual({ backend: 'wasm', threads: 2, reason: INFO.reason, totalMs: 120, runMs: 100 });
  });

  it('reports the model download and then the backend', async () => {
    const { analyzer, runtime } = setup();
    await analyzer.analyze(target, manifest);
    expect(runtime).toEqual([
      { status: 'loading', loaded: 0, total: 100 },
      { status: 'loading', loaded: 100, total: 100 },
      { status: 'ready', backend: 'wasm', threads: 2, reason: INFO.reason },
    ]);
  });

  it('hands the worker a tensor that owns its buffer (so it is transferred), in the viewport\'s slot', async () => {
    const { analyzer, clients } = setup();
    await analyzer.analyze(target, manifest);
    const [request] = clients[0].requests;
    const { height, width } = manifest.input.size;
    expect(request.dims).toEqual([1, 3, height, width]);
    expect(request.input.byteOffset).toBe(0);
    expect(request.input.byteLength).toBe((request.input.buffer as ArrayBuffer).byteLength);
    expect(request.slot).toBe('default');
  });

  it('refuses a bad image before any model download', async () => {
    const { analyzer, clients } = setup({ read: async () => image({ photometricInterpretation: 'RGB', samplesPerPixel: 3 }) });
    const error = await analyzer.analyze(target, manifest).catch(e => e);
    expect(error).toBeInstanceOf(InputError);
    expect(error.message).toMatch(/PhotometricInterpretation "RGB" is not supported/);
    expect(clients.every(c => c.inits === 0)).toBe(true);
  });

  it('passes a model refusal (tampered file) on, and reports it as the runtime\'s error', async () => {
    const refusal = 'model file does not match the manifest (sha256 00 for m, the manifest says ff); refusing to run it';
    const { analyzer, runtime } = setup({ load: async () => Promise.reject(new Error(refusal)) });
    await expect(analyzer.analyze(target, manifest)).rejects.toThrow(refusal);
    expect(runtime.at(-1)).toEqual({ status: 'error', message: refusal });
  });

  it('replaces the client when the manifest names other model bytes', async () => {
    const { analyzer, clients } = setup();
    await analyzer.analyze(target, manifest);
    const retrained: Manifest = parseManifest({ ...manifestJson(), input_check: undefined, onnx: { ...manifestJson().onnx, sha256: 'b'.repeat(64) } });
    await analyzer.analyze(target, retrained);
    expect(clients).toHaveLength(2);
    expect(clients[0].disposed).toBe(true);
  });

  describe('prepare (the mode opening a study)', () => {
    it('loads nothing when the site turned preload off', async () => {
      const { analyzer, clients, runtime } = setup({ preload: false });
      analyzer.prepare(manifest);
      await null;
      expect(clients).toHaveLength(0);
      expect(runtime).toEqual([]);
    });

    it('loads the model before any Analyze and reports it; the Analyze that follows shares that load', async () => {
      const { analyzer, clients, runtime } = setup({ preload: true });
      analyzer.prepare(manifest);
      await new Promise(resolve => setTimeout(resolve, 0));
      expect(clients).toHaveLength(1);
      expect(clients[0].inits).toBe(1);
      expect(runtime.at(-1)).toEqual({ status: 'ready', backend: 'wasm', threads: 2, reason: INFO.reason });
      // Preparing again (the mode entered again) and analyzing reuse the one client and its load.
      analyzer.prepare(manifest);
      const outcome = await analyzer.analyze(target, manifest);
      expect(clients).toHaveLength(1);
      expect(clients[0].inits).toBe(1);
      expect(clients[0].requests).toHaveLength(1);
      expect(outcome.analysis.logit).toBe(1.5);
    });

    it('reports a failed preload, and the next Analyze tries the load again', async () => {
      const refusal = 'GET http://viewer.test/models/chestaid-demo/model.onnx answered 503';
      let fail = true;
      const { analyzer, clients, runtime } = setup({ preload: true, load: async () => (fail ? Promise.reject(new Error(refusal)) : INFO) });
      analyzer.prepare(manifest);
      await new Promise(resolve => setTimeout(resolve, 0));
      expect(runtime.at(-1)).toEqual({ status: 'error', message: refusal });
      fail = false;
      const outcome = await analyzer.analyze(target, manifest);
      expect(outcome.analysis.logit).toBe(1.5);
      expect(clients).toHaveLength(1);
      expect(clients[0].inits).toBe(2);
      expect(runtime.at(-1)).toEqual({ status: 'ready', backend: 'wasm', threads: 2, reason: INFO.reason });
    });

    it('reports a manifest the worker cannot take instead of throwing', () => {
      const runtime: RuntimeState[] = [];
      const analyzer = createAnalyzer({
        readPixels: async () => image(),
        configFor: m => inferenceConfigFor(m, { ...URLS, file: 'model.int8.onnx' }),
        createClient: () => {
          throw new Error('no client for a configuration that failed');
        },
        onRuntime: r => runtime.push(r),
        preload: true,
      });
      expect(() => analyzer.prepare(manifest)).not.toThrow();
      expect(runtime).toEqual([{ status: 'error', message: expect.stringMatching(/model.int8.onnx has its own calibration/) }]);
    });
  });
});
