/**
 * Fitting the three calibrators of training/chestaid_train/calibration.py on logits and labels,
 * giving the manifest's parameters. Applying them is calibration.ts's job (reused here), so a
 * fitted calibrator predicts exactly as the viewer will.
 *
 *   temperature  T = exp(argmin over log T in [-7, 7] of mean NLL), scipy's bounded Brent, xatol 1e-10
 *   platt        (a, b) = unregularised maximum likelihood of sigmoid(a z + b) (Newton-Raphson)
 *   isotonic     scikit-learn IsotonicRegression(increasing, y in [0, 1], clip) knots
 *
 * and every fit, 'none' included, carries the output clip [1/(n+2), 1 - 1/(n+2)] of its n
 * fitting cases (calibration.clip_bounds), so no fitted calibrator outputs exactly 0 or 1.
 */
import {
  clipBounds,
  isotonicScale,
  noCalibration,
  plattScale,
  sigmoid,
  temperatureScale,
  type IsotonicParams,
  type NoneParams,
  type PlattParams,
  type TemperatureParams,
} from '../calibration';
import { InputError, show } from '../errors';
import { checkFinite, checkLabels, numpyMean, requireBothClasses } from './numeric';

/** A calibration method a site can fit, or 'none' (p = sigmoid(z), the uncalibrated baseline). */
export type FitMethod = 'none' | 'temperature' | 'platt' | 'isotonic';

/** The fitted methods in tie-break order, simplest first (calibration.FITTED_METHODS). */
export const FITTED_METHODS: readonly Exclude<FitMethod, 'none'>[] = ['temperature', 'platt', 'isotonic'];

/** Parameters of a fitted calibrator in the manifest's shape. */
export type CalibratorParams =
  | { readonly method: 'none'; readonly params: NoneParams }
  | { readonly method: 'temperature'; readonly params: TemperatureParams }
  | { readonly method: 'platt'; readonly params: PlattParams }
  | { readonly method: 'isotonic'; readonly params: IsotonicParams };

/** A fitted calibrator: its manifest parameters plus anything the fit wants a reader to know. */
export type FittedCalibrator = CalibratorParams & {
  /** Problems with the fit that do not stop it (e.g. separable data for Platt). */
  readonly warnings: readonly string[];
};

// exp(+-7): T from ~0.001 to ~1100, as calibration._LOG_T_BOUNDS.
const LOG_T_BOUNDS: readonly [number, number] = [-7, 7];

/** Fit one calibrator on logits z and 0/1 labels y; both classes must be present. */
export function fitCalibrator<M extends FitMethod>(method: M, logits: ArrayLike<number>, labels: ArrayLike<number>): Extract<FittedCalibrator, { method: M }> {
  return fitAny(method, logits, labels) as Extract<FittedCalibrator, { method: M }>;
}

function fitAny(method: FitMethod, logits: ArrayLike<number>, labels: ArrayLike<number>): FittedCalibrator {
  if (logits.length !== labels.length) throw new InputError(`logits have ${logits.length} values but labels have ${labels.length}`);
  checkFinite(logits, 'logits');
  checkLabels(labels, 'labels');
  requireBothClasses(labels, `fitting ${method}`);
  const clip = clipBounds(logits.length);
  switch (method) {
    case 'none':
      return { method, params: { clip }, warnings: [] };
    case 'temperature':
      return { method, params: { temperature: fitTemperature(logits, labels), clip }, warnings: [] };
    case 'platt': {
      const fit = fitPlatt(logits, labels);
      return { ...fit, params: { ...fit.params, clip } } as FittedCalibrator;
    }
    case 'isotonic':
      return { method, params: { ...fitIsotonic(logits, labels), clip }, warnings: [] };
    default:
      throw new InputError(`unknown calibration method ${show(method)}; expected none, temperature, platt or isotonic`);
  }
}

/** Calibrated probabilities of logits under fitted parameters (via calibration.ts). */
export function predictWith(calibrator: CalibratorParams, logits: ArrayLike<number>): Float64Array {
  const out = new Float64Array(logits.length);
  for (let i = 0; i < logits.length; i++) {
    const z = logits[i];
    switch (calibrator.method) {
      case 'none':
        out[i] = noCalibration(z, calibrator.params);
        break;
      case 'temperature':
        out[i] = temperatureScale(z, calibrator.params);
        break;
      case 'platt':
        out[i] = plattScale(z, calibrator.params);
        break;
      case 'isotonic':
        out[i] = isotonicScale(z, calibrator.params);
        break;
    }
  }
  return out;
}

/** log(1 + e^t) - y t: -log-likelihood of label y under logit t, stable for large |t|. */
function nllTerm(t: number, y: number): number {
  return Math.max(t, 0) + Math.log1p(Math.exp(-Math.abs(t))) - y * t;
}

function meanNll(z: ArrayLike<number>, y: ArrayLike<number>, scale: number): number {
  const terms = new Float64Array(z.length);
  for (let i = 0; i < z.length; i++) terms[i] = nllTerm(z[i] * scale, y[i]);
  return numpyMean(terms);
}

function fitTemperature(z: ArrayLike<number>, y: ArrayLike<number>): number {
  const logT = brentBounded((logT) => meanNll(z, y, Math.exp(-logT)), LOG_T_BOUNDS[0], LOG_T_BOUNDS[1], 1e-10);
  return Math.exp(logT);
}

/**
 * scipy.optimize.minimize_scalar(method='bounded'): Brent's method on [lo, hi] (golden section
 * with parabolic steps), ported statement for statement from scipy's _minimize_scalar_bounded so
 * that it visits the same points and stops at the same one.
 */
export function brentBounded(f: (x: number) => number, lo: number, hi: number, xatol = 1e-5, maxiter = 500): number {
  if (!(lo <= hi)) throw new InputError(`bounds [${show(lo)}, ${show(hi)}] are not ordered`);
  const sqrtEps = Math.sqrt(2.2e-16);
  const goldenMean = 0.5 * (3.0 - Math.sqrt(5.0));
  let a = lo;
  let b = hi;
  let fulc = a + goldenMean * (b - a);
  let nfc = fulc;
  let xf = fulc;
  let rat = 0;
  let e = 0;
  let x = xf;
  let fx = f(x);
  let num = 1;
  let ffulc = fx;
  let fnfc = fx;
  let xm = 0.5 * (a + b);
  let tol1 = sqrtEps * Math.abs(xf) + xatol / 3.0;
  let tol2 = 2.0 * tol1;
  const sign = (v: number): number => (v > 0 ? 1 : v < 0 ? -1 : 0);
  while (Math.abs(xf - xm) > tol2 - 0.5 * (b - a)) {
    let golden = true;
    if (Math.abs(e) > tol1) {
      golden = false;
      let r = (xf - nfc) * (fx - ffulc);
      let q = (xf - fulc) * (fx - fnfc);
      let p = (xf - fulc) * q - (xf - nfc) * r;
      q = 2.0 * (q - r);
      if (q > 0.0) p = -p;
      q = Math.abs(q);
      r = e;
      e = rat;
      if (Math.abs(p) < Math.abs(0.5 * q * r) && p > q * (a - xf) && p < q * (b - xf)) {
        rat = (p + 0.0) / q;
        x = xf + rat;
        if (x - a < tol2 || b - x < tol2) {
          const si = sign(xm - xf) + (xm - xf === 0 ? 1 : 0);
          rat = tol1 * si;
        }
      } else {
        golden = true;
      }
    }
    if (golden) {
      e = xf >= xm ? a - xf : b - xf;
      rat = goldenMean * e;
    }
    const si = sign(rat) + (rat === 0 ? 1 : 0);
    x = xf + si * Math.max(Math.abs(rat), tol1);
    const fu = f(x);
    num += 1;
    if (fu <= fx) {
      if (x >= xf) a = xf;
      else b = xf;
      fulc = nfc;
      ffulc = fnfc;
      nfc = xf;
      fnfc = fx;
      xf = x;
      fx = fu;
    } else {
      if (x < xf) a = x;
      else b = x;
      if (fu <= fnfc || nfc === xf) {
        fulc = nfc;
        ffulc = fnfc;
        nfc = x;
        fnfc = fu;
      } else if (fu <= ffulc || fulc === xf || fulc === nfc) {
        fulc = x;
        ffulc = fu;
      }
    }
    xm = 0.5 * (a + b);
    tol1 = sqrtEps * Math.abs(xf) + xatol / 3.0;
    tol2 = 2.0 * tol1;
    if (num >= maxiter) break;
  }
  return xf;
}

// Newton stops when the gradient of the mean NLL is this small (L-BFGS-B in Python uses gtol
// 1e-10; Newton lands well inside that, on the same optimum) or when its step no longer moves
// the parameters beyond rounding (the gradient itself then is rounding noise).
const PLATT_GTOL = 1e-13;
const PLATT_STEP_TOL = 1e-12;
const PLATT_MAX_ITER = 100;

/** True when some threshold on z puts every negative on one side and every positive on the other. */
function separable(z: ArrayLike<number>, y: ArrayLike<number>): boolean {
  let maxNeg = -Infinity;
  let minNeg = Infinity;
  let maxPos = -Infinity;
  let minPos = Infinity;
  for (let i = 0; i < z.length; i++) {
    if (y[i] === 1) {
      maxPos = Math.max(maxPos, z[i]);
      minPos = Math.min(minPos, z[i]);
    } else {
      maxNeg = Math.max(maxNeg, z[i]);
      minNeg = Math.min(minNeg, z[i]);
    }
  }
  return maxNeg < minPos || maxPos < minNeg;
}

/**
 * Newton-Raphson on the mean NLL of sigmoid(a z + b) from (1, 0), halving a step until the NLL
 * does not rise. The NLL is strictly convex when the classes overlap, so this reaches the same
 * MLE as Python's L-BFGS-B. When the logits separate the classes the MLE does not exist (a grows
 * without bound); the fit then stops at the iteration limit with a warning, as Python's
 * optimiser stops wherever its tolerances say.
 */
function fitPlatt(z: ArrayLike<number>, y: ArrayLike<number>): FittedCalibrator {
  const n = z.length;
  const objective = (a: number, b: number): number => {
    let s = 0;
    for (let i = 0; i < n; i++) s += nllTerm(a * z[i] + b, y[i]);
    return s / n;
  };
  let a = 1;
  let b = 0;
  let f = objective(a, b);
  let converged = false;
  for (let iter = 0; iter < PLATT_MAX_ITER; iter++) {
    let ga = 0;
    let gb = 0;
    let haa = 0;
    let hab = 0;
    let hbb = 0;
    for (let i = 0; i < n; i++) {
      const p = sigmoid(a * z[i] + b);
      const r = p - y[i];
      const w = p * (1 - p);
      ga += r * z[i];
      gb += r;
      haa += w * z[i] * z[i];
      hab += w * z[i];
      hbb += w;
    }
    ga /= n;
    gb /= n;
    haa /= n;
    hab /= n;
    hbb /= n;
    if (Math.max(Math.abs(ga), Math.abs(gb)) < PLATT_GTOL) {
      converged = true;
      break;
    }
    const det = haa * hbb - hab * hab;
    if (!(det > 0) || !Number.isFinite(det)) break;
    const da = (hbb * ga - hab * gb) / det;
    const db = (haa * gb - hab * ga) / det;
    // Near the optimum the NLL changes by less than its own rounding error, so "does not rise"
    // allows that much; otherwise rounding would halve the final Newton steps to nothing.
    const slack = 1e-12 * Math.abs(f);
    let step = 1;
    let next = objective(a - da, b - db);
    while (next > f + slack && step > 1e-10) {
      step /= 2;
      next = objective(a - step * da, b - step * db);
    }
    if (next > f + slack) {
      // No descent left along Newton's direction: at the optimum up to rounding.
      converged = true;
      break;
    }
    a -= step * da;
    b -= step * db;
    f = next;
    if (step === 1 && Math.abs(da) <= PLATT_STEP_TOL * (1 + Math.abs(a)) && Math.abs(db) <= PLATT_STEP_TOL * (1 + Math.abs(b))) {
      converged = true;
      break;
    }
  }
  if (!Number.isFinite(a) || !Number.isFinite(b)) throw new InputError(`Platt fit diverged (a = ${show(a)}, b = ${show(b)})`);
  const warnings: string[] = [];
  if (separable(z, y)) {
    warnings.push(
      `the logits separate the classes perfectly, so Platt's maximum-likelihood fit does not exist; ` +
        `stopped at a = ${a.toPrecision(6)}, b = ${b.toPrecision(6)} (probabilities near 0 and 1 are overconfident)`,
    );
  } else if (!converged) {
    warnings.push(`Platt fit did not converge in ${PLATT_MAX_ITER} Newton steps (a = ${a}, b = ${b})`);
  }
  return { method: 'platt', params: { a, b }, warnings };
}

/**
 * scikit-learn's IsotonicRegression(increasing=True, y_min=0, y_max=1) knots X_thresholds_ and
 * y_thresholds_, step by step as sklearn/isotonic.py (_build_y) and _isotonic.pyx do it:
 * sort by (x, y); merge x values closer than float64 resolution (1e-15) into one point whose y
 * is the weighted mean (_make_unique); pool adjacent violators with backtracking
 * (_inplace_contiguous_isotonic_regression); clip to [0, 1]; drop inner points whose y equals
 * both neighbours'.
 */
export function fitIsotonic(logits: ArrayLike<number>, labels: ArrayLike<number>): IsotonicParams {
  const n = logits.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => logits[i] - logits[j] || labels[i] - labels[j]);
  // _make_unique with unit weights.
  const eps = 1e-15;
  const ux: number[] = [];
  const uy: number[] = [];
  const uw: number[] = [];
  let currentX = logits[order[0]];
  let currentY = 0;
  let currentW = 0;
  for (const i of order) {
    const x = logits[i];
    if (x - currentX >= eps) {
      ux.push(currentX);
      uw.push(currentW);
      uy.push(currentY / currentW);
      currentX = x;
      currentW = 1;
      currentY = labels[i];
    } else {
      currentW += 1;
      currentY += labels[i];
    }
  }
  ux.push(currentX);
  uw.push(currentW);
  uy.push(currentY / currentW);

  const y = poolAdjacentViolators(uy, uw);
  for (let i = 0; i < y.length; i++) y[i] = Math.min(Math.max(y[i], 0), 1);

  const x: number[] = [];
  const yk: number[] = [];
  for (let i = 0; i < y.length; i++) {
    const inner = i > 0 && i < y.length - 1;
    if (!inner || y[i] !== y[i - 1] || y[i] !== y[i + 1]) {
      x.push(ux[i]);
      yk.push(y[i]);
    }
  }
  return { x, y: yk };
}

/**
 * Pool adjacent violators for a non-decreasing fit, the single-pass algorithm with backtracking
 * of scikit-learn's _inplace_contiguous_isotonic_regression (Best & Chakravarti), kept in its
 * order of operations so that the pooled means are the same floating-point numbers.
 */
function poolAdjacentViolators(values: readonly number[], weights: readonly number[]): number[] {
  const n = values.length;
  const y = values.slice();
  const w = weights.slice();
  // target[i] = j and target[j] = i when [i..j] is a pooled block.
  const target = Array.from({ length: n }, (_, i) => i);
  let i = 0;
  while (i < n) {
    let k = target[i] + 1;
    if (k === n) break;
    if (y[i] < y[k]) {
      i = k;
      continue;
    }
    let sumWy = w[i] * y[i];
    let sumW = w[i];
    for (;;) {
      const prevY = y[k];
      sumWy += w[k] * y[k];
      sumW += w[k];
      k = target[k] + 1;
      if (k === n || prevY < y[k]) {
        y[i] = sumWy / sumW;
        w[i] = sumW;
        target[i] = k - 1;
        target[k - 1] = i;
        if (i > 0) i = target[i - 1];
        break;
      }
    }
  }
  i = 0;
  while (i < n) {
    const k = target[i] + 1;
    for (let j = i + 1; j < k; j++) y[j] = y[i];
    i = k;
  }
  return y;
}
