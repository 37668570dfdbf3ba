#!/usr/bin/env node
// What the ChestAid bundle takes from the prebuilt OHIF viewer, checked against the unpacked dist
// before every build. The dist's internals are not an API: these assumptions hold for the pinned
// version only, so the build stops (with every broken assumption listed) rather than shipping an
// extension that fails at run time.
//
//   node scripts/check-ohif-host.mjs    prints the facts, exits 1 if an assumption broke
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { OHIF_APP, ohifAppDir } from './fetch-ohif.mjs';

/** What the extension relies on, and why. */
export const HOST_ASSUMPTIONS = Object.freeze({
  ohifVersion: OHIF_APP.version,
  // window.cornerstone / window.cornerstoneTools are set by extension-cornerstone and are the only
  // way a runtime-loaded extension reaches Cornerstone (the bundle's own exports are mangled).
  globals: ['window.cornerstone = ', 'window.cornerstoneTools = '],
  // The overlay code is written against Cornerstone 5.6 (legacy StackViewport, addImages).
  cornerstoneCore: /^5\.6\.\d+$/,
  // The panel is a React island: our own React renders inside a host element. That works only
  // while the host's React element tag and ref handling match ours, i.e. the same major.
  reactMajor: 18,
});

function listScripts(distDir) {
  return readdirSync(distDir).filter(name => name.endsWith('.js'));
}

function countOccurrences(text, needle) {
  let count = 0;
  for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + needle.length)) {
    count += 1;
  }
  return count;
}

/**
 * @param {string} appDir the unpacked @ohif/app package (package.json + dist/)
 * @param {{ reactVersion: string }} ours the React version bundled into ChestAid
 * @returns {{ ohifVersion: string, cornerstoneVersion: string, reactVersion: string }}
 */
export function checkOhifHost(appDir = ohifAppDir, ours = { reactVersion: '' }) {
  const problems = [];
  const distDir = join(appDir, 'dist');

  const { name, version } = JSON.parse(readFileSync(join(appDir, 'package.json'), 'utf8'));
  if (name !== OHIF_APP.name || version !== HOST_ASSUMPTIONS.ohifVersion) {
    problems.push(`the dist is ${name}@${version}, ChestAid is built against ${OHIF_APP.name}@${HOST_ASSUMPTIONS.ohifVersion}`);
  }

  const sources = listScripts(distDir).map(file => readFileSync(join(distDir, file), 'utf8'));
  for (const assignment of HOST_ASSUMPTIONS.globals) {
    const found = sources.reduce((sum, text) => sum + countOccurrences(text, assignment), 0);
    if (found !== 1) {
      problems.push(`expected one \`${assignment.trim()}\` in the dist, found ${found}`);
    }
  }

  // @cornerstonejs/core's index re-exports its inlined version next to its RenderingEngine export.
  const coreVersions = new Set();
  const versionExport = /version: \(\) => \(\/\* reexport \*\/ \(\/\* inlined export \.version \*\/"([^"]+)"\)\)/g;
  for (const text of sources) {
    for (const match of text.matchAll(versionExport)) {
      const exportBlock = text.slice(Math.max(0, match.index - 20000), match.index);
      if (exportBlock.includes('RenderingEngine: () =>') && exportBlock.includes('getRenderingEngine: () =>')) {
        coreVersions.add(match[1]);
      }
    }
  }
  const [cornerstoneVersion = ''] = coreVersions;
  if (coreVersions.size !== 1 || !HOST_ASSUMPTIONS.cornerstoneCore.test(cornerstoneVersion)) {
    problems.push(
      `expected one @cornerstonejs/core matching ${HOST_ASSUMPTIONS.cornerstoneCore} in the dist, found [${[...coreVersions].join(', ')}]`,
    );
  }

  // react's production index ends with its version; react-dom's names its renderer.
  const reactVersions = new Set();
  for (const text of sources) {
    for (const match of text.matchAll(/exports\.useTransition=function\(\)\{return U\.current\.useTransition\(\)\};exports\.version="([^"]+)"/g)) {
      reactVersions.add(match[1]);
    }
    for (const match of text.matchAll(/bundleType:0,version:"([^"]+)",rendererPackageName:"react-dom"/g)) {
      reactVersions.add(match[1]);
    }
  }
  const [reactVersion = ''] = reactVersions;
  if (reactVersions.size !== 1 || Number(reactVersion.split('.')[0]) !== HOST_ASSUMPTIONS.reactMajor) {
    problems.push(`expected the host's react and react-dom at one ${HOST_ASSUMPTIONS.reactMajor}.x version, found [${[...reactVersions].join(', ')}]`);
  }
  if (ours.reactVersion && Number(ours.reactVersion.split('.')[0]) !== HOST_ASSUMPTIONS.reactMajor) {
    problems.push(`ChestAid bundles react ${ours.reactVersion}; the island needs ${HOST_ASSUMPTIONS.reactMajor}.x like the host`);
  }

  if (problems.length > 0) {
    throw new Error(
      `The OHIF host in ${appDir} breaks what ChestAid assumes:\n  - ${problems.join('\n  - ')}\n` +
        'Re-check the extension against this OHIF version before changing the pins in scripts/fetch-ohif.mjs and scripts/check-ohif-host.mjs.',
    );
  }
  return { ohifVersion: version, cornerstoneVersion, reactVersion };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const { version: reactVersion } = JSON.parse(readFileSync(join(root, 'node_modules/react/package.json'), 'utf8'));
  try {
    console.log(checkOhifHost(ohifAppDir, { reactVersion }));
  } catch (error) {
    console.error(error.message);
    process.exit(1);
  }
}
