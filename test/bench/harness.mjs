/**
 * Shared by the WebGPU e2e check (test/webgpu) and the benchmark (test/bench/run.mjs): build the
 * test page, serve it, drive Debian's Chromium with playwright-core.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';

import { DEMO_DIR, ROOT, startServer } from './server.mjs';

export { DEMO_DIR, ROOT, startServer };

const require = createRequire(import.meta.url);

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

// shared/notes/environment.md: what works as root on this machine kind; no sandbox as root.
const BASE_ARGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** Bundles test/bench/page.ts with test/bench/webpack.config.js into test/bench/dist. */
export function buildPage() {
  const webpack = require('webpack');
  const config = require('./webpack.config.js');
  return new Promise((resolve, reject) => {
    webpack(config, (error, stats) => {
      if (error) return reject(error);
      if (stats.hasErrors()) return reject(new Error(stats.toString('errors-only')));
      resolve(stats);
    });
  });
}

/**
 * @param {{ webgpu?: boolean }} options webgpu adds --enable-unsafe-webgpu, which gives
 *   SwiftShader's fallback adapter on a machine without a GPU; without it there is no adapter.
 */
export async function launchChromium({ webgpu = false } = {}) {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (or set CHROMIUM)`);
  }
  const { chromium } = require('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [...BASE_ARGS, ...(webgpu ? ['--enable-unsafe-webgpu'] : [])],
  });
}

/** A fresh context and page at the test page, with its console errors collected. */
export async function openPage(browser, url) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', error => errors.push(String(error)));
  await page.goto(`${url}/`);
  await page.waitForFunction(() => 'chestaidTest' in window);
  return { context, page, errors };
}
