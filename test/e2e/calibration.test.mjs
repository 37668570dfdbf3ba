// Versioned calibration and feedback in the viewer, end to end in Debian Chromium: the score names
// its calibration version; the reader records ground truth, kept in IndexedDB with the logit; a
// site recalibration accepted through ChestAidService (what the admin page calls) makes the shown
// result stale until re-analyzed, survives a reload, and a rollback brings the training
// calibration back; a tampered audit log blocks analysis with the entry it names.
//
//   npm run test:e2e        (screenshots in test/e2e/artifacts/)
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { ARTIFACTS, ROOT, startPageSession } from './harness.mjs';

const demoIndex = JSON.parse(readFileSync(join(ROOT, 'test/demo-studies/index.json'), 'utf8'));
const manifest = JSON.parse(readFileSync(join(ROOT, 'models/chestaid-demo/manifest.json'), 'utf8'));

let viewer;
let browser;
let page;
const problems = [];
const foreignRequests = [];

before(
  async () => {
    ({ viewer, browser, page } = await startPageSession({ viewport: { width: 1400, height: 900 }, problems, foreignRequests }));
  },
  { timeout: 300_000 },
);

after(async () => {
  await browser?.close();
  await viewer?.stop();
});

const PANEL = '[data-cy="chestaid-panel"]';
const inPanel = selector => page.locator(`${PANEL} [data-cy="${selector}"]`);
const study = demoIndex.studies.find(s => s.label === 'PNEUMONIA' && s.expected.above_threshold);

/** A site overlay for the demo model, as the admin page would produce it (numbers chosen here, not fitted). */
const overlay = () => ({
  overlay_schema_version: '1.0.0',
  model: { id: manifest.model.id, sha256: manifest.onnx.sha256 },
  version: 'site-1',
  previous_version: manifest.calibration.version,
  calibration: { input: 'logit', method: 'platt', params: { a: 0.5, b: -1 }, selection: { metric: 'ece', n_bins: 10, binning: 'equal-width', validation: 'e2e fixture' } },
  threshold: { value: 0.6, rule: 'e2e fixture', target_sensitivity: 0.9, interval: { ci_low: 0.5, ci_high: 0.7, level: 0.95, n_boot: 100 } },
  cohort: { n: 40, n_pos: 20, sha256: 'c'.repeat(64), source: 'feedback' },
  created: { by: 'e2e admin', at: new Date().toISOString() },
  metrics: { before: { ece: 0.2, brier: 0.2 }, after: { ece: 0.1, brier: 0.15 } },
});

async function openStudy() {
  await page.goto(`${viewer.url}/chestaid?StudyInstanceUIDs=${study.StudyInstanceUID}`);
  await page.locator(`${PANEL} [data-cy="chestaid-analyze"]:not([disabled])`).waitFor({ timeout: 120_000 });
  await page.waitForFunction(() => window.cornerstone?.getEnabledElements?.()[0]?.viewport?.getCornerstoneImage?.());
}

async function analyze() {
  await inPanel('chestaid-analyze').click();
  await inPanel('chestaid-result').waitFor({ timeout: 120_000 });
  return {
    probability: Number(await inPanel('chestaid-score').getAttribute('data-probability')),
    calibration: await inPanel('chestaid-score-calibration').innerText(),
    version: await inPanel('chestaid-score-calibration').getAttribute('data-version'),
  };
}

/** Every record of an object store of the site database. */
function readSiteStore(name) {
  return page.evaluate(
    store =>
      new Promise((resolve, reject) => {
        const open = indexedDB.open('chestaid-site');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const request = open.result.transaction(store, 'readonly').objectStore(store).getAll();
          request.onsuccess = () => {
            open.result.close();
            resolve(request.result);
          };
          request.onerror = () => reject(request.error);
        };
      }),
    name,
  );
}

let first;

test('the score names its calibration version, and the reader records ground truth with the logit', async () => {
  await openStudy();
  first = await analyze();
  assert.equal(first.version, manifest.calibration.version);
  assert.match(first.calibration, /^calibration v1 \(training, \d{2}\/\d{2}\/\d{4}\)$/);

  await inPanel('chestaid-feedback-pneumonia').click();
  await inPanel('chestaid-feedback-comment').fill('consolidation, right lower zone');
  await inPanel('chestaid-feedback-save').click();
  await page.locator(`${PANEL} [data-cy="chestaid-feedback-mine"][data-label="pneumonia"]`).waitFor();
  const [entry] = await readSiteStore('feedback');
  assert.equal(entry.sopInstanceUID, study.SOPInstanceUID);
  assert.equal(entry.modelSha256, manifest.onnx.sha256);
  // The calibration's identity: its version and the sha256 of what it stands for (issue 15).
  assert.match(entry.calibrationVersion, /^1\+sha256:[0-9a-f]{64}$/);
  assert.equal(entry.label, 'pneumonia');
  assert.equal(entry.comment, 'consolidation, right lower zone');
  assert.equal(entry.reader, 'unknown');
  assert.ok(Number.isFinite(entry.logit), `logit ${entry.logit}`);
  assert.ok(Math.abs(entry.score - first.probability) < 1e-12);
  await page.screenshot({ path: join(ARTIFACTS, 'chestaid-feedback.png') });
});

test('an accepted site calibration makes the result stale until re-analyzed, then scores under it', async () => {
  await page.evaluate(
    async json => {
      const service = window.services.chestAidService;
      const { head } = await service.calibrationHistory();
      await service.acceptCalibration(json, { actor: 'e2e admin', expectedHead: head });
    },
    overlay(),
  );
  const stale = inPanel('chestaid-stale');
  await stale.waitFor();
  assert.equal(await stale.innerText(), 'Computed under calibration v1, which is no longer active; re-analyze for a current score.');
  assert.equal(await inPanel('chestaid-score').count(), 0, 'no score is shown for a stale result');
  assert.equal(await inPanel('chestaid-feedback').count(), 0, 'no feedback on a stale result');
  await page.screenshot({ path: join(ARTIFACTS, 'chestaid-stale.png') });

  const again = await analyze();
  assert.equal(again.version, 'site-1');
  assert.match(again.calibration, /^calibration site-1 \(site, \d{2}\/\d{2}\/\d{4}\)$/);
  const [entry] = await readSiteStore('feedback');
  const expected = 1 / (1 + Math.exp(-(0.5 * entry.logit - 1)));
  assert.ok(Math.abs(again.probability - expected) < 1e-9, `p ${again.probability}, Platt of the logit ${expected}`);
  assert.notEqual(again.probability, first.probability);
  assert.equal(await inPanel('chestaid-threshold-input').inputValue(), '0.6');
  await page.screenshot({ path: join(ARTIFACTS, 'chestaid-site-calibration.png') });
});

test('the active version survives a reload, and a rollback (a new log entry) brings v1 back with its stored score', async () => {
  await openStudy();
  await page.locator(`${PANEL} [data-cy="chestaid-calibration"][data-version="site-1"]`).waitFor();
  // The site-1 result was stored: shown again without a run.
  await page.locator(`${PANEL} [data-cy="chestaid-score-calibration"][data-version="site-1"]`).waitFor();

  await page.evaluate(async () => {
    const service = window.services.chestAidService;
    const { head } = await service.calibrationHistory();
    await service.rollbackTo('1', { actor: 'e2e admin', expectedHead: head });
  });
  await page.locator(`${PANEL} [data-cy="chestaid-score-calibration"][data-version="1"]`).waitFor();
  assert.equal(Number(await inPanel('chestaid-score').getAttribute('data-probability')), first.probability);
  const log = await readSiteStore('calibrationLog');
  assert.deepEqual(log.map(e => [e.seq, e.action, e.version, e.previousVersion]), [[1, 'accept', 'site-1', '1'], [2, 'rollback', '1', 'site-1']]);
});

test('a tampered audit log blocks analysis, naming the entry, and is left as it is', async () => {
  const tampered = await page.evaluate(
    () =>
      new Promise((resolve, reject) => {
        const open = indexedDB.open('chestaid-site');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const db = open.result;
          const transaction = db.transaction('calibrationLog', 'readwrite');
          const store = transaction.objectStore('calibrationLog');
          let entry;
          const all = store.getAll();
          all.onsuccess = () => {
            entry = { ...all.result[0], threshold: 0.01 };
            store.put(entry);
          };
          transaction.oncomplete = () => {
            db.close();
            resolve(entry);
          };
          transaction.onerror = () => reject(transaction.error);
        };
      }),
  );
  await page.reload();
  const error = inPanel('chestaid-model-error');
  await error.waitFor({ timeout: 120_000 });
  assert.match(await error.innerText(), /calibration: the calibration audit log is corrupt at entry 1: its content does not match its hash/);
  assert.equal(await inPanel('chestaid-analyze').isDisabled(), true);
  const [kept] = await readSiteStore('calibrationLog');
  assert.deepEqual(kept, tampered);
  await page.screenshot({ path: join(ARTIFACTS, 'chestaid-corrupt-log.png') });
});

test('no page errors or console errors along the way', () => {
  assert.deepEqual(problems, []);
});

test("patient data stays put: nothing was requested outside the viewer's own origin", () => {
  assert.deepEqual(foreignRequests, []);
});
