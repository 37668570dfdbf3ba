// The radiologist's feedback in a real Orthanc (issue 8 item 1): the viewer's FeedbackBook with
// the PACS feedback sink (@chestaid/core's dicomweb/feedback.ts, dcmjs builder) writes a feedback SR into
// the image's study that reads back with readFeedbackSr, references the image and the result SR
// of that image, model and calibration; a changed label is a second SR (history kept).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { URL } from 'node:url';
import { requireBuilt } from '../../scripts/node-build.mjs';
import { demoStudyFiles, loadDemoStudies, startOrthanc } from './orthanc.mjs';

const { PacsResults } = requireBuilt('@chestaid/core');
const { dicomCodec, feedbackCodec } = requireBuilt('@chestaid/core');
const { pacsFeedbackSink } = requireBuilt('@chestaid/core');
const { FeedbackBook } = requireBuilt('@chestaid/core');
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

function book(clock) {
  const sink = pacsFeedbackSink({
    results,
    client: pacs.client,
    instanceMetadata: (study, series, sop) => pacs.client.retrieveInstanceMetadata(study, series, sop),
    codec: feedbackCodec,
    activeDataSource: () => 'pacs',
    pacsDataSourceName: 'pacs',
    organization: 'Test Hospital',
  });
  return new FeedbackBook({ store: new MemoryFeedbackStore(), sink, clock });
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
  const { sinkError } = await feedback.record({ ...input('pneumonia'), comment: 'left lower lobe' });
  assert.equal(sinkError, null);
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
  assert.equal((await feedback.record(input('normal'))).sinkError, null);
  const all = await feedbackInPacs();
  assert.deepEqual(all.map(f => [f.groundTruth, f.recordedAt]), [
    ['pneumonia', '2026-11-26T13:00:00.000Z'],
    ['normal', '2026-11-26T13:05:00.000Z'],
  ]);
  assert.ok(all.every(f => f.result.sopInstanceUID === saved.srSopInstanceUID));
});

test('feedback on a result the PACS does not hold is kept in the browser and not sent', async () => {
  const feedback = book(() => new Date('2026-11-26T13:10:00.000Z'));
  const { sinkError } = await feedback.record({ ...input('normal'), calibrationVersion: 'not-saved' });
  assert.match(sinkError, /Save to PACS first/);
  assert.equal((await feedback.listFeedback()).length, 1);
  assert.equal((await feedbackInPacs()).length, 2);
});
