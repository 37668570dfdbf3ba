import { InputError } from './errors';
import { crAttributes } from './testing/crAttributes';
import { fullRangeWindow, toUnitGrey, voiLutLinear, type PixelAttributes, type StoredPixels } from './pixels';

const CR_DX = ['CR', 'DX'];

const attrs = crAttributes;

function grey(a: PixelAttributes, pixels: StoredPixels): number[] {
  return Array.from(toUnitGrey(a, pixels, { acceptedModalities: CR_DX }).data);
}

function refusal(a: PixelAttributes, pixels: StoredPixels | null): string {
  try {
    toUnitGrey(a, pixels, { acceptedModalities: CR_DX });
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return (e as Error).message;
  }
  throw new Error('expected an InputError');
}

describe('voiLutLinear (PS3.3 C.11.2.1.2.1, output [0, 1])', () => {
  // c = 100, w = 11: lower threshold 94.5, upper 104.5, slope 1/10.
  it.each([
    [94, 0],
    [94.5, 0],
    [95, 0.05],
    [99.5, 0.5],
    [104, 0.95],
    [104.5, 1],
    [105, 1],
  ])('maps %p to %p at the window boundaries', (x, y) => {
    expect(voiLutLinear(x, 100, 11)).toBeCloseTo(y, 12);
  });

  it('is a step at c - 0.5 when the width is 1', () => {
    expect(voiLutLinear(9.5, 10, 1)).toBe(0);
    expect(voiLutLinear(9.6, 10, 1)).toBe(1);
  });

  it('maps the ends of the full-range window exactly to 0 and 1', () => {
    const { center, width } = fullRangeWindow(0, 4095);
    expect([center, width]).toEqual([2048, 4096]);
    expect(voiLutLinear(0, center, width)).toBe(0);
    expect(voiLutLinear(4095, center, width)).toBe(1);
  });
});

describe('toUnitGrey', () => {
  it('applies the first window of a multi-valued window and clips outside it', () => {
    const a = attrs({ windowCenter: [100, 2000], windowWidth: [11, 4000] });
    const inside = (x: number) => Math.fround((x - 99.5) / 10 + 0.5);
    expect(grey(a, new Uint16Array([90, 95, 104, 300]))).toEqual([0, inside(95), inside(104), 1]);
  });

  it('applies the modality LUT (slope, intercept) before the window', () => {
    // Window c 200, w 101 covers modality values 149.5 to 249.5; stored 612 -> 2 * 612 - 1024 = 200.
    const a = attrs({ rescaleSlope: 2, rescaleIntercept: -1024, windowCenter: 200, windowWidth: 101 });
    const inside = (x: number) => Math.fround((x - 199.5) / 100 + 0.5);
    expect(grey(a, new Uint16Array([0, 612, 4095, 600]))).toEqual([0, inside(200), 1, inside(176)]);
  });

  it.each([
    [8, 8, new Uint8Array([0, 128, 255, 1])],
    [16, 12, new Uint16Array([0, 2048, 4095, 1])],
    [16, 16, new Uint16Array([0, 32768, 65535, 1])],
  ])('maps the full %p/%p-bit stored range onto [0, 1] without a window', (allocated, stored, pixels) => {
    const top = 2 ** stored - 1;
    const out = grey(attrs({ bitsAllocated: allocated, bitsStored: stored }), pixels);
    expect(out[0]).toBe(0);
    expect(out[2]).toBe(1);
    expect(out[1]).toBeCloseTo(pixels[1] / top, 6);
    expect(out[3]).toBeCloseTo(1 / top, 6);
  });

  it('inverts MONOCHROME1 so that dense stays bright', () => {
    const pixels = new Uint16Array([0, 1000, 3000, 4095]);
    const m2 = grey(attrs(), pixels);
    const m1 = grey(attrs({ photometricInterpretation: 'MONOCHROME1' }), pixels);
    m1.forEach((v, i) => expect(v).toBeCloseTo(1 - m2[i], 7));
    expect(m1[0]).toBe(1);
    expect(m1[3]).toBe(0);
  });

  it('reads signed pixels, sign-extended or as raw BitsStored-bit words', () => {
    const a = attrs({ pixelRepresentation: 1, bitsStored: 12 });
    const extended = grey(a, new Int16Array([-2048, -1, 0, 2047]));
    // The same values as raw 16-bit words with garbage above bit 11 (0xF000) or none.
    const raw = grey(a, new Uint16Array([0x0800, 0xffff, 0xf000, 0x07ff]));
    expect(raw).toEqual(extended);
    expect(extended[0]).toBe(0);
    expect(extended[3]).toBe(1);
    // The signed full range is [-2048, 2047]: window centre 0, width 4096.
    expect(extended[2]).toBe(Math.fround(0.5 / 4095 + 0.5));
  });

  it('returns an image of columns x rows and leaves the input untouched', () => {
    const pixels = new Uint16Array([1, 2, 3, 4, 5, 6]);
    const out = toUnitGrey(attrs({ rows: 2, columns: 3 }), pixels, { acceptedModalities: CR_DX });
    expect([out.width, out.height, out.data.length]).toEqual([3, 2, 6]);
    expect(Array.from(pixels)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('accepts any modality when no accepted list is given', () => {
    expect(() => toUnitGrey(attrs({ modality: 'CT' }), new Uint16Array(4))).not.toThrow();
  });

  describe('pixels a decoder already rescaled (modalityLutApplied)', () => {
    const stored = new Uint16Array([0, 612, 1000, 4095]);
    const rescaled = (slope: number, intercept: number, Type: Int16ArrayConstructor | Float32ArrayConstructor) => {
      const out = new Type(stored.length);
      stored.forEach((v, i) => (out[i] = v * slope + intercept));
      return out;
    };

    it.each([
      ['a window', { windowCenter: 200, windowWidth: 101 }],
      ['no window (the full stored range)', {}],
    ])('gives exactly the stored values\' grey with %s, without rescaling twice', (_name, window) => {
      const a = attrs({ rescaleSlope: 2, rescaleIntercept: -1024, ...window });
      const expected = grey(a, stored);
      expect(grey({ ...a, modalityLutApplied: true }, rescaled(2, -1024, Int16Array))).toEqual(expected);
    });

    it('recovers stored codes from float32 values of a fractional slope', () => {
      const a = attrs({ rescaleSlope: 0.37, rescaleIntercept: 12.25 });
      expect(grey({ ...a, modalityLutApplied: true }, rescaled(0.37, 12.25, Float32Array))).toEqual(grey(a, stored));
    });

    it('reads signed pre-scaled values', () => {
      const a = attrs({ pixelRepresentation: 1, rescaleSlope: 1, rescaleIntercept: -1000 });
      const signed = new Int16Array([-2048, -1, 0, 2047]);
      expect(grey({ ...a, modalityLutApplied: true }, Int16Array.from(signed, v => v - 1000))).toEqual(grey(a, signed));
    });

    it('refuses a value no stored code explains (the decoder used other parameters)', () => {
      const a = attrs({ rescaleSlope: 2, rescaleIntercept: -1024, modalityLutApplied: true });
      expect(refusal(a, new Int16Array([-1024, 201, 0, 0]))).toMatch(
        /pre-scaled pixel value 201 at row 0, column 1 is not RescaleSlope 2 \* a 12-bit stored value \+ RescaleIntercept -1024/,
      );
      expect(refusal(a, new Int16Array([-1024, 8000, 0, 0]))).toMatch(/pre-scaled pixel value 8000/);
    });

    it('refuses floating-point pixels that are not said to be rescaled', () => {
      expect(refusal(attrs(), new Float32Array(4))).toMatch(/floating-point pixel data must already hold modality LUT output/);
    });
  });

  describe('refuses, naming the value', () => {
    const four = new Uint16Array(4);
    it.each<[string, Partial<PixelAttributes>, RegExp]>([
      ['an RGB image', { photometricInterpretation: 'RGB', samplesPerPixel: 3 }, /PhotometricInterpretation "RGB"/],
      ['a YBR_FULL image', { photometricInterpretation: 'YBR_FULL' }, /PhotometricInterpretation "YBR_FULL"/],
      ['a PALETTE COLOR image', { photometricInterpretation: 'PALETTE COLOR' }, /"PALETTE COLOR"/],
      ['three samples per pixel', { samplesPerPixel: 3 }, /SamplesPerPixel must be 1.*got 3/],
      ['a multi-frame image', { numberOfFrames: 3 }, /NumberOfFrames 3 is not supported/],
      ['a CT image', { modality: 'CT' }, /^ChestAid analyses chest radiographs \(CR\/DX\); this image is CT$/],
      ['an MR image', { modality: 'MR' }, /this image is MR$/],
      ['an image without modality', { modality: undefined }, /this image has no Modality/],
      ['RescaleSlope 0', { rescaleSlope: 0 }, /RescaleSlope 0/],
      ['a non-finite RescaleIntercept', { rescaleIntercept: Number.NaN }, /RescaleIntercept .*NaN/],
      ['BitsStored 0', { bitsStored: 0 }, /BitsStored 0 is not supported; expected 1 to 16/],
      ['BitsStored 17', { bitsStored: 17, bitsAllocated: 32 }, /BitsStored 17 is not supported/],
      ['BitsStored above BitsAllocated', { bitsStored: 12, bitsAllocated: 8 }, /BitsStored 12 exceeds BitsAllocated 8/],
      ['a SIGMOID VOI function', { voiLutFunction: 'SIGMOID' }, /VOILUTFunction "SIGMOID" is not supported/],
      ['a window narrower than 1', { windowCenter: 10, windowWidth: 0.5 }, /WindowWidth must be >= 1.*0\.5/],
      ['a Modality LUT Sequence', { hasModalityLutSequence: true }, /Modality LUT Sequence/],
      ['a VOI LUT Sequence without a window', { hasVoiLutSequence: true }, /VOI LUT Sequence without/],
      ['PixelRepresentation 2', { pixelRepresentation: 2 }, /PixelRepresentation must be 0 or 1, got 2/],
    ])('%s', (_name, overrides, message) => {
      expect(refusal(attrs(overrides), four)).toMatch(message);
    });

    it('missing pixel data', () => {
      expect(refusal(attrs(), null)).toMatch(/no pixel data; expected 1 x 4 = 4 values/);
    });

    it('empty pixel data', () => {
      expect(refusal(attrs(), new Uint16Array(0))).toMatch(/no pixel data/);
    });

    it('short (truncated) pixel data', () => {
      expect(refusal(attrs({ rows: 2, columns: 3 }), new Uint16Array(5))).toMatch(
        /pixel data holds 5 values; expected 2 x 3 = 6/,
      );
    });
  });
});
