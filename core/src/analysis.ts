/**
 * One Analyze: the intended-use gate (intendedUse.ts) and the input check (inputCheck.ts), then DICOM pixels -> grey -> tensor -> classifier -> calibrated probability, decision
 * and normalised CAM. Pure orchestration of the staged modules around a Classifier the caller
 * supplies; display-sized heatmaps are the heatmap layer's business (cam.upsample at its own size).
 */
import { calibrate } from './calibration';
import { normalise, relu } from './cam';
import type { Classifier } from './classifier';
import { InputError, show } from './errors';
import { checkInput } from './inputCheck';
import { checkIntendedUse, intendedUseOf, NotAnalyzedError, type ImageAttributes } from './intendedUse';
import type { Manifest } from './manifest';
import type { StoredPixels } from './pixels';
import { Preprocessor, inputSpecOf } from './preprocess';
import type { GreyImage } from './resize';
import { decide, type Decision } from './threshold';

export interface Analysis {
  readonly modelId: string;
  readonly modelVersion: string;
  readonly logit: number;
  /** Calibrated probability of the positive label. */
  readonly probability: number;
  readonly calibrationMethod: Manifest['calibration']['selected'];
  /** The calibration version the probability was computed under: a score is only ever shown as current under it. */
  readonly calibrationVersion: string;
  readonly decision: Decision;
  /** Grad-CAM after ReLU and normalisation, at the model's map resolution. */
  readonly cam: GreyImage;
}

export interface AnalyzeOptions {
  /** Reused between calls to avoid reallocating the tensor; made from the manifest if absent. */
  preprocessor?: Preprocessor;
}

/** The refusal an image gets when the input check finds it unlike the training images. */
export const OUT_OF_DISTRIBUTION = 'out-of-distribution';

/**
 * Throws NotAnalyzedError, before the classifier is asked for anything, when the model card
 * excludes the image or when it does not look like the images the model was trained on (the
 * manifest's input_check); InputError when the pixels cannot be read as a radiograph.
 */
export async function analyze(
  attributes: ImageAttributes,
  pixels: StoredPixels,
  manifest: Manifest,
  classifier: Classifier,
  options: AnalyzeOptions = {},
): Promise<Analysis> {
  const preprocessor = options.preprocessor ?? new Preprocessor(inputSpecOf(manifest));
  // Straight from the stored pixels: no full-size float copy of the image (Preprocessor.runStored).
  // Its checks first: an image that cannot be read as a radiograph at all (CT, RGB, corrupt) is
  // named for that, before the card's rules judge what kind of radiograph it is.
  const input = preprocessor.runStored(attributes, pixels, { acceptedModalities: manifest.input.grey.accepted_modalities });
  const refusal = checkIntendedUse(attributes, pixels, intendedUseOf(manifest));
  if (refusal) throw new NotAnalyzedError(refusal);
  // The input check reads the resized image, not the network, so it runs before inference: an
  // image it refuses costs no model run and can never leave a score behind.
  if (manifest.input_check) {
    const seen = checkInput(preprocessor.resizedImage, manifest.input_check);
    if (!seen.inDistribution) {
      throw new NotAnalyzedError({
        code: OUT_OF_DISTRIBUTION,
        reason: `outside what this model was trained on (input check ${seen.score.toFixed(1)} > ${seen.threshold.toFixed(1)}: the image does not look like a frontal chest radiograph)`,
        message: { key: 'refusal.outOfDistribution', params: { score: seen.score, threshold: seen.threshold } },
      });
    }
  }
  const output = await classifier.run(input, preprocessor.dims);

  const [camHeight, camWidth] = output.camDims;
  if (output.cam.length !== camHeight * camWidth) {
    throw new InputError(
      `classifier returned a CAM of ${output.cam.length} values for dims ${show(output.camDims)}`,
    );
  }
  const probability = calibrate(output.logit, manifest.calibration);
  return {
    modelId: manifest.model.id,
    modelVersion: manifest.model.version,
    logit: output.logit,
    probability,
    calibrationMethod: manifest.calibration.selected,
    calibrationVersion: manifest.calibration.version,
    decision: decide(probability, manifest.thresholds.clinical.value),
    cam: normalise(relu({ data: output.cam, width: camWidth, height: camHeight })),
  };
}
