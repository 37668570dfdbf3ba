// The host side of the viewer without a browser: the pinned OHIF dist passes the build-time
// check and a changed one fails it, and the study-list document holds what the viewer needs and
// nothing it must not show.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import dcmjs from 'dcmjs';

import { checkOhifHost } from '../../scripts/check-ohif-host.mjs';
import { fetchOhif, ohifAppDir } from '../../scripts/fetch-ohif.mjs';
import { DEMO, LARGE_STUDIES, makeDemoStudies, writeLargeStudies } from '../../scripts/make-demo-studies.mjs';
import { ROOT } from './harness.mjs';

const reactVersion = JSON.parse(readFileSync(join(ROOT, 'node_modules/react/package.json'), 'utf8')).version;

test('the pinned OHIF dist passes the host check', { timeout: 240_000 }, () => {
  fetchOhif({ log: () => {} });
  assert.deepEqual(checkOhifHost(ohifAppDir, { reactVersion }), {
    ohifVersion: '3.13.2',
    cornerstoneVersion: '5.6.8',
    reactVersion: '18.3.1',
  });
});

test('a dist that breaks the assumptions fails the check, naming each one', () => {
  const fake = mkdtempSync(join(tmpdir(), 'chestaid-fake-ohif-'));
  try {
    mkdirSync(join(fake, 'dist'));
    writeFileSync(join(fake, 'package.json'), JSON.stringify({ name: '@ohif/app', version: '3.14.0' }));
    writeFileSync(join(fake, 'dist', 'app.js'), 'window.cornerstone = core;\n');
    assert.throws(
      () => checkOhifHost(fake, { reactVersion: '19.0.0' }),
      error =>
        /@ohif\/app@3\.14\.0, ChestAid is built against @ohif\/app@3\.13\.2/.test(error.message) &&
        /one `window\.cornerstoneTools =` in the dist, found 0/.test(error.message) &&
        /@cornerstonejs\/core matching/.test(error.message) &&
        /ChestAid bundles react 19\.0\.0/.test(error.message),
    );
  } finally {
    rmSync(fake, { recursive: true, force: true });
  }
});

test('the study-list document lists the demo studies, a synthetic two-radiograph study and a synthetic CT', () => {
  const { studies } = makeDemoStudies();
  const index = JSON.parse(readFileSync(join(DEMO.sourceDir, 'index.json'), 'utf8'));
  const demo = studies.slice(0, index.studies.length);
  assert.equal(studies.length, index.studies.length + 2);
  assert.deepEqual(
    demo.map(s => s.StudyInstanceUID),
    index.studies.map(s => s.StudyInstanceUID),
  );
  for (const study of demo) {
    assert.equal(study.Modalities, 'CR');
    const [instance] = study.series[0].instances;
    assert.match(instance.url, /^dicomweb:\/chestaid\/demo\/dicom\/study-\d+\.dcm$/);
    assert.equal(instance.metadata.PixelData, undefined, 'no pixel data in the document');
    assert.deepEqual(instance.metadata.VOILUTFunction, ['LINEAR']);
  }

  const twoViews = studies.at(-2);
  assert.equal(twoViews.Modalities, 'CR');
  assert.match(twoViews.PatientName, /^SYNTHETIC/);
  assert.equal(twoViews.series.length, 2);
  const sources = twoViews.series.map(series => series.instances[0].metadata.ImageComments.match(/demo CR ([\d.]+)/)[1]);
  const labels = sources.map(uid => index.studies.find(s => s.SOPInstanceUID === uid).label);
  assert.deepEqual(labels.sort(), ['NORMAL', 'PNEUMONIA'], 'one radiograph of each class, under new UIDs');
  for (const series of twoViews.series) assert.equal(sources.includes(series.instances[0].metadata.SOPInstanceUID), false);

  const ct = studies.at(-1);
  assert.equal(ct.Modalities, 'CT');
  assert.match(ct.PatientName, /^SYNTHETIC/);
  assert.match(ct.StudyDescription, /SYNTHETIC/);
  const ctFile = readFileSync(join(DEMO.outDir, DEMO.generatedDir, 'synthetic-ct-01.dcm'));
  const ctDataset = dcmjs.data.DicomMetaDictionary.naturalizeDataset(
    dcmjs.data.DicomMessage.readFile(ctFile.buffer.slice(ctFile.byteOffset, ctFile.byteOffset + ctFile.byteLength)).dict,
  );
  assert.equal(ctDataset.SOPClassUID, '1.2.840.10008.5.1.4.1.1.2', 'CT Image Storage');
  assert.equal(ctDataset.Modality, 'CT');
  assert.match(ctDataset.ImageComments, /Not a real CT and not a real patient/);
  assert.notEqual(ctDataset.StudyInstanceUID, studies[0].StudyInstanceUID);
});

test('the large synthetic radiographs: detector size, SYNTHETIC, spacing scaled or absent, listed only on request', () => {
  const outDir = mkdtempSync(join(tmpdir(), 'chestaid-large-'));
  try {
    const files = writeLargeStudies({ ...DEMO, outDir });
    const index = JSON.parse(readFileSync(join(DEMO.sourceDir, 'index.json'), 'utf8'));
    const source = index.studies.find(s => s.label === 'PNEUMONIA');
    const read = file => {
      const bytes = readFileSync(file);
      return dcmjs.data.DicomMetaDictionary.naturalizeDataset(dcmjs.data.DicomMessage.readFile(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)).dict);
    };
    const datasets = files.map(read);
    assert.deepEqual(
      datasets.map(d => [d.Columns, d.Rows]),
      LARGE_STUDIES.sizes.map(s => [s.columns, s.rows]),
    );
    for (const d of datasets) {
      assert.match(d.PatientName[0].Alphabetic, /^SYNTHETIC\^LARGE/);
      assert.match(d.StudyDescription, /^SYNTHETIC/);
      assert.match(d.ImageComments, new RegExp(`demo CR ${source.SOPInstanceUID.replaceAll('.', '\\.')} resampled`));
      assert.notEqual(d.StudyInstanceUID, source.StudyInstanceUID);
      assert.equal(new Uint16Array(d.PixelData[0]).length, d.Rows * d.Columns);
    }
    // 2048 x 2500 keeps the source's physical size: [between rows, between columns].
    const [scaled, bare] = datasets;
    const [rowSpacing, columnSpacing] = read(join(DEMO.sourceDir, source.file)).PixelSpacing;
    assert.deepEqual(scaled.PixelSpacing, [Number(((rowSpacing * source.rows) / 2500).toPrecision(10)), Number(((columnSpacing * source.columns) / 2048).toPrecision(10))]);
    assert.deepEqual(scaled.ImagerPixelSpacing, scaled.PixelSpacing);
    assert.equal(bare.PixelSpacing, undefined);
    assert.equal(bare.ImagerPixelSpacing, undefined);

    const listed = makeDemoStudies({ ...DEMO, outDir, documentName: 'with-large.json' }, { extraStudies: LARGE_STUDIES.folder }).studies;
    assert.deepEqual(listed.slice(-2).map(s => s.PatientName), ['SYNTHETIC^LARGE 2048x2500', 'SYNTHETIC^LARGE 3000x2500']);
    assert.equal(makeDemoStudies({ ...DEMO, outDir }, { extraStudies: undefined }).studies.some(s => /LARGE/.test(s.PatientName)), false);
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
});

test('the document never carries the ground truth', () => {
  const text = readFileSync(join(DEMO.outDir, DEMO.documentName), 'utf8');
  for (const secret of ['PNEUMONIA', 'NORMAL', 'lesion', 'expected']) {
    assert.equal(text.includes(secret), false, `the document mentions ${secret}`);
  }
});

test('the generator is deterministic', () => {
  const first = readFileSync(join(DEMO.outDir, DEMO.documentName));
  makeDemoStudies();
  assert.ok(readFileSync(join(DEMO.outDir, DEMO.documentName)).equals(first));
});
