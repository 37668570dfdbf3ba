/**
 * The heatmap layer's contents and where it sits: the pure half of the heatmap. The CAM covers the
 * whole image (preprocessing stretches the image to the model's square input, edge to edge), so a
 * map of any size laid over the same physical extent as the image is registered to it; the
 * renderer's camera then keeps it registered under pan, zoom, rotation and flips.
 *
 * An adapter implements HeatmapSink for one renderer (extension/src/heatmap/cornerstoneHeatmap.ts for Cornerstone).
 */
import { upsample } from './cam';
import { InputError, show } from './errors';
import type { GreyImage } from './resize';

export type Vec3 = readonly [number, number, number];

/**
 * A 2D image in patient space, as DICOM's Image Plane module and Cornerstone describe it:
 * `origin` is the centre of the first pixel; column index i moves along `rowCosines` by
 * `columnSpacing`, row index j along `columnCosines` by `rowSpacing`.
 */
export interface ImagePlane {
  readonly rows: number;
  readonly columns: number;
  readonly rowSpacing: number;
  readonly columnSpacing: number;
  readonly origin: Vec3;
  readonly rowCosines: Vec3;
  readonly columnCosines: Vec3;
}

export interface Grid {
  readonly rows: number;
  readonly columns: number;
}

/** Longest side of the heatmap layer: smooth at any zoom (the map holds 7x7 numbers), small in memory. */
export const MAX_LAYER_SIDE = 512;

function checkPositiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) throw new InputError(`${name} must be a positive integer, got ${show(value)}`);
}

function checkPlane(plane: ImagePlane): void {
  checkPositiveInteger('plane rows', plane.rows);
  checkPositiveInteger('plane columns', plane.columns);
  for (const [name, value] of [['row spacing', plane.rowSpacing], ['column spacing', plane.columnSpacing]] as const) {
    if (!(value > 0 && Number.isFinite(value))) throw new InputError(`${name} must be positive, got ${show(value)}`);
  }
}

/** The layer's size for an image of rows x columns: the image's own size, at most MAX_LAYER_SIDE a side. */
export function layerGrid(rows: number, columns: number, maxSide = MAX_LAYER_SIDE): Grid {
  checkPositiveInteger('rows', rows);
  checkPositiveInteger('columns', columns);
  const scale = Math.min(1, maxSide / Math.max(rows, columns));
  return { rows: Math.max(1, Math.round(rows * scale)), columns: Math.max(1, Math.round(columns * scale)) };
}

/** World position of pixel (column i, row j) of `plane` (fractional indices allowed). */
export function imageToWorld(plane: ImagePlane, [i, j]: readonly [number, number]): Vec3 {
  const { origin: o, rowCosines: r, columnCosines: c } = plane;
  const u = i * plane.columnSpacing;
  const v = j * plane.rowSpacing;
  return [o[0] + r[0] * u + c[0] * v, o[1] + r[1] * u + c[1] * v, o[2] + r[2] * u + c[2] * v];
}

/**
 * The plane of a `grid`-sized layer covering exactly the same area as `source`: its pixels are
 * larger by source/grid, and its first pixel's centre moves half a layer pixel minus half a source
 * pixel into the image, so that the outer edges of both coincide.
 *
 * Per axis (columns shown, rows alike), for an image of N pixels of spacing s whose first pixel
 * centre is at index 0, and a layer of n pixels:
 *   - the image covers indices [-1/2, N - 1/2], an extent of N s;
 *   - the layer's spacing S = s N / n gives n S = N s, the same extent;
 *   - its first edge must lie on the image's: O - S/2 = o - s/2, so its first centre is
 *     O = o + (S - s)/2, which is image index i0 = (N/n - 1)/2 (0 when n = N, never negative
 *     when n < N: a coarser layer's first centre lies inside the image's first few pixels);
 *   - layer index k is then image index i = i0 + k N/n, i.e. (i + 1/2) / N = (k + 1/2) / n: both
 *     name the same fraction of the extent, so k = n - 1/2 (the layer's last edge) is i = N - 1/2
 *     (the image's), and a CAM stretched over either lands on the same anatomy.
 * The ratio N/n is computed first so that a layer of the image's own size is exactly its plane.
 */
export function layerPlane(source: ImagePlane, grid: Grid): ImagePlane {
  checkPlane(source);
  checkPositiveInteger('layer rows', grid.rows);
  checkPositiveInteger('layer columns', grid.columns);
  const columnRatio = source.columns / grid.columns;
  const rowRatio = source.rows / grid.rows;
  const i0 = (columnRatio - 1) / 2;
  const j0 = (rowRatio - 1) / 2;
  return {
    rows: grid.rows,
    columns: grid.columns,
    rowSpacing: source.rowSpacing * rowRatio,
    columnSpacing: source.columnSpacing * columnRatio,
    origin: imageToWorld(source, [i0, j0]),
    rowCosines: source.rowCosines,
    columnCosines: source.columnCosines,
  };
}

/**
 * The plane of the heatmap layer over `image`: at most `maxSide` pixels a side (layerGrid), over
 * exactly the image's extent (layerPlane). Its rows and columns are the size the maps must have.
 * Renderers take the layer's size and place from this one plane: a layer capped below the image's
 * size but placed with the image's own plane covers only part of it (issue 16, item 7).
 */
export function layerPlaneOver(image: ImagePlane, maxSide = MAX_LAYER_SIDE): ImagePlane {
  return layerPlane(image, layerGrid(image.rows, image.columns, maxSide));
}

/** The attention map at the layer's size: the normalised CAM, upsampled bicubically, in [0, 1]. */
export function attentionLayer(cam: GreyImage, grid: Grid): GreyImage {
  return upsample(cam, grid.rows, grid.columns);
}

/**
 * The outline of the region where attention is at least `level`: 1 on the region's boundary
 * pixels (inside the region, with a 4-neighbour outside it or on the image's edge), 0 elsewhere.
 */
export function outlineLayer(attention: GreyImage, level: number): GreyImage {
  if (!(level > 0 && level <= 1)) throw new InputError(`outline level must lie in (0, 1], got ${show(level)}`);
  const { data, width, height } = attention;
  const out = new Float32Array(width * height);
  const inside = (x: number, y: number) => x >= 0 && y >= 0 && x < width && y < height && data[y * width + x] >= level;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (!inside(x, y)) continue;
      if (!inside(x - 1, y) || !inside(x + 1, y) || !inside(x, y - 1) || !inside(x, y + 1)) out[y * width + x] = 1;
    }
  }
  return { data: out, width, height };
}

/** What the heatmap shows on one viewport: the layer for one image, under the reader's settings. */
export interface HeatLayer {
  /** Identifies the contents: a sink redraws only when it changes. */
  readonly key: string;
  /** The SOPInstanceUID of the image the CAM was computed on. */
  readonly sopInstanceUID: string;
  /**
   * The layer's own plane (layerPlaneOver the image's), not the image's: `attention` and `outline`
   * are plane.rows x plane.columns, and plane.origin is the centre of their first pixel.
   */
  readonly plane: ImagePlane;
  /** null when the attention map is not shown (outline only). */
  readonly attention: GreyImage | null;
  /** null when no outline is shown. */
  readonly outline: GreyImage | null;
  /** The reader's opacity for the attention map, in [0, 1]. */
  readonly opacity: number;
}

/**
 * Draws heat layers on a renderer's viewports. Implementations keep each layer registered to its
 * image and drop it when the viewport shows another image.
 */
export interface HeatmapSink {
  /** Shows `layer` on the viewport (replacing what it showed) or updates its opacity. */
  show(viewportId: string, layer: HeatLayer): void;
  /** Removes the layer from the viewport, if it has one. */
  remove(viewportId: string): void;
}
