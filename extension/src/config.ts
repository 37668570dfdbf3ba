/**
 * The extension's configuration, given in the host's app-config.js as
 * `extensions: [[chestAidExtension, { manifestUrl, ortWasmPaths }]]`. Never read from
 * window.location (STYLE.md 13): the host decides where the model and the runtime live.
 */
export interface ChestAidConfig {
  /** The model manifest (models/<id>/manifest.json); the ONNX file sits beside it. */
  readonly manifestUrl: string;
  /** Absolute URL of the folder holding onnxruntime-web's .mjs/.wasm files (env.wasm.wasmPaths). */
  readonly ortWasmPaths: string;
}

export const DEFAULT_CONFIG: ChestAidConfig = {
  manifestUrl: '/models/chestaid-demo/manifest.json',
  ortWasmPaths: '/chestaid/ort/',
};

export function resolveConfig(configuration: Partial<ChestAidConfig> | undefined): ChestAidConfig {
  return { ...DEFAULT_CONFIG, ...configuration };
}

/** The URLs the inference worker needs: absolute, because a worker resolves relative ones against its own script. */
export interface InferenceUrls {
  readonly manifestUrl: string;
  readonly ortBaseUrl: string;
}

/**
 * The configured paths resolved against the document that loaded the viewer (its base URI, which
 * the host passes in): app-config.js may name them relative to the site, as the dev server does.
 */
export function inferenceUrls(config: ChestAidConfig, baseUri: string): InferenceUrls {
  return {
    manifestUrl: new URL(config.manifestUrl, baseUri).href,
    ortBaseUrl: new URL(config.ortWasmPaths, baseUri).href,
  };
}
