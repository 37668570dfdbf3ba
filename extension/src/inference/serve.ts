/**
 * The worker's side of the protocol (protocol.ts): one engine behind a message port, its runs
 * one at a time, its load progress throttled. worker.ts binds it to the real worker scope.
 *
 * A worker given its configuration in its name (protocol.ts workerName) starts loading before
 * the init message reaches it; that message then shares the load when its configuration is the
 * same (the same JSON), and starts its own otherwise.
 */
import { messageOf } from '@chestaid/core';
import type { Progress } from './modelBytes';
import { InferenceError, ModelBytesError, type BackendInfo, type InferenceConfig, type WorkerRequest, type WorkerResponse, type WorkerStats } from './protocol';

/** The worker scope, as serve() uses it. */
export interface PortLike {
  postMessage(message: WorkerResponse, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: { data: WorkerRequest }) => void): void;
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

export function serve(port: PortLike, engine: Engine, early: InferenceConfig | null = null): void {
  // Runs go one at a time (an ORT session is not re-entrant); a cancelled one that has not
  // started is dropped without an answer.
  const waiting = new Set<number>();
  let queue: Promise<void> = Promise.resolve();
  const fail = (id: number, error: unknown) =>
    port.postMessage({ type: 'error', id, message: messageOf(error), ...(error instanceof ModelBytesError ? { model: true as const } : {}) });

  const progressFor = (id: number) => throttleProgress(p => port.postMessage({ type: 'progress', id, loaded: p.loaded, total: p.total }));
  // Progress of the early load goes out under id 0 (the client reads progress whatever its id).
  let started: { key: string; load: Promise<BackendInfo> } | null = early ? { key: JSON.stringify(early), load: engine.init(early, progressFor(0)) } : null;
  // Its failure is answered to the init message, like any load's.
  started?.load.catch(() => undefined);

  port.addEventListener('message', ({ data }) => {
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
  });
}
