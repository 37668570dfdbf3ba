/**
 * @chestaid/core: the framework-free code that the viewer, the triage worker and the CLI share:
 * preprocessing, calibration, threshold, CAM maths, the model manifest, the triage rules, site
 * recalibration and the site calibration log, ChestAid's DICOM objects and the DICOMweb client.
 * Nothing here imports React, OHIF, Cornerstone or onnxruntime (.dependency-cruiser.cjs and
 * purity.test.ts enforce it); adapters in the other packages implement the interfaces declared here.
 * Node-only parts are in ./node (`@chestaid/core/node`), test fixtures in ./testing.
 */
export { InputError, ManifestError, messageOf, show } from './errors';
export {
  parseManifest,
  manifestForVariant,
  SUPPORTED_SCHEMA_MAJOR,
  type Manifest,
  type OnnxFile,
  type OnnxVariant,
  type SelfCheckBlock,
  type CalibrationMetrics,
  type Interval,
} from './manifest';
export {
  checkIntendedUse,
  intendedUseOf,
  imageExtent,
  patientAgeOf,
  notAnalyzedText,
  NotAnalyzedError,
  GATE_CODES,
  type ImageAttributes,
  type IntendedUse,
  type IntendedUseAttributes,
  type Refusal,
  type RefusalMessage,
  type PatientAge,
} from './intendedUse';
export {
  paddingRange,
  toUnitGrey,
  unitGreyRows,
  voiLutLinear,
  fullRangeWindow,
  type PixelAttributes,
  type StoredPixels,
  type UnitGreyOptions,
  type VoiWindow,
} from './pixels';
export { resize, resizeRows, BILINEAR, BICUBIC, type GreyImage, type ResampleFilter, type RowSource, type ResizeScratch } from './resize';
export {
  preprocess,
  normalizeInto,
  checkUnitRange,
  inputSpecOf,
  tensorDims,
  Preprocessor,
  type InputSpec,
  type TensorDims,
} from './preprocess';
export {
  sigmoid,
  temperatureScale,
  plattScale,
  isotonicScale,
  noCalibration,
  clipBounds,
  calibrate,
  calibrateWith,
  calibrationProblems,
  CALIBRATION_METHODS,
  type CalibrationMethod,
  type SelectableMethod,
  type CalibrationSection,
  type ClipParams,
  type NoneParams,
  type TemperatureParams,
  type PlattParams,
  type IsotonicParams,
} from './calibration';
export {
  checkInput,
  InputCheck,
  inputDescriptor,
  inputCheckProblems,
  type InputCheckResult,
  type InputCheckSection,
} from './inputCheck';
export { decide, checkThreshold, ABOVE_LABEL, BELOW_LABEL, type Decision } from './threshold';
export { operatingPointAt, type OperatingPoint, type Rate } from './operatingPoint';
export { relu, normalise, upsample, camToHeatmap } from './cam';
export {
  INFERNO,
  ATTENTION_RAMP,
  colourAt,
  rampAt,
  colourNodes,
  opacityNodes,
  cssGradient,
  lightness,
  type Colormap,
  type OpacityRamp,
  type Rgb,
} from './colormap';
export {
  MAX_LAYER_SIDE,
  layerGrid,
  layerPlane,
  layerPlaneOver,
  imageToWorld,
  attentionLayer,
  outlineLayer,
  type ImagePlane,
  type Grid,
  type HeatLayer,
  type HeatmapSink,
} from './heatmapLayer';
export type { Classifier, ClassifierOutput } from './classifier';
export { analyze, type Analysis, type AnalyzeOptions } from './analysis';
export {
  recordKey,
  checkRecord,
  sameModel,
  isCurrent,
  studyStatus,
  compareUsual,
  compareByRisk,
  orderByRisk,
  orderByDate,
  holdOrder,
  remainingMs,
  perMinute,
  GROUP_ORDER,
  type ModelIdentity,
  type ImageIdentity,
  type ResultRecord,
  type RecordKey,
  type StudyStatus,
  type StudyFacts,
  type TriageEntry,
  type TriageGroup,
  type RiskSortEntry,
  type SortDirection,
} from './triage';
export * from './recalibration';
export {
  parseOverlay,
  applyOverlay,
  calibrationOrigin,
  calibrationLabel,
  calibrationName,
  isCalibrationIdentity,
  nextSiteVersion,
  SITE_VERSION,
  SUPPORTED_OVERLAY_MAJOR,
  OVERLAY_SCHEMA_VERSION,
  type CalibrationOverlay,
  type CalibrationOrigin,
  type OverlayMetrics,
  type OverlayParams,
  type ParseOverlayOptions,
} from './siteCalibration/overlay';
export {
  SiteCalibrationLog,
  ConflictError,
  CorruptLogError,
  TornLogError,
  BelowMinimumError,
  unchangedDraft,
  appendConflict,
  type SiteCalibrationStore,
  type CalibrationHistory,
  type ChangeOptions,
} from './siteCalibration/log';
export {
  verifyLog,
  logLines,
  activeVersion,
  headOf,
  sealEntry,
  canonicalJson,
  sha256Hex,
  entryHash,
  overlayHash,
  GENESIS_HASH,
  EMPTY_HEAD,
  type AuditEntry,
  type AuditAction,
  type LogHead,
  type LogCheck,
  type UnreadableEntry,
  type RepairRecord,
} from './siteCalibration/chain';
export {
  UntrustedLogError,
  VolatileHeadMemory,
  headProblem,
  missingLog,
  type TrustedHead,
  type TrustedHeadMemory,
  type UntrustedKind,
} from './siteCalibration/trust';
export {
  checkFeedback,
  currentLabels,
  feedbackConflicts,
  feedbackCohort,
  imageKey,
  GROUND_TRUTHS,
  UNKNOWN_READER,
  type GroundTruth,
  type FeedbackInput,
  type FeedbackEntry,
  type StoredFeedback,
  type FeedbackConflict,
  type FeedbackCohort,
  type FeedbackCohortItem,
  type FeedbackStore,
  type FeedbackSink,
} from './feedback';
export { calibrationHash, calibrationIdentity, withCalibrationIdentity } from './siteCalibration/identity';
export { FeedbackBook, type FeedbackBookOptions, type Recorded } from './siteCalibration/feedbackBook';
export {
  FeedbackOutbox,
  OutboxRunner,
  OUTBOX_BACKOFF,
  EMPTY_OUTBOX,
  newDelivery,
  outboxDelay,
  summarize as summarizeOutbox,
  type DeliveryState,
  type FeedbackDelivery,
  type FeedbackOutboxOptions,
  type OutboxBackoff,
  type OutboxRunnerOptions,
  type OutboxStore,
  type OutboxSummary,
} from './siteCalibration/feedbackOutbox';
export { MemorySiteCalibrationStore, MemoryFeedbackStore } from './siteCalibration/memoryStores';
export * from './dicom';
export * from './dicomweb/client';
export * from './dicomweb/results';
export * from './dicomweb/verifyResult';
export * from './dicomweb/storedResult';
export { scoreChange, type ScoreChange, type ScoreOrigin } from './scoreChange';
export { priorStudyOf, type StudySummary } from './priorStudy';
export * from './dicomweb/feedback';
export * from './dicomweb/codec';
