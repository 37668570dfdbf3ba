// The viewer's PACS results (@chestaid/core's dicomweb/results.ts with the dicom codec) against a real
// Orthanc: Save to PACS stores the result SR and the heatmap map into the source's study, a second
// save of the same image, model and calibration writes nothing, another calibration is a new
// result, and what readers find is what was saved. The browser path (the panel, the worklist) is
// test/e2e/pacs.test.mjs's.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { URL } from 'node:url';
import { requireBuilt } from '../../scripts/node-build.mjs';
import { demoStudyFiles, loadDemoStudies, startOrthanc } from './orthanc.mjs';

const { PacsResults } = requireBuilt('@chestaid/core');
const { dicomCodec } = requireBuilt('@chestaid/core');
const dicom = requireBuilt('@chestaid/core');
const manifest = JSON.parse(readFileSync(new URL('../../models/chestaid-demo/manifest.json', import.meta.url), 'utf8'));
const [first] = JSON.parse(readFileSync(new URL('../demo-studies/index.json', import.meta.url), 'utf8')).studies;

let pacs;
let header;

before(async () => {
  pacs = await startOrthanc();
  await loadDemoStudies(pacs.client, demoStudyFiles().filter(file => file.includes('demo-studies')));
  header = await pacs.client.retrieveInstanceMetadata(first.StudyInstanceUID, first.SeriesInstanceUID, first.SOPInstanceUID);
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

function input({ score = 0.8123456789, calibrationVersion = String(manifest.calibration.version) } = {}) {
  const threshold = manifest.thresholds.clinical.value;
  return {
    sourceHeader: header,
    source,
    result: {
      score,
      logit: 1.5,
      threshold,
      decision: score >= threshold ? 'above' : 'below',
      calibration: { method: manifest.calibration.selected, version: calibrationVersion },
      model: { id: manifest.model.id, version: manifest.model.version, sha256: manifest.onnx.sha256, deviceUID: manifest.model.device_uid },
      observedAt: '2026-11-26T12:00:00.000Z',
    },
    heatmap: { width: 7, height: 7, data: Float32Array.from({ length: 49 }, (_, i) => i / 48) },
    trainedOnSyntheticData: true,
  };
}

async function seriesOf(modality) {
  return pacs.client.searchSeries(first.StudyInstanceUID, { Modality: modality });
}

test('Save to PACS stores the SR and the heatmap map in the source study; readers find the saved score', async () => {
  const results = new PacsResults({ client: pacs.client, codec: dicomCodec });
  const saved = await results.save(input());
  assert.equal(saved.status, 'saved');
  assert.equal(saved.heatmapProblem, null);
  assert.ok(saved.heatmapSopInstanceUID, 'a heatmap map was stored');

  const found = await results.resultsOf(first.StudyInstanceUID);
  assert.equal(found.length, 1);
  assert.equal(found[0].srSopInstanceUID, saved.srSopInstanceUID);
  assert.deepEqual(found[0].content.source, source);
  assert.ok(Math.abs(found[0].content.score - 0.8123456789) < 1e-12);
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
  const results = new PacsResults({ client: pacs.client, codec: dicomCodec });
  const before = (await seriesOf('SR')).length;
  const again = await results.save(input({ score: 0.9 }));
  assert.equal(again.status, 'already-saved');
  assert.equal((await seriesOf('SR')).length, before);
  const found = await results.find(source, { modelSha256: manifest.onnx.sha256.toUpperCase(), calibrationVersion: String(manifest.calibration.version) });
  assert.ok(Math.abs(found.content.score - 0.8123456789) < 1e-12, 'the first score stands');
});

test('another calibration version is another result, found under its own key only', async () => {
  const results = new PacsResults({ client: pacs.client, codec: dicomCodec });
  assert.equal((await results.save(input({ score: 0.5, calibrationVersion: 'recal-2' }))).status, 'saved');
  const found = await results.resultsOf(first.StudyInstanceUID);
  assert.deepEqual(found.map(r => r.content.calibration.version).sort(), [String(manifest.calibration.version), 'recal-2'].sort());
  const other = await results.find(source, { modelSha256: manifest.onnx.sha256, calibrationVersion: 'recal-2' });
  assert.equal(other.content.score, 0.5);
});

test('a study the PACS does not hold has no results', async () => {
  const results = new PacsResults({ client: pacs.client, codec: dicomCodec });
  assert.deepEqual(await results.resultsOf('1.2.3.4.5.6.7.8.9'), []);
});

test('two viewers racing past the check both succeed and leave one SR: the UIDs are derived, the PACS keeps one copy', async () => {
  const key = { calibrationVersion: 'race-1' };
  const a = new PacsResults({ client: pacs.client, codec: dicomCodec });
  const b = new PacsResults({ client: pacs.client, codec: dicomCodec });
  // Both check before either writes: Promise.all starts both QIDO look-ups first.
  const [first_, second] = await Promise.all([a.save(input({ score: 0.61, ...key })), b.save(input({ score: 0.62, ...key }))]);
  assert.deepEqual([first_.status, second.status], ['saved', 'saved'], 'neither writer saw the other: a real race');
  assert.equal(first_.srSopInstanceUID, second.srSopInstanceUID);
  const srs = (await a.resultsOf(first.StudyInstanceUID)).filter(r => r.content.calibration.version === 'race-1');
  assert.equal(srs.length, 1);
  let instances = 0;
  for (const row of await seriesOf('SR')) {
    for (const instance of await pacs.client.retrieveSeriesMetadata(first.StudyInstanceUID, row['0020000E'].Value[0])) {
      if (instance['00080018'].Value[0] === first_.srSopInstanceUID) instances++;
    }
  }
  assert.equal(instances, 1, 'one copy of the SR instance');
});
