/**
 * The main thread's side of the inference worker: a Classifier (core/classifier.ts) whose runs
 * happen off the UI thread. Requests carry ids, so answers find their caller whatever order they
 * come back in; input buffers are transferred, not copied; a slot keeps only its latest request
 * (latestOnly.ts). Loading is idempotent and announced through events (STYLE.md 13).
 *
 *   const client = new InferenceClient(config, () => createInferenceWorker(config));   // browser.ts
 *   client.subscribe(client.EVENTS.PROGRESS, ({ loaded, total }) => ...);
 *   const info = await client.init();          // info.backend, info.reason, timings
 *   const result = await client.analyze({ key: resultKey(sopUID, sha), slot: viewportId, input, dims });
 */
import { type Classifier, type ClassifierOutput, messageOf, type TensorDims } from '@chestaid/core';
import { checkConfig } from './config';
import { LatestOnly } from './latestOnly';
import {
  InferenceError,
  ModelBytesError,
  type Backend,
  type BackendInfo,
  type InferenceConfig,
  type RequestPort,
  type WorkerRequest,
  type WorkerResponse,
  type WorkerStats,
} from './protocol';

export const EVENTS = Object.freeze({
  PROGRESS: 'event::chestaid:inference:progress',
  READY: 'event::chestaid:inference:ready',
});

export interface ProgressEvent {
  /** Model bytes received so far, and the file's size when known. */
  readonly loaded: number;
  readonly total: number | null;
}

export type EventPayloads = {
  [EVENTS.PROGRESS]: ProgressEvent;
  [EVENTS.READY]: BackendInfo;
};

/** The part of a Worker the client uses; tests pass a fake. */
export interface WorkerLike {
  postMessage(message: WorkerRequest, transfer: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: { data: WorkerResponse }) => void): void;
  addEventListener(type: 'error' | 'messageerror', listener: (event: { message?: string }) => void): void;
  terminate(): void;
}

export interface AnalyzeRequest {
  /** What the result is about: resultKey(SOPInstanceUID, model sha256). */
  readonly key: string;
  /**
   * NCHW float32 of `dims`. Its buffer is TRANSFERRED to the worker when the array spans all of
   * it: the caller's array is empty afterwards (a Preprocessor shared between calls would be).
   */
  readonly input: Float32Array;
  readonly dims: readonly number[];
  /** Where the result will be shown; a newer request in the same slot supersedes this one. */
  readonly slot?: string;
  /** false copies the input instead of transferring it. */
  readonly transfer?: boolean;
}

export interface InferenceResult extends ClassifierOutput {
  readonly key: string;
  readonly backend: Backend;
  /** session.run inside the worker. */
  readonly runMs: number;
  /** postMessage to answer, as the main thread saw it. */
  readonly roundTripMs: number;
}

export interface InferenceClientDeps {
  readonly now?: () => number;
}

interface Pending {
  readonly resolve: (response: WorkerResponse) => void;
  readonly reject: (error: Error) => void;
}

export class InferenceClient implements Classifier {
  readonly EVENTS = EVENTS;

  private worker: WorkerLike | null = null;
  /** The worker's own channel, once it has sent one: requests go there (serve.ts says why). */
  private channel: RequestPort | null = null;
  private initPromise: Promise<BackendInfo> | null = null;
  private info: BackendInfo | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly latest = new LatestOnly();
  private readonly listeners = new Map<string, Set<(payload: never) => void>>();
  private readonly now: () => number;

  constructor(
    readonly config: InferenceConfig,
    private readonly createWorker: () => WorkerLike,
    { now = () => performance.now() }: InferenceClientDeps = {},
  ) {
    checkConfig(config);
    this.now = now;
  }

  subscribe<E extends keyof EventPayloads>(event: E, listener: (payload: EventPayloads[E]) => void): { unsubscribe: () => void } {
    const set = this.listeners.get(event) ?? new Set();
    set.add(listener as (payload: never) => void);
    this.listeners.set(event, set);
    return { unsubscribe: () => set.delete(listener as (payload: never) => void) };
  }

  /** The backend and timings once init() has resolved, else null. */
  getInfo(): BackendInfo | null {
    return this.info;
  }

  /** Starts the worker and loads the model once; a failed load may be retried with a fresh worker. */
  init(): Promise<BackendInfo> {
    if (this.initPromise) return this.initPromise;
    const promise = this.request({ type: 'init', id: this.nextId++, config: this.config }, []).then(response => {
      if (response.type !== 'ready') throw new InferenceError(`the worker answered init with ${response.type}`);
      this.info = response.info;
      this.emit(EVENTS.READY, response.info);
      return response.info;
    });
    this.initPromise = promise;
    promise.catch(() => {
      if (this.initPromise === promise) this.reset();
    });
    return promise;
  }

  /** Classifier.run: one request outside any slot. */
  async run(input: Float32Array, dims: TensorDims): Promise<ClassifierOutput> {
    return this.analyze({ key: `run-${this.nextId}`, input, dims });
  }

  /** A Classifier bound to one key and slot, for core.analyze(). */
  classifierFor(key: string, slot?: string): Classifier {
    return { run: (input, dims) => this.analyze({ key, input, dims, slot }) };
  }

  analyze(request: AnalyzeRequest): Promise<InferenceResult> {
    const { key, input, dims, slot } = request;
    const count = dims.reduce((a, b) => a * b, 1);
    if (input.length !== count) {
      return Promise.reject(
        new InferenceError(
          `input holds ${input.length} values but dims ${JSON.stringify(dims)} need ${count}` +
            (input.length === 0 ? ' (was its buffer transferred by an earlier call?)' : ''),
        ),
      );
    }
    const id = this.nextId++;
    const started = this.now();
    const loading = this.init();
    // Sent now, not once the model is loaded: the worker holds it until then, and it becomes the
    // session's first run instead of waiting behind the idle warm-up (engine.ts warmUp). A request
    // superseded meanwhile is cancelled there before it starts (serve drops it).
    const transfer = request.transfer !== false && ownsWholeBuffer(input) ? [input.buffer as ArrayBuffer] : [];
    const answered = this.request({ type: 'run', id, key, input, dims: [...dims] }, transfer);
    const promise = Promise.all([loading, answered]).then(([info, response]) => {
      if (response.type !== 'result' || response.key !== key) {
        throw new InferenceError(`the worker answered request ${id} (${key}) with ${response.type === 'result' ? response.key : response.type}`);
      }
      const { logit, cam, camDims, runMs } = response;
      return { key, logit, cam, camDims, runMs, backend: info.backend, roundTripMs: this.now() - started };
    });
    if (slot === undefined) return promise;
    return this.latest.run(slot, { key, promise, cancel: () => this.cancel(id) });
  }

  /** The worker's memory and run count (benchmarks). */
  stats(): Promise<WorkerStats> {
    return this.request({ type: 'stats', id: this.nextId++ }, []).then(response => {
      if (response.type !== 'stats') throw new InferenceError(`the worker answered stats with ${response.type}`);
      return response.stats;
    });
  }

  /** Stops the worker; pending requests reject. The next init() starts a new one. */
  dispose(): void {
    this.reset(new InferenceError('the inference client was disposed'));
  }

  private cancel(id: number): void {
    if (this.pending.delete(id)) (this.channel ?? this.worker)?.postMessage({ type: 'cancel', id }, []);
  }

  private request(message: WorkerRequest, transfer: Transferable[]): Promise<WorkerResponse> {
    const worker = this.ensureWorker();
    return new Promise<WorkerResponse>((resolve, reject) => {
      this.pending.set(message.id, { resolve, reject });
      try {
        (this.channel ?? worker).postMessage(message, transfer);
      } catch (error) {
        this.pending.delete(message.id);
        reject(new InferenceError(`could not send ${message.type} to the inference worker: ${messageOf(error)}`));
      }
    });
  }

  private ensureWorker(): WorkerLike {
    if (this.worker) return this.worker;
    const worker = this.createWorker();
    worker.addEventListener('message', ({ data }) => {
      if (this.worker === worker) this.onMessage(data);
    });
    const broken = (what: string) => (event: { message?: string }) => {
      if (this.worker !== worker) return;
      this.reset(new InferenceError(`inference worker ${what}${event.message ? `: ${event.message}` : ''}`));
    };
    worker.addEventListener('error', broken('failed'));
    worker.addEventListener('messageerror', broken('sent a message that could not be read'));
    this.worker = worker;
    return worker;
  }

  private onMessage(response: WorkerResponse): void {
    if (response.type === 'channel') {
      this.channel = response.port;
      return;
    }
    if (response.type === 'progress') {
      this.emit(EVENTS.PROGRESS, { loaded: response.loaded, total: response.total });
      return;
    }
    // Unknown ids are answers to cancelled requests: nobody waits for them.
    const pending = this.pending.get(response.id);
    if (!pending) return;
    this.pending.delete(response.id);
    if (response.type === 'error') pending.reject(response.model ? new ModelBytesError(response.message) : new InferenceError(response.message));
    else pending.resolve(response);
  }

  private reset(reason?: Error): void {
    const worker = this.worker;
    this.worker = null;
    this.channel?.close();
    this.channel = null;
    this.initPromise = null;
    this.info = null;
    worker?.terminate();
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.reject(reason ?? new InferenceError('the inference worker was restarted'));
  }

  private emit<E extends keyof EventPayloads>(event: E, payload: EventPayloads[E]): void {
    for (const listener of this.listeners.get(event) ?? []) (listener as (p: EventPayloads[E]) => void)(payload);
  }
}

function ownsWholeBuffer(array: Float32Array): boolean {
  // A SharedArrayBuffer cannot be transferred (and needs no copy); a view into a larger buffer
  // would take its neighbours with it. The tag test works across realms, unlike instanceof.
  return (
    Object.prototype.toString.call(array.buffer) === '[object ArrayBuffer]' &&
    array.byteOffset === 0 &&
    array.byteLength === array.buffer.byteLength
  );
}
