/**
 * The inference worker's logic: load the model once (verified, cached), pick a backend, run.
 * onnxruntime-web and the browser are structurally typed dependencies, so this module runs under
 * jest with fakes; worker.ts binds the real ones.
 *
 * Backend order, as onnxruntime-common's backend resolution does it (try in priority order, keep
 * every reason): WebGPU through the C++ WebGPU provider (ort.webgpu.min.mjs, not the JSEP build
 * that miscomputes DenseNet's Concat on 8-storage-buffer adapters), on a hardware adapter,
 * trusted only after its self-check; otherwise wasm (SIMD, threads where the page is cross-origin isolated).
 *
 * Loading overlaps its two slow halves: onnxruntime-web starts (fetch, compile and instantiate its
 * 14 MB wasm, start its threads) while the model downloads and is hashed; they took 0.3 s and
 * 0.33 s one after the other in the bench page (see the README's performance section).
 */
import { messageOf } from '@chestaid/core';
import {
  chooseThreads,
  describeAdapter,
  describeWasm,
  findAdapter,
  type GpuLike,
  type ThreadChoice,
} from './backend';
import { loadModelBytes, type ModelBytesDeps, type Progress } from './modelBytes';
import {
  DEFAULT_CACHE_NAME,
  InferenceError,
  type AdapterReport,
  type BackendInfo,
  type InferenceConfig,
  type ModelLoadInfo,
  type SelfCheckReport,
  type WorkerRequest,
  type WorkerResponse,
  type WorkerStats,
} from './protocol';
import { CROSS_CHECK_TOLERANCE, maxAbsDiff, parseReference, probeInput, type Reference } from './reference';

export interface TensorLike {
  readonly data: unknown;
  readonly dims: readonly number[];
}

export interface SessionLike {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** ORT >= 1.22; tensors carry their shape, symbolic dims as strings. */
  readonly inputMetadata?: readonly { readonly name: string; readonly shape?: readonly (number | string)[] }[];
  run(feeds: Record<string, unknown>): Promise<Record<string, TensorLike>>;
  release(): Promise<void>;
  /** Ends onnxruntime's profiler; onnxruntime-web prints the trace to the console. */
  endProfiling?(): void;
}

export interface SessionOptionsLike {
  executionProviders: string[];
  enableProfiling?: boolean;
}

/** The part of onnxruntime-web's module the engine uses. */
export interface OrtLike {
  readonly env: { wasm: { numThreads?: number; wasmPaths?: unknown; proxy?: boolean }; logLevel?: string };
  readonly InferenceSession: {
    create(model: Uint8Array, options: SessionOptionsLike): Promise<SessionLike>;
  };
  readonly Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => unknown;
}

/** 'webgpu' must load the C++ WebGPU provider build (ort.webgpu.min.mjs); 'wasm' ort.wasm.min.mjs. */
export type OrtFlavour = 'wasm' | 'webgpu';

export interface EngineDeps extends ModelBytesDeps {
  readonly gpu: GpuLike | null;
  readonly crossOriginIsolated: boolean;
  readonly hardwareConcurrency?: number;
  readonly loadOrt: (flavour: OrtFlavour, baseUrl: string) => Promise<OrtLike>;
  readonly fetchJson: (url: string) => Promise<unknown>;
  /** The byte length of onnxruntime's wasm memory, when the worker can see it (worker.ts). */
  readonly wasmMemoryBytes?: () => number | null;
  /**
   * A full garbage collection of the worker, where the browser exposes one (gc() under
   * --js-flags=--expose-gc: benchmarks only). stats() runs it first, so that the page's memory
   * then shows what is retained rather than the worker's not yet collected input buffers.
   */
  readonly collectGarbage?: () => void;
}

export interface RunOutput {
  readonly logit: number;
  readonly cam: Float32Array;
  readonly camDims: readonly [number, number];
  readonly runMs: number;
}

interface Names {
  readonly input: string;
  readonly logit: string;
  readonly cam: string;
}

interface Ready {
  readonly ort: OrtLike;
  readonly session: SessionLike;
  readonly names: Names;
  readonly info: BackendInfo;
  /** [1, C, H, W] from the graph, for the idle warm-up; null when the graph does not say. */
  readonly dims: number[] | null;
}

/**
 * The smallest model there is (ONNX IR 7, opset 13: y = Identity(x), x float[1]). Creating a
 * session from it is the only public way to make onnxruntime-web start its wasm runtime before the
 * real model's bytes are there (onnxruntime issue 18364 asks for another); it is released at once.
 */
export const RUNTIME_START_MODEL = Uint8Array.of(
  8, 7, 58, 55, 10, 16, 10, 1, 120, 18, 1, 121, 34, 8, 73, 100, 101, 110, 116, 105, 116, 121, 18, 1, 103, 90, 15, 10, 1,
  120, 18, 10, 10, 8, 8, 1, 18, 4, 10, 2, 8, 1, 98, 15, 10, 1, 121, 18, 10, 10, 8, 8, 1, 18, 4, 10, 2, 8, 1, 66, 4, 10, 0,
  16, 13,
);

function namesOf(config: InferenceConfig): Names {
  return { input: config.inputName ?? 'input', logit: config.logitName ?? 'logit', cam: config.camName ?? 'cam' };
}

function checkAbsolute(url: string, field: string): void {
  try {
    new URL(url);
  } catch {
    throw new InferenceError(`${field} must be an absolute URL, got ${JSON.stringify(url)}`);
  }
}

export function checkConfig(config: InferenceConfig): void {
  checkAbsolute(config.modelUrl, 'modelUrl');
  checkAbsolute(config.ortBaseUrl, 'ortBaseUrl');
  if (!config.ortBaseUrl.endsWith('/')) {
    throw new InferenceError(`ortBaseUrl must end with "/", got ${JSON.stringify(config.ortBaseUrl)}`);
  }
  if (config.referenceUrl !== undefined) checkAbsolute(config.referenceUrl, 'referenceUrl');
  if (!/^[0-9a-f]{64}$/i.test(config.sha256)) {
    throw new InferenceError(`sha256 must be 64 hex digits, got ${JSON.stringify(config.sha256)}`);
  }
}

/** Runs one batch-1 input and checks the outputs are what the classifier contract promises. */
async function runOnce(ort: OrtLike, session: SessionLike, names: Names, input: Float32Array, dims: readonly number[]) {
  const outputs = await session.run({ [names.input]: new ort.Tensor('float32', input, dims) });
  const logit = outputs[names.logit];
  const cam = outputs[names.cam];
  if (!logit || !cam) {
    throw new InferenceError(`the model returned outputs ${JSON.stringify(Object.keys(outputs))}; expected ${names.logit} and ${names.cam}`);
  }
  if (!(logit.data instanceof Float32Array) || logit.data.length !== 1) {
    throw new InferenceError(`output ${names.logit} has shape ${JSON.stringify(logit.dims)}; expected [1, 1]`);
  }
  if (!(cam.data instanceof Float32Array) || cam.dims.length !== 3 || cam.dims[0] !== 1) {
    throw new InferenceError(`output ${names.cam} has shape ${JSON.stringify(cam.dims)}; expected [1, h, w]`);
  }
  // A copy of a few dozen floats: it owns its buffer, so it can be transferred to the page.
  return { logit: logit.data[0], cam: new Float32Array(cam.data), camDims: [cam.dims[1], cam.dims[2]] as const };
}

function checkNames(session: SessionLike, names: Names): void {
  const missing = [
    ...(!session.inputNames.includes(names.input) ? [`input ${names.input}`] : []),
    ...[names.logit, names.cam].filter(n => !session.outputNames.includes(n)).map(n => `output ${n}`),
  ];
  if (missing.length) {
    throw new InferenceError(
      `the model has no ${missing.join(', ')} (inputs ${JSON.stringify(session.inputNames)}, outputs ${JSON.stringify(session.outputNames)})`,
    );
  }
}

function formatDiff(value: number): string {
  return value === 0 || !Number.isFinite(value) ? String(value) : value.toPrecision(2);
}

async function release(session: SessionLike | null): Promise<void> {
  try {
    await session?.release();
  } catch {
    // Releasing after a failed GPU run can fail too; the session is abandoned either way.
  }
}

type Settled<T> = ({ readonly ok: true } & T) | { readonly ok: false; readonly error: unknown; readonly ms?: undefined };

/** The outcome of a promise that is awaited later, without an unhandled rejection meanwhile. */
function settle<T extends object>(promise: Promise<T>): Promise<Settled<T>> {
  return promise.then(
    value => ({ ok: true as const, ...value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

/**
 * A software fallback adapter (SwiftShader, WARP) computes on the CPU through a GPU emulation:
 * in the bench it took 8.8-9.6 s per DenseNet-121 run (median 9.2 s) against 0.11 s for wasm on
 * 2 threads. 'auto' leaves it alone; 'webgpu' asks for it (the WebGPU e2e check, the bench).
 */
function usesAdapter(adapter: AdapterReport, config: InferenceConfig): boolean {
  return !adapter.isFallbackAdapter || config.backend === 'webgpu';
}

function skippedAdapterReason(adapter: AdapterReport): string {
  const name = [adapter.vendor, adapter.architecture].filter(Boolean).join(' ') || 'unnamed';
  return `the WebGPU adapter is a software fallback (${name}), slower than wasm`;
}

type WebGpuAttempt =
  | { readonly ok: true; readonly ort: OrtLike; readonly session: SessionLike; readonly createMs: number; readonly check: SelfCheckReport }
  | { readonly ok: false; readonly ort: OrtLike | null; readonly reason: string; readonly check: SelfCheckReport | null };

export class InferenceEngine {
  private readyPromise: Promise<Ready> | null = null;
  private configKey = '';
  private modelUrl = '';
  private runs = 0;
  private profileRuns = 0;

  constructor(private readonly deps: EngineDeps) {}

  /** Idempotent: the first call loads; later calls with the same config share its promise. */
  init(config: InferenceConfig, onProgress: (progress: Progress) => void = () => {}): Promise<BackendInfo> {
    const key = JSON.stringify(config);
    if (this.readyPromise) {
      if (key !== this.configKey) {
        return Promise.reject(
          new InferenceError(`this worker already serves ${this.modelUrl} with another configuration; start another worker`),
        );
      }
      return this.readyPromise.then(ready => ready.info);
    }
    this.configKey = key;
    this.modelUrl = config.modelUrl;
    this.profileRuns = config.profileRuns ?? 0;
    const promise = this.load(config, onProgress);
    this.readyPromise = promise;
    // A failed load (404, hash mismatch, network) may be retried once the host is fixed.
    promise.catch(() => {
      if (this.readyPromise === promise) this.readyPromise = null;
    });
    return promise.then(ready => ready.info);
  }

  async run(input: Float32Array, dims: readonly number[]): Promise<RunOutput> {
    if (!this.readyPromise) throw new InferenceError('the model is not loaded: init() must come first');
    const { ort, session, names, info } = await this.readyPromise;
    const start = this.deps.now();
    try {
      const out = await runOnce(ort, session, names, input, dims);
      return { ...out, runMs: this.deps.now() - start };
    } catch (error) {
      throw new InferenceError(`inference failed on ${info.backend}: ${messageOf(error)}`);
    } finally {
      this.ran(session);
    }
  }

  /**
   * A session's first run costs several later ones: V8 runs the fresh wasm on its baseline
   * compiler until the optimised code is ready, and the first run allocates the session's
   * buffers (bench page: 540-590 ms against 130-140 ms for the next). serve() calls this once the
   * model is loaded, behind whatever is queued: a request sent during the load (InferenceClient
   * sends Analyze's request at once) is itself the first run, and then this does nothing, rather
   * than make that request wait behind a warm-up. Resolves with the time taken, or null.
   */
  async warmUp(): Promise<number | null> {
    if (!this.readyPromise || this.runs > 0) return null;
    const { ort, session, names, dims } = await this.readyPromise;
    if (!dims || this.runs > 0) return null;
    const start = this.deps.now();
    try {
      await runOnce(ort, session, names, probeInput(dims), dims);
    } finally {
      this.ran(session);
    }
    return this.deps.now() - start;
  }

  stats(): WorkerStats {
    this.deps.collectGarbage?.();
    return { wasmMemoryBytes: this.deps.wasmMemoryBytes?.() ?? null, runs: this.runs };
  }

  private ran(session: SessionLike): void {
    this.runs++;
    if (this.runs === this.profileRuns) session.endProfiling?.();
  }

  private async load(config: InferenceConfig, onProgress: (progress: Progress) => void): Promise<Ready> {
    checkConfig(config);
    const names = namesOf(config);
    const threads = chooseThreads(this.deps, config.numThreads);
    const lookup = await findAdapter(this.deps.gpu, config.backend ?? 'auto');
    const gpuAdapter = lookup.adapter && usesAdapter(lookup.adapter, config) ? lookup.adapter : null;

    // The runtime starts now and loads while the model downloads; its failure is reported (or, on
    // the WebGPU path, falls back) once the bytes are verified, so a bad model is refused first.
    const runtime = settle(this.startRuntime(gpuAdapter ? 'webgpu' : 'wasm', config, threads));
    const loaded = await loadModelBytes(
      { modelUrl: config.modelUrl, sha256: config.sha256, bytes: config.bytes, cacheName: config.cacheName === undefined ? DEFAULT_CACHE_NAME : config.cacheName },
      this.deps,
      onProgress,
    );
    const model: ModelLoadInfo = {
      sha256: config.sha256.toLowerCase(),
      bytes: loaded.bytes.length,
      fromCache: loaded.fromCache,
      downloadMs: loaded.downloadMs,
      verifyMs: loaded.verifyMs,
      ...(loaded.cacheProblem ? { cacheProblem: loaded.cacheProblem } : {}),
    };
    const common = { threads: threads.threads, crossOriginIsolated: this.deps.crossOriginIsolated, model };

    let fallbackOrt: OrtLike | null = null;
    let why = lookup.adapter && !gpuAdapter ? skippedAdapterReason(lookup.adapter) : lookup.reason ?? '';
    let selfCheck: SelfCheckReport | null = null;
    let started = await runtime;
    if (gpuAdapter) {
      const attempt = await this.tryWebGpu(config, names, loaded.bytes, started, gpuAdapter);
      if (attempt.ok) {
        const reason = `WebGPU on ${describeAdapter(gpuAdapter)}: self-check against ${attempt.check.against} passed (logit off by ${formatDiff(attempt.check.logitDiff)})`;
        return {
          ort: attempt.ort,
          session: attempt.session,
          names,
          dims: null,
          info: {
            backend: 'webgpu',
            reason,
            adapter: lookup.adapter,
            selfCheck: attempt.check,
            runtimeStartMs: started.ms ?? 0,
            sessionCreateMs: attempt.createMs,
            // The self-check was the session's first run.
            warmUpMs: attempt.check.runMs,
            ...common,
          },
        };
      }
      // The WebGPU build also runs wasm: reuse it rather than download a second runtime.
      fallbackOrt = attempt.ort;
      why = attempt.reason;
      selfCheck = attempt.check;
      if (!fallbackOrt) started = await settle(this.startRuntime('wasm', config, threads));
    }

    let ort = fallbackOrt;
    if (!ort) {
      if (!started.ok) throw started.error;
      ort = started.ort;
    }
    const start = this.deps.now();
    const session = await this.createSession(ort, loaded.bytes, 'wasm', names, config);
    const sessionCreateMs = this.deps.now() - start;
    let dims: number[] | null = null;
    try {
      dims = [1, ...inputShape(session, names)];
    } catch {
      // No idle warm-up for a graph that does not state its input size.
    }
    return {
      ort,
      session,
      names,
      dims,
      info: {
        backend: 'wasm',
        reason: `${why}: ${describeWasm(threads)}`,
        adapter: lookup.adapter,
        selfCheck,
        runtimeStartMs: started.ms ?? 0,
        sessionCreateMs,
        warmUpMs: null,
        ...common,
      },
    };
  }

  /**
   * Loads onnxruntime-web, sets its env and starts its wasm runtime with a one-node session, so
   * the model's session later only parses, optimises and prepacks the graph.
   */
  private async startRuntime(flavour: OrtFlavour, config: InferenceConfig, threads: ThreadChoice): Promise<{ ort: OrtLike; ms: number }> {
    const start = this.deps.now();
    const ort = this.configure(await this.importOrt(flavour, config), config, threads);
    try {
      const session = await ort.InferenceSession.create(RUNTIME_START_MODEL, { executionProviders: ['wasm'] });
      await release(session);
    } catch (error) {
      throw new InferenceError(`could not start onnxruntime-web (${flavour}) from ${config.ortBaseUrl}: ${messageOf(error)}`);
    }
    return { ort, ms: this.deps.now() - start };
  }

  private async importOrt(flavour: OrtFlavour, config: InferenceConfig): Promise<OrtLike> {
    try {
      return await this.deps.loadOrt(flavour, config.ortBaseUrl);
    } catch (error) {
      throw new InferenceError(`could not load onnxruntime-web (${flavour}) from ${config.ortBaseUrl}: ${messageOf(error)}`);
    }
  }

  /** env is read when the runtime first initialises, so it is set before any session exists. */
  private configure(ort: OrtLike, config: InferenceConfig, threads: ThreadChoice): OrtLike {
    ort.env.wasm.numThreads = threads.threads;
    ort.env.wasm.wasmPaths = config.ortBaseUrl;
    // We are the worker already; ORT's proxy worker would add a second hop.
    ort.env.wasm.proxy = false;
    // ORT warns on every session that shape ops run on the CPU; the console is the reader's too.
    ort.env.logLevel = 'error';
    return ort;
  }

  private async createSession(
    ort: OrtLike,
    bytes: Uint8Array,
    provider: 'wasm' | 'webgpu',
    names: Names,
    config?: InferenceConfig,
  ): Promise<SessionLike> {
    let session: SessionLike;
    const options: SessionOptionsLike = { executionProviders: [provider] };
    if (config?.profileRuns) options.enableProfiling = true;
    try {
      session = await ort.InferenceSession.create(bytes, options);
    } catch (error) {
      throw new InferenceError(`could not create a ${provider} session for the model: ${messageOf(error)}`);
    }
    try {
      checkNames(session, names);
    } catch (error) {
      await release(session);
      throw error;
    }
    return session;
  }

  private async tryWebGpu(
    config: InferenceConfig,
    names: Names,
    bytes: Uint8Array,
    runtime: Settled<{ ort: OrtLike; ms: number }>,
    adapter: AdapterReport,
  ): Promise<WebGpuAttempt> {
    if (!runtime.ok) {
      return { ok: false, ort: null, reason: `WebGPU runtime unavailable (${messageOf(runtime.error)})`, check: null };
    }
    const { ort } = runtime;
    let session: SessionLike | null = null;
    let check: SelfCheckReport | null = null;
    try {
      const start = this.deps.now();
      session = await this.createSession(ort, bytes, 'webgpu', names, config);
      const createMs = this.deps.now() - start;
      check = await this.selfCheck(ort, session, names, bytes, config);
      if (check.passed) return { ok: true, ort, session, createMs, check };
      return {
        ok: false,
        ort,
        check,
        reason:
          `WebGPU on ${describeAdapter(adapter)} failed its self-check against ${check.against} ` +
          `(logit off by ${formatDiff(check.logitDiff)}, CAM by ${formatDiff(check.camDiff)}; tolerance ${check.tolerance.logit}, ${check.tolerance.cam})`,
      };
    } catch (error) {
      return { ok: false, ort, check, reason: `WebGPU on ${describeAdapter(adapter)} failed (${messageOf(error)})` };
    } finally {
      if (!check?.passed) await release(session);
    }
  }

  /** One known input on the WebGPU session, compared with a stored reference or with wasm. */
  private async selfCheck(
    ort: OrtLike,
    gpuSession: SessionLike,
    names: Names,
    bytes: Uint8Array,
    config: InferenceConfig,
  ): Promise<SelfCheckReport> {
    let expected: Reference;
    let against: SelfCheckReport['against'];
    if (config.referenceUrl) {
      let json: unknown;
      try {
        json = await this.deps.fetchJson(config.referenceUrl);
      } catch (error) {
        throw new InferenceError(`self-check reference ${config.referenceUrl} unavailable: ${messageOf(error)}`);
      }
      expected = parseReference(json, config.sha256, config.referenceUrl);
      against = 'reference';
    } else {
      expected = await this.wasmReference(ort, bytes, names);
      against = 'wasm';
    }
    const start = this.deps.now();
    // The run may consume its input buffer; the reference keeps its own.
    const got = await runOnce(ort, gpuSession, names, expected.input.slice(), expected.dims);
    const runMs = this.deps.now() - start;
    const logitDiff = Math.abs(got.logit - expected.logit);
    const camDiff = maxAbsDiff(got.cam, expected.cam);
    const { tolerance } = expected;
    return { against, passed: logitDiff <= tolerance.logit && camDiff <= tolerance.cam, logitDiff, camDiff, tolerance, runMs };
  }

  private async wasmReference(ort: OrtLike, bytes: Uint8Array, names: Names): Promise<Reference> {
    const session = await this.createSession(ort, bytes, 'wasm', names);
    try {
      const dims = [1, ...inputShape(session, names)];
      const input = probeInput(dims);
      const out = await runOnce(ort, session, names, input.slice(), dims);
      return { input, dims, logit: out.logit, cam: out.cam, tolerance: CROSS_CHECK_TOLERANCE };
    } finally {
      await release(session);
    }
  }
}

/** [C, H, W] of the model's input, from the session's metadata. */
function inputShape(session: SessionLike, names: Names): number[] {
  const shape = session.inputMetadata?.find(m => m.name === names.input)?.shape?.slice(1);
  if (shape && shape.length === 3 && shape.every(d => typeof d === 'number' && d > 0)) return shape as number[];
  throw new InferenceError(
    `cannot tell the input size of ${names.input} from the model (${JSON.stringify(shape ?? null)}); give a referenceUrl for the self-check`,
  );
}

/** The Worker-side end of the protocol: one engine behind a message port. */
export interface PortLike {
  postMessage(message: WorkerResponse, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: { data: WorkerRequest }) => void): void;
}

export interface Engine {
  init(config: InferenceConfig, onProgress: (progress: Progress) => void): Promise<BackendInfo>;
  run(input: Float32Array, dims: readonly number[]): Promise<RunOutput>;
  /** The session's first run when nothing else is queued (InferenceEngine.warmUp). */
  warmUp?(): Promise<unknown>;
  stats?(): WorkerStats;
}

/** Progress messages at most every 1 % of the file (or 1 MiB when its size is unknown). */
export function throttleProgress(post: (progress: Progress) => void): (progress: Progress) => void {
  let last = -Infinity;
  return progress => {
    const step = progress.total ? progress.total / 100 : 1 << 20;
    const done = progress.total !== null && progress.loaded >= progress.total;
    if (done || progress.loaded === 0 || progress.loaded - last >= step) {
      last = progress.loaded;
      post(progress);
    }
  };
}

export function serve(port: PortLike, engine: Engine): void {
  // Runs go one at a time (an ORT session is not re-entrant); a cancelled one that has not
  // started is dropped without an answer.
  const waiting = new Set<number>();
  let queue: Promise<void> = Promise.resolve();
  const fail = (id: number, error: unknown) => port.postMessage({ type: 'error', id, message: messageOf(error) });

  port.addEventListener('message', ({ data }) => {
    switch (data.type) {
      case 'init': {
        const { id } = data;
        const progress = throttleProgress(p => port.postMessage({ type: 'progress', id, loaded: p.loaded, total: p.total }));
        engine.init(data.config, progress).then(
          info => {
            port.postMessage({ type: 'ready', id, info });
            // Behind whatever is queued already: the client sends a request before the model is
            // loaded (InferenceClient.analyze), and that request is then the first run itself.
            queue = queue.then(() => engine.warmUp?.()).then(
              () => undefined,
              () => undefined, // a failed warm-up fails the next request too, which says why
            );
          },
          error => fail(id, error),
        );
        break;
      }
      case 'run': {
        const { id, key, input, dims } = data;
        waiting.add(id);
        queue = queue.then(async () => {
          if (!waiting.delete(id)) return;
          try {
            const out = await engine.run(input, dims);
            port.postMessage({ type: 'result', id, key, ...out }, [out.cam.buffer]);
          } catch (error) {
            fail(id, error);
          }
        });
        break;
      }
      case 'cancel':
        waiting.delete(data.id);
        break;
      case 'stats':
        if (engine.stats) port.postMessage({ type: 'stats', id: data.id, stats: engine.stats() });
        else fail(data.id, new InferenceError('this worker keeps no statistics'));
        break;
    }
  });
}
