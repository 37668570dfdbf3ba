/**
 * Loads the Node build of ChestAid's TypeScript (tsconfig.node.json -> build/node), compiling it
 * first when a source is newer than its output, so scripts and tests never run stale code.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const NODE_BUILD = join(ROOT, 'build', 'node');
const require = createRequire(import.meta.url);

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(path));
    else if (entry.name.endsWith('.ts') || entry.name.endsWith('.json')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

const SOURCE_DIRS = ['extension/src', 'worker', 'cli'].map(d => join(ROOT, d)).filter(existsSync);
const STAMP = join(NODE_BUILD, 'extension', 'src', 'pacs', 'dicomweb.js');

/** Compiles build/node when it is missing or older than a source file. */
export function ensureNodeBuild() {
  const built = existsSync(STAMP) ? statSync(STAMP).mtimeMs : 0;
  const sources = Math.max(statSync(join(ROOT, 'tsconfig.node.json')).mtimeMs, ...SOURCE_DIRS.map(newestMtime));
  if (built >= sources) return;
  execFileSync(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', join(ROOT, 'tsconfig.node.json')], { cwd: ROOT, stdio: 'inherit' });
}

/** Requires a module of the Node build by its source path, e.g. "extension/src/pacs/dicomweb". */
export function requireBuilt(sourcePath) {
  ensureNodeBuild();
  const file = join(NODE_BUILD, `${sourcePath}.js`);
  if (!existsSync(file)) throw new Error(`${relative(ROOT, file)} is not in the Node build: is ${sourcePath}.ts listed in tsconfig.node.json?`);
  return require(file);
}
