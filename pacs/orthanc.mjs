/**
 * Runs Debian's Orthanc as a plain process on loopback, with ChestAid's config (pacs/orthanc.json),
 * for development (scripts/pacs.mjs) and for the integration tests (test/pacs/).
 *
 * Orthanc is a real DICOMweb PACS here, not a mock: QIDO-RS, WADO-RS and STOW-RS go through its
 * DICOMweb plugin. It answers only on 127.0.0.1 (RemoteAccessAllowed false, no DICOM port), keeps
 * its database and files in one directory, and sends no CORS headers, so the viewer reaches it
 * through the dev server's proxy (webpack.config.js).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, readdirSync, writeFileSync, closeSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeDemoStudies } from '../scripts/make-demo-studies.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const ORTHANC_BINARY = process.env.ORTHANC_BINARY || '/usr/sbin/Orthanc';
export const DICOMWEB_PLUGIN = '/usr/share/orthanc/plugins/libOrthancDicomWeb.so';
export const CONFIG_TEMPLATE = join(ROOT, 'pacs', 'orthanc.json');

/**
 * Every demo DICOM file: the committed radiographs and the generated studies (two-view, CT),
 * generated first when missing (it is idempotent), so no test depends on another having run.
 */
export function demoStudyFiles() {
  makeDemoStudies();
  const dirs = [join(ROOT, 'test', 'demo-studies', 'dicom'), join(ROOT, 'build', 'demo', 'generated')];
  return dirs.flatMap(dir => (existsSync(dir) ? readdirSync(dir).filter(f => f.endsWith('.dcm')).sort().map(f => join(dir, f)) : []));
}

export function checkOrthancInstalled() {
  const missing = [ORTHANC_BINARY, DICOMWEB_PLUGIN].filter(p => !existsSync(p));
  if (missing.length) {
    throw new Error(`Orthanc is not installed (missing ${missing.join(', ')}): apt-get install orthanc orthanc-dicomweb, or run scripts/setup.sh`);
  }
}

/** A free TCP port on loopback. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Writes the config Orthanc reads: the template with this instance's port and directories; with
 * `users` ({ name: password }), HTTP Basic authentication on, as a site's PACS has it.
 */
export function writeConfig(stateDir, port, users) {
  const config = JSON.parse(readFileSync(CONFIG_TEMPLATE, 'utf8'));
  const storage = join(stateDir, 'storage');
  mkdirSync(storage, { recursive: true });
  Object.assign(config, { HttpPort: port, StorageDirectory: storage, IndexDirectory: storage, Plugins: [DICOMWEB_PLUGIN] });
  if (users) Object.assign(config, { AuthenticationEnabled: true, RegisteredUsers: users });
  const file = join(stateDir, 'orthanc.json');
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

/** The HTTP Basic header value for the first of `users` ({ name: password }); undefined without. */
export function basicAuthorization(users) {
  const [name, password] = Object.entries(users ?? {})[0] ?? [];
  return name === undefined ? undefined : `Basic ${Buffer.from(`${name}:${password}`).toString('base64')}`;
}

/** Resolves once Orthanc answers /system, or rejects with its log's tail. */
async function waitUntilUp(url, child, logFile, timeoutMs, authorization) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) break;
    try {
      const response = await fetch(`${url}/system`, { headers: authorization ? { Authorization: authorization } : {} });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise(resolve => setTimeout(resolve, 100));
  }
  const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n') : '';
  throw new Error(`Orthanc did not start on ${url} within ${timeoutMs} ms${child?.exitCode !== null ? ` (exit ${child?.exitCode})` : ''}\n${tail}`);
}

/**
 * Starts Orthanc with its state in `stateDir` and resolves when it answers. The handle can stop it
 * (SIGTERM, waits), kill it (SIGKILL, as a crash would) and restart it on the same port and
 * storage, which is how the tests cut the PACS off in the middle of a batch.
 */
export async function startOrthanc({ stateDir, port, detached = false, timeoutMs = 20_000, users } = {}) {
  checkOrthancInstalled();
  if (!stateDir) throw new Error('startOrthanc needs a stateDir');
  mkdirSync(stateDir, { recursive: true });
  const httpPort = port ?? (await freePort());
  const configFile = writeConfig(stateDir, httpPort, users);
  const logFile = join(stateDir, 'orthanc.log');
  const url = `http://127.0.0.1:${httpPort}`;

  let child;
  const launch = async () => {
    const log = openSync(logFile, 'a');
    child = spawn(ORTHANC_BINARY, [configFile], { stdio: ['ignore', log, log], detached });
    closeSync(log);
    if (detached) child.unref();
    await waitUntilUp(url, child, logFile, timeoutMs, basicAuthorization(users));
  };
  const exited = () =>
    child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise(resolve => child.once('exit', resolve));

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited();
    }
  };

  await launch();
  return {
    url,
    dicomWebUrl: `${url}/dicom-web`,
    port: httpPort,
    stateDir,
    logFile,
    get pid() {
      return child.pid;
    },
    stop,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited();
      }
    },
    async restart() {
      await stop();
      await launch();
    },
  };
}

/** Resolves once something answers as Orthanc at `url` (used for an instance started elsewhere). */
export async function isOrthancUp(url) {
  try {
    const response = await fetch(`${url}/system`);
    return response.ok && typeof (await response.json()).Version === 'string';
  } catch {
    return false;
  }
}

/**
 * STOWs the demo studies into the PACS through `client` (a DicomWebClient), a few files per
 * request. Orthanc keeps one copy of an instance it already has, so loading twice stores nothing
 * new. Returns the SOP Instance UIDs the server acknowledged.
 */
export async function loadDemoStudies(client, files = demoStudyFiles(), batch = 8) {
  if (files.length === 0) throw new Error('no demo studies found: run `npm run build` or `node scripts/make-demo-studies.mjs` first');
  const stored = [];
  for (let i = 0; i < files.length; i += batch) {
    const buffers = files.slice(i, i + batch).map(f => {
      const bytes = readFileSync(f);
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    });
    const result = await client.store(buffers);
    stored.push(...result.stored);
  }
  return stored;
}
