/**
 * The browser's inference worker. Kept out of index.ts: `import.meta.url` is for the bundler
 * (webpack 5 emits the worker as its own chunk) and cannot load under jest's CommonJS.
 */
import { InferenceClient, type WorkerLike } from './InferenceClient';
import { workerName, type InferenceConfig } from './protocol';

/**
 * The worker, named with its configuration so that it starts loading as it starts (protocol.ts
 * workerName). Its file keeps the name deployments look for, chestaid-inference.<hash>.js: webpack
 * names a worker's chunk after a literal `name` only, so the magic comment gives it.
 */
export function createInferenceWorker(config: InferenceConfig): WorkerLike {
  return new Worker(/* webpackChunkName: "chestaid-inference" */ new URL('./worker.ts', import.meta.url), { type: 'module', name: workerName('chestaid-inference', config) }) as unknown as WorkerLike;
}

export function createInferenceClient(config: InferenceConfig): InferenceClient {
  return new InferenceClient(config, () => createInferenceWorker(config));
}
