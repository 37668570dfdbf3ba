import { InputError } from './errors';
import { toUnitGrey } from './pixels';
import { crAttributes } from './testing/crAttributes';
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

  it('Preprocessor keeps the resized grey image of its last run for the input check', () => {
    const p = new Preprocessor(SPEC);
    p.run(ramp(9, 7));
    const { data, width, height } = p.resizedImage;
    expect([width, height]).toEqual([5, 4]);
    expect(Array.from(data)).toEqual(Array.from(resize(ramp(9, 7), 5, 4, BILINEAR).data));
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

describe('Preprocessor.runStored (no full-size grey image)', () => {
  const spec: InputSpec = { height: 224, width: 224, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

  /** Stored values with structure at every scale, within `bits`. */
  function stored(rows: number, columns: number, bits: number, Type: Uint16ArrayConstructor | Int16ArrayConstructor = Uint16Array) {
    const out = new Type(rows * columns);
    const max = 2 ** bits;
    for (let i = 0; i < out.length; i++) out[i] = (((i * 7919) % 104729) ^ (i >>> 3)) % max;
    return out;
  }

  it.each([
    ['a 12-bit MONOCHROME2 CR, shrunk', crAttributes({ rows: 500, columns: 410, windowCenter: 2000, windowWidth: 3000 }), stored(500, 410, 12)],
    ['MONOCHROME1 without a window', crAttributes({ rows: 300, columns: 224, photometricInterpretation: 'MONOCHROME1' }), stored(300, 224, 12)],
    ['an image smaller than the model input', crAttributes({ rows: 120, columns: 96 }), stored(120, 96, 12)],
    ['exactly the model size', crAttributes({ rows: 224, columns: 224 }), stored(224, 224, 12)],
    ['signed 16-bit with a rescale', crAttributes({ rows: 256, columns: 300, bitsStored: 16, pixelRepresentation: 1, rescaleSlope: 0.5, rescaleIntercept: -100 }), stored(256, 300, 15)],
  ])('gives run(toUnitGrey(...)) bit for bit: %s', (_case, attributes, pixels) => {
    const expected = Array.from(new Preprocessor(spec).run(toUnitGrey(attributes, pixels)));
    const got = new Preprocessor(spec).runStored(attributes, pixels);
    expect(Array.from(got)).toEqual(expected);
  });

  it('undoes a decoder\'s pre-scaling as toUnitGrey does', () => {
    const attributes = crAttributes({ rows: 240, columns: 260, rescaleSlope: 2, rescaleIntercept: -1024 });
    const codes = stored(240, 260, 12);
    const scaled = Int16Array.from(codes, v => v * 2 - 1024);
    const p = new Preprocessor(spec);
    const expected = Array.from(p.run(toUnitGrey(attributes, codes)));
    expect(Array.from(p.runStored({ ...attributes, modalityLutApplied: true }, scaled))).toEqual(expected);
  });

  it('refuses what toUnitGrey refuses, with its message', () => {
    const attributes = crAttributes({ rows: 2, columns: 2, modality: 'CT' });
    expect(() => new Preprocessor(spec).runStored(attributes, new Uint16Array(4), { acceptedModalities: ['CR', 'DX'] })).toThrow(
      'ChestAid analyses chest radiographs (CR/DX); this image is CT',
    );
    const bad = crAttributes({ rows: 2, columns: 2, rescaleSlope: 2, rescaleIntercept: 0, modalityLutApplied: true });
    expect(() => new Preprocessor(spec).runStored(bad, Int16Array.of(0, 2, 3, 4))).toThrow(/pre-scaled pixel value 3 at row 1, column 0/);
  });
});
