/**
 * Geometry of the recalibration and monitoring charts, as plain numbers for SVG: no chart library,
 * nothing but arithmetic, so each mark is testable. Every chart plots probabilities or rates in
 * [0, 1] on both axes (or counts on y for histograms) inside a square plot area with margins for
 * the axis labels. y grows upwards in the data and downwards in SVG: `Frame.y` flips it.
 */

export interface Frame {
  /** Whole drawing, in SVG user units. */
  readonly width: number;
  readonly height: number;
  /** Space kept for axis labels: left and bottom hold the tick labels and titles. */
  readonly margin: { readonly top: number; readonly right: number; readonly bottom: number; readonly left: number };
}

export const DEFAULT_FRAME: Frame = { width: 260, height: 240, margin: { top: 10, right: 16, bottom: 40, left: 44 } };

/** The plot area's x for a value in [lo, hi]. */
export function xOf(frame: Frame, value: number, lo = 0, hi = 1): number {
  const inner = frame.width - frame.margin.left - frame.margin.right;
  return frame.margin.left + ((value - lo) / (hi - lo)) * inner;
}

/** The plot area's y (SVG, downwards) for a value in [lo, hi] (upwards). */
export function yOf(frame: Frame, value: number, lo = 0, hi = 1): number {
  const inner = frame.height - frame.margin.top - frame.margin.bottom;
  return frame.margin.top + (1 - (value - lo) / (hi - lo)) * inner;
}

/** Rounded to 0.01 user units: paths stay short and stable across runs. */
function r(value: number): number {
  return Math.round(value * 100) / 100;
}

/** A polyline through (x, y) data points as an SVG path ("M x y L x y ..."); '' for no points. */
export function linePath(frame: Frame, points: readonly { readonly x: number; readonly y: number }[]): string {
  return points.map((p, i) => `${i === 0 ? 'M' : 'L'}${r(xOf(frame, p.x))} ${r(yOf(frame, p.y))}`).join(' ');
}

/** A reliability-diagram bin as the shared fit module reports it. */
export interface BinLike {
  readonly lower: number;
  readonly upper: number;
  readonly count: number;
  readonly meanPredicted: number | null;
  readonly observedFraction: number | null;
}

export interface ReliabilityMark {
  readonly cx: number;
  readonly cy: number;
  /** Radius grows with the square root of the bin's count, so area is proportional to it. */
  readonly radius: number;
  readonly bin: BinLike;
}

/**
 * One dot per non-empty bin at (mean predicted, observed fraction): on the diagonal when the
 * scores mean what they say. Empty bins have no dot: there is nothing to compare.
 */
export function reliabilityMarks(frame: Frame, bins: readonly BinLike[]): ReliabilityMark[] {
  const largest = Math.max(1, ...bins.map(b => b.count));
  return bins
    .filter(b => b.count > 0 && b.meanPredicted !== null && b.observedFraction !== null)
    .map(bin => ({
      cx: r(xOf(frame, bin.meanPredicted as number)),
      cy: r(yOf(frame, bin.observedFraction as number)),
      radius: r(2 + 6 * Math.sqrt(bin.count / largest)),
      bin,
    }));
}

/** The ROC curve from its points (fpr, tpr), sorted as the curve runs: (0,0) to (1,1). */
export function rocPath(frame: Frame, points: readonly { readonly fpr: number; readonly tpr: number }[]): string {
  const sorted = [...points].sort((a, b) => a.fpr - b.fpr || a.tpr - b.tpr);
  return linePath(frame, sorted.map(p => ({ x: p.fpr, y: p.tpr })));
}

export interface Bar {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly value: number;
}

/**
 * Bars of a histogram over bin edges in [0, 1], heights on a shared scale `top` (so two
 * distributions drawn side by side compare); values are fractions or counts alike.
 */
export function histogramBars(frame: Frame, edges: readonly number[], values: readonly number[], top: number): Bar[] {
  if (edges.length !== values.length + 1) {
    throw new Error(`a histogram needs one edge more than values: got ${edges.length} edges for ${values.length} values`);
  }
  const scale = top > 0 ? top : 1;
  return values.map((value, i) => {
    const x0 = xOf(frame, edges[i]);
    const x1 = xOf(frame, edges[i + 1]);
    const y = yOf(frame, Math.min(value, scale), 0, scale);
    return { x: r(x0), y: r(y), width: r(Math.max(0, x1 - x0)), height: r(yOf(frame, 0, 0, scale) - y), value };
  });
}

/** Tick positions 0, 0.25 ... 1 on both axes, with their labels. */
export const UNIT_TICKS: readonly number[] = [0, 0.25, 0.5, 0.75, 1];
