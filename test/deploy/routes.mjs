/**
 * The checks both servers of the viewer must pass (nginx from deploy/nginx, and the dev server of
 * `npm start`): security headers, nothing listed, no source maps, nothing of the model directory
 * but what the viewer fetches, and a PACS proxy limited to the viewer's DICOMweb routes and
 * methods, refusing other sites. `server` is { url }, `pacs` the test's Orthanc (startOrthanc).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import { demoStudyFiles } from '../pacs/orthanc.mjs';

const EVIL = 'https://evil.example';

/** fetch without redirects; the body read so the connection is freed. */
export async function get(url, init = {}) {
  const response = await fetch(url, { redirect: 'manual', ...init });
  const body = Buffer.from(await response.arrayBuffer());
  return { status: response.status, headers: response.headers, body, text: () => body.toString('utf8') };
}

/** A STOW-RS body holding one DICOM file. */
export function stowBody(file) {
  const boundary = `chestaid-${Date.now()}`;
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`),
    readFileSync(file),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return { body, contentType: `multipart/related; type="application/dicom"; boundary=${boundary}` };
}

/** How many instances the PACS holds (asked of Orthanc directly). */
async function instanceCount(pacs) {
  return (await (await fetch(`${pacs.url}/statistics`)).json()).CountInstances;
}

/** Registers the shared checks as subtests of `t`. */
export async function checkServer(t, server, pacs) {
  const url = server.url;

  await t.test('every answer carries the CSP, cross-origin isolation, nosniff and Referrer-Policy, and says nothing of its software', async () => {
    for (const path of ['/', '/app-config.js', '/models/chestaid-demo/manifest.json', '/pacs/dicom-web/studies', '/no-such-file.js']) {
      const { status, headers } = await get(`${url}${path}`);
      const csp = headers.get('content-security-policy') ?? '';
      // An error page may carry a stricter policy of its own (Express's: nothing at all).
      if (!(status === 404 && csp === "default-src 'none'")) {
        assert.match(csp, /default-src 'self'/, `${path}: CSP ${csp}`);
        assert.match(csp, /script-src 'self' 'wasm-unsafe-eval' 'sha256-[A-Za-z0-9+/=]+'/, path);
        assert.doesNotMatch(csp, /'unsafe-eval'|script-src[^;]*'unsafe-inline'|\*/, path);
        assert.match(csp, /frame-ancestors 'none'/, path);
        assert.match(csp, /worker-src 'self' blob:/, path);
      }
      assert.equal(headers.get('cross-origin-opener-policy'), 'same-origin', path);
      assert.equal(headers.get('cross-origin-embedder-policy'), 'require-corp', path);
      assert.equal(headers.get('x-content-type-options'), 'nosniff', path);
      assert.equal(headers.get('referrer-policy'), 'no-referrer', path);
      assert.equal(headers.get('x-powered-by'), null, path);
      assert.doesNotMatch(headers.get('server') ?? '', /\d/, `${path}: Server ${headers.get('server')}`);
    }
  });

  await t.test('the CSP allows the inline scripts of the served index.html, by hash', async () => {
    const { headers, text } = await get(`${url}/`);
    const { inlineScriptHashes } = await import('../../deploy/policy.cjs');
    const hashes = inlineScriptHashes(text());
    assert.ok(hashes.length > 0, 'OHIF index.html has inline scripts');
    for (const hash of hashes) assert.ok(headers.get('content-security-policy').includes(hash), hash);
  });

  await t.test('no directory is listed', async () => {
    for (const path of ['/models/', '/models/chestaid-demo/', '/chestaid/', '/chestaid/ort/', '/chestaid/tfjs/', '/chestaid/demo/dicom/']) {
      for (const accept of ['text/html', 'application/json', 'text/plain']) {
        const { status, text } = await get(`${url}${path}`, { headers: { accept } });
        assert.doesNotMatch(text(), /splits\.json|model\.onnx|ort-wasm|tfjs-backend-wasm|study-\d+\.dcm|chestaid\.js\b|Index of/, `${path} (${accept}) lists files: ${status}`);
      }
    }
  });

  await t.test('no source map is served', async () => {
    for (const path of ['/chestaid/chestaid.js.map', '/chestaid/ort/ort.wasm.min.mjs.map', '/chestaid/ort/ort.min.js.map']) {
      const { status } = await get(`${url}${path}`);
      assert.equal(status, 404, path);
    }
  });

  await t.test('of the model directory, only what the viewer fetches', async () => {
    for (const file of ['splits.json', 'history.csv', 'report.md', 'MODEL_CARD.md', 'report/roc_test.png']) {
      const { status, text } = await get(`${url}/models/chestaid-demo/${file}`);
      assert.equal(status, 404, `${file} answered ${status}`);
      assert.doesNotMatch(text(), /person\d+|NORMAL2-IM/, file);
    }
    const manifest = await get(`${url}/models/chestaid-demo/manifest.json`);
    assert.equal(manifest.status, 200);
    const { onnx } = JSON.parse(manifest.text());
    const weights = await get(`${url}/models/chestaid-demo/${onnx.file}`, { method: 'HEAD', headers: { 'accept-encoding': 'identity' } });
    assert.equal(weights.status, 200);
    assert.equal(Number(weights.headers.get('content-length')), onnx.bytes);
  });

  await t.test("of onnxruntime-web, only what the inference worker loads, with a JavaScript or wasm type", async () => {
    const loader = await get(`${url}/chestaid/ort/ort.wasm.min.mjs`, { method: 'HEAD' });
    assert.equal(loader.status, 200);
    assert.match(loader.headers.get('content-type'), /^text\/javascript/);
    const wasm = await get(`${url}/chestaid/ort/ort-wasm-simd-threaded.wasm`, { method: 'HEAD' });
    assert.equal(wasm.status, 200);
    assert.equal(wasm.headers.get('content-type'), 'application/wasm');
    for (const path of ['/chestaid/ort/ort.node.min.js', '/chestaid/ort/ort.all.min.js', '/chestaid/ort/ort-wasm-simd-threaded.jsep.wasm', '/chestaid/ort/package.json']) {
      assert.equal((await get(`${url}${path}`)).status, 404, path);
    }
  });

  await t.test("of TensorFlow.js's wasm backend, only its three binaries, as application/wasm, and its threads' script", async () => {
    for (const name of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']) {
      const wasm = await get(`${url}/chestaid/tfjs/${name}`, { method: 'HEAD' });
      assert.equal(wasm.status, 200, name);
      assert.equal(wasm.headers.get('content-type'), 'application/wasm', name);
      assert.equal(wasm.headers.get('cross-origin-resource-policy'), 'same-origin', name);
    }
    const script = await get(`${url}/chestaid/tfjs/tfjs-backend-wasm-threaded-simd.js`, { method: 'HEAD' });
    assert.equal(script.status, 200);
    assert.match(script.headers.get('content-type'), /^(text|application)\/javascript/);
    for (const path of ['/chestaid/tfjs/tfjs-backend-wasm.worker.js', '/chestaid/tfjs/tfjs-backend-wasm.js', '/chestaid/tfjs/tf-backend-wasm.js', '/chestaid/tfjs/tf-backend-wasm.min.js', '/chestaid/tfjs/package.json', '/chestaid/tfjs/index.d.ts']) {
      assert.equal((await get(`${url}${path}`)).status, 404, path);
    }
  });

  await t.test('QIDO-RS and WADO-RS through /pacs/ are allowed', async () => {
    const qido = await get(`${url}/pacs/dicom-web/studies`, { headers: { accept: 'application/dicom+json' } });
    assert.equal(qido.status, 200);
    const studies = JSON.parse(qido.text());
    assert.ok(studies.length > 0);
    const uid = studies[0]['0020000D'].Value[0];
    const series = await get(`${url}/pacs/dicom-web/studies/${uid}/series`, { headers: { accept: 'application/dicom+json' } });
    assert.equal(series.status, 200);
    const seriesUid = JSON.parse(series.text())[0]['0020000E'].Value[0];
    const metadata = await get(`${url}/pacs/dicom-web/studies/${uid}/series/${seriesUid}/metadata`);
    assert.equal(metadata.status, 200);
  });

  await t.test('DELETE through /pacs/ is refused and deletes nothing', async () => {
    const before = await instanceCount(pacs);
    const uid = (await (await fetch(`${pacs.dicomWebUrl}/studies`)).json())[0]['0020000D'].Value[0];
    const orthancId = (await (await fetch(`${pacs.url}/studies`)).json())[0];
    for (const path of [`/pacs/dicom-web/studies/${uid}`, `/pacs/studies/${orthancId}`, `/pacs/dicom-web/studies/${uid}/series`]) {
      const { status } = await get(`${url}${path}`, { method: 'DELETE' });
      assert.ok(status === 404 || status === 405, `DELETE ${path} answered ${status}`);
    }
    assert.equal(await instanceCount(pacs), before);
  });

  await t.test("Orthanc's own API is not reachable through /pacs/", async () => {
    const find = await get(`${url}/pacs/tools/find`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ Level: 'Study', Query: {} }),
    });
    assert.equal(find.status, 404);
    const evilFind = await get(`${url}/pacs/tools/find`, { method: 'POST', headers: { origin: EVIL }, body: '{"Level":"Study","Query":{}}' });
    assert.ok(evilFind.status === 403 || evilFind.status === 404, `answered ${evilFind.status}`);
    for (const path of ['/pacs/system', '/pacs/patients', '/pacs/app/explorer.html', '/pacs/dicom-web/servers', '/pacs/instances']) {
      assert.equal((await get(`${url}${path}`)).status, 404, path);
    }
  });

  await t.test('POST is refused on routes other than STOW-RS', async () => {
    const { body, contentType } = stowBody(demoStudyFiles()[0]);
    const uid = (await (await fetch(`${pacs.dicomWebUrl}/studies`)).json())[0]['0020000D'].Value[0];
    for (const path of [`/pacs/dicom-web/studies/${uid}/series`, '/pacs/dicom-web/series', '/pacs/dicom-web/instances']) {
      const { status } = await get(`${url}${path}`, { method: 'POST', headers: { 'content-type': contentType, origin: url }, body });
      assert.equal(status, 405, `POST ${path} answered ${status}`);
    }
  });

  await t.test('a cross-site request is refused, by Origin or by Sec-Fetch-Site', async () => {
    const { body, contentType } = stowBody(demoStudyFiles()[1]);
    const before = await instanceCount(pacs);
    for (const headers of [{ origin: EVIL }, { 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site', origin: url }, { origin: 'null' }]) {
      const post = await get(`${url}/pacs/dicom-web/studies`, { method: 'POST', headers: { ...headers, 'content-type': contentType }, body });
      assert.equal(post.status, 403, `POST with ${JSON.stringify(headers)} answered ${post.status}`);
      const read = await get(`${url}/pacs/dicom-web/studies`, { headers });
      assert.equal(read.status, 403, `GET with ${JSON.stringify(headers)} answered ${read.status}`);
    }
    assert.equal(await instanceCount(pacs), before);
  });

  await t.test('STOW-RS from the viewer itself is allowed', async () => {
    const files = demoStudyFiles();
    const file = files[files.length - 1];
    const { body, contentType } = stowBody(file);
    const before = await instanceCount(pacs);
    const post = await get(`${url}/pacs/dicom-web/studies`, {
      method: 'POST',
      headers: { 'content-type': contentType, accept: 'application/dicom+json', origin: url, 'sec-fetch-site': 'same-origin' },
      body,
    });
    assert.equal(post.status, 200, post.text());
    assert.equal(await instanceCount(pacs), before + 1);
  });

  await t.test("the viewer's routes are the app; a missing file is a 404", async () => {
    const route = await get(`${url}/viewer?StudyInstanceUIDs=1.2.3`, { headers: { accept: 'text/html' } });
    assert.equal(route.status, 200);
    assert.match(route.text(), /<div id="root"/);
    assert.equal((await get(`${url}/chestaid/no-such-chunk.js`)).status, 404);
  });
}
