/**
 * Grad-CAM post-processing, staged so each step can be tested alone; the names mirror
 * training/chestaid_train/cam.py.
 *
 * Grad-CAM (Selvaraju et al. 2017, "Grad-CAM: Visual Explanations from Deep Networks via
 * Gradient-based Localization"): alpha_k = mean_ij dy/dA_k[i, j], map = ReLU(sum_k alpha_k A_k).
 * For DenseNet-121's global-average-pooling + linear head, alpha_k = w_k / (h w), so Grad-CAM is
 * CAM (Zhou et al. 2016, "Learning Deep Features for Discriminative Localization") up to a
 * constant. The ONNX graph therefore returns the weighted sum of the last activations itself (it
 * has no gradients to offer); what is left for the viewer is the pipeline below:
 *
 *   relu -> normalise (divide by the maximum) -> upsample (Pillow bicubic, clipped to [0, 1])
 */
import { InputError, show } from './errors';
import { BICUBIC, resize, type GreyImage } from './resize';

// Below this peak a map is numerically all zero (cam.py uses the same eps).
const ZERO_PEAK = 1e-12;

function checkMap(map: GreyImage): void {
  const { data, width, height } = map;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new InputError(`CAM size must be positive integers, got ${show(width)} x ${show(height)}`);
  }
  if (data.length !== width * height) {
    throw new InputError(`CAM holds ${data.length} values; expected ${height} x ${width} = ${width * height}`);
  }
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      throw new InputError(`CAM value ${show(data[i])} at index ${i} is not finite`);
    }
  }
}

/** max(map, 0), elementwise. */
export function relu(map: GreyImage): GreyImage {
  checkMap(map);
  const out = new Float32Array(map.data.length);
  for (let i = 0; i < out.length; i++) out[i] = map.data[i] > 0 ? map.data[i] : 0;
  return { data: out, width: map.width, height: map.height };
}

/**
 * Divide by the maximum so the strongest evidence is 1. An all-zero map (common for a clearly
 * negative image with a single-logit head) stays zero instead of becoming NaN. Negative values
 * are clamped first, as cam.py's normalise does, so skipping relu cannot leave the map below 0.
 */
export function normalise(map: GreyImage): GreyImage {
  checkMap(map);
  const src = map.data;
  let peak = 0;
  for (let i = 0; i < src.length; i++) if (src[i] > peak) peak = src[i];
  const out = new Float32Array(src.length);
  if (peak > ZERO_PEAK) {
    // float32 / float32, correctly rounded: the same numbers numpy gives.
    for (let i = 0; i < src.length; i++) out[i] = src[i] > 0 ? src[i] / peak : 0;
  }
  return { data: out, width: map.width, height: map.height };
}

/**
 * Bicubic upsampling to height x width with Pillow's filter, clipped back to [0, 1] (the cubic
 * kernel's negative lobes overshoot). Bicubic rather than bilinear: a 7x7 map upsampled
 * bilinearly shows diamond artefacts.
 */
export function upsample(map: GreyImage, height: number, width: number): GreyImage {
  checkMap(map);
  const up = resize(map, width, height, BICUBIC);
  const d = up.data;
  for (let i = 0; i < d.length; i++) {
    if (d[i] < 0) d[i] = 0;
    else if (d[i] > 1) d[i] = 1;
  }
  return up;
}

/** The whole pipeline: raw model map -> [0, 1] heatmap of height x width. */
export function camToHeatmap(raw: GreyImage, height: number, width: number): GreyImage {
  return upsample(normalise(relu(raw)), height, width);
}
