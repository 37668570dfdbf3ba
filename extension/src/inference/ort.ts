/**
 * The part of onnxruntime-web the engine uses, structurally typed: worker.ts passes the real
 * module, the tests pass fakes (testing/fakes.ts).
 */

export interface TensorLike {
  readonly data: unknown;
  readonly dims: readonly number[];
}

export interface SessionLike {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** ORT >= 1.22; tensors carry their shape, symbolic dims as strings. */
  readonly inputMetadata?: readonly { readonly name: string; readonly shape?: readonly (number | string)[] }[];
  run(feeds: Record<string, unknown>): Promise<Record<string, TensorLike>>;
  release(): Promise<void>;
  /** Ends onnxruntime's profiler; onnxruntime-web prints the trace to the console. */
  endProfiling?(): void;
}

export interface SessionOptionsLike {
  executionProviders: string[];
  enableProfiling?: boolean;
}

/** The part of onnxruntime-web's module the engine uses. */
export interface OrtLike {
  readonly env: { wasm: { numThreads?: number; wasmPaths?: unknown; proxy?: boolean }; logLevel?: string };
  readonly InferenceSession: {
    create(model: Uint8Array, options: SessionOptionsLike): Promise<SessionLike>;
  };
  readonly Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => unknown;
}

/** 'webgpu' must load the C++ WebGPU provider build (ort.webgpu.min.mjs); 'wasm' ort.wasm.min.mjs. */
export type OrtFlavour = 'wasm' | 'webgpu';
