#!/usr/bin/env node
/**
 * The development PACS: Debian's Orthanc on 127.0.0.1 with ChestAid's config (pacs/orthanc.json).
 *
 *   node scripts/pacs.mjs start    start it in the background (state in build/pacs/)
 *   node scripts/pacs.mjs load     STOW-RS the demo studies into it
 *   node scripts/pacs.mjs status   say whether it runs, and what it holds
 *   node scripts/pacs.mjs stop     stop it (SIGTERM); its storage is kept for the next start
 *
 * CHESTAID_PACS_PORT picks the HTTP port (default 8042). `npm start` with CHESTAID_DATA_SOURCE=pacs
 * proxies /pacs/dicom-web to it.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isOrthancUp, loadDemoStudies, startOrthanc } from '../pacs/orthanc.mjs';
import { ROOT, requireBuilt } from './node-build.mjs';

export const PACS_STATE_DIR = join(ROOT, 'build', 'pacs');
export const PACS_PORT = Number(process.env.CHESTAID_PACS_PORT) || 8042;
export const PACS_URL = `http://127.0.0.1:${PACS_PORT}`;
const PID_FILE = join(PACS_STATE_DIR, 'orthanc.pid');

function runningPid() {
  if (!existsSync(PID_FILE)) return null;
  const pid = Number(readFileSync(PID_FILE, 'utf8'));
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return null;
  }
}

async function start() {
  if (await isOrthancUp(PACS_URL)) {
    console.log(`pacs: Orthanc already answers on ${PACS_URL}`);
    return;
  }
  const orthanc = await startOrthanc({ stateDir: PACS_STATE_DIR, port: PACS_PORT, detached: true });
  writeFileSync(PID_FILE, String(orthanc.pid));
  console.log(`pacs: Orthanc started on ${orthanc.url} (pid ${orthanc.pid}, DICOMweb ${orthanc.dicomWebUrl}, log ${orthanc.logFile})`);
}

async function load() {
  if (!(await isOrthancUp(PACS_URL))) throw new Error(`no PACS answers on ${PACS_URL}: run \`npm run pacs:start\` first`);
  const { DicomWebClient } = requireBuilt('@chestaid/core');
  const stored = await loadDemoStudies(new DicomWebClient({ baseUrl: `${PACS_URL}/dicom-web` }));
  console.log(`pacs: stored ${stored.length} demo instances through STOW-RS`);
}

async function status() {
  if (!(await isOrthancUp(PACS_URL))) {
    console.log(`pacs: nothing answers on ${PACS_URL}`);
    process.exitCode = 1;
    return;
  }
  const stats = await (await fetch(`${PACS_URL}/statistics`)).json();
  console.log(`pacs: Orthanc on ${PACS_URL}: ${stats.CountStudies} studies, ${stats.CountInstances} instances`);
}

async function stop() {
  const pid = runningPid();
  if (!pid) {
    console.log('pacs: no Orthanc started by this script is running');
    rmSync(PID_FILE, { force: true });
    return;
  }
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100 && runningPid(); i++) await new Promise(resolve => setTimeout(resolve, 100));
  rmSync(PID_FILE, { force: true });
  console.log(`pacs: Orthanc (pid ${pid}) stopped`);
}

const commands = { start, load, status, stop };
const command = process.argv[2];
if (!commands[command]) {
  console.error(`usage: node scripts/pacs.mjs ${Object.keys(commands).join('|')}`);
  process.exit(2);
}
commands[command]().catch(error => {
  console.error(`pacs ${command}: ${error.message}`);
  process.exit(1);
});
