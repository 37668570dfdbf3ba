import type { HeatLayer, ImagePlane, HeatmapSink } from '@chestaid/core';
import { DEFAULT_HEATMAP } from '../analysis/heatmapSetting';
import type { HeatmapSettings, HeatmapSource } from '../analysis/types';
import { HeatmapController, layerFor, type LayerMaps, type ViewportImage } from './heatmapController';

const plane: ImagePlane = {
  rows: 40,
  columns: 30,
  rowSpacing: 1,
  columnSpacing: 1,
  origin: [0, 0, 0],
  rowCosines: [1, 0, 0],
  columnCosines: [0, 1, 0],
};

function outcome(sop: string): HeatmapSource {
  return { key: `${sop}|sha`, cam: { data: Float32Array.from([0, 0.5, 1, 0]), width: 2, height: 2 } };
}

class RecordingSink implements HeatmapSink {
  readonly shown = new Map<string, HeatLayer>();
  readonly calls: string[] = [];
  show(viewportId: string, layer: HeatLayer) {
    this.calls.push(`show ${viewportId} ${layer.sopInstanceUID}`);
    this.shown.set(viewportId, layer);
  }
  remove(viewportId: string) {
    if (this.shown.delete(viewportId)) this.calls.push(`remove ${viewportId}`);
  }
  viewportIds() {
    return [...this.shown.keys()];
  }
}

function setup(views: ViewportImage[], results: Record<string, HeatmapSource>, settings: HeatmapSettings = DEFAULT_HEATMAP) {
  const sink = new RecordingSink();
  const state = { views, results, settings };
  const controller = new HeatmapController({
    sink,
    viewports: () => state.views,
    heatmapForImage: sop => state.results[sop] ?? null,
    settings: () => state.settings,
    nextFrame: callback => callback(),
  });
  return { sink, controller, state };
}

describe('layerFor', () => {
  const view: ViewportImage = { viewportId: 'a', sopInstanceUID: 's1', plane };
  const filled = (rows: number, columns: number, value: number) => ({ data: new Float32Array(rows * columns).fill(value), width: columns, height: rows });
  const upsampled: LayerMaps = {
    attention: (o, rows, columns) => filled(rows, columns, 0.7),
    outline: (o, rows, columns) => ({ ...filled(rows, columns, 0), data: Float32Array.from({ length: rows * columns }, (_, i) => (i === 0 ? 1 : 0)) }),
  };

  it("is the attention map at the image size over the image plane, with the reader's opacity", () => {
    const layer = layerFor(view, outcome('s1'), { ...DEFAULT_HEATMAP, opacity: 0.3 }, upsampled)!;
    expect(layer.sopInstanceUID).toBe('s1');
    expect(layer.plane).toEqual(plane);
    expect([layer.attention?.width, layer.attention?.height]).toEqual([30, 40]);
    expect(layer.outline).toBeNull();
    expect(layer.opacity).toBe(0.3);
  });

  it('over a radiograph above the cap, is a capped map whose plane covers the whole image', () => {
    const large: ViewportImage = { viewportId: 'a', sopInstanceUID: 's1', plane: { ...plane, rows: 1024, columns: 1024, rowSpacing: 0.15, columnSpacing: 0.15 } };
    const layer = layerFor(large, outcome('s1'), { ...DEFAULT_HEATMAP, layers: 'both' }, upsampled)!;
    expect([layer.plane.columns, layer.plane.rows]).toEqual([512, 512]);
    expect([layer.attention?.width, layer.attention?.height]).toEqual([512, 512]);
    expect([layer.outline?.width, layer.outline?.height]).toEqual([512, 512]);
    // 512 pixels of 0.3 mm: the image's 1024 x 0.15 mm, not its top-left quarter.
    expect(layer.plane.columnSpacing).toBeCloseTo(0.3, 12);
    expect(layer.plane.rowSpacing).toBeCloseTo(0.3, 12);
    // The layer's first centre is half a layer pixel in from the image's edge: 0.15 - 0.075 mm past the image's first centre.
    layer.plane.origin.forEach((v, k) => expect(v).toBeCloseTo([0.075, 0.075, 0][k], 12));
  });

  it('is nothing when switched off or without a result', () => {
    expect(layerFor(view, outcome('s1'), { ...DEFAULT_HEATMAP, visible: false }, upsampled)).toBeNull();
    expect(layerFor(view, null, DEFAULT_HEATMAP, upsampled)).toBeNull();
  });

  it('changes its key with what is drawn (layers, outline level, result) but not with opacity', () => {
    const key = (settings: Partial<HeatmapSettings>, o = outcome('s1')) => layerFor(view, o, { ...DEFAULT_HEATMAP, ...settings }, upsampled)!.key;
    expect(key({ opacity: 0.1 })).toBe(key({ opacity: 0.9 }));
    expect(key({ layers: 'both' })).not.toBe(key({ layers: 'attention' }));
    expect(key({ layers: 'both', outlineLevel: 0.4 })).not.toBe(key({ layers: 'both', outlineLevel: 0.6 }));
    expect(key({}, outcome('s2'))).not.toBe(key({}));
  });

  it('draws only the outline when asked', () => {
    const layer = layerFor(view, outcome('s1'), { ...DEFAULT_HEATMAP, layers: 'outline' }, upsampled)!;
    expect(layer.attention).toBeNull();
    expect(layer.outline?.data.some(v => v === 1)).toBe(true);
  });
});

describe('HeatmapController', () => {
  it('gives each viewport the layer of its own image, and none to an image without a result', () => {
    const { sink, controller } = setup(
      [
        { viewportId: 'left', sopInstanceUID: 's1', plane },
        { viewportId: 'right', sopInstanceUID: 's2', plane },
        { viewportId: 'third', sopInstanceUID: 's3', plane },
      ],
      { s1: outcome('s1'), s2: outcome('s2') },
    );
    controller.reconcile();
    expect(sink.shown.get('left')?.sopInstanceUID).toBe('s1');
    expect(sink.shown.get('right')?.sopInstanceUID).toBe('s2');
    expect(sink.shown.has('third')).toBe(false);
  });

  it('removes the layer when the viewport moves to another image, the viewport goes, or the layer is switched off', () => {
    const { sink, controller, state } = setup([{ viewportId: 'a', sopInstanceUID: 's1', plane }, { viewportId: 'b', sopInstanceUID: 's1', plane }], { s1: outcome('s1') });
    controller.reconcile();
    expect(sink.viewportIds()).toEqual(['a', 'b']);
    state.views = [{ viewportId: 'a', sopInstanceUID: 's9', plane }];
    controller.reconcile();
    expect(sink.viewportIds()).toEqual([]);
    state.views = [{ viewportId: 'a', sopInstanceUID: 's1', plane }];
    controller.reconcile();
    expect(sink.viewportIds()).toEqual(['a']);
    state.settings = { ...DEFAULT_HEATMAP, visible: false };
    controller.reconcile();
    expect(sink.viewportIds()).toEqual([]);
  });

  it('coalesces scheduled redraws into one reconcile per frame', () => {
    const frames: (() => void)[] = [];
    const sink = new RecordingSink();
    const controller = new HeatmapController({
      sink,
      viewports: () => [{ viewportId: 'a', sopInstanceUID: 's1', plane }],
      heatmapForImage: () => outcome('s1'),
      settings: () => DEFAULT_HEATMAP,
      nextFrame: callback => frames.push(callback),
    });
    controller.schedule();
    controller.schedule();
    controller.schedule();
    expect(frames).toHaveLength(1);
    frames[0]();
    expect(sink.calls).toEqual(['show a s1']);
  });

  it('clear() removes every layer', () => {
    const { sink, controller } = setup([{ viewportId: 'a', sopInstanceUID: 's1', plane }], { s1: outcome('s1') });
    controller.reconcile();
    controller.clear();
    expect(sink.viewportIds()).toEqual([]);
  });
});
