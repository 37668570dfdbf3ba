/**
 * The engine choice bound to the page: both engines' workers, localStorage, the page's WebGPU
 * adapter and requestIdleCallback. Kept out of index.ts for the same reason as browser.ts (the
 * workers' `import.meta.url` is for the bundler).
 */
import { chooseThreads, findAdapter, type GpuLike } from './backend';
import { createInferenceClient } from './browser';
import { ChoosingInferenceClient, type ChoiceDeps } from './choiceClient';
import { recordKey, type EngineSetting } from './engineChoice';
import type { InferenceConfig } from './protocol';
import { createTfjsInferenceClient } from './tfjs/browser';
import { ENGINE_VERSIONS } from './versions';

export interface ChoiceOptions {
  readonly engine: EngineSetting;
  /** Absolute URL of the folder serving TensorFlow.js's .wasm files (ChestAidConfig.tfjsWasmPaths). */
  readonly tfjsWasmBaseUrl: string;
  /** Told when a trial has measured the other engine (the panel's reason then changes). */
  readonly onTrial?: ChoiceDeps['onTrial'];
}

interface PageScope {
  readonly crossOriginIsolated: boolean;
  readonly navigator: { readonly hardwareConcurrency?: number; readonly gpu?: GpuLike };
  readonly localStorage?: Storage;
  readonly requestIdleCallback?: (task: () => void, options?: { timeout: number }) => number;
}

function storageOf(scope: PageScope): Storage | null {
  try {
    return scope.localStorage ?? null;
  } catch {
    return null; // a sandboxed or storage-blocked page
  }
}

export function createChoosingClient(config: InferenceConfig, options: ChoiceOptions): ChoosingInferenceClient {
  const scope = globalThis as unknown as PageScope;
  const threads = chooseThreads(scope, config.numThreads).threads;
  return new ChoosingInferenceClient(config, {
    setting: options.engine,
    createClient: (engine, c) => (engine === 'tfjs' ? createTfjsInferenceClient({ ...c, tfjsWasmBaseUrl: options.tfjsWasmBaseUrl }) : createInferenceClient(c)),
    storage: storageOf(scope),
    recordKey: recordKey({ sha256: config.sha256, versions: ENGINE_VERSIONS, threads }),
    hasHardwareGpu: async () => {
      if (config.backend === 'wasm') return false;
      const lookup = await findAdapter(scope.navigator.gpu ?? null, 'auto');
      return lookup.adapter !== null && !lookup.adapter.isFallbackAdapter;
    },
    // Not before the browser is idle, and not later than 2 s after: a busy page still gets measured.
    whenIdle: task => (scope.requestIdleCallback ? scope.requestIdleCallback(task, { timeout: 2000 }) : setTimeout(task, 500)),
    timestamp: () => new Date().toISOString(),
    onTrial: options.onTrial,
  });
}
