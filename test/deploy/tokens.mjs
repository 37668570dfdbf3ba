/**
 * The token checks both PACS proxies must pass when the viewer has a login (nginx's auth_request
 * to deploy/auth/verifier.mjs, and the dev server's proxy): no token, a token that is not a JWT,
 * one signed by another key, one of another provider, an ID token (meant for the viewer, not the
 * PACS), an HS256 token, and an expired one are refused with 401; an access token from the real
 * provider, obtained through the code flow with PKCE, reads the PACS. Refusals of the route,
 * method or site still come first.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';

import { decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, SignJWT } from 'jose';

import { ADMIN_ROLE, DEFAULT_AUDIENCE, USERS, startOidcProvider } from '../../scripts/oidc-dev-provider.mjs';
import { loginForTokens } from './oidcLogin.mjs';
import { get } from './routes.mjs';

const STUDIES = '/pacs/dicom-web/studies';
const QIDO = { accept: 'application/dicom+json' };

/** A token that looks like the provider's (same issuer, audience, kid) but is signed with another key. */
async function forged(issuer, kid, claims = {}) {
  const { privateKey } = await generateKeyPair('RS256');
  return new SignJWT({ client_id: 'chestaid-viewer', ...claims })
    .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid })
    .setIssuer(issuer)
    .setAudience(DEFAULT_AUDIENCE)
    .setSubject('admin')
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(privateKey);
}

/**
 * Registers the checks as subtests of `t`. `server` is { url } (the viewer's origin, the proxy in
 * front of the PACS); `provider` the running dev provider (startOidcProvider) whose tokens the
 * proxy accepts, with short-lived access tokens (`tokenTtlS`), checked with `clockToleranceS`.
 */
export async function checkTokens(t, server, provider, { tokenTtlS, clockToleranceS }) {
  const url = server.url;
  const viewer = url;
  const login = user => loginForTokens({ issuer: provider.issuer, viewer, username: user, password: USERS[user].password });

  await t.test('/pacs/ without a token is refused with 401 and a Bearer challenge, and nothing of the PACS', async () => {
    for (const path of [STUDIES, `${STUDIES}?PatientName=*`]) {
      const response = await get(`${url}${path}`, { headers: QIDO });
      assert.equal(response.status, 401, path);
      assert.match(response.headers.get('www-authenticate') ?? '', /^Bearer realm="chestaid"/, path);
      assert.doesNotMatch(response.text(), /0020000D/, path);
    }
  });

  await t.test('an access token of the real provider, got through the code flow with PKCE, reads the PACS', async () => {
    const tokens = await login('reader');
    assert.equal(decodeProtectedHeader(tokens.access_token).typ, 'at+jwt');
    assert.equal(decodeJwt(tokens.access_token).aud, provider.audience);
    const qido = await get(`${url}${STUDIES}`, { headers: { ...QIDO, authorization: `Bearer ${tokens.access_token}` } });
    assert.equal(qido.status, 200, qido.text());
    const studies = JSON.parse(qido.text());
    assert.ok(studies.length > 0);
    const uid = studies[0]['0020000D'].Value[0];
    const series = await get(`${url}${STUDIES}/${uid}/series`, { headers: { ...QIDO, authorization: `Bearer ${tokens.access_token}` } });
    assert.equal(series.status, 200);
    // The ID token carries who the user is, for the viewer (login/identity.ts).
    const id = decodeJwt(tokens.id_token);
    assert.equal(id.name, 'Rita Reader');
    assert.deepEqual(id.roles, ['chestaid-reader']);
    assert.ok(!id.roles.includes(ADMIN_ROLE));
  });

  await t.test('a malformed, forged, foreign, HS256 or ID token is refused with 401, saying why', async () => {
    const tokens = await login('admin');
    const { kid } = decodeProtectedHeader(tokens.access_token);
    const other = await startOidcProvider({ viewer });
    let foreign;
    try {
      foreign = (await loginForTokens({ issuer: other.issuer, viewer, username: 'admin', password: USERS.admin.password })).access_token;
    } finally {
      await other.close();
    }
    const secret = new TextEncoder().encode('a shared secret anyone holding it could sign with');
    const hs256 = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setIssuer(provider.issuer).setAudience(provider.audience).setSubject('admin').setExpirationTime('10m').sign(secret);
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ iss: provider.issuer, aud: provider.audience, sub: 'admin', exp: Math.floor(Date.now() / 1000) + 600 })).toString('base64url')}.`;
    const cases = [
      ['Bearer not-a-jwt', /not a valid JWT/],
      [`Basic ${Buffer.from('admin:admin-password').toString('base64')}`, /not a Bearer token/],
      [`Bearer ${await forged(provider.issuer, kid)}`, /signature does not verify/],
      [`Bearer ${foreign}`, /not signed by a key of the provider's JWKS|'iss' claim/],
      [`Bearer ${tokens.id_token}`, /'aud' claim/],
      [`Bearer ${hs256}`, /asymmetric|not signed by a key/],
      [`Bearer ${unsigned}`, /not a valid JWT|asymmetric/],
      // The access token itself, in the wrong place: tampered payload.
      [`Bearer ${tokens.access_token.replace(/\.([^.]+)\./, (_, payload) => `.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url')), sub: 'someone-else' })).toString('base64url')}.`)}`, /signature does not verify/],
    ];
    for (const [authorization, why] of cases) {
      const response = await get(`${url}${STUDIES}`, { headers: { ...QIDO, authorization } });
      assert.equal(response.status, 401, `${authorization.slice(0, 40)}... answered ${response.status}`);
      const challenge = response.headers.get('www-authenticate') ?? '';
      assert.match(challenge, /error="invalid_token"/, authorization.slice(0, 40));
      assert.match(challenge, why, `${authorization.slice(0, 40)}: ${challenge}`);
    }
    // A fresh admin token works: the refusals above were about the tokens, not the proxy.
    const fresh = await login('admin');
    assert.equal((await get(`${url}${STUDIES}`, { headers: { ...QIDO, authorization: `Bearer ${fresh.access_token}` } })).status, 200);
  });

  await t.test('with a valid token, the route, method and site limits still hold', async () => {
    const { access_token: token } = await login('admin');
    const authorization = `Bearer ${token}`;
    const uid = JSON.parse((await get(`${url}${STUDIES}`, { headers: { ...QIDO, authorization } })).text())[0]['0020000D'].Value[0];
    const remove = await get(`${url}${STUDIES}/${uid}`, { method: 'DELETE', headers: { authorization } });
    assert.ok(remove.status === 404 || remove.status === 405, `DELETE answered ${remove.status}`);
    const find = await get(`${url}/pacs/tools/find`, { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body: '{"Level":"Study","Query":{}}' });
    assert.equal(find.status, 404);
    const crossSite = await get(`${url}${STUDIES}`, { headers: { ...QIDO, authorization, origin: 'https://evil.example' } });
    assert.equal(crossSite.status, 403);
    // The verifier's own route is not reachable from outside.
    assert.equal((await get(`${url}/pacs/.chestaid-token`, { headers: { authorization } })).status, 404);
  });

  await t.test('an expired access token of the real provider is refused with 401', { timeout: 90_000 }, async () => {
    const { access_token: token } = await login('reader');
    const exp = decodeJwt(token).exp;
    await sleep(Math.max(0, (exp + clockToleranceS) * 1000 - Date.now()) + 1500);
    const response = await get(`${url}${STUDIES}`, { headers: { ...QIDO, authorization: `Bearer ${token}` } });
    assert.equal(response.status, 401);
    assert.match(response.headers.get('www-authenticate') ?? '', /expired/);
    assert.ok(tokenTtlS <= 20, 'the provider was started with short-lived tokens for this check');
  });

  await t.test("the CSP lets the viewer fetch from the provider (discovery, keys, tokens) and from nowhere else", async () => {
    const { headers } = await get(`${url}/`);
    const csp = headers.get('content-security-policy');
    assert.match(csp, new RegExp(`connect-src 'self' blob: data: ${provider.issuer.replace(/[.:/]/g, '\\$&')}(;|$)`));
  });
}
