/**
 * The analyzer's inference client when the viewer may run either engine: engineChoice.ts decides,
 * this carries it out. It loads the planned engines in order (each in its own worker, through the
 * same protocol; a failure falls to the next), and with no record for this browser, once the
 * first analysis is back and the page is idle, tries the other engine in a worker of its own (the
 * model bytes come from the Cache API: no second download), times both, writes the record and
 * switches when the other is faster. The clients, the storage, the GPU lookup and the idle
 * scheduling are parameters, so jest drives it with fakes; choiceBrowser.ts binds the real ones.
 */
import { messageOf } from '@chestaid/core';
import { EVENTS, type AnalyzeRequest, type EventPayloads, type InferenceResult, type ProgressEvent } from './InferenceClient';
import {
  describeChoice,
  ENGINE_LABEL,
  judgeTrial,
  otherEngine,
  parseRecord,
  planEngines,
  recordLoadFailure,
  serializeRecord,
  TRIAL_RUNS,
  type EngineName,
  type EngineRecord,
  type EngineSetting,
  type Plan,
} from './engineChoice';
import { InferenceError, ModelBytesError, type BackendInfo, type InferenceConfig } from './protocol';
import { probeInput } from './reference';

/** How long the plan waits for the page's WebGPU adapter lookup (ChoiceDeps.hasHardwareGpu). */
export const GPU_LOOKUP_WAIT_MS = 50;

/** What this client uses of an engine's InferenceClient. */
export interface EngineClient {
  init(): Promise<BackendInfo>;
  analyze(request: AnalyzeRequest): Promise<InferenceResult>;
  subscribe(event: typeof EVENTS.PROGRESS, listener: (payload: ProgressEvent) => void): { unsubscribe: () => void };
  dispose(): void;
}

export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

export interface ChoiceDeps {
  readonly setting: EngineSetting;
  /** An engine's client for the same model (createInferenceClient, createTfjsInferenceClient). */
  readonly createClient: (engine: EngineName, config: InferenceConfig) => EngineClient;
  /** localStorage; null where the page has none (then every load is a first run). */
  readonly storage: StorageLike | null;
  /** recordKey() for this model, engine versions and thread count. */
  readonly recordKey: string;
  /**
   * Whether a hardware WebGPU adapter is there (findAdapter on the page). Waited for at most
   * GPU_LOOKUP_WAIT_MS: a fresh Chromium without a GPU took 1.4 s to say it has none (it starts its
   * GPU process first), which would be 1.4 s more on every cold start of a CPU machine. No answer
   * by then plans as without WebGPU; onnxruntime-web, when its turn comes (the idle trial), still
   * looks the adapter up in its own worker, and the record keeps the faster for the next loads.
   */
  readonly hasHardwareGpu: () => Promise<boolean>;
  /** Resolves after `ms` (setTimeout by default; tests pass their own). */
  readonly delay?: (ms: number) => Promise<void>;
  /** Runs `task` when the page is idle (requestIdleCallback). */
  readonly whenIdle: (task: () => void) => void;
  /** ISO time for the record. */
  readonly timestamp: () => string;
  /** Told after a trial: what was measured and which engine runs now (the panel's reason). */
  readonly onTrial?: (info: BackendInfo) => void;
}

interface Current {
  readonly engine: EngineName;
  readonly client: EngineClient;
  /** The engine's own account (BackendInfo), before the choice is said in front of its reason. */
  readonly own: BackendInfo;
  readonly why: string;
}

function shown({ engine, own, why }: Current): BackendInfo {
  return { ...own, reason: describeChoice(engine, why, own.reason) };
}

const TRIAL_KEY = 'chestaid-engine-trial';

export class ChoosingInferenceClient {
  readonly EVENTS = EVENTS;

  private current: Current | null = null;
  /** The engine whose load is under way, while one is. */
  private loading: EngineClient | null = null;
  /** Settles once the first engine's load has started (or the plan failed). */
  private started: Promise<void> | null = null;
  private initPromise: Promise<BackendInfo> | null = null;
  private plan: Plan | null = null;
  private trialState: 'none' | 'pending' | 'running' | 'done' = 'none';
  private disposed = false;
  /** Analyses asked for and not answered: the trial waits until there are none (a triage batch). */
  private inFlight = 0;
  private readonly listeners = new Map<keyof EventPayloads, Set<(payload: never) => void>>();
  private readonly others = new Set<EngineClient>();

  constructor(
    readonly config: InferenceConfig,
    private readonly deps: ChoiceDeps,
  ) {}

  /** PROGRESS: the loading engine's download; READY: the chosen engine, again after a switch. */
  subscribe<E extends keyof EventPayloads>(event: E, listener: (payload: EventPayloads[E]) => void): { unsubscribe: () => void } {
    const set = this.listeners.get(event) ?? new Set();
    set.add(listener as (payload: never) => void);
    this.listeners.set(event, set);
    return { unsubscribe: () => set.delete(listener as (payload: never) => void) };
  }

  private emit<E extends keyof EventPayloads>(event: E, payload: EventPayloads[E]): void {
    for (const listener of this.listeners.get(event) ?? []) (listener as (p: EventPayloads[E]) => void)(payload);
  }

  /** Loads the planned engines in order until one loads; idempotent, as InferenceClient.init. */
  init(): Promise<BackendInfo> {
    if (this.current) return Promise.resolve(shown(this.current));
    if (!this.initPromise) {
      let started!: () => void;
      this.started = new Promise<void>(resolve => (started = resolve));
      const promise = this.load(started);
      promise.finally(started).catch(() => undefined);
      this.initPromise = promise;
      promise.catch(() => {
        if (this.initPromise === promise) this.initPromise = null;
      });
    }
    return this.initPromise;
  }

  async analyze(request: AnalyzeRequest): Promise<InferenceResult> {
    this.inFlight++;
    let result: InferenceResult;
    try {
      result = await this.send(request);
    } finally {
      this.inFlight--;
    }
    if (this.trialState === 'pending') {
      this.trialState = 'running';
      const dims = [...request.dims];
      // After the analysis has been handed back and drawn, and only while no other is asked for:
      // the trial's runs would otherwise compete with the reader's (or a batch's) for the cores.
      const attempt = () => {
        if (this.disposed) return;
        if (this.inFlight > 0) this.deps.whenIdle(attempt);
        else void this.trial(dims);
      };
      this.deps.whenIdle(attempt);
    }
    return result;
  }

  /**
   * To the engine in use; while one loads, to it at once: its worker holds the request behind the
   * load and runs it as the session's first run, with no round trip through the page's thread
   * (busy while OHIF opens a study) between the load and the run. The input goes to that worker,
   * so a copy is kept for the next engine in case this one's load fails.
   */
  private async send(request: AnalyzeRequest): Promise<InferenceResult> {
    const ready = this.init();
    await Promise.race([ready, this.started]);
    const loading = this.current ? null : this.loading;
    if (!loading) {
      await ready;
      return (this.current as Current).client.analyze(request);
    }
    const kept = request.input.slice();
    try {
      return await loading.analyze(request);
    } catch (error) {
      // Its load failed (the run was refused with it): the engine the plan falls to, if any, runs it.
      await ready;
      const current = this.current as Current;
      if (current.client === loading) throw error;
      return current.client.analyze({ ...request, input: kept });
    }
  }

  dispose(): void {
    this.disposed = true;
    this.current?.client.dispose();
    for (const other of this.others) other.dispose();
    this.others.clear();
    this.current = null;
    this.initPromise = null;
  }

  private readRecord(): EngineRecord {
    try {
      return parseRecord(this.deps.storage?.getItem(this.deps.recordKey) ?? null);
    } catch {
      return parseRecord(null);
    }
  }

  private writeRecord(record: EngineRecord): void {
    try {
      this.deps.storage?.setItem(this.deps.recordKey, serializeRecord(record));
    } catch {
      // Storage full or refused: the next page load measures again, nothing else is lost.
    }
  }

  private start(engine: EngineName): EngineClient {
    const client = this.deps.createClient(engine, this.config);
    client.subscribe(EVENTS.PROGRESS, progress => {
      if (this.current === null || this.current.client === client) this.emit(EVENTS.PROGRESS, progress);
    });
    return client;
  }

  /** hasHardwareGpu's answer, or false when it has none within GPU_LOOKUP_WAIT_MS. */
  private webGpuWithinWait(): Promise<boolean> {
    const delay = this.deps.delay ?? (ms => new Promise<void>(resolve => setTimeout(resolve, ms)));
    return Promise.race([this.deps.hasHardwareGpu().catch(() => false), delay(GPU_LOOKUP_WAIT_MS).then(() => false)]);
  }

  private async load(started: () => void): Promise<BackendInfo> {
    let record = this.readRecord();
    const plan = planEngines(this.deps.setting, record, this.deps.setting === 'auto' && (await this.webGpuWithinWait()), this.config.weights);
    this.plan = plan;
    const failures: { engine: EngineName; message: string }[] = [];
    for (const engine of plan.order) {
      const client = this.start(engine);
      let info: BackendInfo;
      try {
        const loaded = client.init();
        this.loading = client;
        started();
        info = await loaded;
      } catch (error) {
        this.loading = null;
        client.dispose();
        // The model's bytes, not this engine: another engine would fetch and refuse the same.
        if (error instanceof ModelBytesError) throw error;
        failures.push({ engine, message: messageOf(error) });
        continue;
      }
      this.loading = null;
      if (this.disposed) {
        client.dispose();
        throw new InferenceError('the inference client was disposed');
      }
      // Another engine loaded the same bytes: the ones before failed for reasons of their own.
      if (plan.records && failures.length > 0) {
        for (const f of failures) record = recordLoadFailure(record, f.engine, f.message, this.deps.timestamp());
        this.writeRecord(record);
      }
      const why = failures.length > 0
        ? `${failures.map(f => `${ENGINE_LABEL[f.engine]} failed: ${f.message}`).join('; ')}`
        : plan.why;
      this.current = { engine, client, own: info, why };
      if (failures.length === 0 && wantsTrial(this.deps.setting, plan, engine, info, record)) this.trialState = 'pending';
      this.emit(EVENTS.READY, shown(this.current));
      return shown(this.current);
    }
    // Every engine failed: each one's reason, in the order tried.
    throw new InferenceError(failures.length === 1 ? failures[0].message : failures.map(f => `${ENGINE_LABEL[f.engine]}: ${f.message}`).join('; '));
  }

  /** The other engine in a worker of its own, timed against the current one on the probe. */
  private async trial(dims: number[]): Promise<void> {
    const current = this.current;
    if (!current || this.disposed) return;
    const engine = otherEngine(current.engine);
    const other = this.start(engine);
    this.others.add(other);
    let verdict: ReturnType<typeof judgeTrial>;
    let otherInfo: BackendInfo | null = null;
    try {
      let failed: string | null = null;
      try {
        otherInfo = await other.init();
      } catch (error) {
        failed = messageOf(error);
      }
      const { currentMs, otherMs } = await timedRuns(current.client, failed === null ? other : null, dims);
      const trialResult = failed === null ? { engine, ms: otherMs } : { engine, failed };
      if (this.disposed || this.current !== current) return;
      verdict = judgeTrial(this.readRecord(), current.engine, currentMs, trialResult, this.deps.timestamp());
    } catch {
      // A run that failed mid-trial (the worker died, the page is closing): no verdict, no record.
      this.others.delete(other);
      other.dispose();
      this.trialState = 'done';
      return;
    }
    this.writeRecord(verdict.record);
    this.trialState = 'done';
    this.others.delete(other);
    if (verdict.switched && otherInfo) {
      this.current = { engine, client: other, own: otherInfo, why: verdict.why };
      current.client.dispose();
    } else {
      other.dispose();
      this.current = { ...current, why: verdict.why };
    }
    this.emit(EVENTS.READY, shown(this.current));
    this.deps.onTrial?.(shown(this.current));
  }
}

/**
 * Whether the other engine is measured when idle: the plan says so (no record for it), or
 * onnxruntime-web was planned for a WebGPU adapter that then failed its self-check, leaving wasm
 * against wasm with TensorFlow.js unmeasured.
 */
function wantsTrial(setting: EngineSetting, plan: Plan, engine: EngineName, info: BackendInfo, record: EngineRecord): boolean {
  if (setting !== 'auto') return false;
  if (plan.trial !== null) return plan.trial === otherEngine(engine);
  return engine === 'onnxruntime' && info.backend === 'wasm' && record.engines.tfjs === undefined;
}

/**
 * TRIAL_RUNS timed runs of each engine, taken in turn (current, other, current, ...): an engine's
 * threads may go on spinning for a while after its run (onnxruntime's pool does), which would
 * slow whichever engine ran next; in turn, both pay it alike, and neither is timed alone after
 * the other's load.
 */
async function timedRuns(current: EngineClient, other: EngineClient | null, dims: number[]): Promise<{ currentMs: number[]; otherMs: number[] }> {
  const currentMs: number[] = [];
  const otherMs: number[] = [];
  const run = async (client: EngineClient, i: number) => (await client.analyze({ key: `${TRIAL_KEY}-${i}`, input: probeInput(dims), dims })).runMs;
  for (let i = 0; i < TRIAL_RUNS; i++) {
    currentMs.push(await run(current, i));
    if (other) otherMs.push(await run(other, i));
  }
  return { currentMs, otherMs };
}
