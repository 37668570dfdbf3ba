/**
 * The inference benchmark (issue 6): the demo model, batch 1, on this machine, against its peers.
 *
 *   npm run bench                      everything below, one run, about 15 minutes on 2 cores
 *   npm run bench -- --quick           fewer samples (a smoke test of the benchmark itself)
 *   node test/bench/run.mjs --no-viewer --no-webgpu --runs 30 ...
 *   npm run bench -- --quick --no-viewer --no-webgpu --no-torch --no-profile
 *                                      the CPU rows alone, both in-page engines (a few minutes)
 *
 * Rows, all on the same input tensor (test/fixtures/parity/<study>.input.f32):
 * - in-page onnxruntime-web through the real worker (crossOriginIsolated page): wasm 1 and 2
 *   threads; WebGPU where an adapter exists (a software fallback adapter is labelled so); WebNN
 *   where Chromium exposes it;
 * - in-page TensorFlow.js wasm (XNNPACK) on the same ONNX file through its own worker, 1 and 2
 *   threads, checked against onnxruntime-node first (issue 19; --no-tfjs leaves it out), and each
 *   engine's download (model, wasm, JS);
 * - onnxruntime-node CPU, 2 and 1 threads;
 * - PyTorch eager CPU (the original study's stack) through the training workspace, 2 and 1 threads;
 * - the core's preprocessing (DICOM pixels to tensor) and CAM post-processing in the page;
 * - the triage batch in the page per engine at 2 threads (onnxruntime-web float32 and int8,
 *   TensorFlow.js): every demo radiograph through analyze(), studies/min (triageBatch.mjs;
 *   --no-triage leaves it out);
 * - the real viewer, served by the dev server (`npm start`) and by nginx (the installed build in a
 *   site's OHIF, its PACS a real Orthanc), round by round (`--viewer-servers`): click-to-result and
 *   click-to-heatmap, cold, warm-cached, warm; layer rendering as heatmap minus result;
 * - page cold and warm starts with their breakdown; the page's memory over consecutive analyses;
 * - a per-stage profile of every CPU candidate against onnxruntime-node fp32 (onnxruntime's
 *   profiler: node and page wasm, fp32 and int8; tf.profile: the page's TensorFlow.js engine).
 *
 * The CPU peers are interleaved round by round (the order rotates) because this host's timing
 * switches modes for minutes at a time: compare ratios within a run, not absolute numbers across
 * runs. Not a test: it prints tables and writes test/bench/results/<timestamp>.json.
 *
 * This file parses the options and keeps the order of the run; each family of rows is a module
 * beside it: cpuPeers.mjs (with coldStart.mjs), triageBatch.mjs, memory.mjs, stageProfiles.mjs, gpuRows.mjs,
 * viewer.mjs; rows.mjs builds the table's rows and targets, report.mjs prints them and writes the
 * JSON.
 */
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';

import { benchModel, log, newRecord } from './context.mjs';
import { cpuRounds } from './cpuPeers.mjs';
import { gpuRows } from './gpuRows.mjs';
import { buildPage, launchChromium, startServer } from './harness.mjs';
import { memoryRun } from './memory.mjs';
import { describeMachine, printAll, writeResults } from './report.mjs';
import { buildRows, targetsOf } from './rows.mjs';
import { profiles } from './stageProfiles.mjs';
import { TRIAGE_ROW, triageBatch } from './triageBatch.mjs';
import { measureViewer } from './viewer.mjs';

const { values: opts } = parseArgs({
  options: {
    runs: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '3' },
    cold: { type: 'string', default: '20' },
    memory: { type: 'string', default: '100' },
    'viewer-runs': { type: 'string', default: '20' },
    'viewer-servers': { type: 'string', default: 'dev server,nginx' },
    'webgpu-runs': { type: 'string', default: '20' },
    'heatmap-timeout': { type: 'string', default: '3000' },
    study: { type: 'string', default: 'study-01' },
    quick: { type: 'boolean', default: false },
    viewer: { type: 'boolean', default: true },
    webgpu: { type: 'boolean', default: true },
    torch: { type: 'boolean', default: true },
    profile: { type: 'boolean', default: true },
    tfjs: { type: 'boolean', default: true },
    triage: { type: 'boolean', default: true },
  },
  allowNegative: true,
});
const quick = (value, small) => (opts.quick ? Math.min(Number(value), small) : Number(value));
const RUNS = quick(opts.runs, 5);
const WARMUP = quick(opts.warmup, 2);
const COLD = quick(opts.cold, 3);
const MEMORY_RUNS = quick(opts.memory, 20);
const VIEWER_RUNS = quick(opts['viewer-runs'], 3);
const WEBGPU_RUNS = quick(opts['webgpu-runs'], 3);
const HEATMAP_TIMEOUT = Number(opts['heatmap-timeout']);

/** What every row's module reads: the options, the model and input under test, the run's record. */
const bench = {
  opts,
  ...benchModel(opts.study),
  RUNS,
  WARMUP,
  COLD,
  MEMORY_RUNS,
  VIEWER_RUNS,
  WEBGPU_RUNS,
  HEATMAP_TIMEOUT,
  ...newRecord(),
};

const load = () => loadavg().map(v => Number(v.toFixed(2)));

async function main() {
  const { modelPath, notes, unavailable } = bench;
  if (!existsSync(modelPath)) {
    throw new Error(`${modelPath} is missing (training/demo.sh writes it); set CHESTAID_DEMO_DIR to a folder with model.onnx and manifest.json`);
  }
  const startedAt = new Date();
  const loads = { start: load() };
  process.stdout.write('building the test page... ');
  await buildPage();
  log('done');
  const server = await startServer();
  const results = { cold: {}, memory: null, profile: null, webgpu: null, webnn: null, viewer: null, torch: null };
  let browser = await launchChromium();
  const chromiumVersion = browser.version();
  try {
    await cpuRounds(bench, browser, server, results);
    loads.afterCpuRounds = load();
    if (opts.triage) await triageBatch(bench, browser, server, results);
    else unavailable[TRIAGE_ROW] = 'skipped (--no-triage)';
    await memoryRun(bench, server, results);
    if (opts.profile) await profiles(bench, browser, server, results);
    await browser.close();
    browser = null;
    if (opts.webgpu) await gpuRows(bench, server, results);
    else unavailable['page WebGPU'] = 'skipped (--no-webgpu)';
  } finally {
    await browser?.close();
    await server.close();
  }
  loads.afterPage = load();
  if (opts.viewer) {
    log(`the viewer (npm start and nginx, interleaved; ${VIEWER_RUNS} rounds of cold, warm-cached and warm)...`);
    results.viewer = await measureViewer({ runs: VIEWER_RUNS, warmPerPage: 1, heatmapTimeoutMs: HEATMAP_TIMEOUT, servers: opts['viewer-servers'].split(','), log });
    for (const served of Object.values(results.viewer)) notes.push(...served.notes);
    loads.afterViewer = load();
  }

  const machine = describeMachine({ loads, chromiumVersion, results });
  const rows = buildRows(bench, results);
  const targets = targetsOf(rows, results);
  printAll(bench, { rows, results, machine, targets });
  const file = writeResults(bench, { startedAt, machine, rows, targets, results });
  log(`\nwrote ${file}`);
}

main().catch(error => {
  console.error(error);
  process.exitCode = 1;
});
