/**
 * TfjsEngine with the real TensorFlow.js wasm backend under Node and the tiny DenseNet
 * (test/fixtures/tiny) served by the same fakes as the onnxruntime engine's tests.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { parseReference } from '../reference';
import { FakeCaches, fakeFetch, sha256, subtle } from '../testing/fakes';
import { TfjsEngine, type TfjsEngineDeps, type TfjsInferenceConfig } from './engine';
import type { TfjsProfile } from './profile';
import { startTfjs } from './runtime';

const REPO = resolve(__dirname, '../../../..');
const MODEL_URL = 'https://viewer.example/models/tiny/tiny.onnx';
const MODEL = new Uint8Array(readFileSync(resolve(REPO, 'test/fixtures/tiny/tiny.onnx')));
const REF_JSON = JSON.parse(readFileSync(resolve(REPO, 'test/fixtures/tiny/tiny.json'), 'utf8'));
const CONFIG: TfjsInferenceConfig = {
  modelUrl: MODEL_URL,
  sha256: sha256(MODEL),
  ortBaseUrl: 'https://viewer.example/chestaid/ort/',
  tfjsWasmBaseUrl: 'https://viewer.example/chestaid/tfjs/',
};

function setup(files: Record<string, Uint8Array> = { [MODEL_URL]: MODEL }, profileSink?: (profile: TfjsProfile) => void) {
  const started: number[] = [];
  const deps: TfjsEngineDeps = {
    fetch: fakeFetch(files).fetch,
    subtle,
    caches: new FakeCaches(),
    makeResponse: bytes => ({ bytes }),
    now: () => 0,
    crossOriginIsolated: true,
    hardwareConcurrency: 2,
    version: '4.22.0',
    // Under Node the backend reads its .wasm beside the package: the URL is the browser's.
    startTfjs: options => {
      started.push(options.threads);
      return startTfjs({ threads: 1 });
    },
    profileSink,
  };
  return { engine: new TfjsEngine(deps), started };
}

it("loads the verified ONNX bytes, says which engine runs them, and gives PyTorch's outputs", async () => {
  const { engine, started } = setup();
  const info = await engine.init(CONFIG, () => {});
  expect(started).toEqual([2]);
  expect(info.backend).toBe('wasm');
  expect(info.reason).toMatch(/^TensorFlow\.js 4\.22\.0 wasm backend \(XNNPACK; SIMD, 1 thread\)/);
  expect(info.model).toMatchObject({ sha256: CONFIG.sha256, bytes: MODEL.length, fromCache: false });

  const ref = parseReference(REF_JSON, REF_JSON.model.sha256, 'tiny.json');
  const out = await engine.run(ref.input, ref.dims);
  expect(Math.abs(out.logit - ref.logit)).toBeLessThanOrEqual(ref.tolerance.logit);
  expect(out.camDims).toEqual([ref.cam.length ** 0.5, ref.cam.length ** 0.5]);
  expect(await engine.warmUp()).toBeNull(); // a request was the first run already
  expect(engine.stats().runs).toBe(1);
});

it('refuses bytes whose hash is not the manifest\'s before reading them as a model', async () => {
  const { engine } = setup({ [MODEL_URL]: MODEL.slice(0, 100) });
  await expect(engine.init(CONFIG, () => {})).rejects.toThrow(/sha256/i);
});

it('refuses a configuration without an absolute tfjsWasmBaseUrl ending in "/"', async () => {
  const { engine } = setup();
  const config: TfjsInferenceConfig = { ...CONFIG, tfjsWasmBaseUrl: '/chestaid/tfjs' };
  await expect(engine.init(config, () => {})).rejects.toThrow(/tfjsWasmBaseUrl must be an absolute URL/);
});

it('runs nothing before init', async () => {
  const { engine } = setup();
  await expect(engine.run(new Float32Array(12), [1, 3, 2, 2])).rejects.toThrow(/init\(\) must come first/);
});

it('profiles run number profileRuns, kernel by kernel, and no other run', async () => {
  const profiles: TfjsProfile[] = [];
  const { engine } = setup(undefined, profile => profiles.push(profile));
  await engine.init({ ...CONFIG, profileRuns: 2 }, () => {});
  const ref = parseReference(REF_JSON, REF_JSON.model.sha256, 'tiny.json');
  await engine.run(ref.input, ref.dims);
  expect(profiles).toHaveLength(0);
  const out = await engine.run(ref.input, ref.dims);
  expect(Math.abs(out.logit - ref.logit)).toBeLessThanOrEqual(ref.tolerance.logit); // profiling changes no output
  await engine.run(ref.input, ref.dims);
  expect(profiles).toHaveLength(1);
  const names = profiles[0].kernels.map(k => k.name);
  expect(names).toEqual(expect.arrayContaining(['FusedConv2D', 'Concat']));
  const conv = profiles[0].kernels.find(k => k.name === 'FusedConv2D')!;
  expect(conv.inputShapes[1]).toHaveLength(4); // the HWIO filter: its kernel size names the stage
  expect(profiles[0].kernels.every(k => Number.isFinite(k.ms) && k.ms >= 0)).toBe(true);
});
