/**
 * Fakes for the inference adapter's tests: a Worker, onnxruntime-web, fetch and the Cache API,
 * shaped like the structural parameters the modules declare (STYLE.md 11, no module mocking).
 */
import { createHash } from 'node:crypto';

import type { AdapterLike, GpuLike } from '../backend';
import type { OrtLike, SessionLike, SessionOptionsLike, TensorLike } from '../ort';
import { RUNTIME_START_MODEL } from '../runtime';
import type { WorkerLike } from '../InferenceClient';
import type { CacheLike, ResponseLike, Sha256Stream } from '../modelBytes';
import type { WorkerRequest, WorkerResponse } from '../protocol';
import { REFERENCE_FORMAT } from '../reference';

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** node:crypto's SHA-256 as a ModelBytesDeps stream (sha256.test.ts holds the browser's to it). */
export const sha256Stream = async (): Promise<Sha256Stream> => {
  const hash = createHash('sha256');
  return { update: chunk => void hash.update(chunk), hex: () => hash.digest('hex') };
};

export function response(
  bytes: Uint8Array | null,
  { status = 200, statusText = 'OK', chunk = 4, contentLength = true } = {},
): ResponseLike {
  const body = bytes ?? new Uint8Array(0);
  return {
    ok: status >= 200 && status < 300,
    status,
    statusText,
    headers: { get: name => (name.toLowerCase() === 'content-length' && contentLength ? String(body.length) : null) },
    body: {
      getReader() {
        let offset = 0;
        return {
          read: async () => {
            if (offset >= body.length) return { done: true };
            const value = body.slice(offset, offset + chunk);
            offset += chunk;
            return { done: false, value };
          },
        };
      },
    },
    arrayBuffer: async () => body.slice().buffer,
  };
}

export class FakeCache implements CacheLike {
  readonly entries = new Map<string, Uint8Array>();
  async match(key: string) {
    const bytes = this.entries.get(key);
    return bytes ? response(bytes) : undefined;
  }
  async put(key: string, value: unknown) {
    this.entries.set(key, (value as { bytes: Uint8Array }).bytes);
  }
  async delete(key: string) {
    return this.entries.delete(key);
  }
  async keys() {
    return [...this.entries.keys()].map(url => ({ url }));
  }
}

export class FakeCaches {
  readonly stores = new Map<string, FakeCache>();
  async open(name: string) {
    const cache = this.stores.get(name) ?? new FakeCache();
    this.stores.set(name, cache);
    return cache;
  }
}

/** A fetch serving fixed files; counts requests per URL. */
export function fakeFetch(files: Record<string, Uint8Array>) {
  const calls: string[] = [];
  const fetch = async (url: string) => {
    calls.push(url);
    const bytes = files[url];
    return bytes ? response(bytes) : response(null, { status: 404, statusText: 'Not Found' });
  };
  return { fetch, calls };
}

/**
 * The "model": logit = mean of the input, CAM = the first four inputs as 2 x 2. A provider listed
 * in `wrong` adds 0.6 to the logit (as the JSEP Concat bug did); one in `broken` throws on run.
 */
export interface FakeOrtOptions {
  readonly wrong?: readonly string[];
  readonly broken?: readonly string[];
  readonly failCreate?: readonly string[];
  readonly inputShape?: readonly (number | string)[];
}

export function modelOutputs(input: Float32Array): { logit: number; cam: Float32Array } {
  let sum = 0;
  for (const v of input) sum += v;
  return { logit: Math.fround(sum / input.length), cam: input.slice(0, 4) };
}

export class FakeOrt implements OrtLike {
  readonly env = { wasm: {} as { numThreads?: number; wasmPaths?: unknown; proxy?: boolean } };
  /** Every session created, the runtime's one-node start session included (`start`). */
  readonly sessions: { provider: string; released: boolean; runs: number; start: boolean; profiled: boolean; profileEnded: boolean }[] = [];
  /** The sessions of the model under test, without the runtime's start session. */
  get modelSessions() {
    return this.sessions.filter(s => !s.start);
  }
  /** env.wasm as it was when each session was created. */
  readonly envAtCreate: { numThreads?: number; wasmPaths?: unknown }[] = [];

  constructor(readonly options: FakeOrtOptions = {}) {}

  readonly Tensor = class {
    constructor(
      readonly type: 'float32',
      readonly data: Float32Array,
      readonly dims: readonly number[],
    ) {}
  };

  readonly InferenceSession = {
    create: async (model: Uint8Array, { executionProviders, enableProfiling = false }: SessionOptionsLike): Promise<SessionLike> => {
      const provider = executionProviders[0];
      if (this.options.failCreate?.includes(provider)) throw new Error(`${provider} backend not available`);
      this.envAtCreate.push({ ...this.env.wasm });
      const record = { provider, released: false, runs: 0, start: model === RUNTIME_START_MODEL, profiled: enableProfiling, profileEnded: false };
      this.sessions.push(record);
      const { wrong = [], broken = [], inputShape = ['N', 3, 2, 2] } = this.options;
      return {
        inputNames: ['input'],
        outputNames: ['logit', 'cam'],
        inputMetadata: [{ name: 'input', shape: inputShape }],
        run: async feeds => {
          record.runs++;
          if (broken.includes(provider)) throw new Error(`[Invalid ComputePipeline "Concat"]`);
          const input = (feeds.input as { data: Float32Array }).data;
          const out = modelOutputs(input);
          const logit: TensorLike = { data: Float32Array.of(out.logit + (wrong.includes(provider) ? 0.6 : 0)), dims: [1, 1] };
          const cam: TensorLike = { data: out.cam, dims: [1, 2, 2] };
          return { logit, cam };
        },
        release: async () => {
          record.released = true;
        },
        endProfiling: () => {
          record.profileEnded = true;
        },
      };
    },
  };
}

export function fakeGpu(adapter: AdapterLike | null): GpuLike {
  return { requestAdapter: async () => adapter };
}

export const SWIFTSHADER: AdapterLike = { info: { vendor: 'google', architecture: 'swiftshader', isFallbackAdapter: true } };
export const HARDWARE_GPU: AdapterLike = { info: { vendor: 'nvidia', architecture: 'ampere', isFallbackAdapter: false } };

/** A reference file (reference.ts format) for a fake model, with its outputs computed as the fake does. */
export function referenceFor(modelSha: string, input: Float32Array, shape: readonly number[], tolerance = 1e-4) {
  const { logit, cam } = modelOutputs(input);
  return {
    format: REFERENCE_FORMAT,
    model: { sha256: modelSha },
    input: { shape, dtype: 'float32-le', base64: Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('base64') },
    outputs: { logit: { shape: [1, 1], data: [logit] }, cam: { shape: [1, 2, 2], data: Array.from(cam) } },
    tolerances: { logit: tolerance, cam: tolerance },
  };
}

/** A Worker whose answers the test writes by hand, in any order. */
export class FakeWorker implements WorkerLike {
  readonly sent: { message: WorkerRequest; transfer: Transferable[] }[] = [];
  terminated = false;
  private readonly handlers: Record<string, ((event: never) => void)[]> = {};

  postMessage(message: WorkerRequest, transfer: Transferable[]): void {
    this.sent.push({ message, transfer });
  }
  addEventListener(type: string, listener: (event: never) => void): void {
    (this.handlers[type] ??= []).push(listener);
  }
  terminate(): void {
    this.terminated = true;
  }

  reply(data: WorkerResponse): void {
    for (const h of this.handlers.message ?? []) (h as (e: { data: WorkerResponse }) => void)({ data });
  }
  crash(message: string): void {
    for (const h of this.handlers.error ?? []) (h as (e: { message: string }) => void)({ message });
  }
  /** The last request of a type. */
  last<T extends WorkerRequest['type']>(type: T): Extract<WorkerRequest, { type: T }> {
    const found = [...this.sent].reverse().find(s => s.message.type === type);
    if (!found) throw new Error(`no ${type} request was sent`);
    return found.message as Extract<WorkerRequest, { type: T }>;
  }
}

/** Lets pending promise callbacks run. */
export const flush = () => new Promise<void>(resolve => setImmediate(resolve));
