/**
 * Logs a user in over plain HTTP, as a browser would: the authorization code flow with PKCE S256
 * against the dev provider (scripts/oidc-dev-provider.mjs), its login form submitted with the
 * user's password, the code exchanged at the token endpoint. Returns the token response
 * ({ access_token, id_token, refresh_token, expires_in, ... }).
 */
import { createHash, randomBytes } from 'node:crypto';

import { CLIENT_ID, SCOPE, USERS } from '../../scripts/oidc-dev-provider.mjs';

/** A cookie jar good enough for one provider: names are unique across its paths. */
class Jar {
  cookies = new Map();

  take(response) {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const at = pair.indexOf('=');
      const name = pair.slice(0, at).trim();
      const value = pair.slice(at + 1).trim();
      const expired = attributes.some(a => /^\s*max-age=0\s*$/i.test(a) || (/^\s*expires=/i.test(a) && Date.parse(a.split('=')[1]) < Date.now()));
      if (value === '' || expired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  header() {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

const base64url = bytes => Buffer.from(bytes).toString('base64url');

export async function loginForTokens({ issuer, viewer, username, password, clientId = CLIENT_ID, scope = SCOPE }) {
  const redirectUri = `${new URL(viewer).origin}/callback`;
  const verifier = base64url(randomBytes(32));
  const challenge = base64url(createHash('sha256').update(verifier).digest());
  const state = base64url(randomBytes(12));
  const jar = new Jar();
  const step = async (url, init = {}) => {
    const response = await fetch(url, { redirect: 'manual', ...init, headers: { ...init.headers, cookie: jar.header() } });
    jar.take(response);
    return response;
  };

  const authorize = new URL('/auth', issuer);
  authorize.search = new URLSearchParams({
    client_id: clientId,
    redirect_uri: redirectUri,
    response_type: 'code',
    scope,
    state,
    nonce: base64url(randomBytes(12)),
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString();

  // To the login form, through it, and on until the provider sends the browser back to the viewer.
  let response = await step(authorize);
  let location = response.headers.get('location');
  let submitted = false;
  for (let hops = 0; hops < 10; hops++) {
    if (!location) throw new Error(`the provider answered ${response.status} without a redirect: ${await response.text()}`);
    const next = new URL(location, issuer);
    if (next.href.startsWith(redirectUri)) {
      const error = next.searchParams.get('error');
      if (error) throw new Error(`the provider refused the login: ${error} ${next.searchParams.get('error_description') ?? ''}`);
      if (next.searchParams.get('state') !== state) throw new Error('the callback came back with another state');
      const token = await fetch(new URL('/token', issuer), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'authorization_code', code: next.searchParams.get('code'), redirect_uri: redirectUri, client_id: clientId, code_verifier: verifier }),
      });
      const body = await token.json();
      if (!token.ok) throw new Error(`the token endpoint answered ${token.status}: ${JSON.stringify(body)}`);
      return body;
    }
    if (/^\/interaction\/[^/]+$/.test(next.pathname) && !submitted) {
      const form = await step(next);
      if (form.status !== 200) throw new Error(`the login form answered ${form.status}`);
      await form.text();
      response = await step(new URL(`${next.pathname}/login`, issuer), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ username, password }),
      });
      submitted = true;
      if (response.status === 401) throw new Error(`the provider refused ${username}'s password`);
    } else {
      response = await step(next);
    }
    location = response.headers.get('location');
  }
  throw new Error('the login did not come back to the viewer within 10 redirects');
}

/**
 * The same in a browser page: opens `url` (a viewer with a login), is sent to the provider's login
 * form, signs in as `user` and is sent back; the caller waits for what the viewer then shows.
 */
export async function logInInBrowser(page, { url, provider, user }) {
  await page.goto(url);
  await page.waitForURL(href => href.href.startsWith(`${provider.issuer}/interaction/`), { timeout: 120_000 });
  await page.locator('input[name="username"]').fill(user);
  await page.locator('input[name="password"]').fill(USERS[user].password);
  await page.locator('button[type="submit"]').click();
}
