/**
 * How attention becomes colour on the heatmap layer: a perceptual colormap for the hue, and an
 * opacity ramp that leaves the least-attended parts of the radiograph untouched.
 *
 * The colormap is matplotlib's "inferno" (colormaps/inferno.json, written by
 * training/scripts/make_colormap.py): its lightness rises monotonically, so warmer and brighter
 * always means more attention. Rainbow maps such as "jet" invent edges where there are none.
 */
import { InputError, show } from './errors';
import inferno from './colormaps/inferno.json';

export type Rgb = readonly [number, number, number];

export interface Colormap {
  readonly name: string;
  /** sRGB in [0, 1], evenly spaced from attention 0 to attention 1. */
  readonly colours: readonly Rgb[];
}

export const INFERNO: Colormap = {
  name: inferno.name,
  colours: inferno.colours.map(([r, g, b]) => [r, g, b] as const),
};

/**
 * Attention below `floor` is not drawn; from `floor` to `full` the layer fades in; above `full` it
 * is drawn at the layer's opacity. Without the ramp a map that is near zero everywhere would still
 * tint the whole radiograph, hiding the image the radiologist reads.
 */
export interface OpacityRamp {
  readonly floor: number;
  readonly full: number;
}

export const ATTENTION_RAMP: OpacityRamp = { floor: 0.1, full: 0.3 };

function checkUnit(name: string, value: number): void {
  if (!(value >= 0 && value <= 1)) throw new InputError(`${name} must lie in [0, 1], got ${show(value)}`);
}

/** The colour of attention `value` (clamped to [0, 1]), interpolated linearly between entries. */
export function colourAt(map: Colormap, value: number): Rgb {
  if (!Number.isFinite(value)) throw new InputError(`attention must be a finite number, got ${show(value)}`);
  const last = map.colours.length - 1;
  const position = Math.min(1, Math.max(0, value)) * last;
  const i = Math.min(last - 1, Math.floor(position));
  const t = position - i;
  const [a, b] = [map.colours[i], map.colours[i + 1]];
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

/** The ramp's opacity factor for attention `value`, in [0, 1]. */
export function rampAt(ramp: OpacityRamp, value: number): number {
  if (value <= ramp.floor) return 0;
  if (value >= ramp.full) return 1;
  return (value - ramp.floor) / (ramp.full - ramp.floor);
}

export function checkRamp(ramp: OpacityRamp): void {
  checkUnit('ramp floor', ramp.floor);
  checkUnit('ramp full', ramp.full);
  if (!(ramp.full > ramp.floor)) {
    throw new InputError(`ramp full (${show(ramp.full)}) must be above its floor (${show(ramp.floor)})`);
  }
}

/** A transfer function node: attention `x` -> colour. */
export interface ColourNode {
  readonly x: number;
  readonly rgb: Rgb;
}

/** `count` evenly spaced nodes of the colormap, for a renderer's piecewise-linear transfer function. */
export function colourNodes(map: Colormap, count = map.colours.length): ColourNode[] {
  if (!Number.isInteger(count) || count < 2) throw new InputError(`a transfer function needs at least 2 nodes, got ${show(count)}`);
  return Array.from({ length: count }, (_, i) => {
    const x = i / (count - 1);
    return { x, rgb: colourAt(map, x) };
  });
}

/** The ramp as opacity nodes (attention -> opacity factor), exact for a piecewise-linear renderer. */
export function opacityNodes(ramp: OpacityRamp): { x: number; opacity: number }[] {
  checkRamp(ramp);
  return [
    { x: 0, opacity: 0 },
    { x: ramp.floor, opacity: 0 },
    { x: ramp.full, opacity: 1 },
    { x: 1, opacity: 1 },
  ];
}

/** A CSS gradient from low (left) to high (right) attention, for the legend. */
export function cssGradient(map: Colormap, stops = 9): string {
  const parts = colourNodes(map, stops).map(({ x, rgb }) => {
    const [r, g, b] = rgb.map(c => Math.round(c * 255));
    return `rgb(${r}, ${g}, ${b}) ${Math.round(x * 100)}%`;
  });
  return `linear-gradient(to right, ${parts.join(', ')})`;
}

/**
 * CIE L* (D65) of an sRGB colour: the lightness the perceptual claim is about. Used by the tests
 * and available to anyone who swaps the colormap.
 */
export function lightness([r, g, b]: Rgb): number {
  const linear = (c: number) => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
  const y = 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
  return y > 216 / 24389 ? 116 * Math.cbrt(y) - 16 : (24389 / 27) * y;
}
