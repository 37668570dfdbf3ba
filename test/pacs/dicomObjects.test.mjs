// ChestAid's DICOM objects (core/src/dicom) through a real Orthanc: STOW-RS accepts the result
// SR and the heatmap Parametric Map, and what comes back through QIDO-RS and WADO-RS (metadata, as
// the viewer reads it, and the instance) parses to what was computed and points at the right image.
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { URL } from 'node:url';
import { requireBuilt } from '../../scripts/node-build.mjs';
import { demoStudyFiles, loadDemoStudies, startOrthanc } from './orthanc.mjs';

const dicom = requireBuilt('@chestaid/core');
const { upsample } = requireBuilt('@chestaid/core');
const manifest = JSON.parse(readFileSync(new URL('../../models/chestaid-demo/manifest.json', import.meta.url), 'utf8'));

let pacs;
let source;

before(async () => {
  pacs = await startOrthanc();
  const files = demoStudyFiles().filter(file => file.includes('demo-studies'));
  await loadDemoStudies(pacs.client, files);
  const [first] = JSON.parse(readFileSync(new URL('../demo-studies/index.json', import.meta.url), 'utf8')).studies;
  // The source header as the worker and the viewer get it: WADO-RS metadata (DICOM JSON).
  source = await pacs.client.retrieveInstanceMetadata(first.StudyInstanceUID, first.SeriesInstanceUID, first.SOPInstanceUID);
});
after(async () => {
  await pacs?.stop();
});

const identity = {
  calibration: { method: manifest.calibration.selected, version: String(manifest.calibration.version) },
  model: { id: manifest.model.id, version: manifest.model.version, sha256: manifest.onnx.sha256, deviceUID: manifest.model.device_uid },
};
const sourceRef = () => dicom.naturalize(source);

test('a stored result SR is found by QIDO-RS and its WADO-RS metadata and instance parse to what was computed', async () => {
  const content = {
    ...identity,
    score: 0.8123456789012345,
    logit: 1.4662024188041687,
    threshold: manifest.thresholds.clinical.value,
    decision: 0.8123456789012345 >= manifest.thresholds.clinical.value ? 'above' : 'below',
    observedAt: '2026-11-26T12:00:00.250Z',
  };
  const built = dicom.buildResultSr({ ...content, source, trainedOnSyntheticData: manifest.data.synthetic });
  const ref = sourceRef();
  const stored = await pacs.client.store([built.part10], ref.StudyInstanceUID);
  assert.equal(stored.failed?.length ?? 0, 0);

  const rows = await pacs.client.searchInstances(ref.StudyInstanceUID, undefined, { Modality: 'SR', includefield: '0008103E' });
  const ours = rows.filter(row => dicom.isChestAidResultSr(row));
  assert.deepEqual(ours.map(row => row['00080018'].Value[0]), [built.sopInstanceUID]);

  const expected = {
    ...content,
    source: {
      studyInstanceUID: ref.StudyInstanceUID,
      seriesInstanceUID: ref.SeriesInstanceUID,
      sopInstanceUID: ref.SOPInstanceUID,
      sopClassUID: ref.SOPClassUID,
    },
  };
  const metadata = await pacs.client.retrieveInstanceMetadata(ref.StudyInstanceUID, built.seriesInstanceUID, built.sopInstanceUID);
  assert.deepEqual(dicom.readResultSr(metadata), expected);
  const bytes = await pacs.client.retrieveInstance(ref.StudyInstanceUID, built.seriesInstanceUID, built.sopInstanceUID);
  assert.deepEqual(dicom.readResultSr(bytes), expected);
});

test('a stored heatmap Parametric Map references the right image and its pixels come back unchanged', async () => {
  const ref = sourceRef();
  const cam = { data: Float32Array.from({ length: 49 }, (_, i) => ((i * 11) % 49) / 48), width: 7, height: 7 };
  const built = dicom.buildHeatmapParametricMap({ ...identity, source, cam, trainedOnSyntheticData: true });
  await pacs.client.store([built.part10], ref.StudyInstanceUID);

  const metadata = await pacs.client.retrieveInstanceMetadata(ref.StudyInstanceUID, built.seriesInstanceUID, built.sopInstanceUID);
  const reference = dicom.readHeatmapReference(metadata);
  assert.deepEqual(reference.source, {
    studyInstanceUID: ref.StudyInstanceUID,
    seriesInstanceUID: ref.SeriesInstanceUID,
    sopInstanceUID: ref.SOPInstanceUID,
    sopClassUID: ref.SOPClassUID,
  });
  assert.deepEqual(reference.grid, { rows: ref.Rows, columns: ref.Columns });
  assert.equal(reference.model.sha256, identity.model.sha256);
  assert.equal(reference.calibrationVersion, identity.calibration.version);

  const bytes = await pacs.client.retrieveInstance(ref.StudyInstanceUID, built.seriesInstanceUID, built.sopInstanceUID);
  const pixels = dicom.readHeatmapPixels(bytes);
  assert.deepEqual(Buffer.from(pixels.data.buffer), Buffer.from(upsample(cam, ref.Rows, ref.Columns).data.buffer));
});

test('the heatmap as a binary SEG is accepted by STOW-RS and found under the source study', async () => {
  const ref = sourceRef();
  const cam = { data: Float32Array.from({ length: 49 }, (_, i) => i / 48), width: 7, height: 7 };
  const built = dicom.buildHeatmapSegmentation({ ...identity, source, cam, trainedOnSyntheticData: true });
  await pacs.client.store([built.part10], ref.StudyInstanceUID);
  const rows = await pacs.client.searchInstances(ref.StudyInstanceUID, built.seriesInstanceUID);
  assert.deepEqual(rows.map(row => row['00080016'].Value[0]), [dicom.SEGMENTATION_SOP_CLASS]);
  const metadata = await pacs.client.retrieveInstanceMetadata(ref.StudyInstanceUID, built.seriesInstanceUID, built.sopInstanceUID);
  const naturalized = dicom.naturalize(metadata);
  assert.equal(naturalized.NumberOfFrames, 3);
  assert.equal(naturalized.ReferencedSeriesSequence[0].SeriesInstanceUID, ref.SeriesInstanceUID);
});
