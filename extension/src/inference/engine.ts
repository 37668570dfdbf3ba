/**
 * The inference worker's logic: load the model once (verified, cached), pick a backend, run.
 * onnxruntime-web and the browser are structurally typed dependencies, so this module runs under
 * jest with fakes; worker.ts binds the real ones, and serve.ts puts the engine behind the port.
 *
 * Backend order, as onnxruntime-common's backend resolution does it (try in priority order, keep
 * every reason): WebGPU through the C++ WebGPU provider (ort.webgpu.min.mjs, not the JSEP build
 * that miscomputes DenseNet's Concat on 8-storage-buffer adapters), on a hardware adapter,
 * trusted only after its self-check (webGpu.ts); otherwise wasm (SIMD, threads where the page is
 * cross-origin isolated).
 *
 * Loading overlaps its slow parts: the model downloads and is hashed from the start, while the
 * WebGPU adapter is looked up and onnxruntime-web starts (runtime.ts: fetch, compile and
 * instantiate its 14 MB wasm, start its threads). The runtime's build depends on the adapter, but
 * the lookup can be slow to say there is none (Chromium starts its GPU process first: 1.4 s in a
 * fresh headless Chromium on this project's CPU machines), so the wasm runtime starts anyway when
 * no answer came within ADAPTER_WAIT_MS; a hardware adapter found later still gets its WebGPU
 * build, and the wasm one started meanwhile is then only its fallback.
 */
import { messageOf } from '@chestaid/core';
import { chooseThreads, describeAdapter, describeWasm, findAdapter, type GpuLike } from './backend';
import { checkConfig } from './config';
import { LoadOnce } from './loadOnce';
import { loadModelBytes, reportCaching, type ModelBytesDeps, type Progress } from './modelBytes';
import type { OrtLike, SessionLike } from './ort';
import {
  DEFAULT_CACHE_NAME,
  InferenceError,
  type BackendInfo,
  type InferenceConfig,
  type ModelLoadInfo,
  type SelfCheckReport,
  type WorkerStats,
} from './protocol';
import { probeInput } from './reference';
import { settle, startRuntime, type RuntimeDeps, type Settled, type StartedRuntime } from './runtime';
import { describeSelfCheck, runSelfCheck } from './selfCheck';
import type { Engine, RunOutput } from './serve';
import { createSession, inputShape, namesOf, release, runOnce, type Names } from './session';
import { formatDiff, skippedAdapterReason, tryWebGpu, usesAdapter, type WebGpuDeps } from './webGpu';

/** How long the wasm runtime waits for the adapter lookup before it starts anyway. */
export const ADAPTER_WAIT_MS = 200;

export interface EngineDeps extends ModelBytesDeps, RuntimeDeps, WebGpuDeps {
  readonly gpu: GpuLike | null;
  readonly crossOriginIsolated: boolean;
  readonly hardwareConcurrency?: number;
  /** The byte length of onnxruntime's wasm memory, when the worker can see it (worker.ts). */
  readonly wasmMemoryBytes?: () => number | null;
  /**
   * A full garbage collection of the worker, where the browser exposes one (gc() under
   * --js-flags=--expose-gc: benchmarks only). stats() runs it first, so that the page's memory
   * then shows what is retained rather than the worker's not yet collected input buffers.
   */
  readonly collectGarbage?: () => void;
  /** Resolves after `ms` (setTimeout by default; tests pass their own clock). */
  readonly delay?: (ms: number) => Promise<void>;
}

interface Ready {
  readonly ort: OrtLike;
  readonly session: SessionLike;
  readonly names: Names;
  readonly info: BackendInfo;
  /** [1, C, H, W] from the graph, for the idle warm-up; null when the graph does not say. */
  readonly dims: number[] | null;
}

export class InferenceEngine implements Engine {
  private readonly ready = new LoadOnce<Ready>();
  private runs = 0;
  private profileRuns = 0;

  constructor(private readonly deps: EngineDeps) {}

  /** Idempotent: the first call loads; later calls with the same config share its load (loadOnce.ts). */
  init(config: InferenceConfig, onProgress: (progress: Progress) => void = () => {}): Promise<BackendInfo> {
    return this.ready
      .start(config, () => {
        this.profileRuns = config.profileRuns ?? 0;
        return this.load(config, onProgress);
      })
      .then(ready => ready.info);
  }

  async run(input: Float32Array, dims: readonly number[]): Promise<RunOutput> {
    const { ort, session, names, info } = await this.ready.loaded();
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
   * than make that request wait behind a warm-up. With the manifest's self_check the probe was
   * the first run, at load (selfCheck.ts), and this does nothing. Resolves with the time taken, or null.
   */
  async warmUp(): Promise<number | null> {
    const loading = this.ready.current;
    if (!loading || this.runs > 0) return null;
    const { ort, session, names, dims } = await loading;
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
    // The bytes do not depend on the backend: they download now. Settled, and awaited below
    // before any runtime failure is reported, so a bad model is refused first.
    const bytes = settle(
      loadModelBytes(
        { modelUrl: config.modelUrl, sha256: config.sha256, bytes: config.bytes, cacheName: config.cacheName === undefined ? DEFAULT_CACHE_NAME : config.cacheName },
        this.deps,
        onProgress,
      ).then(loaded => ({ loaded })),
    );
    let wasmRuntime: Promise<Settled<StartedRuntime>> | null = null;
    const startWasm = () => (wasmRuntime ??= settle(startRuntime(this.deps, 'wasm', config, threads)));
    const lookingUp = findAdapter(this.deps.gpu, config.backend ?? 'auto');
    const delay = this.deps.delay ?? (ms => new Promise<void>(resolve => setTimeout(resolve, ms)));
    const early = await Promise.race([lookingUp, delay(ADAPTER_WAIT_MS).then(() => null)]);
    if (!early) startWasm();
    const lookup = early ?? (await lookingUp);
    const gpuAdapter = lookup.adapter && usesAdapter(lookup.adapter, config) ? lookup.adapter : null;
    const runtime = gpuAdapter ? settle(startRuntime(this.deps, 'webgpu', config, threads)) : startWasm();

    const downloaded = await bytes;
    if (!downloaded.ok) throw downloaded.error;
    const { loaded } = downloaded;
    // Stored in the Cache API once the engine is up or has failed: wrapping the bytes in a
    // Response copies them (0.1-0.15 s for the demo model), which the first Analyze should not wait for.
    try {
      const model: ModelLoadInfo = {
        sha256: config.sha256.toLowerCase(),
        bytes: loaded.bytes.length,
        fromCache: loaded.fromCache,
        downloadMs: loaded.downloadMs,
        verifyMs: loaded.verifyMs,
      };
      const common = { threads: threads.threads, crossOriginIsolated: this.deps.crossOriginIsolated, model };

      let fallbackOrt: OrtLike | null = null;
      let why = lookup.adapter && !gpuAdapter ? skippedAdapterReason(lookup.adapter) : lookup.reason ?? '';
      let selfCheck: SelfCheckReport | null = null;
      let started = await runtime;
      if (gpuAdapter) {
        const attempt = await tryWebGpu(this.deps, config, names, loaded.bytes, started, gpuAdapter);
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
        if (!fallbackOrt) started = await startWasm();
      }

      let ort = fallbackOrt;
      if (!ort) {
        if (!started.ok) throw started.error;
        ort = started.ort;
      }
      const start = this.deps.now();
      const session = await createSession(ort, loaded.bytes, 'wasm', names, config);
      const sessionCreateMs = this.deps.now() - start;
      let dims: number[] | null = null;
      try {
        dims = [1, ...inputShape(session, names)];
      } catch {
        // No idle warm-up for a graph that does not state its input size.
      }
      // The manifest's probe is the session's first run: the engine refuses before any result is
      // shown when it disagrees with onnxruntime-node (selfCheck.ts), and the run warms it up.
      let warmUpMs: number | null = null;
      if (config.selfCheck) {
        if (!dims) throw new InferenceError(`cannot run the manifest's self-check on ${config.modelUrl}: the graph does not state its input size`);
        const probeDims = dims;
        try {
          selfCheck = await runSelfCheck('onnxruntime-web wasm', config.selfCheck, probeDims, (input, d) => runOnce(ort, session, names, input, d), this.deps.now);
        } catch (error) {
          await release(session);
          throw error;
        } finally {
          this.ran(session);
        }
        warmUpMs = selfCheck.runMs;
      }
      return {
        ort,
        session,
        names,
        dims,
        info: {
          backend: 'wasm',
          reason: `${why}: ${describeWasm(threads)}${selfCheck?.against === 'manifest' ? `; ${describeSelfCheck(selfCheck)}` : ''}`,
          adapter: lookup.adapter,
          selfCheck,
          runtimeStartMs: started.ms ?? 0,
          sessionCreateMs,
          warmUpMs,
          ...common,
        },
      };
    } finally {
      reportCaching(loaded);
    }
  }
}
