/**
 * Debian's nginx as a plain process for one test file: a configuration written by
 * deploy/nginx/render.mjs under a temporary prefix, on a free loopback port, no root needed; and
 * the token verifier nginx asks (auth_request) when the viewer has a login.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { writeStandalone } from '../../deploy/nginx/render.mjs';
import { freePort } from '../../pacs/orthanc.mjs';
import { ROOT } from '../e2e/harness.mjs';

export const NGINX = process.env.NGINX_BINARY || '/usr/sbin/nginx';

export function checkNginxInstalled() {
  if (!existsSync(NGINX)) throw new Error(`${NGINX} not found: run scripts/setup.sh (Debian package nginx)`);
}

/**
 * Starts nginx serving `root` and proxying /pacs/ to `pacs` ("127.0.0.1:8042"); with `auth` (the
 * token verifier's "127.0.0.1:PORT") and `oidcAuthority`, /pacs/ needs a login.
 */
export async function startNginx({ prefix, root, pacs, auth = null, oidcAuthority = null, port: chosenPort, timeoutMs = 15_000 }) {
  checkNginxInstalled();
  const port = chosenPort ?? (await freePort());
  const conf = writeStandalone({ prefix, root, pacs, listen: `127.0.0.1:${port}`, auth, oidcAuthority });
  const errorLog = join(prefix, 'logs/error.log');
  const child = spawn(NGINX, ['-p', prefix, '-c', conf, '-e', errorLog, '-g', 'daemon off;'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const output = [];
  child.stdout.on('data', chunk => output.push(chunk.toString()));
  child.stderr.on('data', chunk => output.push(chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise(resolve => child.once('exit', resolve));
      child.kill('SIGQUIT');
      await exited;
    }
  };
  const deadline = Date.now() + timeoutMs;
  let answer = 'no answer';
  for (;;) {
    if (child.exitCode !== null) {
      const log = existsSync(errorLog) ? readFileSync(errorLog, 'utf8') : '';
      throw new Error(`nginx exited (${child.exitCode}): ${output.join('')}${log}`);
    }
    try {
      const response = await fetch(`${url}/app-config.js`);
      if (response.ok) break;
      answer = `answered ${response.status}`;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`nginx on ${url}: GET /app-config.js ${answer} within ${timeoutMs} ms ${output.join('')}`);
    }
    await sleep(100);
  }
  return { url, port, conf, errorLog, stop };
}

/** The verifier as nginx's auth_request service, a plain process on a free loopback port. */
export async function startVerifier({ issuer, audience }) {
  const port = await freePort();
  const child = spawn(process.execPath, [join(ROOT, 'deploy/auth/verifier.mjs'), '--issuer', issuer, '--audience', audience, '--listen', `127.0.0.1:${port}`, '--clock-tolerance', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = [];
  child.stderr.on('data', chunk => output.push(chunk.toString()));
  await new Promise((resolve, reject) => {
    child.stdout.on('data', chunk => (String(chunk).includes('chestaid-verifier:') ? resolve() : undefined));
    child.once('exit', code => reject(new Error(`the verifier exited (${code}): ${output.join('')}`)));
  });
  return {
    address: `127.0.0.1:${port}`,
    output,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
    },
  };
}
