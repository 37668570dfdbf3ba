// The login end to end in Debian Chromium: the viewer as `npm start` serves it with a login
// (CHESTAID_OIDC_AUTHORITY), a real OpenID provider (scripts/oidc-dev-provider.mjs: oidc-provider,
// authorization code with PKCE) and a real Orthanc behind the token-checking proxy. A visit goes
// to the provider's login form; after it, OHIF's own OIDC client holds the user, the study list
// reads the PACS with the user's token, the reader's feedback SR in the PACS names the logged-in
// reader, and the calibration page records a change under the logged-in admin and refuses it to
// a reader.
//
//   node --test test/e2e/login.test.mjs
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { freePort } from '../../pacs/orthanc.mjs';
import { requireBuilt } from '../../scripts/node-build.mjs';
import { startOidcProvider } from '../../scripts/oidc-dev-provider.mjs';
import { logInInBrowser } from '../deploy/oidcLogin.mjs';
import { demoStudyFiles, loadDemoStudies, startOrthanc } from '../pacs/orthanc.mjs';
import { launchChromium, startViewer, watchedPage } from './harness.mjs';

const cy = name => `[data-cy="${name}"]`;

let orthanc;
let provider;
let viewer;
let browser;
let study; // a radiograph study the PACS holds
const problems = [];
const foreignRequests = [];
/** Every request to the PACS proxy the pages made: [url, Authorization header, status]. */
const pacsRequests = [];
/** Every answer 400 or above the pages got, for the diagnosis of a console error. */
const failedResponses = [];

const dicom = () => requireBuilt('@chestaid/core');

before(
  async () => {
    orthanc = await startOrthanc();
    await loadDemoStudies(orthanc.client, demoStudyFiles().slice(0, 4));
    const found = await orthanc.client.searchStudies({ includefield: ['00080061'] });
    study = found.map(s => ({ uid: s['0020000D'].Value[0], modalities: s['00080061']?.Value ?? [] })).find(s => s.modalities.some(m => m === 'CR' || m === 'DX')).uid;
    const port = await freePort();
    provider = await startOidcProvider({ viewer: `http://127.0.0.1:${port}` });
    viewer = await startViewer({
      port,
      env: { CHESTAID_DATA_SOURCE: 'pacs', CHESTAID_PACS_URL: orthanc.url, CHESTAID_OIDC_AUTHORITY: provider.issuer, CHESTAID_OIDC_AUDIENCE: provider.audience },
    });
    browser = await launchChromium();
  },
  { timeout: 300_000 },
);

after(async () => {
  await browser?.close();
  await viewer?.stop();
  await provider?.close();
  await orthanc?.stop();
});

/** A fresh browser (no session at the provider), logged in as `user` from the viewer's front page. */
async function loggedIn(user) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await watchedPage(context, { viewerUrl: viewer.url, problems, foreignRequests });
  page.on('response', response => {
    if (response.url().startsWith(`${viewer.url}/pacs/`)) pacsRequests.push([response.url(), response.request().headers().authorization ?? null, response.status()]);
    if (response.status() >= 400) failedResponses.push(`${response.status()} ${response.request().method()} ${response.url()}`);
  });
  await logInInBrowser(page, { url: `${viewer.url}/`, provider, user });
  await page.locator(cy('chestaid-risk-header')).waitFor({ timeout: 120_000 });
  // The study list's rows come from the PACS, through the proxy, with the user's token.
  await page.locator(`${cy('chestaid-risk')}[data-study-uid="${study}"]`).waitFor({ timeout: 120_000 });
  assert.ok(page.url().startsWith(viewer.url), page.url());
  return page;
}

/** The ChestAid feedback SRs the PACS holds for the study, read in Node. */
async function feedbackSrs() {
  const found = [];
  for (const row of await orthanc.client.searchSeries(study, { Modality: 'SR' })) {
    for (const instance of await orthanc.client.retrieveSeriesMetadata(study, row['0020000E'].Value[0])) {
      if (dicom().isChestAidFeedbackSr(instance)) found.push(dicom().readFeedbackSr(instance));
    }
  }
  return found;
}

let readerPage;

test('a visit goes to the OpenID login; after it the study list reads the PACS with the user\'s token', { timeout: 300_000 }, async () => {
  readerPage = await loggedIn('reader');
  assert.ok(pacsRequests.length > 0, 'the study list asked the PACS');
  for (const [url, authorization, status] of pacsRequests) {
    assert.match(authorization ?? '', /^Bearer [\w-]+\.[\w-]+\.[\w-]+$/, `${url} carried no token`);
    assert.equal(status, 200, url);
  }
  const user = await readerPage.evaluate(() => {
    const key = Object.keys(sessionStorage).find(k => k.startsWith('oidc.user:'));
    return key ? JSON.parse(sessionStorage.getItem(key)).profile : null;
  });
  assert.equal(user?.name, 'Rita Reader');
});

test('the reader\'s feedback SR in the PACS names the logged-in reader', { timeout: 600_000 }, async () => {
  const page = readerPage;
  const panel = page.locator(cy('chestaid-panel'));
  await page.goto(`${viewer.url}/chestaid?StudyInstanceUIDs=${study}`);
  await panel.locator(`${cy('chestaid-analyze')}:not([disabled])`).waitFor({ timeout: 180_000 });
  await page.waitForFunction(() => Boolean(window.cornerstone?.getEnabledElements?.()[0]?.viewport?.getCornerstoneImage?.()), null, { timeout: 180_000 });
  await panel.locator(cy('chestaid-analyze')).click();
  await panel.locator(cy('chestaid-score')).waitFor({ timeout: 180_000 });
  await panel.locator(`${cy('chestaid-save-pacs')}:not([disabled])`).click();
  await panel.locator(`${cy('chestaid-pacs-status')}[data-sr]`).waitFor({ timeout: 120_000 });
  await panel.locator(cy('chestaid-feedback-normal')).click();
  await panel.locator(cy('chestaid-feedback-save')).click();
  await panel.locator(`${cy('chestaid-feedback-delivery')}[data-state="sent"]`).waitFor({ timeout: 120_000 });
  const srs = await feedbackSrs();
  assert.equal(srs.length, 1);
  assert.equal(srs[0].reader.name, 'Rita Reader');
  assert.equal(srs[0].groundTruth, 'normal');
  // Every PACS request of the session carried the token and none was refused.
  assert.deepEqual(pacsRequests.filter(([, authorization, status]) => !authorization || status === 401), []);
});

test('the calibration page refuses a change to a reader and records it under the logged-in admin', { timeout: 300_000 }, async () => {
  await readerPage.goto(`${viewer.url}/chestaid-calibration`);
  const refused = readerPage.locator(cy('chestaid-calibration-actor-refused'));
  await refused.waitFor({ timeout: 120_000 });
  assert.match(await refused.innerText(), /^Only a ChestAid administrator may change the calibration: Rita Reader \(reader\) is logged in without the "chestaid-admin" role/);
  assert.equal(await readerPage.locator(cy('chestaid-calibration-actor')).count(), 0, 'no name to type');

  const adminPage = await loggedIn('admin');
  await adminPage.goto(`${viewer.url}/chestaid-calibration`);
  const actor = adminPage.locator(cy('chestaid-calibration-actor-login'));
  await actor.waitFor({ timeout: 120_000 });
  assert.equal(await actor.getAttribute('data-actor'), 'Ada Admin (admin)');
  assert.equal(await adminPage.locator(cy('chestaid-calibration-actor')).count(), 0, 'no name to type');
});

test('only the provider is reached besides the viewer, and no page or console error', t => {
  t.diagnostic(`answers >= 400: ${JSON.stringify(failedResponses)}`);
  assert.deepEqual(
    foreignRequests.filter(url => !url.startsWith(`${provider.issuer}/`)),
    [],
  );
  assert.deepEqual(problems, []);
});
