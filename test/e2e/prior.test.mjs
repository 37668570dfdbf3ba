// A chest radiograph with its prior (issue 18 item 4), in Debian Chromium against a real Orthanc:
// one synthetic patient has two chest studies eight months apart (scripts/make-demo-studies.mjs
// --prior), each with its ChestAid SR and heatmap map already in the PACS (written in Node through
// PacsResults.save, with the demo model's own logit for each image). Opening the current study in
// the ChestAid mode loads the prior too: ChestAid's hanging protocol hangs the current study's
// radiograph on the left and the prior's on the right, each viewport draws its own image's stored
// map, and the panel shows the change in score, current minus prior, without running the model.
//
//   node --test test/e2e/prior.test.mjs
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { requireBuilt } from '../../scripts/node-build.mjs';
import { saveInput } from '../pacs/saveInput.mjs';
import { writePriorStudies } from '../../scripts/make-demo-studies.mjs';
import { loadDemoStudies, startOrthanc } from '../pacs/orthanc.mjs';
import { ROOT, startSession, watchedPage } from './harness.mjs';

const dicom = requireBuilt('@chestaid/core');
const base = dicom.parseManifest(JSON.parse(readFileSync(join(ROOT, 'models/chestaid-demo/manifest.json'), 'utf8')));
const cy = name => `[data-cy="${name}"]`;

let orthanc;
let viewer;
let browser;
let manifest;
let pair; // [prior, current] as writePriorStudies returns them
const scores = new Map(); // sopInstanceUID -> stored score
const problems = [];
const foreignRequests = [];

before(
  async () => {
    orthanc = await startOrthanc();
    pair = writePriorStudies();
    // The generated studies are valid CR images, as dciodvfy (dicom3tools) judges them.
    for (const { file } of pair) {
      const run = spawnSync('dciodvfy', [file], { encoding: 'utf8' });
      assert.equal(run.error, undefined, 'dciodvfy is installed (scripts/setup.sh)');
      assert.deepEqual(`${run.stdout}\n${run.stderr}`.split('\n').filter(line => /^(Error|Abort)/.test(line)), [], file);
    }
    await loadDemoStudies(orthanc.client, pair.map(p => p.file));
    manifest = await dicom.withCalibrationIdentity(base);
    const results = new dicom.PacsResults({
      client: orthanc.client,
      codec: dicom.dicomCodec,
      trust: () => ({ modelSha256: manifest.onnx.sha256, deviceUID: manifest.model.device_uid, calibrationOf: id => (id === manifest.calibration.version ? manifest : null) }),
    });
    for (const study of pair) {
      const header = await orthanc.client.retrieveInstanceMetadata(study.studyInstanceUID, study.seriesInstanceUID, study.sopInstanceUID);
      // The model's own logit for these pixels (the demo index's, measured by training).
      const { logit } = study.source.expected;
      const input = saveInput({
        manifest,
        header,
        source: { studyInstanceUID: study.studyInstanceUID, seriesInstanceUID: study.seriesInstanceUID, sopInstanceUID: study.sopInstanceUID, sopClassUID: header['00080016'].Value[0] },
        logit,
        heatmap: { width: 7, height: 7, data: Float32Array.from({ length: 49 }, (_, k) => (study.name === 'prior' ? (k % 7) / 6 : Math.floor(k / 7) / 6)) },
      });
      const saved = await results.save(input);
      assert.equal(saved.status, 'saved');
      scores.set(study.sopInstanceUID, input.result.score);
    }
    ({ viewer, browser } = await startSession({ env: { CHESTAID_DATA_SOURCE: 'pacs', CHESTAID_PACS_URL: orthanc.url } }));
  },
  { timeout: 420_000 },
);

after(async () => {
  await browser?.close();
  await viewer?.stop();
  await orthanc?.stop();
});

test('the prior opens beside the current study, each viewport with its own stored result and heatmap, and the panel shows the change in score', async () => {
  const context = await browser.newContext({ viewport: { width: 1600, height: 900 } });
  const page = await watchedPage(context, { viewerUrl: viewer.url, problems, foreignRequests });
  const [prior, current] = pair;
  await page.goto(`${viewer.url}/chestaid?StudyInstanceUIDs=${current.studyInstanceUID}`);

  // Two viewports, side by side: the current study's radiograph on the left, the prior's on the right, each with its own layer.
  const shown = await (
    await page.waitForFunction(
      () => {
        const views = (window.cornerstone?.getEnabledElements?.() ?? []).map(({ viewport }) => ({
          imageId: viewport.getCornerstoneImage?.()?.imageId,
          layer: viewport.element.getAttribute('data-chestaid-heatmap'),
          left: viewport.element.getBoundingClientRect().left,
        }));
        return views.length === 2 && views.every(v => v.imageId && v.layer) ? views.sort((a, b) => a.left - b.left) : false;
      },
      null,
      { timeout: 240_000 },
    )
  ).jsonValue();
  assert.deepEqual(
    shown.map(v => v.layer),
    [current.sopInstanceUID, prior.sopInstanceUID],
    'current on the left, prior on the right, each drawing its own image\'s map',
  );
  for (const v of shown) assert.ok(v.imageId.includes(v.layer), `the viewport showing ${v.imageId} draws the layer of ${v.layer}`);

  const panel = page.locator(cy('chestaid-prior'));
  await panel.locator(`${cy('chestaid-prior-change')}`).waitFor();
  await page.waitForFunction(() => document.querySelector('[data-cy="chestaid-prior"]')?.getAttribute('data-change') !== null);
  const change = Number(await panel.getAttribute('data-change'));
  const expected = scores.get(current.sopInstanceUID) - scores.get(prior.sopInstanceUID);
  assert.ok(Math.abs(change - expected) < 1e-12, `change ${change} vs ${expected}`);
  assert.equal(await panel.getAttribute('data-current'), current.sopInstanceUID);
  assert.equal(await panel.getAttribute('data-prior'), prior.sopInstanceUID);
  const text = await panel.locator(cy('chestaid-prior-change')).innerText();
  assert.match(text, /^Change since the prior study \(03\/05\/2026\): [+−-]\d+\.\d percentage points \(\d+\.\d%\s?→ \d+\.\d%\)$/);
  assert.equal(await panel.locator(cy('chestaid-prior-note')).count(), 0, 'same model and calibration: no note');

  // Both results are the stored ones: nothing ran.
  assert.equal(await page.locator(cy('chestaid-progress')).count(), 0);
  assert.equal(await page.evaluate(() => window.services.chestAidService.running.size), 0);
  await context.close();
});

test('no page errors or console errors along the way, and no request left the viewer\'s origin', () => {
  assert.deepEqual(problems, []);
  assert.deepEqual(foreignRequests, []);
});
