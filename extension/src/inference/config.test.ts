import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { manifestForVariant, parseManifest } from '@chestaid/core';
import { inferenceConfigFor } from './config';

const manifest = parseManifest(JSON.parse(readFileSync(resolve(__dirname, '../../../models/chestaid-demo/manifest.json'), 'utf8')));
const options = { manifestUrl: 'https://viewer.example/models/chestaid-demo/manifest.json', ortBaseUrl: 'https://viewer.example/chestaid/ort/' };

describe('inferenceConfigFor', () => {
  it('names the model file beside the manifest, with its hash, size and graph names', () => {
    expect(inferenceConfigFor(manifest, options)).toEqual({
      modelUrl: `https://viewer.example/models/chestaid-demo/${manifest.onnx.file}`,
      sha256: manifest.onnx.sha256,
      bytes: manifest.onnx.bytes,
      ortBaseUrl: options.ortBaseUrl,
      inputName: 'input',
      logitName: 'logit',
      camName: 'cam',
      selfCheck: manifest.onnx.self_check,
      weights: 'float32',
    });
    expect(inferenceConfigFor(manifest, options).selfCheck?.probe).toBe('chestaid-probe/1');
  });

  it('picks a listed variant by file name, with that file\'s hash', () => {
    const variant = manifest.onnx.variants?.[0];
    if (!variant) return;
    const config = inferenceConfigFor(manifest, { ...options, file: variant.file });
    expect(config.modelUrl.endsWith(`/${variant.file}`)).toBe(true);
    expect(config.sha256).toBe(variant.sha256);
    // Its own probe outputs, never the main file's.
    expect(config.selfCheck).toBe(variant.self_check);
  });

  it('runs a variant with its own calibration only from the manifest made for it', () => {
    const json = JSON.parse(readFileSync(resolve(__dirname, '../../../models/chestaid-demo/manifest.json'), 'utf8'));
    const own = { file: 'model.int8.onnx', sha256: 'ab'.repeat(32), bytes: 7, weights: 'int8', calibration: json.calibration, thresholds: json.thresholds,
      quantization: {}, gates: { split: 'test', pass: true } };
    json.onnx.variants = [...json.onnx.variants.filter((v: { file: string }) => v.file !== own.file), own];
    const withInt8 = parseManifest(json);
    expect(() => inferenceConfigFor(withInt8, { ...options, file: own.file })).toThrow(
      'model.int8.onnx has its own calibration: run it with manifestForVariant(manifest, "model.int8.onnx")',
    );
    const config = inferenceConfigFor(manifestForVariant(withInt8, own.file), options);
    expect(config).toMatchObject({ sha256: own.sha256, bytes: 7 });
    expect(config.modelUrl.endsWith('/model.int8.onnx')).toBe(true);
  });

  it('refuses an unlisted file and a relative manifest URL', () => {
    expect(() => inferenceConfigFor(manifest, { ...options, file: 'other.onnx' })).toThrow('the manifest lists no ONNX file "other.onnx"');
    expect(() => inferenceConfigFor(manifest, { ...options, manifestUrl: '/models/chestaid-demo/manifest.json' })).toThrow(
      'manifestUrl must be an absolute URL, got "/models/chestaid-demo/manifest.json"',
    );
  });
});
