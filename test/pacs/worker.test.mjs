/* global fetch, setTimeout */
// The triage worker against a real Orthanc: it scores the demo studies once (one result SR per
// CR/DX image, its content the in-process core result), a second pass writes nothing, the CT study
// is skipped with its reason, a corrupt image is dead-lettered, SIGTERM stops it cleanly, a
// tampered model stops it with exit code 3, an Orthanc killed mid-batch and restarted ends with
// every image scored exactly once, and two sharded workers split the work without overlap.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import dcmjs from 'dcmjs';

import { bytesOf, demoPacs, heatmaps, inventory, MANIFEST, of, radiographs, requireBuilt, resultSrs, ROOT, runWorker, startWorker } from './workerHarness.mjs';

const { DicomMessage, DicomMetaDictionary, DicomDict } = dcmjs.data;
const EXIT = { ok: 0, config: 2, model: 3, itemsFailed: 5 };
const temp = mkdtempSync(join(tmpdir(), 'chestaid-worker-test-'));
after(() => rmSync(temp, { recursive: true, force: true }));

/** Per source image, how many result SRs the PACS holds. */
async function resultsPerImage(client) {
  const counts = new Map();
  for (const { content } of await resultSrs(client)) counts.set(content.source.sopInstanceUID, (counts.get(content.source.sopInstanceUID) ?? 0) + 1);
  return counts;
}

/** One result SR and one heatmap per CR/DX image, each pointing at its image, and nothing else. */
async function assertEachScoredOnce(client, label) {
  const images = await radiographs(client);
  const counts = await resultsPerImage(client);
  for (const image of images) assert.equal(counts.get(image.sop), 1, `${label}: image ${image.sop} has ${counts.get(image.sop) ?? 0} result SRs`);
  assert.equal([...counts.values()].reduce((a, b) => a + b, 0), images.length, `${label}: results for images that are not in the PACS`);
  const maps = await heatmaps(client);
  const mapped = new Map(images.map(image => [image.sop, []]));
  for (const { reference } of maps) mapped.get(reference.source.sopInstanceUID)?.push(reference);
  for (const image of images) {
    const references = mapped.get(image.sop);
    assert.equal(references.length, 1, `${label}: image ${image.sop} has ${references.length} heatmaps`);
    assert.equal(references[0].source.seriesInstanceUID, image.series);
    assert.equal(references[0].source.studyInstanceUID, image.study);
  }
  assert.equal(maps.length, images.length, `${label}: heatmaps for images that are not in the PACS`);
  return images;
}

describe('one worker on one PACS', () => {
  const demo = demoPacs();
  let model;
  const state = join(temp, 'state-a.json');
  before(async () => {
    model = await requireBuilt('@chestaid/worker').loadModel(MANIFEST, { threads: 1 });
  });
  after(async () => {
    await model?.classifier.release();
  });

  test('SIGTERM in the middle of a batch stops the worker with exit code 0, every result it stored complete', async () => {
    const worker = startWorker(['--pacs', demo.pacs.dicomWebUrl, '--state', state, '--interval', '60']);
    await worker.waitFor(e => e.event === 'stored');
    worker.child.kill('SIGTERM');
    const { code } = await worker.exited;
    assert.equal(code, EXIT.ok, worker.stderr.join(''));
    assert.equal(of(worker.events, 'stopping').length, 1);
    assert.equal(worker.events.at(-1).event, 'stopped');
    const stored = of(worker.events, 'stored').length;
    const images = await radiographs(demo.pacs.client);
    assert.ok(stored >= 1 && stored < images.length, `stopped after ${stored} of ${images.length} images`);
    assert.equal((await resultSrs(demo.pacs.client)).length, stored, 'an SR in the PACS for each stored event, and no other');
    assert.equal((await heatmaps(demo.pacs.client)).length, stored, 'a heatmap for each stored event: written before its SR');
  });

  let firstPass;
  test('a pass scores every CR/DX image once; each SR holds the score the core computes in process', async () => {
    firstPass = await runWorker(['--pacs', demo.pacs.dicomWebUrl, '--state', state, '--once']);
    assert.equal(firstPass.code, EXIT.ok, firstPass.stderr);
    const images = await assertEachScoredOnce(demo.pacs.client, 'after the pass');
    assert.ok(images.length >= 26, `${images.length} radiographs`);

    const { analyze } = requireBuilt('@chestaid/core');
    const { readPart10 } = requireBuilt('@chestaid/worker');
    const bySource = new Map((await resultSrs(demo.pacs.client)).map(r => [r.content.source.sopInstanceUID, r.content]));
    for (const image of images) {
      const part10 = await demo.pacs.client.retrieveInstance(image.study, image.series, image.sop);
      const decoded = readPart10(part10, image.sop);
      const expected = await analyze(decoded.attributes, decoded.pixels, model.manifest, model.classifier);
      const content = bySource.get(image.sop);
      assert.ok(Math.abs(content.logit - expected.logit) <= 1e-4, `${image.sop}: SR logit ${content.logit}, core ${expected.logit}`);
      assert.ok(Math.abs(content.score - expected.probability) <= 1e-6, `${image.sop}: SR score ${content.score}, core ${expected.probability}`);
      assert.equal(content.decision, expected.decision.above ? 'above' : 'below');
      assert.equal(content.threshold, model.manifest.thresholds.clinical.value);
      assert.equal(content.model.sha256, model.manifest.onnx.sha256);
      assert.equal(content.calibration.version, (await requireBuilt('@chestaid/core').withCalibrationIdentity(model.manifest)).calibration.version);
      assert.equal(content.source.studyInstanceUID, image.study);
      assert.equal(content.source.seriesInstanceUID, image.series);
    }
  });

  test('the CT study is skipped, with the reason in the log', async () => {
    const ct = (await inventory(demo.pacs.client)).filter(r => r.modality === 'CT');
    assert.equal(ct.length, 1);
    const skipped = of(firstPass.events, 'skipped').find(e => e.study === ct[0].study);
    assert.ok(skipped, 'a skipped event for the CT study');
    assert.match(skipped.reason, /CT/);
    assert.match(skipped.reason, /CR\/DX/);
    assert.ok(!(await resultSrs(demo.pacs.client)).some(r => r.content.source.studyInstanceUID === ct[0].study));
  });

  test('a second pass writes nothing, with its state file and without one', async () => {
    const before = (await inventory(demo.pacs.client)).length;
    for (const args of [['--state', state], []]) {
      const again = await runWorker(['--pacs', demo.pacs.dicomWebUrl, '--once', ...args]);
      assert.equal(again.code, EXIT.ok, again.stderr);
      assert.equal(of(again.events, 'stored').length, 0, `stored events with ${args.join(' ') || 'no state'}`);
      assert.equal(of(again.events, 'scored').length, 0);
    }
    assert.equal((await inventory(demo.pacs.client)).length, before);
  });

  test('a corrupt radiograph is dead-lettered with its reason, the pass goes on, and the exit code says so', async () => {
    const source = bytesOf(join(ROOT, 'test', 'demo-studies', 'dicom', 'study-01.dcm'));
    const message = DicomMessage.readFile(source);
    const ds = DicomMetaDictionary.naturalizeDataset(message.dict);
    const meta = DicomMetaDictionary.naturalizeDataset(message.meta);
    Object.assign(ds, {
      StudyInstanceUID: '2.25.1111111111111111111111111',
      SeriesInstanceUID: '2.25.1111111111111111111111112',
      SOPInstanceUID: '2.25.1111111111111111111111113',
      PatientID: 'SYNTH-CORRUPT',
      PixelData: [ds.PixelData[0].slice(0, 1000)],
    });
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID;
    const dict = new DicomDict(DicomMetaDictionary.denaturalizeDataset(meta));
    dict.dict = DicomMetaDictionary.denaturalizeDataset(ds);
    await demo.pacs.client.store([dict.write()]);

    const run = await runWorker(['--pacs', demo.pacs.dicomWebUrl, '--state', state, '--once']);
    assert.equal(run.code, EXIT.itemsFailed, run.stderr);
    const failed = of(run.events, 'failed');
    assert.equal(failed.length, 1);
    assert.equal(failed[0].sop, ds.SOPInstanceUID);
    assert.equal(failed[0].kind, 'bad-image');
    assert.match(failed[0].error, /corrupt or truncated/);
    assert.equal(of(run.events, 'dead-lettered').length, 1);
    assert.equal(of(run.events, 'stored').length, 0);
    const saved = JSON.parse(readFileSync(state, 'utf8'));
    assert.equal(Object.values(saved.deadLetter)[0].sopInstanceUID, ds.SOPInstanceUID);

    const next = await runWorker(['--pacs', demo.pacs.dicomWebUrl, '--state', state, '--once']);
    assert.equal(next.code, EXIT.ok, 'a dead-lettered image is not retried');
    assert.equal(of(next.events, 'failed').length, 0);
  });

  test('--since bounds the listing by StudyDate; a bad date is a configuration error (exit 2)', async () => {
    const future = await runWorker(['--pacs', demo.pacs.dicomWebUrl, '--once', '--since', '20990101']);
    assert.equal(future.code, EXIT.ok, future.stderr);
    assert.equal(of(future.events, 'polled')[0].studies, 0);
    const past = await runWorker(['--pacs', demo.pacs.dicomWebUrl, '--once', '--since', '19000101']);
    assert.equal(of(past.events, 'polled')[0].studies, (await demo.pacs.client.searchStudies()).length);
    const bad = await runWorker(['--pacs', demo.pacs.dicomWebUrl, '--once', '--since', '20261399']);
    assert.equal(bad.code, EXIT.config);
    assert.match(of(bad.events, 'bad-config')[0].error, /--since must be a date YYYYMMDD, got "20261399"/);
  });

  test('a tampered or missing model stops the worker with exit code 3, naming the problem', async () => {
    const dir = join(temp, 'tampered');
    rmSync(dir, { recursive: true, force: true });
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir);
    copyFileSync(MANIFEST, join(dir, 'manifest.json'));
    const onnx = readFileSync(join(ROOT, 'models', 'chestaid-demo', 'model.onnx'));
    onnx[onnx.length - 10] ^= 0xff;
    writeFileSync(join(dir, 'model.onnx'), onnx);
    const tampered = await runWorker(['--pacs', demo.pacs.dicomWebUrl, '--once', '--model', join(dir, 'manifest.json')]);
    assert.equal(tampered.code, EXIT.model);
    assert.match(of(tampered.events, 'model-unusable')[0].error, /sha256 [0-9a-f]{64}, but the manifest says 0e5a23a2/);

    rmSync(join(dir, 'model.onnx'));
    const missing = await runWorker(['--pacs', demo.pacs.dicomWebUrl, '--once', '--model', join(dir, 'manifest.json')]);
    assert.equal(missing.code, EXIT.model);
    assert.match(of(missing.events, 'model-unusable')[0].error, /model\.onnx .*cannot be read/);
  });
});

describe('a PACS crash in the middle of a batch', () => {
  const demo = demoPacs();

  test('Orthanc killed (SIGKILL) mid-batch and restarted: every image ends scored exactly once; /healthz is 503 while it is down', async () => {
    const worker = startWorker([
      '--pacs', demo.pacs.dicomWebUrl,
      '--state', join(temp, 'state-crash.json'),
      '--interval', '0.5',
      '--retries', '2', '--retry-base-ms', '100', '--retry-max-ms', '400',
      '--health-port', '0', '--unhealthy-after', '0.3',
    ]);
    const { healthPort } = await worker.waitFor(e => e.event === 'started');
    const health = async () => {
      const response = await fetch(`http://127.0.0.1:${healthPort}/healthz`);
      return { status: response.status, body: await response.json() };
    };
    let stored = 0;
    await worker.waitFor(e => e.event === 'stored' && ++stored >= 5);
    assert.equal((await health()).status, 200);

    await demo.pacs.kill();
    const killedAt = worker.events.length;
    await worker.waitFor(e => e.event === 'pacs-unreachable', 30_000, killedAt);
    await new Promise(resolve => setTimeout(resolve, 600));
    const down = await health();
    assert.equal(down.status, 503, JSON.stringify(down.body));
    assert.equal(down.body.status, 'pacs-unreachable');

    const restartedAt = worker.events.length;
    await demo.pacs.restart();
    await worker.waitFor(e => e.event === 'pass' && e.scored === 0 && e.failed === 0 && !e.stopped, 90_000, restartedAt);
    const up = await health();
    assert.equal(up.status, 200);
    assert.ok(up.body.counts.stored >= 26, JSON.stringify(up.body.counts));

    worker.child.kill('SIGTERM');
    assert.equal((await worker.exited).code, EXIT.ok);
    await assertEachScoredOnce(demo.pacs.client, 'after the crash');
    const srInstances = (await inventory(demo.pacs.client)).filter(r => r.modality === 'SR');
    assert.equal(srInstances.length, (await radiographs(demo.pacs.client)).length, 'no SR instance beyond one per image');
  });
});

describe('several workers on one PACS', () => {
  const demo = demoPacs();

  test('--shard 0/2 and 1/2 run together, split the studies without overlap, and score every image once', async () => {
    const runs = await Promise.all(
      ['0/2', '1/2'].map(shard => runWorker(['--pacs', demo.pacs.dicomWebUrl, '--once', '--shard', shard, '--threads', '1'])),
    );
    for (const run of runs) assert.equal(run.code, EXIT.ok, run.stderr);
    const [a, b] = runs.map(run => new Set(of(run.events, 'stored').map(e => e.study)));
    assert.ok(a.size > 0 && b.size > 0, `shard sizes ${a.size} and ${b.size}`);
    for (const study of a) assert.ok(!b.has(study), `study ${study} was scored by both workers`);
    const polled = runs.map(run => of(run.events, 'polled')[0]);
    assert.equal(polled[0].inShard + polled[1].inShard, polled[0].studies);
    await assertEachScoredOnce(demo.pacs.client, 'after two sharded workers');
  });
});
