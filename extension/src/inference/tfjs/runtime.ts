/**
 * TensorFlow.js's wasm backend (XNNPACK kernels) started once per worker or process: where its
 * .wasm files are served, how many threads, then the backend itself. Its threads must be set
 * before it starts; a second start with another count is refused rather than silently ignored.
 */
import * as tf from '@tensorflow/tfjs-core';
import { getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

export interface TfjsRuntime {
  /** Threads XNNPACK's pool runs (1 where the page is not cross-origin isolated). */
  readonly threads: number;
  readonly simd: boolean;
  readonly ms: number;
}

export interface TfjsStartOptions {
  /**
   * Absolute URL of the folder serving @tensorflow/tfjs-backend-wasm 4.22.0's dist .wasm files
   * (tfjs-backend-wasm.wasm, -simd.wasm, -threaded-simd.wasm); omitted under Node, which reads
   * them beside the package.
   */
  readonly wasmBaseUrl?: string;
  readonly threads: number;
  readonly now?: () => number;
  /**
   * Called with the thread count before the backend's wasm starts. TensorFlow.js caps its pool at
   * navigator.hardwareConcurrency / 2 ("many x86-64 processors have 2 threads per core",
   * tfjs-backend-wasm src/cc/backend.cc), read once when the module starts: 1 thread on a 2-vCPU
   * machine whatever was asked. The worker answers by reporting enough cores for the count the
   * engine chose (chooseThreads, the same as onnxruntime's), so the two engines run thread for thread.
   */
  readonly allowThreads?: (threads: number) => void;
}

let started: { promise: Promise<TfjsRuntime>; threads: number } | null = null;

export function startTfjs(options: TfjsStartOptions): Promise<TfjsRuntime> {
  if (started) {
    if (started.threads !== options.threads) {
      return Promise.reject(new Error(`TensorFlow.js's wasm backend already runs ${started.threads} thread(s) here; ${options.threads} needs another worker`));
    }
    return started.promise;
  }
  const now = options.now ?? (() => performance.now());
  const promise = (async () => {
    const t0 = now();
    if (options.wasmBaseUrl) setWasmPaths(options.wasmBaseUrl);
    setThreadsCount(options.threads);
    options.allowThreads?.(options.threads);
    if (!(await tf.setBackend('wasm'))) throw new Error("TensorFlow.js's wasm backend did not start");
    await tf.ready();
    const simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
    const threaded = Boolean(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'));
    return { threads: threaded ? getThreadsCount() : 1, simd, ms: now() - t0 };
  })();
  started = { promise, threads: options.threads };
  promise.catch(() => {
    started = null;
  });
  return promise;
}
