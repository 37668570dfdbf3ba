// The PACS round trip, viewer side, in Debian Chromium: a real Orthanc (test/pacs/orthanc.mjs)
// holds the demo studies; the viewer runs with CHESTAID_DATA_SOURCE=pacs against it. The real demo
// model scores three radiographs in the panel and Save to PACS writes their ChestAid SRs (read
// back in Node with the dicom module: the stored score is the one shown). Then the study list
// served from Orthanc shows those scores in its risk column, the triage page sorts by them, a
// second reader (a fresh browser profile, empty IndexedDB) sees the same, Save to PACS twice
// writes one SR, and a PACS that goes down gives a clear message while the result stays.
// Finally OHIF's stock Basic Viewer opens a study with its SR (screenshots in test/e2e/artifacts/).
//
//   npm run test:e2e
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { requireBuilt } from '../../scripts/node-build.mjs';
import { loadDemoStudies, startOrthanc } from '../pacs/orthanc.mjs';
import { ARTIFACTS, BANNER_CONFIRM, startSession, watchedPage } from './harness.mjs';

const TRIAGE_PATH = '/chestaid-triage';
const cy = name => `[data-cy="${name}"]`;
const SR_DESCRIPTION = 'ChestAid AI result';

let orthanc;
let viewer;
let browser;
let page; // the first reader
let studies; // the studies the PACS holds, from QIDO-RS: { uid, modalities, name }
const problems = [];
const foreignRequests = [];
/** studyUID -> { probability, sr } of the studies scored and saved in this run. */
const saved = new Map();

const dicom = () => requireBuilt('extension/src/dicom/index');

before(
  async () => {
    orthanc = await startOrthanc();
    await loadDemoStudies(orthanc.client);
    const found = await orthanc.client.searchStudies({ includefield: ['00080061', '00100010'] });
    studies = found.map(s => ({
      uid: s['0020000D'].Value[0],
      modalities: (s['00080061']?.Value ?? []).join('\\'),
      name: s['00100010']?.Value?.[0]?.Alphabetic ?? '',
    }));
    ({ viewer, browser } = await startSession({ env: { CHESTAID_DATA_SOURCE: 'pacs', CHESTAID_PACS_URL: orthanc.url } }));
    page = await newReader();
  },
  { timeout: 300_000 },
);

after(async () => {
  await browser?.close();
  await viewer?.stop();
  await orthanc?.stop();
});

/** A reader: a fresh browser profile (its own, empty IndexedDB). */
async function newReader({ expectedFailures = [] } = {}) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  return watchedPage(context, { viewerUrl: viewer.url, problems, foreignRequests, expectedFailures });
}

async function dismissBanner(p) {
  const confirm = p.locator(BANNER_CONFIRM);
  if (await confirm.isVisible()) await confirm.click();
}

const radiographs = () => studies.filter(s => s.modalities.split('\\').some(m => m === 'CR' || m === 'DX'));

/** The ChestAid SR instances the PACS holds for a study, read in Node with the dicom module. */
async function srsOf(studyUID) {
  const series = await orthanc.client.searchSeries(studyUID, { Modality: 'SR', includefield: '0008103E' });
  const ours = series.filter(s => s['0008103E']?.Value?.[0] === SR_DESCRIPTION);
  const found = [];
  for (const s of ours) {
    for (const instance of await orthanc.client.retrieveSeriesMetadata(studyUID, s['0020000E'].Value[0])) {
      found.push({ sop: instance['00080018'].Value[0], content: dicom().readResultSr(instance) });
    }
  }
  return found;
}

/** Opens a study in the ChestAid mode, analyses the image on screen, and returns its score. */
async function analyse(p, studyUID) {
  await p.goto(`${viewer.url}/chestaid?StudyInstanceUIDs=${studyUID}`);
  const panel = p.locator(cy('chestaid-panel'));
  await panel.locator(`${cy('chestaid-analyze')}:not([disabled])`).waitFor({ timeout: 120_000 });
  // The image must be on screen before Analyze has a target.
  await p.waitForFunction(() => Boolean(window.cornerstone?.getEnabledElements?.()[0]?.viewport?.getCornerstoneImage?.()), null, { timeout: 120_000 });
  await panel.locator(cy('chestaid-analyze')).click();
  const score = panel.locator(cy('chestaid-score'));
  await score.waitFor({ timeout: 180_000 });
  return Number(await score.getAttribute('data-probability'));
}

test('the study list comes from Orthanc, with the risk column', async () => {
  assert.ok(radiographs().length >= 3, `the PACS holds at least three radiograph studies (${radiographs().length})`);
  await page.goto(`${viewer.url}/`);
  await page.locator(cy('chestaid-risk-header')).waitFor();
  for (const study of radiographs()) {
    await page.locator(`${cy('chestaid-risk')}[data-study-uid="${study.uid}"]`, { hasText: 'not analysed' }).waitFor();
  }
  await dismissBanner(page);
  await page.screenshot({ path: join(ARTIFACTS, 'pacs-study-list-before.png') });
});

test('Analyze and Save to PACS store a ChestAid SR whose score is the one shown', async () => {
  for (const study of radiographs().slice(0, 3)) {
    const probability = await analyse(page, study.uid);
    const panel = page.locator(cy('chestaid-panel'));
    await panel.locator(`${cy('chestaid-save-pacs')}:not([disabled])`).click();
    const status = panel.locator(`${cy('chestaid-pacs-status')}[data-sr]`);
    await status.waitFor({ timeout: 60_000 });
    const text = await status.innerText();
    const sr = await status.getAttribute('data-sr');
    assert.match(text, new RegExp(`^Saved to the PACS as DICOM SR ${sr.replace(/\./g, '\\.')}\\.`));
    const srs = await srsOf(study.uid);
    assert.equal(srs.length, 1, `one SR in ${study.uid}`);
    assert.equal(srs[0].sop, sr);
    // DS holds 16 characters: the score round-trips to ~1e-14.
    assert.ok(Math.abs(srs[0].content.score - probability) < 1e-9, `the SR holds the score the panel shows: ${srs[0].content.score} vs ${probability}`);
    saved.set(study.uid, { probability, sr });
  }
  await dismissBanner(page);
  await page.screenshot({ path: join(ARTIFACTS, 'pacs-saved.png') });
});
