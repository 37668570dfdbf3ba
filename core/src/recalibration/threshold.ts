/**
 * The operating threshold for a target sensitivity, by training/chestaid_train/threshold.py's rule:
 * the highest threshold whose one-sided 95 % Clopper-Pearson lower bound on sensitivity reaches
 * the target. Plus the exact two-sided interval of a sensitivity and stratified percentile-bootstrap
 * intervals (the method of metrics.bootstrap_ci) of the threshold and specificity.
 */
import { InputError, show } from '../errors';
import { betaQuantile } from './beta';
import { confusionAt, rates, type Confusion } from './metrics';
import { checkPair, percentileSorted } from './numeric';
import { mulberry32, randomIndex } from './random';

/** The rule, word for word as the manifest stores it (threshold.RULE). */
export const THRESHOLD_RULE =
  'highest threshold whose one-sided 95 % Clopper-Pearson lower bound on sensitivity on the split reaches the target';
/** The point-estimate rule of manifests before schema 1.4.0 (threshold.POINT_RULE). */
export const POINT_THRESHOLD_RULE = 'highest threshold whose sensitivity on the split is >= target';
/** Confidence level of the proof. */
export const PROOF_LEVEL = 0.95;

function checkCounts(k: number, n: number): void {
  if (!Number.isInteger(k) || !Number.isInteger(n) || k < 0 || k > n || n < 1) {
    throw new InputError(`need integer counts 0 <= k <= n, n >= 1; got k=${show(k)}, n=${show(n)}`);
  }
}

function checkLevel(level: number): void {
  if (!(level > 0 && level < 1)) throw new InputError(`confidence level = ${show(level)} is not in (0, 1)`);
}

/**
 * One-sided exact (Clopper-Pearson) lower bound on a proportion, k of n: the (1 - level) quantile
 * of Beta(k, n - k + 1), 0 at k = 0; (1 - level)^(1/n) at k = n.
 */
export function clopperPearsonLower(k: number, n: number, level = PROOF_LEVEL): number {
  checkCounts(k, n);
  checkLevel(level);
  return k === 0 ? 0 : betaQuantile(1 - level, k, n - k + 1);
}

/** Two-sided exact (Clopper-Pearson) interval of k of n, [0 at k = 0, 1 at k = n]. */
export function clopperPearsonInterval(k: number, n: number, level = PROOF_LEVEL): { low: number; high: number } {
  checkCounts(k, n);
  checkLevel(level);
  const a = 1 - level;
  return { low: k === 0 ? 0 : betaQuantile(a / 2, k, n - k + 1), high: k === n ? 1 : betaQuantile(1 - a / 2, k + 1, n - k) };
}

/**
 * The smallest number of positives n whose perfect record proves the target: the smallest n with
 * clopperPearsonLower(n, n) = (1 - level)^(1/n) >= target, i.e. ceil(ln(1 - level) / ln(target))
 * (29 for 0.90 at 95 %, 59 for 0.95). Fewer positives cannot prove the target at any threshold.
 */
export function positivesNeeded(target: number, level = PROOF_LEVEL): number {
  checkTarget(target);
  checkLevel(level);
  if (target >= 1) throw new InputError('a sensitivity of 1 can never be proven by a finite sample; choose a target below 1');
  let n = Math.max(1, Math.ceil(Math.log(1 - level) / Math.log(target)));
  while (n > 1 && clopperPearsonLower(n - 1, n - 1, level) >= target) n--;
  while (clopperPearsonLower(n, n, level) < target) n++;
  return n;
}

/** Sensitivity with its exact interval (threshold.sensitivity_exact). */
export interface ExactSensitivity {
  readonly value: number;
  readonly low: number;
  readonly high: number;
  readonly k: number;
  readonly n: number;
  readonly level: number;
}

/** Sensitivity of p >= threshold with its exact two-sided Clopper-Pearson interval. */
export function sensitivityExact(y: ArrayLike<number>, p: ArrayLike<number>, threshold: number, level = PROOF_LEVEL): ExactSensitivity {
  checkPair(y, p, 'exact sensitivity');
  let n = 0;
  let k = 0;
  for (let i = 0; i < y.length; i++) {
    if (y[i] === 1) {
      n++;
      if (p[i] >= threshold) k++;
    }
  }
  if (n === 0) throw new InputError('sensitivity of cases without positives is undefined');
  const { low, high } = clopperPearsonInterval(k, n, level);
  return { value: k / n, low, high, k, n, level };
}

/** The proven threshold and what proves it (threshold.threshold_with_proven_sensitivity). */
export interface ProvenThreshold {
  readonly value: number;
  readonly flaggedPositives: number;
  readonly nPos: number;
  readonly lowerBound: number;
}

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

/**
 * The highest threshold whose one-sided Clopper-Pearson lower bound on sensitivity reaches the
 * target; the candidates are the positives' distinct scores. Throws, saying how many positives
 * would be needed, when even flagging every positive does not prove it.
 */
export function thresholdWithProvenSensitivity(y: ArrayLike<number>, p: ArrayLike<number>, target = 0.9, level = PROOF_LEVEL): ProvenThreshold {
  checkPair(y, p, 'threshold for sensitivity');
  checkTarget(target);
  checkLevel(level);
  const pos: number[] = [];
  for (let i = 0; i < y.length; i++) if (y[i] === 1) pos.push(p[i]);
  if (pos.length === 0) throw new InputError(`cannot choose a threshold for sensitivity ${target}: no positives (n=${y.length})`);
  const found = provenFromPositives(pos.sort((a, b) => b - a), target, level);
  if (found === null) {
    throw new InputError(
      `cannot prove sensitivity >= ${target} at ${Math.round(level * 100)} % confidence with ${pos.length} positives: ` +
        `even flagging all of them gives a Clopper-Pearson lower bound of ${clopperPearsonLower(pos.length, pos.length, level).toFixed(4)}; ` +
        `at least ${positivesNeeded(target, level)} positives are needed`,
    );
  }
  return found;
}

/**
 * The fewest flagged positives of nPos whose lower bound reaches the target, or null when even
 * nPos do not. The bound grows with k, so a binary search needs about log2(nPos) bounds.
 */
export function minFlaggedToProve(nPos: number, target: number, level = PROOF_LEVEL): number | null {
  if (clopperPearsonLower(nPos, nPos, level) < target) return null;
  let lo = 0; // bound(lo) < target (bound(0) = 0)
  let hi = nPos; // bound(hi) >= target
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (clopperPearsonLower(mid, nPos, level) >= target) hi = mid;
    else lo = mid;
  }
  return hi;
}

/**
 * The highest candidate flagging at least k* = minFlaggedToProve positives is the k*-th highest
 * positive score: positives tied with it are flagged with it (more is only better), and every
 * higher distinct score flags fewer than k*.
 */
function provenFromPositives(descending: readonly number[], target: number, level: number, kMin = minFlaggedToProve(descending.length, target, level)): ProvenThreshold | null {
  const nPos = descending.length;
  if (kMin === null) return null;
  const value = descending[kMin - 1];
  let flagged = kMin;
  while (flagged < nPos && descending[flagged] === value) flagged++;
  return { value, flaggedPositives: flagged, nPos, lowerBound: clopperPearsonLower(flagged, nPos, level) };
}

/** The point rule on positives' scores already sorted descending. */
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
  /** What proves the target at the point-estimate threshold. */
  readonly proof: ProvenThreshold & { readonly level: number; readonly positivesNeeded: number };
  /** Where the point-estimate rule (POINT_THRESHOLD_RULE) would have put the threshold. */
  readonly pointEstimateThreshold: number;
  /** Sensitivity at the threshold with its exact two-sided interval. */
  readonly sensitivityExact: ExactSensitivity;
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
 * thresholdWithProvenSensitivity plus stratified percentile-bootstrap intervals: each replicate
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
  const proven = thresholdWithProvenSensitivity(y, p, target, PROOF_LEVEL);
  const t = proven.value;
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
  const kMin = minFlaggedToProve(pos.length, target, PROOF_LEVEL) as number;
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
    // The class counts are fixed, so k* is the cohort's and every replicate proves the target.
    repThreshold.push(samplePos[kMin - 1]);
    repSens.push(posFlagged / pos.length);
    if (neg.length) repSpec.push((neg.length - negFlagged) / neg.length);
  }
  return {
    threshold: interval(t, repThreshold, level),
    targetSensitivity: target,
    rule: THRESHOLD_RULE,
    proof: { ...proven, level: PROOF_LEVEL, positivesNeeded: positivesNeeded(target, PROOF_LEVEL) },
    pointEstimateThreshold: thresholdForSensitivity(y, p, target),
    sensitivityExact: sensitivityExact(y, p, t, PROOF_LEVEL),
    confusion,
    sensitivity: interval(point.sensitivity, repSens, level),
    specificity: interval(point.specificity, repSpec, level),
    bootstrap: { nBoot, seed, level, method: 'percentile', resampling: 'stratified by class', generator: 'mulberry32' },
  };
}
