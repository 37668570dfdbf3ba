/**
 * The per-stage profile of every CPU candidate (issue 19), at 1 and 2 threads: onnxruntime's
 * profiler on onnxruntime-node and on the page's wasm, for the float32 model and its int8
 * variant, and tf.profile on the page's TensorFlow.js engine (its worker prints the profile to its
 * console, extension/src/inference/tfjs/profile.ts). profile.mjs reduces each to DenseNet-121's
 * stages. Each profile is one run after the first PROFILE_RUNS - 1, in a fresh session or worker.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { log } from './context.mjs';
import { openPage } from './harness.mjs';
import { convKernels } from './onnxGraph.mjs';
import { byStage, tfjsByStage, tfjsProfileFromConsole, traceFromConsole } from './profile.mjs';

const require = createRequire(import.meta.url);
const ort = require('onnxruntime-node');

/** The last one is read: the first runs are slower (see engine.ts warmUp). */
export const PROFILE_RUNS = 4;

async function nodeProfile(modelBytes, threads, dir, inputName, input, dims, kernels) {
  const prefix = `node-${threads}-${Math.random().toString(36).slice(2)}`;
  const session = await ort.InferenceSession.create(modelBytes, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    enableProfiling: true,
    profileFilePrefix: join(dir, prefix),
  });
  for (let i = 0; i < PROFILE_RUNS; i++) await session.run({ [inputName]: new ort.Tensor('float32', input, dims) });
  session.endProfiling();
  await session.release();
  const file = readdirSync(dir).find(name => name.startsWith(`${prefix}_`) && name.endsWith('.json'));
  return byStage(JSON.parse(readFileSync(join(dir, file), 'utf8')), kernels);
}

async function pageProfile(browser, server, config, { INPUT_URL, DIMS }, reduce) {
  const { context, page } = await openPage(browser, server.url);
  try {
    const printed = [];
    page.on('worker', worker => worker.on('console', message => printed.push(message.text())));
    await page.evaluate(([url, dims]) => chestaidTest.loadInput('x', url, dims), [INPUT_URL, DIMS]);
    await page.evaluate(([c]) => chestaidTest.start('profile', c), [{ ...config, profileRuns: PROFILE_RUNS }]);
    for (let i = 0; i < PROFILE_RUNS; i++) await page.evaluate(() => chestaidTest.run('profile', 'x'));
    await page.waitForTimeout(500);
    return reduce(printed);
  } catch (error) {
    return { error: error.message };
  } finally {
    await context.close();
  }
}

export async function profiles(bench, browser, server, results) {
  const { opts, manifest, modelPath, MODEL_URL, INPUT_PATH, DIMS } = bench;
  const int8 = (manifest.onnx.variants ?? []).find(v => v.weights === 'int8') ?? null;
  log(`profiles: onnxruntime profiler (node and page wasm, fp32${int8 ? ' and int8' : ''})${opts.tfjs ? ' and tf.profile (page TF.js wasm)' : ''}, 1 and 2 threads...`);
  const input = new Float32Array(readFileSync(INPUT_PATH).buffer.slice(0));
  const models = { fp32: { bytes: readFileSync(modelPath), url: MODEL_URL, sha256: manifest.onnx.sha256 } };
  if (int8) {
    models.int8 = { bytes: readFileSync(join(dirname(modelPath), int8.file)), url: new URL(int8.file, `http://x${MODEL_URL}`).pathname, sha256: int8.sha256 };
  }
  for (const m of Object.values(models)) m.kernels = convKernels(m.bytes);
  const out = {};
  const dir = mkdtempSync(join(tmpdir(), 'chestaid-bench-profile-'));
  const fromTrace = kernels => printed => byStage(traceFromConsole(printed.join('\n')), kernels);
  try {
    for (const threads of [1, 2]) {
      for (const [weights, m] of Object.entries(models)) {
        out[`node ${weights} ${threads}`] = await nodeProfile(m.bytes, threads, dir, manifest.input.name, input, DIMS, m.kernels);
        const config = { modelUrl: m.url, sha256: m.sha256, backend: 'wasm', cacheName: null, numThreads: threads };
        out[`page ${weights} ${threads}`] = await pageProfile(browser, server, config, bench, fromTrace(m.kernels));
      }
      if (opts.tfjs) {
        const config = { modelUrl: MODEL_URL, sha256: manifest.onnx.sha256, backend: 'wasm', cacheName: null, numThreads: threads, engine: 'tfjs' };
        out[`page tfjs ${threads}`] = await pageProfile(browser, server, config, bench, printed => tfjsByStage(tfjsProfileFromConsole(printed)));
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (!int8) out.unavailable = { int8: 'the manifest lists no int8 variant' };
  results.profile = out;
}
