import { camToHeatmap, normalise, relu, upsample } from './cam';
import { BICUBIC, resize, type GreyImage } from './resize';

function map(values: number[], width: number, height: number): GreyImage {
  return { data: Float32Array.from(values), width, height };
}

describe('CAM stages', () => {
  it('relu zeroes negative evidence and keeps the rest', () => {
    expect(Array.from(relu(map([-1, 0, 2, -0.5], 2, 2)).data)).toEqual([0, 0, 2, 0]);
  });

  it('normalise divides by the maximum so the peak is 1', () => {
    const out = normalise(map([0, 1, 2, 4], 2, 2));
    expect(Array.from(out.data)).toEqual([0, 0.25, 0.5, 1]);
  });

  it('normalise keeps an all-zero map zero (no NaN)', () => {
    const out = normalise(map([0, 0, 0, 0], 2, 2));
    expect(Array.from(out.data)).toEqual([0, 0, 0, 0]);
  });

  it('normalise treats a map with only negative values as all zero', () => {
    expect(Array.from(normalise(map([-3, -1], 2, 1)).data)).toEqual([0, 0]);
  });

  it('normalise refuses non-finite values, naming them', () => {
    expect(() => normalise(map([0, Number.NaN], 2, 1))).toThrow(/CAM value NaN at index 1/);
  });

  it('upsample is Pillow bicubic clipped to [0, 1]', () => {
    // A single hot cell: the cubic kernel's negative lobes undershoot next to it.
    const src = map([0, 0, 0, 0, 1, 0, 0, 0, 0], 3, 3);
    const raw = resize(src, 9, 7, BICUBIC);
    expect(Math.min(...raw.data)).toBeLessThan(0);
    const up = upsample(src, 7, 9);
    expect([up.width, up.height]).toEqual([9, 7]);
    up.data.forEach((v, i) => expect(v).toBe(Math.min(1, Math.max(0, raw.data[i]))));
  });

  it('upsample leaves its input untouched', () => {
    const src = map([0, 0.5, 1, 0.25], 2, 2);
    upsample(src, 5, 5);
    expect(Array.from(src.data)).toEqual([0, 0.5, 1, 0.25]);
  });

  it('camToHeatmap runs relu, normalise and upsample in order', () => {
    const raw = map([-2, 1, 4, 2], 2, 2);
    expect(camToHeatmap(raw, 6, 6)).toEqual(upsample(normalise(relu(raw)), 6, 6));
    expect(Array.from(camToHeatmap(map([0, 0, 0, 0], 2, 2), 4, 4).data).every((v) => v === 0)).toBe(true);
  });
});
