// The triage worker on a real broker (issue 17): a real RabbitMQ and a real Orthanc started by the
// tests, a handful of demo studies. The feeder turns stable studies into jobs; 4 workers in
// separate processes drain them; one is killed (SIGKILL) in the middle of a job, and its job is
// redelivered; a single-image study is scored inside its study job, and a redelivered study job
// falls back to an image job that carries the try, so an image is tried --max-attempts times in
// all; a study of two images still expands into two image jobs; the broker is killed and restarted mid-run and nothing is lost; the feeder is
// restarted and publishes nothing already published, so nothing is scored twice; an image that
// kills its worker every time is dead-lettered after its delivery limit, and a worker holding two
// jobs scores a retried image alone, so dying on it again charges no other; poison images are refused
// from their metadata before their pixels are fetched; SIGTERM with a PACS request that never ends
// stops the worker within its grace period and the job goes back to the queue.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import dcmjs from 'dcmjs';

import { faultyProxy } from './faultyProxy.mjs';
import { demoBroker, publishJobs, QUEUES, runFeeder, takeAll, waitStable } from './broker.mjs';
import { startOrthanc } from './orthanc.mjs';
import { bytesOf, heatmaps, of, radiographs, resultSrs, ROOT, startWorker } from './workerHarness.mjs';

const STUDY_FILES = ['study-01.dcm', 'study-02.dcm', 'study-03.dcm', 'study-04.dcm', 'study-05.dcm', 'study-06.dcm'].map(f => join(ROOT, 'test', 'demo-studies', 'dicom', f));

/** For the enclosing describe: an Orthanc holding the handful of demo studies, all stable. */
function smallPacs() {
  const holder = { pacs: undefined };
  before(async () => {
    holder.pacs = await startOrthanc();
    await holder.pacs.client.store(STUDY_FILES.map(bytesOf));
    await waitStable(holder.pacs.url, STUDY_FILES.length);
  });
  after(async () => {
    await holder.pacs?.stop();
  });
  return holder;
}

/** Each CR/DX image has exactly one result SR and one heatmap, and nothing else has any. */
async function assertExactlyOnePerImage(client, label) {
  const images = await radiographs(client);
  const srs = new Map();
  for (const { content } of await resultSrs(client)) srs.set(content.source.sopInstanceUID, (srs.get(content.source.sopInstanceUID) ?? 0) + 1);
  for (const image of images) assert.equal(srs.get(image.sop), 1, `${label}: image ${image.sop} has ${srs.get(image.sop) ?? 0} result SRs`);
  assert.equal([...srs.values()].reduce((a, b) => a + b, 0), images.length, `${label}: results for images that are not in the PACS`);
  assert.equal((await heatmaps(client)).length, images.length, `${label}: one heatmap per image`);
  return images;
}

/** A copy of a demo image with new UIDs (its study's, when `study` is given) and `change` applied to its header. */
function variant(change = () => undefined, study = undefined) {
  const { DicomMessage, DicomMetaDictionary } = dcmjs.data;
  const message = DicomMessage.readFile(bytesOf(STUDY_FILES[0]));
  const ds = DicomMetaDictionary.naturalizeDataset(message.dict);
  ds.StudyInstanceUID = study?.study ?? DicomMetaDictionary.uid();
  ds.SeriesInstanceUID = study?.series ?? DicomMetaDictionary.uid();
  ds.SOPInstanceUID = DicomMetaDictionary.uid();
  change(ds);
  message.dict = DicomMetaDictionary.denaturalizeDataset(ds);
  message.meta['00020003'].Value = [ds.SOPInstanceUID];
  return { bytes: message.write(), job: { type: 'image', study: ds.StudyInstanceUID, series: ds.SeriesInstanceUID, sop: ds.SOPInstanceUID } };
}

const workerArgs = (pacs, broker, extra = []) => ['--pacs', pacs.dicomWebUrl, '--broker', broker.url, '--threads', '1', ...extra];
const feederArgs = (pacs, broker, extra = []) => ['--orthanc', pacs.url, '--broker', broker.url, ...extra];

describe('four workers on one queue', () => {
  const demo = smallPacs();
  const rabbit = demoBroker();

  let fedAt;
  test('the feeder publishes one job per stable study, with confirms, and stores its position in the broker', async () => {
    const fed = await runFeeder(feederArgs(demo.pacs, rabbit.broker, ['--once']));
    assert.equal(fed.code, 0, fed.stderr);
    assert.deepEqual(of(fed.events, 'feeder-position')[0], { ...of(fed.events, 'feeder-position')[0], position: 0, stored: false });
    assert.equal(of(fed.events, 'fed').reduce((n, e) => n + e.studies, 0), STUDY_FILES.length);
    fedAt = of(fed.events, 'stopped')[0].position;
    assert.ok(fedAt > 0);
  });

  test('4 workers drain the backlog; one killed (SIGKILL) in the middle of a job: the job is redelivered and every image has exactly one SR', async () => {
    const workers = [0, 1, 2, 3].map(() => startWorker(workerArgs(demo.pacs, rabbit.broker, ['--exit-when-idle', '10'])));
    // The first image any worker starts (inline in its study job: each demo study holds one): that worker is killed in the middle of it.
    const victimIndex = await Promise.any(workers.map((w, i) => w.waitFor(e => e.event === 'expanded' && e.inline, 180_000).then(() => i)));
    const victim = workers[victimIndex];
    const job = of(victim.events, 'expanded').find(e => e.inline);
    victim.child.kill('SIGKILL');
    assert.equal((await victim.exited).signal, 'SIGKILL');
    const others = workers.filter(w => w !== victim);
    const results = await Promise.all(others.map(w => w.exited));
    for (const [i, { code }] of results.entries()) assert.equal(code, 0, others[i].stderr.join(''));
    // The killed worker's study job came back to another worker, its attempt counted by the
    // broker, and was published as an image job carrying that try.
    const again = others.flatMap(w => of(w.events, 'job')).filter(e => e.study === job.study);
    assert.ok(again.some(e => e.job === 'study' && e.attempt >= 2), `the study job of ${job.study} was not redelivered: ${JSON.stringify(again)}`);
    assert.ok(
      again.some(e => e.job === 'image' && e.sop === job.inline && e.earlier === 1 && e.attempt >= 2),
      `the redelivered study job did not become an image job counting the try: ${JSON.stringify(again)}`,
    );
    assert.ok(others.filter(w => of(w.events, 'stored').length > 0).length >= 2, 'the work was shared');
    const images = await assertExactlyOnePerImage(demo.pacs.client, 'after the drain');
    assert.equal(images.length, STUDY_FILES.length);
    assert.deepEqual(await takeAll(rabbit.broker.url, QUEUES.dead), [], 'nothing dead-lettered');
  });

  test('the feeder restarted publishes only what changed since its position: no image is scored twice', async () => {
    const fed = await runFeeder(feederArgs(demo.pacs, rabbit.broker, ['--once']));
    assert.equal(fed.code, 0, fed.stderr);
    assert.equal(of(fed.events, 'feeder-position')[0].position, fedAt, 'it starts where the last run stopped');
    // The studies the workers wrote results into became stable again; nothing else is published.
    assert.ok(of(fed.events, 'fed').reduce((n, e) => n + e.studies, 0) <= STUDY_FILES.length);
    const worker = startWorker(workerArgs(demo.pacs, rabbit.broker, ['--exit-when-idle', '5']));
    assert.equal((await worker.exited).code, 0, worker.stderr.join(''));
    assert.deepEqual(of(worker.events, 'scored'), [], 'nothing scored twice');
    assert.ok(of(worker.events, 'expanded').every(e => e.images === 0));
    await assertExactlyOnePerImage(demo.pacs.client, 'after the feeder restart');
    // And a third run with nothing new publishes nothing at all.
    const third = await runFeeder(feederArgs(demo.pacs, rabbit.broker, ['--once']));
    assert.equal(third.code, 0, third.stderr);
    assert.deepEqual(of(third.events, 'fed'), []);
  });
});

describe('the broker restarted mid-run', () => {
  const demo = smallPacs();
  const rabbit = demoBroker();

  test('RabbitMQ killed (SIGKILL) and restarted while workers score: nothing is lost, every image has exactly one SR', async () => {
    const fed = await runFeeder(feederArgs(demo.pacs, rabbit.broker, ['--once']));
    assert.equal(fed.code, 0, fed.stderr);
    const workers = [0, 1].map(() => startWorker(workerArgs(demo.pacs, rabbit.broker, ['--exit-when-idle', '15'])));
    // Both connected before the broker goes: a worker still starting when it dies connects only
    // once (since a study's one image is scored in its study job, the first SR comes sooner).
    await Promise.all(workers.map(w => w.waitFor(e => e.event === 'consuming', 180_000)));
    await Promise.any(workers.map(w => w.waitFor(e => e.event === 'stored', 180_000)));
    await rabbit.broker.kill();
    await Promise.all(workers.map(w => w.waitFor(e => e.event === 'broker-lost' || e.event === 'broker-unreachable', 60_000)));
    await rabbit.broker.restart();
    const results = await Promise.all(workers.map(w => w.exited));
    for (const [i, { code }] of results.entries()) assert.equal(code, 0, workers[i].stderr.join(''));
    assert.ok(workers.every(w => of(w.events, 'consuming').length >= 2), 'each worker reconnected');
    await assertExactlyOnePerImage(demo.pacs.client, 'after the broker restart');
  });
});

describe('one image scored inside its study job', () => {
  const demo = smallPacs();
  const rabbit = demoBroker();
  const declareQueues = async () => {
    const declare = startWorker(workerArgs(demo.pacs, rabbit.broker, ['--max-attempts', '2', '--exit-when-idle', '1']));
    assert.equal((await declare.exited).code, 0, declare.stderr.join(''));
  };

  test('a single-image study is scored in its study job, exactly once: no image job, one SR per image', async () => {
    await declareQueues();
    const images = await radiographs(demo.pacs.client);
    await publishJobs(rabbit.broker.url, images.map(i => ({ type: 'study', study: i.study })));
    const worker = startWorker(workerArgs(demo.pacs, rabbit.broker, ['--max-attempts', '2', '--exit-when-idle', '4']));
    assert.equal((await worker.exited).code, 0, worker.stderr.join(''));
    assert.deepEqual(of(worker.events, 'job').filter(e => e.job === 'image'), [], 'no image job');
    assert.deepEqual(of(worker.events, 'expanded').map(e => e.inline).sort(), images.map(i => i.sop).sort());
    assert.deepEqual(of(worker.events, 'stored').map(e => e.sop).sort(), images.map(i => i.sop).sort());
    await assertExactlyOnePerImage(demo.pacs.client, 'after the inline drain');
    // The same study jobs again (a feeder that re-publishes): every image is found done, nothing scored.
    await publishJobs(rabbit.broker.url, images.map(i => ({ type: 'study', study: i.study })));
    const again = startWorker(workerArgs(demo.pacs, rabbit.broker, ['--max-attempts', '2', '--exit-when-idle', '4']));
    assert.equal((await again.exited).code, 0, again.stderr.join(''));
    assert.deepEqual(of(again.events, 'scored'), []);
    assert.ok(of(again.events, 'expanded').every(e => e.images === 0 && !e.inline));
    await assertExactlyOnePerImage(demo.pacs.client, 'after the study jobs came again');
    assert.deepEqual(await takeAll(rabbit.broker.url, QUEUES.dead), [], 'nothing dead-lettered');
  });

  test('a study job whose worker died on its image comes back as an image job carrying the try: the image is tried --max-attempts times in all, then dead-lettered', async () => {
    const poison = variant();
    await demo.pacs.client.store([poison.bytes]);
    await publishJobs(rabbit.broker.url, [{ type: 'study', study: poison.job.study }]);
    // 1st try: inline, in the study job's first delivery.
    const first = startWorker(workerArgs(demo.pacs, rabbit.broker, ['--max-attempts', '2']));
    await first.waitFor(e => e.event === 'expanded' && e.inline === poison.job.sop, 120_000);
    first.child.kill('SIGKILL');
    await first.exited;
    // 2nd try: the study job redelivered is expanded into an image job that counts the first.
    // The image job is a retried image: the worker scores it alone, once the study job is acked.
    const second = startWorker(workerArgs(demo.pacs, rabbit.broker, ['--max-attempts', '2']));
    await second.waitFor(e => e.event === 'alone' && e.sop === poison.job.sop, 120_000);
    const imageJob = of(second.events, 'job').find(e => e.sop === poison.job.sop);
    second.child.kill('SIGKILL');
    await second.exited;
    assert.deepEqual(of(second.events, 'job')[0], { ...of(second.events, 'job')[0], job: 'study', study: poison.job.study, attempt: 2 });
    assert.deepEqual(of(second.events, 'expanded').map(e => [e.images, e.inline]), [[1, undefined]]);
    assert.deepEqual([imageJob.attempt, imageJob.earlier], [2, 1]);
    // Its second delivery would be a 3rd try: dead-lettered untouched.
    const third = startWorker(workerArgs(demo.pacs, rabbit.broker, ['--max-attempts', '2', '--exit-when-idle', '4']));
    assert.equal((await third.exited).code, 0, third.stderr.join(''));
    assert.deepEqual(of(third.events, 'attempts-spent').map(e => [e.sop, e.attempt]), [[poison.job.sop, 3]]);
    assert.deepEqual(of(third.events, 'scored'), []);
    const dead = await takeAll(rabbit.broker.url, QUEUES.dead);
    assert.deepEqual(dead.map(d => [d.messageId, d.job.earlier]), [[poison.job.sop, 1]]);
    assert.equal((await resultSrs(demo.pacs.client)).filter(r => r.content.source.sopInstanceUID === poison.job.sop).length, 0);
  });

  test('a study of two images is still expanded into two image jobs, each scored once', async () => {
    const one = variant();
    const two = variant(undefined, one.job);
    await demo.pacs.client.store([one.bytes, two.bytes]);
    await publishJobs(rabbit.broker.url, [{ type: 'study', study: one.job.study }]);
    const worker = startWorker(workerArgs(demo.pacs, rabbit.broker, ['--max-attempts', '2', '--exit-when-idle', '4']));
    assert.equal((await worker.exited).code, 0, worker.stderr.join(''));
    assert.deepEqual(of(worker.events, 'expanded').map(e => [e.images, e.inline]), [[2, undefined]]);
    const imageJobs = of(worker.events, 'job').filter(e => e.job === 'image');
    assert.deepEqual(imageJobs.map(e => [e.sop, e.attempt, e.earlier]).sort(), [[one.job.sop, 1, undefined], [two.job.sop, 1, undefined]].sort());
    assert.deepEqual(of(worker.events, 'stored').map(e => e.sop).sort(), [one.job.sop, two.job.sop].sort());
    const srs = (await resultSrs(demo.pacs.client)).map(r => r.content.source.sopInstanceUID).filter(sop => sop === one.job.sop || sop === two.job.sop);
    assert.deepEqual(srs.sort(), [one.job.sop, two.job.sop].sort());
  });
});

describe('no poison image', () => {
  const demo = smallPacs();
  const poisoned = [];
  /** A worker declares the queues (with --max-attempts 2) and leaves; jobs then go straight in. */
  const declareQueues = async () => {
    const declare = startWorker(workerArgs(demo.pacs, rabbit.broker, ['--max-attempts', '2', '--exit-when-idle', '1']));
    assert.equal((await declare.exited).code, 0, declare.stderr.join(''));
  };
  const rabbit = demoBroker();
  const temp = mkdtempSync(join(tmpdir(), 'chestaid-poison-'));
  after(() => rmSync(temp, { recursive: true, force: true }));

  test('a multi-frame image and one of 20000 x 20000 pixels are dead-lettered from their metadata, their pixels never fetched', async () => {
    const frames = variant(ds => (ds.NumberOfFrames = '40'));
    const huge = variant(ds => {
      ds.Rows = 20000;
      ds.Columns = 20000;
    });
    poisoned.push(frames.job.sop, huge.job.sop);
    await demo.pacs.client.store([frames.bytes, huge.bytes]);
    await declareQueues();
    await publishJobs(rabbit.broker.url, [frames.job, huge.job]);
    const worker = startWorker(workerArgs(demo.pacs, rabbit.broker, ['--max-attempts', '2', '--exit-when-idle', '5']));
    assert.equal((await worker.exited).code, 0, worker.stderr.join(''));
    const failed = of(worker.events, 'failed');
    assert.deepEqual(failed.map(e => [e.sop, e.stage, e.kind]).sort(), [[frames.job.sop, 'metadata', 'bad-image'], [huge.job.sop, 'metadata', 'bad-image']].sort());
    assert.match(failed.find(e => e.sop === frames.job.sop).error, /40 frames/);
    assert.match(failed.find(e => e.sop === huge.job.sop).error, /20000 x 20000 pixels/);
    const dead = await takeAll(rabbit.broker.url, QUEUES.dead);
    assert.deepEqual(dead.map(d => d.messageId).sort(), [frames.job.sop, huge.job.sop].sort());
  });

  test('an image that kills its worker every time (as the OOM killer would) is dead-lettered after --max-attempts deliveries, never taken again', async () => {
    const image = (await radiographs(demo.pacs.client)).find(r => !poisoned.includes(r.sop));
    const job = { type: 'image', study: image.study, series: image.series, sop: image.sop };
    await declareQueues();
    await publishJobs(rabbit.broker.url, [job]);
    const attempts = [];
    for (let i = 0; i < 2; i++) {
      const worker = startWorker(workerArgs(demo.pacs, rabbit.broker, ['--max-attempts', '2']));
      const started = await worker.waitFor(e => e.event === 'job' && e.sop === image.sop, 120_000);
      attempts.push(started.attempt);
      worker.child.kill('SIGKILL');
      await worker.exited;
    }
    assert.deepEqual(attempts, [1, 2], 'the broker counted each killed delivery');
    const after = startWorker(workerArgs(demo.pacs, rabbit.broker, ['--max-attempts', '2', '--exit-when-idle', '4']));
    assert.equal((await after.exited).code, 0, after.stderr.join(''));
    assert.deepEqual(of(after.events, 'job').filter(e => e.sop === image.sop), [], 'never delivered again');
    const dead = await takeAll(rabbit.broker.url, QUEUES.dead);
    assert.equal(dead.length, 1);
    assert.equal(dead[0].messageId, image.sop);
    assert.equal(dead[0].headers['x-first-death-reason'], 'delivery_limit');
  });

  test('two jobs in hand (--prefetch 2): a retried image is scored alone, so a worker killed on it again charges no other job; the other is stored, the killer dead-lettered', async () => {
    const killer = variant();
    const other = variant();
    await demo.pacs.client.store([killer.bytes, other.bytes]);
    // The killer's pixels never come: a worker is killed while it waits for them (as the OOM killer would kill it on them).
    let reached = () => undefined;
    const proxy = await faultyProxy(demo.pacs.url, path => (path.endsWith(`/instances/${killer.job.sop}`) ? 'stall-instance' : 'none'), { onStall: () => reached() });
    try {
      await declareQueues();
      await publishJobs(rabbit.broker.url, [killer.job, other.job]);
      const url = `http://127.0.0.1:${proxy.address().port}/dicom-web`;
      const args = ['--pacs', url, '--broker', rabbit.broker.url, '--threads', '1', '--max-attempts', '2', '--prefetch', '2', '--exit-when-idle', '4', '--retries', '0'];
      const workers = [];
      for (let round = 0; round < 5; round++) {
        const stalled = new Promise(resolve => (reached = resolve));
        const worker = startWorker(args);
        workers.push(worker);
        const how = await Promise.race([stalled.then(() => 'stalled'), worker.exited.then(() => 'drained')]);
        if (how === 'drained') break;
        worker.child.kill('SIGKILL');
        await worker.exited;
      }
      const last = workers.at(-1);
      assert.equal((await last.exited).code, 0, `the last worker drained the queue: ${last.stderr.join('')}`);
      const events = name => workers.flatMap(w => of(w.events, name));
      // The first worker held both jobs when it died (first deliveries): one try each. Then the killer was tried alone.
      assert.deepEqual(of(workers[0].events, 'job').map(e => e.sop).sort(), [killer.job.sop, other.job.sop].sort());
      assert.deepEqual(events('stored').map(e => e.sop), [other.job.sop], 'the other job was stored');
      const dead = await takeAll(rabbit.broker.url, QUEUES.dead);
      assert.deepEqual(dead.map(d => d.messageId), [killer.job.sop], 'only the killer was dead-lettered');
      assert.ok(events('job').filter(e => e.sop === other.job.sop).every(e => e.attempt <= 2), 'the other job never reached its last try');
      assert.ok(events('alone').some(e => e.sop === killer.job.sop), 'the retried killer was scored as the only job in hand');
      assert.equal((await resultSrs(demo.pacs.client)).filter(r => r.content.source.sopInstanceUID === other.job.sop).length, 1);
    } finally {
      proxy.closeAllConnections();
      proxy.close();
    }
  });

  test('SIGTERM with a PACS request that never ends: the worker stops within --grace and the job goes back to the queue, done by the next worker', async () => {
    const image = (await radiographs(demo.pacs.client)).filter(r => !poisoned.includes(r.sop)).at(-1);
    const job = { type: 'image', study: image.study, series: image.series, sop: image.sop };
    let stall = 'stall-instance';
    let reached;
    const stalled = new Promise(resolve => (reached = resolve));
    const proxy = await faultyProxy(demo.pacs.url, () => stall, { onStall: reached });
    try {
      await declareQueues();
      await publishJobs(rabbit.broker.url, [job]);
      const url = `http://127.0.0.1:${proxy.address().port}/dicom-web`;
      const worker = startWorker(['--pacs', url, '--broker', rabbit.broker.url, '--threads', '1', '--max-attempts', '2', '--grace', '2', '--request-timeout', '120', '--retries', '0']);
      await stalled;
      const signalled = Date.now();
      worker.child.kill('SIGTERM');
      assert.equal((await worker.exited).code, 0, worker.stderr.join(''));
      const took = Date.now() - signalled;
      assert.ok(took < 20_000, `stopped ${took} ms after SIGTERM`);
      assert.equal(of(worker.events, 'grace-over').length, 1);
      stall = 'none';
      const next = startWorker(workerArgs(demo.pacs, rabbit.broker, ['--max-attempts', '2', '--exit-when-idle', '4']));
      assert.equal((await next.exited).code, 0, next.stderr.join(''));
      assert.deepEqual(of(next.events, 'job').map(e => [e.sop, e.attempt]), [[image.sop, 2]]);
      assert.deepEqual(of(next.events, 'stored').map(e => e.sop), [image.sop]);
    } finally {
      proxy.closeAllConnections();
      proxy.close();
    }
  });
});
