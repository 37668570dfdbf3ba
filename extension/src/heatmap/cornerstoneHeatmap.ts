/**
 * The Cornerstone adapter for the heatmap layer: an HeatmapSink that draws HeatLayers as native
 * Cornerstone layers, each a small float image in Cornerstone's cache added to the viewport as an
 * extra image actor with the attention colormap, an opacity ramp and the reader's opacity.
 *
 * Why a native layer rather than a canvas of our own over the viewport: the renderer's camera
 * moves it with the image (pan, zoom, rotation, flips, resize), it is part of the viewport's
 * canvas (so a capture includes it), and window/level changes touch only the radiograph's actor.
 * It leans on Cornerstone 5.6's legacy StackViewport internals, all reached through
 * window.cornerstone (the host's copy): `addImages` and its callback, the vtk image actor's
 * property (transfer functions, interpolation, opacity) and `removeActors`. scripts/check-ohif-host
 * pins the host version and test/e2e/heatmap.test.mjs checks the registration end to end.
 */
import {
  ATTENTION_RAMP,
  type Colormap,
  colourNodes,
  type GreyImage,
  type HeatLayer,
  type ImagePlane,
  INFERNO,
  opacityNodes,
  type OpacityRamp,
  type HeatmapSink,
} from '@chestaid/core';
import type { ViewportImage } from './heatmapController';

/** The vtk.js objects touched, typed by what is called on them. */
interface TransferFunction {
  removeAllPoints(): void;
  addRGBPoint(x: number, r: number, g: number, b: number): void;
}
interface ImageProperty {
  setRGBTransferFunction(index: number, fn: TransferFunction): void;
  setUseLookupTableScalarRange(use: boolean): void;
  setInterpolationTypeToLinear(): void;
  setInterpolationTypeToNearest(): void;
  setOpacity(opacity: number): void;
}
interface ImageActor {
  getProperty(): ImageProperty;
  getMapper(): { getInputData(): unknown };
}

export interface StackViewportLike {
  readonly id: string;
  readonly element: HTMLElement;
  addImages(inputs: { imageId: string; actorUID: string; callback?: (args: { imageActor: ImageActor }) => void }[]): unknown;
  getActors(): readonly { readonly uid: string }[];
  removeActors(uids: string[]): void;
  render(): void;
}

/** What the adapter needs of window.cornerstone. */
export interface CornerstoneHeatmapHost {
  readonly imageLoader: {
    createAndCacheLocalImage(
      imageId: string,
      options: {
        scalarData: Float32Array;
        dimensions: [number, number];
        spacing: [number, number];
        origin: number[];
        direction: number[];
        frameOfReferenceUID?: string;
      },
    ): unknown;
  };
  readonly cache: { getImage(imageId: string): unknown; removeImageLoadObject(imageId: string, options?: { force?: boolean }): void };
  readonly utilities: {
    readonly genericMetadataProvider: { add(imageId: string, entry: { type: string; metadata: unknown }): void };
    createLinearRGBTransferFunction(range: { lower: number; upper: number }): TransferFunction;
    readonly colormap: { updateOpacityMapping(actor: ImageActor, mapping: { value: number; opacity: number }[], overall?: number): void };
    updateVTKImageDataWithCornerstoneImage(imageData: unknown, image: unknown): void;
  };
  getEnabledElementByViewportId(viewportId: string): { viewport?: unknown } | undefined;
}

/** Set on the viewport element while a layer is drawn: the SOPInstanceUID it belongs to. */
export const SHOWN_ATTRIBUTE = 'data-chestaid-heatmap';

const OUTLINE_COLOUR = [0.2, 0.9, 1] as const; // cyan: distinct from every inferno colour
const COLOUR_NODES = 64; // piecewise-linear through 64 of the 256 entries: indistinguishable, cheaper

interface Drawn {
  readonly key: string;
  readonly viewport: StackViewportLike;
  readonly imageIds: string[];
  attentionActor: ImageActor | null;
}

function isStackViewport(viewport: unknown): viewport is StackViewportLike {
  const v = viewport as Partial<StackViewportLike> | undefined;
  return typeof v?.addImages === 'function' && typeof v.removeActors === 'function' && typeof v.getActors === 'function';
}

function direction(plane: ImagePlane): number[] {
  const [r, c] = [plane.rowCosines, plane.columnCosines];
  const normal = [r[1] * c[2] - r[2] * c[1], r[2] * c[0] - r[0] * c[2], r[0] * c[1] - r[1] * c[0]];
  return [...r, ...c, ...normal];
}

/**
 * The maps must be the size of the layer's plane: Cornerstone lays out `dimensions` pixels from the
 * plane's origin at its spacing, so a map of another size (say one capped at 512 a side over the
 * image's own plane) silently covers only part of the image.
 */
function checkLayerSize({ plane, attention, outline }: HeatLayer): void {
  for (const [name, map] of [['attention', attention], ['outline', outline]] as const) {
    if (map && (map.width !== plane.columns || map.height !== plane.rows)) {
      throw new Error(
        `the heatmap's ${name} map is ${map.width} x ${map.height} but its plane is ${plane.columns} x ${plane.rows}: the plane must be the layer's own (layerPlaneOver the image's)`,
      );
    }
  }
}

export class CornerstoneHeatmapSink implements HeatmapSink {
  private readonly drawn = new Map<string, Drawn>();
  private serial = 0;

  constructor(
    private readonly cornerstone: () => CornerstoneHeatmapHost,
    private readonly colormap: Colormap = INFERNO,
    private readonly ramp: OpacityRamp = ATTENTION_RAMP,
  ) {}

  show(viewportId: string, layer: HeatLayer): void {
    checkLayerSize(layer);
    const cs = this.cornerstone();
    const viewport = cs.getEnabledElementByViewportId(viewportId)?.viewport;
    if (!isStackViewport(viewport)) {
      // Volume, video and other viewports cannot take an image layer: nothing is drawn on them.
      this.remove(viewportId);
      return;
    }
    const current = this.drawn.get(viewportId);
    const actorsThere = current && current.viewport === viewport && current.imageIds.every(id => viewport.getActors().some(a => a.uid === id));
    if (current && current.key === layer.key && actorsThere) {
      current.attentionActor?.getProperty().setOpacity(layer.opacity);
      viewport.render();
      return;
    }
    this.remove(viewportId);

    const drawn: Drawn = { key: layer.key, viewport, imageIds: [], attentionActor: null };
    this.drawn.set(viewportId, drawn);
    const frame = `chestaid-heatmap:${viewportId}:${++this.serial}`;
    if (layer.attention) {
      drawn.attentionActor = this.addActor(cs, viewport, drawn, `${frame}:attention`, layer.attention, layer.plane, actor => {
        this.colour(cs, actor, colourNodes(this.colormap, COLOUR_NODES).map(({ x, rgb }) => [x, ...rgb]));
        cs.utilities.colormap.updateOpacityMapping(actor, opacityNodes(this.ramp).map(({ x, opacity }) => ({ value: x, opacity })), 1);
        actor.getProperty().setInterpolationTypeToLinear();
        actor.getProperty().setOpacity(layer.opacity);
      });
    }
    if (layer.outline) {
      this.addActor(cs, viewport, drawn, `${frame}:outline`, layer.outline, layer.plane, actor => {
        this.colour(cs, actor, [[0, ...OUTLINE_COLOUR], [1, ...OUTLINE_COLOUR]]);
        // Only boundary pixels (value 1) are drawn, crisp: nearest-neighbour, fully opaque.
        cs.utilities.colormap.updateOpacityMapping(actor, [{ value: 0, opacity: 0 }, { value: 0.5, opacity: 0 }, { value: 0.51, opacity: 1 }, { value: 1, opacity: 1 }], 1);
        actor.getProperty().setInterpolationTypeToNearest();
      });
    }
    viewport.element.setAttribute(SHOWN_ATTRIBUTE, layer.sopInstanceUID);
    viewport.render();
  }

  remove(viewportId: string): void {
    const drawn = this.drawn.get(viewportId);
    if (!drawn) return;
    this.drawn.delete(viewportId);
    const { viewport, imageIds } = drawn;
    const cs = this.cornerstone();
    viewport.element.removeAttribute(SHOWN_ATTRIBUTE);
    // A viewport Cornerstone has disabled (a closed dialog, a layout change) has no renderer left
    // to remove actors from: only the cached images remain to free.
    const live = cs.getEnabledElementByViewportId(viewportId)?.viewport === viewport;
    if (live) {
      const present = imageIds.filter(id => viewport.getActors().some(actor => actor.uid === id));
      if (present.length) viewport.removeActors(present);
      viewport.render();
    }
    for (const imageId of imageIds) {
      try {
        cs.cache.removeImageLoadObject(imageId, { force: true });
      } catch {
        // Already evicted by Cornerstone's cache: nothing left to free.
      }
    }
  }

  /** Viewports with a layer drawn now. */
  viewportIds(): string[] {
    return [...this.drawn.keys()];
  }

  /**
   * Caches `image` over `plane`, adds it to the viewport as an actor and styles it; returns the
   * actor (the StackViewport calls back synchronously).
   */
  private addActor(
    cs: CornerstoneHeatmapHost,
    viewport: StackViewportLike,
    drawn: Drawn,
    imageId: string,
    image: GreyImage,
    plane: ImagePlane,
    style: (actor: ImageActor) => void,
  ): ImageActor | null {
    this.cache(cs, imageId, image, plane);
    drawn.imageIds.push(imageId);
    let added: ImageActor | null = null;
    viewport.addImages([
      {
        imageId,
        actorUID: imageId,
        callback: ({ imageActor }) => {
          this.fill(cs, imageActor, imageId);
          style(imageActor);
          added = imageActor;
        },
      },
    ]);
    return added;
  }

  private cache(cs: CornerstoneHeatmapHost, imageId: string, image: GreyImage, plane: ImagePlane): void {
    // The generic series module gives the layer a modality: Cornerstone reads one for every image.
    cs.utilities.genericMetadataProvider.add(imageId, { type: 'generalSeriesModule', metadata: { modality: 'OT' } });
    cs.imageLoader.createAndCacheLocalImage(imageId, {
      scalarData: new Float32Array(image.data),
      dimensions: [image.width, image.height],
      spacing: [plane.columnSpacing, plane.rowSpacing],
      origin: [...plane.origin],
      direction: direction(plane),
    });
  }

  /** Copies the cached pixels into the actor's image data; without it the layer stays empty. */
  private fill(cs: CornerstoneHeatmapHost, actor: ImageActor, imageId: string): void {
    cs.utilities.updateVTKImageDataWithCornerstoneImage(actor.getMapper().getInputData(), cs.cache.getImage(imageId));
  }

  private colour(cs: CornerstoneHeatmapHost, actor: ImageActor, nodes: number[][]): void {
    const fn = cs.utilities.createLinearRGBTransferFunction({ lower: 0, upper: 1 });
    fn.removeAllPoints();
    for (const [x, r, g, b] of nodes) fn.addRGBPoint(x, r, g, b);
    const property = actor.getProperty();
    property.setRGBTransferFunction(0, fn);
    // Map through the function's own [0, 1] range, not the radiograph's window/level.
    property.setUseLookupTableScalarRange(true);
  }
}

/** What viewportImages needs of window.cornerstone. */
export interface CornerstoneViewportHost {
  getEnabledElements(): readonly { readonly viewportId?: string; readonly viewport?: unknown }[];
  readonly utilities: {
    getImageDataMetadata(image: unknown): {
      dimensions: readonly number[];
      spacing: readonly number[];
      origin: readonly number[];
      direction: readonly number[];
    };
  };
}

interface ImageViewport {
  readonly id: string;
  getCornerstoneImage(): { imageId: string } | undefined;
}

/**
 * Every stack viewport with an image, and that image's plane, as Cornerstone renders it (the
 * geometry the layer must match, whatever the DICOM header said).
 */
export function viewportImages(
  cs: CornerstoneViewportHost,
  sopInstanceUIDOf: (imageId: string) => string | undefined,
): ViewportImage[] {
  const found: ViewportImage[] = [];
  for (const { viewport } of cs.getEnabledElements()) {
    if (!isStackViewport(viewport)) continue;
    const image = (viewport as unknown as ImageViewport).getCornerstoneImage?.();
    const sopInstanceUID = image && sopInstanceUIDOf(image.imageId);
    if (!image || !sopInstanceUID) continue;
    const { dimensions, spacing, origin, direction } = cs.utilities.getImageDataMetadata(image);
    found.push({
      viewportId: viewport.id,
      sopInstanceUID,
      plane: {
        columns: dimensions[0],
        rows: dimensions[1],
        columnSpacing: spacing[0],
        rowSpacing: spacing[1],
        origin: [origin[0], origin[1], origin[2]],
        rowCosines: [direction[0], direction[1], direction[2]],
        columnCosines: [direction[3], direction[4], direction[5]],
      },
    });
  }
  return found;
}
