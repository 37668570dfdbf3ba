// ChestAid's production web server: Debian's nginx with deploy/nginx's configuration, serving a
// site's OHIF with a fresh `npm run build` installed in it (viewerRoot.mjs) and proxying a real
// Orthanc. The checks the dev server passes too are in routes.mjs; this file adds what only nginx
// does: pre-compressed wasm and weights, caching, and the deliverable's chestaid-config.js; and the
// reader's core path through the installed viewer, first without, then with the site's login
// (a real OpenID provider and the token verifier behind auth_request).
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { CLIENT_ID, SCOPE, startOidcProvider } from '../../scripts/oidc-dev-provider.mjs';
import { freePort } from '../../pacs/orthanc.mjs';
import { BANNER_CONFIRM, ROOT, launchChromium, watchedPage } from '../e2e/harness.mjs';
import { demoStudyFiles, loadDemoStudies, startOrthanc } from '../pacs/orthanc.mjs';
import { resultSrs } from '../pacs/workerHarness.mjs';
import { logInInBrowser } from './oidcLogin.mjs';
import { checkServer, get } from './routes.mjs';
import { startNginx, startVerifier } from './nginxServer.mjs';
import { assembleViewerRoot, withLogin } from './viewerRoot.mjs';

let prefix;
let pacs;
let nginx;
let precompressed;
let root;
let modelDir;

before(async () => {
  prefix = mkdtempSync(join(tmpdir(), 'chestaid-nginx-'));
  // Started by root, nginx's workers run as nobody: they must be able to read the viewer.
  chmodSync(prefix, 0o755);
  root = join(prefix, 'viewer');
  mkdirSync(root);
  precompressed = assembleViewerRoot(root, { buildDir: join(prefix, 'build') });
  // The model as the build serves it, named by its content; beside it what a careless copy or the
  // site's recalibration leaves there (the training splits, the served calibration log).
  [modelDir] = readdirSync(join(root, 'models')).filter(name => /^sha256-[0-9a-f]{64}$/.test(name));
  symlinkSync(join(ROOT, 'models/chestaid-demo/splits.json'), join(root, 'models', modelDir, 'splits.json'));
  mkdirSync(join(root, 'models', modelDir, 'calibration'));
  writeFileSync(join(root, 'models', modelDir, 'calibration/log.jsonl'), '');
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
  assert.equal(precompressed.filter(([file]) => /\/chestaid\/tfjs\/tfjs-backend-wasm[^/]*\.(wasm|js)$/.test(file)).length, 4, "TensorFlow.js's three wasm binaries and its threads' script");
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
  const { onnx } = JSON.parse(readFileSync(join(root, 'models', modelDir, 'manifest.json'), 'utf8'));
  const model = [`/models/${modelDir}/manifest.json`, `/models/${modelDir}/${onnx.file}`, ...onnx.variants.map(v => `/models/${modelDir}/${v.file}`)];
  for (const path of [`/${appBundle}`, `/chestaid/${chunk}`, ...model]) {
    const { status, headers } = await get(`${nginx.url}${path}`, { method: 'HEAD' });
    assert.equal(status, 200, path);
    assert.equal(headers.get('cache-control'), 'public, max-age=31536000, immutable', path);
  }
  const revalidated = ['/', '/app-config.js', '/chestaid-config.js', '/models/chestaid-demo/manifest.json', '/chestaid/chestaid.js', '/chestaid/ort/ort-wasm-simd-threaded.wasm', '/chestaid/tfjs/tfjs-backend-wasm-threaded-simd.wasm'];
  // The site's calibration log changes under the model's folder: never cached as immutable.
  for (const path of [...revalidated, `/models/${modelDir}/calibration/log.jsonl`]) {
    const { status, headers } = await get(`${nginx.url}${path}`, { method: 'HEAD' });
    assert.equal(status, 200, path);
    assert.equal(headers.get('cache-control'), 'no-cache', path);
  }
  // Content-addressed or not, only what the viewer fetches.
  assert.equal((await get(`${nginx.url}/models/${modelDir}/splits.json`)).status, 404);
});

test("nginx serves the build's chestaid-config.js, included after the site's app-config.js, pointing at the content-addressed model", async () => {
  const config = await get(`${nginx.url}/chestaid-config.js`);
  assert.equal(config.status, 200);
  assert.match(config.headers.get('content-type'), /javascript/);
  // Its name is not content-addressed: revalidated, so a new build takes effect on the next load.
  assert.equal(config.headers.get('cache-control'), 'no-cache');
  assert.ok(config.text().includes(`"manifestUrl": "/models/${modelDir}/manifest.json"`), 'the default model URL is the content-addressed one');
  // The build adds to the site's configuration; it brings none of its own.
  assert.match((await get(`${nginx.url}/app-config.js`)).text(), /name: 'St Elsewhere Imaging'/);
  const index = (await get(`${nginx.url}/`)).text();
  assert.match(index, /src="\/app-config\.js"><\/script><script src="\/chestaid-config\.js"><\/script>/);
});

/**
 * Opens `study` in the ChestAid mode of the viewer at `url`, clicks Analyze and checks the score
 * against the demo index's (1e-3); returns the panel and the score shown.
 */
async function analyzeInChestAid(t, page, url, study) {
  await page.goto(`${url}/chestaid?StudyInstanceUIDs=${study.StudyInstanceUID}`);
  const panel = page.locator('[data-cy="chestaid-panel"]');
  await panel.locator('[data-cy="chestaid-analyze"]:not([disabled])').waitFor({ timeout: 180_000 });
  await page.waitForFunction(() => Boolean(window.cornerstone?.getEnabledElements?.()[0]?.viewport?.getCornerstoneImage?.()), null, { timeout: 180_000 });
  await page.locator(BANNER_CONFIRM).click({ timeout: 2000 }).catch(() => undefined);
  await panel.locator('[data-cy="chestaid-analyze"]').click();
  const score = panel.locator('[data-cy="chestaid-score"]');
  await score.waitFor({ timeout: 180_000 });
  const probability = Number(await score.getAttribute('data-probability'));
  t.diagnostic(`${study.name}: ${probability} (expected ${study.expected.probability})`);
  assert.ok(Math.abs(probability - study.expected.probability) <= 1e-3, `${probability} vs ${study.expected.probability}`);
  return { panel, probability };
}

test("through nginx, the site's viewer with ChestAid installed lists the site's PACS and analyses a radiograph under the CSP, with nothing refused", { timeout: 480_000 }, async t => {
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
    // The site's configuration, as its app-config.js set it; ChestAid's extension beside its own.
    const site = await page.evaluate(() => ({ sources: window.config.dataSources.map(s => s.sourceName), name: window.config.name }));
    assert.deepEqual(site, { sources: ['st-elsewhere-pacs'], name: 'St Elsewhere Imaging' });

    await analyzeInChestAid(t, page, nginx.url, study);
    // A CSP violation is a console error ("Refused to ..."), which watchedPage records.
    assert.deepEqual(problems, []);
    assert.deepEqual(foreignRequests, []);
  } finally {
    await browser.close();
  }
});

test("through nginx with the site's login, the installed viewer's core path: login first, the site's list with the risk column, Analyze, the heatmap, Save to PACS", { timeout: 600_000 }, async t => {
  const demo = JSON.parse(readFileSync(join(ROOT, 'test/demo-studies/index.json'), 'utf8'));
  const study = demo.studies.find(s => s.name === 'study-19');
  const port = await freePort();
  const provider = await startOidcProvider({ viewer: `http://127.0.0.1:${port}` });
  const verifier = await startVerifier({ issuer: provider.issuer, audience: provider.audience });
  const loginPrefix = join(prefix, 'login');
  mkdirSync(join(loginPrefix, 'viewer'), { recursive: true });
  chmodSync(loginPrefix, 0o755);
  withLogin(root, join(loginPrefix, 'viewer'), { authority: provider.issuer, clientId: CLIENT_ID, scope: SCOPE });
  const server = await startNginx({
    prefix: loginPrefix,
    root: join(loginPrefix, 'viewer'),
    pacs: `127.0.0.1:${pacs.port}`,
    port,
    auth: verifier.address,
    oidcAuthority: provider.issuer,
  });
  const browser = await launchChromium();
  try {
    // Without a token the PACS answers nothing through this server.
    assert.equal((await get(`${server.url}/pacs/dicom-web/studies`)).status, 401);
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const problems = [];
    const foreignRequests = [];
    const pacsRequests = [];
    const page = await watchedPage(context, { viewerUrl: server.url, problems, foreignRequests });
    page.on('response', response => {
      if (response.url().startsWith(`${server.url}/pacs/`)) pacsRequests.push([response.request().method(), response.url(), response.request().headers().authorization ?? null, response.status()]);
    });
    // Login required: the first visit goes to the provider's form, then back to the site's list.
    await logInInBrowser(page, { url: `${server.url}/`, provider, user: 'reader' });
    await page.locator(`[data-cy="chestaid-risk"][data-study-uid="${study.StudyInstanceUID}"]`).waitFor({ timeout: 180_000 });
    assert.deepEqual(await page.evaluate(() => window.config.dataSources.map(s => s.sourceName)), ['st-elsewhere-pacs']);

    const { panel, probability } = await analyzeInChestAid(t, page, server.url, study);
    // The heatmap layer is drawn on the viewport that shows the analysed image.
    await page.locator('[data-chestaid-heatmap]').waitFor({ timeout: 60_000 });

    await panel.locator('[data-cy="chestaid-save-pacs"]:not([disabled])').click();
    await panel.locator('[data-cy="chestaid-pacs-status"][data-sr]').waitFor({ timeout: 120_000 });
    const stored = (await resultSrs(pacs.client)).filter(({ content }) => content.source.sopInstanceUID === study.SOPInstanceUID);
    assert.equal(stored.length, 1, 'one result SR for the analysed image');
    assert.ok(Math.abs(stored[0].content.score - probability) <= 1e-5, `SR ${stored[0].content.score} vs shown ${probability}`);

    // Every PACS request carried the reader's token, and the STOW was among them.
    assert.ok(pacsRequests.some(([method]) => method === 'POST'), 'Save to PACS went through the proxy');
    assert.deepEqual(pacsRequests.filter(([, , authorization, status]) => !/^Bearer /.test(authorization ?? '') || status >= 400), []);
    assert.deepEqual(problems, []);
    assert.deepEqual(foreignRequests.filter(url => !url.startsWith(`${provider.issuer}/`)), []);
  } finally {
    await browser.close();
    await server.stop();
    await verifier.stop();
    await provider.close();
  }
});
