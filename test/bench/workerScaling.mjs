/* global process, console, performance, setInterval, clearInterval */
/**
 * The worker's scaling rows (issue 17): the same backlog of small studies drained by 1, 2 and 4
 * worker processes on one RabbitMQ queue, against today's single polling worker (`--once`) on the
 * same data in the same run. Each row starts from a fresh Orthanc loaded with the backlog (and a
 * fresh RabbitMQ for the broker rows), so no row finds another's results.
 *
 * Per row: time to drain (the first worker's `consuming` to the last `stored`, and the wall time
 * of the processes), images per minute, and each worker's resident memory sampled every 500 ms
 * from /proc: its peak, and the median of the last fifth of the run against the median of the
 * first fifth after warm-up (flat: near 1.0). Called by test/bench/worker.mjs; it prints a table
 * and returns the raw samples. And where the CPU went: CPU seconds (from /proc) of the workers
 * (their whole lives), the PACS and the broker over the row, per image, and their sum over the
 * wall time (cores busy): on a 2-core machine one worker that keeps more than one core busy
 * (the PACS and the broker working beside it) leaves less than 2x to a second.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import dcmjs from 'dcmjs';

import { startRabbitMQ } from '../../broker/rabbitmq.mjs';
import { startOrthanc } from '../../pacs/orthanc.mjs';
import { requireBuilt } from '../../scripts/node-build.mjs';
import { runFeeder, waitStable } from '../pacs/broker.mjs';
import { of, startWorker } from '../pacs/workerHarness.mjs';
import { summary } from './stats.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..');
const median = values => (values.length ? summary(values).median : NaN);
const fmt = (v, digits = 1) => (v === undefined || Number.isNaN(v) ? '-' : v.toFixed(digits));

/** `count` single-image studies: the demo radiographs in turn, each with new UIDs. */
export function backlog(files, count) {
  const { DicomMessage, DicomMetaDictionary } = dcmjs.data;
  const sources = files.map(file => {
    const bytes = readFileSync(file);
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  });
  const out = [];
  for (let i = 0; i < count; i++) {
    const message = DicomMessage.readFile(sources[i % sources.length]);
    const ds = DicomMetaDictionary.naturalizeDataset(message.dict);
    ds.StudyInstanceUID = DicomMetaDictionary.uid();
    ds.SeriesInstanceUID = DicomMetaDictionary.uid();
    ds.SOPInstanceUID = DicomMetaDictionary.uid();
    message.dict = DicomMetaDictionary.denaturalizeDataset(ds);
    message.meta['00020003'].Value = [ds.SOPInstanceUID];
    out.push(message.write());
  }
  return out;
}

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** CPU seconds (user + system) a process has used so far, or null once it is gone. */
function cpuSecondsOf(pid) {
  try {
    // Fields after the command's closing parenthesis: state is the 3rd field, utime the 14th.
    const rest = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ').pop().split(' ');
    return (Number(rest[11]) + Number(rest[12])) / TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/** CPU seconds of this process's children that have exited and been waited for (the workers of a row). */
function reapedChildrenCpuSeconds() {
  const rest = readFileSync('/proc/self/stat', 'utf8').split(') ').pop().split(' ');
  return (Number(rest[13]) + Number(rest[14])) / TICKS_PER_SECOND;
}

/** CPU seconds used by every live process of a process group (a detached server and its helpers). */
function groupCpuSeconds(pgid) {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const rest = readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ').pop().split(' ');
      if (Number(rest[2]) === pgid) total += (Number(rest[11]) + Number(rest[12])) / TICKS_PER_SECOND;
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

/** Samples a process's VmRSS (MiB) every 500 ms until stopped. */
function rssSampler(pid) {
  const samples = [];
  const timer = setInterval(() => {
    try {
      const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (match) samples.push(Number(match[1]) / 1024);
    } catch {
      // exited
    }
  }, 500);
  return {
    samples,
    stop: () => clearInterval(timer),
  };
}

function flatness(samples) {
  const fifth = Math.max(1, Math.floor(samples.length / 5));
  // The first fifth holds the model load; the second is the warm start of the run.
  const early = median(samples.slice(fifth, 2 * fifth));
  const late = median(samples.slice(-fifth));
  return { peak: Math.max(...samples), early, late, ratio: late / early };
}

async function freshPacs(temp, name, studies) {
  const pacs = await startOrthanc({ stateDir: join(temp, name) });
  const { DicomWebClient } = requireBuilt('@chestaid/core');
  const client = new DicomWebClient({ baseUrl: pacs.dicomWebUrl });
  try {
    for (let i = 0; i < studies.length; i += 50) await client.store(studies.slice(i, i + 50));
  } catch (error) {
    await pacs.stop();
    throw error;
  }
  return pacs;
}

/** Today's single polling worker, one --once pass over the backlog. */
async function pollingRow(temp, studies, threads) {
  const pacs = await freshPacs(temp, 'polling', studies);
  try {
    const pacsCpu = cpuSecondsOf(pacs.pid);
    const childrenCpu = reapedChildrenCpuSeconds();
    const worker = startWorker(['--pacs', pacs.dicomWebUrl, '--once', '--threads', String(threads)]);
    const rss = rssSampler(worker.child.pid);
    const started = performance.now();
    const { code } = await worker.exited;
    const wall = performance.now() - started;
    rss.stop();
    const cpu = { workers: reapedChildrenCpuSeconds() - childrenCpu, pacs: cpuSecondsOf(pacs.pid) - pacsCpu, broker: 0 };
    if (code !== 0) throw new Error(`the polling worker exited with ${code}: ${worker.stderr.join('')}`);
    const pass = of(worker.events, 'pass')[0];
    return { name: 'polling worker, 1 process (--once)', workers: 1, drainMs: pass.ms, wallMs: wall, stored: of(worker.events, 'stored').length, rss: [flatness(rss.samples)], cpu };
  } finally {
    await pacs.stop();
  }
}

/** k workers on a broker fed by the feeder, drained to idle. */
async function brokerRow(temp, studies, k, threads) {
  const pacs = await freshPacs(temp, `broker-${k}`, studies);
  let rabbit;
  try {
    rabbit = await startRabbitMQ({ stateDir: join(temp, `rabbitmq-${k}`) });
    await waitStable(pacs.url, studies.length, 600_000);
    const fed = await runFeeder(['--orthanc', pacs.url, '--broker', rabbit.url, '--once', '--batch', '1000']);
    if (fed.code !== 0) throw new Error(`the feeder exited with ${fed.code}: ${fed.stderr}`);
    const pacsCpu = cpuSecondsOf(pacs.pid);
    const brokerCpu = groupCpuSeconds(rabbit.pid);
    const childrenCpu = reapedChildrenCpuSeconds();
    const started = performance.now();
    const workers = Array.from({ length: k }, () => startWorker(['--pacs', pacs.dicomWebUrl, '--broker', rabbit.url, '--threads', String(threads), '--exit-when-idle', '10']));
    const samplers = workers.map(w => rssSampler(w.child.pid));
    const exits = await Promise.all(workers.map(w => w.exited));
    const wall = performance.now() - started;
    samplers.forEach(s => s.stop());
    // Workers: their whole lives (model load included), counted once they have exited.
    const cpu = { workers: reapedChildrenCpuSeconds() - childrenCpu, pacs: cpuSecondsOf(pacs.pid) - pacsCpu, broker: groupCpuSeconds(rabbit.pid) - brokerCpu };
    exits.forEach(({ code }, i) => {
      if (code !== 0) throw new Error(`worker ${i} exited with ${code}: ${workers[i].stderr.join('')}`);
    });
    const times = events => events.map(e => Date.parse(e.ts)).filter(Number.isFinite);
    const first = Math.min(...workers.flatMap(w => times(of(w.events, 'consuming'))));
    const last = Math.max(...workers.flatMap(w => times(of(w.events, 'stored'))));
    const stored = workers.reduce((n, w) => n + of(w.events, 'stored').length, 0);
    return {
      name: `broker, ${k} worker process${k > 1 ? 'es' : ''}`,
      workers: k,
      drainMs: Number.isFinite(first) && Number.isFinite(last) ? last - first : NaN,
      wallMs: wall,
      stored,
      perWorker: workers.map(w => of(w.events, 'stored').length),
      rss: samplers.map(s => flatness(s.samples)),
      cpu,
    };
  } finally {
    await rabbit?.close();
    await pacs.stop();
  }
}

/**
 * The machine's own ceiling: k processes running only the model (modelLoop.mjs, the worker's
 * session options) at once for `seconds`; model runs per minute in all. No PACS, no broker: what
 * k workers could reach if scoring were all they did.
 */
async function modelAloneRow(k, threads, seconds) {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'models', 'chestaid-demo', 'manifest.json'), 'utf8'));
  const args = [join(HERE, 'modelLoop.mjs'), join(ROOT, 'models', 'chestaid-demo', manifest.onnx.file), join(ROOT, 'test', 'fixtures', 'parity', 'study-01.input.f32'), String(threads), String(seconds)];
  const outs = await Promise.all(Array.from({ length: k }, () => promisify(execFile)(process.execPath, args)));
  const loops = outs.map(({ stdout }) => JSON.parse(stdout));
  return { processes: k, runs: loops.map(l => l.runs), perMinute: loops.reduce((n, l) => n + (l.runs / l.ms) * 60000, 0) };
}

/** Runs the rows, prints the tables, returns the raw rows. */
export async function scalingRows({ files, studies: count, workerCounts, threads, modelSeconds = 20 }) {
  const temp = mkdtempSync(join(tmpdir(), 'chestaid-bench-scaling-'));
  try {
    const studies = backlog(files, count);
    const alone = [];
    for (const k of workerCounts) alone.push(await modelAloneRow(k, threads, modelSeconds));
    const rows = [await pollingRow(temp, studies, threads)];
    for (const k of workerCounts) {
      rows.push(await brokerRow(temp, studies, k, threads));
      process.stdout.write(`scaling: ${rows.at(-1).name}: ${rows.at(-1).stored} images in ${fmt(rows.at(-1).drainMs / 1000, 1)} s\n`);
    }
    const base = rows[0];
    const one = rows.find(r => r.workers === 1 && r !== base);
    console.log(`\n${count} single-image studies, ${threads} onnxruntime thread(s) per worker\n`);
    console.log('| row | images | time to drain (s) | process wall (s) | images/min | vs polling worker | vs 1 broker worker | peak RSS per worker (MiB) | RSS late / early | CPU ms per image: workers / PACS / broker | cores busy |');
    console.log('|---|---|---|---|---|---|---|---|---|---|---|');
    for (const r of rows) {
      const rate = (r.stored / r.drainMs) * 60000;
      console.log(
        `| ${r.name} | ${r.stored} | ${fmt(r.drainMs / 1000)} | ${fmt(r.wallMs / 1000)} | ${fmt(rate, 0)} | ${fmt(base.drainMs / r.drainMs, 2)}x | ${one && r !== base ? `${fmt(one.drainMs / r.drainMs, 2)}x` : '-'} | ${r.rss.map(x => fmt(x.peak, 0)).join(', ')} | ${r.rss.map(x => fmt(x.ratio, 2)).join(', ')} | ${[r.cpu.workers, r.cpu.pacs, r.cpu.broker].map(c => fmt((c / r.stored) * 1000, 0)).join(' / ')} | ${fmt((r.cpu.workers + r.cpu.pacs + r.cpu.broker) / (r.wallMs / 1000), 2)} |`,
      );
    }
    const aloneOne = alone.find(r => r.processes === 1);
    console.log(`\nThe model alone (no PACS, no broker): k processes running it at once for ${modelSeconds} s, the same session options\n`);
    console.log('| processes | model runs/min, all | runs per process | vs 1 process |');
    console.log('|---|---|---|---|');
    for (const r of alone) console.log(`| ${r.processes} | ${fmt(r.perMinute, 0)} | ${r.runs.join(', ')} | ${aloneOne ? `${fmt(r.perMinute / aloneOne.perMinute, 2)}x` : '-'} |`);
    return { rows, alone };
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
}
