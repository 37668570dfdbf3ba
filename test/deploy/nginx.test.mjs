// ChestAid's production web server: Debian's nginx with deploy/nginx's configuration, serving a
// freshly built viewer and proxying a real Orthanc. The checks the dev server passes too are in
// routes.mjs; this file adds what only nginx does: pre-compressed wasm and weights, and caching.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { BANNER_CONFIRM, ROOT, launchChromium, watchedPage } from '../e2e/harness.mjs';
import { demoStudyFiles, loadDemoStudies, startOrthanc } from '../pacs/orthanc.mjs';
import { checkServer, get } from './routes.mjs';
import { startNginx } from './nginxServer.mjs';
import { assembleViewerRoot } from './viewerRoot.mjs';

let prefix;
let pacs;
let nginx;
let precompressed;
let root;

before(async () => {
  prefix = mkdtempSync(join(tmpdir(), 'chestaid-nginx-'));
  // Started by root, nginx's workers run as nobody: they must be able to read the viewer.
  chmodSync(prefix, 0o755);
  root = join(prefix, 'viewer');
  mkdirSync(root);
  precompressed = assembleViewerRoot(root, { env: { CHESTAID_DATA_SOURCE: 'pacs' } });
  // A model directory named by its content, as the build will serve it (issue 14, item 1).
  const manifestHash = 'a'.repeat(64);
  symlinkSync(join(root, 'models/chestaid-demo'), join(root, `models/sha256-${manifestHash}`));
  pacs = await startOrthanc();
  const files = demoStudyFiles();
  await loadDemoStudies(pacs.client, files.slice(0, -1));
  nginx = await startNginx({ prefix, root, pacs: `127.0.0.1:${pacs.port}` });
});

after(async () => {
  await nginx?.stop();
  await pacs?.stop();
  if (prefix) rmSync(prefix, { recursive: true, force: true });
});

test('nginx: the shared checks of headers, listing, source maps, the model directory and the PACS proxy', { timeout: 120_000 }, async t => {
  await checkServer(t, nginx, pacs);
});

test('nginx serves the wasm and the model weights pre-compressed to a client that accepts gzip', async t => {
  assert.ok(precompressed.length >= 3, 'ort wasm files and the model weights');
  let plain = 0;
  let sent = 0;
  for (const [file, bytes, gzipped] of precompressed) {
    const path = file.slice(root.length);
    const compressed = await get(`${nginx.url}${path}`, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(compressed.status, 200, path);
    assert.equal(compressed.headers.get('content-encoding'), 'gzip', path);
    assert.equal(Number(compressed.headers.get('content-length')), gzipped, path);
    assert.match(compressed.headers.get('vary') ?? '', /accept-encoding/i, path);
    const identity = await fetch(`${nginx.url}${path}`, { method: 'HEAD', headers: { 'accept-encoding': 'identity' } });
    assert.equal(identity.headers.get('content-encoding'), null, path);
    assert.equal(Number(identity.headers.get('content-length')), bytes, path);
    t.diagnostic(`${path}: ${bytes} -> ${gzipped} bytes (${((1 - gzipped / bytes) * 100).toFixed(1)} % saved)`);
    plain += bytes;
    sent += gzipped;
  }
  t.diagnostic(`all pre-compressed files: ${plain} -> ${sent} bytes`);
});

test('nginx marks content-addressed files immutable and revalidates the rest', async () => {
  const appBundle = readdirSync(root).find(name => /^app\.bundle\.[0-9a-f]{16}\.js$/.test(name));
  const chunk = readdirSync(join(root, 'chestaid')).find(name => /\.[0-9a-f]{16,}\.js$/.test(name));
  for (const path of [`/${appBundle}`, `/chestaid/${chunk}`, `/models/sha256-${'a'.repeat(64)}/manifest.json`]) {
    const { status, headers } = await get(`${nginx.url}${path}`, { method: 'HEAD' });
    assert.equal(status, 200, path);
    assert.equal(headers.get('cache-control'), 'public, max-age=31536000, immutable', path);
  }
  for (const path of ['/', '/app-config.js', '/models/chestaid-demo/manifest.json', '/chestaid/chestaid.js', '/chestaid/ort/ort-wasm-simd-threaded.wasm']) {
    const { status, headers } = await get(`${nginx.url}${path}`, { method: 'HEAD' });
    assert.equal(status, 200, path);
    assert.equal(headers.get('cache-control'), 'no-cache', path);
  }
  // Content-addressed or not, only what the viewer fetches.
  assert.equal((await get(`${nginx.url}/models/sha256-${'a'.repeat(64)}/splits.json`)).status, 404);
});

test('through nginx, the built viewer lists the PACS and analyses a radiograph under the CSP, with nothing refused', { timeout: 480_000 }, async t => {
  const demo = JSON.parse(readFileSync(join(ROOT, 'test/demo-studies/index.json'), 'utf8'));
  // A score away from 0 and 1, so the comparison means something.
  const study = demo.studies.find(s => s.name === 'study-19');
  const browser = await launchChromium();
  try {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const problems = [];
    const foreignRequests = [];
    const page = await watchedPage(context, { viewerUrl: nginx.url, problems, foreignRequests });
    await page.goto(`${nginx.url}/`);
    await page.locator('[data-cy="chestaid-risk-header"]').waitFor({ timeout: 120_000 });
    assert.equal(await page.evaluate(() => crossOriginIsolated), true, 'COOP/COEP make the page cross-origin isolated');

    await page.goto(`${nginx.url}/chestaid?StudyInstanceUIDs=${study.StudyInstanceUID}`);
    const panel = page.locator('[data-cy="chestaid-panel"]');
    await panel.locator('[data-cy="chestaid-analyze"]:not([disabled])').waitFor({ timeout: 120_000 });
    await page.waitForFunction(() => Boolean(window.cornerstone?.getEnabledElements?.()[0]?.viewport?.getCornerstoneImage?.()), null, { timeout: 120_000 });
    await page.locator(BANNER_CONFIRM).click({ timeout: 2000 }).catch(() => undefined);
    await panel.locator('[data-cy="chestaid-analyze"]').click();
    const score = panel.locator('[data-cy="chestaid-score"]');
    await score.waitFor({ timeout: 180_000 });
    const probability = Number(await score.getAttribute('data-probability'));
    t.diagnostic(`${study.name}: ${probability} (expected ${study.expected.probability})`);
    assert.ok(Math.abs(probability - study.expected.probability) <= 1e-3, `${probability} vs ${study.expected.probability}`);
    // A CSP violation is a console error ("Refused to ..."), which watchedPage records.
    assert.deepEqual(problems, []);
    assert.deepEqual(foreignRequests, []);
  } finally {
    await browser.close();
  }
});
