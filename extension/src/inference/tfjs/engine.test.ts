/**
 * TfjsEngine with the real TensorFlow.js wasm backend under Node and the tiny DenseNet
 * (test/fixtures/tiny) served by the same fakes as the onnxruntime engine's tests.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import type { SelfCheckBlock } from '@chestaid/core';

import { parseReference } from '../reference';
import { FakeCaches, fakeFetch, sha256, sha256Stream } from '../testing/fakes';
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
  const caches = new FakeCaches();
  /** Whether the graph was built when the bytes were wrapped for the Cache API, per wrap. */
  const builtWhenWrapped: boolean[] = [];
  const deps: TfjsEngineDeps = {
    fetch: fakeFetch(files).fetch,
    sha256: sha256Stream,
    caches,
    makeResponse: bytes => {
      builtWhenWrapped.push(engine.stats().runs > 0);
      return { bytes };
    },
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
  // Read by makeResponse above, which runs only during init().
  const engine = new TfjsEngine(deps);
  return { engine, started, caches, builtWhenWrapped };
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

it("starts TensorFlow.js only once the model's download is requested (its set-up would hold the request back)", async () => {
  const order: string[] = [];
  const { engine } = setup();
  const base = (engine as unknown as { deps: TfjsEngineDeps }).deps;
  const traced = new TfjsEngine({
    ...base,
    fetch: url => {
      order.push('fetch');
      return base.fetch(url);
    },
    startTfjs: options => {
      order.push('runtime');
      return base.startTfjs(options);
    },
  });
  await traced.init(CONFIG, () => {});
  expect(order).toEqual(['fetch', 'runtime']);
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

/** onnxruntime-node's outputs for the tiny model on the probe, as self_check.py writes them (child process: see parity.test.ts). */
function tinySelfCheck(): SelfCheckBlock {
  const script = `
    const ort = require('onnxruntime-node');
    const [model, n] = JSON.parse(process.argv[1]);
    const x = new Float32Array(n);
    for (let i = 0; i < n; i++) x[i] = 0.25 + 2 * Math.sin(i * 0.0137) * Math.cos(i * 0.00071);
    (async () => {
      const session = await ort.InferenceSession.create(model);
      const r = await session.run({ input: new ort.Tensor('float32', x, [1, 3, 64, 64]) });
      process.stdout.write(JSON.stringify({ logit: r.logit.data[0], cam: Array.from(r.cam.data), shape: r.cam.dims.slice(1) }));
    })();`;
  const out = JSON.parse(execFileSync(process.execPath, ['-e', script, JSON.stringify([resolve(REPO, 'test/fixtures/tiny/tiny.onnx'), 3 * 64 * 64])], { cwd: REPO }).toString());
  return { probe: 'chestaid-probe/1', logit: out.logit, cam: { shape: out.shape, data: out.cam }, tolerances: { logit: 1e-3, cam: 1e-3 } };
}

describe("the manifest's self-check", () => {
  const block = tinySelfCheck();

  it("runs the probe first and passes on onnxruntime-node's outputs", async () => {
    const { engine } = setup();
    const info = await engine.init({ ...CONFIG, selfCheck: block } as TfjsInferenceConfig, () => {});
    expect(info.selfCheck).toMatchObject({ against: 'manifest', passed: true });
    expect(info.selfCheck!.logitDiff).toBeLessThan(1e-4);
    expect(info.reason).toMatch(/; self-check against the manifest passed \(logit off by /);
    expect(engine.stats().runs).toBe(1);
    expect(await engine.warmUp()).toBeNull();
  });

  it('keeps the verified bytes in the Cache API once the model has run (the probe), not before', async () => {
    const { engine, caches, builtWhenWrapped } = setup();
    await engine.init({ ...CONFIG, selfCheck: block } as TfjsInferenceConfig, () => {});
    await new Promise(resolve => setTimeout(resolve, 0));
    expect(builtWhenWrapped).toEqual([true]);
    expect((await caches.open('chestaid-models-v1')).entries.size).toBe(1);
  });

  it('refuses to load when its outputs disagree, saying by how much', async () => {
    const { engine } = setup();
    const wrong = { ...block, cam: { ...block.cam, data: block.cam.data.map(v => v + 0.01) } };
    await expect(engine.init({ ...CONFIG, selfCheck: wrong } as TfjsInferenceConfig, () => {})).rejects.toThrow(
      /^TensorFlow\.js 4\.22\.0 wasm failed its self-check against the manifest's chestaid-probe\/1 outputs: .*CAM off by 0\.010; tolerance 0\.001 and 0\.001$/,
    );
  });
});
