// ChestAid's production web server: Debian's nginx with deploy/nginx's configuration, serving a
// freshly built viewer and proxying a real Orthanc. The checks the dev server passes too are in
// routes.mjs; this file adds what only nginx does: pre-compressed wasm and weights, and caching.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

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
