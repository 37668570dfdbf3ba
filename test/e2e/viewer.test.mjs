// The viewer end to end, as `npm start` serves it: the study list shows the demo studies from the
// DICOM JSON document, a demo radiograph opens in the ChestAid mode with its panel, the page is
// cross-origin isolated, and the synthetic CT is refused with the reason.
//
//   npm run test:e2e        (screenshots in test/e2e/artifacts/)
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { launchChromium, ROOT, startViewer } from './harness.mjs';

const ARTIFACTS = join(ROOT, 'test/e2e/artifacts');
const BANNER_CONFIRM = '[data-cy="confirm-and-hide-button"]';
const demoIndex = JSON.parse(readFileSync(join(ROOT, 'test/demo-studies/index.json'), 'utf8'));

let viewer;
let browser;
let page;
let studies; // the DICOM JSON document the viewer serves
const problems = [];

before(
  async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    viewer = await startViewer();
    studies = (await (await fetch(`${viewer.url}/chestaid/demo/studies.json`)).json()).studies;
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.setDefaultTimeout(60_000);
    await page.addLocatorHandler(page.locator(BANNER_CONFIRM), confirm => confirm.click());
    page.on('pageerror', error => problems.push(`page error: ${error.message}`));
    page.on('console', message => {
      if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
    });
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
  assert.equal(studies.length, demoIndex.studies.length + 1, 'the document lists the demo studies plus one CT');
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

  // Analyze runs the command and the panel reports an outcome (a score, or why there is none).
  const status = panel.locator('[data-cy="chestaid-status"]');
  const idle = await status.innerText();
  await page.locator('[data-cy="ChestAidAnalyze-btn"]').click();
  await page.waitForFunction(
    ([selector, before]) => document.querySelector(selector)?.textContent !== before,
    ['[data-cy="chestaid-status"]', idle],
  );
  t.diagnostic(`after Analyze: ${await status.innerText()}`);

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

test('no page errors or console errors along the way', () => {
  assert.deepEqual(problems, []);
});
