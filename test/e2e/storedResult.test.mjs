// Stored results shown back (issue 18 item 5), in Debian Chromium against a real Orthanc: a study
// whose ChestAid SR and heatmap Parametric Map are already in the PACS (written here in Node through
// the same PacsResults.save the viewer's Save to PACS uses, with the demo model's own logit for the
// image and a map no model would draw) opens with the stored score, marked "stored result, <date>,
// model <version>", and the stored map in the ChestAid heatmap layer: no progress bar, no inference
// worker created or messaged, no model download. The layer's pixels are the stored map's. A map
// stored under the derived UID but naming another calibration is not drawn, with the reason. A fresh
// Analyze then runs the model (the worker is messaged: the watch above can see it) and replaces the
// stored result on screen.
//
//   node --test test/e2e/storedResult.test.mjs
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { requireBuilt } from '../../scripts/node-build.mjs';
import { saveInput } from '../pacs/saveInput.mjs';
import { loadDemoStudies, startOrthanc } from '../pacs/orthanc.mjs';
import { ROOT, startSession, watchedPage } from './harness.mjs';

const dicom = requireBuilt('@chestaid/core');
const demoIndex = JSON.parse(readFileSync(join(ROOT, 'test/demo-studies/index.json'), 'utf8'));
const base = dicom.parseManifest(JSON.parse(readFileSync(join(ROOT, 'models/chestaid-demo/manifest.json'), 'utf8')));
const cy = name => `[data-cy="${name}"]`;

let orthanc;
let viewer;
let browser;
let manifest;
const problems = [];
const foreignRequests = [];
const [shownStudy, refusedStudy] = demoIndex.studies;

/** A map no model would draw: attention rising from the left edge to the right one. */
const ramp = () => ({ width: 7, height: 7, data: Float32Array.from({ length: 49 }, (_, k) => (k % 7) / 6) });

/** What the viewer's Save to PACS writes for `study`, with the model's own logit for its image. */
async function storedInput(study) {
  const header = await orthanc.client.retrieveInstanceMetadata(study.StudyInstanceUID, study.SeriesInstanceUID, study.SOPInstanceUID);
  return saveInput({
    manifest,
    header,
    source: { studyInstanceUID: study.StudyInstanceUID, seriesInstanceUID: study.SeriesInstanceUID, sopInstanceUID: study.SOPInstanceUID, sopClassUID: header['00080016'].Value[0] },
    logit: study.expected.logit,
    heatmap: ramp(),
    synthetic: manifest.data.synthetic === true,
  });
}

before(
  async () => {
    orthanc = await startOrthanc();
    await loadDemoStudies(orthanc.client);
    manifest = await dicom.withCalibrationIdentity(base);
    const results = new dicom.PacsResults({
      client: orthanc.client,
      codec: dicom.dicomCodec,
      trust: () => ({ modelSha256: manifest.onnx.sha256, deviceUID: manifest.model.device_uid, calibrationOf: id => (id === manifest.calibration.version ? manifest : null) }),
    });
    const saved = await results.save(await storedInput(shownStudy));
    assert.equal(saved.status, 'saved');
    assert.ok(saved.heatmapSopInstanceUID);

    // The second study: a true SR, and under the map's derived UIDs a map naming another calibration.
    const input = await storedInput(refusedStudy);
    await results.save({ ...input, heatmap: undefined });
    const key = { sopInstanceUID: refusedStudy.SOPInstanceUID, modelSha256: manifest.onnx.sha256, calibrationVersion: manifest.calibration.version };
    const uids = await dicom.resultUids(refusedStudy.StudyInstanceUID, key);
    const planted = dicom.buildHeatmapParametricMap({
      source: input.sourceHeader,
      cam: ramp(),
      model: input.result.model,
      calibration: { ...input.result.calibration, version: `site-9+sha256:${'ab'.repeat(32)}` },
      trainedOnSyntheticData: true,
      seriesInstanceUID: uids.mapSeries,
      sopInstanceUID: uids.mapInstance,
    });
    await orthanc.client.store([planted.part10], refusedStudy.StudyInstanceUID);

    // preloadModel off: a stored result must then cost no model download and no inference worker
    // (with it on, the mode loads the model as it opens any study, stored or not).
    ({ viewer, browser } = await startSession({ env: { CHESTAID_DATA_SOURCE: 'pacs', CHESTAID_PACS_URL: orthanc.url, CHESTAID_PRELOAD_MODEL: 'false' } }));
  },
  { timeout: 420_000 },
);

after(async () => {
  await browser?.close();
  await viewer?.stop();
  await orthanc?.stop();
});

/**
 * A reader whose page records every Worker it creates (by name) and the messages posted to each,
 * every model request, and whether a progress bar or a running row ever appeared.
 */
async function watchingReader() {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await watchedPage(context, { viewerUrl: viewer.url, problems, foreignRequests });
  const modelRequests = [];
  page.on('request', request => {
    if (/\.onnx(\?|$)/.test(request.url())) modelRequests.push(request.url());
  });
  await page.addInitScript(() => {
    window.__chestaidWorkers = [];
    const Original = window.Worker;
    window.Worker = class extends Original {
      constructor(url, options) {
        super(url, options);
        const entry = { name: options?.name ?? '', messages: 0 };
        window.__chestaidWorkers.push(entry);
        const post = this.postMessage.bind(this);
        this.postMessage = (...args) => {
          entry.messages++;
          return post(...args);
        };
      }
    };
    window.__chestaidTestRan = false;
    const watch = () =>
      new MutationObserver(() => {
        if (document.querySelector('[data-cy="chestaid-progress"], [data-cy="chestaid-image-row"][data-status="running"]')) window.__chestaidTestRan = true;
      }).observe(document.documentElement, { subtree: true, childList: true, attributes: true });
    if (document.documentElement) watch();
    else document.addEventListener('DOMContentLoaded', watch);
  });
  return { page, modelRequests };
}

// Either engine's worker (chestaid-inference: onnxruntime-web; chestaid-inference-tfjs: TensorFlow.js).
const inference = page => page.evaluate(() => window.__chestaidWorkers.filter(w => w.name.startsWith('chestaid-inference')));

/** The attention layer drawn on the first viewport: its size and values. */
function drawnLayer(page) {
  return page.evaluate(() => {
    const { viewport } = window.cornerstone.getEnabledElements()[0];
    const entry = viewport.getActors().find(e => e.uid.startsWith('chestaid-heatmap:') && e.uid.endsWith(':attention'));
    if (!entry) return null;
    const data = entry.actor.getMapper().getInputData();
    const [width, height] = data.getDimensions();
    return { width, height, values: Array.from(data.getPointData().getScalars().getData()) };
  });
}

test('a study with a stored SR and map opens with the stored score and draws the stored map, without running the model', async () => {
  const { page, modelRequests } = await watchingReader();
  await page.goto(`${viewer.url}/chestaid?StudyInstanceUIDs=${shownStudy.StudyInstanceUID}`);
  const stored = page.locator(cy('chestaid-stored'));
  await stored.waitFor({ timeout: 180_000 });
  const expected = dicom.calibrate(shownStudy.expected.logit, manifest.calibration);
  const probability = Number(await stored.locator(cy('chestaid-stored-score')).getAttribute('data-probability'));
  assert.ok(Math.abs(probability - expected) < 1e-12, `stored score ${probability} vs ${expected}`);
  assert.match(await stored.locator(cy('chestaid-stored-mark')).innerText(), new RegExp(`^Stored result, 11/26/2026, 10:05\\s?AM UTC, model ${manifest.model.version.replace(/\./g, '\\.')}$`));

  await page.locator(`[data-chestaid-heatmap="${shownStudy.SOPInstanceUID}"]`).waitFor({ timeout: 60_000 });
  const layer = await drawnLayer(page);
  assert.ok(layer, 'an attention layer is drawn');
  // The stored map as the PACS holds it, at the layer's size, as the viewer's controller makes it.
  const mapUid = await stored.getAttribute('data-map');
  const mapSeries = (await dicom.resultUids(shownStudy.StudyInstanceUID, { sopInstanceUID: shownStudy.SOPInstanceUID, modelSha256: manifest.onnx.sha256, calibrationVersion: manifest.calibration.version })).mapSeries;
  const bytes = await orthanc.client.retrieveInstance(shownStudy.StudyInstanceUID, mapSeries, mapUid);
  const map = dicom.readHeatmapPixels(bytes);
  assert.deepEqual([map.width, map.height], [shownStudy.columns, shownStudy.rows], 'the stored map lies on the image grid');
  const want = dicom.attentionLayer(map, { rows: layer.height, columns: layer.width });
  assert.equal(layer.values.length, want.data.length);
  let worst = 0;
  for (let i = 0; i < want.data.length; i++) worst = Math.max(worst, Math.abs(layer.values[i] - want.data[i]));
  assert.ok(worst < 1e-5, `the layer is the stored map (largest difference ${worst})`);
  // A ramp, left to right: no model run would draw it.
  assert.ok(layer.values[layer.width - 1] > 0.99 && layer.values[0] < 0.01);

  // Give a late model run every chance to show itself.
  await page.waitForTimeout(3000);
  assert.equal(await page.evaluate(() => window.__chestaidTestRan), false, 'no progress bar, no running row');
  assert.deepEqual(await inference(page), [], 'no inference worker was created');
  assert.deepEqual(modelRequests, [], 'the model was not downloaded');
  assert.equal(await page.evaluate(() => window.services.chestAidService.running.size), 0);

  // A fresh Analyze runs the model (the watch sees the worker and its messages) and replaces the stored result.
  await page.locator(`${cy('chestaid-analyze')}:not([disabled])`).click();
  await page.locator(cy('chestaid-score')).waitFor({ timeout: 240_000 });
  assert.equal(await page.locator(cy('chestaid-stored')).count(), 0, 'the stored result is replaced on screen');
  const workers = await inference(page);
  // One engine's worker ran it; once the page is idle, 'auto' may start the other's for its one-off trial.
  assert.ok(workers.length >= 1 && workers.length <= 2, `${workers.length} inference workers`);
  assert.ok(workers[0].messages > 0, 'Analyze messaged the inference worker');
  const fresh = await page.waitForFunction(() => {
    const { viewport } = window.cornerstone.getEnabledElements()[0];
    const entry = viewport.getActors().find(e => e.uid.startsWith('chestaid-heatmap:') && e.uid.endsWith(':attention'));
    if (!entry) return false;
    const data = Array.from(entry.actor.getMapper().getInputData().getPointData().getScalars().getData());
    const [width] = entry.actor.getMapper().getInputData().getDimensions();
    // The model's own map, not the ramp.
    return !(data[width - 1] > 0.99 && data[0] < 0.01) ? true : false;
  });
  assert.ok(await fresh.jsonValue(), 'the layer now draws the fresh analysis');
  await page.context().close();
});

test('a stored map that names another calibration is not drawn: the stored score is shown with the reason, and Analyze stays open', async () => {
  const { page, modelRequests } = await watchingReader();
  await page.goto(`${viewer.url}/chestaid?StudyInstanceUIDs=${refusedStudy.StudyInstanceUID}`);
  const stored = page.locator(cy('chestaid-stored'));
  await stored.waitFor({ timeout: 180_000 });
  const reason = page.locator(cy('chestaid-stored-no-map'));
  assert.match(await reason.innerText(), /^The stored heatmap is not drawn: the heatmap map names calibration site-9\+sha256:abab/);
  await page.waitForTimeout(3000);
  assert.equal(await page.locator('[data-chestaid-heatmap]').count(), 0, 'no layer is drawn');
  assert.equal(await page.locator(`${cy('chestaid-analyze')}:not([disabled])`).count(), 1, 'the reader can still Analyze');
  assert.deepEqual(await inference(page), []);
  assert.deepEqual(modelRequests, []);
  await page.context().close();
});

test('no page errors or console errors along the way, and no request left the viewer\'s origin', () => {
  assert.deepEqual(problems, []);
  assert.deepEqual(foreignRequests, []);
});
