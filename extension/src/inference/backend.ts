/**
 * Which backend and how many threads: small pure decisions, kept apart from the worker so they
 * are tested with plain values.
 */
import type { AdapterReport } from './protocol';
import { messageOf } from '@chestaid/core';

export interface ThreadEnvironment {
  readonly crossOriginIsolated: boolean;
  readonly hardwareConcurrency?: number;
}

export interface ThreadChoice {
  readonly threads: number;
  /** Said after the thread count when it is not the machine's best, e.g. "(page not cross-origin isolated)". */
  readonly note: string;
}

/** ORT's useful maximum for a CNN this size; more threads mostly add synchronisation. */
export const MAX_THREADS = 4;

/**
 * onnxruntime-web's own default resolves to 1 thread on a 2-core machine (environment.md), so
 * the count is always set: min(4, cores) where SharedArrayBuffer works (cross-origin isolated),
 * else 1, which is all wasm can do there.
 */
export function chooseThreads(env: ThreadEnvironment, override?: number): ThreadChoice {
  if (override !== undefined) {
    if (!Number.isInteger(override) || override < 1) {
      throw new RangeError(`numThreads must be a positive integer, got ${JSON.stringify(override)}`);
    }
    if (override > 1 && !env.crossOriginIsolated) {
      return { threads: 1, note: ` (${override} asked, but the page is not cross-origin isolated)` };
    }
    return { threads: override, note: ' (set by configuration)' };
  }
  if (!env.crossOriginIsolated) return { threads: 1, note: ' (page not cross-origin isolated)' };
  const cores = env.hardwareConcurrency && env.hardwareConcurrency > 0 ? Math.floor(env.hardwareConcurrency) : 1;
  return { threads: Math.min(MAX_THREADS, cores), note: '' };
}

export function describeWasm(choice: ThreadChoice): string {
  return `using wasm, ${choice.threads} thread${choice.threads === 1 ? '' : 's'}${choice.note}`;
}

interface AdapterInfoLike {
  readonly vendor?: string;
  readonly architecture?: string;
  readonly description?: string;
  readonly isFallbackAdapter?: boolean;
}

export interface AdapterLike {
  /** Older Chromium; newer ones moved it to `info`. */
  readonly isFallbackAdapter?: boolean;
  readonly info?: AdapterInfoLike;
}

export interface GpuLike {
  requestAdapter(): Promise<AdapterLike | null>;
}

export type AdapterLookup =
  | { readonly adapter: AdapterReport; readonly reason?: undefined }
  | { readonly adapter: null; readonly reason: string };

/** Whether WebGPU is worth trying, and what the adapter is; never throws. */
export async function findAdapter(gpu: GpuLike | null, mode: 'auto' | 'wasm' | 'webgpu'): Promise<AdapterLookup> {
  if (mode === 'wasm') return { adapter: null, reason: 'WebGPU turned off by configuration' };
  if (!gpu) return { adapter: null, reason: 'no WebGPU adapter (navigator.gpu is absent)' };
  let adapter: AdapterLike | null;
  try {
    adapter = await gpu.requestAdapter();
  } catch (error) {
    return { adapter: null, reason: `no WebGPU adapter (requestAdapter failed: ${messageOf(error)})` };
  }
  if (!adapter) return { adapter: null, reason: 'no WebGPU adapter' };
  const info = adapter.info ?? {};
  return {
    adapter: {
      isFallbackAdapter: Boolean(info.isFallbackAdapter ?? adapter.isFallbackAdapter),
      vendor: info.vendor ?? '',
      architecture: info.architecture ?? '',
      description: info.description ?? '',
    },
  };
}

export function describeAdapter(adapter: AdapterReport): string {
  const name = [adapter.vendor, adapter.architecture].filter(Boolean).join(' ') || 'unnamed adapter';
  return adapter.isFallbackAdapter ? `${name}, software fallback adapter` : name;
}
