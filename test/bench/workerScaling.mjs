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
 * (the PACS and the broker working beside it) leaves less than 2x to a second. And how idle the
 * workers' cores were while the queue drained (/proc/stat, the drain window only).
 *
 * `prefetches` (AMQP prefetch, the worker's --prefetch) gives each worker count a row per value.
 * `placement` pins the workers (and the model-alone runs) to some CPUs and Orthanc and RabbitMQ
 * to the others (taskset), as a site's workers run on machines of their own beside its PACS;
 * placementFor() chooses it on a machine with 4 CPUs or more, none on fewer (then all share them).
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
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

/** The pids of a process group (a detached server and its helpers). */
function groupPids(pgid) {
  const pids = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (Number(readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ').pop().split(' ')[2]) === pgid) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** CPU seconds used by every live process of a process group. */
function groupCpuSeconds(pgid) {
  return groupPids(pgid).reduce((total, pid) => total + (cpuSecondsOf(pid) ?? 0), 0);
}

/**
 * Where the row's processes run: `workers` and `services` are taskset CPU lists ("0,1", "2-15"),
 * or null for no pinning (every process on every CPU). `workerCpus` ("0,1") overrides the choice.
 */
export function placementFor(cpuCount, workerCpus) {
  if (workerCpus) {
    const cpus = expandCpuList(workerCpus);
    if (cpus.some(c => c >= cpuCount)) throw new Error(`--worker-cpus ${workerCpus}: this machine has CPUs 0-${cpuCount - 1}`);
    const rest = Array.from({ length: cpuCount }, (_, c) => c).filter(c => !cpus.includes(c));
    if (rest.length === 0) throw new Error(`--worker-cpus ${workerCpus} leaves no CPU for the PACS and the broker`);
    return { workers: cpus.join(','), services: rest.join(','), workerCount: cpus.length };
  }
  if (cpuCount < 4) return null;
  return { workers: '0,1', services: `2-${cpuCount - 1}`, workerCount: 2 };
}

/** "0,2-3" -> [0, 2, 3] */
export function expandCpuList(list) {
  const cpus = [];
  for (const part of String(list).split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m || (m[2] !== undefined && Number(m[2]) < Number(m[1]))) throw new Error(`not a CPU list: ${list}`);
    for (let c = Number(m[1]); c <= Number(m[2] ?? m[1]); c++) if (!cpus.includes(c)) cpus.push(c);
  }
  return cpus;
}

/** Pins every thread of these processes to `cpus` (threads they start later inherit it). */
function pin(pids, cpus) {
  if (!cpus) return;
  for (const pid of pids) execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
}

/** /proc/stat every 250 ms: [time, { cpuN: [user, nice, system, idle, iowait, ...] }] until stopped. */
function cpuSampler() {
  const read = () => {
    const lines = readFileSync('/proc/stat', 'utf8').split('\n').filter(l => /^cpu\d+ /.test(l));
    return Object.fromEntries(lines.map(l => { const [name, ...v] = l.trim().split(/\s+/); return [name, v.map(Number)]; }));
  };
  const samples = [];
  const timer = setInterval(() => samples.push([Date.now(), read()]), 250);
  return {
    stop: () => clearInterval(timer),
    /** Idle share (idle + iowait) of `cpus` (all when null) between two times, in %. */
    idleBetween(from, to, cpus) {
      const inside = samples.filter(([t]) => t >= from && t <= to);
      if (inside.length < 2) return NaN;
      const [a, b] = [inside[0][1], inside.at(-1)[1]];
      const names = cpus ? expandCpuList(cpus).map(c => `cpu${c}`) : Object.keys(a);
      let idle = 0;
      let total = 0;
      for (const name of names) {
        const d = b[name].map((v, i) => v - a[name][i]);
        idle += d[3] + d[4];
        total += d.reduce((x, y) => x + y, 0);
      }
      return (100 * idle) / total;
    },
  };
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

async function freshPacs(temp, name, studies, placement) {
  const pacs = await startOrthanc({ stateDir: join(temp, name) });
  pin([pacs.pid], placement?.services);
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
async function pollingRow(temp, studies, threads, placement) {
  const pacs = await freshPacs(temp, 'polling', studies, placement);
  try {
    const pacsCpu = cpuSecondsOf(pacs.pid);
    const childrenCpu = reapedChildrenCpuSeconds();
    const worker = startWorker(['--pacs', pacs.dicomWebUrl, '--once', '--threads', String(threads)]);
    pin([worker.child.pid], placement?.workers);
    const rss = rssSampler(worker.child.pid);
    const load = cpuSampler();
    const started = performance.now();
    const { code } = await worker.exited;
    const wall = performance.now() - started;
    rss.stop();
    load.stop();
    const cpu = { workers: reapedChildrenCpuSeconds() - childrenCpu, pacs: cpuSecondsOf(pacs.pid) - pacsCpu, broker: 0 };
    if (code !== 0) throw new Error(`the polling worker exited with ${code}: ${worker.stderr.join('')}`);
    const pass = of(worker.events, 'pass')[0];
    const stored = of(worker.events, 'stored').map(e => Date.parse(e.ts));
    const idle = load.idleBetween(Math.min(...stored) + 2000, Math.max(...stored), placement?.workers);
    return { name: 'polling worker, 1 process (--once)', workers: 1, drainMs: pass.ms, wallMs: wall, stored: stored.length, rss: [flatness(rss.samples)], cpu, idle };
  } finally {
    await pacs.stop();
  }
}

/** k workers on a broker fed by the feeder, drained to idle. */
async function brokerRow(temp, studies, k, threads, prefetch, placement) {
  const pacs = await freshPacs(temp, `broker-${k}-${prefetch}`, studies, placement);
  let rabbit;
  try {
    rabbit = await startRabbitMQ({ stateDir: join(temp, `rabbitmq-${k}-${prefetch}`) });
    pin(groupPids(rabbit.pid), placement?.services);
    await waitStable(pacs.url, studies.length, 600_000);
    const fed = await runFeeder(['--orthanc', pacs.url, '--broker', rabbit.url, '--once', '--batch', '1000']);
    if (fed.code !== 0) throw new Error(`the feeder exited with ${fed.code}: ${fed.stderr}`);
    const pacsCpu = cpuSecondsOf(pacs.pid);
    const brokerCpu = groupCpuSeconds(rabbit.pid);
    const childrenCpu = reapedChildrenCpuSeconds();
    const started = performance.now();
    const workers = Array.from({ length: k }, () => startWorker(['--pacs', pacs.dicomWebUrl, '--broker', rabbit.url, '--threads', String(threads), '--prefetch', String(prefetch), '--exit-when-idle', '10']));
    pin(workers.map(w => w.child.pid), placement?.workers);
    const samplers = workers.map(w => rssSampler(w.child.pid));
    const load = cpuSampler();
    const exits = await Promise.all(workers.map(w => w.exited));
    const wall = performance.now() - started;
    samplers.forEach(s => s.stop());
    load.stop();
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
      name: `broker, ${k} worker process${k > 1 ? 'es' : ''}${prefetch > 1 ? `, --prefetch ${prefetch}` : ''}`,
      workers: k,
      prefetch,
      // The first 2 s after the first job hold the other workers' model loads.
      idle: load.idleBetween(first + 2000, last, placement?.workers),
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
async function modelAloneRow(k, threads, seconds, placement) {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'models', 'chestaid-demo', 'manifest.json'), 'utf8'));
  const args = [join(HERE, 'modelLoop.mjs'), join(ROOT, 'models', 'chestaid-demo', manifest.onnx.file), join(ROOT, 'test', 'fixtures', 'parity', 'study-01.input.f32'), String(threads), String(seconds)];
  const run = placement ? () => promisify(execFile)('taskset', ['-c', placement.workers, process.execPath, ...args]) : () => promisify(execFile)(process.execPath, args);
  const outs = await Promise.all(Array.from({ length: k }, run));
  const loops = outs.map(({ stdout }) => JSON.parse(stdout));
  return { processes: k, runs: loops.map(l => l.runs), perMinute: loops.reduce((n, l) => n + (l.runs / l.ms) * 60000, 0) };
}

/** Runs the rows, prints the tables, returns the raw rows. */
export async function scalingRows({ files, studies: count, workerCounts, prefetches = [1], threads, modelSeconds = 20, workerCpus }) {
  const placement = placementFor(availableParallelism(), workerCpus);
  const temp = mkdtempSync(join(tmpdir(), 'chestaid-bench-scaling-'));
  try {
    const studies = backlog(files, count);
    const alone = [];
    for (const k of workerCounts) alone.push(await modelAloneRow(k, threads, modelSeconds, placement));
    const rows = [await pollingRow(temp, studies, threads, placement)];
    for (const prefetch of prefetches) {
      for (const k of workerCounts) {
        rows.push(await brokerRow(temp, studies, k, threads, prefetch, placement));
        process.stdout.write(`scaling: ${rows.at(-1).name}: ${rows.at(-1).stored} images in ${fmt(rows.at(-1).drainMs / 1000, 1)} s\n`);
      }
    }
    const base = rows[0];
    console.log(`\n${count} single-image studies, ${threads} onnxruntime thread(s) per worker`);
    console.log(
      placement
        ? `workers (and the model alone) on CPUs ${placement.workers}, Orthanc and RabbitMQ on CPUs ${placement.services}; idle: the workers' CPUs\n`
        : `${availableParallelism()} CPUs shared by the workers, Orthanc and RabbitMQ (no pinning under 4 CPUs); idle: all CPUs\n`,
    );
    console.log('| row | images | time to drain (s) | process wall (s) | images/min | vs polling worker | vs 1 broker worker, same prefetch | peak RSS per worker (MiB) | RSS late / early | CPU ms per image: workers / PACS / broker | cores busy | idle while draining |');
    console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
    for (const r of rows) {
      const rate = (r.stored / r.drainMs) * 60000;
      const one = rows.find(o => o !== base && o.workers === 1 && o.prefetch === r.prefetch);
      console.log(
        `| ${r.name} | ${r.stored} | ${fmt(r.drainMs / 1000)} | ${fmt(r.wallMs / 1000)} | ${fmt(rate, 0)} | ${fmt(base.drainMs / r.drainMs, 2)}x | ${one && r !== base ? `${fmt(one.drainMs / r.drainMs, 2)}x` : '-'} | ${r.rss.map(x => fmt(x.peak, 0)).join(', ')} | ${r.rss.map(x => fmt(x.ratio, 2)).join(', ')} | ${[r.cpu.workers, r.cpu.pacs, r.cpu.broker].map(c => fmt((c / r.stored) * 1000, 0)).join(' / ')} | ${fmt((r.cpu.workers + r.cpu.pacs + r.cpu.broker) / (r.wallMs / 1000), 2)} | ${fmt(r.idle, 0)} % |`,
      );
    }
    const aloneOne = alone.find(r => r.processes === 1);
    console.log(`\nThe model alone (no PACS, no broker): k processes running it at once for ${modelSeconds} s, the same session options\n`);
    console.log('| processes | model runs/min, all | runs per process | vs 1 process |');
    console.log('|---|---|---|---|');
    for (const r of alone) console.log(`| ${r.processes} | ${fmt(r.perMinute, 0)} | ${r.runs.join(', ')} | ${aloneOne ? `${fmt(r.perMinute / aloneOne.perMinute, 2)}x` : '-'} |`);
    return { rows, alone, placement };
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
}
