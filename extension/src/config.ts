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
