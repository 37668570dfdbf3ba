/**
 * Small numeric helpers shared by the recalibration maths, written to reproduce numpy's results
 * bit for bit where that is cheap, so parity with training/chestaid_train is exact rather than
 * "close enough".
 */
import { InputError, show } from '../errors';

/** A binary label: 1 = PNEUMONIA, 0 = normal. */
export type Label = 0 | 1;

/**
 * numpy's pairwise summation (`np.add.reduce` on a contiguous float64 array): sequential below 8
 * values, eight interleaved accumulators up to 128, halving above. Matching it makes means and
 * sums agree with numpy to the last bit instead of drifting by summation order.
 */
export function numpySum(values: ArrayLike<number>, start = 0, end = values.length): number {
  const n = end - start;
  if (n < 8) {
    let res = 0;
    for (let i = start; i < end; i++) res += values[i];
    return res;
  }
  if (n <= 128) {
    const r = [0, 0, 0, 0, 0, 0, 0, 0];
    for (let j = 0; j < 8; j++) r[j] = values[start + j];
    let i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (let j = 0; j < 8; j++) r[j] += values[start + i + j];
    }
    let res = r[0] + r[1] + (r[2] + r[3]) + (r[4] + r[5] + (r[6] + r[7]));
    for (; i < n; i++) res += values[start + i];
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return numpySum(values, start, start + n2) + numpySum(values, start + n2, end);
}

/** np.mean of a float64 array. */
export function numpyMean(values: ArrayLike<number>): number {
  return numpySum(values) / values.length;
}

/**
 * np.percentile with the default linear interpolation, on values already sorted ascending.
 * q in [0, 100].
 */
export function percentileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) throw new InputError('percentile of an empty list');
  const pos = (q / 100) * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, n - 1);
  const frac = pos - lo;
  // numpy's _lerp: a + (b - a) * t, switched to b - (b - a) * (1 - t) for t >= 0.5.
  const a = sorted[lo];
  const b = sorted[hi];
  const diff = b - a;
  return frac >= 0.5 ? b - diff * (1 - frac) : a + diff * frac;
}

/** Checks labels are all 0 or 1, naming the first bad one. */
export function checkLabels(y: ArrayLike<number>, name = 'labels'): void {
  for (let i = 0; i < y.length; i++) {
    if (y[i] !== 0 && y[i] !== 1) throw new InputError(`${name}[${i}] = ${show(y[i])} is not a binary label (expected 0 or 1)`);
  }
}

/** Checks every value is a finite number, naming the first bad one. */
export function checkFinite(x: ArrayLike<number>, name = 'logits'): void {
  for (let i = 0; i < x.length; i++) {
    if (typeof x[i] !== 'number' || !Number.isFinite(x[i])) throw new InputError(`${name}[${i}] = ${show(x[i])} is not finite`);
  }
}

/** Checks probabilities lie in [0, 1]; the range check is what catches a logit passed as p. */
export function checkProbabilities(p: ArrayLike<number>, name = 'p'): void {
  for (let i = 0; i < p.length; i++) {
    if (typeof p[i] !== 'number' || !(p[i] >= 0 && p[i] <= 1)) throw new InputError(`${name}[${i}] = ${show(p[i])} is outside [0, 1]`);
  }
}

/** Labels and probabilities of the same non-zero length, validated. */
export function checkPair(y: ArrayLike<number>, p: ArrayLike<number>, what: string): void {
  if (y.length !== p.length) throw new InputError(`${what}: labels have ${y.length} values but p has ${p.length}`);
  if (y.length === 0) throw new InputError(`${what}: no cases`);
  checkLabels(y);
  checkProbabilities(p);
}

/** Throws unless both classes are present. */
export function requireBothClasses(y: ArrayLike<number>, what: string): void {
  let pos = 0;
  for (let i = 0; i < y.length; i++) pos += y[i];
  if (pos === 0 || pos === y.length) {
    throw new InputError(`${what} needs both classes, but the labels have only ${pos ? 'positives' : 'negatives'} (n=${y.length})`);
  }
}
