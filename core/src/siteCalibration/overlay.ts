/**
 * A site calibration overlay (core/schema/calibration-overlay.schema.json): a hospital's
 * recalibration of one exact model, by ONNX sha256. It replaces the manifest's calibration
 * selection and parameters and its clinical threshold, and nothing else: the model bytes, input
 * rules and training metrics stay the manifest's.
 *
 * Versions: the manifest's calibration.version (e.g. "1") is the base; overlays are "site-1",
 * "site-2", ... in order of acceptance. The prefix keeps a site's versions out of the training
 * workspace's namespace: a re-export of the same bytes may bump the base to "2" without ever
 * meaning the same thing as a site's second calibration, and results are keyed by this string.
 *
 * Which version is active is not written here: the audit log decides (calibrationLog.ts).
 */
import schema from '../../schema/calibration-overlay.schema.json';
import { calibrationProblems, type CalibrationMethod, type CalibrationSection, type IsotonicParams, type PlattParams, type TemperatureParams } from '../calibration';
import { ManifestError, show } from '../errors';
import { deepFreeze, schemaCheck, type CalibrationMetrics, type Manifest } from '../manifest';

/** The overlay schema major this viewer reads. */
export const SUPPORTED_OVERLAY_MAJOR = 1;
/** 1.1.0: params.clip (optional), the fit's output range, applied as fitted. */
export const OVERLAY_SCHEMA_VERSION = '1.1.0';

/** A site version: "site-<n>", n >= 1. */
export const SITE_VERSION = /^site-([1-9]\d*)$/;

/** A calibration identity, "<version>+sha256:<64 hex>" (siteCalibration/identity.ts). */
const IDENTITY = /^(.+)\+sha256:([0-9a-f]{64})$/;

/** The version name of an identity ("site-1" of "site-1+sha256:..."); a bare name is returned as is. */
export function calibrationName(version: string): string {
  return IDENTITY.exec(version)?.[1] ?? version;
}

/** Whether `version` is a full identity (name + sha256), as every result written since issue 15 carries. */
export function isCalibrationIdentity(version: string): boolean {
  return IDENTITY.test(version);
}

export type OverlayParams = TemperatureParams | PlattParams | IsotonicParams;

export interface OverlayMetrics extends CalibrationMetrics {
  readonly n?: number;
}

export interface CalibrationOverlay {
  readonly overlay_schema_version: string;
  readonly model: { readonly id: string; readonly sha256: string };
  readonly version: string;
  readonly previous_version: string;
  readonly calibration: {
    readonly input: 'logit';
    readonly method: CalibrationMethod;
    readonly params: OverlayParams;
    readonly selection: {
      readonly metric: 'ece' | 'brier';
      readonly n_bins: number;
      readonly binning: 'equal-width';
      /** How the methods were compared, in words: "5-fold cross-validation", "held-out 30 %". */
      readonly validation: string;
      /** Each method's held-out metrics, as the fit reported them. */
      readonly compared?: Readonly<Record<string, unknown>>;
    };
  };
  readonly threshold: {
    readonly value: number;
    readonly rule: string;
    readonly target_sensitivity: number;
    readonly interval: { readonly ci_low: number; readonly ci_high: number; readonly level: number; readonly n_boot: number; readonly seed?: number };
    readonly at_threshold?: Readonly<Record<string, unknown>>;
  };
  readonly cohort: { readonly n: number; readonly n_pos: number; readonly sha256: string; readonly source: 'feedback' | 'csv' };
  readonly created: { readonly by: string; readonly at: string };
  readonly metrics: { readonly split?: string; readonly before: OverlayMetrics; readonly after: OverlayMetrics };
  readonly notes?: string;
}

/** Where the calibration in use came from, as the viewer shows it next to every score. */
export interface CalibrationOrigin {
  readonly version: string;
  readonly source: 'training' | 'site';
  /** ISO time the version was made: the overlay's created.at, or the manifest's model.created. */
  readonly createdAt: string;
  readonly createdBy?: string;
  readonly cohortN?: number;
}

const validate = schemaCheck(schema);

/** The params of `method` as a full calibration section, so calibration.ts checks them its own way. */
function sectionFor(method: CalibrationMethod, params: OverlayParams): CalibrationSection {
  const neutral: CalibrationSection['methods'] = {
    temperature: { params: { temperature: 1 } },
    platt: { params: { a: 1, b: 0 } },
    isotonic: { params: { x: [0], y: [0.5] } },
  };
  return { input: 'logit', selected: method, methods: { ...neutral, [method]: { params } } };
}

function paramProblems(method: CalibrationMethod, params: Record<string, unknown>): string[] {
  const expected: Record<CalibrationMethod, string[]> = { temperature: ['temperature'], platt: ['a', 'b'], isotonic: ['x', 'y'] };
  const problems: string[] = [];
  for (const name of expected[method]) {
    if (!(name in params)) problems.push(`/calibration/params lacks ${show(name)} for method ${show(method)}`);
  }
  // Every method may carry its fit's output clip (overlay schema 1.1.0); calibrationProblems checks its bounds.
  for (const name of Object.keys(params)) {
    if (!expected[method].includes(name) && name !== 'clip') problems.push(`/calibration/params has ${show(name)}, which method ${show(method)} does not take`);
  }
  if (problems.length > 0) return problems;
  if (method === 'isotonic' && !(Array.isArray(params.x) && Array.isArray(params.y))) {
    return [`/calibration/params x and y must be arrays, got ${show(params.x)} and ${show(params.y)}`];
  }
  if (method !== 'isotonic' && expected[method].some(name => typeof params[name] !== 'number')) {
    return [`/calibration/params must be numbers, got ${show(params)}`];
  }
  return calibrationProblems(sectionFor(method, params as unknown as OverlayParams)).map(p => `/calibration/params: ${p}`);
}

export interface ParseOverlayOptions {
  /** Refuse an overlay made for other model bytes (the sha256 of the ONNX file in use). */
  readonly modelSha256?: string;
}

/**
 * Validate parsed overlay JSON and return it typed and frozen (a deep copy). Refuses, naming the
 * bad value: an unknown schema major, a schema violation, parameters the calibrators cannot use,
 * a threshold interval whose ends are swapped, a version that is not a site version
 * or equals its predecessor, and (with `modelSha256`) an overlay for other model bytes.
 */
export function parseOverlay(json: unknown, { modelSha256 }: ParseOverlayOptions = {}): CalibrationOverlay {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ManifestError(`calibration overlay must be a JSON object, got ${Array.isArray(json) ? 'an array' : show(json)}`);
  }
  const declared = (json as { overlay_schema_version?: unknown }).overlay_schema_version;
  const major = typeof declared === 'string' ? /^(\d+)\./.exec(declared) : null;
  if (major && Number(major[1]) !== SUPPORTED_OVERLAY_MAJOR) {
    throw new ManifestError(
      `calibration overlay schema version ${declared} is not supported by this viewer (supports ${SUPPORTED_OVERLAY_MAJOR}.x)`,
    );
  }
  const errors = validate(json);
  if (errors.length > 0) {
    throw new ManifestError(`calibration overlay does not match its schema: ${errors.join('; ')}`);
  }
  const overlay = structuredClone(json) as CalibrationOverlay;
  const problems = paramProblems(overlay.calibration.method, overlay.calibration.params as unknown as Record<string, unknown>);
  const { interval } = overlay.threshold;
  if (!(interval.ci_low <= interval.ci_high)) {
    problems.push(`/threshold/interval ci_low ${show(interval.ci_low)} is above ci_high ${show(interval.ci_high)}`);
  }
  if (!SITE_VERSION.test(overlay.version)) {
    problems.push(`/version ${show(overlay.version)} is not a site version (site-1, site-2, ...)`);
  }
  if (overlay.version === overlay.previous_version) {
    problems.push(`/previous_version ${show(overlay.previous_version)} is the overlay's own version`);
  }
  if (overlay.cohort.n_pos > overlay.cohort.n) {
    problems.push(`/cohort n_pos ${show(overlay.cohort.n_pos)} exceeds n ${show(overlay.cohort.n)}`);
  }
  if (!Number.isFinite(Date.parse(overlay.created.at))) problems.push(`/created/at ${show(overlay.created.at)} is not a date`);
  if (problems.length > 0) throw new ManifestError(`calibration overlay ${show(overlay.version)} is invalid: ${problems.join('; ')}`);
  if (modelSha256 !== undefined && overlay.model.sha256 !== modelSha256.toLowerCase()) {
    throw new ManifestError(
      `calibration overlay ${show(overlay.version)} is for model sha256 ${overlay.model.sha256}, ` +
        `not the model in use (${modelSha256.toLowerCase()}); refusing to apply it`,
    );
  }
  return deepFreeze(overlay);
}

/** The manifest's calibration section with the site provenance applyOverlay adds. */
export type AppliedCalibration = Manifest['calibration'] & { readonly overlay?: CalibrationOrigin };

/**
 * The manifest the viewer uses under `overlay`: the overlay's method, parameters and threshold in
 * place of the manifest's, under the overlay's version, with its provenance in
 * calibration.overlay. Pure: neither argument is touched; the result is frozen. The other
 * methods' training parameters stay (calibration is read through `selected` only), so the
 * manifest keeps its shape; their metrics remain the training split's.
 */
export function applyOverlay(manifest: Manifest, overlay: CalibrationOverlay): Manifest {
  const sha = manifest.onnx.sha256.toLowerCase();
  if (overlay.model.sha256 !== sha) {
    throw new ManifestError(
      `calibration overlay ${show(overlay.version)} is for model sha256 ${overlay.model.sha256}, not this manifest's ${sha}`,
    );
  }
  if (overlay.version === calibrationName(manifest.calibration.version)) {
    throw new ManifestError(`calibration overlay version ${show(overlay.version)} is the manifest's own calibration version`);
  }
  const { method, params, selection } = overlay.calibration;
  const origin: CalibrationOrigin = {
    version: overlay.version,
    source: 'site',
    createdAt: overlay.created.at,
    createdBy: overlay.created.by,
    cohortN: overlay.cohort.n,
  };
  const calibration: AppliedCalibration = {
    ...manifest.calibration,
    version: overlay.version,
    selected: method,
    selection: { ...manifest.calibration.selection, metric: 'ece', split: `site cohort (${selection.validation})`, n_bins: selection.n_bins },
    methods: { ...manifest.calibration.methods, [method]: { params, metrics: overlay.metrics.after } } as AppliedCalibration['methods'],
    overlay: origin,
  };
  const clinical: Manifest['thresholds']['clinical'] = {
    value: overlay.threshold.value,
    rule: overlay.threshold.rule,
    target_sensitivity: overlay.threshold.target_sensitivity,
    split: 'site cohort',
    at_threshold: { ...(overlay.threshold.at_threshold ?? {}), interval: overlay.threshold.interval },
  };
  return deepFreeze(structuredClone({ ...manifest, calibration, thresholds: { ...manifest.thresholds, clinical } }) as Manifest);
}

/** Where the manifest's calibration in use came from (training, or a site overlay). */
export function calibrationOrigin(manifest: Manifest): CalibrationOrigin {
  const applied = (manifest.calibration as AppliedCalibration).overlay;
  return applied ?? { version: calibrationName(manifest.calibration.version), source: 'training', createdAt: manifest.model.created };
}

/**
 * The words shown next to a score: "calibration v1 (training, 2026-11-26)",
 * "calibration site-2 (site, 2026-11-26)".
 */
export function calibrationLabel(origin: Pick<CalibrationOrigin, 'version' | 'source' | 'createdAt'>): string {
  const day = /^\d{4}-\d{2}-\d{2}/.exec(origin.createdAt)?.[0];
  const bare = calibrationName(origin.version);
  const name = SITE_VERSION.test(bare) ? bare : `v${bare}`;
  return `calibration ${name} (${origin.source}${day ? `, ${day}` : ''})`;
}

/** The next site version after the ones a log has used: site-(max n + 1). */
export function nextSiteVersion(used: readonly string[]): string {
  let max = 0;
  for (const version of used) {
    const match = SITE_VERSION.exec(version);
    if (match) max = Math.max(max, Number(match[1]));
  }
  return `site-${max + 1}`;
}
