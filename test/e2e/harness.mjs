// What the end-to-end tests drive: the viewer exactly as `npm start` serves it, on a free loopback
// port, and Debian's Chromium through playwright-core (downloaded browsers do not run here).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { launchChromium as launchWith } from '../chromium.mjs';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

async function freePort() {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return port;
}

async function waitFor(url, { timeoutMs, child, output }) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`npm start exited with ${child.exitCode} before serving:\n${output.join('')}`);
    }
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise(done => setTimeout(done, 500));
  }
  throw new Error(`npm start did not serve ${url} within ${timeoutMs / 1000} s:\n${output.join('')}`);
}

/**
 * Runs `npm start` on a free port; the first run also fetches OHIF (about 50 MB). `env` adds to
 * the server's environment, e.g. CHESTAID_DATA_SOURCE=pacs and CHESTAID_PACS_URL for a PACS.
 */
export async function startViewer({ timeoutMs = 240_000, env = {}, port: chosenPort } = {}) {
  const port = chosenPort ?? (await freePort());
  const output = [];
  // No live reload: an edit to the sources while tests run must not reload the page under them.
  const child = spawn('npm', ['start', '--', '--port', String(port), '--host', '127.0.0.1', '--no-live-reload'], {
    cwd: ROOT,
    detached: true, // its own process group, so stop() ends npm, webpack and the server together
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env, NO_COLOR: '1' },
  });
  child.stdout.on('data', chunk => output.push(chunk.toString()));
  child.stderr.on('data', chunk => output.push(chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null) {
      process.kill(-child.pid, 'SIGTERM');
      await once(child, 'exit');
    }
  };
  try {
    await waitFor(`${url}/app-config.js`, { timeoutMs, child, output });
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, output, stop };
}

export async function launchChromium() {
  return launchWith({ webgl: true });
}

export const BANNER_CONFIRM = '[data-cy="confirm-and-hide-button"]';

/**
 * A new page in `context` that records what must never happen: page errors, console errors (but
 * those naming one of `expectedFailures`, for a file a test breaks on purpose) and requests that
 * leave the viewer's origin. OHIF's "investigational use" banner is confirmed whenever it stands in
 * the way of an action.
 */
export async function watchedPage(context, { viewerUrl, problems, foreignRequests = [], expectedFailures = [] }) {
  const page = await context.newPage();
  page.setDefaultTimeout(60_000);
  await page.addLocatorHandler(page.locator(BANNER_CONFIRM), confirm => confirm.click());
  const expected = text => expectedFailures.some(part => text.includes(part));
  page.on('pageerror', error => problems.push(`page error: ${error.message}`));
  page.on('console', message => {
    const text = message.text();
    if (message.type() === 'error' && !expected(text) && !(expectedFailures.length > 0 && /Failed to load resource/.test(text))) {
      problems.push(`console error: ${text}`);
    }
  });
  page.on('request', request => {
    const url = request.url();
    if (!url.startsWith(viewerUrl) && !/^(data|blob):/.test(url)) foreignRequests.push(url);
  });
  return page;
}

export const ARTIFACTS = join(ROOT, 'test/e2e/artifacts');

/** What each e2e file starts with: the viewer, the study list it serves, and Chromium. */
export async function startSession({ env } = {}) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const viewer = await startViewer({ env });
  const { studies } = await (await fetch(`${viewer.url}/chestaid/demo/studies.json`)).json();
  const browser = await launchChromium();
  return { viewer, studies, browser };
}

/**
 * startSession plus the one watched page a single-page e2e file drives, in a browser context of
 * `viewport`; `problems` and `foreignRequests` are the caller's arrays, filled as watchedPage does.
 */
export async function startPageSession({ viewport, problems, foreignRequests, env }) {
  const session = await startSession({ env });
  const context = await session.browser.newContext({ viewport });
  const page = await watchedPage(context, { viewerUrl: session.viewer.url, problems, foreignRequests });
  return { ...session, page };
}

/** The triage results a page's IndexedDB ("chestaid") holds for a study, with just `fields` of each. */
export function storedRecords(page, studyUid, fields) {
  return page.evaluate(
    ({ uid, keep }) =>
      new Promise((resolve, reject) => {
        const open = indexedDB.open('chestaid');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const db = open.result;
          const request = db.transaction('results').objectStore('results').index('study').getAll(uid);
          request.onsuccess = () => {
            resolve(request.result.map(r => Object.fromEntries(keep.map(k => [k, r[k]]))));
            db.close();
          };
          request.onerror = () => reject(request.error);
        };
      }),
    { uid: studyUid, keep: fields },
  );
}

/**
 * Makes every page of `context` run ChestAid with `engine` ('auto', 'onnxruntime' or 'tfjs'): the
 * served app-config.js (host/app-config.js as webpack.config.js fills it) answered with the engine
 * set in its host values, as CHESTAID_ENGINE does for a whole server. One dev server then serves
 * each engine in its own browser context.
 */
export async function withEngine(context, engine) {
  await context.route('**/app-config.js', async route => {
    const response = await route.fetch();
    const text = await response.text();
    const marker = '"ortWasmPaths": "/chestaid/ort/"';
    if (!text.includes(marker)) throw new Error(`app-config.js does not name ${marker}: withEngine cannot set the engine`);
    await route.fulfill({ response, body: text.replace(marker, `${marker}, "engine": ${JSON.stringify(engine)}`) });
  });
}
