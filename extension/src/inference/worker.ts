/**
 * The inference worker's entry: binds the engine to the browser. Everything with logic in it is
 * in engine.ts and the modules it uses, and serve.ts (tested under jest); this file only names the
 * real objects.
 *
 * onnxruntime-web is imported at run time from the configured ortBaseUrl, not bundled: the served
 * folder is then the one copy of ORT (JS, .mjs loaders and .wasm from the same 1.31.1 release),
 * and the page's bundle stays small. 'webgpu' is ort.webgpu.min.mjs, the C++ WebGPU provider;
 * never ort.min.mjs (JSEP), which miscomputes DenseNet's Concat on some adapters.
 */
import { InferenceEngine } from './engine';
import type { OrtFlavour, OrtLike } from './ort';
import { sha256Stream } from './sha256';
import { earlyStartFromName, serve, type PortLike } from './serve';
import type { GpuLike } from './backend';

const ORT_MODULE: Record<OrtFlavour, string> = {
  wasm: 'ort.wasm.min.mjs',
  webgpu: 'ort.webgpu.min.mjs',
};

interface WorkerScope {
  readonly crossOriginIsolated: boolean;
  readonly navigator: { readonly hardwareConcurrency?: number; readonly gpu?: GpuLike };
  readonly caches?: CacheStorage;
}

const scope = self as unknown as WorkerScope & PortLike & { readonly name: string };

/**
 * onnxruntime-web keeps its WebAssembly.Memory to itself; the only way to read its size (for the
 * benchmark's memory-growth check) is to see it created. Emscripten's loader constructs it with
 * `new WebAssembly.Memory(...)` read from the global at call time, so a subclass in its place
 * records each instance, weakly, and changes nothing else. Installed before onnxruntime loads.
 */
const memories: WeakRef<WebAssembly.Memory>[] = [];
const NativeMemory = WebAssembly.Memory;
class TrackedMemory extends NativeMemory {
  constructor(descriptor: WebAssembly.MemoryDescriptor) {
    super(descriptor);
    memories.push(new WeakRef(this));
  }
}
(WebAssembly as { Memory: typeof WebAssembly.Memory }).Memory = TrackedMemory;

/** The largest live memory: the runtime's heap (emscripten also makes an empty placeholder). */
function wasmMemoryBytes(): number | null {
  let largest: number | null = null;
  for (const ref of memories) {
    const bytes = ref.deref()?.buffer.byteLength;
    if (bytes !== undefined && (largest === null || bytes > largest)) largest = bytes;
  }
  return largest;
}

async function fetchJson(url: string): Promise<unknown> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url} answered ${response.status} ${response.statusText}`);
  return response.json();
}

serve(
  scope,
  new InferenceEngine({
    fetch: url => fetch(url),
    fetchJson,
    sha256: sha256Stream,
    caches: scope.caches ?? null,
    makeResponse: bytes => new Response(bytes as Uint8Array<ArrayBuffer>, { headers: { 'content-type': 'application/octet-stream' } }),
    now: () => performance.now(),
    gpu: scope.navigator.gpu ?? null,
    crossOriginIsolated: scope.crossOriginIsolated,
    hardwareConcurrency: scope.navigator.hardwareConcurrency,
    loadOrt: (flavour, baseUrl) => import(/* webpackIgnore: true */ `${baseUrl}${ORT_MODULE[flavour]}`) as Promise<OrtLike>,
    wasmMemoryBytes,
    // Only where the browser was started with --js-flags=--expose-gc (the benchmark).
    collectGarbage: () => (globalThis as { gc?: () => void }).gc?.(),
  }),
  earlyStartFromName(scope.name),
);
