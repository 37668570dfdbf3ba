// The polling worker's study listing against QIDO-RS servers that page wrongly, each a proxy in
// front of a real Orthanc holding five demo studies (issue 17): one that ignores offset (page one
// again and again: the worker used to loop forever), one that ignores limit, one that caps each
// page below the limit and says so with Warning 299 (the worker used to see only the first page),
// one that answers HTML with 200 (a login page from a proxy), and one that cuts the body off. The
// first three end with the studies the server let the worker see; the last two end the pass as a
// PACS failure (exit 4 with --once), never as a crash (exit 1) nor charged to an image. Each test
// has a timeout: the server ignoring offset used to hold the worker forever.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { startOrthanc } from './orthanc.mjs';
import { bytesOf, of, ROOT, runWorker } from './workerHarness.mjs';

const FILES = ['study-01.dcm', 'study-02.dcm', 'study-03.dcm', 'study-04.dcm', 'study-05.dcm'].map(f => join(ROOT, 'test', 'demo-studies', 'dicom', f));
const EXIT = { ok: 0, pacsUnreachable: 4 };

/** A proxy to `target` whose GET /dicom-web/studies misbehaves as `fault()` says at the time. */
function faultyProxy(target, fault) {
  const server = createServer(async (request, response) => {
    const url = new URL(request.url, 'http://proxy');
    const listing = request.method === 'GET' && url.pathname === '/dicom-web/studies';
    const mode = listing ? fault() : 'none';
    if (mode === 'html') {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end('<html><body>Please log in</body></html>');
      return;
    }
    if (mode === 'ignores-offset') url.searchParams.delete('offset');
    if (mode === 'ignores-limit') {
      url.searchParams.delete('limit');
      url.searchParams.delete('offset');
    }
    const cap = mode === 'caps-299' ? 1 : null;
    if (cap !== null) url.searchParams.set('limit', String(Math.min(cap, Number(url.searchParams.get('limit') ?? cap))));
    const chunks = [];
    for await (const chunk of request) chunks.push(chunk);
    const upstream = await fetch(`${target}${url.pathname}${url.search}`, {
      method: request.method,
      headers: Object.fromEntries(Object.entries(request.headers).filter(([k]) => !['host', 'connection', 'content-length'].includes(k))),
      body: chunks.length ? Buffer.concat(chunks) : undefined,
    });
    const body = Buffer.from(await upstream.arrayBuffer());
    const headers = { 'content-type': upstream.headers.get('content-type') ?? 'application/octet-stream', 'content-length': String(body.length) };
    if (cap !== null && body.length > 2 && JSON.parse(body.toString()).length >= cap) headers.warning = '299 proxy: "There are more matches than the limit"';
    response.writeHead(upstream.status, headers);
    if (mode === 'cut') {
      response.write(body.subarray(0, Math.floor(body.length / 2)));
      setTimeout(() => response.socket.destroy(), 20);
      return;
    }
    response.end(body);
  });
  return new Promise(resolve => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('QIDO-RS servers that page wrongly', () => {
  let pacs;
  let proxy;
  let mode = 'none';
  before(async () => {
    pacs = await startOrthanc();
    await pacs.client.store(FILES.map(bytesOf));
    proxy = await faultyProxy(pacs.url, () => mode);
  });
  after(async () => {
    proxy?.close();
    await pacs?.stop();
  });
  const run = async fault => {
    mode = fault;
    const url = `http://127.0.0.1:${proxy.address().port}/dicom-web`;
    return runWorker(['--pacs', url, '--once', '--page-size', '2', '--retries', '0', '--threads', '1']);
  };

  test('answers HTML with 200: the pass ends as a PACS failure (exit 4), not a crash', { timeout: 180_000 }, async () => {
    const { code, events, stderr } = await run('html');
    assert.equal(code, EXIT.pacsUnreachable, stderr);
    const [down] = of(events, 'pacs-unreachable');
    assert.equal(down.kind, 'pacs-bad-answer');
    assert.match(down.error, /Content-Type text\/html, not DICOM JSON/);
    assert.deepEqual(of(events, 'failed'), [], 'no image charged');
  });

  test('cuts the body off: a PACS failure (exit 4), not a crash', { timeout: 180_000 }, async () => {
    const { code, events, stderr } = await run('cut');
    assert.equal(code, EXIT.pacsUnreachable, stderr);
    assert.equal(of(events, 'pacs-unreachable')[0].kind, 'pacs-unreachable');
    assert.deepEqual(of(events, 'internal-error'), []);
  });

  test('caps each page below the limit with Warning 299: the worker pages on and sees every study', { timeout: 180_000 }, async () => {
    const { code, events, stderr } = await run('caps-299');
    assert.equal(code, EXIT.ok, stderr);
    assert.equal(of(events, 'polled')[0].studies, FILES.length);
    assert.equal(of(events, 'stored').length, FILES.length);
  });

  test('ignores limit: the one long answer is the whole list', { timeout: 180_000 }, async () => {
    const { code, events, stderr } = await run('ignores-limit');
    assert.equal(code, EXIT.ok, stderr);
    assert.equal(of(events, 'polled')[0].studies, FILES.length);
    assert.deepEqual(of(events, 'listing-incomplete'), []);
  });

  test('ignores offset: paging stops at the first page that adds nothing, and the worker says what it cannot see', { timeout: 180_000 }, async () => {
    const { code, events, stderr } = await run('ignores-offset');
    assert.equal(code, EXIT.ok, stderr);
    assert.equal(of(events, 'polled')[0].studies, 2);
    assert.match(of(events, 'listing-incomplete')[0].reason, /ignores offset; only the first 2 studies are seen/);
  });
});
