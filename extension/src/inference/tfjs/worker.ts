/**
 * The TensorFlow.js engine's worker entry: binds TfjsEngine (engine.ts) to the browser, as
 * ../worker.ts binds the onnxruntime engine. TensorFlow.js is bundled into this worker's chunk
 * (it has no run-time loader like onnxruntime-web's); its .wasm files come from tfjsWasmBaseUrl.
 */
import { version_core } from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';

import type { GpuLike } from '../backend';
import { sha256Stream } from '../sha256';
import { earlyStartFromName, serve, type PortLike } from '../serve';
import { TfjsEngine } from './engine';
import { PROFILE_LINE_PREFIX } from './profile';
import { startTfjs } from './runtime';

interface WorkerScope {
  readonly crossOriginIsolated: boolean;
  readonly navigator: { readonly hardwareConcurrency?: number; readonly gpu?: GpuLike };
  readonly caches?: CacheStorage;
}

const scope = self as unknown as WorkerScope & PortLike & { readonly name: string };

/** See TfjsStartOptions.allowThreads: this worker's navigator reports at least 2 cores per thread asked. */
function allowThreads(threads: number): void {
  const cores = scope.navigator.hardwareConcurrency ?? 1;
  Object.defineProperty(scope.navigator, 'hardwareConcurrency', { configurable: true, get: () => Math.max(cores, 2 * threads) });
}

serve(
  scope,
  new TfjsEngine({
    fetch: url => fetch(url),
    sha256: sha256Stream,
    caches: scope.caches ?? null,
    makeResponse: bytes => new Response(bytes as Uint8Array<ArrayBuffer>, { headers: { 'content-type': 'application/octet-stream' } }),
    now: () => performance.now(),
    crossOriginIsolated: scope.crossOriginIsolated,
    hardwareConcurrency: scope.navigator.hardwareConcurrency,
    startTfjs: options => {
      // The threads' script from our origin, not a blob: the viewer's CSP allows no blob: scripts
      // (scripts/tfjs-threads-loader.cjs, which the viewer's build applies).
      if (options.wasmBaseUrl) (globalThis as { CHESTAID_TFJS_THREADED_SCRIPT_URL?: string }).CHESTAID_TFJS_THREADED_SCRIPT_URL = `${options.wasmBaseUrl}tfjs-backend-wasm-threaded-simd.js`;
      return startTfjs({ ...options, allowThreads });
    },
    version: version_core,
    // Read back by the benchmark (test/bench/stageProfiles.mjs); only with config.profileRuns.
    // eslint-disable-next-line no-console
    profileSink: profile => console.log(`${PROFILE_LINE_PREFIX}${JSON.stringify(profile)}`),
  }),
  earlyStartFromName(scope.name),
);
