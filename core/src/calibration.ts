/**
 * Calibration: the model's PNEUMONIA logit -> a probability, with the formulas and parameters of
 * training/chestaid_train/calibration.py, read from the manifest:
 *
 *   temperature  p = sigmoid(z / T)          params { temperature: T }, T > 0
 *   platt        p = sigmoid(a * z + b)      params { a, b }
 *   isotonic     p = interp(z, x, y)         params { x, y }, end values held outside [x0, xn]
 *   none         p = sigmoid(z)              params {} (selectable from manifest schema 1.4.0)
 *
 * then, where the params carry `clip: { low, high }` (schema 1.4.0: [1/(n+2), 1 - 1/(n+2)], n the
 * fitting cases), p is clipped to [low, high], so a calibrated score is never exactly 0 or 1.
 * Params without a clip (older manifests) are applied unclipped, as they always were.
 *
 * Only calibration lives here; comparing p with an operating point is threshold.ts (STYLE.md 7).
 */
import { InputError, show } from './errors';

/** The fitted calibration methods (each has parameters of its own). */
export type CalibrationMethod = 'temperature' | 'platt' | 'isotonic';

export const CALIBRATION_METHODS: readonly CalibrationMethod[] = ['temperature', 'platt', 'isotonic'];

/** What a manifest may select: a fitted method or 'none', the plain sigmoid (schema 1.4.0). */
export type SelectableMethod = 'none' | CalibrationMethod;

/** The output range of a calibrator fitted on n cases: [1/(n+2), 1 - 1/(n+2)]. */
export interface ClipParams {
  readonly low: number;
  readonly high: number;
}

export interface NoneParams {
  readonly clip?: ClipParams;
}
export interface TemperatureParams {
  readonly temperature: number;
  readonly clip?: ClipParams;
}
export interface PlattParams {
  readonly a: number;
  readonly b: number;
  readonly clip?: ClipParams;
}
export interface IsotonicParams {
  readonly x: readonly number[];
  readonly y: readonly number[];
  readonly clip?: ClipParams;
}

/**
 * The part of the manifest's `calibration` section calibration reads. `selected` may be 'none'
 * from schema 1.4.0, which then requires methods.none.params. A site overlay names a fitted
 * method only: it carries 'none' as temperature 1 with the same clip (recalibration/toOverlay.ts).
 */
export interface CalibrationSection {
  readonly input: 'logit';
  readonly selected: SelectableMethod;
  readonly methods: {
    readonly none?: { readonly params?: NoneParams };
    readonly temperature: { readonly params: TemperatureParams };
    readonly platt: { readonly params: PlattParams };
    readonly isotonic: { readonly params: IsotonicParams };
  };
}

/** The params of `method` in `section` ('none' without params: none, i.e. unclipped). */
export function paramsOf(section: CalibrationSection, method: SelectableMethod): NoneParams | TemperatureParams | PlattParams | IsotonicParams {
  return method === 'none' ? (section.methods.none?.params ?? {}) : section.methods[method].params;
}

/** The clip of a calibrator fitted on n cases (calibration.clip_bounds). */
export function clipBounds(n: number): ClipParams {
  if (!Number.isInteger(n) || n < 1) throw new InputError(`clip needs the number of fitting cases, a positive integer; got ${show(n)}`);
  const low = 1 / (n + 2);
  return { low, high: 1 - low };
}

function clipped(p: number, clip: ClipParams | undefined): number {
  return clip === undefined ? p : Math.min(Math.max(p, clip.low), clip.high);
}

/** Logistic function without overflow: exp is only ever taken of a non-positive number. */
export function sigmoid(t: number): number {
  if (t >= 0) return 1 / (1 + Math.exp(-t));
  const e = Math.exp(t);
  return e / (1 + e);
}

/** p = sigmoid(z), clipped where the params say. */
export function noCalibration(logit: number, params: NoneParams = {}): number {
  return clipped(sigmoid(checkLogit(logit)), params.clip);
}

export function temperatureScale(logit: number, params: TemperatureParams): number {
  return clipped(sigmoid(checkLogit(logit) / params.temperature), params.clip);
}

export function plattScale(logit: number, params: PlattParams): number {
  return clipped(sigmoid(params.a * checkLogit(logit) + params.b), params.clip);
}

/**
 * numpy.interp(z, x, y): piecewise linear between the knots, y[0] below x[0] and y[n-1] above
 * x[n-1], and numpy's own order of operations inside a segment.
 */
export function isotonicScale(logit: number, params: IsotonicParams): number {
  return clipped(interp(checkLogit(logit), params), params.clip);
}

function interp(z: number, { x, y }: IsotonicParams): number {
  const n = x.length;
  if (z < x[0]) return y[0];
  if (z >= x[n - 1]) return y[n - 1];
  // Largest j with x[j] <= z; z < x[n-1] keeps j <= n - 2.
  let lo = 0;
  let hi = n - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (x[mid] <= z) lo = mid;
    else hi = mid;
  }
  const slope = (y[lo + 1] - y[lo]) / (x[lo + 1] - x[lo]);
  return slope * (z - x[lo]) + y[lo];
}

/** Calibrate with a named method's parameters from the manifest section. */
export function calibrateWith(method: SelectableMethod, logit: number, section: CalibrationSection): number {
  switch (method) {
    case 'none':
      return noCalibration(logit, section.methods.none?.params);
    case 'temperature':
      return temperatureScale(logit, section.methods.temperature.params);
    case 'platt':
      return plattScale(logit, section.methods.platt.params);
    case 'isotonic':
      return isotonicScale(logit, section.methods.isotonic.params);
    default:
      throw new InputError(
        `unknown calibration method ${show(method)}; expected none, ${CALIBRATION_METHODS.join(', ')}`,
      );
  }
}

/** Calibrate with the method the manifest selected. */
export function calibrate(logit: number, section: CalibrationSection): number {
  return calibrateWith(section.selected, logit, section);
}

/**
 * Checks the calibration parameters beyond what the JSON schema can say, as the Python
 * calibrators do when rebuilt from parameters. Returns a message per problem (empty when sound).
 */
export function calibrationProblems(section: CalibrationSection): string[] {
  const problems: string[] = [];
  const clips: [string, ClipParams | undefined][] = [
    ['none', section.methods.none?.params?.clip],
    ['temperature', section.methods.temperature.params.clip],
    ['platt', section.methods.platt.params.clip],
    ['isotonic', section.methods.isotonic.params.clip],
  ];
  for (const [method, clip] of clips) {
    if (clip !== undefined && !(clip.low > 0 && clip.low < clip.high && clip.high < 1)) {
      problems.push(`${method} clip [${show(clip.low)}, ${show(clip.high)}] must satisfy 0 < low < high < 1`);
    }
  }
  const t = section.methods.temperature.params.temperature;
  if (!(Number.isFinite(t) && t > 0)) problems.push(`temperature ${show(t)} must be finite and > 0`);
  const { a, b } = section.methods.platt.params;
  if (!Number.isFinite(a) || !Number.isFinite(b)) problems.push(`platt a ${show(a)}, b ${show(b)} must be finite`);
  const { x, y } = section.methods.isotonic.params;
  if (x.length !== y.length) {
    problems.push(`isotonic x has ${x.length} knots but y has ${y.length}`);
  } else if (x.length === 0) {
    problems.push('isotonic has no knots');
  } else {
    for (let i = 0; i < x.length; i++) {
      if (!Number.isFinite(x[i])) problems.push(`isotonic x[${i}] ${show(x[i])} is not finite`);
      if (!(y[i] >= 0 && y[i] <= 1)) problems.push(`isotonic y[${i}] ${show(y[i])} is outside [0, 1]`);
      if (i > 0 && !(x[i] > x[i - 1])) {
        problems.push(`isotonic x[${i}] = ${show(x[i])} is not greater than x[${i - 1}] = ${show(x[i - 1])}`);
      }
      if (i > 0 && y[i] < y[i - 1]) {
        problems.push(`isotonic y[${i}] = ${show(y[i])} is below y[${i - 1}] = ${show(y[i - 1])}`);
      }
    }
  }
  return problems;
}

function checkLogit(logit: number): number {
  if (typeof logit !== 'number' || !Number.isFinite(logit)) {
    throw new InputError(`logit must be a finite number, got ${show(logit)}`);
  }
  return logit;
}
