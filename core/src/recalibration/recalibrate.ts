/**
 * A site recalibration: choose a calibrator on a local labelled cohort by the rule of training
 * (select.ts: out-of-fold NLL of 10 x stratified 5-fold cross-validation, one-standard-error rule,
 * isotonic only from 1,000 cases), refit every method on the whole cohort, and choose the
 * threshold by training's rule (threshold.ts: the highest whose one-sided 95 % Clopper-Pearson
 * lower bound on sensitivity reaches the target).
 *
 * Refused (RefusalError, every reason) when checkCohort refuses the cohort, or when it has fewer
 * positives than proving the target needs: the smallest n_pos whose lower bound at perfect
 * sensitivity, 0.05^(1/n_pos), reaches the target (29 for 0.90). The report says how many.
 *
 * What the report shows of each method is its out-of-fold predictions of the first repeat (every
 * case predicted once by a fit that did not see it); the deployed calibration is scored on the
 * whole cohort, which it was not fitted on. The folds depend on the set of image keys and the
 * seed, not on the order items arrive in. The threshold is chosen on the whole cohort's
 * probabilities under the refitted, selected calibrator.
 */
import { calibrateWith, type CalibrationSection, type IsotonicParams, type NoneParams, type PlattParams, type TemperatureParams } from '../calibration';
import { InputError, show } from '../errors';
import type { Manifest } from '../manifest';
import { checkCohort, RefusalError, type CohortExclusions, type CohortItem, type CohortMinimums, type UsableItem } from './cohort';
import { fitCalibrator, predictWith, type FitMethod, type FittedCalibrator } from './fit';
import {
  confusionAt,
  DEFAULT_N_BINS,
  expectedEceIfCalibrated,
  rates,
  reliabilityBins,
  rocCurve,
  summarize,
  type CalibrationMetricSet,
  type Confusion,
  type Rates,
  type ReliabilityBin,
  type RocCurve,
} from './metrics';
import { CANDIDATES, CV_FOLDS, CV_REPEATS, MIN_ISOTONIC_CASES, repeatedStratifiedFolds, selectByCv, SELECTION_RULE, type CvSelection } from './select';
import { bootstrapThreshold, positivesNeeded, PROOF_LEVEL, THRESHOLD_RULE, type ThresholdEstimate } from './threshold';

/** Options of recalibrate; only the deployed calibration and threshold are required. */
export interface RecalibrationOptions {
  /** The deployed manifest's calibration section (the "before"). */
  readonly current: CalibrationSection;
  /** The deployed clinical threshold (manifest thresholds.clinical.value). */
  readonly currentThreshold: number;
  /** Target sensitivity for the new threshold (default 0.9, as training). */
  readonly targetSensitivity?: number;
  /** The deployed ONNX sha256; items scored by another model refuse the cohort. */
  readonly modelSha256?: string;
  /** Seed of the folds and bootstrap (default 0). */
  readonly seed?: number;
  /** ECE / reliability bins (default 15). */
  readonly nBins?: number;
  /** Bootstrap replicates for the threshold intervals (default 1000). */
  readonly nBoot?: number;
  /** k of the cross-validation (default 5). */
  readonly folds?: number;
  /** Repeats of the cross-validation (default 10). */
  readonly repeats?: number;
  /** Overrides of the cohort minimums (defaults 100 cases, 20 per class). */
  readonly minimums?: Partial<CohortMinimums>;
}

/** How the methods were compared, in words and numbers, for the report and the audit log. */
export interface EvaluationScheme {
  readonly kind: 'cross-validation';
  readonly folds: number;
  readonly repeats: number;
  readonly nHeldOut: number;
  readonly seed: number;
  readonly description: string;
}

/** A candidate's held-out predictions, scored: metrics, reliability diagram and ROC. */
export interface MethodEvaluation {
  readonly metrics: CalibrationMetricSet;
  readonly reliability: readonly ReliabilityBin[];
  readonly roc: RocCurve;
}

/** Every method on data it was not fitted on: the deployed calibration, the raw sigmoid and the three fits. */
export type Candidates = Readonly<Record<'current' | FitMethod, MethodEvaluation>>;

/** One side of the before/after comparison. */
export interface OperatingSide {
  /** The calibration method of this side. */
  readonly method: FitMethod;
  readonly threshold: number;
  /** Held-out calibration metrics, reliability and ROC of this side's calibration. */
  readonly heldOut: MethodEvaluation;
  /** Confusion at this side's threshold over the whole cleaned cohort. */
  readonly confusion: Confusion;
  readonly rates: Rates;
}

/** The manifest sections a recalibration produces (the caller adds calibration.version). */
export interface ManifestUpdate {
  readonly calibration: {
    readonly input: 'logit';
    readonly selected: FitMethod;
    readonly selection: {
      readonly metric: 'oof_nll';
      readonly split: string;
      readonly rule: string;
      readonly cv: { readonly folds: number; readonly repeats: number; readonly seed: number; readonly stratified: true; readonly generator: 'mulberry32' };
      readonly tie_break: 'brier';
      readonly best: FitMethod;
      readonly isotonic_min_cases: number;
      readonly isotonic_allowed: boolean;
      readonly n: number;
      readonly oof: Readonly<Partial<Record<FitMethod, { readonly nll: number; readonly brier: number; readonly nll_minus_best: number; readonly se_of_difference: number }>>>;
      readonly n_bins: number;
      readonly binning: 'equal-width';
    };
    readonly methods: {
      readonly none: { readonly params: NoneParams; readonly metrics: ManifestMetrics };
      readonly temperature: { readonly params: TemperatureParams; readonly metrics: ManifestMetrics };
      readonly platt: { readonly params: PlattParams; readonly metrics: ManifestMetrics };
      readonly isotonic: { readonly params: IsotonicParams; readonly metrics: ManifestMetrics };
    };
  };
  /** The manifest's own thresholds section, written back whole. */
  readonly thresholds: Manifest['thresholds'];
}

/** Per-method metrics in the manifest's snake_case shape. */
export interface ManifestMetrics {
  readonly ece: number;
  readonly ece_if_calibrated?: number;
  readonly brier: number;
  readonly nll: number;
  readonly roc_auc: number | null;
  readonly n: number;
}

/** Every method fitted on the whole cohort, each with its own parameter type. */
export type FittedSet = { readonly [M in FitMethod]: Extract<FittedCalibrator, { method: M }> };

/** Everything a recalibration found: the UI draws before/after from it, the audit log stores it. */
export interface RecalibrationReport {
  readonly cohort: { readonly n: number; readonly nPos: number; readonly nNeg: number; readonly excluded: CohortExclusions; readonly canonical: string };
  readonly scheme: EvaluationScheme;
  readonly candidates: Candidates;
  /** The cross-validated choice: out-of-fold NLL and Brier of each candidate, the best, the selected. */
  readonly selection: CvSelection;
  readonly selected: FitMethod;
  /** The selected method's out-of-fold NLL (a proper score) is below the deployed calibration's on the cohort. */
  readonly improvesOnCurrent: boolean;
  /** Every method refitted on the whole cohort (the selected one is what gets deployed). */
  readonly fitted: FittedSet;
  readonly threshold: ThresholdEstimate;
  readonly before: OperatingSide;
  readonly after: OperatingSide & { readonly confusionAtCurrentThreshold: Confusion };
  readonly manifest: ManifestUpdate;
  readonly warnings: readonly string[];
}

const ALL_METHODS: readonly FitMethod[] = CANDIDATES;

/** Canonical text of a cleaned cohort (sorted "key,label,logit" lines) for hashing in the audit log. */
export function canonicalCohort(items: readonly UsableItem[]): string {
  return items
    .map((it) => `${it.key},${it.label},${it.logit}`)
    .sort()
    .join('\n');
}

function evaluate(y: ArrayLike<number>, p: ArrayLike<number>, nBins: number): MethodEvaluation {
  return { metrics: summarize(y, p, nBins), reliability: reliabilityBins(y, p, nBins), roc: rocCurve(y, p) };
}

/** The evaluation with the ECE a perfectly calibrated score would show beside its ECE (1,000 draws). */
function withEceFloor(e: MethodEvaluation, p: ArrayLike<number>, nBins: number, seed: number): MethodEvaluation {
  return { ...e, metrics: { ...e.metrics, eceIfCalibrated: expectedEceIfCalibrated(p, nBins, 1000, seed) } };
}

function predictCurrent(section: CalibrationSection, logits: ArrayLike<number>): Float64Array {
  const out = new Float64Array(logits.length);
  for (let i = 0; i < logits.length; i++) out[i] = calibrateWith(section.selected, logits[i], section);
  return out;
}

function manifestMetrics(m: CalibrationMetricSet): ManifestMetrics {
  return { ece: m.ece, ...(m.eceIfCalibrated === undefined ? {} : { ece_if_calibrated: m.eceIfCalibrated }), brier: m.brier, nll: m.nll, roc_auc: m.rocAuc, n: m.n };
}

/** The refusal reason of a cohort with too few positives to prove the target, or null. */
export function provableTargetProblem(nPos: number, target: number): string | null {
  const needed = positivesNeeded(target, PROOF_LEVEL);
  if (nPos >= needed) return null;
  return (
    `${nPos} pneumonia cases cannot prove a sensitivity of ${target} at ${Math.round(PROOF_LEVEL * 100)} % confidence: ` +
    `at least ${needed} are needed (the smallest count whose one-sided Clopper-Pearson lower bound at perfect sensitivity, ` +
    `${1 - PROOF_LEVEL}^(1/n), reaches ${target}); add ${needed - nPos} more`
  );
}

/**
 * Recalibrates on a local cohort (see the module comment). Throws RefusalError with every reason
 * when checkCohort refuses the cohort or it has too few positives to prove the target,
 * InputError for bad options.
 */
export function recalibrate(cohort: readonly CohortItem[], options: RecalibrationOptions): RecalibrationReport {
  const seed = options.seed ?? 0;
  const nBins = options.nBins ?? DEFAULT_N_BINS;
  const target = options.targetSensitivity ?? 0.9;
  const k = options.folds ?? CV_FOLDS;
  const repeats = options.repeats ?? CV_REPEATS;
  if (!options.current || !options.current.methods) throw new InputError(`options.current must be the deployed calibration section, got ${show(options.current)}`);
  if (!(options.currentThreshold >= 0 && options.currentThreshold <= 1)) {
    throw new InputError(`options.currentThreshold = ${show(options.currentThreshold)} is not a probability in [0, 1]`);
  }
  if (!Number.isInteger(k) || k < 2) throw new InputError(`folds = ${show(k)} must be an integer >= 2`);
  if (!Number.isInteger(repeats) || repeats < 1) throw new InputError(`repeats = ${show(repeats)} must be an integer >= 1`);
  if (!(target > 0 && target < 1)) throw new InputError(`targetSensitivity = ${show(target)} is not in (0, 1): a sensitivity of 1 cannot be proven`);

  const check = checkCohort(cohort, { modelSha256: options.modelSha256, minimums: options.minimums });
  if (!check.ok) throw new RefusalError(check.reasons);
  const tooFew = provableTargetProblem(check.nPos, target);
  if (tooFew) throw new RefusalError([tooFew]);
  // Key order, not arrival order: the same cohort then gives the same folds and sums to the last bit.
  const items = [...check.items].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const z = Float64Array.from(items, (it) => it.logit);
  const y = Float64Array.from(items, (it) => it.label);
  const warnings: string[] = [];

  const selection = selectByCv(z, y, { folds: k, repeats, seed });
  warnings.push(...selection.warnings);
  const outOfFold: Record<FitMethod, Float64Array> = { ...selection.firstRepeat } as Record<FitMethod, Float64Array>;
  if (!outOfFold.isotonic) {
    // Not a candidate under 1,000 cases, but still shown: its first-repeat out-of-fold predictions on the same folds.
    const fold = repeatedStratifiedFolds(y, k, 1, seed)[0];
    const p = new Float64Array(items.length);
    for (let f = 0; f < k; f++) {
      const fitIdx = items.map((_, i) => i).filter((i) => fold[i] !== f);
      const held = items.map((_, i) => i).filter((i) => fold[i] === f);
      if (!held.length) continue;
      const q = predictWith(fitCalibrator('isotonic', fitIdx.map((i) => z[i]), fitIdx.map((i) => y[i])), held.map((i) => z[i]));
      held.forEach((i, j) => {
        p[i] = q[j];
      });
    }
    outOfFold.isotonic = p;
  }
  const scheme: EvaluationScheme = {
    kind: 'cross-validation',
    folds: k,
    repeats,
    nHeldOut: items.length,
    seed,
    description:
      `${repeats} x stratified ${k}-fold cross-validation (seed ${seed}) on all ${items.length} cases, chosen by out-of-fold log loss ` +
      `with the one-standard-error rule${selection.isotonicAllowed ? '' : `; isotonic shown but not a candidate (under ${MIN_ISOTONIC_CASES} cases)`}; ` +
      'metrics and diagrams from the first repeat\'s out-of-fold predictions',
  };
  const pCurrent = predictCurrent(options.current, z);
  const selected = selection.selected;
  // The ECE floor (a simulation) for the two sides compared, before and after, not for every method.
  const candidates = { current: withEceFloor(evaluate(y, pCurrent, nBins), pCurrent, nBins, seed) } as Record<'current' | FitMethod, MethodEvaluation>;
  for (const m of ALL_METHODS) {
    const e = evaluate(y, outOfFold[m], nBins);
    candidates[m] = m === selected ? withEceFloor(e, outOfFold[m], nBins, seed) : e;
  }

  const fitted: FittedSet = {
    none: fitCalibrator('none', z, y),
    temperature: fitCalibrator('temperature', z, y),
    platt: fitCalibrator('platt', z, y),
    isotonic: fitCalibrator('isotonic', z, y),
  };
  for (const m of ALL_METHODS) warnings.push(...fitted[m].warnings.map((w) => `${m} on the whole cohort: ${w}`));

  const pAfter = predictWith(fitted[selected], z);
  const pBefore = pCurrent;
  const threshold = bootstrapThreshold(y, pAfter, target, { nBoot: options.nBoot ?? 1000, seed });
  const newT = threshold.threshold.value as number;
  if (threshold.threshold.low === threshold.threshold.high) {
    // Isotonic probabilities are steps: every replicate can land on the same step value.
    warnings.push(
      `the threshold's bootstrap interval has zero width (${newT}): the ${selected} probabilities take few distinct values, ` +
        'so the threshold cannot move between them; the sensitivity and specificity intervals still show the sampling uncertainty',
    );
  }
  const beforeConfusion = confusionAt(y, pBefore, options.currentThreshold);
  const afterConfusion = confusionAt(y, pAfter, newT);
  const oofSnake = Object.fromEntries(
    Object.entries(selection.oof).map(([m, o]) => [m, { nll: o.nll, brier: o.brier, nll_minus_best: o.nllMinusBest, se_of_difference: o.seOfDifference }]),
  );
  const exact = threshold.sensitivityExact;

  const manifest: ManifestUpdate = {
    calibration: {
      input: 'logit',
      selected,
      selection: {
        metric: 'oof_nll',
        split: 'site-cohort',
        rule: SELECTION_RULE,
        cv: { folds: k, repeats, seed, stratified: true, generator: 'mulberry32' },
        tie_break: 'brier',
        best: selection.best,
        isotonic_min_cases: MIN_ISOTONIC_CASES,
        isotonic_allowed: selection.isotonicAllowed,
        n: items.length,
        oof: oofSnake,
        n_bins: nBins,
        binning: 'equal-width',
      },
      methods: {
        none: { params: fitted.none.params, metrics: manifestMetrics(candidates.none.metrics) },
        temperature: { params: fitted.temperature.params, metrics: manifestMetrics(candidates.temperature.metrics) },
        platt: { params: fitted.platt.params, metrics: manifestMetrics(candidates.platt.metrics) },
        isotonic: { params: fitted.isotonic.params, metrics: manifestMetrics(candidates.isotonic.metrics) },
      },
    },
    thresholds: {
      clinical: {
        value: newT,
        rule: THRESHOLD_RULE,
        target_sensitivity: target,
        split: 'site-cohort',
        proven: true,
        proof: {
          level: threshold.proof.level,
          one_sided: true,
          method: 'clopper-pearson',
          lower_bound: threshold.proof.lowerBound,
          flagged_positives: threshold.proof.flaggedPositives,
          n_pos: threshold.proof.nPos,
          positives_needed: threshold.proof.positivesNeeded,
        },
        point_estimate_threshold: threshold.pointEstimateThreshold,
        at_threshold: {
          threshold: newT,
          n: items.length,
          n_pos: check.nPos,
          confusion: { tn: afterConfusion.tn, fp: afterConfusion.fp, fn: afterConfusion.fn, tp: afterConfusion.tp },
          sensitivity: { value: threshold.sensitivity.value, ci_low: threshold.sensitivity.low, ci_high: threshold.sensitivity.high },
          sensitivity_exact: { value: exact.value, ci_low: exact.low, ci_high: exact.high, k: exact.k, n: exact.n, level: exact.level, method: 'clopper-pearson' },
          specificity: { value: threshold.specificity.value, ci_low: threshold.specificity.low, ci_high: threshold.specificity.high },
          threshold_interval: { value: newT, ci_low: threshold.threshold.low, ci_high: threshold.threshold.high },
          bootstrap: {
            n_boot: threshold.bootstrap.nBoot,
            seed: threshold.bootstrap.seed,
            level: threshold.bootstrap.level,
            method: 'percentile',
            resampling: 'stratified by class',
            generator: 'mulberry32',
          },
        },
      },
    },
  };

  return {
    cohort: { n: items.length, nPos: check.nPos, nNeg: check.nNeg, excluded: check.excluded, canonical: canonicalCohort(items) },
    scheme,
    candidates,
    selection,
    selected,
    improvesOnCurrent: candidates[selected].metrics.nll < candidates.current.metrics.nll,
    fitted,
    threshold,
    before: {
      method: options.current.selected,
      threshold: options.currentThreshold,
      heldOut: candidates.current,
      confusion: beforeConfusion,
      rates: rates(beforeConfusion),
    },
    after: {
      method: selected,
      threshold: newT,
      heldOut: candidates[selected],
      confusion: afterConfusion,
      rates: rates(afterConfusion),
      confusionAtCurrentThreshold: confusionAt(y, pAfter, options.currentThreshold),
    },
    manifest,
    warnings,
  }
}
