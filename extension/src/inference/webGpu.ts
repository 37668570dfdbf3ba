/**
 * WebGPU, trusted only after its self-check: which adapters are worth a session, the session on
 * the adapter, and one known input compared with a stored reference or with wasm. Any failure is
 * a reason to fall back to wasm, never an error: the engine says why in BackendInfo.reason.
 */
import { messageOf } from '@chestaid/core';
import { describeAdapter } from './backend';
import type { OrtLike, SessionLike } from './ort';
import { InferenceError, type AdapterReport, type InferenceConfig, type SelfCheckReport } from './protocol';
import { CROSS_CHECK_TOLERANCE, parseReference, probeInput, type Reference } from './reference';
import { compareWithReference, referenceFromBlock } from './selfCheck';
import type { Settled, StartedRuntime } from './runtime';
import { createSession, inputShape, release, runOnce, type Names } from './session';

export interface WebGpuDeps {
  readonly fetchJson: (url: string) => Promise<unknown>;
  readonly now: () => number;
}

export type WebGpuAttempt =
  | { readonly ok: true; readonly ort: OrtLike; readonly session: SessionLike; readonly createMs: number; readonly check: SelfCheckReport }
  | { readonly ok: false; readonly ort: OrtLike | null; readonly reason: string; readonly check: SelfCheckReport | null };

/**
 * A software fallback adapter (SwiftShader, WARP) computes on the CPU through a GPU emulation:
 * in the bench it took 8.8-9.6 s per DenseNet-121 run (median 9.2 s) against 0.11 s for wasm on
 * 2 threads. 'auto' leaves it alone; 'webgpu' asks for it (the WebGPU e2e check, the bench).
 */
export function usesAdapter(adapter: AdapterReport, config: InferenceConfig): boolean {
  return !adapter.isFallbackAdapter || config.backend === 'webgpu';
}

export function skippedAdapterReason(adapter: AdapterReport): string {
  const name = [adapter.vendor, adapter.architecture].filter(Boolean).join(' ') || 'unnamed';
  return `the WebGPU adapter is a software fallback (${name}), slower than wasm`;
}

export function formatDiff(value: number): string {
  return value === 0 || !Number.isFinite(value) ? String(value) : value.toPrecision(2);
}

/** A WebGPU session that passed its self-check, or why not (and the runtime, to reuse for wasm). */
export async function tryWebGpu(
  deps: WebGpuDeps,
  config: InferenceConfig,
  names: Names,
  bytes: Uint8Array,
  runtime: Settled<StartedRuntime>,
  adapter: AdapterReport,
): Promise<WebGpuAttempt> {
  if (!runtime.ok) {
    return { ok: false, ort: null, reason: `WebGPU runtime unavailable (${messageOf(runtime.error)})`, check: null };
  }
  const { ort } = runtime;
  let session: SessionLike | null = null;
  let check: SelfCheckReport | null = null;
  try {
    const start = deps.now();
    session = await createSession(ort, bytes, 'webgpu', names, config);
    const createMs = deps.now() - start;
    check = await selfCheck(deps, ort, session, names, bytes, config);
    if (check.passed) return { ok: true, ort, session, createMs, check };
    return {
      ok: false,
      ort,
      check,
      reason:
        `WebGPU on ${describeAdapter(adapter)} failed its self-check against ${check.against} ` +
        `(logit off by ${formatDiff(check.logitDiff)}, CAM by ${formatDiff(check.camDiff)}; tolerance ${check.tolerance.logit}, ${check.tolerance.cam})`,
    };
  } catch (error) {
    return { ok: false, ort, check, reason: `WebGPU on ${describeAdapter(adapter)} failed (${messageOf(error)})` };
  } finally {
    if (!check?.passed) await release(session);
  }
}

/** One known input on the WebGPU session, compared with a stored reference or with wasm. */
async function selfCheck(
  deps: WebGpuDeps,
  ort: OrtLike,
  gpuSession: SessionLike,
  names: Names,
  bytes: Uint8Array,
  config: InferenceConfig,
): Promise<SelfCheckReport> {
  let expected: Reference;
  let against: SelfCheckReport['against'];
  if (config.referenceUrl) {
    let json: unknown;
    try {
      json = await deps.fetchJson(config.referenceUrl);
    } catch (error) {
      throw new InferenceError(`self-check reference ${config.referenceUrl} unavailable: ${messageOf(error)}`);
    }
    expected = parseReference(json, config.sha256, config.referenceUrl);
    against = 'reference';
  } else if (config.selfCheck) {
    // The manifest's outputs by onnxruntime-node: no second (wasm) session to build and run.
    expected = referenceFromBlock(config.selfCheck, [1, ...inputShape(gpuSession, names)]);
    against = 'manifest';
  } else {
    expected = await wasmReference(ort, bytes, names);
    against = 'wasm';
  }
  const start = deps.now();
  // The run may consume its input buffer; the reference keeps its own.
  const got = await runOnce(ort, gpuSession, names, expected.input.slice(), expected.dims);
  return compareWithReference(expected, got, against, deps.now() - start);
}

async function wasmReference(ort: OrtLike, bytes: Uint8Array, names: Names): Promise<Reference> {
  const session = await createSession(ort, bytes, 'wasm', names);
  try {
    const dims = [1, ...inputShape(session, names)];
    const input = probeInput(dims);
    const out = await runOnce(ort, session, names, input.slice(), dims);
    return { input, dims, logit: out.logit, cam: out.cam, tolerance: CROSS_CHECK_TOLERANCE };
  } finally {
    await release(session);
  }
}
