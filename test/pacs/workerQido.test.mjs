// The polling worker's study listing against QIDO-RS servers that page wrongly, each a proxy in
// front of a real Orthanc holding five demo studies (issue 17): one that ignores offset (page one
// again and again: the worker used to loop forever), one that ignores limit, one that caps each
// page below the limit and says so with Warning 299 (the worker used to see only the first page),
// one that answers HTML with 200 (a login page from a proxy), and one that cuts the body off. The
// first three end with the studies the server let the worker see; the last two end the pass as a
// PACS failure (exit 4 with --once), never as a crash (exit 1) nor charged to an image. Each test
// has a timeout: the server ignoring offset used to hold the worker forever. And a PACS that never
// answers the pixels of an image: SIGTERM stops the worker within its --grace, not its request
// timeout.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { faultyProxy } from './faultyProxy.mjs';
import { startOrthanc } from './orthanc.mjs';
import { bytesOf, of, ROOT, runWorker, startWorker } from './workerHarness.mjs';

const FILES = ['study-01.dcm', 'study-02.dcm', 'study-03.dcm', 'study-04.dcm', 'study-05.dcm'].map(f => join(ROOT, 'test', 'demo-studies', 'dicom', f));
const EXIT = { ok: 0, pacsUnreachable: 4 };

describe('QIDO-RS servers that page wrongly', () => {
  let pacs;
  let proxy;
  let mode = 'none';
  before(async () => {
    pacs = await startOrthanc();
    await pacs.client.store(FILES.map(bytesOf));
    proxy = await faultyProxy(pacs.url, () => mode, { onStall: path => stalled?.(path) });
  });
  let stalled = null;
  after(async () => {
    proxy?.closeAllConnections();
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

  test('a request in flight that never ends: SIGTERM stops the worker within --grace, not the request timeout', { timeout: 180_000 }, async () => {
    // A study the earlier passes have not scored, so that the worker fetches its pixels.
    await pacs.client.store([bytesOf(join(ROOT, 'test', 'demo-studies', 'dicom', 'study-06.dcm'))]);
    mode = 'stall-instance';
    const url = `http://127.0.0.1:${proxy.address().port}/dicom-web`;
    const reached = new Promise(resolve => (stalled = resolve));
    const worker = startWorker(['--pacs', url, '--once', '--retries', '0', '--threads', '1', '--grace', '2', '--request-timeout', '120']);
    await reached;
    const signalled = Date.now();
    worker.child.kill('SIGTERM');
    const { code } = await worker.exited;
    const took = Date.now() - signalled;
    assert.equal(code, EXIT.ok, worker.stderr.join(''));
    assert.ok(took < 20_000, `stopped ${took} ms after SIGTERM`);
    assert.equal(of(worker.events, 'grace-over').length, 1);
    assert.deepEqual(of(worker.events, 'failed'), [], 'the abandoned image is not charged');
  });
});
