/**
 * Which in-page engine runs the model (issue 19): small pure decisions over plain values, as
 * backend.ts decides threads and WebGPU; choiceClient.ts binds them to the page.
 *
 * Two engines behind the same worker protocol: onnxruntime-web (WebGPU when a hardware adapter
 * passes its self-check, else wasm) and TensorFlow.js's wasm backend (XNNPACK). 'auto':
 *  - a hardware WebGPU adapter: onnxruntime-web, which tries WebGPU first;
 *  - otherwise the engine measured fastest in this browser, from a record kept per model, engine
 *    versions and thread count (recordKey). Without a record TensorFlow.js starts (the faster cold
 *    start and run where both were measured, docs/performance.md), and once the first analysis is
 *    shown the other engine is tried when the page is idle: its self-check and TRIAL_RUNS timed runs
 *    against as many on the current engine. The faster one, by more than SWITCH_MARGIN, runs later
 *    analyses. An engine that fails its self-check or does not load is recorded as failed and is
 *    not tried again under that key.
 */

export type EngineName = 'onnxruntime' | 'tfjs';
export type EngineSetting = 'auto' | EngineName;
export const ENGINE_SETTINGS: readonly EngineSetting[] = ['auto', 'onnxruntime', 'tfjs'];

export const ENGINE_LABEL: Readonly<Record<EngineName, string>> = { onnxruntime: 'onnxruntime-web', tfjs: 'TensorFlow.js' };

/** Timed runs of each engine in a trial; the median of each is compared. */
export const TRIAL_RUNS = 3;
/** The other engine must be faster by more than this fraction of the current one's time to take over. */
export const SWITCH_MARGIN = 0.1;
export const RECORD_FORMAT = 'chestaid-engine-record/1';

export function otherEngine(engine: EngineName): EngineName {
  return engine === 'tfjs' ? 'onnxruntime' : 'tfjs';
}

export type EngineOutcome =
  | { readonly status: 'ok'; readonly warmMs: number; readonly measuredAt: string }
  | { readonly status: 'failed'; readonly reason: string; readonly measuredAt: string };

export interface EngineRecord {
  readonly engines: Partial<Record<EngineName, EngineOutcome>>;
}

export const EMPTY_RECORD: EngineRecord = Object.freeze({ engines: Object.freeze({}) });

export interface RecordKeyParts {
  readonly sha256: string;
  readonly versions: Readonly<Record<EngineName, string>>;
  readonly threads: number;
}

/** One record per model bytes, engine versions and thread count: a change in any measures again. */
export function recordKey({ sha256, versions, threads }: RecordKeyParts): string {
  return `chestaid-engine:${sha256.toLowerCase()}:onnxruntime-web@${versions.onnxruntime}:tfjs@${versions.tfjs}:threads=${threads}`;
}

function outcome(value: unknown): EngineOutcome | null {
  const v = value as { status?: unknown; warmMs?: unknown; reason?: unknown; measuredAt?: unknown } | null;
  if (!v || typeof v.measuredAt !== 'string') return null;
  if (v.status === 'ok' && typeof v.warmMs === 'number' && Number.isFinite(v.warmMs) && v.warmMs > 0) {
    return { status: 'ok', warmMs: v.warmMs, measuredAt: v.measuredAt };
  }
  if (v.status === 'failed' && typeof v.reason === 'string') return { status: 'failed', reason: v.reason, measuredAt: v.measuredAt };
  return null;
}

/** The stored text, or an empty record when there is none or it cannot be read (then it is measured again). */
export function parseRecord(text: string | null): EngineRecord {
  if (text === null) return EMPTY_RECORD;
  let json: { format?: unknown; engines?: Record<string, unknown> };
  try {
    json = JSON.parse(text);
  } catch {
    return EMPTY_RECORD;
  }
  if (json?.format !== RECORD_FORMAT || typeof json.engines !== 'object' || json.engines === null) return EMPTY_RECORD;
  const engines: Partial<Record<EngineName, EngineOutcome>> = {};
  for (const name of ['onnxruntime', 'tfjs'] as const) {
    const o = outcome(json.engines[name]);
    if (o) engines[name] = o;
  }
  return { engines };
}

export function serializeRecord(record: EngineRecord): string {
  return JSON.stringify({ format: RECORD_FORMAT, engines: record.engines });
}

export function withOutcome(record: EngineRecord, engine: EngineName, value: EngineOutcome): EngineRecord {
  return { engines: { ...record.engines, [engine]: value } };
}

export interface Plan {
  /** Engines to load, in order: each one's failure falls to the next. */
  readonly order: readonly EngineName[];
  /** Why the first, for the panel: "fastest measured here: 117 ms against 141 ms". */
  readonly why: string;
  /** The engine to measure when the page is idle after the first analysis, or null. */
  readonly trial: EngineName | null;
  /** Whether a load failure is written to the record (only the 'auto' choice keeps one). */
  readonly records: boolean;
}

function ms(value: number): string {
  return `${Math.round(value)} ms`;
}

/**
 * The order to try the engines in. `webGpu`: a hardware WebGPU adapter is there (findAdapter on
 * the page), which only onnxruntime-web uses. `weights`: the model file's (the manifest's); an
 * int8 (QDQ) file is onnxruntime-web's alone, so 'auto' does not load TensorFlow.js to see it fail.
 */
export function planEngines(setting: EngineSetting, record: EngineRecord, webGpu: boolean, weights?: string): Plan {
  if (setting !== 'auto') {
    return { order: [setting, otherEngine(setting)], why: 'set by configuration', trial: null, records: false };
  }
  if (weights === 'int8') {
    return { order: ['onnxruntime'], why: 'an int8 model, which only onnxruntime-web runs', trial: null, records: false };
  }
  if (webGpu) {
    return { order: ['onnxruntime', 'tfjs'], why: 'a WebGPU adapter is present, which only onnxruntime-web can use', trial: null, records: true };
  }
  const { onnxruntime: ort, tfjs } = record.engines;
  const ok = (['tfjs', 'onnxruntime'] as const).filter(e => record.engines[e]?.status === 'ok');
  if (ort?.status === 'ok' && tfjs?.status === 'ok') {
    const [fast, slow] = ort.warmMs < tfjs.warmMs ? (['onnxruntime', 'tfjs'] as const) : (['tfjs', 'onnxruntime'] as const);
    const [a, b] = [record.engines[fast] as { warmMs: number }, record.engines[slow] as { warmMs: number }];
    return { order: [fast, slow], why: `fastest measured here: ${ms(a.warmMs)} against ${ms(b.warmMs)} for ${ENGINE_LABEL[slow]}`, trial: null, records: true };
  }
  const failed = (['tfjs', 'onnxruntime'] as const).filter(e => record.engines[e]?.status === 'failed');
  if (failed.length === 2) {
    // Both failed before: the record cannot help; onnxruntime-web is the engine of longest standing.
    return { order: ['onnxruntime', 'tfjs'], why: 'both engines failed here before; trying again', trial: null, records: false };
  }
  if (failed.length === 1) {
    const good = otherEngine(failed[0]);
    const reason = (record.engines[failed[0]] as { reason: string }).reason;
    return { order: [good], why: `${ENGINE_LABEL[failed[0]]} failed here (${reason})`, trial: null, records: true };
  }
  if (ok.length === 1) {
    return { order: [ok[0], otherEngine(ok[0])], why: `measured here; ${ENGINE_LABEL[otherEngine(ok[0])]} will be measured when idle`, trial: otherEngine(ok[0]), records: true };
  }
  return { order: ['tfjs', 'onnxruntime'], why: `first run here; ${ENGINE_LABEL.onnxruntime} will be measured when idle`, trial: 'onnxruntime', records: true };
}

/** The record after one engine failed to load while another loaded (so the model itself is fine). */
export function recordLoadFailure(record: EngineRecord, engine: EngineName, reason: string, at: string): EngineRecord {
  return withOutcome(record, engine, { status: 'failed', reason, measuredAt: at });
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export interface TrialOutcome {
  readonly record: EngineRecord;
  /** The engine later analyses run on: the trial's when it won, else the current one. */
  readonly engine: EngineName;
  readonly switched: boolean;
  /** Why that engine, for the panel. */
  readonly why: string;
}

/**
 * The verdict of a trial: `currentMs` and `trialMs` are each engine's timed runs, or `trialFailed`
 * says why the trial's engine could not be used (self-check, load).
 */
export function judgeTrial(
  record: EngineRecord,
  current: EngineName,
  currentMs: readonly number[],
  trial: { readonly engine: EngineName; readonly ms: readonly number[] } | { readonly engine: EngineName; readonly failed: string },
  at: string,
): TrialOutcome {
  const mine = median(currentMs);
  let next = withOutcome(record, current, { status: 'ok', warmMs: mine, measuredAt: at });
  if ('failed' in trial) {
    next = withOutcome(next, trial.engine, { status: 'failed', reason: trial.failed, measuredAt: at });
    return { record: next, engine: current, switched: false, why: `${ENGINE_LABEL[trial.engine]} failed here (${trial.failed})` };
  }
  const theirs = median(trial.ms);
  next = withOutcome(next, trial.engine, { status: 'ok', warmMs: theirs, measuredAt: at });
  if (theirs < mine * (1 - SWITCH_MARGIN)) {
    return { record: next, engine: trial.engine, switched: true, why: `fastest measured here: ${ms(theirs)} against ${ms(mine)} for ${ENGINE_LABEL[current]}` };
  }
  const faster = mine <= theirs;
  return {
    record: next,
    engine: current,
    switched: false,
    why: faster
      ? `fastest measured here: ${ms(mine)} against ${ms(theirs)} for ${ENGINE_LABEL[trial.engine]}`
      : `measured here: ${ms(mine)} against ${ms(theirs)} for ${ENGINE_LABEL[trial.engine]}, within ${Math.round(SWITCH_MARGIN * 100)} %: kept`,
  };
}

/** What the panel says: the engine, why it was chosen, then the engine's own account of itself. */
export function describeChoice(engine: EngineName, why: string, engineReason: string): string {
  return `${ENGINE_LABEL[engine]} (${why}): ${engineReason}`;
}
