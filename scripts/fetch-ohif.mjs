#!/usr/bin/env node
// Fetches the prebuilt OHIF viewer that ChestAid runs inside: the pinned @ohif/app tarball from
// the npm registry, checked twice (npm pack verifies the registry's integrity field; we verify the
// tarball's sha512 against the value pinned below, so a re-published or tampered tarball stops
// here), then unpacked into .ohif/ (ignored by git). Idempotent: a verified copy is left alone.
//
//   node scripts/fetch-ohif.mjs          fetch if missing, print the app folder
//   node scripts/fetch-ohif.mjs --force  fetch again
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const OHIF_APP = Object.freeze({
  name: '@ohif/app',
  version: '3.13.2',
  // `npm view @ohif/app@3.13.2 dist.integrity`, recorded when the version was pinned.
  integrity:
    'sha512-WZdxmpmG7rqFgW9ZJLcbgr3XCtLi1KDNPoMaeY5PPe6j4G4fjEjjkycZM6C6Zk2F87BKxFfpq+jd5xXZB9E8EA==',
});

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The unpacked package (package.json + dist/), one folder per pinned version. */
export const ohifAppDir = join(root, '.ohif', `app-${OHIF_APP.version}`);
export const ohifDistDir = join(ohifAppDir, 'dist');
const stampFile = join(ohifAppDir, '.verified');

function isPresent() {
  return (
    existsSync(join(ohifDistDir, 'index.html')) &&
    existsSync(stampFile) &&
    readFileSync(stampFile, 'utf8').trim() === OHIF_APP.integrity
  );
}

function sha512Of(file) {
  return `sha512-${createHash('sha512').update(readFileSync(file)).digest('base64')}`;
}

export function fetchOhif({ force = false, log = console.log } = {}) {
  if (!force && isPresent()) {
    return ohifAppDir;
  }
  const spec = `${OHIF_APP.name}@${OHIF_APP.version}`;
  mkdirSync(join(root, '.ohif'), { recursive: true });
  const work = mkdtempSync(join(root, '.ohif', 'fetch-'));
  try {
    log(`fetch-ohif: npm pack ${spec} (about 50 MB)`);
    // Run outside the repository so the workspace setup plays no part; no scripts run for a pack.
    const packed = JSON.parse(
      execFileSync('npm', ['pack', spec, '--json', '--ignore-scripts', '--pack-destination', work], {
        cwd: work,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      }),
    )[0];
    if (packed.integrity !== OHIF_APP.integrity) {
      throw new Error(
        `${spec}: the registry reports integrity ${packed.integrity}, pinned ${OHIF_APP.integrity}`,
      );
    }
    const tarball = join(work, packed.filename);
    const actual = sha512Of(tarball);
    if (actual !== OHIF_APP.integrity) {
      throw new Error(`${spec}: tarball sha512 is ${actual}, pinned ${OHIF_APP.integrity}`);
    }
    const unpacked = join(work, 'package');
    mkdirSync(unpacked);
    execFileSync('tar', ['-xzf', tarball, '-C', unpacked, '--strip-components=1'], { stdio: 'inherit' });
    const { name, version } = JSON.parse(readFileSync(join(unpacked, 'package.json'), 'utf8'));
    if (name !== OHIF_APP.name || version !== OHIF_APP.version) {
      throw new Error(`${spec}: the tarball holds ${name}@${version}`);
    }
    writeFileSync(join(unpacked, '.verified'), `${OHIF_APP.integrity}\n`);
    rmSync(ohifAppDir, { recursive: true, force: true });
    renameSync(unpacked, ohifAppDir);
    log(`fetch-ohif: ${spec} verified (${OHIF_APP.integrity.slice(0, 23)}...) in ${ohifAppDir}`);
    return ohifAppDir;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    console.log(fetchOhif({ force: process.argv.includes('--force') }));
  } catch (error) {
    console.error(`fetch-ohif: ${error.message}`);
    process.exit(1);
  }
}
