import type { HeatLayer } from '@chestaid/core';
import { DEFAULT_HEATMAP } from '../analysis/heatmapSetting';
import { CornerstoneHeatmapSink, SHOWN_ATTRIBUTE, viewportImages, type CornerstoneHeatmapHost } from './cornerstoneHeatmap';
import { HeatmapController } from './heatmapController';

/** A stand-in for the parts of Cornerstone and vtk.js the sink touches, recording what it is asked. */
function fakeCornerstone() {
  const log: string[] = [];
  const cached = new Map<string, { options: unknown }>();
  const property = {
    opacity: 1,
    setRGBTransferFunction: () => log.push('rgb'),
    setUseLookupTableScalarRange: () => undefined,
    setInterpolationTypeToLinear: () => log.push('linear'),
    setInterpolationTypeToNearest: () => log.push('nearest'),
    setOpacity(value: number) {
      this.opacity = value;
      log.push(`opacity ${value}`);
    },
  };
  const actor = { getProperty: () => property, getMapper: () => ({ getInputData: () => ({}) }) };
  function makeViewport(id: string) {
    const attributes = new Map<string, string>();
    const actors: { uid: string }[] = [{ uid: 'default' }];
    return {
      id,
      element: {
        setAttribute: (k: string, v: string) => attributes.set(k, v),
        removeAttribute: (k: string) => attributes.delete(k),
      } as unknown as HTMLElement,
      attributes,
      actors,
      addImages(inputs: { imageId: string; actorUID: string; callback?: (a: { imageActor: typeof actor }) => void }[]) {
        for (const input of inputs) {
          actors.push({ uid: input.actorUID });
          input.callback?.({ imageActor: actor });
          log.push(`add ${input.imageId}`);
        }
      },
      getActors: () => actors,
      removeActors(uids: string[]) {
        for (const uid of uids) actors.splice(actors.findIndex(a => a.uid === uid), 1);
        log.push(`removeActors ${uids.length}`);
      },
      render: () => undefined,
      getCornerstoneImage: () => ({ imageId: 'img-1' }),
    };
  }
  const viewports = new Map([['vp', makeViewport('vp')]]);
  const cs: CornerstoneHeatmapHost = {
    imageLoader: {
      createAndCacheLocalImage: (imageId, options) => {
        cached.set(imageId, { options });
        return {};
      },
    },
    cache: { getImage: id => cached.get(id), removeImageLoadObject: id => void cached.delete(id) },
    utilities: {
      genericMetadataProvider: { add: () => undefined },
      createLinearRGBTransferFunction: () => ({ removeAllPoints: () => undefined, addRGBPoint: () => undefined }),
      colormap: { updateOpacityMapping: () => log.push('opacity mapping') },
      updateVTKImageDataWithCornerstoneImage: () => log.push('fill'),
    },
    getEnabledElementByViewportId: id => ({ viewport: viewports.get(id) }),
  };
  return { cs, log, cached, viewports, property, makeViewport };
}

const layer = (overrides: Partial<HeatLayer> = {}): HeatLayer => ({
  key: 'k1',
  sopInstanceUID: '2.25.1',
  plane: { rows: 4, columns: 2, rowSpacing: 2, columnSpacing: 3, origin: [1, 2, 3], rowCosines: [1, 0, 0], columnCosines: [0, 1, 0] },
  attention: { data: new Float32Array(8).fill(0.5), width: 2, height: 4 },
  outline: null,
  opacity: 0.4,
  ...overrides,
});

describe('CornerstoneHeatmapSink', () => {
  it('caches the map with the layer plane as a local image, adds it as an actor with the colormap, and marks the viewport', () => {
    const { cs, log, cached, viewports, property } = fakeCornerstone();
    const sink = new CornerstoneHeatmapSink(() => cs);
    sink.show('vp', layer());
    const [[imageId, entry]] = [...cached];
    expect(imageId).toMatch(/^chestaid-heatmap:vp:\d+:attention$/);
    expect(entry.options).toMatchObject({ dimensions: [2, 4], spacing: [3, 2], origin: [1, 2, 3], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] });
    expect(log).toEqual(['fill', 'rgb', 'opacity mapping', 'linear', 'opacity 0.4', `add ${imageId}`]);
    expect(property.opacity).toBe(0.4);
    expect(viewports.get('vp')!.attributes.get(SHOWN_ATTRIBUTE)).toBe('2.25.1');
  });

  it('only changes the opacity when the same layer is shown again', () => {
    const { cs, log } = fakeCornerstone();
    const sink = new CornerstoneHeatmapSink(() => cs);
    sink.show('vp', layer());
    log.length = 0;
    sink.show('vp', layer({ opacity: 0.9 }));
    expect(log).toEqual(['opacity 0.9']);
  });

  it('replaces the layer when its contents change, and draws it again on a re-created viewport', () => {
    const { cs, log, cached, viewports, makeViewport } = fakeCornerstone();
    const sink = new CornerstoneHeatmapSink(() => cs);
    sink.show('vp', layer());
    sink.show('vp', layer({ key: 'k2', outline: { data: new Float32Array(8), width: 2, height: 4 } }));
    expect(log.filter(l => l.startsWith('removeActors'))).toEqual(['removeActors 1']);
    expect(cached.size).toBe(2); // attention + outline of the new layer; the old one freed
    viewports.set('vp', makeViewport('vp')); // OHIF made a new viewport under the same id
    log.length = 0;
    sink.show('vp', layer({ key: 'k2', outline: { data: new Float32Array(8), width: 2, height: 4 } }));
    expect(log.filter(l => l.startsWith('add'))).toHaveLength(2);
    expect(log).toContain('nearest'); // the outline stays crisp
  });

  it('removes the actors, frees the cache and unmarks the viewport', () => {
    const { cs, cached, viewports } = fakeCornerstone();
    const sink = new CornerstoneHeatmapSink(() => cs);
    sink.show('vp', layer());
    sink.remove('vp');
    expect(viewports.get('vp')!.actors.map(a => a.uid)).toEqual(['default']);
    expect(cached.size).toBe(0);
    expect(viewports.get('vp')!.attributes.has(SHOWN_ATTRIBUTE)).toBe(false);
    expect(sink.viewportIds()).toEqual([]);
  });

  it('only frees the cache for a viewport Cornerstone has already disabled (its renderer is gone)', () => {
    const { cs, cached, viewports, log } = fakeCornerstone();
    const sink = new CornerstoneHeatmapSink(() => cs);
    sink.show('vp', layer());
    viewports.delete('vp');
    sink.remove('vp');
    expect(log.filter(l => l.startsWith('removeActors'))).toEqual([]);
    expect(cached.size).toBe(0);
    expect(sink.viewportIds()).toEqual([]);
  });

  it('refuses a map that is not the size of its plane, before drawing anything', () => {
    const { cs, cached, viewports } = fakeCornerstone();
    const sink = new CornerstoneHeatmapSink(() => cs);
    const imagePlane = { rows: 8, columns: 4, rowSpacing: 1, columnSpacing: 1, origin: [0, 0, 0] as const, rowCosines: [1, 0, 0] as const, columnCosines: [0, 1, 0] as const };
    expect(() => sink.show('vp', layer({ plane: imagePlane }))).toThrow(
      "the heatmap's attention map is 2 x 4 but its plane is 4 x 8: the plane must be the layer's own (layerPlaneOver the image's)",
    );
    expect(cached.size).toBe(0);
    expect(sink.viewportIds()).toEqual([]);
    expect(viewports.get('vp')!.attributes.has(SHOWN_ATTRIBUTE)).toBe(false);
  });

  it('draws nothing on a viewport that cannot take an image layer', () => {
    const { cs, cached } = fakeCornerstone();
    const sink = new CornerstoneHeatmapSink(() => ({ ...cs, getEnabledElementByViewportId: () => ({ viewport: { id: 'volume' } }) }));
    sink.show('vp', layer());
    expect(cached.size).toBe(0);
    expect(sink.viewportIds()).toEqual([]);
  });
});

describe('viewportImages', () => {
  it('reads each stack viewport\'s image plane as Cornerstone renders it', () => {
    const { viewports } = fakeCornerstone();
    const found = viewportImages(
      {
        getEnabledElements: () => [{ viewportId: 'vp', viewport: viewports.get('vp') }, { viewportId: 'video', viewport: {} }],
        utilities: {
          getImageDataMetadata: () => ({ dimensions: [296, 326, 1], spacing: [0.5, 0.7, 1], origin: [1, 2, 3], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] }),
        },
      },
      imageId => (imageId === 'img-1' ? '2.25.1' : undefined),
    );
    expect(found).toEqual([
      {
        viewportId: 'vp',
        sopInstanceUID: '2.25.1',
        plane: { columns: 296, rows: 326, columnSpacing: 0.5, rowSpacing: 0.7, origin: [1, 2, 3], rowCosines: [1, 0, 0], columnCosines: [0, 1, 0] },
      },
    ]);
  });
});

describe('the layer Cornerstone is given for a 2048 x 2500 radiograph (above the 512 cap)', () => {
  // What getImageDataMetadata reports: [columns, rows, 1], spacing [column, row, 1] (1 mm when the
  // image has neither PixelSpacing nor ImagerPixelSpacing), origin the first pixel's centre.
  const image = { dimensions: [2048, 2500, 1], origin: [-140.5, -170.25, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] };
  type Options = { dimensions: number[]; spacing: number[]; origin: number[]; direction: number[] };
  /** World corners of the extent Cornerstone gives an image: pixel edges, half a pixel beyond the corner centres. */
  const corners = ({ dimensions: [w, h], spacing: [sx, sy], origin, direction: d }: Options) =>
    [[-0.5, -0.5], [w - 0.5, -0.5], [-0.5, h - 0.5], [w - 0.5, h - 0.5]].map(([i, j]) =>
      [0, 1, 2].map(k => origin[k] + i * sx * d[k] + j * sy * d[3 + k]),
    );

  it.each([
    ['no pixel spacing (1 mm)', [1, 1]],
    ['0.139 mm', [0.139, 0.139]],
    ['anisotropic: columns 0.125 mm apart, rows 0.2 mm', [0.125, 0.2]],
  ])('is 419 x 512 pixels over exactly the image, edge to edge: %s', (_, [sx, sy]) => {
    const { cs, cached, viewports } = fakeCornerstone();
    const metadata = { ...image, spacing: [sx, sy, 1] };
    // The viewer's wiring (analysis/wire.ts), on fakes: viewports read from Cornerstone, drawn by the sink.
    const cam = { data: Float32Array.from({ length: 49 }, (_, k) => k / 48), width: 7, height: 7 };
    const controller = new HeatmapController({
      sink: new CornerstoneHeatmapSink(() => cs),
      viewports: () =>
        viewportImages({ getEnabledElements: () => [{ viewportId: 'vp', viewport: viewports.get('vp') }], utilities: { getImageDataMetadata: () => metadata } }, () => '2.25.1'),
      heatmapForImage: () => ({ key: '2.25.1|sha', cam }),
      settings: () => ({ ...DEFAULT_HEATMAP, layers: 'attention' }),
      nextFrame: callback => callback(),
    });
    controller.reconcile();

    const [[, { options }]] = [...cached] as [string, { options: Options & { scalarData: Float32Array } }][];
    expect(options.dimensions).toEqual([419, 512]); // 2048 x 2500 scaled by 512 / 2500
    expect(options.scalarData).toHaveLength(419 * 512);
    expect(options.spacing[0]).toBeCloseTo((sx * 2048) / 419, 12);
    expect(options.spacing[1]).toBeCloseTo((sy * 2500) / 512, 12);
    // The first layer pixel's centre lies (N/n - 1)/2 image pixels in from the image's first.
    expect(options.origin[0]).toBeCloseTo(image.origin[0] + (sx * (2048 / 419 - 1)) / 2, 10);
    expect(options.origin[1]).toBeCloseTo(image.origin[1] + (sy * (2500 / 512 - 1)) / 2, 10);
    expect(options.direction).toEqual(image.direction);
    const tolerance = 1e-6 * Math.hypot(2048 * sx, 2500 * sy);
    const expected = corners(metadata);
    corners(options).forEach((corner, c) => expect(Math.hypot(...corner.map((v, k) => v - expected[c][k]))).toBeLessThanOrEqual(tolerance));
  });
});
