/**
 * Loads the Node build of ChestAid's packages (@chestaid/core, @chestaid/worker, @chestaid/cli:
 * tsconfig.node.json, TypeScript project references, each into its own dist/), building first
 * with `tsc -b`, which rebuilds only what changed, so scripts and tests never run stale code.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

let built = false;
/** Runs `tsc -b tsconfig.node.json` once per process. */
export function ensureNodeBuild() {
  if (built) return;
  execFileSync(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-b', join(ROOT, 'tsconfig.node.json')], { cwd: ROOT, stdio: 'inherit' });
  built = true;
}

/**
 * Requires a built workspace package by its name: "@chestaid/core", "@chestaid/core/node",
 * "@chestaid/worker", "@chestaid/cli".
 */
export function requireBuilt(name) {
  if (!name.startsWith('@chestaid/')) throw new Error(`requireBuilt(${JSON.stringify(name)}): name a workspace package, e.g. "@chestaid/core"`);
  ensureNodeBuild();
  return require(name);
}
