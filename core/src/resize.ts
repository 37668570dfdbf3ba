/**
 * Pillow's `Image.resize` for float32 ('F') images, reproduced so that the browser feeds the model
 * the tensor training saw (training/chestaid_train/preprocess.py `resize`, cam.py `upsample`).
 *
 * The algorithm (Pillow libImaging/Resample.c, unchanged since Pillow 4):
 * - separable convolution, horizontal pass first, then vertical; a pass whose size does not change
 *   is skipped;
 * - per axis, scale = in / out; when shrinking the filter is widened by the scale
 *   (filterscale = max(scale, 1)), which is what antialiases;
 * - output pixel i has its centre at (i + 0.5) * scale in input coordinates; it reads the inputs
 *   trunc(centre - support + 0.5) up to trunc(centre + support + 0.5), clamped to the image, with
 *   weights filter((j - centre + 0.5) / filterscale) normalised to sum 1 (so edges renormalise
 *   instead of padding);
 * - weights and sums are in double precision; each pass stores float32, so the intermediate image
 *   is rounded to float32 once, exactly as Pillow's temporary 'F' image is.
 * Other resizers (canvas, torch, OpenCV) differ from this and from each other by up to a few
 * grey levels, which is why the core carries its own.
 */
import { InputError, show } from './errors';

/** A separable reconstruction filter: weight(x) for a distance x in input pixels, zero beyond support. */
export interface ResampleFilter {
  readonly name: string;
  readonly support: number;
  weight(x: number): number;
}

/** A single-channel float image, row-major. */
export interface GreyImage {
  readonly data: Float32Array;
  readonly width: number;
  readonly height: number;
}

/** Pillow's BILINEAR: the triangle filter. */
export const BILINEAR: ResampleFilter = {
  name: 'bilinear',
  support: 1,
  weight(x: number): number {
    const t = x < 0 ? -x : x;
    return t < 1 ? 1 - t : 0;
  },
};

/** Pillow's BICUBIC: Keys' cubic convolution with a = -0.5, evaluated as Pillow writes it. */
export const BICUBIC: ResampleFilter = {
  name: 'bicubic',
  support: 2,
  weight(x: number): number {
    const a = -0.5;
    const t = x < 0 ? -x : x;
    if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
    if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
    return 0;
  },
};

/** Per output pixel: first input index, tap count, and `ksize` weights (unused ones 0). */
interface Coefficients {
  readonly first: Int32Array;
  readonly count: Int32Array;
  readonly weights: Float64Array;
  readonly ksize: number;
}

// The viewer resizes images of a handful of sizes to one model size; a few tables per filter
// cover them, and Analyze on the same image skips recomputing them.
const COEFFICIENT_CACHE_SIZE = 16;
const coefficientCache = new WeakMap<ResampleFilter, Map<string, Coefficients>>();

function coefficients(inSize: number, outSize: number, filter: ResampleFilter): Coefficients {
  let tables = coefficientCache.get(filter);
  if (!tables) {
    tables = new Map();
    coefficientCache.set(filter, tables);
  }
  const key = `${inSize}:${outSize}`;
  const hit = tables.get(key);
  if (hit) return hit;

  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = filter.support * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  // Pillow multiplies by the reciprocal rather than dividing; kept for bit-exact weights.
  const ss = 1 / filterscale;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float64Array(outSize * ksize);

  for (let xx = 0; xx < outSize; xx++) {
    const centre = (xx + 0.5) * scale;
    // C's (int) cast truncates towards zero; the clamps make the sign irrelevant.
    const xmin = Math.max(Math.trunc(centre - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(centre + support + 0.5), inSize) - xmin;
    const base = xx * ksize;
    let total = 0;
    for (let x = 0; x < xmax; x++) {
      const w = filter.weight((x + xmin - centre + 0.5) * ss);
      weights[base + x] = w;
      total += w;
    }
    if (total !== 0) {
      for (let x = 0; x < xmax; x++) weights[base + x] /= total;
    }
    first[xx] = xmin;
    count[xx] = xmax;
  }

  const table = { first, count, weights, ksize };
  if (tables.size >= COEFFICIENT_CACHE_SIZE) {
    const oldest = tables.keys().next().value;
    if (oldest !== undefined) tables.delete(oldest);
  }
  tables.set(key, table);
  return table;
}

function checkSize(what: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new InputError(`${what} must be a positive integer, got ${show(value)}`);
  }
}

/**
 * Resize `image` to width x height with `filter`, as Pillow's `Image.resize` does on an 'F' image.
 * `out`, when given, receives the result (its length must be width * height, and it must not be
 * the source's buffer) and is returned inside the image; otherwise a new buffer is allocated.
 * The source is never modified.
 */
export function resize(
  image: GreyImage,
  width: number,
  height: number,
  filter: ResampleFilter = BILINEAR,
  out?: Float32Array,
): GreyImage {
  checkSize('source width', image.width);
  checkSize('source height', image.height);
  checkSize('target width', width);
  checkSize('target height', height);
  const src = image.data;
  if (src.length !== image.width * image.height) {
    throw new InputError(
      `image data holds ${src.length} values; expected ${image.width} x ${image.height} = ${image.width * image.height}`,
    );
  }
  const dst = out ?? new Float32Array(width * height);
  if (dst.length !== width * height) {
    throw new InputError(`output buffer holds ${dst.length} values; expected ${width} x ${height} = ${width * height}`);
  }

  const needHorizontal = width !== image.width;
  const needVertical = height !== image.height;
  if (dst.buffer === src.buffer && (needHorizontal || needVertical)) {
    throw new InputError('the output buffer must not share memory with the source image');
  }
  if (!needHorizontal && !needVertical) {
    dst.set(src);
    return { data: dst, width, height };
  }

  const vertical = coefficients(image.height, height, filter);
  // Only the source rows some output row reads need the horizontal pass.
  const rowFirst = needVertical ? vertical.first[0] : 0;
  const rowEnd = needVertical ? vertical.first[height - 1] + vertical.count[height - 1] : image.height;

  let mid: Float32Array = src;
  let midOffset = 0;
  if (needHorizontal) {
    mid = needVertical ? new Float32Array(width * (rowEnd - rowFirst)) : dst;
    midOffset = rowFirst;
    horizontalPass(src, image.width, rowFirst, rowEnd, mid, width, coefficients(image.width, width, filter));
  }
  if (needVertical) {
    verticalPass(mid, midOffset, width, dst, height, vertical);
  }
  return { data: dst, width, height };
}

function horizontalPass(
  src: Float32Array,
  srcWidth: number,
  rowFirst: number,
  rowEnd: number,
  dst: Float32Array,
  dstWidth: number,
  c: Coefficients,
): void {
  for (let y = rowFirst; y < rowEnd; y++) horizontalRow(src, y * srcWidth, dst, (y - rowFirst) * dstWidth, dstWidth, c);
}

/** One row of the horizontal pass: src[srcRow...] -> dst[dstRow ... dstRow + dstWidth). */
function horizontalRow(src: Float32Array, srcRow: number, dst: Float32Array, dstRow: number, dstWidth: number, c: Coefficients): void {
  const { first, count, weights, ksize } = c;
  for (let xx = 0; xx < dstWidth; xx++) {
    const start = srcRow + first[xx];
    const n = count[xx];
    const k = xx * ksize;
    let sum = 0;
    for (let x = 0; x < n; x++) sum += src[start + x] * weights[k + x];
    dst[dstRow + xx] = sum;
  }
}

function verticalPass(
  src: Float32Array,
  srcRowOffset: number,
  width: number,
  dst: Float32Array,
  dstHeight: number,
  c: Coefficients,
): void {
  const { first, count, weights, ksize } = c;
  for (let yy = 0; yy < dstHeight; yy++) {
    const start = first[yy] - srcRowOffset;
    const n = count[yy];
    const k = yy * ksize;
    const dstRow = yy * width;
    for (let xx = 0; xx < width; xx++) {
      let sum = 0;
      for (let y = 0; y < n; y++) sum += src[(start + y) * width + xx] * weights[k + y];
      dst[dstRow + xx] = sum;
    }
  }
}

/**
 * An image read one row at a time: rows are produced on demand (stored DICOM pixels converted
 * as they are read, pixels.ts unitGreyRows) instead of living in a full-size float image.
 */
export interface RowSource {
  readonly width: number;
  readonly height: number;
  /** Writes row `y` (width values) into `out`, which is at least that long. */
  readRow(y: number, out: Float32Array): void;
}

/** Buffers resizeRows may keep between calls of the same sizes. */
export interface ResizeScratch {
  row?: Float32Array;
  mid?: Float32Array;
}

/**
 * resize() for a RowSource: the same passes in the same order with the same arithmetic, so the
 * same float32 numbers, but each source row is read into one reused row buffer just before the
 * horizontal pass needs it, and only the rows the vertical pass reads are read at all. The largest
 * allocation is the intermediate image (target width x source rows), kept in `scratch`.
 */
export function resizeRows(
  source: RowSource,
  width: number,
  height: number,
  filter: ResampleFilter = BILINEAR,
  out?: Float32Array,
  scratch: ResizeScratch = {},
): GreyImage {
  checkSize('source width', source.width);
  checkSize('source height', source.height);
  checkSize('target width', width);
  checkSize('target height', height);
  const dst = out ?? new Float32Array(width * height);
  if (dst.length !== width * height) {
    throw new InputError(`output buffer holds ${dst.length} values; expected ${width} x ${height} = ${width * height}`);
  }
  const needHorizontal = width !== source.width;
  const needVertical = height !== source.height;
  if (!needHorizontal && !needVertical) {
    for (let y = 0; y < height; y++) source.readRow(y, dst.subarray(y * width, (y + 1) * width));
    return { data: dst, width, height };
  }

  const vertical = coefficients(source.height, height, filter);
  const rowFirst = needVertical ? vertical.first[0] : 0;
  const rowEnd = needVertical ? vertical.first[height - 1] + vertical.count[height - 1] : source.height;
  const midLength = width * (rowEnd - rowFirst);
  let mid = dst;
  if (needVertical) {
    if (!scratch.mid || scratch.mid.length < midLength) scratch.mid = new Float32Array(midLength);
    mid = scratch.mid;
  }
  if (needHorizontal) {
    if (!scratch.row || scratch.row.length < source.width) scratch.row = new Float32Array(source.width);
    const row = scratch.row;
    const horizontal = coefficients(source.width, width, filter);
    for (let y = rowFirst; y < rowEnd; y++) {
      source.readRow(y, row);
      horizontalRow(row, 0, mid, (y - rowFirst) * width, width, horizontal);
    }
  } else {
    for (let y = rowFirst; y < rowEnd; y++) {
      const at = (y - rowFirst) * width;
      source.readRow(y, mid.subarray(at, at + width));
    }
  }
  if (needVertical) verticalPass(mid, rowFirst, width, dst, height, vertical);
  return { data: dst, width, height };
}
