/**
 * The TensorFlow.js engine's worker for the page, behind the same InferenceClient as the
 * onnxruntime one. Kept out of any index: `import.meta.url` is for the bundler (webpack 5 emits
 * the worker as its own chunk); the viewer reaches it through ../choiceBrowser.ts.
 */
import { InferenceClient, type WorkerLike } from '../InferenceClient';
import { workerName } from '../protocol';
import { checkTfjsConfig, type TfjsInferenceConfig } from './tfjsConfig';

export function createTfjsInferenceClient(config: TfjsInferenceConfig): InferenceClient {
  checkTfjsConfig(config);
  return new InferenceClient(
    config,
    () => new Worker(/* webpackChunkName: "chestaid-inference-tfjs" */ new URL('./worker.ts', import.meta.url), { type: 'module', name: workerName('chestaid-inference-tfjs', config) }) as unknown as WorkerLike,
  );
}
