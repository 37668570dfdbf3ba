/**
 * What the viewer's web server lets through, as data both servers apply: the nginx configuration
 * in deploy/nginx (written from these rules by hand, checked against them by
 * test/deploy/nginx.test.mjs) and the dev server (webpack.config.js, applying them directly).
 *
 * - the Content-Security-Policy: only this origin; WebAssembly compiled ('wasm-unsafe-eval', for
 *   onnxruntime-web and OHIF's codecs) but no other eval (ajv's validators are compiled at build
 *   time for that: scripts/ajv-precompiled); workers from this origin and from blob: URLs (OHIF's
 *   codecs); the viewer's inline scripts by their hashes, read from the index.html being served;
 * - the PACS: only the DICOMweb routes the viewer uses, GET/HEAD to read (QIDO-RS, WADO-RS) and
 *   POST only to store (STOW-RS on the studies route), never from another site;
 * - the model directory: only the files the viewer fetches (manifest, ONNX weights, the served
 *   calibration log), never the training splits, history or reports that sit beside them;
 * - onnxruntime-web: only the loaders and wasm files the inference worker imports;
 * - TensorFlow.js's wasm backend: only its three .wasm files and the threaded factory script its
 *   pthreads load (the engine itself is in our bundle; scripts/tfjs-threads-loader.cjs).
 */
const { createHash } = require('node:crypto');

/** The response headers every answer carries, the CSP aside. */
const SECURITY_HEADERS = {
  // Cross-origin isolation: SharedArrayBuffer, so multi-threaded wasm.
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'X-Content-Type-Options': 'nosniff',
  // The viewer's URLs carry study UIDs: they go nowhere.
  'Referrer-Policy': 'no-referrer',
  'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), payment=(), usb=()',
};

/** The sha256 source expressions of the inline <script> elements of an index.html. */
function inlineScriptHashes(indexHtml) {
  const hashes = [];
  for (const match of indexHtml.matchAll(/<script\b(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/g)) {
    if (match[1].trim() === '') continue;
    hashes.push(`'sha256-${createHash('sha256').update(match[1], 'utf8').digest('base64')}'`);
  }
  return hashes;
}

/**
 * The origin of the OpenID provider whose discovery document, keys and token endpoint the viewer
 * fetches when it has a login (OHIF's oidc[0].authority); null without one.
 */
function oidcOrigin(authority) {
  if (authority === undefined || authority === null || authority === '') return null;
  let url;
  try {
    url = new URL(authority);
  } catch {
    throw new Error(`the OpenID provider's authority must be an absolute URL, got ${JSON.stringify(authority)}`);
  }
  if (url.protocol !== 'https:' && !['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) {
    throw new Error(`the OpenID provider's authority must use https (plain http only on loopback), got ${authority}`);
  }
  return url.origin;
}

/**
 * The Content-Security-Policy for the viewer served from `indexHtml`.
 * 'unsafe-eval' is absent; 'wasm-unsafe-eval' compiles WebAssembly only. style-src keeps
 * 'unsafe-inline': OHIF's components set <style> elements at run time. With a login
 * (`oidcAuthority`), the viewer may also fetch from its OpenID provider (discovery, keys, tokens);
 * the login page itself is a navigation, which the CSP does not restrict.
 */
function contentSecurityPolicy(indexHtml, { oidcAuthority = null } = {}) {
  const idp = oidcOrigin(oidcAuthority);
  return [
    "default-src 'self'",
    `script-src 'self' 'wasm-unsafe-eval' ${inlineScriptHashes(indexHtml).join(' ')}`.trim(),
    "worker-src 'self' blob:",
    `connect-src 'self' blob: data:${idp ? ` ${idp}` : ''}`,
    "img-src 'self' data: blob:",
    "style-src 'self' 'unsafe-inline'",
    "font-src 'self' data:",
    "media-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** The DICOMweb root the viewer sees, below which the PACS is proxied. */
const PACS_PREFIX = '/pacs/dicom-web';
const PACS_READ = /^\/pacs\/dicom-web\/(studies|series|instances)(\/|$)/;
const PACS_STORE = /^\/pacs\/dicom-web\/studies(\/[0-9.]+)?\/?$/;

/**
 * Why a request to the PACS proxy is refused, or null when it may pass: `{ status, reason }`.
 * `origin` is the viewer's own origin ("http://127.0.0.1:3000").
 */
function pacsRefusal({ method, path, headers }, origin) {
  const site = headers['sec-fetch-site'];
  if (site === 'cross-site' || site === 'same-site') return { status: 403, reason: `a ${site} request` };
  if (headers.origin !== undefined && headers.origin !== origin) return { status: 403, reason: `a request from ${headers.origin}` };
  const route = path.split('?')[0];
  if (!PACS_READ.test(route)) return { status: 404, reason: `${route} is not a DICOMweb route the viewer uses` };
  if (method === 'GET' || method === 'HEAD') return null;
  if (method === 'POST' && PACS_STORE.test(route)) return null;
  return { status: 405, reason: `${method} ${route}` };
}

/** The files of a model directory the viewer fetches: manifest, weights, served calibration. */
const MODEL_FILE = /^\/models\/[^/]+\/(manifest\.json|[A-Za-z0-9._-]+\.onnx|calibration\/log\.jsonl|calibration\/overlays\/[A-Za-z0-9._-]+\.json)$/;
/** onnxruntime-web's builds the worker imports and the loaders and wasm they fetch. */
const ORT_FILE = /^\/chestaid\/ort\/(ort\.(wasm|webgpu)\.min\.mjs|ort-wasm-simd-threaded(\.asyncify)?\.(mjs|wasm))$/;

/** TensorFlow.js's wasm backend: the binaries its worker fetches (plain, SIMD, SIMD with threads) and its pthreads' script. */
const TFJS_FILE = /^\/chestaid\/tfjs\/(tfjs-backend-wasm(-simd|-threaded-simd)?\.wasm|tfjs-backend-wasm-threaded-simd\.js)$/;

module.exports = { SECURITY_HEADERS, contentSecurityPolicy, oidcOrigin, inlineScriptHashes, PACS_PREFIX, pacsRefusal, MODEL_FILE, ORT_FILE, TFJS_FILE };
