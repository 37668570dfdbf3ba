import { ChoosingInferenceClient, type ChoiceDeps, type EngineClient, type StorageLike } from './choiceClient';
import { parseRecord, serializeRecord, type EngineName } from './engineChoice';
import { EVENTS, type AnalyzeRequest, type InferenceResult } from './InferenceClient';
import { ModelBytesError, type BackendInfo, type InferenceConfig } from './protocol';
import { MemoryStorage } from '../testing/memoryStorage';

const CONFIG: InferenceConfig = { modelUrl: 'https://viewer.example/m.onnx', sha256: 'ab'.repeat(32), ortBaseUrl: 'https://viewer.example/ort/' };
const KEY = 'chestaid-engine:test';
const DIMS = [1, 3, 2, 2];

interface EngineBehaviour {
  /** Rejects init with this message (a failed self-check, a runtime that does not start). */
  readonly fails?: string;
  /** The runMs every run reports. */
  readonly runMs: number;
  readonly backend?: 'wasm' | 'webgpu';
  /** The failure is the model's bytes (a ModelBytesError, as InferenceClient gives it). */
  readonly model?: boolean;
  /** The load ends only once this settles. */
  readonly gate?: Promise<void>;
}

/** Every engine's requests in the order they were made, as `${engine} ${key}`. */
const requestLog: string[] = [];

class FakeEngineClient implements EngineClient {
  readonly requests: AnalyzeRequest[] = [];
  disposed = false;
  private progress: ((p: { loaded: number; total: number | null }) => void)[] = [];

  constructor(
    readonly engine: EngineName,
    private readonly behaviour: EngineBehaviour,
  ) {}

  private loaded: Promise<BackendInfo> | null = null;

  init(): Promise<BackendInfo> {
    this.loaded ??= this.load();
    return this.loaded;
  }

  private async load(): Promise<BackendInfo> {
    for (const l of this.progress) l({ loaded: 1, total: 2 });
    await this.behaviour.gate;
    if (this.behaviour.fails) throw this.behaviour.model ? new ModelBytesError(this.behaviour.fails) : new Error(this.behaviour.fails);
    return { backend: this.behaviour.backend ?? 'wasm', reason: `${this.engine} own reason`, threads: 2 } as BackendInfo;
  }

  /** As InferenceClient: the request is sent at once, and answered once the load has ended, or fails with it. */
  async analyze(request: AnalyzeRequest): Promise<InferenceResult> {
    if (this.disposed) throw new Error('disposed');
    this.requests.push({ ...request, input: request.input.slice() });
    requestLog.push(`${this.engine} ${request.key}`);
    // Sent: the real client transfers the input to its worker.
    if (request.input.buffer.byteLength > 0) structuredClone(request.input.buffer, { transfer: [request.input.buffer] });
    await this.init();
    return { key: request.key, logit: 0, cam: new Float32Array(4), camDims: [2, 2], runMs: this.behaviour.runMs, roundTripMs: 0, backend: 'wasm' };
  }

  subscribe(_event: typeof EVENTS.PROGRESS, listener: (p: { loaded: number; total: number | null }) => void) {
    this.progress.push(listener);
    return { unsubscribe: () => undefined };
  }

  dispose(): void {
    this.disposed = true;
  }
}

function setup(
  engines: Record<EngineName, EngineBehaviour>,
  { setting = 'auto', gpu = false, storage = new MemoryStorage(), gpuLookup }: { setting?: ChoiceDeps['setting']; gpu?: boolean; storage?: MemoryStorage; gpuLookup?: () => Promise<boolean> } = {},
) {
  const created: FakeEngineClient[] = [];
  const idle: (() => void)[] = [];
  const trials: BackendInfo[] = [];
  const client = new ChoosingInferenceClient(CONFIG, {
    setting,
    createClient: engine => {
      const c = new FakeEngineClient(engine, engines[engine]);
      created.push(c);
      return c;
    },
    storage,
    recordKey: KEY,
    hasHardwareGpu: gpuLookup ?? (async () => gpu),
    // A macrotask: a lookup that answers at once (a microtask) always comes first.
    delay: () => new Promise<void>(resolve => setTimeout(resolve, 0)),
    whenIdle: task => idle.push(task),
    timestamp: () => '2026-12-06T11:00:00.000Z',
    onTrial: info => trials.push(info),
  });
  /** Runs the idle tasks and lets their promises settle. */
  const runIdle = async () => {
    for (const task of idle.splice(0)) task();
    for (let i = 0; i < 50; i++) await Promise.resolve();
  };
  return { client, created, storage, runIdle, trials };
}

const request = (key = 'img'): AnalyzeRequest => ({ key, input: new Float32Array(12), dims: DIMS });

describe('ChoosingInferenceClient', () => {
  it('does not wait for a WebGPU adapter lookup that is slow to answer: the CPU plan starts', async () => {
    const { client, created } = setup({ tfjs: { runMs: 150 }, onnxruntime: { runMs: 120 } }, { gpuLookup: () => new Promise<boolean>(() => undefined) });
    const info = await client.init();
    expect(created.map(c => c.engine)).toEqual(['tfjs']);
    expect(info.reason).toMatch(/^TensorFlow\.js \(first run here/);
  });


  it('starts TensorFlow.js on a first visit, says why, and after the first analysis measures onnxruntime-web when idle', async () => {
    requestLog.length = 0;
    const { client, created, storage, runIdle, trials } = setup({ tfjs: { runMs: 150 }, onnxruntime: { runMs: 120 } });
    const info = await client.init();
    expect(info.reason).toBe('TensorFlow.js (first run here; onnxruntime-web will be measured when idle): tfjs own reason');
    expect(created.map(c => c.engine)).toEqual(['tfjs']);

    await client.analyze(request());
    expect(created.map(c => c.engine)).toEqual(['tfjs']); // nothing until the page is idle
    await runIdle();
    expect(created.map(c => c.engine)).toEqual(['tfjs', 'onnxruntime']);
    // Three probe runs on each engine, in turn (neither timed alone after the other's load).
    expect(created[0].requests.filter(r => r.key.startsWith('chestaid-engine-trial'))).toHaveLength(3);
    expect(created[1].requests).toHaveLength(3);
    expect(requestLog.filter(line => line.includes('chestaid-engine-trial')).map(line => line.split(' ')[0])).toEqual(['tfjs', 'onnxruntime', 'tfjs', 'onnxruntime', 'tfjs', 'onnxruntime']);
    expect(parseRecord(storage.getItem(KEY)).engines).toEqual({
      tfjs: { status: 'ok', warmMs: 150, measuredAt: '2026-12-06T11:00:00.000Z' },
      onnxruntime: { status: 'ok', warmMs: 120, measuredAt: '2026-12-06T11:00:00.000Z' },
    });
    // onnxruntime-web was faster by more than 10 %: it runs what comes next.
    expect(created[0].disposed).toBe(true);
    expect(trials.map(t => t.reason)).toEqual(['onnxruntime-web (fastest measured here: 120 ms against 150 ms for TensorFlow.js): onnxruntime own reason']);
    await client.analyze(request('next'));
    expect(created[1].requests.map(r => r.key)).toContain('next');
    expect((await client.init()).reason).toMatch(/^onnxruntime-web \(fastest measured here/);
  });

  it('waits for the analyses in flight (a triage batch) before it measures', async () => {
    const { client, created, runIdle } = setup({ tfjs: { runMs: 150 }, onnxruntime: { runMs: 120 } });
    await client.analyze(request());
    const batch = client.analyze(request('batch-1')); // asked for, not yet answered
    await runIdle();
    expect(created.map(c => c.engine)).toEqual(['tfjs']);
    await batch;
    await runIdle();
    expect(created.map(c => c.engine)).toEqual(['tfjs', 'onnxruntime']);
  });

  it('keeps the current engine when it is the faster, and measures only once', async () => {
    const { client, created, runIdle } = setup({ tfjs: { runMs: 117 }, onnxruntime: { runMs: 141 } });
    await client.analyze(request());
    await runIdle();
    await client.analyze(request('second'));
    await runIdle();
    expect(created.map(c => [c.engine, c.disposed])).toEqual([['tfjs', false], ['onnxruntime', true]]);
    expect((await client.init()).reason).toBe('TensorFlow.js (fastest measured here: 117 ms against 141 ms for onnxruntime-web): tfjs own reason');
  });

  it('runs the recorded fastest engine on the next page load, with no trial', async () => {
    const storage = new MemoryStorage();
    storage.setItem(KEY, serializeRecord({ engines: { tfjs: { status: 'ok', warmMs: 160, measuredAt: 'x' }, onnxruntime: { status: 'ok', warmMs: 141, measuredAt: 'x' } } }));
    const { client, created, runIdle } = setup({ tfjs: { runMs: 160 }, onnxruntime: { runMs: 141 } }, { storage });
    expect((await client.init()).reason).toBe('onnxruntime-web (fastest measured here: 141 ms against 160 ms for TensorFlow.js): onnxruntime own reason');
    await client.analyze(request());
    await runIdle();
    expect(created.map(c => c.engine)).toEqual(['onnxruntime']);
  });

  it('falls to the next engine when the first fails its self-check, records the failure, and does not try it again', async () => {
    const selfCheck = 'TensorFlow.js 4.22.0 wasm failed its self-check: logit off by 0.60';
    const { client, created, storage, runIdle } = setup({ tfjs: { runMs: 100, fails: selfCheck }, onnxruntime: { runMs: 141 } });
    const info = await client.init();
    expect(info.reason).toBe(`onnxruntime-web (TensorFlow.js failed: ${selfCheck}): onnxruntime own reason`);
    expect(created.map(c => [c.engine, c.disposed])).toEqual([['tfjs', true], ['onnxruntime', false]]);
    expect(parseRecord(storage.getItem(KEY)).engines.tfjs).toMatchObject({ status: 'failed', reason: selfCheck });
    await client.analyze(request());
    await runIdle();
    expect(created).toHaveLength(2); // no trial of an engine that just failed

    const again = setup({ tfjs: { runMs: 100 }, onnxruntime: { runMs: 141 } }, { storage });
    expect((await again.client.init()).reason).toMatch(/^onnxruntime-web \(TensorFlow\.js failed here \(.*logit off by 0\.60\)\)/);
    expect(again.created.map(c => c.engine)).toEqual(['onnxruntime']);
  });

  it('records a trial engine that fails its self-check, and keeps the current one', async () => {
    const { client, created, storage, runIdle } = setup({ tfjs: { runMs: 117 }, onnxruntime: { runMs: 50, fails: 'onnxruntime-web wasm failed its self-check' } });
    await client.analyze(request());
    await runIdle();
    expect(parseRecord(storage.getItem(KEY)).engines).toMatchObject({ tfjs: { status: 'ok', warmMs: 117 }, onnxruntime: { status: 'failed' } });
    expect(created[0].disposed).toBe(false);
    expect((await client.init()).reason).toMatch(/^TensorFlow\.js \(onnxruntime-web failed here \(onnxruntime-web wasm failed its self-check\)\)/);
  });

  it("stops at a model whose bytes are refused: another engine would refuse the same bytes, and no engine is to blame", async () => {
    const refusal = 'model file does not match the manifest (sha256 00 for m, the manifest says ff); refusing to run it';
    const { client, created, storage } = setup({ tfjs: { runMs: 1, fails: refusal, model: true }, onnxruntime: { runMs: 1 } });
    const failure = client.init();
    await expect(failure).rejects.toThrow(new Error(refusal));
    await expect(failure).rejects.toBeInstanceOf(ModelBytesError);
    expect(created.map(c => c.engine)).toEqual(['tfjs']);
    expect(storage.getItem(KEY)).toBeNull();
  });

  it('says why each engine failed when none loads, and records nothing (no engine loaded the model to prove it sound)', async () => {
    const { client, storage } = setup({ tfjs: { runMs: 1, fails: 'no SIMD' }, onnxruntime: { runMs: 1, fails: 'could not start onnxruntime-web (wasm)' } });
    await expect(client.init()).rejects.toThrow('TensorFlow.js: no SIMD; onnxruntime-web: could not start onnxruntime-web (wasm)');
    expect(storage.getItem(KEY)).toBeNull();
  });

  it('runs the configured engine, measures nothing and keeps no record', async () => {
    const { client, created, storage, runIdle } = setup({ tfjs: { runMs: 117 }, onnxruntime: { runMs: 50 } }, { setting: 'onnxruntime' });
    expect((await client.init()).reason).toBe('onnxruntime-web (set by configuration): onnxruntime own reason');
    await client.analyze(request());
    await runIdle();
    expect(created.map(c => c.engine)).toEqual(['onnxruntime']);
    expect(storage.items.size).toBe(0);
  });

  it('gives a hardware WebGPU adapter to onnxruntime-web; measures TensorFlow.js when WebGPU fell back to wasm', async () => {
    const gpu = setup({ tfjs: { runMs: 117 }, onnxruntime: { runMs: 20, backend: 'webgpu' } }, { gpu: true });
    await gpu.client.analyze(request());
    await gpu.runIdle();
    expect(gpu.created.map(c => c.engine)).toEqual(['onnxruntime']);

    const fell = setup({ tfjs: { runMs: 100 }, onnxruntime: { runMs: 141, backend: 'wasm' } }, { gpu: true });
    await fell.client.analyze(request());
    await fell.runIdle();
    expect(fell.created.map(c => c.engine)).toEqual(['onnxruntime', 'tfjs']);
    expect((await fell.client.init()).reason).toMatch(/^TensorFlow\.js \(fastest measured here: 100 ms against 141 ms/);
  });

  it('sends an analysis asked while the engine loads to that engine at once, and answers it when the load ends', async () => {
    let release!: () => void;
    const gate = new Promise<void>(resolve => (release = resolve));
    const { client, created } = setup({ tfjs: { runMs: 150, gate }, onnxruntime: { runMs: 120 } });
    void client.init(); // the mode's preload
    const answered = client.analyze(request('clicked'));
    for (let i = 0; i < 20; i++) await new Promise(resolve => setTimeout(resolve, 0));
    // In the worker already, queued behind the load: no round trip through the page after it.
    expect(created.map(c => c.engine)).toEqual(['tfjs']);
    expect(created[0].requests.map(r => r.key)).toEqual(['clicked']);
    let settled = false;
    void answered.then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false);
    release();
    expect((await answered).key).toBe('clicked');
  });

  it('gives an analysis sent to an engine whose load then fails to the next engine, with its input intact', async () => {
    let release!: () => void;
    const gate = new Promise<void>(resolve => (release = resolve));
    const { client, created } = setup({ tfjs: { runMs: 150, gate, fails: 'self-check failed' }, onnxruntime: { runMs: 120 } });
    const input = Float32Array.from({ length: 12 }, (_, i) => i + 0.5);
    const answered = client.analyze({ key: 'clicked', input, dims: DIMS });
    for (let i = 0; i < 20; i++) await new Promise(resolve => setTimeout(resolve, 0));
    expect(created[0].requests.map(r => r.key)).toEqual(['clicked']);
    expect(input.length).toBe(0); // transferred to the first engine's worker
    release();
    expect((await answered).key).toBe('clicked');
    expect(created.map(c => c.engine)).toEqual(['tfjs', 'onnxruntime']);
    expect(Array.from(created[1].requests[0].input)).toEqual(Array.from({ length: 12 }, (_, i) => i + 0.5));
  });

  it('fails the analysis with the model\'s refusal when the loading engine refuses the bytes', async () => {
    const { client, created } = setup({ tfjs: { runMs: 150, fails: 'sha256 mismatch', model: true }, onnxruntime: { runMs: 120 } });
    await expect(client.analyze(request('clicked'))).rejects.toThrow(ModelBytesError);
    expect(created.map(c => c.engine)).toEqual(['tfjs']);
  });

  it('relays the loading engine\'s download progress', async () => {
    const { client } = setup({ tfjs: { runMs: 1 }, onnxruntime: { runMs: 1 } });
    const seen: unknown[] = [];
    client.subscribe(EVENTS.PROGRESS, p => seen.push(p));
    await client.init();
    expect(seen).toEqual([{ loaded: 1, total: 2 }]);
  });

  it('survives a storage that refuses to be read or written', async () => {
    const broken: StorageLike = { getItem: () => { throw new Error('SecurityError'); }, setItem: () => { throw new Error('QuotaExceededError'); } };
    const { client, runIdle } = setup({ tfjs: { runMs: 150 }, onnxruntime: { runMs: 100 } }, { storage: broken as MemoryStorage });
    await client.analyze(request());
    await runIdle();
    expect((await client.init()).reason).toMatch(/^onnxruntime-web \(fastest measured here/);
  });
});
