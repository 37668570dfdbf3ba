#!/usr/bin/env node
/**
 * Adds ChestAid to the web root of an OHIF viewer a site already runs (docs/deploying.md, "Adding
 * ChestAid to your OHIF"): steps 1 and 2 of the three; the third, the settings, is the site's.
 *
 *   node deploy/install.mjs <viewer root> [--dist dist]
 *
 * 1. copies `npm run build`'s dist/ into the root: chestaid-config.js, chestaid/ and
 *    models/sha256-<hex>/, all new names beside OHIF's files (a copy of a newer build adds a new
 *    model folder and replaces ChestAid's own files, nothing else);
 * 2. includes chestaid-config.js in index.html right after the site's app-config.js, once.
 *
 * The site's app-config.js is not read or written.
 */
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SNIPPET_TAG = '<script src="/chestaid-config.js"></script>';
const APP_CONFIG_TAG = /<script\b[^>]*\bsrc="[^"]*\bapp-config\.js"[^>]*><\/script>/;

/** `indexHtml` with chestaid-config.js included after app-config.js (unchanged when it already is). */
export function withChestAidScript(indexHtml) {
  if (indexHtml.includes(SNIPPET_TAG)) return indexHtml;
  const match = indexHtml.match(APP_CONFIG_TAG);
  if (!match) {
    throw new Error(`index.html has no <script src=".../app-config.js"> to include ChestAid after; add ${SNIPPET_TAG} after the script that sets window.config`);
  }
  const end = match.index + match[0].length;
  return `${indexHtml.slice(0, end)}${SNIPPET_TAG}${indexHtml.slice(end)}`;
}

export function install({ root, dist }) {
  const index = join(root, 'index.html');
  if (!existsSync(index)) throw new Error(`${root}: no index.html; give the folder the viewer is served from`);
  if (!existsSync(join(dist, 'chestaid-config.js'))) throw new Error(`${dist}: no chestaid-config.js; run npm run build first`);
  const html = withChestAidScript(readFileSync(index, 'utf8'));
  cpSync(dist, root, { recursive: true });
  writeFileSync(index, html);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [root, ...args] = process.argv.slice(2);
  const at = args.indexOf('--dist');
  if (!root || root.startsWith('-')) {
    console.error('usage: node deploy/install.mjs <viewer root> [--dist dist]');
    process.exit(2);
  }
  try {
    install({ root: resolve(root), dist: resolve(at === -1 ? 'dist' : args[at + 1]) });
    console.log(`ChestAid installed in ${resolve(root)}. Next: its settings (window.config.chestaid) and the web server, docs/deploying.md.`);
  } catch (error) {
    console.error(error.message);
    process.exit(1);
  }
}
