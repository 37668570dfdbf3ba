/**
 * Binary metrics of the calibrated PNEUMONIA probability, as training/chestaid_train/metrics.py
 * computes them (same binning, same tie handling, same undefined-as-null rule), so a site's
 * recalibration report and the training manifest quote comparable numbers.
 */
import { InputError, show } from '../errors';
import { checkPair, checkProbabilities, numpyMean, numpySum, requireBothClasses } from './numeric';
import { mulberry32 } from './random';

/** Default number of equal-width reliability/ECE bins, as in the training manifest. */
export const DEFAULT_N_BINS = 15;

// log(0) guard for NLL, as metrics.py: isotonic calibration legitimately outputs exact 0 and 1.
const NLL_EPS = 1e-15;

function checkNBins(nBins: number): number {
  if (!Number.isInteger(nBins) || nBins < 1) throw new InputError(`nBins must be a positive integer, got ${show(nBins)}`);
  return nBins;
}

/**
 * Equal-width bins over [0, 1]: bin b is [b/n, (b+1)/n), the last bin closed. Edges are b / n
 * exactly as Python's `_bin_index` (searchsorted(edges, p, 'right') - 1, clipped), so a p written
 * as b / n lands on edge b and goes to the upper bin.
 */
function binIndex(p: number, edges: readonly number[]): number {
  const nBins = edges.length - 1;
  let b = Math.min(Math.max(Math.floor(p * nBins), 0), nBins - 1);
  // floor(p * n) can be one off near an edge; settle it against the stored edges.
  while (b > 0 && p < edges[b]) b--;
  while (b < nBins - 1 && p >= edges[b + 1]) b++;
  return b;
}

function binEdges(nBins: number): number[] {
  const edges: number[] = [];
  for (let b = 0; b <= nBins; b++) edges.push(b / nBins);
  return edges;
}

/**
 * Binary expected calibration error of P(PNEUMONIA): sum over bins of (n_b / N) |mean(y) - mean(p)|,
 * 15 equal-width bins by default (see binIndex for the edge convention).
 */
export function expectedCalibrationError(y: ArrayLike<number>, p: ArrayLike<number>, nBins = DEFAULT_N_BINS): number {
  checkNBins(nBins);
  checkPair(y, p, 'ECE');
  const edges = binEdges(nBins);
  const gap = new Float64Array(nBins);
  // Sequential accumulation per bin in sample order, as np.bincount with weights does.
  for (let i = 0; i < y.length; i++) gap[binIndex(p[i], edges)] += y[i] - p[i];
  for (let b = 0; b < nBins; b++) gap[b] = Math.abs(gap[b]);
  return numpySum(gap) / y.length;
}

/**
 * The ECE a perfectly calibrated score would show on these cases (metrics.expected_ece_if_calibrated):
 * the mean ECE over nDraws label sets drawn as y_i ~ Bernoulli(p_i) from the scores themselves.
 * Draw d uses numbers d*n .. d*n + n - 1 of mulberry32(seed) and y_i = 1 when u_i < p_i, as in
 * Python, so both sides draw the same labels. By simulation, not analytically.
 */
export function expectedEceIfCalibrated(p: ArrayLike<number>, nBins = DEFAULT_N_BINS, nDraws = 1000, seed = 0): number {
  checkNBins(nBins);
  checkProbabilities(p);
  if (p.length === 0) throw new InputError('expected ECE of no cases');
  if (!Number.isInteger(nDraws) || nDraws < 1) throw new InputError(`nDraws must be a positive integer, got ${show(nDraws)}`);
  const edges = binEdges(nBins);
  const bin = Array.from(p, (v) => binIndex(v, edges));
  const random = mulberry32(seed);
  const gap = new Float64Array(nBins);
  let total = 0;
  for (let d = 0; d < nDraws; d++) {
    gap.fill(0);
    for (let i = 0; i < p.length; i++) gap[bin[i]] += (random() < p[i] ? 1 : 0) - p[i];
    for (let b = 0; b < nBins; b++) gap[b] = Math.abs(gap[b]);
    total += numpySum(gap) / p.length;
  }
  return total / nDraws;
}

/** Brier score: mean squared difference between p and the 0/1 label. */
export function brierScore(y: ArrayLike<number>, p: ArrayLike<number>): number {
  checkPair(y, p, 'Brier score');
  const sq = new Float64Array(y.length);
  for (let i = 0; i < y.length; i++) sq[i] = (y[i] - p[i]) ** 2;
  return numpyMean(sq);
}

/** Mean negative log-likelihood with p clipped to [1e-15, 1 - 1e-15], as metrics.nll. */
export function negativeLogLikelihood(y: ArrayLike<number>, p: ArrayLike<number>): number {
  checkPair(y, p, 'NLL');
  const terms = new Float64Array(y.length);
  for (let i = 0; i < y.length; i++) {
    const pc = Math.min(Math.max(p[i], NLL_EPS), 1 - NLL_EPS);
    terms[i] = y[i] * Math.log(pc) + (1 - y[i]) * Math.log1p(-pc);
  }
  return -numpyMean(terms);
}

/** One reliability-diagram bin; meanPredicted and observedFraction are null when the bin is empty. */
export interface ReliabilityBin {
  readonly lower: number;
  readonly upper: number;
  readonly count: number;
  readonly meanPredicted: number | null;
  readonly observedFraction: number | null;
}

/** Reliability diagram: the ECE's bins with their counts, mean p and observed positive fraction. */
export function reliabilityBins(y: ArrayLike<number>, p: ArrayLike<number>, nBins = DEFAULT_N_BINS): ReliabilityBin[] {
  checkNBins(nBins);
  checkPair(y, p, 'reliability bins');
  const edges = binEdges(nBins);
  const count = new Array<number>(nBins).fill(0);
  const sumP = new Array<number>(nBins).fill(0);
  const sumY = new Array<number>(nBins).fill(0);
  for (let i = 0; i < y.length; i++) {
    const b = binIndex(p[i], edges);
    count[b]++;
    sumP[b] += p[i];
    sumY[b] += y[i];
  }
  return count.map((c, b) => ({
    lower: edges[b],
    upper: edges[b + 1],
    count: c,
    meanPredicted: c ? sumP[b] / c : null,
    observedFraction: c ? sumY[b] / c : null,
  }));
}

/** Cumulative counts at each distinct score, highest first (scikit-learn's _binary_clf_curve). */
function binaryCurve(y: ArrayLike<number>, p: ArrayLike<number>): { thresholds: number[]; tps: number[]; fps: number[] } {
  const order = Array.from({ length: y.length }, (_, i) => i).sort((i, j) => p[j] - p[i]);
  const thresholds: number[] = [];
  const tps: number[] = [];
  const fps: number[] = [];
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < order.length; k++) {
    const i = order[k];
    if (y[i] === 1) tp++;
    else fp++;
    // One point per distinct score: tied cases are flagged together, which is what makes the
    // ROC segment across a tie diagonal (the 1/2 credit of roc_auc_score).
    if (k === order.length - 1 || p[order[k + 1]] !== p[i]) {
      thresholds.push(p[i]);
      tps.push(tp);
      fps.push(fp);
    }
  }
  return { thresholds, tps, fps };
}

/** One ROC point: the rates when flagging p >= threshold; threshold null is "flag nothing". */
export interface RocPoint {
  readonly threshold: number | null;
  readonly fpr: number;
  readonly tpr: number;
}

/** ROC curve and its area, as scikit-learn's roc_curve (drop_intermediate) and roc_auc_score. */
export interface RocCurve {
  readonly points: readonly RocPoint[];
  readonly auc: number;
}

/**
 * ROC curve with collinear points dropped (scikit-learn's drop_intermediate) and the trapezoidal
 * AUC; ties in p form one diagonal step, so the AUC equals roc_auc_score's.
 */
export function rocCurve(y: ArrayLike<number>, p: ArrayLike<number>): RocCurve {
  checkPair(y, p, 'ROC curve');
  requireBothClasses(y, 'ROC curve');
  const { thresholds, tps, fps } = binaryCurve(y, p);
  const keep: number[] = [];
  for (let i = 0; i < thresholds.length; i++) {
    const ends = i === 0 || i === thresholds.length - 1;
    if (ends || fps[i - 1] - 2 * fps[i] + fps[i + 1] !== 0 || tps[i - 1] - 2 * tps[i] + tps[i + 1] !== 0) keep.push(i);
  }
  const nPos = tps[tps.length - 1];
  const nNeg = fps[fps.length - 1];
  const points: RocPoint[] = [{ threshold: null, fpr: 0, tpr: 0 }];
  for (const i of keep) points.push({ threshold: thresholds[i], fpr: fps[i] / nNeg, tpr: tps[i] / nPos });
  const areas = new Float64Array(points.length - 1);
  for (let i = 1; i < points.length; i++) {
    areas[i - 1] = ((points[i].fpr - points[i - 1].fpr) * (points[i].tpr + points[i - 1].tpr)) / 2;
  }
  return { points, auc: numpySum(areas) };
}

/** Area under the ROC curve (scikit-learn roc_auc_score). */
export function rocAuc(y: ArrayLike<number>, p: ArrayLike<number>): number {
  return rocCurve(y, p).auc;
}

/** Average precision (scikit-learn average_precision_score): the step-wise PR-AUC. */
export function averagePrecision(y: ArrayLike<number>, p: ArrayLike<number>): number {
  checkPair(y, p, 'average precision');
  requireBothClasses(y, 'average precision');
  const { tps, fps } = binaryCurve(y, p);
  const nPos = tps[tps.length - 1];
  const terms = new Float64Array(tps.length);
  let prevRecall = 0;
  for (let i = 0; i < tps.length; i++) {
    const recall = tps[i] / nPos;
    terms[i] = (recall - prevRecall) * (tps[i] / (tps[i] + fps[i]));
    prevRecall = recall;
  }
  // scikit-learn sums from the low-threshold end (its arrays are reversed).
  terms.reverse();
  return numpySum(terms);
}

/** Confusion matrix for the rule "positive iff p >= threshold". */
export interface Confusion {
  readonly tp: number;
  readonly fp: number;
  readonly tn: number;
  readonly fn: number;
}

/** Confusion matrix at a threshold, flagging p >= threshold as the viewer does. */
export function confusionAt(y: ArrayLike<number>, p: ArrayLike<number>, threshold: number): Confusion {
  checkPair(y, p, 'confusion matrix');
  if (typeof threshold !== 'number' || !(threshold >= 0 && threshold <= 1)) {
    throw new InputError(`threshold = ${show(threshold)} is not a probability in [0, 1]`);
  }
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < y.length; i++) {
    const flagged = p[i] >= threshold;
    if (y[i] === 1) {
      if (flagged) tp++;
      else fn++;
    } else if (flagged) fp++;
  }
  return { tp, fp, fn, tn: y.length - tp - fp - fn };
}

/** Rates from a confusion matrix; null where the denominator is zero (undefined, not 0). */
export interface Rates {
  readonly sensitivity: number | null;
  readonly specificity: number | null;
  readonly ppv: number | null;
  readonly npv: number | null;
}

/** Sensitivity, specificity, PPV and NPV of a confusion matrix (metrics.rates). */
export function rates(cm: Confusion): Rates {
  const ratio = (num: number, den: number): number | null => (den ? num / den : null);
  return {
    sensitivity: ratio(cm.tp, cm.tp + cm.fn),
    specificity: ratio(cm.tn, cm.tn + cm.fp),
    ppv: ratio(cm.tp, cm.tp + cm.fp),
    npv: ratio(cm.tn, cm.tn + cm.fn),
  };
}

/** Threshold-free summary of one set of predictions. */
export interface CalibrationMetricSet {
  readonly ece: number;
  readonly brier: number;
  readonly nll: number;
  readonly rocAuc: number | null;
  readonly n: number;
  readonly nPos: number;
  /** The ECE labels drawn from these very scores would show (expectedEceIfCalibrated), where computed. */
  readonly eceIfCalibrated?: number;
}

/** ECE, Brier, NLL and ROC-AUC (null with one class) of predictions p. */
export function summarize(y: ArrayLike<number>, p: ArrayLike<number>, nBins = DEFAULT_N_BINS): CalibrationMetricSet {
  let nPos = 0;
  for (let i = 0; i < y.length; i++) nPos += y[i];
  return {
    ece: expectedCalibrationError(y, p, nBins),
    brier: brierScore(y, p),
    nll: negativeLogLikelihood(y, p),
    rocAuc: nPos > 0 && nPos < y.length ? rocAuc(y, p) : null,
    n: y.length,
    nPos,
  };
}
