/**
 * The page's WebGPU and WebNN rows, in a browser with --enable-unsafe-webgpu and the WebNN feature:
 * WebGPU where an adapter exists (a software fallback adapter is labelled so), WebNN where
 * Chromium exposes it; what is missing is recorded as unavailable with the reason.
 */
import { log } from './context.mjs';
import { launchChromium, openPage } from './harness.mjs';

export async function gpuRows(bench, server, results) {
  const { manifest, MODEL_URL, INPUT_URL, DIMS, WEBGPU_RUNS, record, unavailable } = bench;
  log('WebGPU and WebNN: a browser with --enable-unsafe-webgpu and the WebNN feature...');
  const browser = await launchChromium({ webgpu: true, args: ['--enable-features=WebMachineLearningNeuralNetwork'] });
  try {
    const { page } = await openPage(browser, server.url);
    const gpu = await page.evaluate(() => chestaidTest.webgpu());
    const nn = await page.evaluate(() => chestaidTest.webnn());
    results.webnn = nn;
    unavailable['page WebNN'] = nn.available
      ? 'Chromium exposes WebNN here, but the engine has no WebNN path yet (onnxruntime-web ships its WebNN provider only in the WebGPU/JSEP builds)'
      : `not exposed by this Chromium (${nn.reason})`;
    results.webgpu = { adapter: gpu.adapter, reason: gpu.reason };
    if (!gpu.adapter) {
      unavailable['page WebGPU'] = `no adapter (${gpu.reason})`;
      return;
    }
    const software = gpu.adapter.isFallbackAdapter || /swiftshader/i.test(`${gpu.adapter.vendor} ${gpu.adapter.architecture} ${gpu.adapter.description}`);
    const label = `page WebGPU${software ? ` (SwiftShader software adapter${gpu.adapter.isFallbackAdapter ? ', fallback' : ''})` : ` (${gpu.adapter.vendor} ${gpu.adapter.architecture})`}`;
    results.webgpu.label = label;
    await page.evaluate(([url, dims]) => chestaidTest.loadInput('x', url, dims), [INPUT_URL, DIMS]);
    // fp32 always: the fp16-weights variant casts its weights back to fp32 at load (no shader-f16
    // compute), and its logit differs from fp32 by ~1e-3, outside the wasm cross-check's tolerance.
    const config = { modelUrl: MODEL_URL, sha256: manifest.onnx.sha256, cacheName: null, backend: 'webgpu' };
    log(`  ${label}: session and self-check against wasm...`);
    const { info } = await page.evaluate(([c]) => chestaidTest.start('gpu', c), [config]);
    results.webgpu.info = { backend: info.backend, reason: info.reason, selfCheck: info.selfCheck, sessionCreateMs: info.sessionCreateMs };
    if (info.backend !== 'webgpu') {
      unavailable[label] = `WebGPU not used: ${info.reason}`;
      return;
    }
    await page.evaluate(() => chestaidTest.run('gpu', 'x')); // the session's second run; the self-check was its first
    for (let i = 0; i < WEBGPU_RUNS; i++) {
      const r = await page.evaluate(() => chestaidTest.run('gpu', 'x'));
      record(label, r.runMs);
      process.stdout.write(`\r  ${label}: run ${i + 1}/${WEBGPU_RUNS}, ${r.runMs.toFixed(0)} ms`);
    }
    process.stdout.write('\n');
  } finally {
    await browser.close();
  }
}
