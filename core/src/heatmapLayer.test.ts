import { InputError } from './errors';
import { attentionLayer, imageToWorld, layerGrid, layerPlane, outlineLayer, type ImagePlane, type Vec3 } from './heatmapLayer';

const axial: ImagePlane = {
  rows: 300,
  columns: 200,
  rowSpacing: 0.5,
  columnSpacing: 0.25,
  origin: [10, -20, 5],
  rowCosines: [1, 0, 0],
  columnCosines: [0, 1, 0],
};

// A plane tilted in patient space: rows along (0.6, 0.8, 0), columns along -z.
const tilted: ImagePlane = { ...axial, rowCosines: [0.6, 0.8, 0], columnCosines: [0, 0, -1] };

function expectClose(a: Vec3, b: Vec3, digits = 9) {
  a.forEach((value, k) => expect(value).toBeCloseTo(b[k], digits));
}

describe('layerGrid', () => {
  it('keeps small images at their own size and caps the longest side, keeping the aspect ratio', () => {
    expect(layerGrid(326, 296)).toEqual({ rows: 326, columns: 296 });
    expect(layerGrid(2500, 2048)).toEqual({ rows: 512, columns: 419 });
    expect(layerGrid(3, 4000, 512)).toEqual({ rows: 1, columns: 512 });
  });

  it('refuses a size that is not a positive integer', () => {
    expect(() => layerGrid(0, 10)).toThrow(new InputError('rows must be a positive integer, got 0'));
  });
});

describe('layerPlane: the registration transform', () => {
  it.each([
    ['an axial plane', axial],
    ['a tilted plane', tilted],
  ])('puts the layer over exactly the image area of %s', (_, source) => {
    const grid = { rows: 7, columns: 9 };
    const layer = layerPlane(source, grid);
    // Outer corners (pixel edges, half a pixel outside the first and last centres) coincide.
    expectClose(imageToWorld(layer, [-0.5, -0.5]), imageToWorld(source, [-0.5, -0.5]));
    expectClose(
      imageToWorld(layer, [grid.columns - 0.5, grid.rows - 0.5]),
      imageToWorld(source, [source.columns - 0.5, source.rows - 0.5]),
    );
    // So does the centre, and any fractional position scales with the size ratio.
    expectClose(imageToWorld(layer, [(grid.columns - 1) / 2, (grid.rows - 1) / 2]), imageToWorld(source, [(source.columns - 1) / 2, (source.rows - 1) / 2]));
    const [u, v] = [0.3, 0.85]; // fractions of the width and height
    expectClose(
      imageToWorld(layer, [u * grid.columns - 0.5, v * grid.rows - 0.5]),
      imageToWorld(source, [u * source.columns - 0.5, v * source.rows - 0.5]),
    );
    expect(layer.rowCosines).toEqual(source.rowCosines);
    expect(layer.columnCosines).toEqual(source.columnCosines);
  });

  it('is the identity for a layer of the image size', () => {
    const layer = layerPlane(axial, { rows: axial.rows, columns: axial.columns });
    expect(layer).toEqual(axial);
  });

  it('scales spacing by image/layer size on each axis', () => {
    const layer = layerPlane(axial, { rows: 100, columns: 50 });
    expect(layer.rowSpacing).toBeCloseTo(1.5, 12);
    expect(layer.columnSpacing).toBeCloseTo(1, 12);
    expectClose(layer.origin, [10 + 0.375, -20 + 0.5, 5]);
  });

  it('refuses a plane without positive spacing', () => {
    expect(() => layerPlane({ ...axial, rowSpacing: 0 }, { rows: 7, columns: 7 })).toThrow('row spacing must be positive, got 0');
  });
});

describe('layer contents', () => {
  const peak = { data: Float32Array.from([0, 0, 0, 0, 1, 0, 0, 0, 0]), width: 3, height: 3 };

  it('upsamples the CAM to the layer size, in [0, 1], warmest where the CAM peaks', () => {
    const layer = attentionLayer(peak, { rows: 30, columns: 20 });
    expect([layer.width, layer.height]).toEqual([20, 30]);
    const values = Array.from(layer.data);
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThanOrEqual(1);
    const at = (x: number, y: number) => layer.data[y * 20 + x];
    expect(at(10, 15)).toBeGreaterThan(0.9);
    expect(at(0, 0)).toBeLessThan(0.05);
  });

  it('outlines the region at or above the level with a one-pixel boundary', () => {
    const w = 7;
    const data = new Float32Array(w * w);
    for (let y = 2; y <= 4; y++) for (let x = 1; x <= 5; x++) data[y * w + x] = 0.8; // a 5x3 block
    const outline = outlineLayer({ data, width: w, height: w }, 0.5);
    const rows = Array.from({ length: w }, (_, y) => Array.from(outline.data.slice(y * w, y * w + w)).join(''));
    expect(rows).toEqual(['0000000', '0000000', '0111110', '0100010', '0111110', '0000000', '0000000']);
  });

  it('draws the image edge as boundary where the region touches it, and nothing for an empty region', () => {
    const full = outlineLayer({ data: new Float32Array(9).fill(1), width: 3, height: 3 }, 0.5);
    expect(Array.from(full.data)).toEqual([1, 1, 1, 1, 0, 1, 1, 1, 1]);
    const none = outlineLayer({ data: new Float32Array(9).fill(0.2), width: 3, height: 3 }, 0.5);
    expect(Array.from(none.data).every(v => v === 0)).toBe(true);
  });

  it('refuses an outline level outside (0, 1]', () => {
    expect(() => outlineLayer(peak, 0)).toThrow('outline level must lie in (0, 1], got 0');
  });
});
