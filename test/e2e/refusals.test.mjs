// The intended-use gate and the input check end to end, in Debian Chromium against the viewer `npm
// start` serves, with the real demo model: synthetic studies the model card excludes (a lateral
// view, a FOR PROCESSING DX, an infant's study) and images that are no chest radiograph under the
// tags of one (one per out-of-distribution class of the training report: CT, MR, hand, knee,
// lateral, inverted and rotated chests, a photograph, noise, a pattern), all from
// scripts/make-demo-studies.mjs REFUSED_STUDIES, listed through CHESTAID_EXTRA_STUDIES=refused, are
//  - in the panel: "Not analyzed: <reason>" after Analyze, no score, no green "below threshold",
//    no heatmap (the layer's controls and the viewport's layer absent), no Save to PACS;
//  - on the triage page after "Analyze all": the reason in place of a score, in the group of
//    studies not analyzed, below every scored study and never ranked; and in the study list's
//    risk column the same words.
//
//   npm run test:e2e        (screenshots in test/e2e/artifacts/)
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { REFUSED_STUDIES, writeRefusedStudies } from '../../scripts/make-demo-studies.mjs';
import { ARTIFACTS, startPageSession } from './harness.mjs';

const PANEL = '[data-cy="chestaid-panel"]';
const TRIAGE_PATH = '/chestaid-triage';
const ROW = '[data-cy="chestaid-triage-row"]';
const BATCH = '[data-cy="chestaid-triage-batch"]';
const cy = name => `[data-cy="${name}"]`;

let viewer;
let browser;
let page;
let studies;
let cases;
const problems = [];
const foreignRequests = [];

before(
  async () => {
    cases = writeRefusedStudies();
    process.env.CHESTAID_EXTRA_STUDIES = REFUSED_STUDIES.folder;
    ({ viewer, browser, page, studies } = await startPageSession({ viewport: { width: 1400, height: 1000 }, problems, foreignRequests }));
  },
  { timeout: 300_000 },
);

after(async () => {
  delete process.env.CHESTAID_EXTRA_STUDIES;
  await browser?.close();
  await viewer?.stop();
});

test('the study list holds the studies the model card or the input check excludes', () => {
  for (const kase of cases) assert.ok(studies.some(s => s.StudyInstanceUID === kase.studyInstanceUID), `${kase.name} listed`);
});

test('the panel shows "Not analyzed: <reason>" for each, with no score, heatmap or Save to PACS', async () => {
  for (const kase of cases) {
    await page.goto(`${viewer.url}/chestaid?StudyInstanceUIDs=${kase.studyInstanceUID}`);
    await page.locator(`${PANEL} [data-cy="chestaid-analyze"]:not([disabled])`).waitFor();
    await page.waitForFunction(() => window.cornerstone?.getEnabledElements?.()[0]?.viewport?.getCornerstoneImage?.());
    await page.locator(`${PANEL} [data-cy="chestaid-analyze"]`).click();
    const notice = page.locator(`${PANEL} ${cy('chestaid-not-analyzed')}`);
    await page.locator(`${PANEL} ${cy('chestaid-not-analyzed')}, ${PANEL} ${cy('chestaid-result')}, ${PANEL} [data-cy="chestaid-status"][role="alert"]`).first().waitFor({ timeout: 120_000 });
    assert.equal(await notice.count(), 1, `${kase.name}: ${await page.locator(`${PANEL} ${cy('chestaid-status')}`).innerText()}`);
    assert.equal(await notice.getAttribute('data-code'), kase.code);
    const text = await notice.innerText();
    assert.match(text.replace(/^Not analyzed: /, ''), kase.reason, kase.name);
    assert.ok(text.startsWith('Not analyzed: '), text);
    const panelText = await page.locator(PANEL).innerText();
    assert.doesNotMatch(panelText, /Risk score|(above|below) the clinical threshold|read first/i, `${kase.name}: no score in the panel`);
    assert.equal(await page.locator(`${PANEL} ${cy('chestaid-result')}`).count(), 0);
    assert.equal(await page.locator(`${PANEL} ${cy('chestaid-heatmap')}`).count(), 0, 'no heatmap controls');
    assert.equal(await page.locator(`${PANEL} ${cy('chestaid-feedback')}`).count(), 0, 'no feedback on a result that does not exist');
    const save = page.locator(`${PANEL} ${cy('chestaid-save-pacs')}`);
    assert.ok((await save.count()) === 0 || (await save.isDisabled()), 'Save to PACS unavailable');
    const row = page.locator(`${PANEL} ${cy('chestaid-image-row')}[data-sop="${kase.sopInstanceUID}"]`);
    assert.equal(await row.getAttribute('data-status'), 'not-analyzed');
    assert.match(await row.innerText(), /Not analyzed: /);
    await page.screenshot({ path: join(ARTIFACTS, `refused-panel-${kase.name}.png`) });
  }
});

test('the triage page shows the reason in place of a score after Analyze all, never ranked; the study list too', async () => {
  await page.goto(`${viewer.url}${TRIAGE_PATH}`);
  await page.locator(cy('chestaid-triage-list')).waitFor();
  await page.locator(cy('chestaid-triage-analyze-all')).click();
  const end = page.locator(`${BATCH}[data-status="finished"], ${BATCH}[data-status="cancelled"], ${BATCH}[data-status="error"]`);
  await end.waitFor({ timeout: 400_000 });
  assert.equal(await end.getAttribute('data-status'), 'finished', await end.innerText());

  await page.locator(`${cy('chestaid-triage-order-risk')}`).click();
  const rows = await page.locator(ROW).evaluateAll(els =>
    els.map(row => ({
      uid: row.dataset.studyUid,
      group: row.dataset.group,
      status: row.dataset.status,
      probability: row.dataset.probability,
      risk: row.querySelector('[data-cy="chestaid-triage-risk"]').innerText,
    })),
  );
  for (const kase of cases) {
    const row = rows.find(r => r.uid === kase.studyInstanceUID);
    assert.ok(row, `${kase.name} on the triage page`);
    assert.equal(row.status, 'refused', `${kase.name}: ${row.risk}`);
    assert.equal(row.group, 'refused');
    assert.equal(row.probability, undefined, `${kase.name} has no score`);
    // The label, then the detail line under it.
    const [label, detail] = row.risk.split('\n');
    assert.ok(label.startsWith('Not analyzed: '), row.risk);
    assert.match(label.replace(/^Not analyzed: /, '').trim(), kase.reason);
    assert.equal(detail, 'The model card excludes this image: read it without ChestAid');
  }
  // Below every scored study (and the failed ones), never among them.
  const lastScored = rows.map(r => r.group).lastIndexOf('scored');
  const firstRefused = rows.findIndex(r => r.group === 'refused');
  assert.ok(lastScored >= 0 && firstRefused > lastScored, `refused rows start at ${firstRefused}, after the last scored row ${lastScored}`);
  const group = page.locator(`${cy('chestaid-triage-group')}[data-group="refused"]`);
  assert.match(await group.innerText(), new RegExp(`^Not analyzed: .*\\(${cases.length}\\)$`));
  await page.screenshot({ path: join(ARTIFACTS, 'refused-triage.png'), fullPage: true });

  await page.goto(`${viewer.url}/`);
  for (const kase of cases) {
    const cell = page.locator(`${cy('chestaid-risk')}[data-study-uid="${kase.studyInstanceUID}"]`);
    await page.locator(`${cy('chestaid-risk')}[data-study-uid="${kase.studyInstanceUID}"]`, { hasText: 'Not analyzed: ' }).waitFor();
    assert.equal(await cell.getAttribute('data-status'), 'refused');
    assert.match((await cell.innerText()).replace(/^Not analyzed: /, '').trim(), kase.reason);
  }
});

test('nothing failed in the page and no request left the origin', () => {
  assert.deepEqual(problems, []);
  assert.deepEqual(foreignRequests, []);
});
