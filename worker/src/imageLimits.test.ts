import { type DicomJson, InputError } from '@chestaid/core';
import { checkBeforeFetch, DEFAULT_LIMITS } from './imageLimits';

const meta = (fields: Record<string, number | string | undefined>): DicomJson => {
  const tags: Record<string, string> = { Rows: '00280010', Columns: '00280011', SamplesPerPixel: '00280002', BitsAllocated: '00280100', NumberOfFrames: '00280008' };
  const out: DicomJson = {};
  for (const [name, v] of Object.entries(fields)) if (v !== undefined) out[tags[name]] = { vr: 'US', Value: [v] };
  return out;
};

describe('checkBeforeFetch', () => {
  it('gives a byte cap of the announced pixel data plus the header allowance', () => {
    expect(checkBeforeFetch(meta({ Rows: 100, Columns: 200, BitsAllocated: 16 }), DEFAULT_LIMITS, 'x')).toBe(100 * 200 * 2 + DEFAULT_LIMITS.headerBytes);
  });

  it('refuses a multi-frame image, a huge one and one without dimensions, naming the attribute, before any pixel is fetched', () => {
    expect(() => checkBeforeFetch(meta({ Rows: 10, Columns: 10, BitsAllocated: 16, NumberOfFrames: '40' }), DEFAULT_LIMITS, 'instance 1.2')).toThrow(
      /instance 1\.2 has 40 frames; the worker reads images of at most 1/,
    );
    expect(() => checkBeforeFetch(meta({ Rows: 20000, Columns: 20000, BitsAllocated: 16 }), DEFAULT_LIMITS, 'x')).toThrow(/20000 x 20000 pixels, over the worker's limit/);
    expect(() => checkBeforeFetch(meta({ Columns: 10, BitsAllocated: 16 }), DEFAULT_LIMITS, 'x')).toThrow(InputError);
    expect(() => checkBeforeFetch(meta({ Rows: 10, Columns: 10, BitsAllocated: 64 }), DEFAULT_LIMITS, 'x')).toThrow(/BitsAllocated 64/);
  });
});
