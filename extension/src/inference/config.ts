/**
 * The worker's configuration from the model manifest and the extension's settings, and its
 * check. URLs must be absolute (a worker would resolve relative ones against its own script): the
 * OHIF glue resolves them against the base it is given, never against window.location here.
 */
import type { Manifest } from '@chestaid/core';
import { InferenceError, type InferenceConfig } from './protocol';

export interface InferenceOptions {
  /** Absolute URL of the manifest the model file is named relative to. */
  readonly manifestUrl: string;
  /** Absolute URL of our served onnxruntime-web 1.31 files, e.g. https://host/chestaid/ort/. */
  readonly ortBaseUrl: string;
  /** Which variant of manifest.onnx to load: the file name of onnx.file or of one of onnx.variants. */
  readonly file?: string;
  readonly referenceUrl?: string;
  readonly backend?: InferenceConfig['backend'];
  readonly numThreads?: number;
  readonly cacheName?: string | null;
}

export function inferenceConfigFor(manifest: Manifest, options: InferenceOptions): InferenceConfig {
  const files = [manifest.onnx, ...(manifest.onnx.variants ?? [])];
  const chosen = options.file === undefined ? manifest.onnx : files.find(f => f.file === options.file);
  if (!chosen) {
    throw new Error(`the manifest lists no ONNX file ${JSON.stringify(options.file)} (it has ${files.map(f => f.file).join(', ')})`);
  }
  // The analysis calibrates with the manifest it is given: a variant with a calibration of its
  // own (int8) must run under it, never the float model's.
  if (chosen !== manifest.onnx && 'calibration' in chosen) {
    throw new Error(`${chosen.file} has its own calibration: run it with manifestForVariant(manifest, ${JSON.stringify(chosen.file)})`);
  }
  let modelUrl: string;
  try {
    modelUrl = new URL(chosen.file, options.manifestUrl).href;
  } catch {
    throw new Error(`manifestUrl must be an absolute URL, got ${JSON.stringify(options.manifestUrl)}`);
  }
  return {
    modelUrl,
    sha256: chosen.sha256,
    bytes: chosen.bytes,
    ortBaseUrl: options.ortBaseUrl,
    inputName: manifest.input.name,
    logitName: manifest.outputs.logit.name,
    camName: manifest.outputs.cam.name,
    ...(chosen.self_check ? { selfCheck: chosen.self_check } : {}),
    ...(chosen.weights ? { weights: chosen.weights } : {}),
    ...(options.referenceUrl !== undefined ? { referenceUrl: options.referenceUrl } : {}),
    ...(options.backend !== undefined ? { backend: options.backend } : {}),
    ...(options.numThreads !== undefined ? { numThreads: options.numThreads } : {}),
    ...(options.cacheName !== undefined ? { cacheName: options.cacheName } : {}),
  };
}

function checkAbsolute(url: string, field: string): void {
  try {
    new URL(url);
  } catch {
    throw new InferenceError(`${field} must be an absolute URL, got ${JSON.stringify(url)}`);
  }
}

/** The client runs it when built, so a bad configuration fails on the page; the engine again before it loads. */
export function checkConfig(config: InferenceConfig): void {
  checkAbsolute(config.modelUrl, 'modelUrl');
  checkAbsolute(config.ortBaseUrl, 'ortBaseUrl');
  if (!config.ortBaseUrl.endsWith('/')) {
    throw new InferenceError(`ortBaseUrl must end with "/", got ${JSON.stringify(config.ortBaseUrl)}`);
  }
  if (config.referenceUrl !== undefined) checkAbsolute(config.referenceUrl, 'referenceUrl');
  if (!/^[0-9a-f]{64}$/i.test(config.sha256)) {
    throw new InferenceError(`sha256 must be 64 hex digits, got ${JSON.stringify(config.sha256)}`);
  }
}
