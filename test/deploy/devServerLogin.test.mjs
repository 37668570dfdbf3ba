// `npm start` with a login (CHESTAID_OIDC_AUTHORITY): the dev server's PACS proxy makes the same
// token checks as nginx's auth_request (tokens.mjs), with the same verifier, against a real
// OpenID provider and a real Orthanc; and app-config.js gives OHIF its own oidc configuration.
import assert from 'node:assert/strict';
import vm from 'node:vm';
import { after, before, test } from 'node:test';

import { freePort } from '../../pacs/orthanc.mjs';
import { startOidcProvider } from '../../scripts/oidc-dev-provider.mjs';
import { startViewer } from '../e2e/harness.mjs';
import { demoStudyFiles, loadDemoStudies, startOrthanc } from '../pacs/orthanc.mjs';
import { get } from './routes.mjs';
import { checkTokens } from './tokens.mjs';

const TOKEN_TTL_S = 8;
// The dev server's verifier allows the default 30 s of clock skew.
const CLOCK_TOLERANCE_S = 30;

let pacs;
let provider;
let viewer;

before(async () => {
  pacs = await startOrthanc();
  await loadDemoStudies(pacs.client, demoStudyFiles().slice(0, 2));
  const port = await freePort();
  provider = await startOidcProvider({ viewer: `http://127.0.0.1:${port}`, accessTokenTtl: TOKEN_TTL_S });
  viewer = await startViewer({
    port,
    env: { CHESTAID_DATA_SOURCE: 'pacs', CHESTAID_PACS_URL: pacs.url, CHESTAID_OIDC_AUTHORITY: provider.issuer, CHESTAID_OIDC_AUDIENCE: provider.audience },
  });
});

after(async () => {
  await viewer?.stop();
  await provider?.close();
  await pacs?.stop();
});

test("npm start with a login: app-config.js gives OHIF its oidc configuration (code flow with PKCE)", async () => {
  const { status, text } = await get(`${viewer.url}/app-config.js`);
  assert.equal(status, 200);
  // Run the served app-config.js as the page would, and read what it gives OHIF.
  const window = { location: { origin: viewer.url } };
  vm.runInNewContext(text(), { window, URL, console });
  // (Copied out of the script's realm: its arrays have another prototype.)
  assert.deepEqual(JSON.parse(JSON.stringify(window.config.oidc)), [
    {
      authority: provider.issuer,
      client_id: 'chestaid-viewer',
      redirect_uri: '/callback',
      post_logout_redirect_uri: '/',
      response_type: 'code',
      scope: 'openid profile roles',
      automaticSilentRenew: true,
      revokeAccessTokenOnSignout: true,
    },
  ]);
});

test('npm start with a login: /pacs/ needs an access token of the provider, for the PACS, unexpired', { timeout: 180_000 }, async t => {
  await checkTokens(t, viewer, provider, { tokenTtlS: TOKEN_TTL_S, clockToleranceS: CLOCK_TOLERANCE_S });
});
