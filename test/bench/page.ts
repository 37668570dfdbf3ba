/**
 * The page the WebGPU e2e check and the benchmark drive: the real inference client (worker and
 * all) and the real core, exposed on window.chestaidTest for Playwright. No UI.
 */
import {
  Preprocessor,
  analyze,
  camToHeatmap,
  inputSpecOf,
  manifestForVariant,
  parseManifest,
  type Manifest,
  type PixelAttributes,
} from '@chestaid/core';
import { createInferenceClient } from '../../extension/src/inference/browser';
import type { InferenceClient } from '../../extension/src/inference/InferenceClient';
import type { BackendInfo, InferenceConfig } from '../../extension/src/inference/protocol';
import { parseReference } from '../../extension/src/inference/reference';
import { createTfjsInferenceClient } from '../../extension/src/inference/tfjs/browser';

const clients = new Map<string, InferenceClient>();
const inputs = new Map<string, { data: Float32Array; dims: number[] }>();

function client(name: string): InferenceClient {
  const found = clients.get(name);
  if (!found) throw new Error(`no client ${name}`);
  return found;
}

function absolute(url: string): string {
  return new URL(url, document.baseURI).href;
}

async function fetchOk(url: string): Promise<Response> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url} answered ${response.status}`);
  return response;
}

function base64ToBytes(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

type ConfigIn = Omit<InferenceConfig, 'modelUrl' | 'ortBaseUrl' | 'referenceUrl'> & {
  modelUrl: string;
  ortBaseUrl?: string;
  referenceUrl?: string;
  /** 'tfjs': the TensorFlow.js wasm engine (issue 19), measured beside onnxruntime-web; not a viewer backend. */
  engine?: 'onnxruntime' | 'tfjs';
  tfjsWasmBaseUrl?: string;
};

const api = {
  crossOriginIsolated: () => crossOriginIsolated,

  /** Creates a client and loads its model; resolves with the backend report and timings. */
  async start(name: string, config: ConfigIn): Promise<{ info: BackendInfo; progressEvents: number; lastProgress: unknown; totalMs: number }> {
    clients.get(name)?.dispose();
    const { engine, tfjsWasmBaseUrl, ...rest } = config;
    const full: InferenceConfig = {
      ...rest,
      modelUrl: absolute(config.modelUrl),
      ortBaseUrl: absolute(config.ortBaseUrl ?? '/chestaid/ort/'),
      ...(config.referenceUrl ? { referenceUrl: config.referenceUrl.startsWith('data:') ? config.referenceUrl : absolute(config.referenceUrl) } : {}),
    };
    const c =
      engine === 'tfjs' ? createTfjsInferenceClient({ ...full, tfjsWasmBaseUrl: absolute(tfjsWasmBaseUrl ?? '/chestaid/tfjs/') }) : createInferenceClient(full);
    clients.set(name, c);
    let progressEvents = 0;
    let lastProgress: unknown = null;
    c.subscribe(c.EVENTS.PROGRESS, p => {
      progressEvents++;
      lastProgress = p;
    });
    const t0 = performance.now();
    const info = await c.init();
    return { info, progressEvents, lastProgress, totalMs: performance.now() - t0 };
  },

  async startError(name: string, config: ConfigIn): Promise<string> {
    try {
      await api.start(name, config);
      return 'no error';
    } catch (error) {
      return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    }
  },

  /** Loads a named input: a reference file's input, or a raw float32-le tensor file. */
  async loadInput(id: string, url: string, dims?: number[], sha256?: string): Promise<number> {
    if (url.endsWith('.json')) {
      const json = await (await fetchOk(url)).json();
      const ref = parseReference(json, sha256 ?? json.model.sha256, url);
      inputs.set(id, { data: ref.input, dims: [...ref.dims] });
    } else {
      const buffer = await (await fetchOk(url)).arrayBuffer();
      inputs.set(id, { data: new Float32Array(buffer), dims: dims ?? [] });
    }
    return inputs.get(id)!.data.length;
  },

  /** One run on a fresh copy of the input (the client transfers it away). */
  async run(name: string, inputId: string, key = inputId) {
    const input = inputs.get(inputId);
    if (!input) throw new Error(`no input ${inputId}`);
    const result = await client(name).analyze({ key, input: input.data.slice(), dims: input.dims });
    return {
      backend: result.backend,
      logit: result.logit,
      cam: Array.from(result.cam),
      camDims: result.camDims,
      runMs: result.runMs,
      roundTripMs: result.roundTripMs,
    };
  },

  /** Latest-only across a real worker: two requests in one slot, only the second resolves. */
  async supersede(name: string, inputId: string) {
    const input = inputs.get(inputId)!;
    const c = client(name);
    const first = c.analyze({ key: 'first', slot: 'viewport', input: input.data.slice(), dims: input.dims });
    const second = c.analyze({ key: 'second', slot: 'viewport', input: input.data.slice(), dims: input.dims });
    const [a, b] = await Promise.allSettled([first, second]);
    return {
      first: a.status === 'rejected' ? (a.reason as Error).name : 'resolved',
      second: b.status === 'fulfilled' ? b.value.key : String((b as PromiseRejectedResult).reason),
    };
  },

  /**
   * Cold start as a reader meets it: client creation to the first result, the request sent with
   * the load as the viewer's analyzer sends it (analyzer.ts).
   */
  async coldStart(config: ConfigIn, inputId: string) {
    const t0 = performance.now();
    let ready = NaN;
    const started = api.start('cold', config).then(r => {
      ready = performance.now() - t0;
      return r;
    });
    const [{ info }, first] = await Promise.all([started, api.run('cold', inputId)]);
    return { totalMs: performance.now() - t0, readyMs: ready, info, firstRunMs: first.runMs };
  },

  /** Core preprocessing on DICOM pixels, timed in the page: VOI table, resize and normalise. */
  async preprocessSetup(id: string, manifestUrl: string, attributes: PixelAttributes, pixelsBase64: string, variant?: string | null) {
    // A variant with a calibration of its own (int8) is scored under it, as the viewer would.
    const parsed = parseManifest(await (await fetchOk(manifestUrl)).json());
    const manifest = variant ? manifestForVariant(parsed, variant) : parsed;
    const bytes = base64ToBytes(pixelsBase64);
    const pixels = new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
    preprocessCases.set(id, { attributes, pixels, manifest, preprocessor: new Preprocessor(inputSpecOf(manifest)), accepted: manifest.input.grey.accepted_modalities });
  },

  /** What analyze() runs: stored pixels to the tensor, rows converted as the resampling reads them. */
  preprocessOnce(id: string): number {
    const c = preprocessCases.get(id)!;
    const t0 = performance.now();
    c.preprocessor.runStored(c.attributes, c.pixels, { acceptedModalities: c.accepted });
    return performance.now() - t0;
  },

  /** The worker's wasm memory and run count. */
  stats: (name: string) => client(name).stats(),

  /**
   * This page's live V8 heap: after a full collection where the browser exposes gc()
   * (--js-flags=--expose-gc), so what is measured is what is retained, not garbage not yet
   * collected; performance.memory is exact with --enable-precise-memory-info.
   * Not measureUserAgentSpecificMemory: it waits for every worker of the page, and onnxruntime's
   * thread-pool workers sit in Atomics.wait inside wasm, so it answered only at its 60 s timeout.
   */
  heap(): number | null {
    (globalThis as { gc?: () => void }).gc?.();
    return (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? null;
  },

  /**
   * One analysis as the viewer runs it, minus Cornerstone: stored pixels -> core analyze()
   * (preprocessing, the worker's run, calibration, CAM) -> the heatmap at the model's input size.
   */
  async analyzeOnce(name: string, caseId: string, key: string) {
    const c = preprocessCases.get(caseId)!;
    const analysis = await analyze(c.attributes, c.pixels, c.manifest, client(name).classifierFor(key));
    camToHeatmap(analysis.cam, c.manifest.input.size.height, c.manifest.input.size.width);
    return analysis.logit;
  },

  /** CAM post-processing alone: a raw 7x7 map -> ReLU, normalise, bicubic to height x width. */
  camOnce(raw: number[], side: number, height: number, width: number): number {
    const map = { data: Float32Array.from(raw), width: side, height: side };
    const t0 = performance.now();
    camToHeatmap(map, height, width);
    return performance.now() - t0;
  },

  /** What WebGPU offers this page: the adapter, or why there is none. */
  async webgpu() {
    const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<GpuAdapterLike | null> } }).gpu;
    if (!gpu) return { adapter: null, reason: 'navigator.gpu is absent' };
    const adapter = await gpu.requestAdapter();
    if (!adapter) return { adapter: null, reason: 'requestAdapter() gave no adapter' };
    const info = adapter.info ?? {};
    return {
      adapter: {
        vendor: info.vendor ?? '',
        architecture: info.architecture ?? '',
        description: info.description ?? '',
        isFallbackAdapter: Boolean(info.isFallbackAdapter ?? adapter.isFallbackAdapter),
        features: [...(adapter.features ?? [])].sort(),
      },
      reason: null,
    };
  },

  /** Whether Chromium exposes WebNN here, and if not, why. */
  async webnn() {
    const ml = (navigator as unknown as { ml?: { createContext(options?: unknown): Promise<unknown> } }).ml;
    if (!ml) return { available: false, reason: 'navigator.ml is absent' };
    try {
      await ml.createContext({ deviceType: 'cpu' });
      return { available: true, reason: null };
    } catch (error) {
      return { available: false, reason: `createContext failed: ${error instanceof Error ? error.message : String(error)}` };
    }
  },

  dispose(name: string): void {
    clients.get(name)?.dispose();
    clients.delete(name);
  },
};

const preprocessCases = new Map<
  string,
  { attributes: PixelAttributes; pixels: Uint16Array; manifest: Manifest; preprocessor: Preprocessor; accepted: readonly string[] }
>();

interface GpuAdapterLike {
  readonly info?: { vendor?: string; architecture?: string; description?: string; isFallbackAdapter?: boolean };
  readonly isFallbackAdapter?: boolean;
  readonly features?: Iterable<string>;
}

(window as unknown as { chestaidTest: typeof api }).chestaidTest = api;
