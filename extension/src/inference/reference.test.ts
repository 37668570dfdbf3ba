import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { maxAbsDiff, parseReference, probeInput, REFERENCE_FORMAT } from './reference';
import { referenceFor, sha256 } from './testing/fakes';

const TINY_DIR = resolve(__dirname, '../../../test/fixtures/tiny');
const tinyModel = readFileSync(resolve(TINY_DIR, 'tiny.onnx'));
const tinyJson = JSON.parse(readFileSync(resolve(TINY_DIR, 'tiny.json'), 'utf8'));
const TINY_SHA = sha256(tinyModel);

describe('parseReference', () => {
  it('reads the committed tiny fixture, which describes the committed tiny.onnx', () => {
    expect(tinyJson.model.sha256).toBe(TINY_SHA);
    const ref = parseReference(tinyJson, TINY_SHA, 'tiny.json');
    expect(ref.dims).toEqual([1, 3, 64, 64]);
    expect(ref.input).toHaveLength(3 * 64 * 64);
    expect(ref.cam).toHaveLength(64);
    expect(ref.logit).toBe(tinyJson.outputs.logit.data[0]);
  });

  it('decodes little-endian float32 exactly', () => {
    const input = Float32Array.of(1.5, -2.25, 3e-8, 0);
    const ref = parseReference(referenceFor('ab'.repeat(32), input, [1, 1, 2, 2]), 'AB'.repeat(32), 'x');
    expect(Array.from(ref.input)).toEqual(Array.from(input));
  });

  it.each([
    ['another format', { ...tinyJson, format: 'other/1' }, `format is "other/1", expected "${REFERENCE_FORMAT}"`],
    ['another model', { ...tinyJson, model: { sha256: 'cd'.repeat(32) } }, `it describes model sha256 ${'cd'.repeat(32)}, not the loaded model ${TINY_SHA}`],
    ['a short input', { ...tinyJson, input: { ...tinyJson.input, shape: [1, 3, 64, 65] } }, 'input holds 49152 bytes; shape [1,3,64,65] needs 49920'],
    ['no tolerances', { ...tinyJson, tolerances: {} }, 'tolerances.logit and tolerances.cam must be positive numbers'],
  ])('refuses %s, saying what is wrong', (_case, json, message) => {
    expect(() => parseReference(json, TINY_SHA, 'tiny.json')).toThrow(`self-check reference tiny.json: ${message}`);
  });
});

describe('maxAbsDiff and probeInput', () => {
  it('treats NaN and length mismatches as failures', () => {
    expect(maxAbsDiff([1, 2], [1, 2.5])).toBe(0.5);
    expect(maxAbsDiff([1, NaN, 3], [1, 2, 3])).toBeNaN();
    expect(maxAbsDiff([1], [1, 2])).toBe(Infinity);
  });

  it('gives the same probe every time, in the normalised-pixel range', () => {
    const a = probeInput([1, 3, 224, 224]);
    expect(a).toEqual(probeInput([1, 3, 224, 224]));
    expect(a.reduce((m, v) => Math.min(m, v))).toBeGreaterThanOrEqual(-2);
    expect(a.reduce((m, v) => Math.max(m, v))).toBeLessThanOrEqual(2.5);
  });
});

describe('probeInput (chestaid-probe/1)', () => {
  const fixture = JSON.parse(readFileSync(resolve(__dirname, '../../../test/fixtures/probe-input.json'), 'utf8')) as {
    dims: number[];
    samples: [number, number][];
    sum: number;
  };

  it("is the training side's probe, value for value (test/fixtures/probe-input.json, written by self_check.py)", () => {
    const x = probeInput(fixture.dims);
    for (const [i, value] of fixture.samples) expect(x[i]).toBe(value);
    let sum = 0;
    for (const v of x) sum += v;
    expect(sum).toBeCloseTo(fixture.sum, 8);
  });
});
