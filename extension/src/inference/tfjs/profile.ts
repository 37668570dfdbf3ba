/**
 * Benchmarks only (issue 19's per-stage profiles): one run of the TensorFlow.js engine under
 * tf.profile, every kernel with its name, its shapes and its time. On the wasm backend every
 * kernel runs synchronously inside the call that launches it, and the backend's time() is the
 * wall time around that call (tfjs-backend-wasm 4.22 BackendWasm.time), so kernelTimeMs is each
 * kernel's wall time; what is not a kernel (the input's upload, reading the outputs back) is in
 * runMs only. Off unless the engine is given a profile sink (engine.ts).
 */
import * as tf from '@tensorflow/tfjs-core';

export interface KernelTime {
  /** TensorFlow.js's kernel name: FusedConv2D, FusedDepthwiseConv2D, Concat, MaxPool... */
  readonly name: string;
  readonly ms: number;
  readonly inputShapes: readonly (readonly number[])[];
  readonly outputShapes: readonly (readonly number[])[];
}

export interface TfjsProfile {
  /** The profiled run's wall time, profiling included. */
  readonly runMs: number;
  readonly kernels: readonly KernelTime[];
}

/** The prefix of the console line the worker prints a profile on (the bench reads it back). */
export const PROFILE_LINE_PREFIX = 'chestaid-tfjs-profile ';

export async function profileRun<T>(run: () => Promise<T>, now: () => number): Promise<{ result: T; profile: TfjsProfile }> {
  let result: T | undefined;
  const start = now();
  const info = await tf.profile(async () => {
    result = await run();
  });
  const runMs = now() - start;
  const kernels = info.kernels.map(k => {
    const ms = k.kernelTimeMs;
    if (typeof ms !== 'number') throw new Error(`TensorFlow.js gave kernel ${k.name} no time: ${JSON.stringify(ms)}`);
    return { name: k.name, ms, inputShapes: k.inputShapes, outputShapes: k.outputShapes };
  });
  return { result: result as T, profile: { runMs, kernels } };
}
