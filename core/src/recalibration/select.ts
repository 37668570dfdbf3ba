/**
 * Choosing a calibrator by a proper scoring rule, the rule of training/chestaid_train/calibration.py
 * (select_by_cv, one_se_choice), so a site's recalibration and the training manifest choose alike:
 *
 *  1. candidates, simplest first: none < temperature < platt < isotonic; isotonic only from
 *     MIN_ISOTONIC_CASES (1,000) cases;
 *  2. repeated stratified k-fold cross-validation (10 repeats of 5 folds, folds dealt from
 *     mulberry32(seed)); each case's loss per method is the mean over repeats of the negative
 *     log-likelihood of its out-of-fold probability (each fold's fit clipped for its own n);
 *  3. the best method has the lowest out-of-fold NLL; NLLs within 1e-9 tie, and a tie goes to the
 *     lower out-of-fold Brier, then to the simpler method;
 *  4. one-standard-error rule: the selected method is the simplest whose out-of-fold NLL exceeds
 *     the best's by at most SE = sd(d) / sqrt(n), d_i = loss_i(method) - loss_i(best), sd with
 *     n - 1 in the denominator.
 *
 * Parity with Python on test/fixtures/recalibration.json: same folds (same generator and
 * dealing), same fits (fit.ts), so the same choice and losses equal to about 1e-10.
 */
import { InputError, show } from '../errors';
import { FITTED_METHODS, fitCalibrator, predictWith, type FitMethod } from './fit';
import { numpyMean, numpySum, requireBothClasses, checkFinite, checkLabels } from './numeric';
import { mulberry32, shuffled } from './random';

export const CV_FOLDS = 5;
export const CV_REPEATS = 10;
export const MIN_ISOTONIC_CASES = 1000;
// Out-of-fold NLLs this close are equal up to the fits' convergence tolerances (calibration.NLL_TIE_TOL).
export const NLL_TIE_TOL = 1e-9;

/** The rule, word for word as the manifest stores it (calibration.SELECTION_RULE). */
export const SELECTION_RULE =
  'lowest out-of-fold NLL over repeated stratified k-fold cross-validation on the calibration split ' +
  '(NLLs within 1e-9 tie: lower out-of-fold Brier, then the simpler method), then the simplest method ' +
  '(none < temperature < platt < isotonic) whose out-of-fold NLL exceeds the best\'s by at most one ' +
  'standard error of the per-case difference; isotonic only with >= 1000 cases';

/** Every candidate, simplest first. */
export const CANDIDATES: readonly FitMethod[] = ['none', ...FITTED_METHODS];

/** One candidate's out-of-fold record (the manifest's selection.oof entry, camel-cased). */
export interface OutOfFold {
  readonly nll: number;
  readonly brier: number;
  readonly nllMinusBest: number;
  readonly seOfDifference: number;
}

export interface OneSeChoice {
  readonly selected: FitMethod;
  readonly best: FitMethod;
  readonly oof: Readonly<Partial<Record<FitMethod, OutOfFold>>>;
}

export interface CvSelection extends OneSeChoice {
  readonly n: number;
  readonly candidates: readonly FitMethod[];
  readonly isotonicAllowed: boolean;
  readonly folds: number;
  readonly repeats: number;
  readonly seed: number;
  /** Each candidate's out-of-fold probabilities of the first repeat: one honest prediction per case, for the report's diagrams. */
  readonly firstRepeat: Readonly<Partial<Record<FitMethod, Float64Array>>>;
  /** Warnings of the fold fits (separable folds for Platt), once each. */
  readonly warnings: readonly string[];
}

export interface SelectOptions {
  readonly folds?: number;
  readonly repeats?: number;
  readonly seed?: number;
  readonly minIsotonicCases?: number;
}

/**
 * Fold numbers (0..k-1), one row per repeat, stratified by class (mulberry.repeated_stratified_folds):
 * one mulberry32(seed) serves every repeat in turn; within a repeat, for the negatives then the
 * positives, the cases of that class in their given order are shuffled and dealt round-robin.
 */
export function repeatedStratifiedFolds(labels: ArrayLike<number>, k: number, repeats: number, seed: number): number[][] {
  const random = mulberry32(seed);
  const rows: number[][] = [];
  for (let r = 0; r < repeats; r++) {
    const fold = new Array<number>(labels.length);
    for (const label of [0, 1]) {
      const idx: number[] = [];
      for (let i = 0; i < labels.length; i++) if (labels[i] === label) idx.push(i);
      shuffled(idx, random).forEach((i, pos) => {
        fold[i] = pos % k;
      });
    }
    rows.push(fold);
  }
  return rows;
}

/** np.std(d, ddof=1): mean by pairwise summation, then the pairwise sum of squared deviations. */
function sampleSd(d: Float64Array): number {
  const mean = numpyMean(d);
  const sq = new Float64Array(d.length);
  for (let i = 0; i < d.length; i++) {
    const dev = d[i] - mean;
    sq[i] = dev * dev;
  }
  return Math.sqrt(numpySum(sq) / (d.length - 1));
}

/** Steps 3 and 4 on per-case out-of-fold losses, candidates in the order given (simplest first). */
export function oneSeChoice(nllPerCase: Readonly<Partial<Record<FitMethod, ArrayLike<number>>>>, sqPerCase: Readonly<Partial<Record<FitMethod, ArrayLike<number>>>>): OneSeChoice {
  const candidates = CANDIDATES.filter((m) => nllPerCase[m] !== undefined);
  if (!candidates.length || candidates.some((m) => sqPerCase[m] === undefined)) {
    throw new InputError(`need the same non-empty candidates for NLL and Brier, got ${show(Object.keys(nllPerCase))} and ${show(Object.keys(sqPerCase))}`);
  }
  const loss = Object.fromEntries(candidates.map((m) => [m, Float64Array.from(nllPerCase[m] as ArrayLike<number>)])) as Record<FitMethod, Float64Array>;
  const n = loss[candidates[0]].length;
  const meanNll = Object.fromEntries(candidates.map((m) => [m, numpyMean(loss[m])])) as Record<FitMethod, number>;
  const meanBrier = Object.fromEntries(candidates.map((m) => [m, numpyMean(Float64Array.from(sqPerCase[m] as ArrayLike<number>))])) as Record<FitMethod, number>;
  const lowest = Math.min(...candidates.map((m) => meanNll[m]));
  const tied = candidates.filter((m) => meanNll[m] <= lowest + NLL_TIE_TOL);
  const lowestBrier = Math.min(...tied.map((m) => meanBrier[m]));
  const best = tied.find((m) => meanBrier[m] <= lowestBrier) as FitMethod;

  const oof: Partial<Record<FitMethod, OutOfFold>> = {};
  let selected: FitMethod | undefined;
  for (const m of candidates) {
    const d = new Float64Array(n);
    for (let i = 0; i < n; i++) d[i] = loss[m][i] - loss[best][i];
    const diff = numpyMean(d);
    const se = n > 1 ? sampleSd(d) / Math.sqrt(n) : 0;
    oof[m] = { nll: meanNll[m], brier: meanBrier[m], nllMinusBest: diff, seOfDifference: se };
    if (selected === undefined && diff <= se) selected = m;
  }
  // best itself has difference 0 <= SE, so selected is always set.
  return { selected: selected as FitMethod, best, oof };
}

function count(v: number, what: string, minimum: number): number {
  if (!Number.isInteger(v) || v < minimum) throw new InputError(`${what} must be an integer >= ${minimum}, got ${show(v)}`);
  return v;
}

/** Choose a calibrator for logits z and labels y by the rule in the module comment. */
export function selectByCv(logits: ArrayLike<number>, labels: ArrayLike<number>, options: SelectOptions = {}): CvSelection {
  const k = count(options.folds ?? CV_FOLDS, 'folds', 2);
  const r = count(options.repeats ?? CV_REPEATS, 'repeats', 1);
  const seed = options.seed ?? 0;
  const minIsotonic = options.minIsotonicCases ?? MIN_ISOTONIC_CASES;
  if (logits.length !== labels.length) throw new InputError(`logits have ${logits.length} values but labels have ${labels.length}`);
  checkFinite(logits, 'logits');
  checkLabels(labels, 'labels');
  requireBothClasses(labels, 'selecting a calibrator');
  const n = logits.length;
  let nPos = 0;
  for (let i = 0; i < n; i++) nPos += labels[i];
  const smaller = Math.min(nPos, n - nPos);
  if (smaller < 2) {
    throw new InputError(
      `selecting a calibrator by cross-validation needs at least 2 cases of each class, but the split has ${smaller} of one class (n=${n}): every fold's fitting part must hold both`,
    );
  }
  const candidates = CANDIDATES.filter((m) => m !== 'isotonic' || n >= minIsotonic);
  const rows = repeatedStratifiedFolds(labels, k, r, seed);
  const loss = Object.fromEntries(candidates.map((m) => [m, new Float64Array(n)])) as Record<FitMethod, Float64Array>;
  const sq = Object.fromEntries(candidates.map((m) => [m, new Float64Array(n)])) as Record<FitMethod, Float64Array>;
  const firstRepeat = Object.fromEntries(candidates.map((m) => [m, new Float64Array(n)])) as Record<FitMethod, Float64Array>;
  const warnings = new Set<string>();
  rows.forEach((fold, rep) => {
    for (let f = 0; f < k; f++) {
      const held: number[] = [];
      const fitIdx: number[] = [];
      for (let i = 0; i < n; i++) (fold[i] === f ? held : fitIdx).push(i);
      if (!held.length) continue;
      const zf = fitIdx.map((i) => logits[i]);
      const yf = fitIdx.map((i) => labels[i]);
      const zh = held.map((i) => logits[i]);
      for (const m of candidates) {
        const fit = fitCalibrator(m, zf, yf);
        for (const w of fit.warnings) warnings.add(`${m} on some cross-validation folds: ${w.replace(/ \(a = .*$| stopped at .*$/, '')}`);
        const p = predictWith(fit, zh);
        held.forEach((i, j) => {
          const y = labels[i];
          loss[m][i] += -(y * Math.log(p[j]) + (1 - y) * Math.log1p(-p[j]));
          sq[m][i] += (p[j] - y) ** 2;
          if (rep === 0) firstRepeat[m][i] = p[j];
        });
      }
    }
  });
  for (const m of candidates) {
    for (let i = 0; i < n; i++) {
      loss[m][i] /= r;
      sq[m][i] /= r;
    }
  }
  return {
    ...oneSeChoice(loss, sq),
    n,
    candidates,
    isotonicAllowed: candidates.includes('isotonic'),
    folds: k,
    repeats: r,
    seed,
    firstRepeat,
    warnings: [...warnings],
  };
}
