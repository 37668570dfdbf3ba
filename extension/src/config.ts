/**
 * The extension's configuration, given in the host's app-config.js as
 * `extensions: [[chestAidExtension, { manifestUrl, ortWasmPaths }]]`. Never read from
 * window.location (STYLE.md 13): the host decides where the model and the runtime live.
 */
import { ENGINE_SETTINGS, type EngineSetting } from './inference/engineChoice';
import { DEFAULT_LOGIN, type LoginSettings, resolveLoginSettings } from './login/identity';

export interface ChestAidConfig {
  /** The model manifest (models/<id>/manifest.json); the ONNX file sits beside it. */
  readonly manifestUrl: string;
  /** Absolute URL of the folder holding onnxruntime-web's .mjs/.wasm files (env.wasm.wasmPaths). */
  readonly ortWasmPaths: string;
  /** Absolute or site-relative URL of the folder holding TensorFlow.js's wasm backend .wasm files. */
  readonly tfjsWasmPaths: string;
  /**
   * Which in-page engine runs the model: 'auto' (WebGPU through onnxruntime-web where a hardware
   * adapter passes its self-check, else the engine measured fastest in this browser:
   * inference/engineChoice.ts), 'onnxruntime' (onnxruntime-web) or 'tfjs' (TensorFlow.js wasm).
   * A configured engine that fails its self-check falls to the other.
   */
  readonly engine: EngineSetting;
  /**
   * The PACS's DICOMweb root as this page reaches it (the dev server proxies `/pacs/dicom-web` to
   * Orthanc), or null when the site has no PACS: then results stay in this browser.
   */
  readonly pacsRoot: string | null;
  /** The OHIF data source that reads the same PACS: only its studies' results go to the PACS. */
  readonly pacsDataSourceName: string | null;
  /**
   * Where the calibration audit log (site recalibrations, rollbacks) is read:
   *  - 'served': `<model dir>/calibration/` beside the manifest, written by the ChestAid CLI on the
   *    server and served read-only: the one log every viewer of a deployment shares;
   *  - 'browser': this browser's IndexedDB, written by the admin page here (a demo without a
   *    PACS: each browser then has its own log). Refused when a PACS is configured: results in
   *    the PACS are read by every viewer and the worker, so the calibration they are scored
   *    under must be the one log they all read (the served one);
   *  - 'none': the manifest's own calibration only.
   * Default: 'served' when a PACS is configured, else 'browser'.
   */
  readonly calibrationSource: CalibrationSource;
  /**
   * The reader's name stored with their feedback when the viewer has no login; feedback says
   * 'unknown' without one. Not used when a login is configured (OHIF's `oidc`): then the reader is
   * the logged-in user (login/identity.ts).
   */
  readonly readerName: string | null;
  /** Which ID token claims name the user and list their roles, and the role that may change the calibration. */
  readonly login: LoginSettings;
  /**
   * true: the ChestAid mode starts loading the model as it opens a study (download, sha256 check,
   * engine start, warm-up run), so the first Analyze finds it ready or nearly; the model is then
   * downloaded once per browser even if nobody presses Analyze (it stays in the Cache API).
   * false: nothing loads before the first Analyze. Default true.
   */
  readonly preloadModel: boolean;
  /**
   * Which ONNX file of the manifest the viewer runs: null, the manifest's own (`onnx.file`, float32);
   * the file name of one of its `onnx.variants`, e.g. 'model.int8.onnx': that model, under its own
   * calibration, thresholds and metrics, its own sha256 in every result. A different model is a site
   * decision, like the model itself: the triage worker runs the same file (`--model-file`).
   */
  readonly modelFile: string | null;
}

export type CalibrationSource = 'served' | 'browser' | 'none';
export const CALIBRATION_SOURCES: readonly CalibrationSource[] = ['served', 'browser', 'none'];

export const DEFAULT_CONFIG: ChestAidConfig = {
  manifestUrl: '/models/chestaid-demo/manifest.json',
  ortWasmPaths: '/chestaid/ort/',
  tfjsWasmPaths: '/chestaid/tfjs/',
  engine: 'auto',
  pacsRoot: null,
  pacsDataSourceName: null,
  calibrationSource: 'browser',
  readerName: null,
  login: DEFAULT_LOGIN,
  preloadModel: true,
  modelFile: null,
};

export function resolveConfig(configuration: (Partial<Omit<ChestAidConfig, 'login'>> & { readonly login?: Partial<LoginSettings> }) | undefined): ChestAidConfig {
  const withPacs = configuration?.pacsRoot !== undefined && configuration.pacsRoot !== null;
  const config = {
    ...DEFAULT_CONFIG,
    ...(withPacs ? { calibrationSource: 'served' as const } : {}),
    ...configuration,
    login: resolveLoginSettings(configuration?.login),
  };
  for (const key of ['pacsRoot', 'pacsDataSourceName', 'modelFile'] as const) {
    const value: unknown = config[key];
    if (value !== null && (typeof value !== 'string' || value.trim() === '')) {
      throw new Error(`ChestAid configuration ${key} must be a non-empty string or null, got ${JSON.stringify(value)}`);
    }
  }
  if (typeof config.preloadModel !== 'boolean') {
    throw new Error(`ChestAid configuration preloadModel must be true or false, got ${JSON.stringify(config.preloadModel)}`);
  }
  if (!ENGINE_SETTINGS.includes(config.engine)) {
    throw new Error(`ChestAid engine must be one of ${ENGINE_SETTINGS.join(', ')}, got ${JSON.stringify(config.engine)}`);
  }
  if (!CALIBRATION_SOURCES.includes(config.calibrationSource)) {
    throw new Error(`ChestAid calibrationSource must be one of ${CALIBRATION_SOURCES.join(', ')}, got ${JSON.stringify(config.calibrationSource)}`);
  }
  if (config.calibrationSource === 'browser' && config.pacsRoot !== null) {
    throw new Error(
      `ChestAid calibrationSource "browser" cannot be used with a PACS (pacsRoot ${JSON.stringify(config.pacsRoot)}): ` +
        "each browser would keep its own calibration log, and the PACS's results would be scored under calibrations no other " +
        'reader nor the worker holds. Use "served" (the log the ChestAid CLI writes beside the model, the one every reader shares) or "none".',
    );
  }
  return config;
}

/** The PACS's DICOMweb root, absolute (resolved like the model's URLs), or null for none. */
export function pacsUrl(config: ChestAidConfig, baseUri: string): string | null {
  return config.pacsRoot === null ? null : new URL(config.pacsRoot, baseUri).href.replace(/\/+$/, '');
}

/** The URLs the inference worker needs: absolute, because a worker resolves relative ones against its own script. */
export interface InferenceUrls {
  readonly manifestUrl: string;
  readonly ortBaseUrl: string;
  readonly tfjsWasmBaseUrl: string;
}

/**
 * The configured paths resolved against the document that loaded the viewer (its base URI, which
 * the host passes in): app-config.js may name them relative to the site, as the dev server does.
 */
export function inferenceUrls(config: ChestAidConfig, baseUri: string): InferenceUrls {
  return {
    manifestUrl: new URL(config.manifestUrl, baseUri).href,
    ortBaseUrl: new URL(config.ortWasmPaths, baseUri).href,
    tfjsWasmBaseUrl: new URL(config.tfjsWasmPaths, baseUri).href,
  };
}
