/**
 * onnxruntime-web's start: import the build for the backend, set its env, start its wasm runtime.
 * Starting it is the slow half of loading that does not need the model, so the engine starts it
 * while the model downloads and reads the outcome later (settle).
 */
import { messageOf } from '@chestaid/core';
import type { ThreadChoice } from './backend';
import type { OrtFlavour, OrtLike } from './ort';
import { InferenceError, type InferenceConfig } from './protocol';
import { release } from './session';

export interface RuntimeDeps {
  readonly loadOrt: (flavour: OrtFlavour, baseUrl: string) => Promise<OrtLike>;
  readonly now: () => number;
}

/**
 * The smallest model there is (ONNX IR 7, opset 13: y = Identity(x), x float[1]). Creating a
 * session from it is the only public way to make onnxruntime-web start its wasm runtime before the
 * real model's bytes are there (onnxruntime issue 18364 asks for another); it is released at once.
 */
export const RUNTIME_START_MODEL = Uint8Array.of(
  8, 7, 58, 55, 10, 16, 10, 1, 120, 18, 1, 121, 34, 8, 73, 100, 101, 110, 116, 105, 116, 121, 18, 1, 103, 90, 15, 10, 1,
  120, 18, 10, 10, 8, 8, 1, 18, 4, 10, 2, 8, 1, 98, 15, 10, 1, 121, 18, 10, 10, 8, 8, 1, 18, 4, 10, 2, 8, 1, 66, 4, 10, 0,
  16, 13,
);

export interface StartedRuntime {
  readonly ort: OrtLike;
  readonly ms: number;
}

/**
 * Loads onnxruntime-web, sets its env and starts its wasm runtime with a one-node session, so
 * the model's session later only parses, optimises and prepacks the graph.
 */
export async function startRuntime(deps: RuntimeDeps, flavour: OrtFlavour, config: InferenceConfig, threads: ThreadChoice): Promise<StartedRuntime> {
  const start = deps.now();
  const ort = configureEnv(await importOrt(deps, flavour, config), config, threads);
  try {
    const session = await ort.InferenceSession.create(RUNTIME_START_MODEL, { executionProviders: ['wasm'] });
    await release(session);
  } catch (error) {
    throw new InferenceError(`could not start onnxruntime-web (${flavour}) from ${config.ortBaseUrl}: ${messageOf(error)}`);
  }
  return { ort, ms: deps.now() - start };
}

async function importOrt(deps: RuntimeDeps, flavour: OrtFlavour, config: InferenceConfig): Promise<OrtLike> {
  try {
    return await deps.loadOrt(flavour, config.ortBaseUrl);
  } catch (error) {
    throw new InferenceError(`could not load onnxruntime-web (${flavour}) from ${config.ortBaseUrl}: ${messageOf(error)}`);
  }
}

/** env is read when the runtime first initialises, so it is set before any session exists. */
function configureEnv(ort: OrtLike, config: InferenceConfig, threads: ThreadChoice): OrtLike {
  ort.env.wasm.numThreads = threads.threads;
  ort.env.wasm.wasmPaths = config.ortBaseUrl;
  // We are the worker already; ORT's proxy worker would add a second hop.
  ort.env.wasm.proxy = false;
  // ORT warns on every session that shape ops run on the CPU; the console is the reader's too.
  ort.env.logLevel = 'error';
  return ort;
}

export type Settled<T> = ({ readonly ok: true } & T) | { readonly ok: false; readonly error: unknown; readonly ms?: undefined };

/** The outcome of a promise that is awaited later, without an unhandled rejection meanwhile. */
export function settle<T extends object>(promise: Promise<T>): Promise<Settled<T>> {
  return promise.then(
    value => ({ ok: true as const, ...value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}
