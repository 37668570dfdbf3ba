/**
 * The page's cold and warm starts: a fresh context (empty HTTP cache and Cache API) to the first
 * result, then the next page load in it, with the model from the Cache API. cpuPeers.mjs runs
 * them between its rounds.
 */
import { openPage } from './harness.mjs';

/** A fresh context (empty HTTP cache and Cache API), then a second page load in it. */
export async function coldStart(bench, browser, url) {
  const { manifest, MODEL_URL, INPUT_URL, DIMS } = bench;
  const { context, page } = await openPage(browser, url);
  try {
    await page.evaluate(([u, d]) => chestaidTest.loadInput('x', u, d), [INPUT_URL, DIMS]);
    // What a reader gets: default threads, WebGPU if there were an adapter, the Cache API on.
    const config = { modelUrl: MODEL_URL, sha256: manifest.onnx.sha256, bytes: manifest.onnx.bytes };
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
