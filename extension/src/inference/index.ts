/**
 * The onnxruntime-web adapter: a Classifier (core/classifier.ts) that runs in a Web Worker.
 * browser.ts creates the real worker; it is not re-exported here so that this module loads under
 * jest (import.meta.url is for the bundler).
 */
export { InferenceClient, EVENTS, type AnalyzeRequest, type InferenceResult, type ProgressEvent, type WorkerLike } from './InferenceClient';
export { LatestOnly, SupersededError, resultKey, type Task } from './latestOnly';
export {
  DEFAULT_CACHE_NAME,
  InferenceError,
  type Backend,
  type BackendInfo,
  type InferenceConfig,
  type SelfCheckReport,
  type AdapterReport,
  type ModelLoadInfo,
} from './protocol';
export { chooseThreads, MAX_THREADS } from './backend';
export { inferenceConfigFor, type InferenceOptions } from './config';
