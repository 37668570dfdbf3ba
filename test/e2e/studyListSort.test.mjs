// OHIF's own study list sorted by risk, end to end in Debian Chromium against the viewer `npm start`
// serves, with the real demo model: the list opens in OHIF's order and keeps it while results are
// read and scores arrive; a click on the "Pneumonia risk" header's sort arrow orders it by score
// (highest first, the studies without a current score after them), a second click lowest first,
// a third OHIF's order again. Scores are never written here: the demo studies are analyzed by
// "Analyze all" and checked against test/demo-studies/index.json's expected values.
//
//   node --test test/e2e/studyListSort.test.mjs      (screenshots in test/e2e/artifacts/)
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { ARTIFACTS, ROOT, startSession, watchedPage } from './harness.mjs';

const TRIAGE_PATH = '/chestaid-triage';
const demoIndex = JSON.parse(readFileSync(join(ROOT, 'test/demo-studies/index.json'), 'utf8'));
const THRESHOLD = demoIndex.model.threshold;
const UNSCORED_ORDER = ['unverified', 'failed', 'refused', 'stale', 'unanalyzed', 'not-applicable', 'reading'];

const cy = name => `[data-cy="${name}"]`;
const SORT_RISK = 'button[aria-label="Sort Pneumonia risk"]';

let viewer;
let browser;
let page;
let studies;
let ohifOrder; // the list's order as OHIF opens it
const problems = [];
const foreignRequests = [];

before(
  async () => {
    ({ viewer, studies, browser } = await startSession());
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    page = await watchedPage(context, { viewerUrl: viewer.url, problems, foreignRequests });
  },
  { timeout: 300_000 },
);

after(async () => {
  await browser?.close();
  await viewer?.stop();
});

/** The study list's rows, top to bottom, as its risk cells say them. */
function readList() {
  return page.locator(cy('chestaid-risk')).evaluateAll(cells =>
    cells.map(cell => ({
      uid: cell.dataset.studyUid,
      status: cell.dataset.status,
      probability: cell.dataset.probability === undefined ? null : Number(cell.dataset.probability),
    })),
  );
}

/** The rows once every study is listed and read, and two reads a second apart agree. */
async function settledList(timeout = 60_000) {
  const deadline = Date.now() + timeout;
  let last = null;
  while (Date.now() < deadline) {
    const rows = await readList();
    const complete = rows.length === studies.length && rows.every(r => r.status !== 'reading');
    if (complete && last && JSON.stringify(rows) === JSON.stringify(last)) return rows;
    last = complete ? rows : null;
    await page.waitForTimeout(1000);
  }
  throw new Error(`the study list did not settle: ${JSON.stringify(await readList())}`);
}

const uids = rows => rows.map(r => r.uid);

/** Scored rows first, in `direction`; then the rest by group; returns the scored rows. */
function assertRiskOrder(rows, direction) {
  const scored = rows.filter(r => r.status === 'scored');
  assert.deepEqual(rows.slice(0, scored.length), scored, 'every scored study comes before every study without a current score');
  for (let i = 1; i < scored.length; i++) {
    const [a, b] = [scored[i - 1].probability, scored[i].probability];
    assert.ok(direction === 'desc' ? a >= b : a <= b, `${direction}: ${a} then ${b} at row ${i}`);
  }
  const rest = rows.slice(scored.length).map(r => UNSCORED_ORDER.indexOf(r.status));
  assert.ok(rest.every(rank => rank >= 0), `known statuses: ${rows.map(r => r.status)}`);
  assert.deepEqual(rest, [...rest].sort((x, y) => x - y), 'the unscored groups in the stated order');
  return scored;
}

async function clickRisk(direction) {
  await page.locator(SORT_RISK).click();
  await page.waitForURL(url => (direction ? url.searchParams.get('sortBy') === 'chestaidRisk' && url.searchParams.get('sortDirection') === direction : !url.searchParams.has('sortBy')));
  return settledList();
}

test("the study list opens in OHIF's order, newest first, and reading its results moves nothing", async () => {
  // The first page load compiles and loads the viewer: slow on a busy machine.
  await page.goto(`${viewer.url}/`, { timeout: 240_000 });
  await page.locator(cy('chestaid-risk-header')).waitFor();
  await page.locator(SORT_RISK).waitFor();
  const first = await readList();
  ohifOrder = uids(await settledList());
  assert.deepEqual(uids(first).filter(uid => ohifOrder.includes(uid)), ohifOrder.slice(0, first.length), 'no row moved while results were read');
  // As triage.test.mjs reads it: the radiographs newest first (the CT sits wherever its date puts it).
  const byDate = studies.filter(s => s.Modalities === 'CR').sort((a, b) => `${b.StudyDate}${b.StudyTime}`.localeCompare(`${a.StudyDate}${a.StudyTime}`));
  assert.deepEqual(ohifOrder.filter(uid => byDate.some(s => s.StudyInstanceUID === uid)), byDate.map(s => s.StudyInstanceUID), "OHIF's order: newest study first");
  assert.equal(new URL(page.url()).searchParams.has('sortBy'), false);
});

test('Analyze all scores the demo studies; back in the list, the scores arrive and nothing moves', { timeout: 600_000 }, async () => {
  await page.goto(`${viewer.url}${TRIAGE_PATH}`);
  await page.locator(cy('chestaid-triage-analyze-all')).click();
  const end = page.locator(`${cy('chestaid-triage-batch')}[data-status="finished"], ${cy('chestaid-triage-batch')}[data-status="error"], ${cy('chestaid-triage-batch')}[data-status="cancelled"]`);
  await end.waitFor({ timeout: 540_000 });
  assert.equal(await end.getAttribute('data-status'), 'finished', await end.innerText());

  await page.goto(`${viewer.url}/`);
  const rows = await settledList();
  for (const demo of demoIndex.studies) {
    const row = rows.find(r => r.uid === demo.StudyInstanceUID);
    assert.ok(row, `${demo.name} is listed`);
    assert.equal(row.status, 'scored', demo.name);
    assert.ok(Math.abs(row.probability - demo.expected.probability) <= 1e-3, `${demo.name}: p ${row.probability}, index.json ${demo.expected.probability}`);
  }
  assert.deepEqual(uids(rows), ohifOrder, 'with every score in, the list keeps the order OHIF opened it in');
  await page.waitForTimeout(2000);
  assert.deepEqual(uids(await readList()), ohifOrder, 'and still does a moment later');
});

test('clicking the risk header sorts by score, highest first; again, lowest first; a third time, OHIF\'s order', async () => {
  const arrow = () => page.locator(SORT_RISK).innerHTML();
  const unsortedArrow = await arrow();

  const desc = await clickRisk('desc');
  const scoredDesc = assertRiskOrder(desc, 'desc');
  assert.notEqual(await arrow(), unsortedArrow, "OHIF's arrow shows the sort");
  // Every PNEUMONIA study above every NORMAL one scored below the threshold, when index.json says it should be.
  const position = uid => desc.findIndex(r => r.uid === uid);
  const pneumonia = demoIndex.studies.filter(s => s.label === 'PNEUMONIA');
  const normalBelow = demoIndex.studies.filter(s => s.label === 'NORMAL' && !s.expected.above_threshold);
  assert.ok(pneumonia.length > 0 && normalBelow.length > 0, 'both kinds are among the demo studies');
  const expected = Math.min(...pneumonia.map(s => s.expected.probability)) > Math.max(...normalBelow.map(s => s.expected.probability));
  const shown = Math.max(...pneumonia.map(s => position(s.StudyInstanceUID))) < Math.min(...normalBelow.map(s => position(s.StudyInstanceUID)));
  assert.equal(shown, expected, `every PNEUMONIA above every NORMAL below the threshold ${THRESHOLD}: index.json says ${expected}`);
  await page.screenshot({ path: join(ARTIFACTS, 'study-list-by-risk.png') });
  await page.waitForTimeout(2000);
  assert.deepEqual(uids(await readList()), uids(desc), 'the sorted list stays still without another click');

  const asc = await clickRisk('asc');
  const scoredAsc = assertRiskOrder(asc, 'asc');
  assert.notEqual(await arrow(), unsortedArrow);
  assert.deepEqual(new Set(uids(scoredAsc)), new Set(uids(scoredDesc)));
  assert.deepEqual(scoredAsc.map(r => r.probability), [...scoredDesc].reverse().map(r => r.probability), 'the scores reversed');
  assert.deepEqual(uids(asc.slice(scoredAsc.length)), uids(desc.slice(scoredDesc.length)), 'the unscored rows stay after them, as before');

  const back = await clickRisk(null);
  assert.deepEqual(uids(back), ohifOrder, "OHIF's order again");
  assert.equal(await arrow(), unsortedArrow);
});

test('nothing went wrong in the page', () => {
  assert.deepEqual(problems, []);
  assert.deepEqual(foreignRequests, []);
});
