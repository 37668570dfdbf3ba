import { InputError } from './errors';
import { Preprocessor, checkUnitRange, preprocess, tensorDims, type InputSpec } from './preprocess';
import { BILINEAR, resize, type GreyImage } from './resize';

const SPEC: InputSpec = { height: 4, width: 5, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

function ramp(width: number, height: number): GreyImage {
  const data = new Float32Array(width * height);
  for (let i = 0; i < data.length; i++) data[i] = i / (data.length - 1);
  return { data, width, height };
}

describe('preprocess', () => {
  it('replicates the resized grey into three channels with per-channel mean and std (float32 arithmetic)', () => {
    const grey = ramp(9, 7);
    const resized = resize(grey, 5, 4, BILINEAR).data;
    const out = preprocess(grey, SPEC);
    expect(out).toHaveLength(3 * 4 * 5);
    for (let c = 0; c < 3; c++) {
      for (let i = 0; i < 20; i++) {
        const expected = Math.fround(Math.fround(resized[i] - Math.fround(SPEC.mean[c])) / Math.fround(SPEC.std[c]));
        expect(out[c * 20 + i]).toBe(expected);
      }
    }
  });

  it('writes into a given buffer', () => {
    const buffer = new Float32Array(60);
    expect(preprocess(ramp(9, 7), SPEC, buffer)).toBe(buffer);
  });

  it('Preprocessor reuses its tensor and gives the same numbers as preprocess', () => {
    const p = new Preprocessor(SPEC);
    expect(p.dims).toEqual([1, 3, 4, 5]);
    const first = p.run(ramp(9, 7));
    const expected = Array.from(preprocess(ramp(9, 7), SPEC));
    expect(Array.from(first)).toEqual(expected);
    expect(p.run(ramp(6, 6))).toBe(first);
  });

  it('refuses grey values outside [0, 1], naming the value and where it is', () => {
    const grey = ramp(3, 2);
    grey.data[4] = 1.5;
    expect(() => preprocess(grey, SPEC)).toThrow(/got 1.5 at row 1, column 1/);
  });

  it('refuses non-finite grey values', () => {
    const grey = ramp(3, 2);
    grey.data[0] = Number.NaN;
    expect(() => checkUnitRange(grey)).toThrow(InputError);
  });

  it('describes the tensor as [1, 3, H, W]', () => {
    expect(tensorDims(SPEC)).toEqual([1, 3, 4, 5]);
  });
});
