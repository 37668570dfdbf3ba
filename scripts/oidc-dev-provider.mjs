#!/usr/bin/env node
/**
 * A real OpenID provider for development and the login tests: the certified `oidc-provider`
 * package, run as a plain process on a loopback port. Never for a hospital: its users, keys and
 * sessions live in memory and are made up at start (docs/deploying.md#login says how to point
 * the viewer at the hospital's own IdP).
 *
 *   node scripts/oidc-dev-provider.mjs --viewer http://localhost:3000 [--port 9000] [--audience URI]
 *
 * What it holds:
 * - one client, `chestaid-viewer`: public (no secret), authorization code with PKCE S256 only,
 *   redirect to <viewer>/callback (OHIF's default), back to <viewer>/ after logout;
 * - two users, with the claims ChestAid reads from the ID token: `name` (the reader named in
 *   feedback SRs and the calibration log) and `roles` (`chestaid-admin` may change the site's
 *   calibration): reader / reader-password ("Rita Reader", roles [chestaid-reader]) and
 *   admin / admin-password ("Ada Admin", roles [chestaid-reader, chestaid-admin]);
 * - access tokens as JWTs (RFC 9068) for one resource, the PACS proxy (`--audience`, default
 *   urn:chestaid:pacs): the proxy's verifier (deploy/auth/verifier.mjs) checks their signature
 *   against this provider's JWKS, the issuer, the audience and the expiry, with no call back here.
 *
 * Login is a plain HTML form (username, password) at /interaction/<uid>; a first-party client
 * needs no consent screen.
 */
import { generateKeyPair, exportJWK } from 'jose';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import Provider from 'oidc-provider';

export const CLIENT_ID = 'chestaid-viewer';
export const DEFAULT_AUDIENCE = 'urn:chestaid:pacs';
export const SCOPE = 'openid profile roles';
export const ADMIN_ROLE = 'chestaid-admin';

/** The test users: username -> password and the claims of their ID token. */
export const USERS = {
  reader: { password: 'reader-password', claims: { name: 'Rita Reader', preferred_username: 'reader', roles: ['chestaid-reader'] } },
  admin: { password: 'admin-password', claims: { name: 'Ada Admin', preferred_username: 'admin', roles: ['chestaid-reader', ADMIN_ROLE] } },
};

const escapeHtml = text => String(text).replace(/[&<>"']/g, c => `&#${c.charCodeAt(0)};`);

function loginPage(uid, message) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>ChestAid dev login</title></head>
<body>
<h1>ChestAid development login</h1>
<p>Test users: reader / reader-password, admin / admin-password.</p>
${message ? `<p role="alert">${escapeHtml(message)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}/login">
<label>Username <input name="username" autocomplete="username" autofocus></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<button type="submit">Log in</button>
</form>
</body></html>`;
}

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/**
 * Starts the provider on 127.0.0.1:`port` (0: a free one). `viewer` is the viewer's origin
 * (its /callback is the client's redirect URI). Returns { issuer, port, audience, close }.
 */
export async function startOidcProvider({ viewer, port = 0, audience = DEFAULT_AUDIENCE, accessTokenTtl = 600 }) {
  if (!viewer) throw new Error('startOidcProvider needs the viewer origin (its /callback is the redirect URI)');
  const viewerOrigin = new URL(viewer).origin;
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const signingKey = { ...(await exportJWK(privateKey)), alg: 'RS256', use: 'sig', kid: randomBytes(8).toString('hex') };

  // The issuer names the port, so listen first and build the provider on the port found.
  const server = createServer();
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const issuer = `http://127.0.0.1:${server.address().port}`;

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: CLIENT_ID,
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: [`${viewerOrigin}/callback`],
        post_logout_redirect_uris: [`${viewerOrigin}/`],
      },
    ],
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    pkce: { required: () => true },
    claims: { openid: ['sub'], profile: ['name', 'preferred_username'], roles: ['roles'] },
    // OHIF reads the user from the ID token (oidc-client-ts does not call userinfo by default).
    conformIdTokenClaims: false,
    ttl: {
      AccessToken: accessTokenTtl,
      IdToken: accessTokenTtl,
      Interaction: 600,
      Session: 8 * 3600,
      Grant: 8 * 3600,
      RefreshToken: 8 * 3600,
    },
    // The silent renewal of OHIF's client uses the refresh token (no iframe: the viewer's CSP
    // allows no frame from elsewhere).
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => audience,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx, resource) => {
          if (resource !== audience) throw new Provider.errors.InvalidTarget(`unknown resource ${resource}`);
          return { scope: 'dicomweb', audience, accessTokenFormat: 'jwt', accessTokenTTL: accessTokenTtl, jwt: { sign: { alg: 'RS256' } } };
        },
      },
    },
    findAccount: async (_ctx, sub) => {
      const user = USERS[sub];
      if (!user) return undefined;
      return { accountId: sub, claims: async () => ({ sub, ...user.claims }) };
    },
    // First-party client: the grant is given at login, no consent screen.
    loadExistingGrant: async ctx => {
      const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      if (!ctx.oidc.session.accountId) return undefined;
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
      grant.addOIDCScope(SCOPE);
      grant.addResourceScope(audience, 'dicomweb');
      await grant.save();
      return grant;
    },
  });
  provider.on('server_error', (_ctx, error) => console.error('oidc-dev-provider:', error));

  const callback = provider.callback();
  server.on('request', async (req, res) => {
    const match = /^\/interaction\/([A-Za-z0-9_-]+)(\/login)?$/.exec(req.url.split('?')[0]);
    if (!match) return callback(req, res);
    try {
      const details = await provider.interactionDetails(req, res);
      if (details.uid !== match[1]) throw new Error('interaction does not match the session');
      if (req.method === 'GET') {
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
        return res.end(loginPage(details.uid));
      }
      if (req.method === 'POST' && match[2]) {
        const form = await readForm(req);
        const username = form.get('username') ?? '';
        const user = USERS[username];
        if (!user || user.password !== form.get('password')) {
          res.writeHead(401, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
          return res.end(loginPage(details.uid, 'Unknown user or wrong password.'));
        }
        return await provider.interactionFinished(req, res, { login: { accountId: username } }, { mergeWithLastSubmission: false });
      }
      res.writeHead(405).end();
    } catch (error) {
      res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`Login failed: ${error.message}\n`);
    }
  });

  return {
    issuer,
    port: server.address().port,
    audience,
    clientId: CLIENT_ID,
    close: () => new Promise(resolve => server.close(resolve)),
  };
}

function option(args, name, fallback) {
  const at = args.indexOf(name);
  if (at === -1) {
    if (fallback === undefined) throw new Error(`oidc-dev-provider.mjs: ${name} is required`);
    return fallback;
  }
  return args[at + 1];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  try {
    const provider = await startOidcProvider({
      viewer: option(args, '--viewer', 'http://localhost:3000'),
      port: Number(option(args, '--port', '9000')),
      audience: option(args, '--audience', DEFAULT_AUDIENCE),
    });
    console.log(`oidc-dev-provider: issuer ${provider.issuer}, client ${provider.clientId}, audience ${provider.audience}; users reader / admin`);
    for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => void provider.close().then(() => process.exit(0)));
  } catch (error) {
    console.error(`oidc-dev-provider: ${error.message}`);
    process.exit(1);
  }
}
