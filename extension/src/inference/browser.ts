/**
 * The browser's inference worker. Kept out of index.ts: `import.meta.url` is for the bundler
 * (webpack 5 emits the worker as its own chunk) and cannot load under jest's CommonJS.
 */
import { InferenceClient, type WorkerLike } from './InferenceClient';
import { workerName, type InferenceConfig } from './protocol';

/** The worker, named with its configuration so that it starts loading as it starts (protocol.ts workerName). */
export function createInferenceWorker(config: InferenceConfig): WorkerLike {
  return new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: workerName('chestaid-inference', config) }) as unknown as WorkerLike;
}

export function createInferenceClient(config: InferenceConfig): InferenceClient {
  return new InferenceClient(config, () => createInferenceWorker(config));
}
