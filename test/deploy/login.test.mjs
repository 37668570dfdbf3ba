// The login in front of the PACS, as a hospital runs it: a real OpenID provider (the certified
// oidc-provider, scripts/oidc-dev-provider.mjs) on loopback, the token verifier
// (deploy/auth/verifier.mjs) as its own process, Debian's nginx with deploy/nginx's configuration
// and chestaid-pacs-auth.conf (auth_request), and a real Orthanc. The viewer's files are not
// what is checked here (nginx.test.mjs builds them): OHIF's index.html and a placeholder
// app-config.js are enough to serve.
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { fetchOhif, ohifDistDir } from '../../scripts/fetch-ohif.mjs';
import { startOidcProvider } from '../../scripts/oidc-dev-provider.mjs';
import { freePort } from '../../pacs/orthanc.mjs';
import { demoStudyFiles, loadDemoStudies, startOrthanc } from '../pacs/orthanc.mjs';
import { startNginx, startVerifier } from './nginxServer.mjs';
import { loginForTokens } from './oidcLogin.mjs';
import { get } from './routes.mjs';
import { checkTokens } from './tokens.mjs';

// Short, so the expiry check waits little; long enough for a loaded machine to use a fresh token.
const TOKEN_TTL_S = 15;

let prefix;
let pacs;
let provider;
let verifier;
let nginx;

before(async () => {
  prefix = mkdtempSync(join(tmpdir(), 'chestaid-login-'));
  chmodSync(prefix, 0o755);
  const root = join(prefix, 'viewer');
  mkdirSync(root);
  fetchOhif({ log: () => {} });
  copyFileSync(join(ohifDistDir, 'index.html'), join(root, 'index.html'));
  writeFileSync(join(root, 'app-config.js'), 'window.config = {};\n');
  pacs = await startOrthanc();
  await loadDemoStudies(pacs.client, demoStudyFiles().slice(0, 2));
  const port = await freePort();
  provider = await startOidcProvider({ viewer: `http://127.0.0.1:${port}`, accessTokenTtl: TOKEN_TTL_S });
  verifier = await startVerifier({ issuer: provider.issuer, audience: provider.audience });
  nginx = await startNginx({ prefix, root, pacs: `127.0.0.1:${pacs.port}`, port, auth: verifier.address, oidcAuthority: provider.issuer });
});

after(async () => {
  await nginx?.stop();
  await verifier?.stop();
  await provider?.close();
  await pacs?.stop();
  if (prefix) rmSync(prefix, { recursive: true, force: true });
});

test('nginx with a login: /pacs/ needs an access token of the provider, for the PACS, unexpired', { timeout: 180_000 }, async t => {
  await checkTokens(t, nginx, provider, { tokenTtlS: TOKEN_TTL_S, clockToleranceS: 0 });
});

test('nginx with a login fails closed: with the verifier down, a valid token reads nothing', async () => {
  const { access_token: token } = await loginForTokens({ issuer: provider.issuer, viewer: nginx.url, username: 'reader', password: 'reader-password' });
  assert.equal((await get(`${nginx.url}/pacs/dicom-web/studies`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
  await verifier.stop();
  const response = await get(`${nginx.url}/pacs/dicom-web/studies`, { headers: { authorization: `Bearer ${token}` } });
  assert.ok(response.status >= 500, `answered ${response.status}`);
  assert.doesNotMatch(response.text(), /0020000D/);
});
