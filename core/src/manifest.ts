/**
 * The model manifest (models/<id>/manifest.json), checked against the same JSON Schema the
 * training side validates with (core/schema/manifest.schema.json, draft-07), then against the
 * rules the schema cannot state (calibration knots). Field names are the JSON's own, so a reader
 * can follow a value from training/chestaid_train/manifest.py to the viewer unchanged.
 */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';

import schema from '../schema/manifest.schema.json';
import { calibrationProblems, type CalibrationSection } from './calibration';
import { ManifestError, show } from './errors';
import { inputCheckProblems, type InputCheckSection } from './inputCheck';

/** The schema major this viewer reads; a breaking change in the manifest bumps it. */
export const SUPPORTED_SCHEMA_MAJOR = 1;

/**
 * What onnxruntime-node answers for this file on the deterministic probe input (schema 1.6.0;
 * training/chestaid_train/self_check.py). Every in-browser engine runs the same probe first and
 * must agree within the tolerances before its results are shown (extension/src/inference/selfCheck.ts).
 */
export interface SelfCheckBlock {
  /** 'chestaid-probe/1': element i is 0.25 + 2 sin(0.0137 i) cos(0.00071 i), rounded to float32. */
  readonly probe: 'chestaid-probe/1';
  readonly logit: number;
  /** The graph's raw cam output, row-major in shape [h, w]. */
  readonly cam: { readonly shape: readonly [number, number]; readonly data: readonly number[] };
  readonly tolerances: { readonly logit: number; readonly cam: number };
  readonly runtime?: string;
}

export interface OnnxFile {
  readonly file: string;
  readonly sha256: string;
  readonly bytes: number;
  readonly weights?: 'float32' | 'float16' | 'int8';
  readonly self_check?: SelfCheckBlock;
}

/**
 * Another ONNX file of the same model (manifest onnx.variants[]). One whose logits differ from the
 * main file's (int8) carries its own calibration and threshold, fitted on its own logits (schema
 * 1.5.0); manifestForVariant puts them in force when it runs. One without them (float16 weights,
 * float32 arithmetic) shares the main file's.
 */
export interface OnnxVariant extends OnnxFile {
  readonly calibration?: Manifest['calibration'];
  readonly thresholds?: Manifest['thresholds'];
  readonly metrics?: Manifest['metrics'];
  readonly reference_distribution?: Manifest['reference_distribution'];
}

export interface CalibrationMetrics {
  readonly ece: number;
  readonly brier: number;
  readonly [metric: string]: unknown;
}

export interface Interval {
  readonly value: number | null;
  readonly ci_low: number | null;
  readonly ci_high: number | null;
}

/** How a threshold proves its sensitivity (manifest thresholds.clinical.proof, schema 1.4.0). */
export interface ThresholdProof {
  readonly level: number;
  readonly one_sided: true;
  readonly method: 'clopper-pearson';
  readonly lower_bound: number;
  readonly flagged_positives: number;
  readonly n_pos: number;
  readonly positives_needed: number;
}

/** The parts of the manifest the viewer uses; the JSON may hold more (metrics, training...). */
export interface Manifest {
  readonly schema_version: string;
  readonly model: {
    readonly id: string;
    readonly version: string;
    readonly architecture: 'densenet121';
    readonly task: 'binary';
    readonly labels: { readonly positive: string; readonly negative: string };
    readonly created: string;
    readonly device_uid?: string;
  };
  readonly onnx: OnnxFile & { readonly opset: number; readonly variants?: readonly OnnxVariant[] };
  readonly input: {
    readonly name: string;
    readonly shape: readonly (number | string)[];
    readonly dtype: 'float32';
    readonly size: { readonly height: number; readonly width: number };
    readonly resize: { readonly method: 'pil-bilinear-antialias'; readonly keep_aspect: boolean };
    readonly grey: {
      readonly range: readonly [0, 1];
      readonly photometric: 'MONOCHROME2';
      readonly monochrome1: 'invert';
      readonly voi: string;
      readonly accepted_modalities: readonly string[];
    };
    readonly channels: { readonly count: 3; readonly layout: 'grey-replicated-NCHW' };
    readonly normalization: { readonly mean: readonly number[]; readonly std: readonly number[] };
  };
  readonly outputs: {
    readonly logit: { readonly name: string; readonly shape: readonly (number | string)[] };
    readonly cam: {
      readonly name: string;
      readonly shape: readonly (number | string)[];
      readonly kind: 'gradcam';
      readonly layer: string;
      readonly postprocess: string;
    };
  };
  readonly calibration: CalibrationSection & {
    readonly version: string;
    /** 'oof_nll' from schema 1.4.0 (cross-validated NLL on `split`), 'ece' before. */
    readonly selection: { readonly metric: 'ece' | 'oof_nll'; readonly split: string; readonly n_bins: number };
    readonly methods: CalibrationSection['methods'] & {
      readonly [method: string]: { readonly metrics: CalibrationMetrics };
    };
  };
  readonly thresholds: {
    readonly clinical: {
      readonly value: number;
      readonly rule: string;
      readonly target_sensitivity: number;
      readonly split: string;
      readonly at_threshold: Readonly<Record<string, unknown>>;
      /** Schema 1.4.0: false only for a smoke run that could not prove the target. */
      readonly proven?: boolean;
      /** Schema 1.4.0: the one-sided Clopper-Pearson proof of the target sensitivity. */
      readonly proof?: ThresholdProof;
      readonly point_estimate_threshold?: number;
    };
  };
  readonly metrics: { readonly [split: string]: Readonly<Record<string, unknown>> };
  readonly data: {
    readonly dataset: string;
    readonly synthetic: boolean;
    readonly splits: Readonly<Record<string, unknown>>;
    readonly patient_level_split: true;
    readonly split_seed: number;
  };
  readonly training: Readonly<Record<string, unknown>>;
  readonly reference_distribution?: {
    readonly split: string;
    readonly bin_edges: readonly number[];
    readonly counts: readonly number[];
  };
  /** Since schema 1.3.0; a manifest without it has no image-based out-of-distribution check. */
  readonly input_check?: InputCheckSection;
  readonly intended_use: {
    readonly summary: string;
    readonly disclaimer: string;
    readonly out_of_scope?: readonly string[];
    /** The ages the card covers, in years; max_years null: no upper bound. */
    readonly patient_age: { readonly min_years: number; readonly max_years: number | null };
    /** ViewPosition values of the views the card covers (frontal: PA, AP). */
    readonly view_positions: readonly string[];
    /** BodyPartExamined values that name the chest. */
    readonly body_parts: readonly string[];
  };
}

function describe(error: ErrorObject): string {
  const where = error.instancePath || '(root)';
  const extra = error.params as { additionalProperty?: unknown; allowedValues?: unknown };
  let text = `${where} ${error.message ?? 'is invalid'}`;
  if (extra.additionalProperty !== undefined) text += ` (${show(extra.additionalProperty)})`;
  if (extra.allowedValues !== undefined) text += ` (${show(extra.allowedValues)})`;
  return text;
}

/**
 * A check of JSON against a draft-07 schema, returning one description per violation (none:
 * valid); the calibration overlay (calibrationOverlay.ts) is checked the same way. The schema is
 * compiled on first use: compiling costs tens of milliseconds that a viewer without a model never
 * needs to spend.
 */
export function schemaCheck(jsonSchema: object): (json: unknown) => string[] {
  let validator: ValidateFunction | undefined;
  return json => {
    if (!validator) {
      // strictTypes off: the schemas state `required` beside `allOf` without repeating `type`,
      // which is valid draft-07 that ajv's strict mode would only warn about on the console.
      const ajv = new Ajv({ allErrors: true, strictTypes: false });
      validator = ajv.compile(jsonSchema);
    }
    return validator(json) ? [] : (validator.errors ?? []).map(describe);
  };
}

/** Freezes `value` and everything it holds, so a parsed document cannot be changed by its readers. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

const validate = schemaCheck(schema);

function checkVersion(json: unknown): void {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ManifestError(`model manifest must be a JSON object, got ${Array.isArray(json) ? 'an array' : show(json)}`);
  }
  const version = (json as { schema_version?: unknown }).schema_version;
  // A missing or malformed version is left to the schema, which names it.
  if (typeof version !== 'string') return;
  const major = /^(\d+)\./.exec(version);
  if (major && Number(major[1]) !== SUPPORTED_SCHEMA_MAJOR) {
    throw new ManifestError(
      `model manifest schema version ${version} is not supported by this viewer (supports ${SUPPORTED_SCHEMA_MAJOR}.x)`,
    );
  }
}

/**
 * Validate parsed manifest JSON and return it typed. The version is checked first, so a manifest
 * from a newer, incompatible training release is refused by its version rather than by whichever
 * field changed. The result is a frozen deep copy: the caller's object is not touched.
 */
export function parseManifest(json: unknown): Manifest {
  checkVersion(json);
  const errors = validate(json);
  if (errors.length > 0) {
    throw new ManifestError(`model manifest does not match its schema: ${errors.join('; ')}`);
  }
  const manifest = structuredClone(json) as Manifest;
  const problems = calibrationProblems(manifest.calibration);
  if (problems.length > 0) {
    throw new ManifestError(`model manifest calibration is invalid: ${problems.join('; ')}`);
  }
  for (const variant of manifest.onnx.variants ?? []) {
    const own = variant.calibration ? calibrationProblems(variant.calibration) : [];
    if (own.length > 0) {
      throw new ManifestError(`model manifest calibration of variant ${variant.file} is invalid: ${own.join('; ')}`);
    }
  }
  for (const file of [manifest.onnx, ...(manifest.onnx.variants ?? [])]) {
    const check = file.self_check;
    if (check && check.cam.data.length !== check.cam.shape[0] * check.cam.shape[1]) {
      throw new ManifestError(
        `model manifest self_check of ${file.file} is invalid: cam.data holds ${check.cam.data.length} values, shape ${show(check.cam.shape)} needs ${check.cam.shape[0] * check.cam.shape[1]}`,
      );
    }
  }
  const checkProblems = manifest.input_check ? inputCheckProblems(manifest.input_check) : [];
  if (checkProblems.length > 0) {
    throw new ManifestError(`model manifest input_check is invalid: ${checkProblems.join('; ')}`);
  }
  return deepFreeze(manifest);
}

/**
 * The manifest as the ONNX file `file` runs it: `onnx` names that file (its sha256 and bytes, so
 * hash checks, results and their UIDs key on the bytes that ran), and a variant's own calibration,
 * threshold, metrics and reference distribution replace the main file's. A variant without its
 * own calibration shares the main file's (the schema allows that for float weights only). The
 * main file's name, or undefined, gives `manifest` back; an unknown name throws naming the files
 * there are. Frozen; `manifest` is not touched.
 */
export function manifestForVariant(manifest: Manifest, file: string | undefined): Manifest {
  if (file === undefined || file === manifest.onnx.file) return manifest;
  const variant = manifest.onnx.variants?.find(v => v.file === file);
  if (!variant) {
    const files = [manifest.onnx, ...(manifest.onnx.variants ?? [])].map(f => f.file);
    throw new ManifestError(`model manifest lists no ONNX file ${show(file)} (it has ${files.join(', ')})`);
  }
  const { calibration, thresholds, metrics, reference_distribution: reference, ...onnxFile } = variant;
  const ownOrShared = {
    calibration: calibration ?? manifest.calibration,
    thresholds: thresholds ?? manifest.thresholds,
    metrics: metrics ?? manifest.metrics,
  };
  const { reference_distribution: sharedReference, ...rest } = manifest;
  const chosenReference = calibration ? reference : sharedReference;
  return deepFreeze(
    structuredClone({
      ...rest,
      ...ownOrShared,
      ...(chosenReference ? { reference_distribution: chosenReference } : {}),
      onnx: { ...onnxFile, opset: manifest.onnx.opset, variants: manifest.onnx.variants },
    }) as Manifest,
  );
}
