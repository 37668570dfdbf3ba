import { InputError } from './errors';
import { BICUBIC, BILINEAR, resize, resizeRows, type GreyImage, type ResampleFilter } from './resize';

/** The test pattern ((i * 37 + 11) mod 101) / 100 as float32, row-major. */
function pattern(width: number, height: number): GreyImage {
  const data = new Float32Array(width * height);
  for (let i = 0; i < data.length; i++) data[i] = ((i * 37 + 11) % 101) / 100;
  return { data, width, height };
}

/*
 * Pillow 9.4.0 on the same pattern, printed as float64 reprs of its float32 output:
 *   src = (((np.arange(w*h)*37+11) % 101) / 100.0).astype(np.float32).reshape(h, w)
 *   Image.fromarray(src, mode='F').resize((out_w, out_h), Image.BILINEAR or Image.BICUBIC)
 * These are Pillow's numbers, not the model's, so they do not change when the model is retrained.
 */
const PILLOW: [number, number, number, number, ResampleFilter, number[]][] = [
  [13, 10, 5, 4, BILINEAR, [
    0.46819695830345154, 0.5636363625526428, 0.4766233563423157, 0.4861983358860016, 0.48592424392700195,
    0.46773332357406616, 0.5083878636360168, 0.553942859172821, 0.5103030204772949, 0.48240000009536743,
    0.47835999727249146, 0.47653332352638245, 0.49973711371421814, 0.5372121334075928, 0.5239999890327454,
    0.5511060357093811, 0.4890633523464203, 0.4441038966178894, 0.5034435391426086, 0.44028788805007935,
  ]],
  [5, 3, 8, 6, BILINEAR, [
    0.10999999940395355, 0.2718749940395355, 0.503125011920929, 0.734375, 0.6500000357627869, 0.25,
    0.4181249737739563, 0.5799999833106995, 0.3199999928474426, 0.3714062571525574, 0.4606249928474426,
    0.6918749809265137, 0.6075000166893005, 0.20749999582767487, 0.37562498450279236, 0.5374999642372131,
    0.7400000095367432, 0.5704687833786011, 0.37562501430511475, 0.6068750023841858, 0.5225000381469727,
    0.12250000238418579, 0.2906250059604645, 0.45249998569488525, 0.9074999690055847, 0.6274999976158142,
    0.2906250059604645, 0.5218749642372131, 0.5164062976837158, 0.27421873807907104, 0.3160937428474426,
    0.3675000071525574, 0.8224999904632568, 0.5424999594688416, 0.2056249976158142, 0.43687498569488525,
    0.5892187356948853, 0.6626562476158142, 0.4520312249660492, 0.2824999988079071, 0.7799999713897705,
    0.4999999701976776, 0.16312499344348907, 0.3943749964237213, 0.6256250143051147, 0.8568750023841858,
    0.5199999809265137, 0.23999999463558197,
  ]],
  [7, 7, 11, 9, BICUBIC, [
    0.05364044010639191, 0.23696446418762207, 0.5402345061302185, 0.8475083708763123, 0.6520833373069763,
    0.18301774561405182, 0.4058999717235565, 0.7337968349456787, 0.9771090149879456, 0.5881256461143494,
    0.23465608060359955, 0.5554603934288025, 0.3477955758571625, 0.14684312045574188, 0.40752869844436646,
    0.593280017375946, 0.6282142400741577, 0.34178489446640015, 0.3121916949748993, 0.6544512510299683,
    0.7327181100845337, 0.7314034700393677, 0.513684868812561, 0.38791623711586, 0.2925778329372406,
    0.563021719455719, 0.6689321994781494, 0.5982990264892578, 0.4588603079319, 0.3228951096534729,
    0.2464984506368637, 0.5419638156890869, 0.7885004281997681, 0.30112215876579285, 0.3983251452445984,
    0.5940572023391724, 0.9063906669616699, 0.7919307947158813, 0.418175607919693, 0.595528244972229,
    0.5568044185638428, 0.1717916876077652, 0.2232593297958374, 0.33510589599609375, 0.8550000190734863,
    0.5247431397438049, 0.1656949669122696, 0.41177311539649963, 0.7170398235321045, 0.9100000262260437,
    0.47085651755332947, 0.3253794312477112, 0.6405108571052551, 0.28525686264038086, -0.044999998062849045,
    0.4022332429885864, 0.5480638742446899, 0.6388443112373352, 0.22456204891204834, 0.23523177206516266,
    0.5871742367744446, 0.7608035206794739, 0.6511828899383545, 0.2700975239276886, 0.3640710115432739,
    0.5088778734207153, 0.715907096862793, 0.6123682260513306, 0.471588671207428, 0.4560335576534271,
    0.3177845776081085, 0.15628257393836975, 0.4326576292514801, 0.6066523194313049, 0.5432618260383606,
    0.39985400438308716, 0.29631516337394714, 0.8665317893028259, 0.6721938848495483, 0.4453939199447632,
    0.5600051283836365, 0.4336884319782257, 0.1817857176065445, 0.40396079421043396, 0.6157019734382629,
    0.6785231232643127, 0.4488775432109833, 0.2545396089553833, 0.4497942626476288, 0.6889492869377136,
    0.8718341588973999, 0.34691616892814636, 0.281708687543869, 0.6269822716712952, 0.9423337578773499,
    0.855789303779602, 0.3341401219367981, 0.5172045826911926, 0.7563595771789551,
  ]],
  [9, 6, 4, 5, BICUBIC, [
    0.4249650239944458, 0.5211303234100342, 0.6502538323402405, 0.40446069836616516, 0.47833988070487976,
    0.49782833456993103, 0.5556440949440002, 0.6288838386535645, 0.3269611597061157, 0.45535704493522644,
    0.5438351631164551, 0.5924835205078125, 0.35043036937713623, 0.38860848546028137, 0.47026902437210083,
    0.5921153426170349, 0.682288408279419, 0.43085041642189026, 0.4375549554824829, 0.4466666281223297,
  ]],
];

describe('resize', () => {
  it.each(PILLOW.map(([w, h, ow, oh, f, expected]) => [`${w}x${h}`, `${ow}x${oh}`, f.name, w, h, ow, oh, f, expected] as const))(
    'reproduces Pillow bit for bit: %s -> %s %s',
    (_from, _to, _filter, w, h, ow, oh, filter, expected) => {
      const out = resize(pattern(w, h), ow, oh, filter);
      expect([out.width, out.height]).toEqual([ow, oh]);
      expect(Array.from(out.data)).toEqual(expected);
    },
  );

  it('returns an identical copy when the size is unchanged', () => {
    const src = pattern(6, 4);
    const out = resize(src, 6, 4);
    expect(out.data).not.toBe(src.data);
    expect(Array.from(out.data)).toEqual(Array.from(src.data));
  });

  it('resizes one axis only when the other is unchanged', () => {
    const src = pattern(8, 3);
    const out = resize(src, 4, 3);
    // Each output row depends on its own input row only.
    const row1 = resize({ data: src.data.slice(8, 16), width: 8, height: 1 }, 4, 1);
    expect(Array.from(out.data.slice(4, 8))).toEqual(Array.from(row1.data));
  });

  it('antialiases when shrinking: a one-pixel checkerboard becomes uniform grey', () => {
    // 63 -> 7: every output centre falls on an input pixel centre, so a sampler without the
    // widened filter would return pure 0s and 1s.
    const n = 63;
    const data = new Float32Array(n * n);
    for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) data[y * n + x] = (x + y) % 2;
    const out = resize({ data, width: n, height: n }, 7, 7, BILINEAR);
    for (const v of out.data) expect(Math.abs(v - 0.5)).toBeLessThan(0.01);
  });

  it('keeps a constant image constant (weights are normalised, also at the edges)', () => {
    const out = resize({ data: new Float32Array(35).fill(0.25), width: 7, height: 5 }, 16, 3, BICUBIC);
    for (const v of out.data) expect(v).toBeCloseTo(0.25, 7);
  });

  it('writes into a given output buffer and leaves the source untouched', () => {
    const src = pattern(10, 10);
    const before = Array.from(src.data);
    const buffer = new Float32Array(12);
    const out = resize(src, 4, 3, BILINEAR, buffer);
    expect(out.data).toBe(buffer);
    expect(Array.from(src.data)).toEqual(before);
  });

  it.each([
    ['a zero target width', 0, 4, /target width must be a positive integer, got 0/],
    ['a fractional target height', 4, 2.5, /target height must be a positive integer, got 2.5/],
  ])('refuses %s', (_name, w, h, message) => {
    expect(() => resize(pattern(4, 4), w as number, h as number)).toThrow(message as RegExp);
  });

  it('refuses data whose length does not match its size', () => {
    expect(() => resize({ data: new Float32Array(5), width: 2, height: 3 }, 4, 4)).toThrow(InputError);
  });

  it('refuses an output buffer of the wrong size', () => {
    expect(() => resize(pattern(4, 4), 2, 2, BILINEAR, new Float32Array(3))).toThrow(/output buffer holds 3 values/);
  });
});

describe('resizeRows (rows read on demand)', () => {
  /** A RowSource over a GreyImage that records which rows were read. */
  function rowsOf(image: GreyImage) {
    const read: number[] = [];
    return {
      read,
      source: {
        width: image.width,
        height: image.height,
        readRow: (y: number, out: Float32Array) => {
          read.push(y);
          out.set(image.data.subarray(y * image.width, (y + 1) * image.width));
        },
      },
    };
  }

  it.each([
    [256, 312, 224, 224, BILINEAR],
    [13, 10, 5, 4, BILINEAR],
    [5, 3, 8, 6, BILINEAR],
    [224, 300, 224, 224, BILINEAR],
    [300, 224, 224, 224, BILINEAR],
    [224, 224, 224, 224, BILINEAR],
    [7, 7, 224, 224, BICUBIC],
    [7, 7, 50, 31, BICUBIC],
  ] as const)('gives resize()\'s float32 numbers exactly: %s x %s -> %s x %s (%s)', (w, h, ow, oh, filter) => {
    const image = pattern(w, h);
    const { source } = rowsOf(image);
    const expected = resize(image, ow, oh, filter).data;
    const scratch = {};
    expect(Array.from(resizeRows(source, ow, oh, filter, undefined, scratch).data)).toEqual(Array.from(expected));
    // Again with the scratch buffers of the first call.
    expect(Array.from(resizeRows(source, ow, oh, filter, new Float32Array(ow * oh), scratch).data)).toEqual(Array.from(expected));
  });

  it('reads each source row once, in order', () => {
    const { source, read } = rowsOf(pattern(40, 30));
    resizeRows(source, 10, 8);
    expect(read).toEqual(Array.from({ length: 30 }, (_, i) => i));
  });

  it('checks sizes and the output buffer as resize() does', () => {
    const { source } = rowsOf(pattern(4, 4));
    expect(() => resizeRows(source, 0, 2)).toThrow(InputError);
    expect(() => resizeRows(source, 2, 2, BILINEAR, new Float32Array(3))).toThrow('output buffer holds 3 values; expected 2 x 2 = 4');
  });
});
