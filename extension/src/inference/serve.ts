/**
 * The worker's side of the protocol (protocol.ts): one engine behind a message port, its runs
 * one at a time, its load progress throttled. worker.ts binds it to the real worker scope.
 *
 * A worker given its configuration in its name (protocol.ts workerName) starts loading before
 * the init message reaches it; that message then shares the load when its configuration is the
 * same (the same JSON), and starts its own otherwise. Such a worker also hands the page a port of
 * a channel of its own, and takes requests from it as from the worker object: Chromium holds what
 * the page posts to a new worker until the page's thread has noted that the worker's script ran,
 * which while OHIF opens a study came up to 4.5 s after it ran (the first Analyze's request
 * waited 0.1-0.5 s for it in the viewer probe); a port's messages go straight to the worker.
 */
import { messageOf } from '@chestaid/core';
import type { Progress } from './modelBytes';
import { configInWorkerName, InferenceError, ModelBytesError, type BackendInfo, type InferenceConfig, type RequestPort, type WorkerRequest, type WorkerResponse, type WorkerStats } from './protocol';

/** The worker scope, as serve() uses it. */
export interface PortLike {
  postMessage(message: WorkerResponse, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: { data: WorkerRequest }) => void): void;
}

/** A MessageChannel: port1 stays in the worker, port2 goes to the page. */
export interface ChannelLike {
  readonly port1: { addEventListener(type: 'message', listener: (event: { data: WorkerRequest }) => void): void; start(): void };
  readonly port2: RequestPort & Transferable;
}

export interface EarlyStart {
  /** The configuration from the worker's name (configInWorkerName). */
  readonly config: InferenceConfig;
  /** new MessageChannel() in the worker; without it requests come by the worker object only. */
  readonly openChannel?: () => ChannelLike;
}

export interface RunOutput {
  readonly logit: number;
  readonly cam: Float32Array;
  readonly camDims: readonly [number, number];
  readonly runMs: number;
}

/** What serve() needs of the engine (InferenceEngine; the tests pass fakes). */
export interface Engine {
  init(config: InferenceConfig, onProgress: (progress: Progress) => void): Promise<BackendInfo>;
  run(input: Float32Array, dims: readonly number[]): Promise<RunOutput>;
  /** The session's first run when nothing else is queued (InferenceEngine.warmUp). */
  warmUp?(): Promise<unknown>;
  stats?(): WorkerStats;
}

/** Progress messages at most every 1 % of the file (or 1 MiB when its size is unknown). */
export function throttleProgress(post: (progress: Progress) => void): (progress: Progress) => void {
  let last = -Infinity;
  return progress => {
    const step = progress.total ? progress.total / 100 : 1 << 20;
    const done = progress.total !== null && progress.loaded >= progress.total;
    if (done || progress.loaded === 0 || progress.loaded - last >= step) {
      last = progress.loaded;
      post(progress);
    }
  };
}

/** The early start a worker's name asks for (protocol.ts workerName), with the worker's MessageChannel; null for a bare name. */
export function earlyStartFromName(name: string): EarlyStart | null {
  const config = configInWorkerName(name);
  return config && { config, openChannel: () => new MessageChannel() as unknown as ChannelLike };
}

export function serve(port: PortLike, engine: Engine, early: EarlyStart | null = null): void {
  // Runs go one at a time (an ORT session is not re-entrant); a cancelled one that has not
  // started is dropped without an answer.
  const waiting = new Set<number>();
  let queue: Promise<void> = Promise.resolve();
  const fail = (id: number, error: unknown) =>
    port.postMessage({ type: 'error', id, message: messageOf(error), ...(error instanceof ModelBytesError ? { model: true as const } : {}) });

  // The channel first, so that the page has it before anything else this worker says; what
  // comes by it waits in the port until start(), below.
  const channel = early?.openChannel?.();
  if (channel) port.postMessage({ type: 'channel', id: 0, port: channel.port2 }, [channel.port2]);
  const progressFor = (id: number) => throttleProgress(p => port.postMessage({ type: 'progress', id, loaded: p.loaded, total: p.total }));
  // Progress of the early load goes out under id 0 (the client reads progress whatever its id).
  let started: { key: string; load: Promise<BackendInfo> } | null = early ? { key: JSON.stringify(early.config), load: engine.init(early.config, progressFor(0)) } : null;
  // Its failure is answered to the init message, like any load's.
  started?.load.catch(() => undefined);

  const onRequest = ({ data }: { data: WorkerRequest }) => {
    switch (data.type) {
      case 'init': {
        const { id } = data;
        const load = started?.key === JSON.stringify(data.config) ? started.load : engine.init(data.config, progressFor(id));
        started = null;
        load.then(
          info => {
            port.postMessage({ type: 'ready', id, info });
            // Behind whatever is queued already: the client sends a request before the model is
            // loaded (InferenceClient.analyze), and that request is then the first run itself.
            queue = queue.then(() => engine.warmUp?.()).then(
              () => undefined,
              () => undefined, // a failed warm-up fails the next request too, which says why
            );
          },
          error => fail(id, error),
        );
        break;
      }
      case 'run': {
        const { id, key, input, dims } = data;
        waiting.add(id);
        queue = queue.then(async () => {
          if (!waiting.delete(id)) return;
          try {
            const out = await engine.run(input, dims);
            port.postMessage({ type: 'result', id, key, ...out }, [out.cam.buffer]);
          } catch (error) {
            fail(id, error);
          }
        });
        break;
      }
      case 'cancel':
        waiting.delete(data.id);
        break;
      case 'stats':
        if (engine.stats) port.postMessage({ type: 'stats', id: data.id, stats: engine.stats() });
        else fail(data.id, new InferenceError('this worker keeps no statistics'));
        break;
    }
  };
  port.addEventListener('message', onRequest);
  if (channel) {
    channel.port1.addEventListener('message', onRequest);
    channel.port1.start();
  }
}
