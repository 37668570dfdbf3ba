import { analyze, parseManifest, type TensorDims } from '@chestaid/core';
import { crAttributes } from '@chestaid/core/testing';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { EVENTS, InferenceClient } from './InferenceClient';
import { SupersededError } from './latestOnly';
import { ModelBytesError, type BackendInfo, type InferenceConfig, type WorkerResponse } from './protocol';
import { FakeWorker, flush } from './testing/fakes';

const CONFIG: InferenceConfig = {
  modelUrl: 'https://viewer.example/models/chestaid-demo/model.onnx',
  sha256: 'ab'.repeat(32),
  ortBaseUrl: 'https://viewer.example/chestaid/ort/',
};

const INFO = { backend: 'wasm', threads: 2, reason: 'no WebGPU adapter: using wasm, 2 threads' } as BackendInfo;
const DIMS: TensorDims = [1, 3, 2, 2];

function setup() {
  const workers: FakeWorker[] = [];
  const client = new InferenceClient(CONFIG, () => {
    const worker = new FakeWorker();
    workers.push(worker);
    return worker;
  });
  return { client, workers, worker: () => workers[workers.length - 1] };
}

async function ready(client: InferenceClient, worker: () => FakeWorker) {
  const init = client.init();
  worker().reply({ type: 'ready', id: worker().last('init').id, info: INFO });
  await init;
}

function resultFor(worker: FakeWorker, id: number, logit: number): WorkerResponse {
  const run = worker.sent.find(s => s.message.id === id)?.message;
  if (run?.type !== 'run') throw new Error(`no run ${id}`);
  return { type: 'result', id, key: run.key, logit, cam: Float32Array.of(logit, 0, 0, 0), camDims: [2, 2], runMs: 5 };
}

describe('InferenceClient', () => {
  it("rejects with a ModelBytesError when the worker says the model's bytes were refused", async () => {
    const { client, worker } = setup();
    const init = client.init();
    worker().reply({ type: 'error', id: worker().last('init').id, message: 'model file not found', model: true });
    await expect(init).rejects.toBeInstanceOf(ModelBytesError);
    const again = client.init();
    worker().reply({ type: 'error', id: worker().last('init').id, message: 'no SIMD' });
    await expect(again).rejects.not.toBeInstanceOf(ModelBytesError);
  });

  it('refuses relative URLs: a worker would resolve them against its own script', () => {
    expect(() => new InferenceClient({ ...CONFIG, modelUrl: '/models/x.onnx' }, () => new FakeWorker())).toThrow(
      'modelUrl must be an absolute URL, got "/models/x.onnx"',
    );
  });

  it('starts one worker and loads the model once however often init() is called', async () => {
    const { client, workers, worker } = setup();
    const a = client.init();
    const b = client.init();
    expect(a).toBe(b);
    await flush();
    expect(workers).toHaveLength(1);
    expect(worker().sent.filter(s => s.message.type === 'init')).toHaveLength(1);
    expect(worker().last('init').config).toEqual(CONFIG);
    worker().reply({ type: 'ready', id: worker().last('init').id, info: INFO });
    await expect(a).resolves.toBe(INFO);
    expect(client.getInfo()).toBe(INFO);
  });

  it('announces download progress and readiness', async () => {
    const { client, worker } = setup();
    const progress: unknown[] = [];
    const readies: unknown[] = [];
    client.subscribe(EVENTS.PROGRESS, p => progress.push(p));
    client.subscribe(EVENTS.READY, info => readies.push(info));
    const init = client.init();
    const id = worker().last('init').id;
    worker().reply({ type: 'progress', id, loaded: 10, total: 100 });
    worker().reply({ type: 'progress', id, loaded: 100, total: 100 });
    worker().reply({ type: 'ready', id, info: INFO });
    await init;
    expect(progress).toEqual([
      { loaded: 10, total: 100 },
      { loaded: 100, total: 100 },
    ]);
    expect(readies).toEqual([INFO]);
  });

  it('matches answers to requests by id whatever order they come back in', async () => {
    const { client, worker } = setup();
    await ready(client, worker);
    const first = client.analyze({ key: 'image-1', input: new Float32Array(12).fill(1), dims: DIMS });
    const second = client.analyze({ key: 'image-2', input: new Float32Array(12).fill(2), dims: DIMS });
    await flush();
    const runs = worker().sent.filter(s => s.message.type === 'run').map(s => s.message.id);
    expect(runs).toHaveLength(2);
    worker().reply(resultFor(worker(), runs[1], 2));
    worker().reply(resultFor(worker(), runs[0], 1));
    await expect(first).resolves.toMatchObject({ key: 'image-1', logit: 1, backend: 'wasm', runMs: 5 });
    await expect(second).resolves.toMatchObject({ key: 'image-2', logit: 2 });
  });

  it('transfers the input buffer instead of copying it', async () => {
    const { client, worker } = setup();
    await ready(client, worker);
    const input = new Float32Array(12);
    const pending = client.analyze({ key: 'image-1', input, dims: DIMS });
    await flush();
    const sent = worker().sent.find(s => s.message.type === 'run');
    expect(sent?.transfer).toEqual([input.buffer]);
    worker().reply(resultFor(worker(), worker().last('run').id, 0));
    await pending;
  });

  it('does not transfer a view into a larger buffer (it would take its neighbours) or when told not to', async () => {
    const { client, worker } = setup();
    await ready(client, worker);
    const big = new Float32Array(24);
    const p1 = client.analyze({ key: 'a', input: big.subarray(12), dims: DIMS });
    const p2 = client.analyze({ key: 'b', input: new Float32Array(12), dims: DIMS, transfer: false });
    await flush();
    expect(worker().sent.filter(s => s.message.type === 'run').map(s => s.transfer)).toEqual([[], []]);
    for (const s of worker().sent.filter(s => s.message.type === 'run')) worker().reply(resultFor(worker(), s.message.id, 0));
    await Promise.all([p1, p2]);
  });

  it('refuses an input whose size does not match its dims, pointing at a transferred buffer', async () => {
    const { client } = setup();
    await expect(client.analyze({ key: 'a', input: new Float32Array(0), dims: DIMS })).rejects.toThrow(
      'input holds 0 values but dims [1,3,2,2] need 12 (was its buffer transferred by an earlier call?)',
    );
  });

  it('in one slot, resolves only the latest request; the older one is superseded and cancelled', async () => {
    const { client, worker } = setup();
    await ready(client, worker);
    const older = client.analyze({ key: 'image-1', slot: 'viewport-1', input: new Float32Array(12), dims: DIMS });
    await flush();
    const olderId = worker().last('run').id;
    const newer = client.analyze({ key: 'image-2', slot: 'viewport-1', input: new Float32Array(12), dims: DIMS });
    await expect(older).rejects.toBeInstanceOf(SupersededError);
    expect(worker().last('cancel').id).toBe(olderId);
    await flush();
    const newerId = worker().last('run').id;

    worker().reply(resultFor(worker(), olderId, 1)); // the late answer: ignored
    worker().reply(resultFor(worker(), newerId, 2));
    await expect(newer).resolves.toMatchObject({ key: 'image-2', logit: 2 });
  });

  it('sends a request while the model loads, so the worker runs it first; one superseded meanwhile is cancelled', async () => {
    const { client, worker } = setup();
    const older = client.analyze({ key: 'image-1', slot: 'panel', input: new Float32Array(12), dims: DIMS });
    const newer = client.analyze({ key: 'image-2', slot: 'panel', input: new Float32Array(12), dims: DIMS });
    await expect(older).rejects.toBeInstanceOf(SupersededError);
    // init first, then both runs, then the cancellation of the older: all before the model is ready.
    expect(worker().sent.map(s => s.message.type)).toEqual(['init', 'run', 'run', 'cancel']);
    const runs = worker().sent.filter(s => s.message.type === 'run');
    expect(worker().last('cancel').id).toBe(runs[0].message.id);
    worker().reply({ type: 'ready', id: worker().last('init').id, info: INFO });
    worker().reply(resultFor(worker(), runs[1].message.id, 2));
    await expect(newer).resolves.toMatchObject({ key: 'image-2', backend: 'wasm' });
  });

  it('reports the worker\'s statistics', async () => {
    const { client, worker } = setup();
    await ready(client, worker);
    const stats = client.stats();
    worker().reply({ type: 'stats', id: worker().last('stats').id, stats: { wasmMemoryBytes: 1 << 24, runs: 3 } });
    await expect(stats).resolves.toEqual({ wasmMemoryBytes: 1 << 24, runs: 3 });
  });

  it('refuses an answer that carries another key than its request', async () => {
    const { client, worker } = setup();
    await ready(client, worker);
    const pending = client.analyze({ key: 'image-1', input: new Float32Array(12), dims: DIMS });
    await flush();
    const id = worker().last('run').id;
    worker().reply({ type: 'result', id, key: 'image-9', logit: 0, cam: new Float32Array(4), camDims: [2, 2], runMs: 1 });
    await expect(pending).rejects.toThrow('answered request');
  });

  it('passes on the worker\'s error for that request only', async () => {
    const { client, worker } = setup();
    await ready(client, worker);
    const a = client.analyze({ key: 'a', input: new Float32Array(12), dims: DIMS });
    const b = client.analyze({ key: 'b', input: new Float32Array(12), dims: DIMS });
    await flush();
    const [ida, idb] = worker().sent.filter(s => s.message.type === 'run').map(s => s.message.id);
    worker().reply({ type: 'error', id: ida, message: 'inference failed on wasm: out of memory' });
    worker().reply(resultFor(worker(), idb, 3));
    await expect(a).rejects.toThrow('inference failed on wasm: out of memory');
    await expect(b).resolves.toMatchObject({ logit: 3 });
  });

  it('after a failed load, init() retries with a fresh worker', async () => {
    const { client, workers, worker } = setup();
    const first = client.init();
    worker().reply({
      type: 'error',
      id: worker().last('init').id,
      message: 'model file not found: GET https://viewer.example/models/chestaid-demo/model.onnx answered 404 Not Found',
    });
    await expect(first).rejects.toThrow('model file not found: GET https://viewer.example/models/chestaid-demo/model.onnx');
    expect(workers[0].terminated).toBe(true);
    const second = client.init();
    expect(workers).toHaveLength(2);
    worker().reply({ type: 'ready', id: worker().last('init').id, info: INFO });
    await expect(second).resolves.toBe(INFO);
  });

  it('rejects everything pending when the worker dies', async () => {
    const { client, worker } = setup();
    await ready(client, worker);
    const pending = client.analyze({ key: 'a', input: new Float32Array(12), dims: DIMS });
    await flush();
    worker().crash('Uncaught RangeError: Array buffer allocation failed');
    await expect(pending).rejects.toThrow('inference worker failed: Uncaught RangeError: Array buffer allocation failed');
    expect(client.getInfo()).toBeNull();
  });

  it('is the Classifier core.analyze() runs, one key per image', async () => {
    // Without the input check: the pixels below are a test pattern, which that check refuses.
    const manifest = parseManifest(
      { ...JSON.parse(readFileSync(resolve(__dirname, '../../../models/chestaid-demo/manifest.json'), 'utf8')), input_check: undefined },
    );
    const { client, worker } = setup();
    await ready(client, worker);
    const grey = new Uint16Array(224 * 224).fill(2048);
    const attributes = crAttributes({ rows: 224, columns: 224 });
    const analysis = analyze(attributes, grey, manifest, client.classifierFor('1.2.3@sha256:x', 'viewport-1'));
    await flush();
    const run = worker().last('run');
    expect(run.dims).toEqual([1, 3, manifest.input.size.height, manifest.input.size.width]);
    const [h, w] = [manifest.outputs.cam.shape[1], manifest.outputs.cam.shape[2]] as number[];
    worker().reply({ type: 'result', id: run.id, key: run.key, logit: -1, cam: new Float32Array(h * w).fill(2), camDims: [h, w], runMs: 1 });
    const result = await analysis;
    expect(result.logit).toBe(-1);
    expect(result.cam.data.every(v => v === 1)).toBe(true);
  });
});

describe("InferenceClient and the worker's own channel", () => {
  it('sends its requests by the port a worker hands over, and closes it with the worker', async () => {
    const { client, worker } = setup();
    const init = client.init();
    const sent: string[] = [];
    let closed = false;
    worker().reply({ type: 'channel', id: 0, port: { postMessage: message => sent.push(message.type), close: () => (closed = true) } });
    const result = client.analyze({ key: 'k', input: new Float32Array(12), dims: DIMS });
    expect(sent).toEqual(['run']);
    expect(worker().sent.map(s => s.message.type)).toEqual(['init']); // before the port came
    worker().reply({ type: 'ready', id: worker().last('init').id, info: INFO });
    await init;
    worker().reply({ type: 'result', id: 2, key: 'k', logit: 1, cam: new Float32Array(4), camDims: [2, 2], runMs: 5 });
    expect((await result).logit).toBe(1);
    client.dispose();
    expect(closed).toBe(true);
  });
});
