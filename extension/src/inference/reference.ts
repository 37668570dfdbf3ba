/**
 * Known input/output pairs a GPU backend must reproduce before its results are trusted.
 *
 * A WebGPU run can "succeed" with wrong numbers: onnxruntime-web's JSEP provider returned a
 * DenseNet-121 logit off by 0.6 when Concat needed more storage buffers than the adapter allows
 * (shared/notes/environment.md). So the worker runs one input whose outputs are known and
 * compares. The reference file format (written by training/scripts/make_tiny_onnx.py):
 *
 *   { "format": "chestaid-inference-reference/1",
 *     "model": { "sha256": "..." },
 *     "input": { "shape": [1, 3, H, W], "dtype": "float32-le", "base64": "..." },
 *     "outputs": { "logit": { "data": [..] }, "cam": { "shape": [1, h, w], "data": [..] } },
 *     "tolerances": { "logit": 1e-4, "cam": 1e-4 } }
 */
import { InferenceError } from './protocol';

export const REFERENCE_FORMAT = 'chestaid-inference-reference/1';

export interface Reference {
  readonly input: Float32Array;
  readonly dims: readonly number[];
  readonly logit: number;
  readonly cam: Float32Array;
  readonly tolerance: { readonly logit: number; readonly cam: number };
}

/**
 * Tolerances when WebGPU is compared with wasm rather than with stored outputs: fp32 on both,
 * summed in different orders. The parity fixtures allow 1e-3 on the logit and the normalised CAM.
 */
export const CROSS_CHECK_TOLERANCE = Object.freeze({ logit: 1e-3, cam: 1e-3 });

function fail(where: string, what: string): never {
  throw new InferenceError(`self-check reference ${where}: ${what}`);
}

function decodeBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function numbers(value: unknown, where: string, field: string): number[] {
  if (!Array.isArray(value) || !value.every(v => typeof v === 'number' && Number.isFinite(v))) {
    fail(where, `${field} must be an array of finite numbers`);
  }
  return value as number[];
}

/** Checks a parsed reference file against the model it claims to describe. */
export function parseReference(json: unknown, modelSha256: string, where: string): Reference {
  const r = json as {
    format?: unknown;
    model?: { sha256?: unknown };
    input?: { shape?: unknown; dtype?: unknown; base64?: unknown };
    outputs?: { logit?: { data?: unknown }; cam?: { data?: unknown } };
    tolerances?: { logit?: unknown; cam?: unknown };
  };
  if (r?.format !== REFERENCE_FORMAT) fail(where, `format is ${JSON.stringify(r?.format)}, expected ${JSON.stringify(REFERENCE_FORMAT)}`);
  const sha = String(r.model?.sha256 ?? '').toLowerCase();
  if (sha !== modelSha256.toLowerCase()) {
    fail(where, `it describes model sha256 ${sha || '(none)'}, not the loaded model ${modelSha256.toLowerCase()}`);
  }
  if (r.input?.dtype !== 'float32-le' || typeof r.input.base64 !== 'string') {
    fail(where, 'input must be float32-le in base64');
  }
  const dims = numbers(r.input.shape, where, 'input.shape');
  const raw = decodeBase64(r.input.base64);
  const count = dims.reduce((a, b) => a * b, 1);
  if (raw.length !== count * 4) fail(where, `input holds ${raw.length} bytes; shape ${JSON.stringify(dims)} needs ${count * 4}`);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const input = new Float32Array(count);
  for (let i = 0; i < count; i++) input[i] = view.getFloat32(i * 4, true);

  const logit = numbers(r.outputs?.logit?.data, where, 'outputs.logit.data');
  if (logit.length !== 1) fail(where, `outputs.logit.data holds ${logit.length} values; expected 1 (batch 1)`);
  const cam = numbers(r.outputs?.cam?.data, where, 'outputs.cam.data');
  const [tl, tc] = [r.tolerances?.logit, r.tolerances?.cam];
  if (typeof tl !== 'number' || typeof tc !== 'number' || !(tl > 0) || !(tc > 0)) {
    fail(where, 'tolerances.logit and tolerances.cam must be positive numbers');
  }
  return { input, dims, logit: logit[0], cam: Float32Array.from(cam), tolerance: { logit: tl, cam: tc } };
}

/**
 * A deterministic input for comparing two backends when no reference exists: values in about
 * [-2, 2.5], the range of ImageNet-normalised pixels, varying in every channel and direction.
 */
export function probeInput(dims: readonly number[]): Float32Array {
  const count = dims.reduce((a, b) => a * b, 1);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = 0.25 + 2 * Math.sin(i * 0.0137) * Math.cos(i * 0.00071);
  return out;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (Number.isNaN(d)) return NaN; // fails every "diff <= tolerance"
    if (d > max) max = d;
  }
  return max;
}
