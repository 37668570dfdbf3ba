// ChestAid's hotkeys end to end, in Debian Chromium against the viewer `npm start` serves, with the
// real demo model: in the ChestAid mode on the two-radiograph demo study, Shift+A analyzes the
// image on screen, Shift+Down / Shift+Up move through the panel's image list, Shift+P and Shift+U
// record the reader's label, and OHIF's Preferences list every ChestAid hotkey beside OHIF's own.
//
//   node --test test/e2e/hotkeys.test.mjs      (screenshot in test/e2e/artifacts/)
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { ARTIFACTS, BANNER_CONFIRM, startSession, watchedPage } from './harness.mjs';

const LABELS = [
  'ChestAid Analyze the image',
  'ChestAid heatmap on/off',
  'ChestAid next image of the study',
  'ChestAid previous image of the study',
  'ChestAid record my reading (pneumonia)',
  'ChestAid record my reading (normal)',
  'ChestAid record my reading (unsure)',
];

let viewer;
let browser;
let page;
let studies;
const problems = [];
const foreignRequests = [];

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

const rows = () => page.locator('[data-cy="chestaid-image-row"]');
const activeSop = () => page.locator('[data-cy="chestaid-image-row"]:has(button[aria-current="true"])').getAttribute('data-sop');

test('Shift+A analyzes, Shift+Down/Up move through the image list, Shift+P/U record the reading', async () => {
  const study = studies.find(s => s.PatientName.startsWith('SYNTHETIC^TWO'));
  assert.ok(study, 'the synthetic two-radiograph study');
  // The first page load compiles and loads the viewer: slow on a busy machine.
  await page.goto(`${viewer.url}/chestaid?StudyInstanceUIDs=${study.StudyInstanceUID}`, { timeout: 240_000 });
  await page.locator('[data-cy="chestaid-analyze"]:not([disabled])').waitFor();
  await page.waitForFunction(() => window.cornerstone?.getEnabledElements?.()[0]?.viewport?.getCornerstoneImage?.(), null, { timeout: 180_000 });
  await page.evaluate(selector => document.querySelector(selector)?.click(), BANNER_CONFIRM);
  assert.equal(await rows().count(), 2);
  const [first, second] = await rows().evaluateAll(els => els.map(el => el.dataset.sop));
  await page.locator('[data-cy="chestaid-image-row"] button[aria-current="true"]').waitFor();
  assert.equal(await activeSop(), first);

  await page.keyboard.press('Shift+A');
  await page.locator('[data-cy="chestaid-score"]').waitFor({ timeout: 180_000 });
  assert.equal(await page.locator(`[data-cy="chestaid-image-row"][data-sop="${first}"]`).getAttribute('data-status'), 'done');

  await page.keyboard.press('Shift+ArrowDown');
  await page.locator(`[data-cy="chestaid-image-row"][data-sop="${second}"] button[aria-current="true"]`).waitFor();
  await page.keyboard.press('Shift+ArrowDown'); // the last image: stays
  await page.keyboard.press('Shift+ArrowUp');
  await page.locator(`[data-cy="chestaid-image-row"][data-sop="${first}"] button[aria-current="true"]`).waitFor();
  await page.locator('[data-cy="chestaid-score"]').waitFor();

  await page.keyboard.press('Shift+P');
  await page.locator('[data-cy="chestaid-feedback-mine"][data-label="pneumonia"]').waitFor();
  await page.keyboard.press('Shift+U');
  await page.locator('[data-cy="chestaid-feedback-mine"][data-label="unsure"]').waitFor();
});

test("OHIF's Preferences list every ChestAid hotkey", async () => {
  await page.locator('button[aria-haspopup="menu"]').last().click();
  await page.getByRole('menuitem', { name: 'Preferences' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByText('Hotkeys', { exact: true }).waitFor();
  for (const label of LABELS) {
    const name = dialog.getByText(label, { exact: true });
    await name.waitFor();
    assert.equal(await name.count(), 1, `${label} is listed once`);
  }
  await page.screenshot({ path: join(ARTIFACTS, 'hotkeys-preferences.png') });
  await page.keyboard.press('Escape');
});

test('nothing went wrong in the page', () => {
  assert.deepEqual(problems, []);
  assert.deepEqual(foreignRequests, []);
});
