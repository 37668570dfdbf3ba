// The triage worklist end to end, in Debian Chromium against the viewer `npm start` serves, with
// the real demo model: the study list's "Pneumonia risk" column, the triage page, "Analyze all"
// over every demo study (both classes), the order by risk against index.json's ground truth, a
// reload that keeps the scores without re-running, a row that opens with its result in the panel,
// the usual order back in one click, stale results after a calibration change, and bad input (a
// fetch failure, a corrupt file) marked with its reason while the batch goes on, is cancelled,
// holds its rows still under the pointer and resumes after a reload.
//
// Prints the batch's throughput (studies per minute, from the batch's own timing in the page)
// and the longest main-thread task during the batch (a PerformanceObserver on 'longtask').
//
//   npm run test:e2e        (screenshots in test/e2e/artifacts/)
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { ARTIFACTS, BANNER_CONFIRM, ROOT, startSession, storedRecords, watchedPage } from './harness.mjs';

const TRIAGE_PATH = '/chestaid-triage';
const demoIndex = JSON.parse(readFileSync(join(ROOT, 'test/demo-studies/index.json'), 'utf8'));
const THRESHOLD = demoIndex.model.threshold;

const ROW = '[data-cy="chestaid-triage-row"]';
const BATCH = '[data-cy="chestaid-triage-batch"]';
const cy = name => `[data-cy="${name}"]`;

// Recorded in every page before any script runs: long tasks on the main thread (the Long Tasks
// API reports those of 50 ms and more), and, to see below that, the gaps between turns of a
// zero-delay timer loop (a gap is at least as long as the task that caused it, plus ~4 ms).
const LONG_TASK_OBSERVER = () => {
  window.__chestaidLongTasks = [];
  window.__chestaidGaps = [];
  try {
    new PerformanceObserver(list => {
      for (const entry of list.getEntries()) window.__chestaidLongTasks.push({ start: entry.startTime, duration: entry.duration });
    }).observe({ type: 'longtask', buffered: true });
  } catch {
    window.__chestaidLongTasks = null;
  }
  let last = performance.now();
  const tick = () => {
    const now = performance.now();
    if (now - last > 8) window.__chestaidGaps.push({ start: last, duration: now - last });
    last = now;
    setTimeout(tick, 0);
  };
  setTimeout(tick, 0);
};

let viewer;
let browser;
let page; // the main context: a fresh browser profile, so an empty result store
let studies; // the DICOM JSON document the viewer serves
const problems = [];
const foreignRequests = [];

async function newWatchedPage(context, { expectedFailures = [] } = {}) {
  const p = await watchedPage(context, { viewerUrl: viewer.url, problems, foreignRequests, expectedFailures });
  await p.addInitScript(LONG_TASK_OBSERVER);
  return p;
}

before(
  async () => {
    ({ viewer, studies, browser } = await startSession());
    page = await newWatchedPage(await browser.newContext({ viewport: { width: 1400, height: 900 } }));
  },
  { timeout: 300_000 },
);

after(async () => {
  await browser?.close();
  await viewer?.stop();
});

const crStudies = () => studies.filter(study => study.Modalities === 'CR');
const demoOf = uid => demoIndex.studies.find(s => s.StudyInstanceUID === uid);

async function dismissBanner(p = page) {
  const confirm = p.locator(BANNER_CONFIRM);
  if (await confirm.isVisible()) await confirm.click();
}

/** The triage page's rows, top to bottom. */
function readRows(p = page) {
  return p.locator(ROW).evaluateAll(rows =>
    rows.map(row => ({
      uid: row.dataset.studyUid,
      group: row.dataset.group,
      status: row.dataset.status,
      probability: row.dataset.probability === undefined ? null : Number(row.dataset.probability),
      analyzedAt: row.dataset.analyzedAt === undefined ? null : Number(row.dataset.analyzedAt),
      date: row.dataset.date,
      risk: row.querySelector('[data-cy="chestaid-triage-risk"]').innerText,
    })),
  );
}

async function openTriage(p = page) {
  await p.goto(`${viewer.url}${TRIAGE_PATH}`);
  await p.locator(cy('chestaid-triage-list')).waitFor();
}

/** Waits for the batch to end and returns its summary as the page shows it. */
async function batchEnd(p = page, timeout = 300_000) {
  const line = p.locator(`${BATCH}[data-status="finished"], ${BATCH}[data-status="cancelled"], ${BATCH}[data-status="error"]`);
  await line.waitFor({ timeout });
  return line.evaluate(el => ({
    status: el.dataset.status,
    text: el.innerText,
    analyzed: Number(el.dataset.analyzed),
    elapsedMs: Number(el.dataset.elapsedMs),
    startedAt: Number(el.dataset.startedAt),
    finishedAt: Number(el.dataset.finishedAt),
  }));
}


/** Checks the order of risk: groups in order, scores never rising, equal scores newest first. */
function assertRiskOrder(rows) {
  const groups = ['scored', 'unverified', 'failed', 'refused', 'stale', 'unanalyzed', 'not-applicable'];
  for (let i = 1; i < rows.length; i++) {
    const [a, b] = [rows[i - 1], rows[i]];
    const rank = groups.indexOf(b.group) - groups.indexOf(a.group);
    assert.ok(rank >= 0, `${a.uid} (${a.group}) sits above ${b.uid} (${b.group})`);
    if (rank === 0 && a.group === 'scored') {
      assert.ok(a.probability >= b.probability, `score ${a.probability} above ${b.probability}`);
      if (a.probability === b.probability) assert.ok(a.date >= b.date, `equal scores: ${a.date} should be newer than ${b.date}`);
    }
  }
}

test('the study list has a Pneumonia risk column: "not analyzed" for every radiograph, "no CR/DX image" for the CT', async () => {
  await page.goto(`${viewer.url}/`);
  await page.locator(cy('chestaid-risk-header')).waitFor();
  assert.match(await page.locator(cy('chestaid-risk-header')).innerText(), /^Pneumonia risk\s+Triage$/);
  for (const study of studies) {
    const cell = page.locator(`${cy('chestaid-risk')}[data-study-uid="${study.StudyInstanceUID}"]`);
    const expected = study.Modalities === 'CR' ? 'not analyzed' : 'no CR/DX image';
    await page.locator(`${cy('chestaid-risk')}[data-study-uid="${study.StudyInstanceUID}"]`, { hasText: expected }).waitFor();
    assert.equal(await cell.innerText(), expected);
  }
  await dismissBanner();
  await page.screenshot({ path: join(ARTIFACTS, 'triage-study-list-before.png') });
});

test('the triage page is reached from the study list and shows every study, the unanalyzed ones grouped', async () => {
  await page.locator(cy('chestaid-open-triage')).click();
  await page.waitForURL(url => url.pathname === TRIAGE_PATH);
  await page.locator(cy('chestaid-triage-list')).waitFor();
  const rows = await readRows();
  assert.equal(rows.length, studies.length, 'every study of the list is on the page');
  assert.deepEqual(new Set(rows.map(r => r.uid)), new Set(studies.map(s => s.StudyInstanceUID)));
  const groups = await page.locator(cy('chestaid-triage-group')).evaluateAll(els => els.map(el => [el.dataset.group, el.innerText]));
  assert.deepEqual(groups, [
    ['unanalyzed', `Not analyzed yet (${crStudies().length})`],
    ['not-applicable', 'No CR/DX image: ChestAid does not read these (1)'],
  ]);
  assert.equal(await page.locator(cy('chestaid-triage-disclaimer')).innerText(), 'Decision support, not a diagnosis. Every study stays on this list and is read by a radiologist.');
});

test('Analyze all scores every demo study in the worker, with progress, and the page orders them by risk', async t => {
  // The demo studies with their ground truth; the synthetic two-radiograph study is scored too.
  const picked = crStudies().map(s => demoOf(s.StudyInstanceUID)).filter(Boolean);
  assert.ok(picked.length >= 20, `at least 20 demo studies (${picked.length})`);
  assert.ok(['PNEUMONIA', 'NORMAL'].every(label => picked.some(s => s.label === label)), 'both classes');

  await page.locator(cy('chestaid-triage-analyze-all')).click();
  const progress = page.locator(cy('chestaid-triage-progress'));
  await progress.waitFor();
  assert.equal(await progress.getAttribute('role'), 'progressbar');
  await page.locator(BATCH, { hasText: new RegExp(`^\\d+ of ${crStudies().length} studies · `) }).waitFor();
  assert.equal(await page.locator(cy('chestaid-triage-cancel')).isVisible(), true, 'a cancel button while it runs');

  const summary = await batchEnd();
  assert.equal(summary.status, 'finished', summary.text);
  assert.equal(summary.analyzed, crStudies().length);
  const perMinute = summary.analyzed / (summary.elapsedMs / 60_000);
  const during = await page.evaluate(
    ([from, to]) => {
      const within = list => list?.filter(task => task.start + task.duration >= from && task.start <= to);
      return { longTasks: within(window.__chestaidLongTasks), gaps: within(window.__chestaidGaps) };
    },
    [summary.startedAt, summary.finishedAt],
  );
  const { longTasks } = during;
  const widestGap = during.gaps.reduce((max, gap) => Math.max(max, gap.duration), 0);
  assert.ok(Array.isArray(longTasks), 'the browser reports long tasks');
  // The observer works: it saw the viewer's own start-up (megabytes of script to compile).
  const sinceLoad = await page.evaluate(() => window.__chestaidLongTasks.length);
  assert.ok(sinceLoad > 0, 'long tasks recorded since the page loaded');
  const longest = longTasks.reduce((max, task) => Math.max(max, task.duration), 0);
  const when = longTasks.map(task => `${task.duration.toFixed(0)} ms at +${(task.start - summary.startedAt).toFixed(0)} ms`).join(', ');
  const figures =
    `batch: ${summary.analyzed} studies in ${(summary.elapsedMs / 1000).toFixed(1)} s = ${perMinute.toFixed(0)} studies/min; ` +
    `longest main-thread task during the batch ${longest.toFixed(0)} ms (${longTasks.length} tasks of 50 ms or more${when ? `: ${when}` : ''}; ${sinceLoad} since the page loaded), ` +
    `widest gap between timer turns ${widestGap.toFixed(0)} ms`;
  t.diagnostic(figures);
  console.log(`# triage ${figures}`);
  // The page stayed usable: no frame was blocked for long while the model ran in the worker.
  assert.ok(longest < 500 && widestGap < 500, `longest main-thread task ${longest} ms, widest timer gap ${widestGap} ms`);

  const rows = await readRows();
  assert.equal(rows.length, studies.length);
  assertRiskOrder(rows);
  for (const demo of picked) {
    const row = rows.find(r => r.uid === demo.StudyInstanceUID);
    assert.equal(row.status, 'scored', `${demo.name}: ${row.risk}`);
    assert.ok(Math.abs(row.probability - demo.expected.probability) <= 1e-3, `${demo.name}: p ${row.probability}, index.json ${demo.expected.probability}`);
    assert.match(row.risk, demo.expected.above_threshold ? /^\d+\.\d+% \(above threshold \d+\.\d+%\)$/ : /^\d+\.\d+% \(below threshold \d+\.\d+%\)$/);
  }
  // Every PNEUMONIA study scored above the threshold sits above every study scored below it.
  const position = uid => rows.findIndex(r => r.uid === uid);
  const pneumoniaAbove = picked.filter(s => s.label === 'PNEUMONIA').filter(s => rows[position(s.StudyInstanceUID)].probability >= THRESHOLD);
  const below = rows.filter(r => r.status === 'scored' && r.probability < THRESHOLD);
  assert.ok(pneumoniaAbove.length > 0 && below.length > 0, 'both sides of the threshold are present');
  const lowestPneumonia = Math.max(...pneumoniaAbove.map(s => position(s.StudyInstanceUID)));
  const highestBelow = Math.min(...below.map(r => position(r.uid)));
  assert.ok(lowestPneumonia < highestBelow, `PNEUMONIA above the threshold down to row ${lowestPneumonia}, first study below it at row ${highestBelow}`);
  assert.equal(rows.at(-1).group, 'not-applicable', 'the CT stays on the list, last');
  await page.screenshot({ path: join(ARTIFACTS, 'triage-by-risk.png'), fullPage: true });
});

test('the study list shows each score and its side of the threshold, in its usual order', async () => {
  const triageRows = await readRows();
  await page.locator(cy('chestaid-triage-study-list')).click();
  await page.waitForURL(url => url.pathname === '/');
  for (const row of triageRows.filter(r => r.status === 'scored')) {
    const cell = page.locator(`${cy('chestaid-risk')}[data-study-uid="${row.uid}"][data-status="scored"]`);
    await cell.waitFor();
    assert.equal(Number(await cell.getAttribute('data-probability')), row.probability);
    assert.equal(await cell.innerText(), row.risk);
  }
  // The list itself keeps OHIF's order: newest study first.
  const listed = await page.locator(cy('chestaid-risk')).evaluateAll(cells => cells.map(cell => cell.dataset.studyUid));
  const byDate = [...crStudies()].sort((a, b) => `${b.StudyDate}${b.StudyTime}`.localeCompare(`${a.StudyDate}${a.StudyTime}`));
  assert.deepEqual(listed.filter(uid => byDate.some(s => s.StudyInstanceUID === uid)), byDate.map(s => s.StudyInstanceUID));
  await dismissBanner();
  await page.screenshot({ path: join(ARTIFACTS, 'triage-study-list-after.png') });
});

test('a reload keeps the scores without running the model again', async () => {
  await openTriage();
  const before = await readRows();
  await page.reload();
  await page.locator(cy('chestaid-triage-list')).waitFor();
  const after = await readRows();
  assert.deepEqual(after, before, 'the same rows, scores and analysis times');
  assert.equal(await page.locator(BATCH).getAttribute('data-status'), 'idle', 'nothing was resumed');
  await page.locator(cy('chestaid-triage-analyze-all')).click();
  await page.locator(`${BATCH}[data-status="nothing-to-do"]`).waitFor();
  const stored = await storedRecords(page, before[0].uid, ['source', 'status', 'analyzedAt', 'calibrationVersion']);
  assert.deepEqual(stored.map(r => [r.source, r.analyzedAt]), [['batch', before[0].analyzedAt]]);
});

test('a row opens its study in the ChestAid mode on the scored image, with the result in the panel', async () => {
  const top = (await readRows()).find(row => demoOf(row.uid));
  const demo = demoOf(top.uid);
  await page.locator(`${ROW}[data-study-uid="${top.uid}"]`).click();
  await page.waitForURL(url => url.pathname === '/chestaid' && url.searchParams.get('StudyInstanceUIDs') === top.uid);
  const url = new URL(page.url());
  assert.equal(url.searchParams.get('initialSOPInstanceUID'), demo.SOPInstanceUID);
  assert.equal(url.searchParams.get('initialSeriesInstanceUID'), demo.SeriesInstanceUID);
  // The panel shows the stored result: nobody pressed Analyze.
  const score = page.locator('[data-cy="chestaid-panel"] [data-cy="chestaid-score"]');
  await score.waitFor();
  assert.equal(Number(await score.getAttribute('data-probability')), top.probability);
  assert.match(await page.locator('[data-cy="chestaid-panel"] [data-cy="chestaid-decision"]').innerText(), /^Above the clinical threshold/);
  const shown = await page.evaluate(() => window.cornerstone.getEnabledElements()[0]?.viewport?.getCurrentImageId?.());
  assert.equal(shown, studies.find(s => s.StudyInstanceUID === top.uid).series[0].instances[0].url, 'the scored image is on screen');
  const stored = await storedRecords(page, top.uid, ['source', 'status', 'analyzedAt', 'calibrationVersion']);
  assert.deepEqual(stored.map(r => [r.source, r.analyzedAt]), [['batch', top.analyzedAt]], 'the model did not run again');
  await dismissBanner();
  await page.screenshot({ path: join(ARTIFACTS, 'triage-opened-row.png') });
});

test("the mode's Triage button leads back, and the usual order comes back with one click", async () => {
  await page.locator('[data-cy="ChestAidTriage-btn"]').click();
  await page.waitForURL(url => url.pathname === TRIAGE_PATH);
  await page.locator(cy('chestaid-triage-list')).waitFor();
  assert.equal(await page.locator(cy('chestaid-triage-order-risk')).getAttribute('aria-pressed'), 'true');

  await page.locator(cy('chestaid-triage-order-date')).click();
  await page.locator(`${cy('chestaid-triage-list')}[data-order="date"]`).waitFor();
  const rows = await readRows();
  const usual = [...studies].sort((a, b) => `${b.StudyDate}${b.StudyTime}`.localeCompare(`${a.StudyDate}${a.StudyTime}`) || a.StudyInstanceUID.localeCompare(b.StudyInstanceUID));
  assert.deepEqual(rows.map(r => r.uid), usual.map(s => s.StudyInstanceUID));
  assert.equal(await page.locator(cy('chestaid-triage-group')).count(), 0, 'no risk groups in the usual order');
  await page.screenshot({ path: join(ARTIFACTS, 'triage-usual-order.png'), fullPage: true });

  await page.locator(cy('chestaid-triage-order-risk')).click();
  await page.locator(`${cy('chestaid-triage-list')}[data-order="risk"]`).waitFor();
  assertRiskOrder(await readRows());
});

test('a new calibration marks every earlier result stale, in the study list and on the page, never mixed in', async () => {
  const changed = await page.context().newPage();
  try {
    changed.setDefaultTimeout(60_000);
    await changed.addLocatorHandler(changed.locator(BANNER_CONFIRM), confirm => confirm.click());
    await changed.route('**/models/chestaid-demo/manifest.json', async route => {
      const response = await route.fetch();
      const json = await response.json();
      json.calibration.version = `${json.calibration.version}-recalibrated`;
      await route.fulfill({ response, json });
    });
    await openTriage(changed);
    await changed.locator(`${ROW}[data-status="stale"]`).first().waitFor();
    const rows = await readRows(changed);
    assert.deepEqual(
      rows.map(r => r.status),
      [...crStudies().map(() => 'stale'), 'not-applicable'],
    );
    assert.ok(rows.every(r => r.probability === null), 'no stale score is ranked');
    await changed.screenshot({ path: join(ARTIFACTS, 'triage-stale.png') });
    await changed.goto(`${viewer.url}/`);
    await changed.locator(`${cy('chestaid-risk')}[data-status="stale"]`).first().waitFor();
    assert.equal(await changed.locator(`${cy('chestaid-risk')}[data-status="stale"]`).count(), crStudies().length);
    assert.equal(await changed.locator(`${cy('chestaid-risk')}[data-status="stale"]`).first().innerText(), 'stale');
  } finally {
    await changed.close();
  }
});

// --- Bad input, cancel, rows held under the pointer, resume after a reload: a second profile ----

/** Two demo studies this part breaks: one's file does not arrive, the other's is not DICOM. */
const unreachable = () => crStudies()[3];
const corrupt = () => crStudies()[8];
const fileOf = study => study.series[0].instances[0].url.replace(/^dicomweb:/, '');

let broken; // a page in a fresh profile whose data source is slow and partly broken
const brokenFiles = () => [fileOf(unreachable()), fileOf(corrupt())];

test('bad input: a fetch failure and a corrupt file are marked on their rows with the reason; cancel keeps what was scored', async () => {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  broken = await newWatchedPage(context, { expectedFailures: brokenFiles() });
  await broken.route('**/chestaid/demo/dicom/*.dcm', async route => {
    const path = new URL(route.request().url()).pathname;
    if (path === fileOf(unreachable())) return route.abort('connectionfailed');
    // A slow archive: the batch lasts long enough to be cancelled, hovered and reloaded.
    await new Promise(done => setTimeout(done, 250));
    if (path === fileOf(corrupt())) return route.fulfill({ status: 200, contentType: 'application/dicom', body: Buffer.from('this is not a DICOM file') });
    return route.fallback();
  });
  await openTriage(broken);

  await broken.locator(cy('chestaid-triage-analyze-all')).click();
  await broken.locator(`${ROW}[data-status="scored"]`).nth(1).waitFor({ timeout: 120_000 });
  await broken.locator(cy('chestaid-triage-cancel')).click();
  const summary = await batchEnd(broken);
  assert.equal(summary.status, 'cancelled', summary.text);
  assert.match(summary.text, /^Cancelled after \d+ of \d+ studies; their results are kept\.$/);
  const rows = await readRows(broken);
  const scored = rows.filter(r => r.status === 'scored');
  assert.ok(scored.length >= 2 && rows.some(r => r.status === 'unanalyzed'), `${scored.length} scored before the cancel, the rest waiting`);
  await broken.reload();
  await broken.locator(cy('chestaid-triage-list')).waitFor();
  await broken.locator(`${ROW}[data-status="scored"]`).nth(scored.length - 1).waitFor();
  assert.equal(await broken.locator(BATCH).getAttribute('data-status'), 'idle', 'a cancelled batch does not resume');
});

test('rows hold still under the pointer while results arrive, and re-sort when it leaves', async () => {
  await broken.locator(cy('chestaid-triage-analyze-all')).click();
  await broken.locator(cy('chestaid-triage-progress')).waitFor();
  // The pointer rests on a row in the middle of the list.
  const box = await broken.locator(ROW).nth(12).boundingBox();
  await broken.mouse.move(box.x + 40, box.y + box.height / 2);
  const held = (await readRows(broken)).map(r => r.uid);
  const doneAtHover = Number(await broken.locator(cy('chestaid-triage-progress')).getAttribute('data-done'));
  await broken.waitForFunction(
    done => Number(document.querySelector('[data-cy="chestaid-triage-progress"]')?.dataset.done ?? 1e9) >= done + 3,
    doneAtHover,
    { timeout: 60_000 },
  );
  assert.deepEqual((await readRows(broken)).map(r => r.uid), held, 'no row moved under the pointer');
  assert.match(await broken.locator(cy('chestaid-triage-held')).innerText(), /^New results are in: the order updates when the pointer leaves the list\./);
  // Away from the list, the order follows the scores again.
  await broken.mouse.move(5, 5);
  await broken.waitForFunction(() => !document.querySelector('[data-cy="chestaid-triage-held"]').innerText.startsWith('New results'));
  assertRiskOrder(await readRows(broken));
});

test('the batch goes past the broken studies and resumes after a reload without redoing finished studies', async t => {
  // Reload while the batch runs.
  await broken.waitForFunction(() => Number(document.querySelector('[data-cy="chestaid-triage-progress"]')?.dataset.done ?? 0) >= 2);
  const beforeReload = (await readRows(broken)).filter(r => r.status === 'scored');
  const totalAtReload = Number(await broken.locator(cy('chestaid-triage-progress')).getAttribute('data-total'));
  await broken.reload();
  await broken.locator(BATCH, { hasText: /^Resumed after a reload: \d+ of \d+ studies/ }).waitFor();
  assert.equal(Number(await broken.locator(cy('chestaid-triage-progress')).getAttribute('data-total')), totalAtReload, 'the same plan');
  const summary = await batchEnd(broken);
  assert.equal(summary.status, 'finished', summary.text);
  assert.match(summary.text, / already scored; 2 could not be analyzed\.$/);

  const rows = await readRows(broken);
  for (const earlier of beforeReload) {
    const now = rows.find(r => r.uid === earlier.uid);
    assert.equal(now.analyzedAt, earlier.analyzedAt, `${earlier.uid} was not analyzed again`);
  }
  const reason = uid => broken.locator(`${ROW}[data-study-uid="${uid}"] [data-cy="chestaid-triage-reason"]`).innerText();
  assert.deepEqual(rows.filter(r => r.status === 'failed').map(r => r.uid).sort(), [unreachable().StudyInstanceUID, corrupt().StudyInstanceUID].sort());
  const reasons = [await reason(unreachable().StudyInstanceUID), await reason(corrupt().StudyInstanceUID)];
  t.diagnostic(`reasons: ${reasons.join(' | ')}`);
  for (const text of reasons) assert.match(text, /^the image dicomweb:\/chestaid\/demo\/dicom\/study-\d+\.dcm could not be loaded: \S/);
  assert.match(reasons[0], /could not be loaded: the request got no answer \(network error or blocked\)$/);
  assert.equal(rows.filter(r => r.status === 'scored').length, crStudies().length - 2, 'every other radiograph is scored');
  assertRiskOrder(rows);
  await broken.screenshot({ path: join(ARTIFACTS, 'triage-bad-input.png'), fullPage: true });
  await broken.context().close();
});

test('no page errors or console errors along the way', () => {
  assert.deepEqual(problems, []);
});

test("patient data stays put: nothing was requested outside the viewer's own origin", () => {
  assert.deepEqual(foreignRequests, []);
});
