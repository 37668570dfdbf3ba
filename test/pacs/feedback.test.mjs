// The radiologist's feedback in a real Orthanc (issue 8 item 1): the viewer's FeedbackBook with
// the PACS feedback sink (@chestaid/core's dicomweb/feedback.ts, dcmjs builder) writes a feedback SR into
// the image's study that reads back with readFeedbackSr, references the image and the result SR
// of that image, model and calibration; a changed label is a second SR (history kept). Through the
// feedback outbox: a label recorded while Orthanc is down is kept and lands once it is back, and a
// delivery sent again (its first answer lost) leaves one SR, not two.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { URL } from 'node:url';
import { requireBuilt } from '../../scripts/node-build.mjs';
import { demoStudyFiles, loadDemoStudies, startOrthanc } from './orthanc.mjs';

const { PacsResults } = requireBuilt('@chestaid/core');
const { dicomCodec, feedbackCodec } = requireBuilt('@chestaid/core');
const { pacsFeedbackSink } = requireBuilt('@chestaid/core');
const { FeedbackBook, FeedbackOutbox } = requireBuilt('@chestaid/core');
const { MemoryFeedbackStore } = requireBuilt('@chestaid/core');
const dicom = requireBuilt('@chestaid/core');
const manifest = JSON.parse(readFileSync(new URL('../../models/chestaid-demo/manifest.json', import.meta.url), 'utf8'));
const [first] = JSON.parse(readFileSync(new URL('../demo-studies/index.json', import.meta.url), 'utf8')).studies;
const SHA = manifest.onnx.sha256;
/** The calibration identity results carry (core withCalibrationIdentity), set before the tests. */
let VERSION;
let stamped;

let pacs;
let results;
let saved;

const image = { studyInstanceUID: first.StudyInstanceUID, seriesInstanceUID: first.SeriesInstanceUID, sopInstanceUID: first.SOPInstanceUID };

before(async () => {
  pacs = await startOrthanc();
  await loadDemoStudies(pacs.client, demoStudyFiles().filter(file => file.includes('demo-studies')));
  const header = await pacs.client.retrieveInstanceMetadata(image.studyInstanceUID, image.seriesInstanceUID, image.sopInstanceUID);
  stamped = await dicom.withCalibrationIdentity(dicom.parseManifest(manifest));
  VERSION = stamped.calibration.version;
  const trust = { modelSha256: SHA, deviceUID: manifest.model.device_uid, calibrationOf: id => (id === VERSION ? stamped : null) };
  results = new PacsResults({ client: pacs.client, codec: dicomCodec, trust: () => trust });
  const threshold = manifest.thresholds.clinical.value;
  const score = dicom.calibrate(1.4, stamped.calibration);
  saved = await results.save({
    sourceHeader: header,
    source: { ...image, sopClassUID: header['00080016'].Value[0] },
    result: {
      score,
      logit: 1.4,
      threshold,
      decision: score >= threshold ? 'above' : 'below',
      calibration: { method: manifest.calibration.selected, version: VERSION },
      model: { id: manifest.model.id, version: manifest.model.version, sha256: SHA, deviceUID: manifest.model.device_uid },
      observedAt: '2026-11-26T12:00:00.000Z',
    },
    trainedOnSyntheticData: true,
  });
  assert.equal(saved.status, 'saved');
});
after(async () => {
  await pacs?.stop();
});

function book(clock, store = new MemoryFeedbackStore()) {
  const sink = pacsFeedbackSink({
    results,
    client: pacs.client,
    instanceMetadata: (study, series, sop) => pacs.client.retrieveInstanceMetadata(study, series, sop),
    codec: feedbackCodec,
    activeDataSource: () => 'pacs',
    pacsDataSourceName: 'pacs',
    organization: 'Test Hospital',
  });
  const outbox = new FeedbackOutbox({ store, sink, clock });
  return Object.assign(new FeedbackBook({ store, outbox, clock }), { store });
}

const input = label => ({
  ...image,
  modelSha256: SHA,
  calibrationVersion: VERSION,
  score: 0.8,
  logit: 1.4,
  decision: { above: true, threshold: manifest.thresholds.clinical.value },
  label,
  reader: 'Doe^Jane',
});

async function feedbackInPacs() {
  const found = [];
  for (const row of await pacs.client.searchSeries(image.studyInstanceUID, { Modality: 'SR' })) {
    const series = row['0020000E'].Value[0];
    for (const instance of await pacs.client.retrieveSeriesMetadata(image.studyInstanceUID, series)) {
      if (dicom.isChestAidFeedbackSr(instance)) found.push(dicom.readFeedbackSr(instance));
    }
  }
  return found.sort((a, b) => (a.recordedAt < b.recordedAt ? -1 : 1));
}

test('recorded feedback is stored in the PACS as a feedback SR referencing the image and the result SR', async () => {
  const feedback = book(() => new Date('2026-11-26T13:00:00.000Z'));
  const { delivery } = await feedback.record({ ...input('pneumonia'), comment: 'left lower lobe' });
  assert.equal(delivery.state, 'sent', delivery.lastError);
  const [read] = await feedbackInPacs();
  assert.equal(read.groundTruth, 'pneumonia');
  assert.equal(read.comment, 'left lower lobe');
  assert.equal(read.source.sopInstanceUID, image.sopInstanceUID);
  assert.equal(read.source.studyInstanceUID, image.studyInstanceUID);
  assert.equal(read.result.sopInstanceUID, saved.srSopInstanceUID);
  assert.equal(read.reader.name, 'Doe^Jane');
  assert.equal(read.reader.organization, 'Test Hospital');
  assert.equal(read.model.sha256, SHA);
  assert.equal(read.calibration.version, VERSION);
  assert.equal(read.recordedAt, '2026-11-26T13:00:00.000Z');
});

test('changing the label writes a second feedback SR; the first stays as history', async () => {
  const feedback = book(() => new Date('2026-11-26T13:05:00.000Z'));
  assert.equal((await feedback.record(input('normal'))).delivery.state, 'sent');
  const all = await feedbackInPacs();
  assert.deepEqual(all.map(f => [f.groundTruth, f.recordedAt]), [
    ['pneumonia', '2026-11-26T13:00:00.000Z'],
    ['normal', '2026-11-26T13:05:00.000Z'],
  ]);
  assert.ok(all.every(f => f.result.sopInstanceUID === saved.srSopInstanceUID));
});

test('feedback on a result the PACS does not hold is kept in the browser and not sent', async () => {
  const feedback = book(() => new Date('2026-11-26T13:10:00.000Z'));
  const { delivery } = await feedback.record({ ...input('normal'), calibrationVersion: 'not-saved' });
  assert.equal(delivery.state, 'refused');
  assert.match(delivery.lastError, /Save to PACS first/);
  assert.equal((await feedback.listFeedback()).length, 1);
  assert.equal((await feedbackInPacs()).length, 2);
});

test('a delivery sent again after it landed (its answer lost) leaves one SR in the PACS', async () => {
  const feedback = book(() => new Date('2026-11-26T13:20:00.000Z'));
  const { entry, delivery } = await feedback.record(input('unsure'));
  assert.equal(delivery.state, 'sent');
  // As if the answer had been lost: the outbox still holds it as pending and sends it again.
  await feedback.store.putDelivery({ ...delivery, state: 'pending', nextAttemptAt: delivery.queuedAt, sentAt: null });
  assert.equal((await feedback.outbox.flush({ all: true })).pending, 0);
  const unsure = (await feedbackInPacs()).filter(f => f.recordedAt === entry.at);
  assert.equal(unsure.length, 1, 'one SR for the entry');
});

test('a label recorded while Orthanc is down is kept, pending, and lands once Orthanc is back', async () => {
  const feedback = book(() => new Date('2026-11-26T13:30:00.000Z'));
  await pacs.kill();
  let entry;
  try {
    const recorded = await feedback.record(input('pneumonia'));
    entry = recorded.entry;
    assert.equal(recorded.delivery.state, 'pending');
    assert.match(recorded.delivery.lastError, /unreachable/i);
    assert.equal((await feedback.outbox.flush({ all: true })).pending, 1, 'still pending while the PACS is down');
  } finally {
    await pacs.restart();
  }
  const summary = await feedback.outbox.flush({ all: true });
  assert.equal(summary.pending, 0);
  assert.equal(summary.sent, 1);
  const landed = (await feedbackInPacs()).filter(f => f.recordedAt === entry.at);
  assert.equal(landed.length, 1);
  assert.equal(landed[0].groundTruth, 'pneumonia');
});
