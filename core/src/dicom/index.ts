/**
 * ChestAid's results as standard DICOM objects, written and read with dcmjs: the result as a
 * TID 1500 SR (IHE AIR conventions) and the Grad-CAM as a Parametric Map. Pure: no React, OHIF,
 * Cornerstone or onnxruntime, so the panel (browser) and the triage worker (Node) share it.
 */
export { CODES, PRIVATE_SCHEME, PRIVATE_SCHEME_IDENTIFICATION, sameCode, type Code, type CodeName } from './codes';
export {
  SOP_CLASS,
  RESULT_SR_SERIES_DESCRIPTION,
  HEATMAP_SERIES_DESCRIPTION,
  CHESTAID_MANUFACTURER,
  RESULT_SR_SERIES_NUMBER,
  HEATMAP_SERIES_NUMBER,
  type ChestAidResultContent,
  type ThresholdDecision,
  type BuiltObject,
  type SourceImageRef,
} from './types';
export { buildResultSr, checkResult, DECISION_SUPPORT_STATEMENT, SYNTHETIC_DATA_STATEMENT, type ResultSrInput } from './resultSr';
export { readResultSr, isChestAidResultSr } from './readResultSr';
export { softwareVersions, type DeviceIdentity } from './srDocument';
export {
  DicomReadError,
  naturalize,
  newUid,
  isUid,
  decimalString,
  writePart10,
  type Dataset,
  type DatasetSource,
} from './values';
export { buildHeatmapParametricMap, type HeatmapInput, type HeatmapReference } from './parametricMap';
export { readHeatmapReference, readHeatmapPixels } from './readParametricMap';
export { resultSrInputFrom, heatmapInputFrom, type FromAnalysisOptions } from './fromAnalysis';
export {
  buildFeedbackSr,
  readFeedbackSr,
  isChestAidFeedbackSr,
  resultForFeedback,
  FEEDBACK_SR_SERIES_DESCRIPTION,
  FEEDBACK_SR_SERIES_NUMBER,
  type FeedbackSrInput,
  type ChestAidFeedbackContent,
  type GroundTruth,
  type Reader,
} from './feedbackSr';
export {
  buildHeatmapSegmentation,
  SEGMENTATION_SOP_CLASS,
  HEATMAP_SEG_SERIES_DESCRIPTION,
  HEATMAP_SEG_SERIES_NUMBER,
  DEFAULT_ATTENTION_LEVELS,
  type HeatmapSegmentationInput,
} from './segmentation';
export { derivedUid, resultUids, resultKeyText, revisionOf, freeRevision, RESULT_REVISIONS, type ResultKey, type ResultUids } from './resultUids';
