/**
 * The TensorFlow.js engine's configuration and its check, apart from the engine: the page checks
 * it when it makes the client (browser.ts), and must not bundle TensorFlow.js to do so.
 */
import { checkConfig } from '../config';
import { InferenceError, type InferenceConfig } from '../protocol';

export interface TfjsInferenceConfig extends InferenceConfig {
  /** Absolute URL of the folder serving @tensorflow/tfjs-backend-wasm's .wasm files, ending in "/". */
  readonly tfjsWasmBaseUrl: string;
}

export function checkTfjsConfig(config: TfjsInferenceConfig): void {
  checkConfig(config);
  let url: URL | null = null;
  try {
    url = new URL(config.tfjsWasmBaseUrl);
  } catch {
    // answered below
  }
  if (!url || !config.tfjsWasmBaseUrl.endsWith('/')) {
    throw new InferenceError(`tfjsWasmBaseUrl must be an absolute URL ending in "/", got ${JSON.stringify(config.tfjsWasmBaseUrl)}`);
  }
}
