/**
 * ChestAid's pure core: preprocessing, calibration, threshold, CAM maths and the model manifest.
 * Nothing here imports React, OHIF, Cornerstone or onnxruntime (core.purity.test.ts enforces it);
 * adapters implement the interfaces declared here.
 */
export { InputError, ManifestError } from './errors';
export {
  parseManifest,
  SUPPORTED_SCHEMA_MAJOR,
  type Manifest,
  type OnnxFile,
  type CalibrationMetrics,
  type Interval,
} from './manifest';
export {
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
  calibrate,
  calibrateWith,
  calibrationProblems,
  CALIBRATION_METHODS,
  type CalibrationMethod,
  type CalibrationSection,
  type TemperatureParams,
  type PlattParams,
  type IsotonicParams,
} from './calibration';
export { decide, checkThreshold, ABOVE_LABEL, BELOW_LABEL, type Decision } from './threshold';
export { relu, normalise, upsample, camToHeatmap } from './cam';
export type { Classifier, ClassifierOutput } from './classifier';
export { analyse, type Analysis, type AnalyseOptions } from './analysis';
