import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { parseManifest } from '@chestaid/core';
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
    });
  });

  it('picks a listed variant by file name, with that file\'s hash', () => {
    const variant = manifest.onnx.variants?.[0];
    if (!variant) return;
    const config = inferenceConfigFor(manifest, { ...options, file: variant.file });
    expect(config.modelUrl.endsWith(`/${variant.file}`)).toBe(true);
    expect(config.sha256).toBe(variant.sha256);
  });

  it('refuses an unlisted file and a relative manifest URL', () => {
    expect(() => inferenceConfigFor(manifest, { ...options, file: 'other.onnx' })).toThrow('the manifest lists no ONNX file "other.onnx"');
    expect(() => inferenceConfigFor(manifest, { ...options, manifestUrl: '/models/chestaid-demo/manifest.json' })).toThrow(
      'manifestUrl must be an absolute URL, got "/models/chestaid-demo/manifest.json"',
    );
  });
});
