/* global process, setTimeout, clearTimeout */
/**
 * Runs the triage worker CLI (scripts/worker.mjs) as a child process, as a service manager would,
 * and collects its JSON log lines; plus the PACS-side facts the worker tests assert on.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before } from 'node:test';

import { makeDemoStudies } from '../../scripts/make-demo-studies.mjs';
import { ROOT, requireBuilt } from '../../scripts/node-build.mjs';
import { loadDemoStudies, startOrthanc } from './orthanc.mjs';

export { ROOT, requireBuilt };

/**
 * For the enclosing describe: a fresh Orthanc holding the demo studies, started before its tests
 * (the returned object's `pacs`) and stopped, its storage deleted, after them. Each describe gets
 * its own, so one describe's crashes and writes cannot reach another's.
 */
export function demoPacs() {
  const demo = { pacs: undefined };
  before(async () => {
    makeDemoStudies();
    demo.pacs = await startOrthanc();
    await loadDemoStudies(demo.pacs.client);
  });
  after(async () => {
    await demo.pacs?.stop();
  });
  return demo;
}

export const MANIFEST = join(ROOT, 'models', 'chestaid-demo', 'manifest.json');

/**
 * Starts the worker. `events` fills as lines arrive; `waitFor(predicate)` resolves with the first
 * matching event (past or future); `exited` resolves with { code, signal }.
 */
export function startWorker(args, { env = {} } = {}) {
  // The repository's demo model may have a site calibration beside it (written by a local
  // `npm run recalibrate`); tests on the demo model's own calibration say they want none.
  const pinned = args.includes('--calibration-dir') || args.includes('--model') || args.includes('--no-site-calibration') ? [] : ['--no-site-calibration'];
  const child = spawn(process.execPath, [join(ROOT, 'scripts', 'worker.mjs'), ...args, ...pinned], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events = [];
  const stderr = [];
  const waiters = [];
  child.stderr.on('data', chunk => stderr.push(chunk.toString()));
  createInterface({ input: child.stdout }).on('line', line => {
    let event;
    try {
      event = JSON.parse(line);
    } catch {
      event = { event: 'non-json', line };
    }
    events.push(event);
    for (const waiter of [...waiters]) {
      if (waiter.predicate(event)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(event);
      }
    }
  });
  const exited = new Promise(resolve => child.once('exit', (code, signal) => resolve({ code, signal })));
  return {
    child,
    events,
    stderr,
    exited,
    /** Events from index `since` on count (events.length before an action: only what follows it). */
    waitFor(predicate, timeoutMs = 60_000, since = 0) {
      const found = events.slice(since).find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        // A met waiter's timer is cleared: left running, it would later remove whichever waiter
        // is last (indexOf -1 splices the end), and that later wait would never be met.
        const waiter = {
          predicate,
          resolve: event => {
            clearTimeout(timer);
            resolve(event);
          },
          since,
        };
        waiters.push(waiter);
        const timer = setTimeout(() => {
          const at = waiters.indexOf(waiter);
          if (at >= 0) waiters.splice(at, 1);
          reject(new Error(`no such worker event in ${timeoutMs} ms; last events: ${events.slice(-5).map(e => JSON.stringify(e)).join('\n')}\n${stderr.join('')}`));
        }, timeoutMs);
        exited.then(() => {
          clearTimeout(timer);
          const late = events.slice(since).find(predicate);
          if (late) resolve(late);
          else reject(new Error(`the worker exited before the event; last events: ${events.slice(-5).map(e => JSON.stringify(e)).join('\n')}\n${stderr.join('')}`));
        });
      });
    },
  };
}

/** Runs the worker to its exit; resolves with { code, events }. */
export async function runWorker(args, options) {
  const worker = startWorker(args, options);
  const { code, signal } = await worker.exited;
  return { code, signal, events: worker.events, stderr: worker.stderr.join('') };
}

export const of = (events, name) => events.filter(e => e.event === name);

const TAG = { StudyInstanceUID: '0020000D', SeriesInstanceUID: '0020000E', SOPInstanceUID: '00080018', Modality: '00080060', SeriesDescription: '0008103E' };
const first = (dataset, tag) => dataset?.[tag]?.Value?.[0];

/** Every instance in the PACS: { study, series, sop, modality, description }. */
export async function inventory(client) {
  const rows = [];
  for (const study of await client.searchStudies()) {
    const studyUID = first(study, TAG.StudyInstanceUID);
    for (const series of await client.searchSeries(studyUID, { includefield: [TAG.Modality, TAG.SeriesDescription] })) {
      const seriesUID = first(series, TAG.SeriesInstanceUID);
      for (const instance of await client.searchInstances(studyUID, seriesUID)) {
        rows.push({
          study: studyUID,
          series: seriesUID,
          sop: first(instance, TAG.SOPInstanceUID),
          modality: first(series, TAG.Modality),
          description: first(series, TAG.SeriesDescription),
        });
      }
    }
  }
  return rows;
}

/** The ChestAid result SRs in the PACS, read back: [{ sop, content }]. */
export async function resultSrs(client) {
  const { readResultSr, RESULT_SR_SERIES_DESCRIPTION } = requireBuilt('@chestaid/core');
  const rows = (await inventory(client)).filter(r => r.modality === 'SR' && r.description === RESULT_SR_SERIES_DESCRIPTION);
  const seriesDone = new Set();
  const results = [];
  for (const row of rows) {
    if (seriesDone.has(row.series)) continue;
    seriesDone.add(row.series);
    for (const metadata of await client.retrieveSeriesMetadata(row.study, row.series)) {
      results.push({ sop: first(metadata, TAG.SOPInstanceUID), content: readResultSr(metadata) });
    }
  }
  return results;
}

/** The CR/DX images in the PACS (the worker's work). */
export async function radiographs(client) {
  return (await inventory(client)).filter(r => r.modality === 'CR' || r.modality === 'DX');
}

export const bytesOf = file => {
  const b = readFileSync(file);
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
};

/** The ChestAid heatmaps in the PACS, read back: [{ sop, reference }] (dicom/readParametricMap.ts). */
export async function heatmaps(client) {
  const { readHeatmapReference, HEATMAP_SERIES_DESCRIPTION } = requireBuilt('@chestaid/core');
  const rows = (await inventory(client)).filter(r => r.description === HEATMAP_SERIES_DESCRIPTION);
  const results = [];
  for (const series of new Set(rows.map(r => `${r.study} ${r.series}`))) {
    const [study, seriesUID] = series.split(' ');
    for (const metadata of await client.retrieveSeriesMetadata(study, seriesUID)) {
      results.push({ sop: first(metadata, TAG.SOPInstanceUID), reference: readHeatmapReference(metadata) });
    }
  }
  return results;
}
