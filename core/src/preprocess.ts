/**
 * Grey image in [0, 1] -> the model's input tensor, as training/chestaid_train/preprocess.py
 * `preprocess` builds it: resize to the manifest's size with Pillow's bilinear filter (no aspect
 * ratio kept), grey replicated to three channels, ImageNet mean/std per channel, NCHW float32.
 */
import { InputError, show } from './errors';
import type { Manifest } from './manifest';
import { unitGreyRows, type PixelAttributes, type StoredPixels, type UnitGreyOptions } from './pixels';
import { BILINEAR, resize, resizeRows, type GreyImage, type ResizeScratch } from './resize';

/** What preprocessing needs from the manifest's `input` section. */
export interface InputSpec {
  readonly height: number;
  readonly width: number;
  readonly mean: readonly [number, number, number];
  readonly std: readonly [number, number, number];
}

/** [N, C, H, W] of one image. */
export type TensorDims = readonly [1, 3, number, number];

// Python checks the resized image against [0, 1] with this slack; the bilinear filter cannot leave
// the input's range, so checking the input is equivalent and finds the bad pixel.
const RANGE_SLACK = 1e-6;

export function inputSpecOf(manifest: Manifest): InputSpec {
  const { size, normalization } = manifest.input;
  const [m0, m1, m2] = normalization.mean;
  const [s0, s1, s2] = normalization.std;
  return { height: size.height, width: size.width, mean: [m0, m1, m2], std: [s0, s1, s2] };
}

export function tensorDims(spec: InputSpec): TensorDims {
  return [1, 3, spec.height, spec.width];
}

/** Refuses non-finite values and values outside [0, 1], naming the first one and where it is. */
export function checkUnitRange(image: GreyImage): void {
  const { data, width } = image;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (!(v >= -RANGE_SLACK && v <= 1 + RANGE_SLACK)) {
      const where = `row ${Math.floor(i / width)}, column ${i % width}`;
      throw new InputError(`grey values must lie in [0, 1] before normalising; got ${show(v)} at ${where}`);
    }
  }
}

/**
 * Write the ImageNet-normalised, grey-replicated tensor of an already resized image into `out`
 * (length 3 * H * W). The arithmetic is float32 like torch's: (v - mean) rounded, then / std.
 */
export function normalizeInto(resized: GreyImage, spec: InputSpec, out: Float32Array): Float32Array {
  const plane = spec.height * spec.width;
  if (resized.width !== spec.width || resized.height !== spec.height) {
    throw new InputError(
      `image is ${resized.width} x ${resized.height}; the model expects ${spec.width} x ${spec.height}`,
    );
  }
  if (out.length !== 3 * plane) {
    throw new InputError(`output tensor holds ${out.length} values; expected 3 x ${spec.height} x ${spec.width}`);
  }
  const src = resized.data;
  for (let c = 0; c < 3; c++) {
    const mean = Math.fround(spec.mean[c]);
    const std = Math.fround(spec.std[c]);
    if (!(std > 0)) throw new InputError(`normalisation std[${c}] must be > 0, got ${show(spec.std[c])}`);
    const base = c * plane;
    for (let i = 0; i < plane; i++) out[base + i] = Math.fround(src[i] - mean) / std;
  }
  return out;
}

/**
 * grey [0, 1] -> Float32Array NCHW [1, 3, H, W]. `out` (length 3 * H * W) is filled and returned
 * when given; a Preprocessor keeps its buffers between calls instead.
 */
export function preprocess(grey: GreyImage, spec: InputSpec, out?: Float32Array): Float32Array {
  checkUnitRange(grey);
  const resized = resize(grey, spec.width, spec.height, BILINEAR);
  return normalizeInto(resized, spec, out ?? new Float32Array(3 * spec.height * spec.width));
}

/**
 * preprocess with buffers kept between calls: the viewer runs it on every Analyze, and the
 * resized plane and the tensor are the same size each time.
 * The returned tensor is overwritten by the next call; copy it if it must outlive that.
 */
export class Preprocessor {
  readonly dims: TensorDims;
  private readonly resized: Float32Array;
  private readonly tensor: Float32Array;
  private readonly scratch: ResizeScratch = {};

  constructor(readonly spec: InputSpec) {
    this.dims = tensorDims(spec);
    this.resized = new Float32Array(spec.height * spec.width);
    this.tensor = new Float32Array(3 * spec.height * spec.width);
  }

  /**
   * The resized grey image of the last run or runStored, before normalisation: what the input
   * check (inputCheck.ts) reads. Overwritten by the next call, like the tensor.
   */
  get resizedImage(): GreyImage {
    return { data: this.resized, width: this.spec.width, height: this.spec.height };
  }

  run(grey: GreyImage): Float32Array {
    checkUnitRange(grey);
    const resized = resize(grey, this.spec.width, this.spec.height, BILINEAR, this.resized);
    return normalizeInto(resized, this.spec, this.tensor);
  }

  /**
   * Stored DICOM pixels straight to the tensor: run(toUnitGrey(...)) bit for bit, without the
   * full-size grey image in between (pixels.ts unitGreyRows, resize.ts resizeRows). Measured on a
   * 2048 x 2500 image in Chromium: see the README's performance section.
   */
  runStored(attributes: PixelAttributes, pixels: StoredPixels, options: UnitGreyOptions = {}): Float32Array {
    const rows = unitGreyRows(attributes, pixels, options);
    const resized = resizeRows(rows, this.spec.width, this.spec.height, BILINEAR, this.resized, this.scratch);
    return normalizeInto(resized, this.spec, this.tensor);
  }
}
