/**
 * Shared by the WebGPU e2e check (test/webgpu) and the benchmark (test/bench/run.mjs): build the
 * test page, serve it, drive Debian's Chromium with playwright-core.
 */
import { createRequire } from 'node:module';

import { DEMO_DIR, ROOT, startServer } from './server.mjs';

export { DEMO_DIR, ROOT, startServer };
export { launchChromium } from '../chromium.mjs';

const require = createRequire(import.meta.url);

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
