import {
  calibrate,
  calibrateWith,
  calibrationProblems,
  clipBounds,
  isotonicScale,
  noCalibration,
  plattScale,
  sigmoid,
  temperatureScale,
  type CalibrationMethod,
  type CalibrationSection,
  type IsotonicParams,
} from './calibration';
import { InputError } from './errors';

function section(selected: CalibrationMethod, isotonic: IsotonicParams = { x: [-1, 0, 2], y: [0.1, 0.3, 0.9] }): CalibrationSection {
  return {
    input: 'logit',
    selected,
    methods: {
      temperature: { params: { temperature: 2 } },
      platt: { params: { a: 2, b: -1 } },
      isotonic: { params: isotonic },
    },
  };
}

describe('sigmoid', () => {
  it('is exactly 0.5 at 0 and symmetric', () => {
    expect(sigmoid(0)).toBe(0.5);
    expect(sigmoid(3) + sigmoid(-3)).toBeCloseTo(1, 15);
  });

  it('neither overflows nor loses the tail for large |z|', () => {
    expect(sigmoid(1000)).toBe(1);
    expect(sigmoid(-1000)).toBe(0);
    // 1 / (1 + e^40) with full relative precision, not 0 or a rounding residue.
    expect(sigmoid(-40) / Math.exp(-40)).toBeCloseTo(1, 12);
  });
});

describe('calibration formulas', () => {
  it('temperature: p = sigmoid(z / T)', () => {
    expect(temperatureScale(3, { temperature: 2 })).toBeCloseTo(1 / (1 + Math.exp(-1.5)), 15);
  });

  it('platt: p = sigmoid(a z + b)', () => {
    expect(plattScale(3, { a: 2, b: -1 })).toBeCloseTo(1 / (1 + Math.exp(-5)), 15);
  });

  it('isotonic interpolates linearly between knots and hits knots exactly', () => {
    const p = { x: [-1, 0, 2], y: [0.1, 0.3, 0.9] };
    expect(isotonicScale(-1, p)).toBe(0.1);
    expect(isotonicScale(0, p)).toBe(0.3);
    expect(isotonicScale(2, p)).toBe(0.9);
    expect(isotonicScale(-0.5, p)).toBeCloseTo(0.2, 15);
    expect(isotonicScale(1, p)).toBeCloseTo(0.6, 15);
  });

  it('isotonic holds the end values outside the knots (clipping, as np.interp)', () => {
    const p = { x: [-1, 0, 2], y: [0.1, 0.3, 0.9] };
    expect(isotonicScale(-100, p)).toBe(0.1);
    expect(isotonicScale(100, p)).toBe(0.9);
  });

  it('isotonic with a single knot is constant', () => {
    const p = { x: [0.5], y: [0.7] };
    expect([isotonicScale(-3, p), isotonicScale(0.5, p), isotonicScale(3, p)]).toEqual([0.7, 0.7, 0.7]);
  });

  it('calibrate uses the selected method; calibrateWith any named one', () => {
    for (const m of ['temperature', 'platt', 'isotonic'] as const) {
      expect(calibrate(1, section(m))).toBe(calibrateWith(m, 1, section('temperature')));
    }
    expect(calibrateWith('temperature', 1, section('platt'))).toBeCloseTo(sigmoid(0.5), 15);
    expect(calibrateWith('platt', 1, section('temperature'))).toBeCloseTo(sigmoid(1), 15);
    expect(calibrateWith('isotonic', 1, section('temperature'))).toBeCloseTo(0.6, 15);
  });

  it('refuses an unknown method and a non-finite logit, naming them', () => {
    expect(() => calibrateWith('beta' as CalibrationMethod, 1, section('platt'))).toThrow(
      /unknown calibration method "beta"/,
    );
    expect(() => calibrate(Number.NaN, section('platt'))).toThrow(InputError);
    expect(() => calibrate(Number.POSITIVE_INFINITY, section('isotonic'))).toThrow(/logit .*Infinity/);
  });
});

describe('calibrationProblems', () => {
  it('accepts sound parameters', () => {
    expect(calibrationProblems(section('isotonic'))).toEqual([]);
  });

  it.each([
    ['x not increasing', { x: [0, 0, 1], y: [0, 0.5, 1] }, /isotonic x\[1\] = 0 is not greater than x\[0\] = 0/],
    ['y decreasing', { x: [0, 1, 2], y: [0, 0.5, 0.4] }, /isotonic y\[2\] = 0.4 is below y\[1\] = 0.5/],
    ['y outside [0, 1]', { x: [0, 1], y: [0, 1.5] }, /isotonic y\[1\] 1.5 is outside \[0, 1\]/],
    ['lengths differ', { x: [0, 1, 2], y: [0, 1] }, /x has 3 knots but y has 2/],
  ])('reports isotonic knots with %s', (_name, isotonic, message) => {
    expect(calibrationProblems(section('isotonic', isotonic)).join('; ')).toMatch(message);
  });
});

describe('the output clip of schema 1.4.0', () => {
  const clip = clipBounds(8); // [0.1, 0.9]

  it('holds every method inside [1/(n+2), 1 - 1/(n+2)] and leaves the middle alone', () => {
    expect(clip).toEqual({ low: 0.1, high: 0.9 });
    expect(isotonicScale(-5, { x: [-1, 1], y: [0, 1], clip })).toBe(0.1);
    expect(isotonicScale(5, { x: [-1, 1], y: [0, 1], clip })).toBe(0.9);
    expect(plattScale(40, { a: 1, b: 0, clip })).toBe(0.9);
    expect(temperatureScale(-40, { temperature: 1, clip })).toBe(0.1);
    expect(noCalibration(0.3, { clip })).toBe(sigmoid(0.3));
  });

  it('applies parameters without a clip unclipped, as older manifests were', () => {
    expect(isotonicScale(-5, { x: [-1, 1], y: [0, 1] })).toBe(0);
    expect(plattScale(40, { a: 1, b: 0 })).toBe(1);
  });

  it("calibrates with 'none' as the sigmoid, clipped by its own params", () => {
    const s = { ...section('platt'), methods: { ...section('platt').methods, none: { params: { clip } } } };
    expect(calibrateWith('none', 5, s)).toBe(0.9);
    expect(calibrateWith('none', 0.2, section('platt'))).toBe(sigmoid(0.2));
  });

  it('names a clip the calibrators cannot use', () => {
    const bad = { ...section('platt'), methods: { ...section('platt').methods, platt: { params: { a: 1, b: 0, clip: { low: 0.6, high: 0.4 } } } } };
    expect(calibrationProblems(bad).join('; ')).toMatch(/platt clip \[0.6, 0.4\] must satisfy 0 < low < high < 1/);
  });

  it('refuses a count that is not a positive integer', () => {
    expect(() => clipBounds(0)).toThrow(/positive integer; got 0/);
  });
});
