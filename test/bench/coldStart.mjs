/**
 * The page's cold and warm starts, per candidate (issue 19): a fresh context (empty HTTP cache and
 * Cache API) to the first result, then the next page load in it, with the model from the Cache
 * API. Candidates: onnxruntime-web on the manifest's model, on each int8 variant the manifest
 * lists, and the TensorFlow.js engine on the model (unless --no-tfjs). cpuPeers.mjs runs them
 * between its rounds, the candidates in turn.
 */
import { openPage } from './harness.mjs';

/** [label, config] per candidate; the config is what the page's coldStart takes (page.ts). */
export function coldCandidates(bench) {
  const { manifest, MODEL_URL, opts } = bench;
  const at = file => new URL(file, `http://x${MODEL_URL}`).pathname;
  const of = f => ({ modelUrl: at(f.file), sha256: f.sha256, bytes: f.bytes });
  const int8 = (manifest.onnx.variants ?? []).filter(v => v.weights === 'int8');
  return [
    [`onnxruntime-web, ${manifest.onnx.file}`, of(manifest.onnx)],
    ...int8.map(v => [`onnxruntime-web, ${v.file}`, of(v)]),
    ...(opts.tfjs ? [[`TensorFlow.js, ${manifest.onnx.file}`, { ...of(manifest.onnx), engine: 'tfjs' }]] : []),
  ];
}

/** A fresh context (empty HTTP cache and Cache API), then a second page load in it. */
export async function coldStart(bench, browser, url, config) {
  const { INPUT_URL, DIMS } = bench;
  const { context, page } = await openPage(browser, url);
  try {
    await page.evaluate(([u, d]) => chestaidTest.loadInput('x', u, d), [INPUT_URL, DIMS]);
    // What a reader gets: default threads, WebGPU if there were an adapter, the Cache API on.
    const first = await page.evaluate(([c]) => chestaidTest.coldStart(c, 'x'), [config]);
    const again = await context.newPage();
    await again.goto(`${url}/`);
    await again.waitForFunction(() => 'chestaidTest' in window);
    await again.evaluate(([u, d]) => chestaidTest.loadInput('x', u, d), [INPUT_URL, DIMS]);
    const second = await again.evaluate(([c]) => chestaidTest.coldStart(c, 'x'), [config]);
    if (!second.info.model.fromCache) throw new Error('the second page load did not use the Cache API');
    return { cold: first, warm: second };
  } finally {
    await context.close();
  }
}

/** One start's parts in ms, in the order the report prints them. */
export function breakdownOf(start) {
  return {
    download: start.info.model.downloadMs,
    sha256: start.info.model.verifyMs,
    'runtime start': start.info.runtimeStartMs ?? NaN,
    'session create': start.info.sessionCreateMs,
    'client to ready': start.readyMs,
    'first run': start.firstRunMs,
    total: start.totalMs,
  };
}
