/**
 * What the core needs from an inference backend. The onnxruntime adapter implements it; tests
 * pass a fake (STYLE.md 2, 11).
 */
import type { TensorDims } from './preprocess';

export interface ClassifierOutput {
  /** The PNEUMONIA logit, before calibration. */
  readonly logit: number;
  /** The unnormalised Grad-CAM map, row-major, camDims[0] rows of camDims[1] values. */
  readonly cam: Float32Array;
  /** [height, width] of the map, e.g. [7, 7] at 224 x 224. */
  readonly camDims: readonly [number, number];
}

export interface Classifier {
  /** Run the model on one preprocessed NCHW tensor of shape `dims`. */
  run(input: Float32Array, dims: TensorDims): Promise<ClassifierOutput>;
}
