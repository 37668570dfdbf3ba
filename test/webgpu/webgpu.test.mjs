/**
 * The inference adapter in a real browser: Debian's Chromium, a crossOriginIsolated page on
 * loopback, the bundled client and worker, onnxruntime-web 1.31.1 served as our own files.
 *
 * - WebGPU: with --enable-unsafe-webgpu this machine gets SwiftShader's fallback adapter. The
 *   tiny model (test/fixtures/tiny, DenseNet-like with a nine-input Concat) must pass the
 *   self-check and match PyTorch's outputs in tiny.json within its tolerances (1e-4 absolute on
 *   the logit and on each CAM value); a reference it cannot match sends it to wasm, saying why.
 * - wasm: the same model and tolerances; threads, Cache API, 404 and hash refusal, latest-only.
 * - No adapter (launched without the flag): the demo model falls back to wasm with a clear
 *   reason and reproduces its parity fixture (logit within the fixture's 1e-3).
 *
 *   node --test test/webgpu/        (builds test/bench/dist first; needs /usr/bin/chromium)
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { DEMO_DIR, ROOT, buildPage, launchChromium, openPage, startServer } from '../bench/harness.mjs';

const tiny = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/tiny/tiny.json'), 'utf8'));
const TINY = { modelUrl: '/fixtures/tiny/tiny.onnx', sha256: tiny.model.sha256 };
// This machine's only adapter is SwiftShader's software fallback, which 'auto' leaves alone
// (slower than wasm on a real model); the WebGPU checks ask for it.
const TINY_GPU = { ...TINY, backend: 'webgpu' };
const demoManifest = JSON.parse(readFileSync(join(DEMO_DIR, 'manifest.json'), 'utf8'));
const demoModelMissing = !existsSync(join(DEMO_DIR, demoManifest.onnx.file));
const parity = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/parity/study-01.json'), 'utf8'));
// The parity fixtures belong to the model test/demo-studies/index.json names.
const parityModelSha = JSON.parse(readFileSync(join(ROOT, 'test/demo-studies/index.json'), 'utf8')).model.sha256;

/** Compares a page result with tiny.json's PyTorch outputs, within the fixture's tolerances. */
function assertMatchesPyTorch(result) {
  const logitDiff = Math.abs(result.logit - tiny.outputs.logit.data[0]);
  const expectedCam = tiny.outputs.cam.data;
  assert.equal(result.cam.length, expectedCam.length);
  const camDiff = Math.max(...result.cam.map((v, i) => Math.abs(v - expectedCam[i])));
  assert.ok(logitDiff <= tiny.tolerances.logit, `logit ${result.logit} vs PyTorch ${tiny.outputs.logit.data[0]}: off by ${logitDiff}`);
  assert.ok(camDiff <= tiny.tolerances.cam, `CAM off by ${camDiff} (tolerance ${tiny.tolerances.cam})`);
  assert.deepEqual(result.camDims, tiny.outputs.cam.shape.slice(1));
  return { logitDiff, camDiff };
}

let server;
before(async () => {
  await buildPage();
  server = await startServer();
});
after(async () => {
  await server?.close();
});

describe('WebGPU on the SwiftShader fallback adapter (--enable-unsafe-webgpu)', () => {
  let browser;
  let page;
  before(async () => {
    browser = await launchChromium({ webgpu: true });
    ({ page } = await openPage(browser, server.url));
    await page.evaluate(() => chestaidTest.loadInput('tiny', '/fixtures/tiny/tiny.json'));
  });
  after(async () => {
    await browser?.close();
  });

  test('the tiny model passes its self-check on WebGPU and matches PyTorch', async t => {
    const { info } = await page.evaluate(config => chestaidTest.start('gpu', config), {
      ...TINY_GPU,
      referenceUrl: '/fixtures/tiny/tiny.json',
    });
    t.diagnostic(`adapter ${JSON.stringify(info.adapter)}; ${info.reason}`);
    assert.equal(info.backend, 'webgpu', info.reason);
    assert.equal(info.adapter.isFallbackAdapter, true, 'this machine has no GPU: SwiftShader is the fallback adapter');
    assert.equal(info.selfCheck.against, 'reference');
    assert.equal(info.selfCheck.passed, true);

    const result = await page.evaluate(() => chestaidTest.run('gpu', 'tiny'));
    assert.equal(result.backend, 'webgpu');
    const diffs = assertMatchesPyTorch(result);
    t.diagnostic(`WebGPU vs PyTorch: logit ${diffs.logitDiff}, CAM ${diffs.camDiff}; run ${result.runMs.toFixed(1)} ms`);
  });

  test('left to choose (auto), the software fallback adapter is not used: wasm, saying why', async () => {
    const { info } = await page.evaluate(config => chestaidTest.start('auto', config), TINY);
    assert.equal(info.backend, 'wasm');
    assert.equal(info.adapter.isFallbackAdapter, true);
    assert.match(info.reason, /^the WebGPU adapter is a software fallback \(.*\), slower than wasm: using wasm, \d+ threads?$/);
    assertMatchesPyTorch(await page.evaluate(() => chestaidTest.run('auto', 'tiny')));
  });

  test('without a stored reference, WebGPU is compared with wasm on a probe input', async () => {
    const { info } = await page.evaluate(config => chestaidTest.start('cross', config), TINY_GPU);
    assert.equal(info.backend, 'webgpu', info.reason);
    assert.equal(info.selfCheck.against, 'wasm');
    assertMatchesPyTorch(await page.evaluate(() => chestaidTest.run('cross', 'tiny')));
  });

  test('a WebGPU result that misses its reference is not trusted: wasm, with the reason', async () => {
    const wrong = structuredClone(tiny);
    wrong.outputs.logit.data[0] += 0.6; // what the JSEP Concat bug did to DenseNet-121's logit
    const referenceUrl = `data:application/json,${encodeURIComponent(JSON.stringify(wrong))}`;
    const { info } = await page.evaluate(config => chestaidTest.start('distrust', config), { ...TINY_GPU, referenceUrl });
    assert.equal(info.backend, 'wasm');
    assert.match(info.reason, /^WebGPU on .*failed its self-check against reference \(logit off by 0\.60, CAM by .*\): using wasm, \d+ threads?/);
    assertMatchesPyTorch(await page.evaluate(() => chestaidTest.run('distrust', 'tiny')));
  });
});

describe('wasm, and the demo model without a WebGPU adapter (no --enable-unsafe-webgpu)', () => {
  let browser;
  before(async () => {
    browser = await launchChromium({ webgpu: false });
  });
  after(async () => {
    await browser?.close();
  });

  test('the demo model falls back to wasm with a clear reason and reproduces its parity fixture', async t => {
    if (demoModelMissing) {
      // training/demo.sh deletes and rewrites the folder while it runs; CI has the committed one.
      t.skip(`${join(DEMO_DIR, demoManifest.onnx.file)} is missing (set CHESTAID_DEMO_DIR to another copy)`);
      return;
    }
    const { page } = await openPage(browser, server.url);
    const { info } = await page.evaluate(config => chestaidTest.start('demo', config), {
      modelUrl: `/models/chestaid-demo/${demoManifest.onnx.file}`,
      sha256: demoManifest.onnx.sha256,
      bytes: demoManifest.onnx.bytes,
    });
    t.diagnostic(info.reason);
    assert.equal(info.backend, 'wasm');
    assert.equal(info.adapter, null);
    const cores = await page.evaluate(() => navigator.hardwareConcurrency);
    const threads = Math.min(4, cores);
    assert.equal(info.reason, `no WebGPU adapter: using wasm, ${threads} thread${threads === 1 ? '' : 's'}`);
    assert.equal(info.threads, threads);

    await page.evaluate(() => chestaidTest.loadInput('study-01', '/fixtures/parity/study-01.input.f32', [1, 3, 224, 224]));
    const result = await page.evaluate(() => chestaidTest.run('demo', 'study-01'));
    if (parityModelSha !== demoManifest.onnx.sha256) {
      t.diagnostic(`parity fixtures are for model ${parityModelSha}, not ${demoManifest.onnx.sha256}: outputs not compared`);
      return;
    }
    assert.ok(Math.abs(result.logit - parity.logit) <= 1e-3, `logit ${result.logit} vs fixture ${parity.logit}`);
    const expectedCam = parity.cam.raw.flat();
    const camDiff = Math.max(...result.cam.map((v, i) => Math.abs(v - expectedCam[i])));
    assert.ok(camDiff <= 1e-3, `raw CAM off by ${camDiff}`);
    t.diagnostic(`demo model on wasm: logit ${result.logit} (fixture ${parity.logit}), run ${result.runMs.toFixed(0)} ms`);
  });

  test('the tiny model on wasm matches PyTorch', async () => {
    const { page } = await openPage(browser, server.url);
    await page.evaluate(() => chestaidTest.loadInput('tiny', '/fixtures/tiny/tiny.json'));
    const { info } = await page.evaluate(config => chestaidTest.start('wasm', config), { ...TINY, backend: 'wasm' });
    assert.equal(info.reason.startsWith('WebGPU turned off by configuration: using wasm'), true, info.reason);
    assertMatchesPyTorch(await page.evaluate(() => chestaidTest.run('wasm', 'tiny')));
  });

  test('the next page load takes the verified model from the Cache API, not the network', async () => {
    const { context, page } = await openPage(browser, server.url);
    const downloads = () => server.requests.filter(p => p === TINY.modelUrl).length;
    const before = downloads();
    const first = await page.evaluate(config => chestaidTest.start('c', config), TINY);
    assert.equal(first.info.model.fromCache, false);
    assert.ok(first.progressEvents >= 2, 'download progress was announced');
    assert.deepEqual(first.lastProgress, { loaded: tiny.model.bytes, total: tiny.model.bytes });
    // The engine writes the Cache API copy after its self-check, without holding up init(): a
    // page load that comes before that write ends downloads again, so wait for it (10 s at most).
    const stored = () =>
      page.evaluate(async path => {
        for (const name of await caches.keys()) {
          if ((await (await caches.open(name)).keys()).some(request => new URL(request.url).pathname === path)) return true;
        }
        return false;
      }, TINY.modelUrl);
    for (const until = Date.now() + 10_000; !(await stored()) && Date.now() < until; ) await new Promise(resolve => setTimeout(resolve, 50));
    assert.equal(await stored(), true, 'the verified model was written to the Cache API');

    const again = await context.newPage();
    await again.goto(`${server.url}/`);
    await again.waitForFunction(() => 'chestaidTest' in window);
    const second = await again.evaluate(config => chestaidTest.start('c', config), TINY);
    assert.equal(second.info.model.fromCache, true);
    assert.equal(downloads() - before, 1, 'the model was downloaded once for two page loads');
  });

  test('a missing model is refused with its URL; so are bytes that do not match the manifest', async () => {
    const { page } = await openPage(browser, server.url);
    const missing = await page.evaluate(() => chestaidTest.startError('m', { modelUrl: '/models/missing/model.onnx', sha256: '0'.repeat(64) }));
    // ModelBytesError (an InferenceError about the file itself: no other engine is tried for it).
    assert.equal(missing, `ModelBytesError: model file not found: GET ${server.url}/models/missing/model.onnx answered 404 Not Found`);
    const tampered = await page.evaluate(config => chestaidTest.startError('t', config), { ...TINY, sha256: '1'.repeat(64) });
    assert.match(tampered, /^ModelBytesError: model file does not match the manifest \(sha256 [0-9a-f]{64} for .*tiny\.onnx, the manifest says 1{64}\); refusing to run it$/);
  });

  test('through the real worker, only the latest request in a slot resolves', async () => {
    const { page } = await openPage(browser, server.url);
    await page.evaluate(() => chestaidTest.loadInput('tiny', '/fixtures/tiny/tiny.json'));
    await page.evaluate(config => chestaidTest.start('latest', config), TINY);
    assert.deepEqual(await page.evaluate(() => chestaidTest.supersede('latest', 'tiny')), { first: 'SupersededError', second: 'second' });
  });
});

describe('a page that is not cross-origin isolated', () => {
  let browser;
  let plain;
  before(async () => {
    plain = await startServer({ isolated: false });
    browser = await launchChromium({ webgpu: false });
  });
  after(async () => {
    await browser?.close();
    await plain?.close();
  });

  test('runs wasm on one thread and says why', async () => {
    const { page } = await openPage(browser, plain.url);
    assert.equal(await page.evaluate(() => chestaidTest.crossOriginIsolated()), false);
    await page.evaluate(() => chestaidTest.loadInput('tiny', '/fixtures/tiny/tiny.json'));
    const { info } = await page.evaluate(config => chestaidTest.start('plain', config), TINY);
    assert.equal(info.threads, 1);
    assert.equal(info.reason, 'no WebGPU adapter: using wasm, 1 thread (page not cross-origin isolated)');
    assertMatchesPyTorch(await page.evaluate(() => chestaidTest.run('plain', 'tiny')));
  });
});
