/**
 * The inference worker's logic for the TensorFlow.js engine: the same protocol, model bytes and
 * thread choice as the onnxruntime engine (../engine.ts), so the page's InferenceClient drives
 * either. The model is the manifest's ONNX file, fetched, verified and cached by the same
 * loadModelBytes (one download, one Cache API entry, whichever engine reads it); the runtime
 * starts while it downloads.
 *
 * The viewer runs it when the engine choice picks it (../engineChoice.ts); the benchmark page
 * measures it beside onnxruntime-web.
 */
import { messageOf } from '@chestaid/core';
import { chooseThreads, type ThreadEnvironment } from '../backend';
import { LoadOnce } from '../loadOnce';
import { loadModelBytes, reportCaching, type ModelBytesDeps, type Progress } from '../modelBytes';
import { DEFAULT_CACHE_NAME, InferenceError, type BackendInfo, type InferenceConfig, type SelfCheckReport, type WorkerStats } from '../protocol';
import { probeInput } from '../reference';
import { settle } from '../runtime';
import { describeSelfCheck, runSelfCheck } from '../selfCheck';
import type { Engine, RunOutput } from '../serve';
import { TfjsClassifier } from './classifier';
import { profileRun, type TfjsProfile } from './profile';
import type { TfjsRuntime, TfjsStartOptions } from './runtime';
import { checkTfjsConfig, type TfjsInferenceConfig } from './tfjsConfig';

export type { TfjsInferenceConfig } from './tfjsConfig';

export interface TfjsEngineDeps extends ModelBytesDeps, ThreadEnvironment {
  readonly startTfjs: (options: TfjsStartOptions) => Promise<TfjsRuntime>;
  /** TensorFlow.js's version, for the reason the panel would show. */
  readonly version: string;
  /**
   * Benchmarks: where the per-kernel profile of run number `profileRuns` goes (the worker prints
   * it to its console, as onnxruntime-web prints its trace). Without it nothing is profiled.
   */
  readonly profileSink?: (profile: TfjsProfile) => void;
}

interface Ready {
  readonly classifier: TfjsClassifier;
  readonly info: BackendInfo;
  /** [1, C, H, W] from the graph, for the idle warm-up; null when the graph does not say. */
  readonly dims: number[] | null;
}


export class TfjsEngine implements Engine {
  private readonly ready = new LoadOnce<Ready>();
  private runs = 0;
  private profileRuns = 0;

  constructor(private readonly deps: TfjsEngineDeps) {}

  /** Idempotent, as InferenceEngine.init: a second call with the same config shares the load. */
  init(config: InferenceConfig, onProgress: (progress: Progress) => void = () => {}): Promise<BackendInfo> {
    return this.ready
      .start(config, () => {
        this.profileRuns = config.profileRuns ?? 0;
        return this.load(config as TfjsInferenceConfig, onProgress);
      })
      .then(ready => ready.info);
  }

  async run(input: Float32Array, dims: readonly number[]): Promise<RunOutput> {
    const { classifier } = await this.ready.loaded();
    const start = this.deps.now();
    try {
      const sink = this.deps.profileSink;
      // One run is profiled, the last of the first profileRuns (the earlier ones are slower).
      const out = sink && this.runs === this.profileRuns - 1 ? await this.profiled(classifier, input, dims, sink) : await classifier.run(input, dims);
      return { ...out, runMs: this.deps.now() - start };
    } catch (error) {
      throw new InferenceError(`inference failed on TensorFlow.js wasm: ${messageOf(error)}`);
    } finally {
      this.runs++;
    }
  }

  /**
   * The first run pays for XNNPACK's weight packing and V8's tier-up; done when idle (serve.ts),
   * unless the manifest's self-check probe already ran at load.
   */
  async warmUp(): Promise<number | null> {
    const loading = this.ready.current;
    if (!loading || this.runs > 0) return null;
    const { classifier, dims } = await loading;
    if (!dims || this.runs > 0) return null;
    const start = this.deps.now();
    try {
      await classifier.run(probeInput(dims), dims);
    } finally {
      this.runs++;
    }
    return this.deps.now() - start;
  }

  stats(): WorkerStats {
    return { wasmMemoryBytes: null, runs: this.runs };
  }

  private async profiled(classifier: TfjsClassifier, input: Float32Array, dims: readonly number[], sink: (profile: TfjsProfile) => void) {
    const { result, profile } = await profileRun(() => classifier.run(input, dims), this.deps.now);
    sink(profile);
    return result;
  }

  private async load(config: TfjsInferenceConfig, onProgress: (progress: Progress) => void): Promise<Ready> {
    checkTfjsConfig(config);
    const threads = chooseThreads(this.deps, config.numThreads);
    // The runtime starts once the model's bytes are on their way, not before: TensorFlow.js's start
    // spends its first 0.3 s or so in synchronous set-up (its thread pool's workers), which would
    // hold back the download's request on this thread. A failed load never starts it.
    let underWay!: () => void;
    const bytesUnderWay = new Promise<void>(resolve => (underWay = resolve));
    const runtime = settle(bytesUnderWay.then(() => this.deps.startTfjs({ wasmBaseUrl: config.tfjsWasmBaseUrl, threads: threads.threads, now: this.deps.now })));
    const loaded = await loadModelBytes(
      { modelUrl: config.modelUrl, sha256: config.sha256, bytes: config.bytes, cacheName: config.cacheName === undefined ? DEFAULT_CACHE_NAME : config.cacheName },
      this.deps,
      onProgress,
      underWay,
    );
    // Stored in the Cache API once the engine is up or has failed (../engine.ts says why).
    try {
      const started = await runtime;
      if (!started.ok) {
        throw new InferenceError(`could not start TensorFlow.js's wasm backend from ${config.tfjsWasmBaseUrl}: ${messageOf(started.error)}`);
      }
      const names = { input: config.inputName ?? 'input', logit: config.logitName ?? 'logit', cam: config.camName ?? 'cam' };
      const t0 = this.deps.now();
      let classifier: TfjsClassifier;
      try {
        classifier = TfjsClassifier.fromOnnx(loaded.bytes, names);
      } catch (error) {
        throw new InferenceError(`the TensorFlow.js engine cannot run this model: ${messageOf(error)}`);
      }
      const sessionCreateMs = this.deps.now() - t0;
      const features = [started.simd ? 'SIMD' : 'no SIMD', `${started.threads} thread${started.threads === 1 ? '' : 's'}`].join(', ');
      // As the onnxruntime engine: the manifest's probe is the first run, and a disagreement refuses
      // the engine before any result is shown (selfCheck.ts).
      let selfCheck: SelfCheckReport | null = null;
      if (config.selfCheck) {
        const dims = classifier.inputDims;
        if (!dims) throw new InferenceError("cannot run the manifest's self-check: the graph does not state its input size");
        try {
          selfCheck = await runSelfCheck(`TensorFlow.js ${this.deps.version} wasm`, config.selfCheck, dims, (input, d) => classifier.run(input, d), this.deps.now);
        } finally {
          this.runs++;
        }
      }
      return {
        classifier,
        dims: classifier.inputDims,
        info: {
          backend: 'wasm',
          reason: `TensorFlow.js ${this.deps.version} wasm backend (XNNPACK; ${features})${threads.note}${selfCheck ? `; ${describeSelfCheck(selfCheck)}` : ''}`,
          threads: started.threads,
          crossOriginIsolated: this.deps.crossOriginIsolated,
          adapter: null,
          selfCheck,
          model: {
            sha256: config.sha256.toLowerCase(),
            bytes: loaded.bytes.length,
            fromCache: loaded.fromCache,
            downloadMs: loaded.downloadMs,
            verifyMs: loaded.verifyMs,
              },
          runtimeStartMs: started.ms,
          sessionCreateMs,
          warmUpMs: selfCheck?.runMs ?? null,
        },
      };
    } finally {
      reportCaching(loaded);
    }
  }
}
