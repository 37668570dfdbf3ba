import { InputError } from './errors';
import {
  attentionLayer,
  imageToWorld,
  layerGrid,
  layerPlane,
  layerPlaneOver,
  MAX_LAYER_SIDE,
  outlineLayer,
  type ImagePlane,
  type Vec3,
} from './heatmapLayer';

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

describe('layerPlaneOver: the layer over a radiograph of any size', () => {
  // Radiographs as Cornerstone describes them: columns x rows, from demo size to detector size.
  const sizes: [number, number][] = [
    [256, 256],
    [300, 400],
    [512, 512],
    [1024, 1024],
    [2048, 2500],
    [3000, 2500],
    [4096, 4096],
  ];
  const spacings = [
    // PixelSpacing and ImagerPixelSpacing absent: Cornerstone lays the image out at 1 mm.
    { spacing: 'no pixel spacing (1 mm)', rowSpacing: 1, columnSpacing: 1 },
    { spacing: '0.139 mm', rowSpacing: 0.139, columnSpacing: 0.139 },
    { spacing: 'anisotropic 0.2 x 0.125 mm', rowSpacing: 0.2, columnSpacing: 0.125 },
  ];
  const placements = [
    // A DX without patient coordinates: Cornerstone's default origin and orientation.
    { placement: 'default DX frame', origin: [0, 0, 0] as Vec3, rowCosines: [1, 0, 0] as Vec3, columnCosines: [0, 1, 0] as Vec3 },
    { placement: 'tilted, off-origin', origin: [-180.5, 40.25, 1200] as Vec3, rowCosines: [0.6, 0.8, 0] as Vec3, columnCosines: [0, 0, -1] as Vec3 },
  ];
  const cases = sizes.flatMap(([columns, rows]) =>
    spacings.flatMap(s => placements.map(p => ({ name: `${columns}x${rows}, ${s.spacing}, ${p.placement}`, columns, rows, ...s, ...p }))),
  );
  const planeOf = (c: (typeof cases)[number]): ImagePlane => ({
    rows: c.rows,
    columns: c.columns,
    rowSpacing: c.rowSpacing,
    columnSpacing: c.columnSpacing,
    origin: c.origin,
    rowCosines: c.rowCosines,
    columnCosines: c.columnCosines,
  });

  const distance = (a: Vec3, b: Vec3) => Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
  /** The (fractional) pixel indices [column, row] of a world point on `plane`: imageToWorld inverted. */
  const worldToImage = (plane: ImagePlane, w: Vec3): [number, number] => {
    const d = [w[0] - plane.origin[0], w[1] - plane.origin[1], w[2] - plane.origin[2]];
    const dot = (u: Vec3) => d[0] * u[0] + d[1] * u[1] + d[2] * u[2];
    return [dot(plane.rowCosines) / plane.columnSpacing, dot(plane.columnCosines) / plane.rowSpacing];
  };
  /** The outer corners of a plane's extent: pixel edges, half a pixel outside the corner centres. */
  const extentCorners = (p: ImagePlane): Vec3[] =>
    [
      [-0.5, -0.5],
      [p.columns - 0.5, -0.5],
      [-0.5, p.rows - 0.5],
      [p.columns - 0.5, p.rows - 0.5],
    ].map(([i, j]) => imageToWorld(p, [i, j]));
  // "To 1e-6 relative": relative to the size of the image, its diagonal in mm.
  const tolerance = (p: ImagePlane) => 1e-6 * Math.hypot(p.columns * p.columnSpacing, p.rows * p.rowSpacing);

  it.each(cases)('covers the whole image, edge to edge, at most MAX_LAYER_SIDE a side: $name', c => {
    const image = planeOf(c);
    const layer = layerPlaneOver(image);
    expect(Math.max(layer.rows, layer.columns)).toBe(Math.min(MAX_LAYER_SIDE, Math.max(image.rows, image.columns)));
    const imageCorners = extentCorners(image);
    extentCorners(layer).forEach((corner, k) => expect(distance(corner, imageCorners[k])).toBeLessThanOrEqual(tolerance(image)));
    expect(layer.rowCosines).toEqual(image.rowCosines);
    expect(layer.columnCosines).toEqual(image.columnCosines);
  });

  it.each(cases)('puts the layer pixel of a hot spot at image pixel (r, c) over that pixel: $name', c => {
    const image = planeOf(c);
    const layer = layerPlaneOver(image);
    const [ratioX, ratioY] = [image.columns / layer.columns, image.rows / layer.rows];
    const spots = [
      [0, 0],
      [image.rows - 1, image.columns - 1],
      [0, image.columns - 1],
      [Math.floor(image.rows * 0.7), Math.floor(image.columns * 0.3)],
    ];
    for (const [r, col] of spots) {
      const spot = imageToWorld(image, [col, r]);
      // The same fraction of the extent in layer pixels: (k + 1/2) / n = (i + 1/2) / N.
      const k: [number, number] = [((col + 0.5) * layer.columns) / image.columns - 0.5, ((r + 0.5) * layer.rows) / image.rows - 0.5];
      expect(distance(imageToWorld(layer, k), spot)).toBeLessThanOrEqual(tolerance(image));
      // The layer pixel drawn there is within its own half-width of the image pixel, on each axis.
      const [i, j] = worldToImage(image, imageToWorld(layer, [Math.round(k[0]), Math.round(k[1])]));
      expect(Math.abs(i - col)).toBeLessThanOrEqual(ratioX / 2 + 1e-6);
      expect(Math.abs(j - r)).toBeLessThanOrEqual(ratioY / 2 + 1e-6);
    }
  });

  it.each(cases.filter(c => c.placement === 'tilted, off-origin'))('draws the CAM\'s peak over the part of the image the CAM put it on: $name', c => {
    const image = planeOf(c);
    const layer = layerPlaneOver(image);
    // A 7x7 CAM (the model's grid) hot in the cell at row 1, column 5.
    const cam = { data: new Float32Array(49), width: 7, height: 7 };
    cam.data[1 * 7 + 5] = 1;
    const map = attentionLayer(cam, layer);
    let hottest = 0;
    for (let p = 1; p < map.data.length; p++) if (map.data[p] > map.data[hottest]) hottest = p;
    const drawn = imageToWorld(layer, [hottest % map.width, Math.floor(hottest / map.width)]);
    // The CAM stretches over the image edge to edge: cell (1, 5)'s centre is image pixel
    // ((5 + 1/2) N/7 - 1/2, (1 + 1/2) M/7 - 1/2).
    const [i, j] = worldToImage(image, drawn);
    expect(Math.abs(i - ((5.5 * image.columns) / 7 - 0.5))).toBeLessThanOrEqual(image.columns / layer.columns);
    expect(Math.abs(j - ((1.5 * image.rows) / 7 - 0.5))).toBeLessThanOrEqual(image.rows / layer.rows);
  });

  it('is the image plane itself, exactly, for an image within the cap', () => {
    const image: ImagePlane = { ...tilted, rows: 326, columns: 296, rowSpacing: 0.139, columnSpacing: 0.139 };
    expect(layerPlaneOver(image)).toEqual(image);
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
