/**
 * The model for Node: the manifest parsed by the core's own validator, the ONNX file's bytes
 * verified against the manifest's sha256 before onnxruntime sees them, and a core `Classifier` on
 * onnxruntime-node (the browser's is onnxruntime-web in extension/src/inference/).
 *
 * The bytes that are hashed are the bytes the session is created from: hashing the file and then
 * letting onnxruntime open the path would leave a window in which another file could be scored.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

import * as ort from 'onnxruntime-node';

import {
  InputError,
  manifestForVariant,
  parseManifest,
  type Classifier,
  type ClassifierOutput,
  type Manifest,
  type TensorDims,
} from '@chestaid/core';

/** The model cannot be used: missing, tampered with, or its manifest is invalid. */
export class ModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelError';
  }
}

export interface LoadedModel {
  readonly manifest: Manifest;
  readonly manifestPath: string;
  readonly onnxPath: string;
  readonly sha256: string;
  readonly classifier: OrtNodeClassifier;
  readonly loadMs: { readonly read: number; readonly verify: number; readonly session: number };
}

export interface LoadOptions {
  /** onnxruntime intra-op threads; its default is every core. */
  readonly threads?: number;
  /**
   * Which ONNX file of the manifest to run: onnx.file (the default) or one of onnx.variants. The
   * manifest is then the one that file runs under (core manifestForVariant): its sha256, and an
   * int8 variant's own calibration and threshold.
   */
  readonly file?: string;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function readManifest(manifestPath: string): Manifest {
  let text: string;
  try {
    text = readFileSync(manifestPath, 'utf8');
  } catch (error) {
    throw new ModelError(`model manifest ${manifestPath} cannot be read: ${describe(error)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ModelError(`model manifest ${manifestPath} is not JSON: ${describe(error)}`);
  }
  try {
    return parseManifest(json);
  } catch (error) {
    throw new ModelError(`model manifest ${manifestPath}: ${describe(error)}`);
  }
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Reads the manifest and its ONNX file, verifies the hash and starts an onnxruntime-node session. */
export async function loadModel(manifestPath: string, options: LoadOptions = {}): Promise<LoadedModel> {
  const manifestFile = resolve(manifestPath);
  let manifest = readManifest(manifestFile);
  try {
    manifest = manifestForVariant(manifest, options.file);
  } catch (error) {
    throw new ModelError(`model manifest ${manifestFile}: ${describe(error)}`);
  }
  const onnxPath = resolve(dirname(manifestFile), manifest.onnx.file);

  let start = performance.now();
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(onnxPath);
  } catch (error) {
    throw new ModelError(`model file ${onnxPath} (named by ${manifestFile}) cannot be read: ${describe(error)}`);
  }
  const read = performance.now() - start;

  start = performance.now();
  const expected = manifest.onnx.sha256.toLowerCase();
  const actual = sha256Hex(bytes);
  if (actual !== expected) {
    throw new ModelError(
      `model file ${onnxPath} has sha256 ${actual}, but the manifest says ${expected}: ` +
        'the file was changed or belongs to another model; refusing to score with it',
    );
  }
  if (bytes.byteLength !== manifest.onnx.bytes) {
    throw new ModelError(`model file ${onnxPath} is ${bytes.byteLength} bytes; the manifest says ${manifest.onnx.bytes}`);
  }
  const verify = performance.now() - start;

  start = performance.now();
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, {
      ...(options.threads === undefined ? {} : { intraOpNumThreads: options.threads }),
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
    });
  } catch (error) {
    throw new ModelError(`onnxruntime-node could not load ${onnxPath}: ${describe(error)}`);
  }
  const sessionMs = performance.now() - start;
  const classifier = new OrtNodeClassifier(session, {
    input: manifest.input.name,
    logit: manifest.outputs.logit.name,
    cam: manifest.outputs.cam.name,
  });
  return { manifest, manifestPath: manifestFile, onnxPath, sha256: actual, classifier, loadMs: { read, verify, session: sessionMs } };
}

interface Names {
  readonly input: string;
  readonly logit: string;
  readonly cam: string;
}

/** The core Classifier on an onnxruntime-node session: batch 1, the manifest's tensor names. */
export class OrtNodeClassifier implements Classifier {
  constructor(
    private readonly session: ort.InferenceSession,
    private readonly names: Names,
  ) {
    for (const [role, name] of [['input', names.input]] as const) {
      if (!session.inputNames.includes(name)) {
        throw new ModelError(`the model has no ${role} named ${JSON.stringify(name)}; it has ${JSON.stringify(session.inputNames)}`);
      }
    }
    for (const [role, name] of [['logit', names.logit], ['cam', names.cam]] as const) {
      if (!session.outputNames.includes(name)) {
        throw new ModelError(`the model has no ${role} output named ${JSON.stringify(name)}; it has ${JSON.stringify(session.outputNames)}`);
      }
    }
  }

  async run(input: Float32Array, dims: TensorDims): Promise<ClassifierOutput> {
    const expected = dims.reduce((a, b) => a * b, 1);
    if (input.length !== expected) {
      throw new InputError(`input tensor holds ${input.length} values; dims ${JSON.stringify(dims)} need ${expected}`);
    }
    const feeds = { [this.names.input]: new ort.Tensor('float32', input, [...dims]) };
    const outputs = await this.session.run(feeds);
    const logit = outputs[this.names.logit];
    const cam = outputs[this.names.cam];
    if (!(logit?.data instanceof Float32Array) || logit.data.length !== 1) {
      throw new ModelError(`the model's ${this.names.logit} output is not one float32 value (dims ${JSON.stringify(logit?.dims)})`);
    }
    if (!(cam?.data instanceof Float32Array) || cam.dims.length !== 3 || cam.dims[0] !== 1) {
      throw new ModelError(`the model's ${this.names.cam} output is not a [1, H, W] float32 map (dims ${JSON.stringify(cam?.dims)})`);
    }
    // Copied: onnxruntime may reuse the output's memory on the next run.
    return { logit: logit.data[0], cam: Float32Array.from(cam.data), camDims: [cam.dims[1], cam.dims[2]] };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
