// Nothing lost in the browser (issue 15 item 4), end to end in Debian Chromium against a real
// Orthanc: a reader records ground truth while the PACS is down; the label is kept in IndexedDB
// with its delivery pending; the page is reloaded while the PACS is still down, and the reloaded
// page tries again by itself; once Orthanc is back the feedback SR lands in it without a second
// click, exactly once, and the panel says when it landed. The panel also says whether the
// browser granted persistent storage, as navigator.storage.persisted() reports it.
//
//   node --test test/e2e/outbox.test.mjs
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { requireBuilt } from '../../scripts/node-build.mjs';
import { loadDemoStudies, startOrthanc } from '../pacs/orthanc.mjs';
import { ARTIFACTS, BANNER_CONFIRM, startSession, watchedPage } from './harness.mjs';

const cy = name => `[data-cy="${name}"]`;
const READER = 'Doe^Jane';

let orthanc;
let viewer;
let browser;
let page;
let study; // a radiograph study the PACS holds
const problems = [];
const foreignRequests = [];
/** The problems recorded while the PACS was down (OHIF cannot load the study then): [from, to) in `problems`. */
const outage = { from: 0, to: 0 };

const dicom = () => requireBuilt('@chestaid/core');

before(
  async () => {
    orthanc = await startOrthanc();
    await loadDemoStudies(orthanc.client);
    const found = await orthanc.client.searchStudies({ includefield: ['00080061'] });
    study = found.map(s => ({ uid: s['0020000D'].Value[0], modalities: s['00080061']?.Value ?? [] })).find(s => s.modalities.some(m => m === 'CR' || m === 'DX')).uid;
    ({ viewer, browser } = await startSession({ env: { CHESTAID_DATA_SOURCE: 'pacs', CHESTAID_PACS_URL: orthanc.url } }));
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    // The reader's name, as a site's app-config.js would give it: a feedback SR is signed by its
    // reader, and "unknown" is refused. Set on the ChestAid extension's configuration when the
    // host's app-config.js assigns window.config.
    await context.addInitScript(reader => {
      let config;
      Object.defineProperty(window, 'config', {
        configurable: true,
        get: () => config,
        set: value => {
          for (const extension of value?.extensions ?? []) if (Array.isArray(extension) && extension[1]?.manifestUrl) extension[1].readerName = reader;
          config = value;
        },
      });
    }, READER);
    page = await watchedPage(context, { viewerUrl: viewer.url, problems, foreignRequests, expectedFailures: ['/pacs/', '502', '503', '504'] });
  },
  { timeout: 300_000 },
);

after(async () => {
  await browser?.close();
  await viewer?.stop();
  await orthanc?.stop();
});

const panel = () => page.locator(cy('chestaid-panel'));

/** Every record of an object store of the site database ("chestaid-site"). */
function siteRecords(store) {
  return page.evaluate(
    name =>
      new Promise((resolve, reject) => {
        const open = indexedDB.open('chestaid-site');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const request = open.result.transaction(name, 'readonly').objectStore(name).getAll();
          request.onsuccess = () => {
            open.result.close();
            resolve(request.result);
          };
          request.onerror = () => reject(request.error);
        };
      }),
    store,
  );
}

/** The ChestAid feedback SRs the PACS holds for the study, read in Node. */
async function feedbackSrs() {
  const found = [];
  for (const row of await orthanc.client.searchSeries(study, { Modality: 'SR' })) {
    for (const instance of await orthanc.client.retrieveSeriesMetadata(study, row['0020000E'].Value[0])) {
      if (dicom().isChestAidFeedbackSr(instance)) found.push({ sop: instance['00080018'].Value[0], ...dicom().readFeedbackSr(instance) });
    }
  }
  return found;
}

async function openAndAnalyze() {
  await page.goto(`${viewer.url}/chestaid?StudyInstanceUIDs=${study}`);
  await panel().locator(`${cy('chestaid-analyze')}:not([disabled])`).waitFor({ timeout: 120_000 });
  await page.waitForFunction(() => Boolean(window.cornerstone?.getEnabledElements?.()[0]?.viewport?.getCornerstoneImage?.()), null, { timeout: 120_000 });
  await panel().locator(cy('chestaid-analyze')).click();
  await panel().locator(cy('chestaid-score')).waitFor({ timeout: 180_000 });
}

async function shoot(file) {
  await page.locator(BANNER_CONFIRM).click({ timeout: 2000 }).catch(() => undefined);
  await page.screenshot({ path: join(ARTIFACTS, file) });
}

test('the panel says when the browser may clear its storage, as the browser reports it', async t => {
  await openAndAnalyze();
  const persisted = await page.evaluate(() => navigator.storage.persisted());
  t.diagnostic(`navigator.storage.persisted() after the extension asked: ${persisted}`);
  const line = panel().locator(cy('chestaid-storage'));
  if (persisted) {
    assert.equal(await line.count(), 0, 'nothing to say when the storage is persistent');
  } else {
    await line.waitFor();
    assert.equal(await line.getAttribute('data-storage'), 'best-effort');
    assert.equal(await line.innerText(), 'This browser may clear the results and readings ChestAid keeps in it; they are safe once sent to the PACS.');
  }
});

let entry;

test('feedback recorded while the PACS is down reaches it after it returns, with no second click, across a reload', { timeout: 600_000 }, async t => {
  // The feedback SR references the result SR: the result goes to the PACS first.
  await panel().locator(`${cy('chestaid-save-pacs')}:not([disabled])`).click();
  await panel().locator(`${cy('chestaid-pacs-status')}[data-sr]`).waitFor({ timeout: 60_000 });
  assert.deepEqual(await feedbackSrs(), []);

  outage.from = problems.length;
  await orthanc.kill();
  await panel().locator(cy('chestaid-feedback-pneumonia')).click();
  await panel().locator(cy('chestaid-feedback-comment')).fill('recorded while the PACS was down');
  await panel().locator(cy('chestaid-feedback-save')).click();
  await panel().locator(`${cy('chestaid-feedback-mine')}[data-label="pneumonia"]`).waitFor();
  const delivery = panel().locator(`${cy('chestaid-feedback-delivery')}[data-state="pending"]`);
  await delivery.waitFor({ timeout: 60_000 });
  assert.match(await delivery.innerText(), /^Not yet in the PACS \(.+\)\. Kept in this browser and sent automatically when the PACS answers: no need to record it again\.$/);
  await panel().locator(`${cy('chestaid-outbox')}[data-pending="1"]`).waitFor();
  await shoot('outbox-pending.png');

  // Kept in IndexedDB: the entry and its delivery, pending.
  const [stored] = await siteRecords('feedback');
  entry = stored;
  assert.equal(entry.label, 'pneumonia');
  assert.equal(entry.reader, READER);
  let [queued] = await siteRecords('feedbackOutbox');
  assert.equal(queued.id, entry.id);
  assert.equal(queued.state, 'pending');
  const attemptsBeforeReload = queued.attempts;

  // A reload while the PACS is still down: the new page tries again by itself.
  await page.reload();
  const deadline = Date.now() + 120_000;
  while (queued.attempts <= attemptsBeforeReload) {
    assert.ok(Date.now() < deadline, `the reloaded page retried the send (attempts ${queued.attempts})`);
    await page.waitForTimeout(500);
    [queued] = await siteRecords('feedbackOutbox').catch(() => [queued]);
  }
  assert.equal(queued.state, 'pending', queued.lastError);
  t.diagnostic(`after the reload, attempt ${queued.attempts} failed with: ${queued.lastError}; next at ${queued.nextAttemptAt}`);
  assert.deepEqual(await feedbackSrs().catch(() => []), []);

  // The PACS comes back; nobody clicks anything: the outbox's timer sends it.
  await orthanc.restart();
  const backAt = Date.now();
  let landed = [];
  while (landed.length === 0) {
    assert.ok(Date.now() - backAt < 240_000, 'the feedback SR reached the PACS within 4 minutes of its return');
    await new Promise(resolve => setTimeout(resolve, 1000));
    landed = await feedbackSrs();
  }
  t.diagnostic(`landed ${((Date.now() - backAt) / 1000).toFixed(1)} s after the PACS came back`);
  outage.to = problems.length;
  assert.equal(landed.length, 1);
  assert.equal(landed[0].groundTruth, 'pneumonia');
  assert.equal(landed[0].comment, 'recorded while the PACS was down');
  assert.equal(landed[0].reader.name, READER);
  assert.equal(landed[0].recordedAt, entry.at);
  assert.equal(landed[0].source.sopInstanceUID, entry.sopInstanceUID);

  // The outbox says it landed; the reader's label says when.
  [queued] = await siteRecords('feedbackOutbox');
  assert.equal(queued.state, 'sent');
  await openAndAnalyze();
  const sent = panel().locator(`${cy('chestaid-feedback-delivery')}[data-state="sent"]`);
  await sent.waitFor({ timeout: 60_000 });
  // The time as the panel words it in English (Intl, UTC as stored); Intl's no-break spaces read as spaces.
  const when = new Intl.DateTimeFormat('en-US', { year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: '2-digit', timeZone: 'UTC', timeZoneName: 'short' }).format(Date.parse(queued.sentAt));
  const plain = text => text.replace(/[\u00a0\u202f]/g, ' ');
  assert.equal(plain(await sent.innerText()), plain(`Sent to the PACS (${when}).`));
  const outbox = panel().locator(`${cy('chestaid-outbox')}[data-pending="0"]`);
  await outbox.waitFor();
  assert.equal(await outbox.getAttribute('data-last-sent'), queued.sentAt);
  await shoot('outbox-sent.png');
});

test('the landed feedback is never sent twice: still one SR after another reload', async () => {
  await page.reload();
  await panel().locator(`${cy('chestaid-outbox')}[data-pending="0"]`).waitFor({ timeout: 120_000 });
  await page.waitForTimeout(3000);
  const [queued] = await siteRecords('feedbackOutbox');
  assert.equal(queued.state, 'sent');
  assert.equal((await feedbackSrs()).filter(f => f.recordedAt === entry.at).length, 1);
});

test('no request leaves the viewer, and no page or console error outside the PACS outage', t => {
  const during = problems.slice(outage.from, outage.to);
  t.diagnostic(`while the PACS was down (expected, OHIF could not load the study): ${during.length} problems, e.g. ${JSON.stringify(during.slice(0, 3).map(p => p.slice(0, 120)))}`);
  assert.deepEqual(foreignRequests, []);
  assert.deepEqual([...problems.slice(0, outage.from), ...problems.slice(outage.to)], []);
});
