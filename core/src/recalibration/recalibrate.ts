/**
 * A site recalibration: fit temperature, Platt and isotonic on a local labelled cohort, compare
 * them with each other and with the deployed calibration on data they were not fitted on, pick
 * one as training/chestaid_train/calibration.select_lowest_ece does, refit it on the whole cohort
 * and choose the threshold for the target sensitivity.
 *
 * Evaluation scheme (stated in every report):
 *   - n >= minHoldoutCohort (200): one seeded, class-stratified split into a fit part and a
 *     held-out part (holdoutFraction 0.5 held out, as training's calib / val_report halves);
 *   - smaller cohorts: seeded, class-stratified k-fold cross-validation (k = 5); each method's
 *     out-of-fold predictions are pooled and scored once over the whole cohort.
 * The split depends on the set of image keys and the seed, not on the order items arrive in.
 * Final parameters of every method are refitted on the whole cleaned cohort; the threshold is
 * chosen on the whole cohort's probabilities under the refitted, selected calibrator.
 */
import { calibrateWith, type CalibrationSection, type IsotonicParams, type PlattParams, type TemperatureParams } from '../calibration';
import { InputError, show } from '../errors';
import type { Manifest } from '../manifest';
import { checkCohort, RefusalError, type CohortExclusions, type CohortItem, type CohortMinimums, type UsableItem } from './cohort';
import { FITTED_METHODS, fitCalibrator, predictWith, type FitMethod, type FittedCalibrator } from './fit';
import {
  confusionAt,
  DEFAULT_N_BINS,
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
import { mulberry32, shuffled } from './random';
import { bootstrapThreshold, THRESHOLD_RULE, type ThresholdEstimate } from './threshold';

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
  /** Seed of the split, folds and bootstrap (default 0). */
  readonly seed?: number;
  /** ECE / reliability bins (default 15). */
  readonly nBins?: number;
  /** Bootstrap replicates for the threshold intervals (default 1000). */
  readonly nBoot?: number;
  /** Cohorts at least this large use a held-out split, smaller ones k-fold CV (default 200). */
  readonly minHoldoutCohort?: number;
  /** Fraction held out in the split scheme (default 0.5). */
  readonly holdoutFraction?: number;
  /** k of the cross-validation scheme (default 5). */
  readonly folds?: number;
  /** Overrides of the cohort minimums (defaults 100 cases, 20 per class). */
  readonly minimums?: Partial<CohortMinimums>;
}

/** How the methods were compared, in words and numbers, for the report and the audit log. */
export type EvaluationScheme =
  | { readonly kind: 'holdout'; readonly nFit: number; readonly nHeldOut: number; readonly seed: number; readonly description: string }
  | { readonly kind: 'cross-validation'; readonly folds: number; readonly nHeldOut: number; readonly seed: number; readonly description: string };

/** A candidate's held-out predictions, scored: metrics, reliability diagram and ROC. */
export interface MethodEvaluation {
  readonly metrics: CalibrationMetricSet;
  readonly reliability: readonly ReliabilityBin[];
  readonly roc: RocCurve;
}

/** Every candidate on held-out data: the deployed calibration, the raw sigmoid and the three fits. */
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
    readonly selected: Exclude<FitMethod, 'none'>;
    readonly selection: { readonly metric: 'ece'; readonly split: string; readonly n_bins: number; readonly binning: 'equal-width' };
    readonly methods: {
      readonly none: { readonly params: Record<string, never>; readonly metrics: ManifestMetrics };
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
  readonly selected: Exclude<FitMethod, 'none'>;
  /** The selected method's held-out ECE is below the deployed calibration's. */
  readonly improvesOnCurrent: boolean;
  /** Every method refitted on the whole cohort (the selected one is what gets deployed). */
  readonly fitted: FittedSet;
  readonly threshold: ThresholdEstimate;
  readonly before: OperatingSide;
  readonly after: OperatingSide & { readonly confusionAtCurrentThreshold: Confusion };
  readonly manifest: ManifestUpdate;
  readonly warnings: readonly string[];
}

const ALL_METHODS: readonly FitMethod[] = ['none', ...FITTED_METHODS];

// ECEs this close are equal up to summation order (calibration._ECE_TIE_TOL).
const ECE_TIE_TOL = 1e-12;

/**
 * The fitted method with the lowest ECE; ties within 1e-12 go to the simpler one (temperature <
 * platt < isotonic), exactly calibration.select_lowest_ece. Brier is reported, not used to break
 * ties, as in Python.
 */
export function selectLowestEce(eces: Partial<Record<Exclude<FitMethod, 'none'>, number>>): Exclude<FitMethod, 'none'> {
  const entries = FITTED_METHODS.filter((m) => eces[m] !== undefined);
  if (!entries.length) throw new InputError('no candidate methods to select from');
  for (const m of entries) {
    if (!Number.isFinite(eces[m])) throw new InputError(`ECE of ${m} = ${show(eces[m])} is not a finite number`);
  }
  const best = Math.min(...entries.map((m) => eces[m] as number));
  return entries.find((m) => (eces[m] as number) <= best + ECE_TIE_TOL) as Exclude<FitMethod, 'none'>;
}

/** Canonical text of a cleaned cohort (sorted "key,label,logit" lines) for hashing in the audit log. */
export function canonicalCohort(items: readonly UsableItem[]): string {
  return items
    .map((it) => `${it.key},${it.label},${it.logit}`)
    .sort()
    .join('\n');
}

/** Stratified fold number (0..k-1) per item, seeded and independent of input order. */
export function stratifiedFolds(items: readonly UsableItem[], k: number, seed: number): number[] {
  const random = mulberry32(seed);
  const fold = new Array<number>(items.length);
  for (const label of [0, 1] as const) {
    const idx = items.map((it, i) => ({ it, i })).filter(({ it }) => it.label === label);
    idx.sort((a, b) => (a.it.key < b.it.key ? -1 : a.it.key > b.it.key ? 1 : 0));
    shuffled(idx, random).forEach(({ i }, pos) => {
      fold[i] = pos % k;
    });
  }
  return fold;
}

/** Seeded stratified split: true for held-out items, about `fraction` of each class. */
export function stratifiedHoldout(items: readonly UsableItem[], fraction: number, seed: number): boolean[] {
  const random = mulberry32(seed);
  const heldOut = new Array<boolean>(items.length).fill(false);
  for (const label of [0, 1] as const) {
    const idx = items.map((it, i) => ({ it, i })).filter(({ it }) => it.label === label);
    idx.sort((a, b) => (a.it.key < b.it.key ? -1 : a.it.key > b.it.key ? 1 : 0));
    const nOut = Math.round(idx.length * fraction);
    shuffled(idx, random)
      .slice(0, nOut)
      .forEach(({ i }) => {
        heldOut[i] = true;
      });
  }
  return heldOut;
}

function evaluate(y: ArrayLike<number>, p: ArrayLike<number>, nBins: number): MethodEvaluation {
  return { metrics: summarize(y, p, nBins), reliability: reliabilityBins(y, p, nBins), roc: rocCurve(y, p) };
}

function predictCurrent(section: CalibrationSection, logits: ArrayLike<number>): Float64Array {
  const out = new Float64Array(logits.length);
  for (let i = 0; i < logits.length; i++) out[i] = calibrateWith(section.selected, logits[i], section);
  return out;
}

function manifestMetrics(m: CalibrationMetricSet): ManifestMetrics {
  return { ece: m.ece, brier: m.brier, nll: m.nll, roc_auc: m.rocAuc, n: m.n };
}

/**
 * Recalibrates on a local cohort (see the module comment for the scheme). Throws RefusalError
 * with every reason when checkCohort refuses the cohort, InputError for bad options.
 */
export function recalibrate(cohort: readonly CohortItem[], options: RecalibrationOptions): RecalibrationReport {
  const seed = options.seed ?? 0;
  const nBins = options.nBins ?? DEFAULT_N_BINS;
  const target = options.targetSensitivity ?? 0.9;
  const minHoldout = options.minHoldoutCohort ?? 200;
  const fraction = options.holdoutFraction ?? 0.5;
  const k = options.folds ?? 5;
  if (!options.current || !options.current.methods) throw new InputError(`options.current must be the deployed calibration section, got ${show(options.current)}`);
  if (!(options.currentThreshold >= 0 && options.currentThreshold <= 1)) {
    throw new InputError(`options.currentThreshold = ${show(options.currentThreshold)} is not a probability in [0, 1]`);
  }
  if (!(fraction > 0 && fraction < 1)) throw new InputError(`holdoutFraction = ${show(fraction)} is not in (0, 1)`);
  if (!Number.isInteger(k) || k < 2) throw new InputError(`folds = ${show(k)} must be an integer >= 2`);

  const check = checkCohort(cohort, { modelSha256: options.modelSha256, minimums: options.minimums });
  if (!check.ok) throw new RefusalError(check.reasons);
  // Key order, not arrival order: the same cohort then gives the same sums to the last bit.
  const items = [...check.items].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const z = Float64Array.from(items, (it) => it.logit);
  const y = Float64Array.from(items, (it) => it.label);
  const warnings: string[] = [];

  // Held-out predictions of every method: from the held-out part, or pooled out-of-fold.
  let scheme: EvaluationScheme;
  let evalIdx: number[];
  const heldOutP: Record<FitMethod, Float64Array> = {} as Record<FitMethod, Float64Array>;
  if (items.length >= minHoldout) {
    const out = stratifiedHoldout(items, fraction, seed);
    const fitIdx = items.map((_, i) => i).filter((i) => !out[i]);
    evalIdx = items.map((_, i) => i).filter((i) => out[i]);
    const zf = fitIdx.map((i) => z[i]);
    const yf = fitIdx.map((i) => y[i]);
    const ze = evalIdx.map((i) => z[i]);
    for (const m of ALL_METHODS) {
      const fit = fitCalibrator(m, zf, yf);
      warnings.push(...fit.warnings.map((w) => `${m} on the fit part: ${w}`));
      heldOutP[m] = predictWith(fit, ze);
    }
    scheme = {
      kind: 'holdout',
      nFit: fitIdx.length,
      nHeldOut: evalIdx.length,
      seed,
      description: `fitted on ${fitIdx.length} cases, compared on ${evalIdx.length} held out (stratified by class, seed ${seed})`,
    };
  } else {
    const fold = stratifiedFolds(items, k, seed);
    evalIdx = items.map((_, i) => i);
    for (const m of ALL_METHODS) heldOutP[m] = new Float64Array(items.length);
    for (let f = 0; f < k; f++) {
      const fitIdx = evalIdx.filter((i) => fold[i] !== f);
      const testIdx = evalIdx.filter((i) => fold[i] === f);
      const zf = fitIdx.map((i) => z[i]);
      const yf = fitIdx.map((i) => y[i]);
      const zt = testIdx.map((i) => z[i]);
      for (const m of ALL_METHODS) {
        const fit = fitCalibrator(m, zf, yf);
        warnings.push(...fit.warnings.map((w) => `${m} on fold ${f + 1}/${k}: ${w}`));
        const p = predictWith(fit, zt);
        testIdx.forEach((i, j) => {
          heldOutP[m][i] = p[j];
        });
      }
    }
    scheme = {
      kind: 'cross-validation',
      folds: k,
      nHeldOut: items.length,
      seed,
      description: `${k}-fold cross-validation stratified by class (seed ${seed}), out-of-fold predictions of all ${items.length} cases pooled (cohort under ${minHoldout})`,
    };
  }
  const yEval = evalIdx.map((i) => y[i]);
  const zEval = evalIdx.map((i) => z[i]);
  const currentHeldOut = predictCurrent(options.current, zEval);
  const candidates = { current: evaluate(yEval, currentHeldOut, nBins) } as Record<'current' | FitMethod, MethodEvaluation>;
  for (const m of ALL_METHODS) candidates[m] = evaluate(yEval, heldOutP[m], nBins);

  const selected = selectLowestEce({
    temperature: candidates.temperature.metrics.ece,
    platt: candidates.platt.metrics.ece,
    isotonic: candidates.isotonic.metrics.ece,
  });

  const fitted: FittedSet = {
    none: fitCalibrator('none', z, y),
    temperature: fitCalibrator('temperature', z, y),
    platt: fitCalibrator('platt', z, y),
    isotonic: fitCalibrator('isotonic', z, y),
  };
  for (const m of ALL_METHODS) warnings.push(...fitted[m].warnings.map((w) => `${m} on the whole cohort: ${w}`));

  const pAfter = predictWith(fitted[selected], z);
  const pBefore = predictCurrent(options.current, z);
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

  const split = scheme.kind === 'holdout' ? 'site-holdout' : `site-cv-${k}fold`;
  const manifest: ManifestUpdate = {
    calibration: {
      input: 'logit',
      selected,
      selection: { metric: 'ece', split, n_bins: nBins, binning: 'equal-width' },
      methods: {
        none: { params: {}, metrics: manifestMetrics(candidates.none.metrics) },
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
        at_threshold: {
          threshold: newT,
          n: items.length,
          n_pos: check.nPos,
          confusion: { tn: afterConfusion.tn, fp: afterConfusion.fp, fn: afterConfusion.fn, tp: afterConfusion.tp },
          sensitivity: { value: threshold.sensitivity.value, ci_low: threshold.sensitivity.low, ci_high: threshold.sensitivity.high },
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
    selected,
    improvesOnCurrent: candidates[selected].metrics.ece < candidates.current.metrics.ece,
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
  };
}
