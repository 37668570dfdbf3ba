/**
 * Keeps every viewport's heatmap layer in step with what it displays: each viewport shows the layer
 * of its own image's result (by SOPInstanceUID), under the reader's settings, and nothing when its
 * image has no result, when the layer is switched off, or once it shows another image. The
 * controller only decides; an HeatmapSink draws. It is told when something may have changed
 * (`schedule`), and reconciles once per animation frame however many events arrive.
 */
import {
  attentionLayer,
  type GreyImage,
  type HeatLayer,
  type ImagePlane,
  layerPlaneOver,
  outlineLayer,
  type HeatmapSink,
} from '@chestaid/core';
import type { HeatmapSettings, HeatmapSource } from '../analysis/types';

/** A viewport and the image it displays now. */
export interface ViewportImage {
  readonly viewportId: string;
  readonly sopInstanceUID: string;
  readonly plane: ImagePlane;
}

export interface HeatmapControllerDeps {
  readonly sink: HeatmapSink & { viewportIds(): string[] };
  /** The viewports that can show a layer, with their current image. */
  readonly viewports: () => readonly ViewportImage[];
  /** The map an image's layer draws (its result in this session, or its verified stored one), or null. */
  readonly heatmapForImage: (sopInstanceUID: string) => HeatmapSource | null;
  readonly settings: () => HeatmapSettings;
  /** requestAnimationFrame in the browser; tests run the callback at once. */
  readonly nextFrame?: (callback: () => void) => void;
}

/** The upsampled map, and its outline at a level; the controller memoises both. */
export interface LayerMaps {
  attention(source: HeatmapSource, rows: number, columns: number): GreyImage;
  outline(source: HeatmapSource, rows: number, columns: number, level: number): GreyImage;
}

/** The layer a viewport should show, or null. */
export function layerFor(view: ViewportImage, outcome: HeatmapSource | null, settings: HeatmapSettings, maps: LayerMaps): HeatLayer | null {
  if (!settings.visible || !outcome) return null;
  // The layer's own plane: capped in size, its pixels scaled up to cover the whole image.
  const plane = layerPlaneOver(view.plane);
  const showAttention = settings.layers !== 'outline';
  const showOutline = settings.layers !== 'attention';
  return {
    key: [outcome.key, settings.layers, showOutline ? settings.outlineLevel : '', plane.rows, plane.columns].join('|'),
    sopInstanceUID: view.sopInstanceUID,
    plane,
    attention: showAttention ? maps.attention(outcome, plane.rows, plane.columns) : null,
    outline: showOutline ? maps.outline(outcome, plane.rows, plane.columns, settings.outlineLevel) : null,
    opacity: settings.opacity,
  };
}

export class HeatmapController {
  private pending = false;
  // A few layers' worth (at most 512 x 512 floats each): the images of one study.
  private readonly cache = new Map<string, GreyImage>();
  private readonly nextFrame: (callback: () => void) => void;

  constructor(private readonly deps: HeatmapControllerDeps) {
    this.nextFrame = deps.nextFrame ?? (callback => requestAnimationFrame(() => callback()));
  }

  /** Something may have changed: reconcile on the next frame. */
  schedule = (): void => {
    if (this.pending) return;
    this.pending = true;
    this.nextFrame(() => {
      this.pending = false;
      this.reconcile();
    });
  };

  reconcile(): void {
    const { sink, viewports, heatmapForImage, settings } = this.deps;
    const current = settings();
    const seen = new Set<string>();
    for (const view of viewports()) {
      seen.add(view.viewportId);
      const layer = layerFor(view, heatmapForImage(view.sopInstanceUID), current, this.maps);
      if (layer) sink.show(view.viewportId, layer);
      else sink.remove(view.viewportId);
    }
    for (const viewportId of sink.viewportIds()) if (!seen.has(viewportId)) sink.remove(viewportId);
  }

  /** Removes every layer (mode exit). */
  clear(): void {
    for (const viewportId of this.deps.sink.viewportIds()) this.deps.sink.remove(viewportId);
    this.cache.clear();
  }

  /**
   * Reconciles run on every state change (an opacity drag is dozens): the maps are computed once
   * per result, size and level, not on each.
   */
  private readonly maps: LayerMaps = {
    attention: (source, rows, columns) => this.memo(`${source.key}|${rows}x${columns}`, () => attentionLayer(source.cam, { rows, columns })),
    outline: (outcome, rows, columns, level) =>
      this.memo(`${outcome.key}|${rows}x${columns}|outline ${level}`, () => outlineLayer(this.maps.attention(outcome, rows, columns), level)),
  };

  private memo(key: string, make: () => GreyImage): GreyImage {
    let map = this.cache.get(key);
    if (!map) {
      map = make();
      if (this.cache.size >= 16) this.cache.delete(this.cache.keys().next().value as string);
      this.cache.set(key, map);
    }
    return map;
  }
}
