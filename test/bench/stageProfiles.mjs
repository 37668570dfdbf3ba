/**
 * The per-stage profile rows: onnxruntime's profiler on the page's wasm and on onnxruntime-node, at
 * 1 and 2 threads; profile.mjs reduces each trace to DenseNet-121's stages.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { log } from './context.mjs';
import { openPage } from './harness.mjs';
import { byStage, traceFromConsole } from './profile.mjs';

const require = createRequire(import.meta.url);
const ort = require('onnxruntime-node');

export async function profiles(bench, browser, server, results) {
  const { manifest, modelPath, MODEL_URL, INPUT_URL, INPUT_PATH, DIMS } = bench;
  log('profiles: onnxruntime profiler, page wasm and onnxruntime-node, 1 and 2 threads...');
  const PROFILE_RUNS = 4; // the last one is read: the first runs are slower (see engine.ts warmUp)
  const input = new Float32Array(readFileSync(INPUT_PATH).buffer.slice(0));
  const out = {};
  const dir = mkdtempSync(join(tmpdir(), 'chestaid-bench-profile-'));
  for (const threads of [1, 2]) {
    const prefix = join(dir, `node-${threads}`);
    const session = await ort.InferenceSession.create(readFileSync(modelPath), {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      enableProfiling: true,
      profileFilePrefix: prefix,
    });
    for (let i = 0; i < PROFILE_RUNS; i++) await session.run({ [manifest.input.name]: new ort.Tensor('float32', input, DIMS) });
    session.endProfiling();
    await session.release();
    const file = readdirSync(dir).find(name => name.startsWith(`node-${threads}_`) && name.endsWith('.json'));
    out[`node ${threads}`] = byStage(JSON.parse(readFileSync(join(dir, file), 'utf8')));

    const { context, page } = await openPage(browser, server.url);
    try {
      const printed = [];
      page.on('worker', worker => worker.on('console', message => printed.push(message.text())));
      await page.evaluate(([url, dims]) => chestaidTest.loadInput('x', url, dims), [INPUT_URL, DIMS]);
      const config = { modelUrl: MODEL_URL, sha256: manifest.onnx.sha256, backend: 'wasm', cacheName: null, numThreads: threads, profileRuns: PROFILE_RUNS };
      await page.evaluate(([c]) => chestaidTest.start('profile', c), [config]);
      for (let i = 0; i < PROFILE_RUNS; i++) await page.evaluate(() => chestaidTest.run('profile', 'x'));
      await page.waitForTimeout(500);
      out[`page ${threads}`] = byStage(traceFromConsole(printed.join('\n')));
    } catch (error) {
      out[`page ${threads}`] = { error: error.message };
    } finally {
      await context.close();
    }
  }
  rmSync(dir, { recursive: true, force: true });
  results.profile = out;
}
