import { InferenceEngine, type EngineDeps } from './engine';
import type { OrtFlavour } from './ort';
import { serve, throttleProgress, type ChannelLike, type Engine, type PortLike } from './serve';
import type { Progress } from './modelBytes';
import { configInWorkerName, ModelBytesError, workerName, type InferenceConfig, type WorkerRequest, type WorkerResponse } from './protocol';
import { FakeCaches, FakeOrt, HARDWARE_GPU, SWIFTSHADER, fakeFetch, fakeGpu, flush, modelOutputs, referenceFor, sha256, sha256Stream, type FakeOrtOptions } from './testing/fakes';
import { probeInput } from './reference';
import type { SelfCheckBlock } from '@chestaid/core';

const MODEL_URL = 'https://viewer.example/models/tiny/tiny.onnx';
const REFERENCE_URL = 'https://viewer.example/models/tiny/tiny.json';
const ORT_BASE = 'https://viewer.example/chestaid/ort/';
const MODEL = Uint8Array.from({ length: 64 }, (_, i) => i);
const SHA = sha256(MODEL);
const CONFIG: InferenceConfig = { modelUrl: MODEL_URL, sha256: SHA, ortBaseUrl: ORT_BASE };

interface Setup {
  gpu?: EngineDeps['gpu'];
  ort?: FakeOrtOptions;
  files?: Record<string, Uint8Array>;
  json?: Record<string, unknown>;
  failImport?: OrtFlavour[];
  crossOriginIsolated?: boolean;
  /** Holds every download until it resolves. */
  beforeFetch?: () => Promise<void>;
  delay?: EngineDeps['delay'];
  makeResponse?: EngineDeps['makeResponse'];
}

function setup({ gpu = null, ort = {}, files = { [MODEL_URL]: MODEL }, json = {}, failImport = [], crossOriginIsolated = true, beforeFetch, delay, makeResponse = bytes => ({ bytes }) }: Setup = {}) {
  const served = fakeFetch(files);
  const { calls } = served;
  const fetch: EngineDeps['fetch'] = async url => {
    await beforeFetch?.();
    return served.fetch(url);
  };
  const imported: { flavour: OrtFlavour; ort: FakeOrt }[] = [];
  const caches = new FakeCaches();
  const deps: EngineDeps = {
    fetch,
    sha256: sha256Stream,
    caches,
    makeResponse,
    now: () => 0,
    gpu,
    crossOriginIsolated,
    delay,
    hardwareConcurrency: 2,
    fetchJson: async url => {
      if (!(url in json)) throw new Error(`GET ${url} answered 404 Not Found`);
      return json[url];
    },
    loadOrt: async (flavour, baseUrl) => {
      if (failImport.includes(flavour)) throw new TypeError(`Failed to fetch dynamically imported module: ${baseUrl}ort.${flavour}.min.mjs`);
      const instance = new FakeOrt(ort);
      imported.push({ flavour, ort: instance });
      return instance;
    },
  };
  return { engine: new InferenceEngine(deps), imported, calls, caches };
}

const INPUT = Float32Array.from({ length: 12 }, (_, i) => i / 12 - 0.3);

describe('InferenceEngine backend choice', () => {
  it('without a WebGPU adapter: wasm, threads set explicitly before the runtime starts, and says why', async () => {
    const { engine, imported } = setup();
    const info = await engine.init(CONFIG);
    expect(info).toMatchObject({ backend: 'wasm', threads: 2, reason: 'no WebGPU adapter (navigator.gpu is absent): using wasm, 2 threads', adapter: null, selfCheck: null });
    expect(imported.map(i => i.flavour)).toEqual(['wasm']);
    // The runtime's one-node start session, then the model's: both with the threads set.
    expect(imported[0].ort.envAtCreate).toEqual([
      { numThreads: 2, wasmPaths: ORT_BASE, proxy: false },
      { numThreads: 2, wasmPaths: ORT_BASE, proxy: false },
    ]);
    expect(imported[0].ort.sessions.map(s => [s.start, s.released])).toEqual([
      [true, true],
      [false, false],
    ]);
  });

  it('starts the runtime while the model downloads', async () => {
    let releaseDownload!: () => void;
    const downloading = new Promise<void>(r => (releaseDownload = r));
    const { engine, imported } = setup({ beforeFetch: () => downloading });
    const info = engine.init(CONFIG);
    await flush();
    expect(imported.map(i => i.ort.sessions.map(s => s.start))).toEqual([[true]]);
    releaseDownload();
    await expect(info).resolves.toMatchObject({ backend: 'wasm', runtimeStartMs: 0 });
  });

  describe('an adapter lookup slower than ADAPTER_WAIT_MS (Chromium starting its GPU process)', () => {
    function slowGpu() {
      let answer!: (adapter: typeof HARDWARE_GPU | null) => void;
      const answered = new Promise<typeof HARDWARE_GPU | null>(resolve => (answer = resolve));
      return { gpu: { requestAdapter: () => answered }, answer };
    }

    it('starts the download and the wasm runtime without waiting for it', async () => {
      const { gpu, answer } = slowGpu();
      const { engine, imported, calls } = setup({ gpu, delay: async () => undefined });
      const info = engine.init(CONFIG);
      await flush();
      expect(imported.map(i => i.flavour)).toEqual(['wasm']);
      expect(calls).toContain(MODEL_URL);
      answer(null);
      await expect(info).resolves.toMatchObject({ backend: 'wasm', reason: 'no WebGPU adapter: using wasm, 2 threads' });
      expect(imported.map(i => i.flavour)).toEqual(['wasm']);
    });

    it('still uses a hardware adapter that answers late, with its own WebGPU build', async () => {
      const { gpu, answer } = slowGpu();
      const { engine, imported } = setup({ gpu, delay: async () => undefined, ort: { inputShape: ['N', 3, 2, 2] } });
      const info = engine.init(CONFIG);
      await flush();
      answer(HARDWARE_GPU);
      await expect(info).resolves.toMatchObject({ backend: 'webgpu' });
      expect(imported.map(i => i.flavour)).toEqual(['wasm', 'webgpu']);
    });
  });

  it('does not run the wasm session at load: the first request, or the idle warm-up, is its first run', async () => {
    const { engine, imported } = setup();
    const info = await engine.init(CONFIG);
    expect(info.warmUpMs).toBeNull();
    const [session] = imported[0].ort.modelSessions;
    expect(session.runs).toBe(0);
    await expect(engine.warmUp()).resolves.toBe(0);
    expect(session.runs).toBe(1);
    // Only once, and never after a real run.
    await expect(engine.warmUp()).resolves.toBeNull();
    expect(session.runs).toBe(1);
  });

  it('skips the warm-up when a request ran first', async () => {
    const { engine, imported } = setup();
    await engine.init(CONFIG);
    await engine.run(INPUT.slice(), [1, 3, 2, 2]);
    await expect(engine.warmUp()).resolves.toBeNull();
    expect(imported[0].ort.modelSessions[0].runs).toBe(1);
    expect(engine.stats()).toEqual({ wasmMemoryBytes: null, runs: 1 });
  });

  it('with a hardware adapter that reproduces wasm on the probe: WebGPU, and the check is released', async () => {
    const { engine, imported } = setup({ gpu: fakeGpu(HARDWARE_GPU), ort: { inputShape: ['N', 3, 2, 2] } });
    const info = await engine.init(CONFIG);
    expect(info.backend).toBe('webgpu');
    expect(info.adapter?.isFallbackAdapter).toBe(false);
    expect(info.selfCheck).toMatchObject({ against: 'wasm', passed: true, logitDiff: 0, camDiff: 0 });
    expect(info.reason).toMatch(/^WebGPU on nvidia ampere: self-check against wasm passed/);
    const [{ flavour, ort }] = imported;
    expect(flavour).toBe('webgpu');
    expect(ort.modelSessions.map(s => [s.provider, s.released])).toEqual([
      ['webgpu', false],
      ['wasm', true],
    ]);
    await expect(engine.run(INPUT.slice(), [1, 3, 2, 2])).resolves.toMatchObject({ camDims: [2, 2] });
    expect(ort.modelSessions[0].runs).toBe(2);
  });

  it('leaves a software fallback adapter alone unless WebGPU is asked for', async () => {
    const auto = setup({ gpu: fakeGpu(SWIFTSHADER) });
    const info = await auto.engine.init(CONFIG);
    expect(info).toMatchObject({ backend: 'wasm', adapter: { isFallbackAdapter: true }, selfCheck: null });
    expect(info.reason).toBe('the WebGPU adapter is a software fallback (google swiftshader), slower than wasm: using wasm, 2 threads');
    expect(auto.imported.map(i => i.flavour)).toEqual(['wasm']);

    const asked = setup({ gpu: fakeGpu(SWIFTSHADER) });
    const forced = await asked.engine.init({ ...CONFIG, backend: 'webgpu' });
    expect(forced.backend).toBe('webgpu');
    expect(forced.reason).toMatch(/^WebGPU on google swiftshader, software fallback adapter: self-check against wasm passed/);
  });

  it('falls back to wasm when WebGPU returns wrong numbers (the JSEP Concat trap), reusing its runtime', async () => {
    const { engine, imported } = setup({ gpu: fakeGpu(HARDWARE_GPU), ort: { wrong: ['webgpu'] } });
    const info = await engine.init(CONFIG);
    expect(info.backend).toBe('wasm');
    expect(info.reason).toMatch(/^WebGPU on nvidia ampere failed its self-check against wasm \(logit off by 0\.6\d*, CAM by 0; tolerance 0\.001, 0\.001\): using wasm, 2 threads$/);
    expect(info.selfCheck).toMatchObject({ passed: false, against: 'wasm' });
    expect(imported.map(i => i.flavour)).toEqual(['webgpu']);
    expect(imported[0].ort.modelSessions.map(s => [s.provider, s.released])).toEqual([
      ['webgpu', true],
      ['wasm', true],
      ['wasm', false],
    ]);
  });

  it('falls back to wasm when a WebGPU run throws', async () => {
    const { engine } = setup({ gpu: fakeGpu(HARDWARE_GPU), ort: { broken: ['webgpu'] } });
    const info = await engine.init(CONFIG);
    expect(info.backend).toBe('wasm');
    expect(info.reason).toBe('WebGPU on nvidia ampere failed ([Invalid ComputePipeline "Concat"]): using wasm, 2 threads');
  });

  it('falls back to the wasm runtime when the WebGPU runtime cannot be loaded', async () => {
    const { engine, imported } = setup({ gpu: fakeGpu(HARDWARE_GPU), failImport: ['webgpu'] });
    const info = await engine.init(CONFIG);
    expect(info.backend).toBe('wasm');
    expect(info.reason).toMatch(/^WebGPU runtime unavailable \(could not load onnxruntime-web \(webgpu\) from https:\/\/viewer.example\/chestaid\/ort\/: /);
    expect(imported.map(i => i.flavour)).toEqual(['wasm']);
  });

  it('says so when the wasm runtime cannot start', async () => {
    const { engine } = setup({ ort: { failCreate: ['wasm'] } });
    await expect(engine.init(CONFIG)).rejects.toThrow(
      `could not start onnxruntime-web (wasm) from ${ORT_BASE}: wasm backend not available`,
    );
  });

  it('checks WebGPU against a stored reference when one is configured', async () => {
    const json = { [REFERENCE_URL]: referenceFor(SHA, INPUT, [1, 3, 2, 2]) };
    const { engine, imported } = setup({ gpu: fakeGpu(HARDWARE_GPU), json });
    const info = await engine.init({ ...CONFIG, referenceUrl: REFERENCE_URL });
    expect(info.selfCheck).toMatchObject({ against: 'reference', passed: true, tolerance: { logit: 1e-4, cam: 1e-4 } });
    expect(imported[0].ort.modelSessions.map(s => s.provider)).toEqual(['webgpu']);
  });

  it('does not trust WebGPU when the reference describes another model', async () => {
    const json = { [REFERENCE_URL]: referenceFor('cd'.repeat(32), INPUT, [1, 3, 2, 2]) };
    const { engine } = setup({ gpu: fakeGpu(HARDWARE_GPU), json });
    const info = await engine.init({ ...CONFIG, referenceUrl: REFERENCE_URL });
    expect(info.backend).toBe('wasm');
    expect(info.reason).toContain(`it describes model sha256 ${'cd'.repeat(32)}, not the loaded model ${SHA}`);
  });

  it('does not trust WebGPU when the reference is missing', async () => {
    const { engine } = setup({ gpu: fakeGpu(HARDWARE_GPU) });
    const info = await engine.init({ ...CONFIG, referenceUrl: REFERENCE_URL });
    expect(info.backend).toBe('wasm');
    expect(info.reason).toContain(`self-check reference ${REFERENCE_URL} unavailable: GET ${REFERENCE_URL} answered 404 Not Found`);
  });

  it('never touches the GPU when configured for wasm', async () => {
    const requestAdapter = jest.fn();
    const { engine } = setup({ gpu: { requestAdapter } });
    const info = await engine.init({ ...CONFIG, backend: 'wasm' });
    expect(info.reason).toBe('WebGPU turned off by configuration: using wasm, 2 threads');
    expect(requestAdapter).not.toHaveBeenCalled();
  });

  it('profiles the first runs when asked, then ends the profile', async () => {
    const { engine, imported } = setup();
    await engine.init({ ...CONFIG, profileRuns: 2 });
    const [session] = imported[0].ort.modelSessions;
    expect(session.profiled).toBe(true);
    await engine.run(INPUT.slice(), [1, 3, 2, 2]);
    expect(session.profileEnded).toBe(false);
    await engine.run(INPUT.slice(), [1, 3, 2, 2]);
    expect(session.profileEnded).toBe(true);
  });
});

describe('InferenceEngine loading', () => {
  it('refuses a model whose bytes do not match the manifest before any session of it exists', async () => {
    const { engine, imported } = setup({ files: { [MODEL_URL]: MODEL.map(b => b ^ 1) } });
    await expect(engine.init(CONFIG)).rejects.toThrow(/^model file does not match the manifest \(sha256 [0-9a-f]{64} .*refusing to run it$/);
    // The runtime started alongside the download; the bytes never reached it.
    expect(imported.flatMap(i => i.ort.modelSessions)).toEqual([]);
  });

  it('loads once: concurrent and later init() calls share the first load', async () => {
    const { engine, imported, calls } = setup();
    const [a, b] = await Promise.all([engine.init(CONFIG), engine.init(CONFIG)]);
    await engine.init(CONFIG);
    expect(a).toBe(b);
    expect(calls).toEqual([MODEL_URL]);
    expect(imported).toHaveLength(1);
  });

  it('refuses to load a second, different model in the same worker', async () => {
    const { engine } = setup();
    await engine.init(CONFIG);
    await expect(engine.init({ ...CONFIG, numThreads: 1 })).rejects.toThrow('this worker already serves');
  });

  it('may retry after a failed load', async () => {
    const files: Record<string, Uint8Array> = {};
    const { engine } = setup({ files });
    await expect(engine.init(CONFIG)).rejects.toThrow(`model file not found: GET ${MODEL_URL} answered 404 Not Found`);
    files[MODEL_URL] = MODEL;
    await expect(engine.init(CONFIG)).resolves.toMatchObject({ backend: 'wasm' });
  });

  it('refuses a model without the contract\'s input and outputs', async () => {
    const { engine } = setup();
    await expect(engine.init({ ...CONFIG, camName: 'heatmap' })).rejects.toThrow(
      'the model has no output heatmap (inputs ["input"], outputs ["logit","cam"])',
    );
  });

  it('wraps the verified bytes for the Cache API once its session is up, and after a failed load too', async () => {
    const sessionsWhenWrapped: number[] = [];
    const { engine, imported, caches } = setup({
      makeResponse: bytes => {
        sessionsWhenWrapped.push(imported.flatMap(i => i.ort.modelSessions).length);
        return { bytes };
      },
    });
    await engine.init(CONFIG);
    await flush();
    expect(sessionsWhenWrapped).toEqual([1]);
    expect((await caches.open('chestaid-models-v1')).entries.size).toBe(1);

    // A load that fails after the bytes were verified keeps them for the engine tried next.
    const failing = setup();
    await expect(failing.engine.init({ ...CONFIG, camName: 'heatmap' })).rejects.toThrow('the model has no output heatmap');
    await flush();
    expect((await failing.caches.open('chestaid-models-v1')).entries.size).toBe(1);
  });

  it('runs batch 1 and returns the logit and the map', async () => {
    const { engine } = setup();
    await expect(engine.run(INPUT, [1, 3, 2, 2])).rejects.toThrow('init() must come first');
    await engine.init(CONFIG);
    const out = await engine.run(INPUT.slice(), [1, 3, 2, 2]);
    expect(out.logit).toBeCloseTo(INPUT.reduce((a, b) => a + b) / 12, 6);
    expect(Array.from(out.cam)).toEqual(Array.from(INPUT.slice(0, 4)));
  });
});

describe('serve', () => {
  function port() {
    const posted: { message: WorkerResponse; transfer?: Transferable[] }[] = [];
    let listener: (event: { data: WorkerRequest }) => void = () => {};
    const p: PortLike = {
      postMessage: (message, transfer) => posted.push({ message, transfer }),
      addEventListener: (_type, l) => {
        listener = l;
      },
    };
    return { p, posted, send: (data: WorkerRequest) => listener({ data }) };
  }

  it('runs requests one at a time, drops a cancelled one that has not started, and transfers the map', async () => {
    const started: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>(r => (release = r));
    const engine: Engine = {
      init: async () => ({}) as never,
      run: async input => {
        started.push(String(input[0]));
        await gate;
        return { logit: input[0], cam: new Float32Array(4), camDims: [2, 2], runMs: 1 };
      },
    };
    const { p, posted, send } = port();
    serve(p, engine);
    const dims = [1, 1, 1, 1];
    send({ type: 'run', id: 1, key: 'a', input: Float32Array.of(1), dims });
    send({ type: 'run', id: 2, key: 'b', input: Float32Array.of(2), dims });
    send({ type: 'run', id: 3, key: 'c', input: Float32Array.of(3), dims });
    send({ type: 'cancel', id: 2 });
    await flush();
    expect(started).toEqual(['1']);
    release();
    await flush();
    await flush();
    expect(started).toEqual(['1', '3']);
    const results = posted.filter(m => m.message.type === 'result');
    expect(results.map(m => m.message.id)).toEqual([1, 3]);
    const first = results[0].message as Extract<WorkerResponse, { type: 'result' }>;
    expect(results[0].transfer).toEqual([first.cam.buffer]);
  });

  it('queues the warm-up after ready, behind requests sent during the load, and answers stats at once', async () => {
    const order: string[] = [];
    let loaded!: () => void;
    const loading = new Promise<void>(r => (loaded = r));
    const engine: Engine = {
      init: async () => {
        await loading;
        order.push('ready');
        return {} as never;
      },
      run: async input => {
        await loading;
        order.push(`run ${input[0]}`);
        return { logit: 0, cam: new Float32Array(4), camDims: [2, 2], runMs: 1 };
      },
      warmUp: async () => {
        order.push('warm-up');
        return null;
      },
      stats: () => ({ wasmMemoryBytes: 42, runs: order.length }),
    };
    const { p, posted, send } = port();
    serve(p, engine);
    send({ type: 'init', id: 1, config: CONFIG });
    send({ type: 'run', id: 2, key: 'a', input: Float32Array.of(7), dims: [1, 1, 1, 1] });
    send({ type: 'stats', id: 3 });
    expect(posted.map(m => m.message)).toEqual([{ type: 'stats', id: 3, stats: { wasmMemoryBytes: 42, runs: 0 } }]);
    loaded();
    await flush();
    await flush();
    expect(order).toEqual(['ready', 'run 7', 'warm-up']);
    expect(posted.map(m => m.message.type)).toEqual(['stats', 'ready', 'result']);
  });

  it('answers init with ready or with the error message', async () => {
    const engine: Engine = {
      init: async (config, onProgress) => {
        onProgress({ loaded: 0, total: 10 });
        if (config.modelUrl.includes('missing')) throw new ModelBytesError('model file not found: GET x answered 404');
        if (config.modelUrl.includes('broken')) throw new Error('no SIMD');
        return { backend: 'wasm' } as never;
      },
      run: async () => Promise.reject(new Error('unused')),
    };
    const { p, posted, send } = port();
    serve(p, engine);
    send({ type: 'init', id: 7, config: CONFIG });
    send({ type: 'init', id: 8, config: { ...CONFIG, modelUrl: 'https://x/missing.onnx' } });
    send({ type: 'init', id: 9, config: { ...CONFIG, modelUrl: 'https://x/broken.onnx' } });
    await flush();
    expect(posted.map(m => m.message)).toEqual([
      { type: 'progress', id: 7, loaded: 0, total: 10 },
      { type: 'progress', id: 8, loaded: 0, total: 10 },
      { type: 'progress', id: 9, loaded: 0, total: 10 },
      { type: 'ready', id: 7, info: { backend: 'wasm' } },
      // The model's bytes, not the engine, are at fault: said so, for the engine choice.
      { type: 'error', id: 8, message: 'model file not found: GET x answered 404', model: true },
      { type: 'error', id: 9, message: 'no SIMD' },
    ]);
  });

  function countingEngine(fail?: string) {
    const inits: string[] = [];
    const engine: Engine = {
      init: async (config, onProgress) => {
        inits.push(config.modelUrl);
        onProgress({ loaded: 0, total: 10 });
        if (fail) throw new ModelBytesError(fail);
        return { backend: 'wasm' } as never;
      },
      run: async () => Promise.reject(new Error('unused')),
    };
    return { engine, inits };
  }

  it('given its configuration in the worker\'s name: starts loading before any message, and the init message with the same configuration shares that load', async () => {
    const { engine, inits } = countingEngine();
    const { p, posted, send } = port();
    serve(p, engine, { config: configInWorkerName(workerName('chestaid-inference', CONFIG))! });
    expect(inits).toEqual([MODEL_URL]);
    send({ type: 'init', id: 1, config: { ...CONFIG } });
    await flush();
    expect(inits).toEqual([MODEL_URL]);
    expect(posted.map(m => m.message)).toEqual([
      { type: 'progress', id: 0, loaded: 0, total: 10 },
      { type: 'ready', id: 1, info: { backend: 'wasm' } },
    ]);
  });

  it('hands the page a port of its own channel and serves what comes by it, answering on the worker scope', async () => {
    const { engine, inits } = countingEngine();
    const { p, posted } = port();
    let onPort: ((event: { data: WorkerRequest }) => void) | null = null;
    let started = false;
    const port2 = { postMessage: () => undefined, close: () => undefined } as unknown as ChannelLike['port2'];
    serve(p, engine, {
      config: CONFIG,
      openChannel: () => ({ port1: { addEventListener: (_type, l) => (onPort = l), start: () => (started = true) }, port2 }),
    });
    expect(started).toBe(true);
    expect(posted[0]).toEqual({ message: { type: 'channel', id: 0, port: port2 }, transfer: [port2] });
    onPort!({ data: { type: 'init', id: 4, config: CONFIG } });
    await flush();
    expect(inits).toEqual([MODEL_URL]);
    expect(posted.map(m => m.message.type)).toEqual(['channel', 'progress', 'ready']);
  });

  it('loads what the init message asks when it differs from the name\'s configuration', async () => {
    const { engine, inits } = countingEngine();
    const { p, send } = port();
    serve(p, engine, { config: CONFIG });
    send({ type: 'init', id: 1, config: { ...CONFIG, modelUrl: 'https://x/other.onnx' } });
    await flush();
    expect(inits).toEqual([MODEL_URL, 'https://x/other.onnx']);
  });

  it('answers the init message with the early load\'s failure, without loading again', async () => {
    const { engine, inits } = countingEngine('model file not found: GET x answered 404');
    const { p, posted, send } = port();
    serve(p, engine, { config: CONFIG });
    await flush(); // the early load has failed before the message comes
    send({ type: 'init', id: 3, config: CONFIG });
    await flush();
    expect(inits).toEqual([MODEL_URL]);
    expect(posted[posted.length - 1].message).toEqual({ type: 'error', id: 3, message: 'model file not found: GET x answered 404', model: true });
  });
});

describe('workerName and configInWorkerName', () => {
  it('carry the configuration through the name, and read a bare or broken name as none', () => {
    const name = workerName('chestaid-inference-tfjs', CONFIG);
    expect(name.startsWith('chestaid-inference-tfjs ')).toBe(true);
    expect(configInWorkerName(name)).toEqual(CONFIG);
    expect(configInWorkerName('chestaid-inference')).toBeNull();
    expect(configInWorkerName('chestaid-inference {not json')).toBeNull();
    expect(configInWorkerName('chestaid-inference [1]')).toBeNull();
  });
});

describe('throttleProgress', () => {
  it('passes the start, every 1 % and the end', () => {
    const seen: Progress[] = [];
    const progress = throttleProgress(p => seen.push(p));
    for (let loaded = 0; loaded <= 1000; loaded += 1) progress({ loaded, total: 1000 });
    expect(seen).toHaveLength(101);
    expect(seen[seen.length - 1]).toEqual({ loaded: 1000, total: 1000 });
  });
});

/** The fake model's outputs on the probe, as the manifest's self_check block would hold them. */
function selfCheckBlock(logitShift = 0): SelfCheckBlock {
  const { logit, cam } = modelOutputs(probeInput([1, 3, 2, 2]));
  return { probe: 'chestaid-probe/1', logit: logit + logitShift, cam: { shape: [2, 2], data: Array.from(cam) }, tolerances: { logit: 1e-3, cam: 1e-3 } };
}

describe("InferenceEngine and the manifest's self-check", () => {
  it('runs the probe as the wasm session\'s first run and says it passed', async () => {
    const { engine, imported } = setup();
    const info = await engine.init({ ...CONFIG, selfCheck: selfCheckBlock() });
    expect(info.selfCheck).toMatchObject({ against: 'manifest', passed: true, logitDiff: 0, camDiff: 0 });
    expect(info.warmUpMs).toBe(0);
    expect(info.reason).toBe('no WebGPU adapter (navigator.gpu is absent): using wasm, 2 threads; self-check against the manifest passed (logit off by 0)');
    expect(imported[0].ort.modelSessions[0].runs).toBe(1);
    // The check was the warm-up.
    await expect(engine.warmUp()).resolves.toBeNull();
  });

  it('refuses to load when wasm disagrees with the manifest, with the numbers, and releases the session', async () => {
    const { engine, imported } = setup();
    const init = engine.init({ ...CONFIG, selfCheck: selfCheckBlock(0.5) });
    await expect(init).rejects.toThrow(
      /^onnxruntime-web wasm failed its self-check against the manifest's chestaid-probe\/1 outputs: logit -?[\d.e-]+ where onnxruntime-node gave -?[\d.e-]+ \(off by 0\.50\), CAM off by 0; tolerance 0\.001 and 0\.001$/,
    );
    expect(imported[0].ort.modelSessions.map(s => s.released)).toEqual([true]);
    await expect(engine.run(INPUT.slice(), [1, 3, 2, 2])).rejects.toThrow(/init\(\) must come first/);
  });

  it('refuses a CAM of another size than the manifest\'s', async () => {
    const { engine } = setup();
    const block = { ...selfCheckBlock(), cam: { shape: [3, 3] as [number, number], data: Array(9).fill(0) } };
    await expect(engine.init({ ...CONFIG, selfCheck: block })).rejects.toThrow(/CAM of 4 values where the manifest has 9/);
  });

  it('checks WebGPU against the manifest rather than a second wasm session', async () => {
    const { engine, imported } = setup({ gpu: fakeGpu(HARDWARE_GPU) });
    const info = await engine.init({ ...CONFIG, selfCheck: selfCheckBlock() });
    expect(info.backend).toBe('webgpu');
    expect(info.selfCheck).toMatchObject({ against: 'manifest', passed: true });
    expect(info.reason).toMatch(/^WebGPU on nvidia ampere: self-check against manifest passed/);
    expect(imported[0].ort.modelSessions.map(s => s.provider)).toEqual(['webgpu']);
  });

  it('falls from a WebGPU that fails the manifest to wasm, which must pass it too', async () => {
    const { engine } = setup({ gpu: fakeGpu(HARDWARE_GPU), ort: { wrong: ['webgpu'] } });
    const info = await engine.init({ ...CONFIG, selfCheck: selfCheckBlock() });
    expect(info.backend).toBe('wasm');
    expect(info.reason).toMatch(/^WebGPU on nvidia ampere failed its self-check against manifest \(logit off by 0\.6\d*, .*: using wasm, 2 threads; self-check against the manifest passed/);
    expect(info.selfCheck).toMatchObject({ against: 'manifest', passed: true });
  });
});
