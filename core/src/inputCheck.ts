/**
 * The input check: does an image look like the frontal chest radiographs the model was trained
 * on? training/chestaid_train/input_check.py fits it and documents the method; this file computes
 * the same score from the manifest's `input_check` section, and test/fixtures/input-check.json
 * holds the scores both sides must agree on.
 *
 * It reads the resized grey image the model sees (input.size, [0, 1], after the VOI window and
 * MONOCHROME1 inversion, before the ImageNet normalisation), never the network's outputs, so a
 * retrained, int8 or second-engine model leaves it unchanged.
 *
 * Score (probabilistic PCA on a small descriptor, Tipping and Bishop 1999): descriptor d = the
 * image area-averaged to grid x grid and standardised by that grid's own mean and standard
 * deviation (version 2: the layout whatever the exposure), its histogram in `histogram_bins` equal bins of [0, 1], and
 * the mean |g - mirror(g)| over the standardised grid; z = (d - mean) / scale; t = components z;
 * score = (sum t_i^2 / variances_i + |z - components^T t|^2 / residual_variance) / D.
 * Above `threshold`, the image is outside what the model was trained on.
 */
import { InputError, ManifestError, show } from './errors';
import type { GreyImage } from './resize';

/** A float32 little-endian array stored as base64 in the manifest. */
export interface F32Array {
  readonly dtype: 'float32-le';
  readonly shape: readonly number[];
  readonly base64: string;
}

interface Rate {
  readonly n: number;
  readonly count: number;
  readonly rate: number | null;
  readonly ci_low: number | null;
  readonly ci_high: number | null;
}

/** The manifest's `input_check` section (schema 1.3.0). */
export interface InputCheckSection {
  readonly method: 'ppca-descriptor';
  readonly version: string;
  readonly descriptor: {
    readonly grid: number;
    readonly histogram_bins: number;
    /** The side of the image it was fitted on (the manifest's input size). */
    readonly image_size?: number;
    readonly [key: string]: unknown;
  };
  readonly fit_split: string;
  readonly n_fit: number;
  readonly mean: F32Array;
  readonly scale: F32Array;
  readonly components: F32Array;
  readonly variances: F32Array;
  readonly residual_variance: number;
  readonly threshold: number;
  readonly target_kept: number;
  readonly threshold_split: string;
  readonly rule: string;
  readonly evaluation: {
    readonly kept: Readonly<Record<string, Rate>>;
    readonly caught: Readonly<Record<string, Rate>>;
    readonly out_of_distribution_set?: string;
  };
}

export interface InputCheckResult {
  /** false: "outside what this model was trained on"; show that in place of a score. */
  readonly inDistribution: boolean;
  readonly score: number;
  readonly threshold: number;
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const BASE64_VALUE = new Map([...BASE64].map((c, i) => [c, i]));

/** RFC 4648 base64 -> bytes; any other character, or a length that is not a multiple of 4, throws. */
export function decodeBase64(text: string): Uint8Array {
  if (text.length % 4 !== 0) throw new ManifestError(`base64 text of length ${text.length} is not a multiple of 4`);
  const pad = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((text.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    let bits = 0;
    for (let j = 0; j < 4; j++) {
      const c = text[i + j];
      const v = c === '=' && i + j >= text.length - pad ? 0 : BASE64_VALUE.get(c);
      if (v === undefined) throw new ManifestError(`base64 text holds ${show(c)} at ${i + j}`);
      bits = (bits << 6) | v;
    }
    for (let k = 2; k >= 0 && o < out.length; k--) out[o++] = (bits >> (8 * k)) & 255;
    if (o >= out.length) break;
  }
  return out;
}

/** A stored float32 array as float64 values (the score is computed in double precision). */
export function decodeF32(array: F32Array, name: string): Float64Array {
  if (array.dtype !== 'float32-le') throw new ManifestError(`input_check.${name} must be float32-le, got ${show(array.dtype)}`);
  const bytes = decodeBase64(array.base64);
  const expected = array.shape.reduce((a, b) => a * b, 1);
  if (bytes.length !== expected * 4) {
    throw new ManifestError(`input_check.${name} holds ${bytes.length} bytes; its shape ${show(array.shape)} needs ${expected * 4}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float64Array(expected);
  for (let i = 0; i < expected; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

/** The descriptor this file computes (input_check.VERSION); version 1 read the grid unstandardised. */
export const INPUT_CHECK_VERSION = '2';

/** As input_check.GRID_SD_FLOOR. */
const GRID_SD_FLOOR = 1e-6;

export function descriptorSize(grid: number, histogramBins: number): number {
  return grid * grid + histogramBins + 1;
}

/** What the schema cannot say about the section; empty when it is usable. */
export function inputCheckProblems(section: InputCheckSection): string[] {
  const problems: string[] = [];
  if (section.version !== INPUT_CHECK_VERSION) {
    problems.push(`version ${show(section.version)} is not the one this viewer computes (${INPUT_CHECK_VERSION}); its scores would mean something else`);
  }
  const { grid, histogram_bins: bins } = section.descriptor;
  const n = descriptorSize(grid, bins);
  const shapeOf = (a: F32Array) => JSON.stringify(a.shape);
  if (shapeOf(section.mean) !== `[${n}]`) problems.push(`mean has shape ${shapeOf(section.mean)}; the descriptor has ${n} values`);
  if (shapeOf(section.scale) !== `[${n}]`) problems.push(`scale has shape ${shapeOf(section.scale)}; the descriptor has ${n} values`);
  const [k, width] = section.components.shape;
  if (section.components.shape.length !== 2 || width !== n) {
    problems.push(`components have shape ${shapeOf(section.components)}; expected [k, ${n}]`);
  }
  if (shapeOf(section.variances) !== `[${k}]`) problems.push(`variances have shape ${shapeOf(section.variances)}; expected [${k}]`);
  return problems;
}

/** The descriptor of a size x size grey image, size a multiple of `grid` (float64). */
export function inputDescriptor(image: GreyImage, grid: number, histogramBins: number): Float64Array {
  const { width, height, data } = image;
  if (width !== height || width % grid !== 0) {
    throw new InputError(`the input check reads a square image whose side is a multiple of ${grid}; got ${width} x ${height}`);
  }
  const cell = width / grid;
  const out = new Float64Array(descriptorSize(grid, histogramBins));
  const hist = grid * grid;
  for (let r = 0; r < height; r++) {
    const row = r * width;
    const gr = Math.floor(r / cell) * grid;
    for (let c = 0; c < width; c++) {
      const v = data[row + c];
      if (!(v >= -1e-6 && v <= 1 + 1e-6)) {
        throw new InputError(`grey values must lie in [0, 1]; got ${show(v)} at row ${r}, column ${c}`);
      }
      out[gr + Math.floor(c / cell)] += v;
      out[hist + Math.min(histogramBins - 1, Math.max(0, Math.floor(v * histogramBins)))] += 1;
    }
  }
  for (let i = 0; i < hist; i++) out[i] /= cell * cell;
  // The layout, not the exposure (version 2): the grid standardised by its own mean and
  // (population) standard deviation, floored so a constant image's grid stays all zeros.
  let sum = 0;
  for (let i = 0; i < hist; i++) sum += out[i];
  const gridMean = sum / hist;
  let squares = 0;
  for (let i = 0; i < hist; i++) squares += (out[i] - gridMean) ** 2;
  const gridSd = Math.max(Math.sqrt(squares / hist), GRID_SD_FLOOR);
  for (let i = 0; i < hist; i++) out[i] = (out[i] - gridMean) / gridSd;
  for (let i = 0; i < histogramBins; i++) out[hist + i] /= width * height;
  let asym = 0;
  for (let r = 0; r < grid; r++) {
    for (let c = 0; c < grid; c++) asym += Math.abs(out[r * grid + c] - out[r * grid + grid - 1 - c]);
  }
  out[hist + histogramBins] = asym / hist;
  return out;
}

/** The section's arrays decoded once; `check` runs on every image. */
export class InputCheck {
  readonly threshold: number;
  private readonly grid: number;
  private readonly bins: number;
  private readonly imageSize: number | undefined;
  private readonly mean: Float64Array;
  private readonly scale: Float64Array;
  private readonly components: Float64Array;
  private readonly variances: Float64Array;
  private readonly residualVariance: number;

  constructor(section: InputCheckSection) {
    const problems = inputCheckProblems(section);
    if (problems.length > 0) throw new ManifestError(`model manifest input_check is invalid: ${problems.join('; ')}`);
    this.grid = section.descriptor.grid;
    this.bins = section.descriptor.histogram_bins;
    this.imageSize = section.descriptor.image_size;
    this.mean = decodeF32(section.mean, 'mean');
    this.scale = decodeF32(section.scale, 'scale');
    this.components = decodeF32(section.components, 'components');
    this.variances = decodeF32(section.variances, 'variances');
    this.residualVariance = section.residual_variance;
    this.threshold = section.threshold;
  }

  score(image: GreyImage): number {
    const side = this.imageSize;
    if (side !== undefined && (image.width !== side || image.height !== side)) {
      throw new InputError(`the input check was fitted on ${side} x ${side} images; got ${image.width} x ${image.height}`);
    }
    const d = inputDescriptor(image, this.grid, this.bins);
    const n = d.length;
    const z = new Float64Array(n);
    for (let i = 0; i < n; i++) z[i] = (d[i] - this.mean[i]) / this.scale[i];
    const residual = Float64Array.from(z);
    let inSubspace = 0;
    for (let j = 0; j < this.variances.length; j++) {
      const row = j * n;
      let t = 0;
      for (let i = 0; i < n; i++) t += this.components[row + i] * z[i];
      inSubspace += (t * t) / this.variances[j];
      for (let i = 0; i < n; i++) residual[i] -= this.components[row + i] * t;
    }
    let r2 = 0;
    for (let i = 0; i < n; i++) r2 += residual[i] * residual[i];
    return (inSubspace + r2 / this.residualVariance) / n;
  }

  check(image: GreyImage): InputCheckResult {
    const score = this.score(image);
    return { inDistribution: score <= this.threshold, score, threshold: this.threshold };
  }
}

const decoded = new WeakMap<InputCheckSection, InputCheck>();

/**
 * Is `image` (the resized grey image the model sees) like the training images? The section's
 * arrays are decoded on the first call and kept with the (frozen) section.
 */
export function checkInput(image: GreyImage, section: InputCheckSection): InputCheckResult {
  let check = decoded.get(section);
  if (!check) {
    check = new InputCheck(section);
    decoded.set(section, check);
  }
  return check.check(image);
}
