// A site's PACS asks for credentials: a real Orthanc with HTTP Basic authentication on
// (AuthenticationEnabled, RegisteredUsers). The worker and the feeder take them from a file or
// from the URL, never print them, and a worker without them (or with wrong ones) charges no image:
// the pass ends (exit 4 with --once), a broker job stays in the queue, and the log says what to give.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { basicAuthorization } from '../../pacs/orthanc.mjs';
import { demoBroker, QUEUES, runFeeder, takeAll, waitStable } from './broker.mjs';
import { startOrthanc } from './orthanc.mjs';
import { bytesOf, of, radiographs, resultSrs, ROOT, runWorker, startWorker } from './workerHarness.mjs';

const USER = 'chestaid-worker';
const PASSWORD = `pw-${process.pid}-Zq9`;
const STUDIES = ['study-01.dcm', 'study-02.dcm'].map(f => join(ROOT, 'test', 'demo-studies', 'dicom', f));

/** Nothing the process printed holds the password. */
function assertNoPassword(run, label) {
  const printed = JSON.stringify(run.events) + String(run.stderr ?? '');
  assert.ok(!printed.includes(PASSWORD), `${label}: the password was printed`);
  assert.ok(!printed.includes(Buffer.from(`${USER}:${PASSWORD}`).toString('base64')), `${label}: the encoded credentials were printed`);
}

describe('a PACS that asks for credentials', () => {
  const holder = { pacs: undefined };
  let dir;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'chestaid-auth-'));
    holder.pacs = await startOrthanc({ users: { [USER]: PASSWORD } });
    await holder.pacs.client.store(STUDIES.slice(0, 1).map(bytesOf));
  });
  after(async () => {
    await holder.pacs?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('Orthanc refuses a request without them (the test is real)', async () => {
    const response = await fetch(`${holder.pacs.dicomWebUrl}/studies`);
    assert.equal(response.status, 401);
  });

  test('without credentials the worker charges no image: exit 4, and the log says what to give', async () => {
    const state = join(dir, 'none.state.json');
    const run = await runWorker(['--pacs', holder.pacs.dicomWebUrl, '--once', '--state', state]);
    assert.equal(run.code, 4, run.stderr);
    const down = of(run.events, 'pacs-unreachable');
    assert.equal(down.length, 1);
    assert.equal(down[0].kind, 'pacs-credentials-refused');
    assert.match(down[0].hint, /--pacs-auth-file/);
    assert.equal(of(run.events, 'dead-lettered').length, 0);
    assert.equal((await resultSrs(holder.pacs.client)).length, 0);
  });

  test('wrong credentials in the URL: the same, and the password is printed nowhere', async () => {
    const url = new URL(holder.pacs.dicomWebUrl);
    url.username = USER;
    url.password = `${PASSWORD}-wrong`;
    const run = await runWorker(['--pacs', url.toString(), '--once']);
    assert.equal(run.code, 4, run.stderr);
    assert.equal(of(run.events, 'pacs-unreachable')[0].kind, 'pacs-credentials-refused');
    assert.equal(of(run.events, 'started')[0].pacs, holder.pacs.dicomWebUrl);
    assert.equal(of(run.events, 'started')[0].pacsCredentials, 'url');
    assert.ok(!JSON.stringify(run.events).includes(`${PASSWORD}-wrong`));
  });

  test('from a credentials file the worker scores the study and stores its result', async () => {
    const file = join(dir, 'pacs.auth');
    writeFileSync(file, `${USER}:${PASSWORD}\n`, { mode: 0o600 });
    const run = await runWorker(['--pacs', holder.pacs.dicomWebUrl, '--pacs-auth-file', file, '--once', '--threads', '1']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(of(run.events, 'started')[0].pacsCredentials, 'file');
    const images = await radiographs(holder.pacs.client);
    const srs = await resultSrs(holder.pacs.client);
    assert.equal(srs.length, images.length);
    assert.ok(srs.length >= 1);
    assertNoPassword(run, 'worker with a file');
  });

  test('from the URL the same worker finds the study done', async () => {
    const url = new URL(holder.pacs.dicomWebUrl);
    url.username = USER;
    url.password = PASSWORD;
    const run = await runWorker(['--pacs', url.toString(), '--once', '--threads', '1']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(of(run.events, 'scored').length, 0);
    assertNoPassword(run, 'worker with the URL');
  });
});

describe('the feeder and a broker worker on a PACS that asks for credentials', () => {
  const holder = { pacs: undefined };
  const rabbit = demoBroker();
  let dir;
  let file;
  let brokerFile;
  /** The broker's URL without its user and password, which come from brokerFile. */
  let brokerBare;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'chestaid-auth-'));
    file = join(dir, 'orthanc.auth');
    writeFileSync(file, `${USER}:${PASSWORD}\n`, { mode: 0o600 });
    const url = new URL(rabbit.broker.url);
    brokerFile = join(dir, 'broker.auth');
    writeFileSync(brokerFile, `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}\n`, { mode: 0o600 });
    url.username = '';
    url.password = '';
    brokerBare = url.toString();
    holder.pacs = await startOrthanc({ users: { [USER]: PASSWORD } });
    await holder.pacs.client.store(STUDIES.map(bytesOf));
    await waitStable(holder.pacs.url, STUDIES.length, 60_000, basicAuthorization({ [USER]: PASSWORD }));
  });
  after(async () => {
    await holder.pacs?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('a feeder without credentials exits 4 and says which option gives them', async () => {
    const fed = await runFeeder(['--orthanc', holder.pacs.url, '--broker', rabbit.broker.url, '--once']);
    assert.equal(fed.code, 4, fed.stderr);
    assert.match(of(fed.events, 'feed-failed')[0].error, /answered 401: .*--orthanc-auth-file/);
  });

  test('the broker\'s credentials file is the one used: a wrong password in it and the feeder cannot publish (exit 4)', async () => {
    const wrong = join(dir, 'broker-wrong.auth');
    writeFileSync(wrong, `${decodeURIComponent(new URL(rabbit.broker.url).username)}:not-the-password\n`, { mode: 0o600 });
    const fed = await runFeeder(['--orthanc', holder.pacs.url, '--orthanc-auth-file', file, '--broker', brokerBare, '--broker-auth-file', wrong, '--once']);
    assert.equal(fed.code, 4, fed.stderr);
    assert.equal(of(fed.events, 'fed').length, 0);
    assert.ok(!JSON.stringify(fed.events).includes('not-the-password'));
  });

  test('with its file it publishes one job per study; a worker without credentials keeps the jobs, one with them scores them (the broker\'s from a file too)', async () => {
    const fed = await runFeeder(['--orthanc', holder.pacs.url, '--orthanc-auth-file', file, '--broker', brokerBare, '--broker-auth-file', brokerFile, '--once']);
    assert.equal(fed.code, 0, fed.stderr);
    assert.equal(of(fed.events, 'fed').reduce((n, e) => n + e.studies, 0), STUDIES.length);
    assertNoPassword(fed, 'feeder');

    const refused = startWorker(['--pacs', holder.pacs.dicomWebUrl, '--broker', rabbit.broker.url, '--threads', '1']);
    await refused.waitFor(e => e.event === 'pacs-unreachable' && e.kind === 'pacs-credentials-refused', 120_000);
    refused.child.kill('SIGTERM');
    await refused.exited;
    assert.equal(of(refused.events, 'failed').length, 0, 'no attempt was charged');
    assert.deepEqual(await takeAll(rabbit.broker.url, QUEUES.dead), []);

    const worker = await runWorker(['--pacs', holder.pacs.dicomWebUrl, '--pacs-auth-file', file, '--broker', brokerBare, '--broker-auth-file', brokerFile, '--threads', '1', '--exit-when-idle', '3']);
    assert.equal(worker.code, 0, worker.stderr);
    const images = await radiographs(holder.pacs.client);
    assert.equal((await resultSrs(holder.pacs.client)).length, images.length);
    assertNoPassword(worker, 'broker worker');
  });
});
