#!/usr/bin/env node
/**
 * The PACS proxy's token check: is this request's `Authorization: Bearer` an access token that the
 * hospital's OpenID provider issued for the PACS, still valid?
 *
 * A JWT access token (RFC 9068) is verified here, with `jose`, against the provider's published
 * keys (its JWKS, found through its discovery document and cached): the signature (asymmetric
 * algorithms only), the issuer, the audience (the PACS's resource identifier, never the viewer's
 * client id: an ID token must not open the PACS) and the expiry. No call goes to the provider per
 * request, so a PACS read costs no round trip and keeps working through a short IdP outage; the
 * price is that a revoked token stays valid until it expires, which is why the access tokens
 * should be short-lived (5-10 minutes; the viewer renews them). Token introspection (RFC 7662)
 * would see revocation at once but costs a call to the IdP for every image the viewer loads
 * and a confidential client for the proxy.
 *
 * Used two ways:
 * - by nginx's `auth_request` (deploy/nginx/chestaid-pacs-auth.conf) through the small HTTP
 *   service below: 204 for a valid token, 401 with a `WWW-Authenticate: Bearer` challenge
 *   otherwise, 503 when the provider's keys cannot be read (nginx then refuses, fails closed);
 *     node deploy/auth/verifier.mjs --issuer URL --audience URI [--listen 127.0.0.1:9180] [--clock-tolerance 30]
 * - by the dev server (webpack.config.js) in its PACS proxy, when a login is configured.
 */
import { createRemoteJWKSet, errors, jwtVerify } from 'jose';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';

/** Asymmetric only: a shared-secret (HS*) token could be minted by anyone holding the secret. */
export const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

/** Why a token is refused, as the verifier says it: status 401 (the token) or 503 (the IdP). */
export class TokenRefused extends Error {
  constructor(message, status = 401, { challenge = true } = {}) {
    super(message);
    this.name = 'TokenRefused';
    this.status = status;
    /** Whether the WWW-Authenticate challenge names an error (RFC 6750: not when no token came). */
    this.invalidToken = challenge;
  }
}

/**
 * A verify(authorizationHeader) for tokens of `issuer` meant for `audience`. `jwksUri` defaults
 * to the one in the issuer's discovery document, read on first use.
 * Resolves to the token's claims; rejects with TokenRefused.
 */
export function createVerifier({ issuer, audience, jwksUri, clockToleranceS = 30, fetchImpl = fetch }) {
  if (!issuer || !audience) throw new Error(`the token verifier needs an issuer and an audience, got ${JSON.stringify({ issuer, audience })}`);
  let keys = jwksUri ? Promise.resolve(createRemoteJWKSet(new URL(jwksUri))) : null;
  const keySet = () => {
    keys ??= (async () => {
      const discovery = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
      const response = await fetchImpl(discovery);
      if (!response.ok) throw new Error(`${discovery} answered ${response.status}`);
      const document = await response.json();
      if (document.issuer !== issuer) throw new Error(`${discovery} names issuer ${document.issuer}, expected ${issuer}`);
      return createRemoteJWKSet(new URL(document.jwks_uri));
    })().catch(error => {
      keys = null;
      throw new TokenRefused(`the OpenID provider's keys could not be read: ${error.message}`, 503);
    });
    return keys;
  };

  return async function verify(authorization) {
    if (!authorization) throw new TokenRefused('no access token (Authorization: Bearer ...)', 401, { challenge: false });
    const match = /^Bearer\s+([A-Za-z0-9._~+/-]+=*)\s*$/i.exec(authorization);
    if (!match) throw new TokenRefused('the Authorization header is not a Bearer token');
    const jwks = await keySet();
    try {
      const { payload } = await jwtVerify(match[1], jwks, { issuer, audience, algorithms: ALGORITHMS, clockTolerance: clockToleranceS, requiredClaims: ['exp', 'sub'] });
      return payload;
    } catch (error) {
      if (error instanceof errors.JWTExpired) throw new TokenRefused('the access token has expired');
      if (error instanceof errors.JWTClaimValidationFailed) throw new TokenRefused(`the access token's "${error.claim}" claim is not accepted (${error.reason})`);
      if (error instanceof errors.JWKSNoMatchingKey) throw new TokenRefused("the access token is not signed by a key of the provider's JWKS");
      if (error instanceof errors.JWSSignatureVerificationFailed) throw new TokenRefused("the access token's signature does not verify");
      if (error instanceof errors.JOSEAlgNotAllowed) throw new TokenRefused('the access token is not signed with an accepted (asymmetric) algorithm');
      if (error instanceof errors.JWKSTimeout || (error instanceof TypeError && /fetch/i.test(error.message))) {
        throw new TokenRefused(`the OpenID provider's keys could not be read: ${error.message}`, 503);
      }
      if (error instanceof errors.JOSEError) throw new TokenRefused(`the access token is not a valid JWT (${error.code})`);
      throw error;
    }
  };
}

/** The WWW-Authenticate challenge for a refusal (RFC 6750 section 3). */
export function challenge(refusal) {
  if (!refusal.invalidToken) return 'Bearer realm="chestaid"';
  return `Bearer realm="chestaid", error="invalid_token", error_description="${refusal.message.replace(/["\\]/g, "'")}"`;
}

/** The auth_request service: every request is a question about its Authorization header. */
export function verifierServer(verify) {
  return createServer(async (req, res) => {
    try {
      const claims = await verify(req.headers.authorization);
      res.writeHead(204, { 'X-ChestAid-Subject': String(claims.sub) });
      res.end();
    } catch (error) {
      const refusal = error instanceof TokenRefused ? error : new TokenRefused(`the token could not be checked: ${error.message}`, 503);
      res.writeHead(refusal.status, { 'Content-Type': 'text/plain; charset=utf-8', ...(refusal.status === 401 ? { 'WWW-Authenticate': challenge(refusal) } : {}) });
      res.end(`${refusal.message}\n`);
      if (refusal.status !== 401) console.error(`chestaid-verifier: ${refusal.message}`);
    }
  });
}

function option(args, name, fallback) {
  const at = args.indexOf(name);
  if (at === -1) {
    if (fallback === undefined) throw new Error(`verifier.mjs: ${name} is required`);
    return fallback;
  }
  return args[at + 1];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  try {
    const issuer = option(args, '--issuer', process.env.CHESTAID_OIDC_ISSUER);
    const audience = option(args, '--audience', process.env.CHESTAID_OIDC_AUDIENCE);
    const listen = option(args, '--listen', '127.0.0.1:9180');
    const at = listen.lastIndexOf(':');
    const clockToleranceS = Number(option(args, '--clock-tolerance', '30'));
    if (!Number.isFinite(clockToleranceS) || clockToleranceS < 0) throw new Error(`--clock-tolerance must be seconds >= 0, got ${clockToleranceS}`);
    const server = verifierServer(createVerifier({ issuer, audience, clockToleranceS }));
    server.listen(Number(listen.slice(at + 1)), listen.slice(0, at), () => console.log(`chestaid-verifier: ${listen}, tokens of ${issuer} for ${audience}`));
    for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => server.close(() => process.exit(0)));
  } catch (error) {
    console.error(`chestaid-verifier: ${error.message}`);
    process.exit(2);
  }
}
