import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { ENGINE_VERSIONS } from './versions';

const versionOf = (name: string) => JSON.parse(readFileSync(resolve(__dirname, '../../../node_modules', name, 'package.json'), 'utf8')).version;

it('names the installed onnxruntime-web and TensorFlow.js (core and wasm backend alike)', () => {
  expect(ENGINE_VERSIONS.onnxruntime).toBe(versionOf('onnxruntime-web'));
  expect(ENGINE_VERSIONS.tfjs).toBe(versionOf('@tensorflow/tfjs-core'));
  expect(ENGINE_VERSIONS.tfjs).toBe(versionOf('@tensorflow/tfjs-backend-wasm'));
});
