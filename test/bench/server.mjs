/**
 * A static server for the inference test page, on loopback only, node:http and nothing else.
 * By default it sends COOP same-origin + COEP require-corp, which makes the page (and its workers)
 * crossOriginIsolated, so onnxruntime-web can use threads. `no-store` keeps the HTTP cache out of
 * cold-start timings; the model cache under test is the Cache API, which it does not affect.
 *
 *   /                 the test page (loads /app/page.js)
 *   /app/             test/bench/dist (webpack --config test/bench/webpack.config.js)
 *   /chestaid/ort/    node_modules/onnxruntime-web/dist (our ORT 1.31.1, never OHIF's 1.17.1)
 *   /chestaid/ort-previous/  node_modules/onnxruntime-web-1.30/dist (the release before, the bench's peer)
 *   /chestaid/tfjs/   node_modules/@tensorflow/tfjs-backend-wasm/dist (the TensorFlow.js engine's .wasm files, issue 19)
 *   /models/chestaid-demo/   $CHESTAID_DEMO_DIR, else models/chestaid-demo (the demo model)
 *   /models/          models/
 *   /fixtures/        test/fixtures/
 *   /demo-studies/    test/demo-studies/
 */
import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The demo model's folder (model.onnx + manifest.json); CHESTAID_DEMO_DIR points elsewhere while training rewrites it. */
export const DEMO_DIR = resolve(process.env.CHESTAID_DEMO_DIR ?? join(ROOT, 'models/chestaid-demo'));

// First match wins: the demo folder before the rest of models/.
export const ROUTES = Object.freeze({
  '/app/': join(ROOT, 'test/bench/dist'),
  '/models/chestaid-demo/': DEMO_DIR,
  '/chestaid/ort/': join(ROOT, 'node_modules/onnxruntime-web/dist'),
  '/chestaid/ort-previous/': join(ROOT, 'node_modules/onnxruntime-web-1.30/dist'),
  '/chestaid/tfjs/': join(ROOT, 'node_modules/@tensorflow/tfjs-backend-wasm/dist'),
  '/models/': join(ROOT, 'models'),
  '/fixtures/': join(ROOT, 'test/fixtures'),
  '/demo-studies/': join(ROOT, 'test/demo-studies'),
});

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
  '.f32': 'application/octet-stream',
  '.dcm': 'application/dicom',
};

const PAGE = '<!doctype html><meta charset="utf-8"><title>ChestAid inference test page</title><script type="module" src="/app/page.js"></script>';

/**
 * @param {{ isolated?: boolean, port?: number }} options
 * @returns {Promise<{ url: string, requests: string[], served: { path: string, bytes: number }[], close: () => Promise<void> }>}
 */
export function startServer({ isolated = true, port = 0 } = {}) {
  const requests = [];
  // What each answered file weighed: the benchmark sums it per engine (its download size).
  const served = [];
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    requests.push(path);
    const headers = { 'Cache-Control': 'no-store', 'Cross-Origin-Resource-Policy': 'same-origin' };
    if (isolated) {
      headers['Cross-Origin-Opener-Policy'] = 'same-origin';
      headers['Cross-Origin-Embedder-Policy'] = 'require-corp';
    }
    if (path === '/' || path === '/index.html') {
      res.writeHead(200, { ...headers, 'Content-Type': TYPES['.html'] });
      res.end(PAGE);
      return;
    }
    const file = resolveFile(path);
    let size = -1;
    try {
      const stat = file ? statSync(file) : null;
      if (stat?.isFile()) size = stat.size;
    } catch {
      // missing: answered below
    }
    if (!file || size < 0) {
      res.writeHead(404, { ...headers, 'Content-Type': 'text/plain' });
      res.end(`not found: ${path}`);
      return;
    }
    res.writeHead(200, { ...headers, 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Content-Length': size });
    if (req.method !== 'HEAD') served.push({ path, bytes: size });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    createReadStream(file).pipe(res);
  });
  return new Promise((resolveStart, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const { port: bound } = /** @type {import('node:net').AddressInfo} */ (server.address());
      resolveStart({
        url: `http://127.0.0.1:${bound}`,
        requests,
        served,
        close: () =>
          new Promise(done => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

/** The file a URL path names, or null outside the routes (no `..` escapes). */
function resolveFile(path) {
  for (const [prefix, dir] of Object.entries(ROUTES)) {
    if (!path.startsWith(prefix)) continue;
    const file = normalize(join(dir, path.slice(prefix.length)));
    return file.startsWith(dir + sep) ? file : null;
  }
  return null;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const port = Number(process.env.PORT ?? 8765);
  startServer({ port }).then(({ url }) => console.log(`serving the inference test page at ${url}/`));
}
