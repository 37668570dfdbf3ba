/**
 * What the main thread and the inference worker say to each other, and the configuration the
 * worker runs with. Plain data only: every message crosses postMessage.
 */
import type { SelfCheckBlock } from '@chestaid/core';

export type Backend = 'webgpu' | 'wasm';

export interface InferenceConfig {
  /** Absolute URL of the ONNX file (a worker resolves relative URLs against its own script). */
  readonly modelUrl: string;
  /** The manifest's onnx.sha256: the downloaded bytes must hash to it before a session exists. */
  readonly sha256: string;
  /** The manifest's onnx.bytes: the progress total when the server sends no Content-Length. */
  readonly bytes?: number;
  /**
   * Absolute URL of the folder serving onnxruntime-web 1.31's dist files (ort.wasm.min.mjs,
   * ort.webgpu.min.mjs and their ort-wasm-simd-threaded*.mjs/.wasm): our own copy, never the
   * OHIF dist's ort/ (1.17.1). Also becomes env.wasm.wasmPaths.
   */
  readonly ortBaseUrl: string;
  /** Graph names; the manifest's input.name, outputs.logit.name, outputs.cam.name. */
  readonly inputName?: string;
  readonly logitName?: string;
  readonly camName?: string;
  /**
   * 'auto' uses WebGPU when a hardware adapter exists and passes the self-check; 'wasm' never
   * tries; 'webgpu' also tries a software fallback adapter (benchmarks, the WebGPU e2e check),
   * still self-checked.
   */
  readonly backend?: 'auto' | 'wasm' | 'webgpu';
  /** Overrides the thread count (benchmarks); see chooseThreads for the default. */
  readonly numThreads?: number;
  /**
   * Absolute URL of a reference file (reference.ts format: an input and its PyTorch outputs) for
   * the WebGPU self-check. Without one, WebGPU is compared with wasm on a probe input.
   */
  readonly referenceUrl?: string;
  /**
   * The manifest's self_check block of this ONNX file (schema 1.6.0): every engine's first run is
   * its probe, compared with these outputs, and an engine that disagrees refuses to load
   * (selfCheck.ts). WebGPU compares with it too when no referenceUrl is given.
   */
  readonly selfCheck?: SelfCheckBlock;
  /** The manifest's `weights` for this file: TensorFlow.js's engine runs float weights only, not int8 (QDQ). */
  readonly weights?: 'float32' | 'float16' | 'int8';
  /** Cache API storage for verified model bytes; null turns caching off. */
  readonly cacheName?: string | null;
  /**
   * Benchmarks: run onnxruntime's profiler over the session's first `profileRuns` runs, then end
   * it; onnxruntime-web prints the per-node trace (Chrome trace JSON) to the worker's console.
   * The TensorFlow.js engine profiles run number `profileRuns` kernel by kernel (tfjs/profile.ts).
   */
  readonly profileRuns?: number;
}

export const DEFAULT_CACHE_NAME = 'chestaid-models-v1';

export interface ModelLoadInfo {
  readonly sha256: string;
  readonly bytes: number;
  readonly fromCache: boolean;
  /** Network or cache read time, excluding hashing. */
  readonly downloadMs: number;
  readonly verifyMs: number;
}

export interface AdapterReport {
  readonly isFallbackAdapter: boolean;
  readonly vendor: string;
  readonly architecture: string;
  readonly description: string;
}

export interface SelfCheckReport {
  /**
   * 'reference': a reference file (referenceUrl); 'manifest': the manifest's self_check block (the
   * probe's outputs by onnxruntime-node); 'wasm': the same probe input run on wasm.
   */
  readonly against: 'reference' | 'manifest' | 'wasm';
  readonly passed: boolean;
  /** Largest absolute differences; NaN when the check threw before comparing. */
  readonly logitDiff: number;
  readonly camDiff: number;
  readonly tolerance: { readonly logit: number; readonly cam: number };
  readonly runMs: number;
}

export interface BackendInfo {
  readonly backend: Backend;
  /** env.wasm.numThreads: wasm kernels, and the CPU fallback ops of the WebGPU provider. */
  readonly threads: number;
  /** Why this backend: "no WebGPU adapter: using wasm, 2 threads", or the self-check verdict. */
  readonly reason: string;
  readonly crossOriginIsolated: boolean;
  readonly adapter: AdapterReport | null;
  readonly selfCheck: SelfCheckReport | null;
  readonly model: ModelLoadInfo;
  /** onnxruntime-web's own start (its JS, the wasm: fetch, compile, instantiate, threads). */
  readonly runtimeStartMs: number;
  /** Creating the model's session once the runtime and the bytes are there. */
  readonly sessionCreateMs: number;
  /**
   * The session's first run when it happened at load: the self-check (WebGPU's, or the manifest's
   * probe on any engine). Null when the model has no self_check block: the first run then happens
   * on the first request, or as a warm-up when the worker is idle.
   */
  readonly warmUpMs: number | null;
}

/** What the worker can tell about its memory (benchmarks watch it for growth). */
export interface WorkerStats {
  /** The byte length of onnxruntime's WebAssembly.Memory, null when the worker has not seen it. */
  readonly wasmMemoryBytes: number | null;
  /** Runs done since the model was loaded, the idle warm-up included. */
  readonly runs: number;
}

export type WorkerRequest =
  | { readonly type: 'init'; readonly id: number; readonly config: InferenceConfig }
  | {
      readonly type: 'run';
      readonly id: number;
      readonly key: string;
      readonly input: Float32Array;
      readonly dims: readonly number[];
    }
  /** Drop a queued run whose answer nobody waits for any more (a newer request replaced it). */
  | { readonly type: 'cancel'; readonly id: number }
  | { readonly type: 'stats'; readonly id: number };

/** Where the page may send requests instead of the worker object (serve.ts says why). */
export interface RequestPort {
  postMessage(message: WorkerRequest, transfer: Transferable[]): void;
  close(): void;
}

export type WorkerResponse =
  | { readonly type: 'progress'; readonly id: number; readonly loaded: number; readonly total: number | null }
  /** Sent once, first, by a worker that started early: a port of a channel its requests may come by. */
  | { readonly type: 'channel'; readonly id: number; readonly port: RequestPort }
  | { readonly type: 'ready'; readonly id: number; readonly info: BackendInfo }
  | {
      readonly type: 'result';
      readonly id: number;
      readonly key: string;
      readonly logit: number;
      readonly cam: Float32Array;
      readonly camDims: readonly [number, number];
      readonly runMs: number;
    }
  | { readonly type: 'stats'; readonly id: number; readonly stats: WorkerStats }
  /** `model`: the model's bytes were refused (ModelBytesError), whichever engine asked. */
  | { readonly type: 'error'; readonly id: number; readonly message: string; readonly model?: true };

/**
 * The worker's name: its label, a space, then its configuration as JSON. The worker reads it as
 * it starts (configInWorkerName) and starts loading at once: Chromium holds a message posted to
 * a worker that has not yet run its script until the PAGE's thread hears that it has, and while
 * OHIF opens a study that thread is busy for 0.7-3.6 s (measured, issue 19). The init message
 * still carries the configuration; the worker uses the load it started only when the two agree.
 */
export function workerName(label: string, config: InferenceConfig): string {
  return `${label} ${JSON.stringify(config)}`;
}

/** The configuration workerName() put in a worker's name, or null (a bare label, or not JSON). */
export function configInWorkerName(name: string): InferenceConfig | null {
  const at = name.indexOf(' ');
  if (at < 0) return null;
  try {
    const config: unknown = JSON.parse(name.slice(at + 1));
    return typeof config === 'object' && config !== null && !Array.isArray(config) ? (config as InferenceConfig) : null;
  } catch {
    return null;
  }
}

/** A failure of the inference adapter; the message is meant for the reader as is. */
export class InferenceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InferenceError';
    Object.setPrototypeOf(this, new.target.prototype);
  }
}


/**
 * The model's bytes could not be had or were not the manifest's (download, 404, sha256): a fault
 * of the model or its server, not of the engine, so another engine is not tried (choiceClient.ts).
 */
export class ModelBytesError extends InferenceError {
  constructor(message: string) {
    super(message);
    this.name = 'ModelBytesError';
    Object.setPrototypeOf(this, new.target.prototype);
  }
}
