// The viewer end to end, as `npm start` serves it: the study list shows the demo studies from the
// DICOM JSON document, a demo radiograph opens in the ChestAid mode with its panel, the page is
// cross-origin isolated, and the synthetic CT is refused with the reason. Analyze runs the real
// demo model in the browser: a PNEUMONIA study scores above the clinical threshold and a NORMAL one
// below it (chosen from test/demo-studies/index.json at run time, never by name or score), the
// threshold control re-decides without re-running, and a model whose bytes do not match the
// manifest's sha256 is refused.
//
//   npm run test:e2e        (screenshots in test/e2e/artifacts/)
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { ARTIFACTS, BANNER_CONFIRM, ROOT, startSession, watchedPage } from './harness.mjs';

const demoIndex = JSON.parse(readFileSync(join(ROOT, 'test/demo-studies/index.json'), 'utf8'));

let viewer;
let browser;
let page;
let studies; // the DICOM JSON document the viewer serves
const problems = [];
const foreignRequests = []; // every request that leaves the viewer's own origin

before(
  async () => {
    ({ viewer, studies, browser } = await startSession());
    page = await watchedPage(await browser.newContext({ viewport: { width: 1400, height: 900 } }), { viewerUrl: viewer.url, problems, foreignRequests });
  },
  { timeout: 300_000 },
);

after(async () => {
  await browser?.close();
  await viewer?.stop();
});

const radiograph = () => studies.find(study => study.Modalities === 'CR');
const syntheticCt = () => studies.find(study => study.Modalities === 'CT');

/**
 * OHIF's "investigational use only" banner covers the bottom of the page until confirmed; it
 * comes back on some page loads. Playwright confirms it whenever it stands in the way of an action
 * (see before()); screenshots call this first.
 */
async function dismissBanner() {
  const confirm = page.locator(BANNER_CONFIRM);
  if (await confirm.isVisible()) await confirm.click();
}

async function openStudyList() {
  await page.goto(`${viewer.url}/`);
  await page.getByText(radiograph().PatientName, { exact: true }).waitFor();
}

/**
 * Selects a study's row; the preview beside the list then names the patient (its id appears only
 * there) and offers the modes valid for the study, OHIF's Basic Viewer among them.
 */
async function selectStudy(study) {
  await page.getByText(study.PatientName, { exact: true }).click();
  await page.getByText(study.PatientID, { exact: true }).waitFor();
  await page.getByRole('button', { name: 'Basic Viewer', exact: true }).waitFor();
}

const launchButton = name => page.getByRole('button', { name, exact: true });

test('the study list shows every demo study and the synthetic CT', async () => {
  assert.equal(studies.length, demoIndex.studies.length + 2, "the document lists the demo studies plus a two-radiograph study and a CT");
  await openStudyList();
  for (const study of studies) {
    await page.getByText(study.PatientName, { exact: true }).waitFor({ timeout: 10_000 });
  }
});

test('a demo radiograph opens in the ChestAid mode with the panel, the disclaimer and cross-origin isolation', async t => {
  const study = radiograph();
  await openStudyList();
  await selectStudy(study);
  await launchButton('ChestAid').click();

  await page.waitForURL(url => url.pathname === '/chestaid' && url.searchParams.get('StudyInstanceUIDs') === study.StudyInstanceUID);
  const panel = page.locator('[data-cy="chestaid-panel"]');
  await panel.waitFor();
  assert.equal(await panel.locator('[data-cy="chestaid-disclaimer"]').innerText(), 'Decision support, not a diagnosis.');
  await panel.locator('[data-cy="chestaid-synthetic"]').waitFor(); // the demo manifest says synthetic
  assert.match(await panel.locator('[data-cy="chestaid-synthetic"]').innerText(), /^Trained on synthetic data/);
  await panel.locator('[data-cy="chestaid-analyze"]:not([disabled])').waitFor();
  await page.locator('[data-cy="ChestAidAnalyze-btn"]').waitFor(); // the toolbar button

  assert.equal(await page.evaluate(() => crossOriginIsolated), true, 'COOP/COEP make the page cross-origin isolated');

  // The radiograph is loaded and displayed, seen through Cornerstone's namespace as ChestAid will
  // reach it.
  const shown = await page.waitForFunction(() => {
    const image = window.cornerstone?.getEnabledElements?.()[0]?.viewport?.getCornerstoneImage?.();
    return image ? { imageId: image.imageId, rows: image.rows, columns: image.columns } : false;
  });
  const { metadata, url } = study.series[0].instances[0];
  assert.deepEqual(await shown.jsonValue(), { imageId: url, rows: metadata.Rows, columns: metadata.Columns });

  // Analyze (the toolbar's button) runs the command, and the panel shows a result.
  await page.locator('[data-cy="ChestAidAnalyze-btn"]').click();
  await panel.locator('[data-cy="chestaid-result"], [data-cy="chestaid-status"][role="alert"]').first().waitFor({ timeout: 120_000 });
  t.diagnostic(`after Analyze: ${await panel.locator('[data-cy="chestaid-status"]').innerText()}`);

  await dismissBanner();
  await page.screenshot({ path: join(ARTIFACTS, 'chestaid-viewer.png') });
});

test('ChestAid is not offered for the synthetic CT, and refuses it with the reason when opened anyway', async () => {
  const ct = syntheticCt();
  await openStudyList();
  await selectStudy(ct);
  // OHIF 3.13's study list offers only the modes whose isValidMode says valid.
  assert.equal(await launchButton('ChestAid').count(), 0);

  // A link straight into the mode bypasses the list: the panel gives isValidMode's reason.
  await page.goto(`${viewer.url}/chestaid?StudyInstanceUIDs=${ct.StudyInstanceUID}`);
  const blocked = page.locator('[data-cy="chestaid-blocked"]');
  await blocked.waitFor();
  assert.equal(await blocked.innerText(), 'ChestAid reads chest radiographs (CR or DX); this study has CT');
  assert.equal(await page.locator('[data-cy="chestaid-analyze"]').isDisabled(), true);
  await dismissBanner();
  await page.screenshot({ path: join(ARTIFACTS, 'chestaid-ct-refused.png') });
});

// --- Analyze with the demo model ---------------------------------------------------------------

const PANEL = '[data-cy="chestaid-panel"]';
const inPanel = selector => page.locator(`${PANEL} [data-cy="${selector}"]`);

/** The served manifest: the clinical threshold the panel starts from. */
async function servedManifest() {
  return (await fetch(`${viewer.url}/models/chestaid-demo/manifest.json`)).json();
}

/**
 * A demo study with this label on this side of the threshold, by index.json's ground truth. A
 * rescaled one comes first (it exercises Cornerstone's pre-scaled pixels), then the one farthest
 * from the threshold (the least likely to flip when the demo model is retrained).
 */
function demoStudy({ label, above }) {
  const threshold = demoIndex.model.threshold;
  const rescaled = s => s.rescale && (s.rescale[0] !== 1 || s.rescale[1] !== 0);
  const candidates = demoIndex.studies
    .filter(s => s.label === label && s.expected.above_threshold === above)
    .sort((a, b) => Number(rescaled(b)) - Number(rescaled(a)) || Math.abs(b.expected.probability - threshold) - Math.abs(a.expected.probability - threshold));
  assert.ok(candidates.length > 0, `index.json has no ${label} study ${above ? 'above' : 'below'} the threshold`);
  return candidates[0];
}

async function openInChestAid(demo) {
  const study = studies.find(s => s.StudyInstanceUID === demo.StudyInstanceUID);
  assert.ok(study, `${demo.name} is in the study list document`);
  await openStudyList();
  await selectStudy(study);
  await launchButton('ChestAid').click();
  await page.waitForURL(url => url.pathname === '/chestaid' && url.searchParams.get('StudyInstanceUIDs') === demo.StudyInstanceUID);
  await page.locator(`${PANEL} [data-cy="chestaid-analyze"]:not([disabled])`).waitFor();
  // The image must be on screen: Analyze reads the pixels Cornerstone loaded for it.
  await page.waitForFunction(() => window.cornerstone?.getEnabledElements?.()[0]?.viewport?.getCornerstoneImage?.());
}

/** Presses the panel's Analyze and returns what the result shows. */
async function analyze() {
  const started = Date.now();
  await inPanel('chestaid-analyze').click();
  await page.locator(`${PANEL} [data-cy="chestaid-result"], ${PANEL} [data-cy="chestaid-status"][role="alert"]`).first().waitFor({ timeout: 120_000 });
  const error = await page.locator(`${PANEL} [data-cy="chestaid-status"][role="alert"]`).count();
  assert.equal(error, 0, `Analyze failed: ${await inPanel('chestaid-status').innerText()}`);
  return {
    wallMs: Date.now() - started,
    probability: Number(await inPanel('chestaid-score').getAttribute('data-probability')),
    decision: await inPanel('chestaid-decision').innerText(),
    run: await inPanel('chestaid-run').innerText(),
    runDetail: await inPanel('chestaid-run').getAttribute('title'),
    fallback: (await inPanel('chestaid-fallback').count()) ? await inPanel('chestaid-fallback').innerText() : null,
  };
}

const ABOVE = 'Above the clinical threshold: read first';
const BELOW = 'Below the clinical threshold';
const RUN_TEXT = /^(wasm, \d+ threads?|WebGPU) · \d{1,3}(,\d{3})*(\.\d)? m?s$/; // Intl: "2,763 ms" in English

test('a PNEUMONIA study scores above the clinical threshold, with the backend and the time shown', async t => {
  const demo = demoStudy({ label: 'PNEUMONIA', above: true });
  const manifest = await servedManifest();
  await openInChestAid(demo);
  const result = await analyze();
  t.diagnostic(`${demo.name} (rescale ${demo.rescale}): p ${result.probability}, "${result.run}" (${result.runDetail}), Analyze ${result.wallMs} ms with the model load`);

  assert.ok(Math.abs(result.probability - demo.expected.probability) <= 1e-3, `p ${result.probability}, index.json ${demo.expected.probability}`);
  assert.ok(result.probability >= manifest.thresholds.clinical.value);
  assert.equal(result.decision, ABOVE);
  assert.match(result.run, RUN_TEXT);
  if (result.run.startsWith('wasm')) assert.match(result.fallback, /^WebGPU not used: \S/);
  assert.equal(await page.locator(`${PANEL} p`, { hasText: 'Decision support, not a diagnosis.' }).count(), 1);
  await dismissBanner();
  await page.screenshot({ path: join(ARTIFACTS, 'chestaid-above-threshold.png') });
});

test('a NORMAL study scores below the clinical threshold', async t => {
  const demo = demoStudy({ label: 'NORMAL', above: false });
  const manifest = await servedManifest();
  await openInChestAid(demo);
  const result = await analyze();
  t.diagnostic(`${demo.name}: p ${result.probability}, "${result.run}" (${result.runDetail}), Analyze ${result.wallMs} ms with the model load`);

  assert.ok(Math.abs(result.probability - demo.expected.probability) <= 1e-3, `p ${result.probability}, index.json ${demo.expected.probability}`);
  assert.ok(result.probability < manifest.thresholds.clinical.value);
  assert.equal(result.decision, BELOW);
  assert.match(result.run, RUN_TEXT);
  await dismissBanner();
  await page.screenshot({ path: join(ARTIFACTS, 'chestaid-below-threshold.png') });
});

// Runs on the NORMAL study's result (below the threshold): lowering the threshold to the score
// always flips it, whereas raising it above a PNEUMONIA score of exactly 1 (isotonic calibration
// outputs 0 and 1 at the extremes) cannot.
test('moving the threshold flips the decision without running the model again, and Reset restores it', async () => {
  const probability = Number(await inPanel('chestaid-score').getAttribute('data-probability'));
  const run = await inPanel('chestaid-run').innerText();
  const input = inPanel('chestaid-threshold-input');

  const atOrBelow = Math.max(0, Math.floor(probability * 1000) / 1000);
  await input.fill(String(atOrBelow));
  await page.locator(`${PANEL} [data-cy="chestaid-decision"]`, { hasText: ABOVE }).waitFor();
  assert.equal(await inPanel('chestaid-run').innerText(), run, 'the same run: the model was not run again');
  // Kept in this browser, under a key naming the model bytes and calibration.
  const stored = await page.evaluate(() => Object.entries(localStorage).filter(([key]) => key.startsWith('chestaid:threshold:')));
  assert.deepEqual(stored.map(([, value]) => Number(value)), [atOrBelow]);
  await dismissBanner();
  await page.screenshot({ path: join(ARTIFACTS, 'chestaid-threshold-moved.png') });

  await inPanel('chestaid-threshold-reset').click();
  await page.locator(`${PANEL} [data-cy="chestaid-decision"]`, { hasText: BELOW }).waitFor();
  assert.equal(await page.evaluate(() => Object.keys(localStorage).filter(key => key.startsWith('chestaid:threshold:')).length), 0);
});

/** OHIF's own services (window.services) do what dropping a series on the viewport does. */
async function showInViewport(sopInstanceUID) {
  await page.evaluate(sop => {
    const { displaySetService, viewportGridService } = window.services;
    const displaySet = displaySetService.getActiveDisplaySets().find(ds => ds.images?.some(image => image.SOPInstanceUID === sop));
    const { activeViewportId } = viewportGridService.getState();
    viewportGridService.setDisplaySetsForViewport({ viewportId: activeViewportId, displaySetInstanceUIDs: [displaySet.displaySetInstanceUID] });
  }, sopInstanceUID);
}

test('a result that arrives after the image changed is never shown on the new image', async () => {
  // Two demo studies in one viewer; the viewport switches to the second while the first is scored.
  const [first, second] = [demoStudy({ label: 'PNEUMONIA', above: true }), demoStudy({ label: 'NORMAL', above: false })];
  // Both were scored by the tests above, and results now outlive the page (the triage store):
  // start from an empty store so that neither has a result yet.
  await page.evaluate(
    () =>
      new Promise((resolve, reject) => {
        const request = indexedDB.deleteDatabase('chestaid');
        request.onsuccess = resolve;
        request.onerror = () => reject(request.error);
        request.onblocked = () => reject(new Error('the result store is held open'));
      }),
  );
  await page.goto(`${viewer.url}/chestaid?StudyInstanceUIDs=${first.StudyInstanceUID},${second.StudyInstanceUID}`);
  await page.waitForFunction(() => window.cornerstone?.getEnabledElements?.()[0]?.viewport?.getCornerstoneImage?.());
  await page.locator(`${PANEL} [data-cy="chestaid-analyze"]:not([disabled])`).click();
  await showInViewport(second.SOPInstanceUID);
  // The panel follows the viewport: the second image has no result yet.
  await page.locator(`${PANEL} [data-cy="chestaid-status"]`, { hasText: 'Press Analyze to score the image in the active viewport.' }).waitFor();
  // Wait until the first image's run has finished (the service's own bookkeeping): its answer
  // must not appear here.
  await page.waitForFunction(() => window.services.chestAidService.running.size === 0, null, { timeout: 120_000 });
  assert.equal(await inPanel('chestaid-result').count(), 0);
  assert.equal(await inPanel('chestaid-status').innerText(), 'Press Analyze to score the image in the active viewport.');

  const result = await analyze();
  assert.ok(Math.abs(result.probability - second.expected.probability) <= 1e-3, `p ${result.probability}, index.json ${second.expected.probability}`);
  assert.equal(result.decision, BELOW);

  // Back on the first image, its own result is there, kept from the run that finished off screen.
  await showInViewport(first.SOPInstanceUID);
  await page.locator(`${PANEL} [data-cy="chestaid-decision"]`, { hasText: ABOVE }).waitFor();
  const kept = Number(await inPanel('chestaid-score').getAttribute('data-probability'));
  assert.ok(Math.abs(kept - first.expected.probability) <= 1e-3, `p ${kept}, index.json ${first.expected.probability}`);
});

test('a model file that does not match the manifest\'s sha256 is refused with the reason', async () => {
  // A fresh context (an empty model cache) whose manifest names other bytes than the served file.
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  try {
    const tampered = await context.newPage();
    tampered.setDefaultTimeout(60_000);
    await tampered.addLocatorHandler(tampered.locator(BANNER_CONFIRM), confirm => confirm.click());
    await tampered.route('**/models/chestaid-demo/manifest.json', async route => {
      const response = await route.fetch();
      const json = await response.json();
      json.onnx.sha256 = [...json.onnx.sha256].reverse().join('');
      await route.fulfill({ response, json });
    });
    const demo = demoStudy({ label: 'PNEUMONIA', above: true });
    await tampered.goto(`${viewer.url}/chestaid?StudyInstanceUIDs=${demo.StudyInstanceUID}`);
    await tampered.waitForFunction(() => window.cornerstone?.getEnabledElements?.()[0]?.viewport?.getCornerstoneImage?.());
    await tampered.locator(`${PANEL} [data-cy="chestaid-analyze"]:not([disabled])`).click();
    const alert = tampered.locator(`${PANEL} [data-cy="chestaid-status"][role="alert"]`);
    await alert.waitFor({ timeout: 120_000 });
    assert.match(await alert.innerText(), /^Model file does not match the manifest \(sha256 [0-9a-f]{64} for \S+model\.onnx, the manifest says [0-9a-f]{64}\); refusing to run it$/);
    assert.equal(await tampered.locator(`${PANEL} [data-cy="chestaid-result"]`).count(), 0);
    const confirm = tampered.locator(BANNER_CONFIRM);
    if (await confirm.isVisible()) await confirm.click();
    await tampered.screenshot({ path: join(ARTIFACTS, 'chestaid-tampered-model.png') });
  } finally {
    await context.close();
  }
});

test('no page errors or console errors along the way', () => {
  assert.deepEqual(problems, []);
});

test('patient data stays put: nothing was requested outside the viewer\'s own origin', () => {
  // The model, the ORT runtime and the demo studies are all served by the viewer itself.
  assert.deepEqual(foreignRequests, []);
});
