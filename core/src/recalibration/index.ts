/**
 * Site recalibration and monitoring maths (issue 8): fitting calibrators on a local cohort with
 * the same numbers as training/chestaid_train, metrics, the threshold rule with bootstrap
 * intervals, refusal rules, and the monitoring statistics. Pure: no framework imports.
 */
export { mulberry32, type Random } from './random';
export { type Label } from './numeric';
export {
  fitCalibrator,
  predictWith,
  brentBounded,
  fitIsotonic,
  FITTED_METHODS,
  type FitMethod,
  type CalibratorParams,
  type FittedCalibrator,
} from './fit';
export {
  expectedCalibrationError,
  brierScore,
  negativeLogLikelihood,
  reliabilityBins,
  rocCurve,
  rocAuc,
  averagePrecision,
  confusionAt,
  rates,
  summarize,
  expectedEceIfCalibrated,
  DEFAULT_N_BINS,
  type ReliabilityBin,
  type RocPoint,
  type RocCurve,
  type Confusion,
  type Rates,
  type CalibrationMetricSet,
} from './metrics';
export {
  thresholdForSensitivity,
  thresholdWithProvenSensitivity,
  minFlaggedToProve,
  clopperPearsonLower,
  clopperPearsonInterval,
  positivesNeeded,
  sensitivityExact,
  bootstrapThreshold,
  THRESHOLD_RULE,
  POINT_THRESHOLD_RULE,
  PROOF_LEVEL,
  type ExactSensitivity,
  type ProvenThreshold,
  type BootstrapInterval,
  type BootstrapOptions,
  type ThresholdEstimate,
} from './threshold';
export {
  checkCohort,
  RefusalError,
  DEFAULT_MINIMUMS,
  type CohortItem,
  type CohortLabel,
  type UsableItem,
  type CohortMinimums,
  type CohortCheckOptions,
  type CohortExclusions,
  type CohortCheck,
} from './cohort';
export { betaQuantile, ibeta, lnGamma } from './beta';
export {
  selectByCv,
  oneSeChoice,
  repeatedStratifiedFolds,
  CANDIDATES,
  CV_FOLDS,
  CV_REPEATS,
  MIN_ISOTONIC_CASES,
  SELECTION_RULE,
  type CvSelection,
  type OneSeChoice,
  type OutOfFold,
  type SelectOptions,
} from './select';
export {
  recalibrate,
  provableTargetProblem,
  canonicalCohort,
  type RecalibrationOptions,
  type RecalibrationReport,
  type EvaluationScheme,
  type MethodEvaluation,
  type Candidates,
  type FittedSet,
  type OperatingSide,
  type ManifestUpdate,
  type ManifestMetrics,
} from './recalibrate';
export {
  monitoringSummary,
  wilsonInterval,
  populationStabilityIndex,
  toCsv,
  PSI_MODERATE,
  PSI_WARNING,
  PSI_EPSILON,
  type FeedbackRow,
  type BucketSize,
  type Proportion,
  type MonitoringBucket,
  type MonitoringSummary,
  type ReferenceDistribution,
  type DriftLevel,
  type PsiResult,
  type CsvValue,
} from './monitoring';
// Shared by the recalibration pages and the CLI: cohort files, the report as text and as a
// calibration overlay, and the words and numbers they print.
export * from './cohortCsv';
export * from './reportText';
export * from './toOverlay';
export * from './format';
