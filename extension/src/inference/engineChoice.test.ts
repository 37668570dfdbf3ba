import {
  EMPTY_RECORD,
  describeChoice,
  judgeTrial,
  median,
  parseRecord,
  planEngines,
  recordKey,
  recordLoadFailure,
  serializeRecord,
  type EngineRecord,
} from './engineChoice';

const AT = '2026-12-06T11:00:00.000Z';
const ok = (warmMs: number) => ({ status: 'ok' as const, warmMs, measuredAt: AT });
const failed = (reason: string) => ({ status: 'failed' as const, reason, measuredAt: AT });
const record = (engines: EngineRecord['engines']): EngineRecord => ({ engines });

describe('recordKey', () => {
  it('changes with the model bytes, either engine version and the thread count', () => {
    const base = { sha256: 'AB'.repeat(32), versions: { onnxruntime: '1.31.1', tfjs: '4.22.0' }, threads: 2 };
    const key = recordKey(base);
    expect(key).toBe(`chestaid-engine:${'ab'.repeat(32)}:onnxruntime-web@1.31.1:tfjs@4.22.0:threads=2`);
    expect(new Set([
      key,
      recordKey({ ...base, sha256: 'cd'.repeat(32) }),
      recordKey({ ...base, versions: { ...base.versions, onnxruntime: '1.32.0' } }),
      recordKey({ ...base, versions: { ...base.versions, tfjs: '4.23.0' } }),
      recordKey({ ...base, threads: 1 }),
    ]).size).toBe(5);
  });
});

describe('parseRecord', () => {
  it('reads back what serializeRecord wrote', () => {
    const r = record({ tfjs: ok(117), onnxruntime: failed('self-check') });
    expect(parseRecord(serializeRecord(r))).toEqual(r);
  });

  it.each([
    ['nothing stored', null],
    ['not JSON', '{'],
    ['another format', JSON.stringify({ format: 'other', engines: {} })],
  ])('gives an empty record for %s, so the engines are measured again', (_what, text) => {
    expect(parseRecord(text)).toEqual(EMPTY_RECORD);
  });

  it('drops entries it cannot trust (no time, a zero or negative time, unknown engines)', () => {
    const text = JSON.stringify({
      format: 'chestaid-engine-record/1',
      engines: { tfjs: { status: 'ok', warmMs: 0, measuredAt: AT }, onnxruntime: { status: 'ok', warmMs: 140 }, other: ok(1) },
    });
    expect(parseRecord(text)).toEqual(record({}));
  });
});

describe('planEngines', () => {
  it('starts TensorFlow.js on a first visit and measures onnxruntime-web when idle', () => {
    expect(planEngines('auto', EMPTY_RECORD, false)).toEqual({
      order: ['tfjs', 'onnxruntime'],
      why: 'first run here; onnxruntime-web will be measured when idle',
      trial: 'onnxruntime',
      records: true,
    });
  });

  it('runs the engine measured fastest here, and measures nothing more', () => {
    expect(planEngines('auto', record({ tfjs: ok(117), onnxruntime: ok(141) }), false)).toMatchObject({
      order: ['tfjs', 'onnxruntime'],
      why: 'fastest measured here: 117 ms against 141 ms for onnxruntime-web',
      trial: null,
    });
    expect(planEngines('auto', record({ tfjs: ok(160), onnxruntime: ok(141) }), false)).toMatchObject({
      order: ['onnxruntime', 'tfjs'],
      why: 'fastest measured here: 141 ms against 160 ms for TensorFlow.js',
      trial: null,
    });
  });

  it('never tries again an engine that failed under this key', () => {
    expect(planEngines('auto', record({ tfjs: failed('self-check: logit off by 0.6') }), false)).toEqual({
      order: ['onnxruntime'],
      why: 'TensorFlow.js failed here (self-check: logit off by 0.6)',
      trial: null,
      records: true,
    });
    expect(planEngines('auto', record({ tfjs: ok(100), onnxruntime: failed('no wasm') }), false).order).toEqual(['tfjs']);
  });

  it('measures the other engine when only one was measured', () => {
    expect(planEngines('auto', record({ onnxruntime: ok(141) }), false)).toMatchObject({ order: ['onnxruntime', 'tfjs'], trial: 'tfjs' });
  });

  it('gives WebGPU to onnxruntime-web when a hardware adapter is there, whatever the CPU record says', () => {
    expect(planEngines('auto', record({ tfjs: ok(100), onnxruntime: ok(200) }), true)).toMatchObject({ order: ['onnxruntime', 'tfjs'], trial: null });
  });

  it("runs an int8 model on onnxruntime-web alone under 'auto' (TensorFlow.js runs float weights only)", () => {
    expect(planEngines('auto', record({ tfjs: ok(100), onnxruntime: ok(200) }), false, 'int8')).toEqual({
      order: ['onnxruntime'],
      why: 'an int8 model, which only onnxruntime-web runs',
      trial: null,
      records: false,
    });
    expect(planEngines('auto', EMPTY_RECORD, false, 'float32').order).toEqual(['tfjs', 'onnxruntime']);
  });

  it('follows the configuration, with the other engine behind it, and keeps no record', () => {
    expect(planEngines('tfjs', record({ tfjs: failed('x') }), true)).toEqual({ order: ['tfjs', 'onnxruntime'], why: 'set by configuration', trial: null, records: false });
    expect(planEngines('onnxruntime', EMPTY_RECORD, false).order).toEqual(['onnxruntime', 'tfjs']);
  });

  it('tries both again when both failed before', () => {
    expect(planEngines('auto', record({ tfjs: failed('a'), onnxruntime: failed('b') }), false)).toMatchObject({ order: ['onnxruntime', 'tfjs'], records: false });
  });
});

describe('judgeTrial', () => {
  it('switches to an engine faster by more than 10 %, and records both medians', () => {
    const verdict = judgeTrial(EMPTY_RECORD, 'tfjs', [150, 140, 400], { engine: 'onnxruntime', ms: [120, 125, 118] }, AT);
    expect(verdict).toEqual({
      record: record({ tfjs: ok(150), onnxruntime: ok(120) }),
      engine: 'onnxruntime',
      switched: true,
      why: 'fastest measured here: 120 ms against 150 ms for TensorFlow.js',
    });
  });

  it('keeps the current engine when the other is not faster by more than 10 %', () => {
    const close = judgeTrial(EMPTY_RECORD, 'tfjs', [117, 117, 117], { engine: 'onnxruntime', ms: [110, 110, 110] }, AT);
    expect(close).toMatchObject({ engine: 'tfjs', switched: false, why: 'measured here: 117 ms against 110 ms for onnxruntime-web, within 10 %: kept' });
    const slower = judgeTrial(EMPTY_RECORD, 'tfjs', [117, 118, 116], { engine: 'onnxruntime', ms: [141, 140, 145] }, AT);
    expect(slower).toMatchObject({ engine: 'tfjs', switched: false, why: 'fastest measured here: 117 ms against 141 ms for onnxruntime-web' });
    expect(slower.record).toEqual(record({ tfjs: ok(117), onnxruntime: ok(141) }));
  });

  it('records an engine that failed its self-check as failed', () => {
    const verdict = judgeTrial(EMPTY_RECORD, 'tfjs', [117, 117, 117], { engine: 'onnxruntime', failed: 'logit off by 0.6' }, AT);
    expect(verdict).toMatchObject({ engine: 'tfjs', switched: false, why: 'onnxruntime-web failed here (logit off by 0.6)' });
    expect(verdict.record.engines.onnxruntime).toEqual(failed('logit off by 0.6'));
  });
});

it('recordLoadFailure and median', () => {
  expect(recordLoadFailure(EMPTY_RECORD, 'tfjs', 'no SIMD', AT)).toEqual(record({ tfjs: failed('no SIMD') }));
  expect(median([3, 1, 2])).toBe(2);
  expect(median([4, 1, 2, 3])).toBe(2.5);
  expect(() => median([])).toThrow(RangeError);
});

it('describeChoice names the engine, why, then its own account', () => {
  expect(describeChoice('tfjs', 'first run here; onnxruntime-web will be measured when idle', 'TensorFlow.js 4.22.0 wasm backend (XNNPACK; SIMD, 2 threads)')).toBe(
    'TensorFlow.js (first run here; onnxruntime-web will be measured when idle): TensorFlow.js 4.22.0 wasm backend (XNNPACK; SIMD, 2 threads)',
  );
});
