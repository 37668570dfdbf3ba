// The viewer's PACS results (@chestaid/core's dicomweb/results.ts with the dicom codec) against a real
// Orthanc: Save to PACS stores the result SR and the heatmap map into the source's study, a second
// save of the same image, model and calibration writes nothing, another calibration is a new
// result, what readers find is what was saved, and an SR planted in Orthanc (even under the derived
// UID, which Orthanc then keeps) is shown unverified while the true result is written beside it.
// The browser path (the panel, the worklist) is test/e2e/pacs.test.mjs's.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { URL } from 'node:url';
import { requireBuilt } from '../../scripts/node-build.mjs';
import { saveInput } from './saveInput.mjs';
import { demoStudyFiles, loadDemoStudies, startOrthanc } from './orthanc.mjs';

const { PacsResults } = requireBuilt('@chestaid/core');
const { dicomCodec } = requireBuilt('@chestaid/core');
const dicom = requireBuilt('@chestaid/core');
const base = dicom.parseManifest(JSON.parse(readFileSync(new URL('../../models/chestaid-demo/manifest.json', import.meta.url), 'utf8')));
const [first] = JSON.parse(readFileSync(new URL('../demo-studies/index.json', import.meta.url), 'utf8')).studies;

let pacs;
let header;
/** The demo manifest as the viewer uses it (its calibration identity stamped), and two more calibrations of its model. */
let manifest;
const calibrations = new Map();
/** What this reader verifies SRs against: the demo model, its device and the calibrations above. */
const trust = () => ({
  modelSha256: manifest.onnx.sha256,
  deviceUID: manifest.model.device_uid,
  calibrationOf: identity => calibrations.get(identity) ?? null,
});

/** The demo model under calibration `name` with clinical threshold `threshold`. */
async function calibration(name, threshold) {
  const variant = await dicom.withCalibrationIdentity({
    ...base,
    calibration: { ...base.calibration, version: name },
    thresholds: { ...base.thresholds, clinical: { ...base.thresholds.clinical, value: threshold } },
  });
  calibrations.set(variant.calibration.version, variant);
  return variant;
}

before(async () => {
  pacs = await startOrthanc();
  await loadDemoStudies(pacs.client, demoStudyFiles().filter(file => file.includes('demo-studies')));
  header = await pacs.client.retrieveInstanceMetadata(first.StudyInstanceUID, first.SeriesInstanceUID, first.SOPInstanceUID);
  manifest = await dicom.withCalibrationIdentity(base);
  calibrations.set(manifest.calibration.version, manifest);
});
after(async () => {
  await pacs?.stop();
});

const source = {
  studyInstanceUID: first.StudyInstanceUID,
  seriesInstanceUID: first.SeriesInstanceUID,
  sopInstanceUID: first.SOPInstanceUID,
  sopClassUID: '1.2.840.10008.5.1.4.1.1.1',
};

/** What Save to PACS writes for `logit` under calibration `m` (the demo one by default). */
function input({ logit = 1.5, m = manifest } = {}) {
  const heatmap = { width: 7, height: 7, data: Float32Array.from({ length: 49 }, (_, i) => i / 48) };
  return saveInput({ manifest, calibrated: m, header, source, logit, heatmap, observedAt: '2026-11-26T12:00:00.000Z' });
}

async function seriesOf(modality) {
  return pacs.client.searchSeries(first.StudyInstanceUID, { Modality: modality });
}

test('Save to PACS stores the SR and the heatmap map in the source study; readers find the saved score', async () => {
  const results = new PacsResults({ client: pacs.client, codec: dicomCodec, trust });
  const saved = await results.save(input());
  assert.equal(saved.status, 'saved');
  assert.equal(saved.heatmapProblem, null);
  assert.ok(saved.heatmapSopInstanceUID, 'a heatmap map was stored');

  const found = await results.resultsOf(first.StudyInstanceUID);
  assert.equal(found.length, 1);
  assert.equal(found[0].srSopInstanceUID, saved.srSopInstanceUID);
  assert.deepEqual(found[0].content.source, source);
  assert.deepEqual(found[0].verdict, { status: 'verified' });
  assert.equal(found[0].content.score, input().result.score);
  assert.equal(found[0].content.model.sha256, manifest.onnx.sha256);

  const maps = [];
  for (const row of await pacs.client.searchSeries(first.StudyInstanceUID)) {
    const uid = row['0020000E'].Value[0];
    for (const instance of await pacs.client.retrieveSeriesMetadata(first.StudyInstanceUID, uid)) {
      if (instance['00080018'].Value[0] === saved.heatmapSopInstanceUID) maps.push(instance);
    }
  }
  assert.equal(maps.length, 1, 'the map is in the source study');
  const reference = dicom.readHeatmapReference(maps[0]);
  assert.equal(reference.source.sopInstanceUID, first.SOPInstanceUID, 'the map references the analyzed image');
});

test('a second save of the same image, model and calibration writes nothing', async () => {
  const results = new PacsResults({ client: pacs.client, codec: dicomCodec, trust });
  const before = (await seriesOf('SR')).length;
  const again = await results.save(input({ logit: 1.5 + 1e-7 }));
  assert.equal(again.status, 'already-saved');
  assert.equal((await seriesOf('SR')).length, before);
  const found = await results.find(source, { modelSha256: manifest.onnx.sha256.toUpperCase(), calibrationVersion: manifest.calibration.version });
  assert.equal(found.content.score, input().result.score, 'the first score stands');
});

test('another calibration version is another result, found under its own key only', async () => {
  const results = new PacsResults({ client: pacs.client, codec: dicomCodec, trust });
  const recal = await calibration('recal-2', 0.2);
  assert.equal((await results.save(input({ m: recal }))).status, 'saved');
  const found = await results.resultsOf(first.StudyInstanceUID);
  assert.deepEqual(found.map(r => r.content.calibration.version).sort(), [manifest.calibration.version, recal.calibration.version].sort());
  assert.ok(found.every(r => r.verdict.status === 'verified'));
  const other = await results.find(source, { modelSha256: manifest.onnx.sha256, calibrationVersion: recal.calibration.version });
  assert.equal(other.content.threshold, 0.2);
});

test('a study the PACS does not hold has no results', async () => {
  const results = new PacsResults({ client: pacs.client, codec: dicomCodec, trust });
  assert.deepEqual(await results.resultsOf('1.2.3.4.5.6.7.8.9'), []);
});

test('two viewers racing past the check both succeed and leave one SR: the UIDs are derived, the PACS keeps one copy', async () => {
  const race = await calibration('race-1', 0.3);
  const a = new PacsResults({ client: pacs.client, codec: dicomCodec, trust });
  const b = new PacsResults({ client: pacs.client, codec: dicomCodec, trust });
  // Both check before either writes: Promise.all starts both QIDO look-ups first.
  const [first_, second] = await Promise.all([a.save(input({ m: race })), b.save(input({ m: race, logit: 1.5 + 1e-6 }))]);
  assert.deepEqual([first_.status, second.status], ['saved', 'saved'], 'neither writer saw the other: a real race');
  assert.equal(first_.srSopInstanceUID, second.srSopInstanceUID);
  const srs = (await a.resultsOf(first.StudyInstanceUID)).filter(r => r.content.calibration.version === race.calibration.version);
  assert.equal(srs.length, 1);
  let instances = 0;
  for (const row of await seriesOf('SR')) {
    for (const instance of await pacs.client.retrieveSeriesMetadata(first.StudyInstanceUID, row['0020000E'].Value[0])) {
      if (instance['00080018'].Value[0] === first_.srSopInstanceUID) instances++;
    }
  }
  assert.equal(instances, 1, 'one copy of the SR instance');
});

test('an SR planted under the derived UID, dated 1900 and saying "below", is shown unverified; Save to PACS writes the true result beside it', async () => {
  const planting = await calibration('planted-1', 0.3);
  const truth = input({ logit: 2.5, m: planting });
  assert.equal(truth.result.decision, 'above');
  const key = { sopInstanceUID: source.sopInstanceUID, modelSha256: manifest.onnx.sha256, calibrationVersion: planting.calibration.version };
  const uids = await dicom.resultUids(source.studyInstanceUID, key);
  // Everything in the UID is public: anyone who can STOW can take it first.
  const planted = dicom.buildResultSr({
    ...truth.result,
    source: header,
    score: 0.01,
    decision: 'below',
    observedAt: '1900-01-01T00:00:00.000Z',
    trainedOnSyntheticData: true,
    seriesInstanceUID: uids.srSeries,
    sopInstanceUID: uids.srInstance,
  });
  await pacs.client.store([planted.part10], source.studyInstanceUID);

  const results = new PacsResults({ client: pacs.client, codec: dicomCodec, trust });
  const before = await results.find(source, key);
  assert.equal(before.srSopInstanceUID, uids.srInstance);
  assert.equal(before.verdict.status, 'unverified');
  assert.match(before.verdict.reason, /^score 0\.01 is not calibration planted-1 of its logit 2\.5/);

  const saved = await results.save(truth);
  assert.equal(saved.status, 'saved');
  assert.equal(saved.srSopInstanceUID, (await dicom.resultUids(source.studyInstanceUID, key, 1)).srInstance, 'the next revision of the UIDs: Orthanc keeps the planted instance');
  const after = await results.find(source, key);
  assert.deepEqual(after.verdict, { status: 'verified' });
  assert.equal(after.srSopInstanceUID, saved.srSopInstanceUID);
  assert.equal(after.content.decision, 'above');
});
