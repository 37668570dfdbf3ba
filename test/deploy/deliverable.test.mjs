// The parts of `npm run build`'s deliverable that need no bundler: the model's content address,
// the onnxruntime-web files it ships, and the install's one edit to index.html.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';

import { SNIPPET_TAG, withChestAidScript } from '../../deploy/install.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(import.meta.url);
const { contentAddressedModel, ortFiles, tfjsFiles } = require('../../host/deliverable.cjs');
const DEMO_MODEL = join(ROOT, 'models/chestaid-demo');

const scratch = mkdtempSync(join(tmpdir(), 'chestaid-deliverable-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

test("the model is addressed by its manifest's sha256 and ships the manifest and the ONNX files it names, nothing else", () => {
  const manifestBytes = readFileSync(join(DEMO_MODEL, 'manifest.json'));
  const { onnx } = JSON.parse(manifestBytes.toString('utf8'));
  const model = contentAddressedModel(DEMO_MODEL);
  assert.equal(model.hash, createHash('sha256').update(manifestBytes).digest('hex'));
  assert.equal(model.dir, `models/sha256-${model.hash}`);
  assert.deepEqual(model.files, ['manifest.json', onnx.file, ...onnx.variants.map(v => v.file)]);
});

test('a model whose ONNX bytes are not the ones its manifest names is refused, naming the file', () => {
  const manifest = JSON.parse(readFileSync(join(DEMO_MODEL, 'manifest.json'), 'utf8'));
  const dir = join(scratch, 'tampered');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ ...manifest, onnx: { ...manifest.onnx, variants: [] } }));
  copyFileSync(join(DEMO_MODEL, manifest.onnx.file), join(dir, manifest.onnx.file));
  assert.equal(contentAddressedModel(dir).files.length, 2);
  writeFileSync(join(dir, manifest.onnx.file), 'not the weights');
  assert.throws(() => contentAddressedModel(dir), new RegExp(`${manifest.onnx.file}: sha256 [0-9a-f]{64}, but .*manifest\\.json names ${manifest.onnx.sha256}`));
});

test("of onnxruntime-web's dist, only the loaders and wasm the inference worker loads", () => {
  const files = ortFiles(join(ROOT, 'node_modules/onnxruntime-web/dist'), '/chestaid/ort/');
  assert.deepEqual(files.sort(), [
    'ort-wasm-simd-threaded.asyncify.mjs',
    'ort-wasm-simd-threaded.asyncify.wasm',
    'ort-wasm-simd-threaded.mjs',
    'ort-wasm-simd-threaded.wasm',
    'ort.wasm.min.mjs',
    'ort.webgpu.min.mjs',
  ]);
});

test("of TensorFlow.js's wasm backend, only its three binaries and its threads' script", () => {
  const files = tfjsFiles(join(ROOT, 'node_modules/@tensorflow/tfjs-backend-wasm/wasm-out'), '/chestaid/tfjs/');
  assert.deepEqual(files.sort(), ['tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.js', 'tfjs-backend-wasm-threaded-simd.wasm', 'tfjs-backend-wasm.wasm']);
});

test("the install includes chestaid-config.js right after the site's app-config.js, once", () => {
  const ohif = '<head><script rel="preload" as="script" src="/app-config.js"></script><script defer src="/app.bundle.js"></script></head>';
  const installed = withChestAidScript(ohif);
  assert.equal(installed, `<head><script rel="preload" as="script" src="/app-config.js"></script>${SNIPPET_TAG}<script defer src="/app.bundle.js"></script></head>`);
  assert.equal(withChestAidScript(installed), installed);
  assert.throws(() => withChestAidScript('<head><script src="/app.bundle.js"></script></head>'), /no <script src="\.\.\.\/app-config\.js">/);
});
