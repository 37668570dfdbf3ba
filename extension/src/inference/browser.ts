/**
 * The browser's inference worker. Kept out of index.ts: `import.meta.url` is for the bundler
 * (webpack 5 emits the worker as its own chunk) and cannot load under jest's CommonJS.
 */
import { InferenceClient, type WorkerLike } from './InferenceClient';
import type { InferenceConfig } from './protocol';

export function createInferenceWorker(): WorkerLike {
  return new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'chestaid-inference' }) as unknown as WorkerLike;
}

export function createInferenceClient(config: InferenceConfig): InferenceClient {
  return new InferenceClient(config, createInferenceWorker);
}
