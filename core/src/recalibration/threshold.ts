/**
 * The operating threshold for a target sensitivity, by training/chestaid_train/threshold.py's rule,
 * and its stratified percentile-bootstrap intervals (the method of metrics.bootstrap_ci).
 */
import { InputError, show } from '../errors';
import { confusionAt, rates, type Confusion } from './metrics';
import { checkPair, percentileSorted } from './numeric';
import { mulberry32, randomIndex } from './random';

/** The rule, word for word as the manifest stores it. */
export const THRESHOLD_RULE = 'highest threshold whose sensitivity on the split is >= target';

function checkTarget(target: number): number {
  if (typeof target !== 'number' || !(target > 0 && target <= 1)) {
    throw new InputError(`target sensitivity = ${show(target)} is not in (0, 1]`);
  }
  return target;
}

/**
 * The highest threshold t with sensitivity(p >= t) >= target. Sensitivity only changes when t
 * passes a positive's score, so the candidates are the positives' distinct scores (highest
 * first) and the answer is always one of them; the comparison is count / nPos >= target, the
 * same arithmetic as Python.
 */
export function thresholdForSensitivity(y: ArrayLike<number>, p: ArrayLike<number>, target = 0.9): number {
  checkPair(y, p, 'threshold for sensitivity');
  checkTarget(target);
  const pos: number[] = [];
  for (let i = 0; i < y.length; i++) if (y[i] === 1) pos.push(p[i]);
  if (pos.length === 0) throw new InputError(`cannot choose a threshold for sensitivity ${target}: no positives (n=${y.length})`);
  return thresholdFromPositives(pos.sort((a, b) => b - a), target);
}

/** The rule on positives' scores already sorted descending. */
function thresholdFromPositives(descending: readonly number[], target: number): number {
  const nPos = descending.length;
  for (let k = 0; k < nPos; k++) {
    // All positives tied with descending[k] are flagged together: count them before testing.
    if (k + 1 < nPos && descending[k + 1] === descending[k]) continue;
    if ((k + 1) / nPos >= target) return descending[k];
  }
  return descending[nPos - 1];
}

/** A point estimate with its percentile interval; bounds null when no replicate defined it. */
export interface BootstrapInterval {
  readonly value: number | null;
  readonly low: number | null;
  readonly high: number | null;
}

/** Options of bootstrapThreshold. */
export interface BootstrapOptions {
  /** Replicates (default 1000, as the training manifest). */
  readonly nBoot?: number;
  /** Seed of the mulberry32 generator (default 0). */
  readonly seed?: number;
  /** Two-sided level (default 0.95). */
  readonly level?: number;
}

/** The threshold for a target sensitivity with bootstrap intervals, and sens/spec at it. */
export interface ThresholdEstimate {
  readonly threshold: BootstrapInterval;
  readonly targetSensitivity: number;
  readonly rule: string;
  readonly confusion: Confusion;
  /** Sensitivity and specificity at the point-estimate threshold, intervals over replicates. */
  readonly sensitivity: BootstrapInterval;
  readonly specificity: BootstrapInterval;
  readonly bootstrap: {
    readonly nBoot: number;
    readonly seed: number;
    readonly level: number;
    readonly method: 'percentile';
    readonly resampling: 'stratified by class';
    readonly generator: 'mulberry32';
  };
}

function interval(value: number | null, reps: number[], level: number): BootstrapInterval {
  if (reps.length === 0) return { value, low: null, high: null };
  const sorted = reps.sort((a, b) => a - b);
  const alpha = 1 - level;
  return { value, low: percentileSorted(sorted, 50 * alpha), high: percentileSorted(sorted, 100 - 50 * alpha) };
}

/**
 * thresholdForSensitivity plus stratified percentile-bootstrap intervals: each replicate
 * resamples positives and negatives separately with replacement (class counts fixed, as Python's
 * _stratified_resamples), re-applies the rule for the threshold's interval, and measures
 * sensitivity and specificity at the point-estimate threshold (as Python's operating_point).
 * Same method as Python, different generator (mulberry32, not numpy's PCG64), so intervals agree
 * in distribution, not digit for digit.
 */
export function bootstrapThreshold(y: ArrayLike<number>, p: ArrayLike<number>, target = 0.9, options: BootstrapOptions = {}): ThresholdEstimate {
  const nBoot = options.nBoot ?? 1000;
  const seed = options.seed ?? 0;
  const level = options.level ?? 0.95;
  if (!Number.isInteger(nBoot) || nBoot < 1) throw new InputError(`nBoot must be a positive integer, got ${show(nBoot)}`);
  if (!(level > 0 && level < 1)) throw new InputError(`level = ${show(level)} is not in (0, 1)`);
  const t = thresholdForSensitivity(y, p, target);
  const confusion = confusionAt(y, p, t);
  const point = rates(confusion);

  const pos: number[] = [];
  const neg: number[] = [];
  for (let i = 0; i < y.length; i++) (y[i] === 1 ? pos : neg).push(p[i]);
  const random = mulberry32(seed);
  const repThreshold: number[] = [];
  const repSens: number[] = [];
  const repSpec: number[] = [];
  const samplePos = new Array<number>(pos.length);
  for (let r = 0; r < nBoot; r++) {
    // Negatives first, then positives, each its own stratum, as Python's class order (0, 1).
    let negFlagged = 0;
    for (let k = 0; k < neg.length; k++) if (neg[randomIndex(random, neg.length)] >= t) negFlagged++;
    let posFlagged = 0;
    for (let k = 0; k < pos.length; k++) {
      const v = pos[randomIndex(random, pos.length)];
      samplePos[k] = v;
      if (v >= t) posFlagged++;
    }
    samplePos.sort((a, b) => b - a);
    repThreshold.push(thresholdFromPositives(samplePos, target));
    repSens.push(posFlagged / pos.length);
    if (neg.length) repSpec.push((neg.length - negFlagged) / neg.length);
  }
  return {
    threshold: interval(t, repThreshold, level),
    targetSensitivity: target,
    rule: THRESHOLD_RULE,
    confusion,
    sensitivity: interval(point.sensitivity, repSens, level),
    specificity: interval(point.specificity, repSpec, level),
    bootstrap: { nBoot, seed, level, method: 'percentile', resampling: 'stratified by class', generator: 'mulberry32' },
  };
}
