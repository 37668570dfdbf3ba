/**
 * The inference benchmark (issue 6): the demo model, batch 1, on this machine, against its peers.
 *
 *   npm run bench                      everything below, one run, about 15 minutes on 2 cores
 *   npm run bench -- --quick           fewer samples (a smoke test of the benchmark itself)
 *   node test/bench/run.mjs --no-viewer --no-webgpu --runs 30 ...
 *
 * Rows, all on the same input tensor (test/fixtures/parity/<study>.input.f32):
 * - in-page onnxruntime-web through the real worker (crossOriginIsolated page): wasm 1 and 2
 *   threads; WebGPU where an adapter exists (a software fallback adapter is labelled so); WebNN
 *   where Chromium exposes it;
 * - onnxruntime-node CPU, 2 and 1 threads;
 * - PyTorch eager CPU (the original study's stack) through the training workspace, 2 and 1 threads;
 * - the core's preprocessing (DICOM pixels to tensor) and CAM post-processing in the page;
 * - the real viewer (`npm start`): click-to-result and click-to-heatmap, cold, warm-cached, warm;
 *   layer rendering as heatmap minus result;
 * - page cold and warm starts with their breakdown; the page's memory over consecutive analyses;
 * - a per-stage profile (onnxruntime's profiler) of the page's wasm against onnxruntime-node.
 *
 * The CPU peers are interleaved round by round (the order rotates) because this host's timing
 * switches modes for minutes at a time: compare ratios within a run, not absolute numbers across
 * runs. Not a test: it prints tables and writes test/bench/results/<timestamp>.json.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { DEMO_DIR, ROOT, buildPage, launchChromium, openPage, startServer } from './harness.mjs';
import { STAGES, byStage, traceFromConsole } from './profile.mjs';
import { summary, trend } from './stats.mjs';
import { PYTHON, startTorchPeer } from './torch.mjs';
import { measureViewer } from './viewer.mjs';

const require = createRequire(import.meta.url);
const ort = require('onnxruntime-node');
const dcmjs = require('dcmjs');

const { values: opts } = parseArgs({
  options: {
    runs: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '3' },
    cold: { type: 'string', default: '20' },
    memory: { type: 'string', default: '100' },
    'viewer-runs': { type: 'string', default: '20' },
    'webgpu-runs': { type: 'string', default: '20' },
    'heatmap-timeout': { type: 'string', default: '3000' },
    study: { type: 'string', default: 'study-01' },
    quick: { type: 'boolean', default: false },
    viewer: { type: 'boolean', default: true },
    webgpu: { type: 'boolean', default: true },
    torch: { type: 'boolean', default: true },
    profile: { type: 'boolean', default: true },
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

const manifest = JSON.parse(readFileSync(join(DEMO_DIR, 'manifest.json'), 'utf8'));
const modelPath = join(DEMO_DIR, manifest.onnx.file);
const MODEL_URL = `/models/chestaid-demo/${manifest.onnx.file}`;
const MANIFEST_URL = '/models/chestaid-demo/manifest.json';
const INPUT_URL = `/fixtures/parity/${opts.study}.input.f32`;
const INPUT_PATH = join(ROOT, 'test/fixtures/parity', `${opts.study}.input.f32`);
const DIMS = [1, 3, manifest.input.size.height, manifest.input.size.width];
const REFERENCE = 'onnxruntime-node CPU, 2 threads';

// An exact V8 heap size in performance.memory (it is bucketed otherwise), and gc() for the page
// and the worker, so each sample is what is retained rather than wherever the collectors'
// sawtooth happens to be (the worker's garbage is mostly transferred 0.6 MB input tensors).
const MEMORY_ARGS = ['--enable-precise-memory-info', '--js-flags=--expose-gc'];

const samples = {};
const record = (name, ms) => (samples[name] ??= []).push(ms);
/** Rows that could not be measured here, with the reason. */
const unavailable = {};
const notes = [];
const log = line => process.stdout.write(`${line}\n`);

/** The demo study's pixels as the viewer's decoder would hand them to the core. */
function readStudy(name) {
  const bytes = readFileSync(join(ROOT, 'test/demo-studies/dicom', `${name}.dcm`));
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dcmjs.data.DicomMessage.readFile(buffer).dict);
  const num = v => (v === undefined || v === '' ? undefined : Number(Array.isArray(v) ? v[0] : v));
  const attributes = {
    rows: ds.Rows,
    columns: ds.Columns,
    samplesPerPixel: ds.SamplesPerPixel,
    photometricInterpretation: ds.PhotometricInterpretation,
    bitsAllocated: ds.BitsAllocated,
    bitsStored: ds.BitsStored,
    pixelRepresentation: ds.PixelRepresentation,
    rescaleSlope: num(ds.RescaleSlope),
    rescaleIntercept: num(ds.RescaleIntercept),
    windowCenter: num(ds.WindowCenter),
    windowWidth: num(ds.WindowWidth),
    modality: ds.Modality,
  };
  const frame = ds.PixelData[0];
  return { attributes, pixels: new Uint16Array(frame, 0, ds.Rows * ds.Columns) };
}

/** The same image at a typical CR size (nearest neighbour), to time preprocessing at scale. */
function enlarge({ attributes, pixels }, rows, columns) {
  const out = new Uint16Array(rows * columns);
  for (let r = 0; r < rows; r++) {
    const sr = Math.floor((r * attributes.rows) / rows) * attributes.columns;
    for (let c = 0; c < columns; c++) out[r * columns + c] = pixels[sr + Math.floor((c * attributes.columns) / columns)];
  }
  return { attributes: { ...attributes, rows, columns }, pixels: out };
}

// onnxruntime-web's exports map hides its package.json.
const versionOf = name => JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
const toBase64 = pixels => Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength).toString('base64');
const load = () => loadavg().map(v => Number(v.toFixed(2)));

async function main() {
  if (!existsSync(modelPath)) {
    throw new Error(`${modelPath} is missing (training/demo.sh writes it); set CHESTAID_DEMO_DIR to a folder with model.onnx and manifest.json`);
  }
  const startedAt = new Date();
  const loads = { start: load() };
  process.stdout.write('building the test page... ');
  await buildPage();
  log('done');
  const server = await startServer();
  const results = { cold: [], memory: null, profile: null, webgpu: null, webnn: null, viewer: null, torch: null };
  let browser = await launchChromium();
  const chromiumVersion = browser.version();
  try {
    await cpuRounds(browser, server, results);
    loads.afterCpuRounds = load();
    await memoryRun(server, results);
    if (opts.profile) await profiles(browser, server, results);
    await browser.close();
    browser = null;
    if (opts.webgpu) await gpuRows(server, results);
    else unavailable['page WebGPU'] = 'skipped (--no-webgpu)';
  } finally {
    await browser?.close();
    await server.close();
  }
  loads.afterPage = load();
  if (opts.viewer) {
    log(`the viewer (npm start; ${VIEWER_RUNS} rounds of cold, warm-cached and warm)...`);
    results.viewer = await measureViewer({ runs: VIEWER_RUNS, warmPerPage: 1, heatmapTimeoutMs: HEATMAP_TIMEOUT, log });
    notes.push(...results.viewer.notes);
    loads.afterViewer = load();
  }

  const machine = {
    cpus: cpus().length,
    cpu: cpus()[0]?.model,
    memoryGiB: Number((totalmem() / 2 ** 30).toFixed(1)),
    loadavg: loads,
    node: process.version,
    chromium: chromiumVersion,
    onnxruntimeWeb: versionOf('onnxruntime-web'),
    onnxruntimeNode: versionOf('onnxruntime-node'),
    torch: results.torch?.info ?? null,
    python: PYTHON,
  };
  const rows = buildRows(results);
  const targets = targetsOf(rows, results);
  printAll({ rows, results, machine, targets });
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const outDir = join(ROOT, 'test/bench/results');
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `${stamp}.json`);
  const { viewer, ...rest } = results;
  writeFileSync(
    file,
    JSON.stringify(
      {
        format: 'chestaid-bench/2',
        date: startedAt.toISOString(),
        machine,
        model: { id: manifest.model.id, version: manifest.model.version, file: modelPath, sha256: manifest.onnx.sha256, dims: DIMS },
        options: { runs: RUNS, warmup: WARMUP, cold: COLD, memory: MEMORY_RUNS, viewerRuns: VIEWER_RUNS, webgpuRuns: WEBGPU_RUNS, study: opts.study },
        rows,
        targets,
        notes,
        unavailable,
        samples,
        ...rest,
        viewer: viewer && { samples: viewer.samples, heatmap: viewer.heatmap, runMs: viewer.runMs, heatmapSeen: viewer.heatmapSeen },
      },
      null,
      1,
    ),
  );
  log(`\nwrote ${file}`);
}

// --- CPU peers, interleaved ---------------------------------------------------------------------

async function cpuRounds(browser, server, results) {
  const { page } = await openPage(browser, server.url);
  if (!(await page.evaluate(() => chestaidTest.crossOriginIsolated()))) throw new Error('the page is not crossOriginIsolated');
  await page.evaluate(([url, dims]) => chestaidTest.loadInput('x', url, dims), [INPUT_URL, DIMS]);
  const base = { modelUrl: MODEL_URL, sha256: manifest.onnx.sha256, bytes: manifest.onnx.bytes, backend: 'wasm', cacheName: null };
  for (const threads of [1, 2]) {
    const { info } = await page.evaluate(([n, c]) => chestaidTest.start(n, c), [`wasm${threads}`, { ...base, numThreads: threads }]);
    if (info.threads !== threads) throw new Error(`asked for ${threads} threads, got ${info.threads}: ${info.reason}`);
  }

  const study = readStudy(opts.study);
  const large = enlarge(study, 2500, 2048);
  for (const [id, s] of [['demo', study], ['large', large]]) {
    await page.evaluate(([i, m, a, p]) => chestaidTest.preprocessSetup(i, m, a, p), [id, MANIFEST_URL, s.attributes, toBase64(s.pixels)]);
  }
  results.studySize = { demo: [study.attributes.columns, study.attributes.rows], large: [2048, 2500] };

  const modelBytes = readFileSync(modelPath);
  const input = new Float32Array(readFileSync(INPUT_PATH).buffer.slice(0));
  const nodeSessions = {};
  for (const threads of [2, 1]) {
    nodeSessions[threads] = await ort.InferenceSession.create(modelBytes, { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential' });
  }
  const nodeRun = async threads => {
    const feeds = { [manifest.input.name]: new ort.Tensor('float32', input, DIMS) };
    const t0 = performance.now();
    await nodeSessions[threads].run(feeds);
    return performance.now() - t0;
  };
  // The raw CAM of this input, for the post-processing rows.
  const reference = await nodeSessions[2].run({ [manifest.input.name]: new ort.Tensor('float32', input, DIMS) });
  const rawCam = Array.from(reference[manifest.outputs.cam.name].data);
  const camSide = manifest.outputs.cam.shape[1];
  results.nodeLogit = reference[manifest.outputs.logit.name].data[0];

  let torch = null;
  if (opts.torch) {
    try {
      // onnxruntime-node's logit on this input: the torch model must compute what the graph does.
      torch = await startTorchPeer({ modelPath, inputPath: INPUT_PATH, expectedLogit: results.nodeLogit });
      results.torch = { info: torch.info };
    } catch (error) {
      unavailable['PyTorch eager CPU'] = `could not start (${error.message})`;
    }
  } else {
    unavailable['PyTorch eager CPU'] = 'skipped (--no-torch)';
  }

  const peers = [
    ['page wasm, 1 thread', async () => {
      const r = await page.evaluate(() => chestaidTest.run('wasm1', 'x'));
      record('page wasm, 1 thread, round trip', r.roundTripMs);
      return r.runMs;
    }],
    ['page wasm, 2 threads', async () => {
      const r = await page.evaluate(() => chestaidTest.run('wasm2', 'x'));
      record('page wasm, 2 threads, round trip', r.roundTripMs);
      return r.runMs;
    }],
    [REFERENCE, () => nodeRun(2)],
    ['onnxruntime-node CPU, 1 thread', () => nodeRun(1)],
    ...(torch
      ? [
          [`PyTorch ${torch.info.torch} eager CPU, 2 threads`, () => torch.run(2)],
          [`PyTorch ${torch.info.torch} eager CPU, 1 thread`, () => torch.run(1)],
        ]
      : []),
    ['preprocess, demo DICOM', () => page.evaluate(() => chestaidTest.preprocessOnce('demo'))],
    ['preprocess, 2048x2500', () => page.evaluate(() => chestaidTest.preprocessOnce('large'))],
    ['CAM post-processing, to 224x224', () => page.evaluate(([raw, side]) => chestaidTest.camOnce(raw, side, 224, 224), [rawCam, camSide])],
    ['CAM post-processing, to 2048x2500', () => page.evaluate(([raw, side]) => chestaidTest.camOnce(raw, side, 2500, 2048), [rawCam, camSide])],
  ];

  process.stdout.write(`warm-up (${WARMUP} each)... `);
  for (let i = 0; i < WARMUP; i++) for (const [, fn] of peers) await fn();
  for (const key of Object.keys(samples)) delete samples[key];
  log('done');

  const coldEvery = COLD > 0 ? Math.max(1, Math.floor(RUNS / COLD)) : Infinity;
  try {
    for (let round = 0; round < RUNS; round++) {
      const order = peers.map((_, i) => peers[(i + round) % peers.length]);
      for (const [name, fn] of order) record(name, await fn());
      // Page cold starts between rounds; any left over (COLD > RUNS) come after the last round.
      while (results.cold.length < Math.min(COLD, Math.floor((round + 1) / coldEvery))) results.cold.push(await coldStart(browser, server.url));
      process.stdout.write(`\rround ${round + 1}/${RUNS}`);
    }
    while (results.cold.length < COLD) results.cold.push(await coldStart(browser, server.url));
  } finally {
    await torch?.close();
  }
  process.stdout.write('\n');
  await page.context().close();
}

/** A fresh context (empty HTTP cache and Cache API), then a second page load in it. */
async function coldStart(browser, url) {
  const { context, page } = await openPage(browser, url);
  try {
    await page.evaluate(([u, d]) => chestaidTest.loadInput('x', u, d), [INPUT_URL, DIMS]);
    // What a reader gets: default threads, WebGPU if there were an adapter, the Cache API on.
    const config = { modelUrl: MODEL_URL, sha256: manifest.onnx.sha256, bytes: manifest.onnx.bytes };
    const first = await page.evaluate(([c]) => chestaidTest.coldStart(c, 'x'), [config]);
    const again = await context.newPage();
    await again.goto(`${url}/`);
    await again.waitForFunction(() => 'chestaidTest' in window);
    await again.evaluate(([u, d]) => chestaidTest.loadInput('x', u, d), [INPUT_URL, DIMS]);
    const second = await again.evaluate(([c]) => chestaidTest.coldStart(c, 'x'), [config]);
    if (!second.info.model.fromCache) throw new Error('the second page load did not use the Cache API');
    return { cold: first, warm: second };
  } finally {
    await context.close();
  }
}

// --- memory over consecutive analyses ---------------------------------------------------------

async function memoryRun(server, results) {
  log(`memory: ${MEMORY_RUNS} consecutive analyses in a browser of their own...`);
  // Its own browser, so its one page is the only renderer process whose size is read.
  const browser = await launchChromium({ args: MEMORY_ARGS });
  const { page, errors } = await openPage(browser, server.url);
  page.on('crash', () => errors.push('the page crashed'));
  try {
    const study = readStudy(opts.study);
    await page.evaluate(([i, m, a, p]) => chestaidTest.preprocessSetup(i, m, a, p), ['demo', MANIFEST_URL, study.attributes, toBase64(study.pixels)]);
    const config = { modelUrl: MODEL_URL, sha256: manifest.onnx.sha256, bytes: manifest.onnx.bytes, backend: 'wasm', cacheName: null };
    await page.evaluate(([c]) => chestaidTest.start('mem', c), [config]);
    const series = { heapBytes: [], wasmMemoryBytes: [], rendererRssBytes: [] };
    const sample = async () => {
      // stats() collects the worker's garbage first, heap() the page's.
      series.wasmMemoryBytes.push((await page.evaluate(() => chestaidTest.stats('mem'))).wasmMemoryBytes);
      series.heapBytes.push(await page.evaluate(() => chestaidTest.heap()));
      series.rendererRssBytes.push(rendererRss());
    };
    await sample();
    for (let i = 0; i < MEMORY_RUNS; i++) {
      // A different key each time: the same image analyzed again, as a new analysis.
      await page.evaluate(n => chestaidTest.analyzeOnce('mem', 'demo', `memory-${n}`), i);
      await sample();
    }
    // The first sample is before any analysis (the session's own start-up allocations).
    results.memory = { analyses: MEMORY_RUNS, series, trends: Object.fromEntries(Object.entries(series).map(([k, v]) => [k, trend(v.slice(1))])) };
  } catch (error) {
    throw new Error(`memory run: ${error.message}; page errors: ${errors.join('; ') || 'none'}`);
  } finally {
    await browser.close();
  }
}

/**
 * Resident memory of this process's Chromium renderers (the page, its workers, their wasm
 * memory), from /proc; null where /proc is not there.
 */
function rendererRss() {
  let entries;
  try {
    entries = readdirSync('/proc').filter(name => /^\d+$/.test(name));
  } catch {
    return null;
  }
  const parent = new Map();
  for (const pid of entries) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      parent.set(Number(pid), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const ours = pid => {
    for (let p = pid, hops = 0; p > 1 && hops < 32; p = parent.get(p) ?? 0, hops++) if (p === process.pid) return true;
    return false;
  };
  let total = 0;
  for (const pid of parent.keys()) {
    if (!ours(pid)) continue;
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--type=renderer')) continue;
      const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (kb) total += Number(kb[1]) * 1024;
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

// --- per-stage profiles -----------------------------------------------------------------------

async function profiles(browser, server, results) {
  log('profiles: onnxruntime profiler, page wasm and onnxruntime-node, 1 and 2 threads...');
  const PROFILE_RUNS = 4; // the last one is read: the first runs are slower (see engine.ts warmUp)
  const input = new Float32Array(readFileSync(INPUT_PATH).buffer.slice(0));
  const out = {};
  const dir = mkdtempSync(join(tmpdir(), 'chestaid-bench-profile-'));
  for (const threads of [1, 2]) {
    const prefix = join(dir, `node-${threads}`);
    const session = await ort.InferenceSession.create(readFileSync(modelPath), {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      enableProfiling: true,
      profileFilePrefix: prefix,
    });
    for (let i = 0; i < PROFILE_RUNS; i++) await session.run({ [manifest.input.name]: new ort.Tensor('float32', input, DIMS) });
    session.endProfiling();
    await session.release();
    const file = readdirSync(dir).find(name => name.startsWith(`node-${threads}_`) && name.endsWith('.json'));
    out[`node ${threads}`] = byStage(JSON.parse(readFileSync(join(dir, file), 'utf8')));

    const { context, page } = await openPage(browser, server.url);
    try {
      const printed = [];
      page.on('worker', worker => worker.on('console', message => printed.push(message.text())));
      await page.evaluate(([url, dims]) => chestaidTest.loadInput('x', url, dims), [INPUT_URL, DIMS]);
      const config = { modelUrl: MODEL_URL, sha256: manifest.onnx.sha256, backend: 'wasm', cacheName: null, numThreads: threads, profileRuns: PROFILE_RUNS };
      await page.evaluate(([c]) => chestaidTest.start('profile', c), [config]);
      for (let i = 0; i < PROFILE_RUNS; i++) await page.evaluate(() => chestaidTest.run('profile', 'x'));
      await page.waitForTimeout(500);
      out[`page ${threads}`] = byStage(traceFromConsole(printed.join('\n')));
    } catch (error) {
      out[`page ${threads}`] = { error: error.message };
    } finally {
      await context.close();
    }
  }
  rmSync(dir, { recursive: true, force: true });
  results.profile = out;
}

// --- WebGPU and WebNN -------------------------------------------------------------------------

async function gpuRows(server, results) {
  log('WebGPU and WebNN: a browser with --enable-unsafe-webgpu and the WebNN feature...');
  const browser = await launchChromium({ webgpu: true, args: ['--enable-features=WebMachineLearningNeuralNetwork'] });
  try {
    const { page } = await openPage(browser, server.url);
    const gpu = await page.evaluate(() => chestaidTest.webgpu());
    const nn = await page.evaluate(() => chestaidTest.webnn());
    results.webnn = nn;
    unavailable['page WebNN'] = nn.available
      ? 'Chromium exposes WebNN here, but the engine has no WebNN path yet (onnxruntime-web ships its WebNN provider only in the WebGPU/JSEP builds)'
      : `not exposed by this Chromium (${nn.reason})`;
    results.webgpu = { adapter: gpu.adapter, reason: gpu.reason };
    if (!gpu.adapter) {
      unavailable['page WebGPU'] = `no adapter (${gpu.reason})`;
      return;
    }
    const software = gpu.adapter.isFallbackAdapter || /swiftshader/i.test(`${gpu.adapter.vendor} ${gpu.adapter.architecture} ${gpu.adapter.description}`);
    const label = `page WebGPU${software ? ` (SwiftShader software adapter${gpu.adapter.isFallbackAdapter ? ', fallback' : ''})` : ` (${gpu.adapter.vendor} ${gpu.adapter.architecture})`}`;
    results.webgpu.label = label;
    await page.evaluate(([url, dims]) => chestaidTest.loadInput('x', url, dims), [INPUT_URL, DIMS]);
    // fp32 always: the fp16-weights variant casts its weights back to fp32 at load (no shader-f16
    // compute), and its logit differs from fp32 by ~1e-3, outside the wasm cross-check's tolerance.
    const config = { modelUrl: MODEL_URL, sha256: manifest.onnx.sha256, cacheName: null, backend: 'webgpu' };
    log(`  ${label}: session and self-check against wasm...`);
    const { info } = await page.evaluate(([c]) => chestaidTest.start('gpu', c), [config]);
    results.webgpu.info = { backend: info.backend, reason: info.reason, selfCheck: info.selfCheck, sessionCreateMs: info.sessionCreateMs };
    if (info.backend !== 'webgpu') {
      unavailable[label] = `WebGPU not used: ${info.reason}`;
      return;
    }
    await page.evaluate(() => chestaidTest.run('gpu', 'x')); // the session's second run; the self-check was its first
    for (let i = 0; i < WEBGPU_RUNS; i++) {
      const r = await page.evaluate(() => chestaidTest.run('gpu', 'x'));
      record(label, r.runMs);
      process.stdout.write(`\r  ${label}: run ${i + 1}/${WEBGPU_RUNS}, ${r.runMs.toFixed(0)} ms`);
    }
    process.stdout.write('\n');
  } finally {
    await browser.close();
  }
}

// --- tables -----------------------------------------------------------------------------------

const ROW_ORDER = [
  REFERENCE,
  'onnxruntime-node CPU, 1 thread',
  'page wasm, 2 threads',
  'page wasm, 2 threads, round trip',
  'page wasm, 1 thread',
  'page wasm, 1 thread, round trip',
];

function buildRows(results) {
  const rows = [];
  const add = (name, values, extra = {}) => {
    if (values && values.length) rows.push({ name, ...summary(values), ...extra });
  };
  const na = (name, reason) => rows.push({ name, na: reason });
  for (const name of ROW_ORDER) add(name, samples[name]);
  const gpuLabel = results.webgpu?.label ?? 'page WebGPU';
  if (samples[gpuLabel]) add(gpuLabel, samples[gpuLabel]);
  else na(gpuLabel, unavailable[gpuLabel] ?? unavailable['page WebGPU'] ?? 'not measured');
  na('page WebNN', unavailable['page WebNN'] ?? 'not measured');
  const torchRows = Object.keys(samples).filter(n => n.startsWith('PyTorch'));
  if (torchRows.length) for (const name of torchRows) add(name, samples[name]);
  else na('PyTorch eager CPU', unavailable['PyTorch eager CPU'] ?? 'not measured');
  const [dw, dh] = results.studySize.demo;
  add(`preprocess, demo DICOM ${dw}x${dh} (page)`, samples['preprocess, demo DICOM']);
  add('preprocess, 2048x2500 (page)', samples['preprocess, 2048x2500']);
  add('CAM post-processing, 7x7 to 224x224 (page)', samples['CAM post-processing, to 224x224']);
  add('CAM post-processing, 7x7 to 2048x2500 (page)', samples['CAM post-processing, to 2048x2500']);

  const v = results.viewer;
  if (v) {
    for (const kind of ['cold', 'warm-cached', 'warm']) add(`viewer click-to-result, ${kind}`, v.samples[kind]);
    for (const kind of ['cold', 'warm-cached', 'warm']) {
      if (v.heatmap[kind].length) add(`viewer click-to-heatmap, ${kind}`, v.heatmap[kind]);
      else na(`viewer click-to-heatmap, ${kind}`, 'n/a (no heatmap layer in this build)');
    }
    const layer = v.heatmapSeen ? layerTimes(v) : [];
    if (layer.length) add('layer rendering (viewer: result to heatmap, warm)', layer);
    else na('layer rendering', 'n/a (no heatmap layer in this build)');
    add('viewer model run in the worker, warm (same analyses)', v.runMs.warm.filter(x => x !== null));
  } else {
    na('viewer click-to-result / click-to-heatmap', 'skipped (--no-viewer)');
  }
  add('page cold start: fresh context, client to first result', results.cold.map(c => c.cold.totalMs));
  add('page warm start: next page load, model from Cache API', results.cold.map(c => c.warm.totalMs));

  const reference = rows.find(r => r.name === REFERENCE).median;
  for (const row of rows) if (!row.na) row.ratio = row.median / reference;
  return rows;
}

/** Per warm analysis: heatmap minus result, where both were seen. */
function layerTimes(v) {
  return v.samples.warm.map((r, i) => (v.heatmap.warm[i] !== undefined ? v.heatmap.warm[i] - r : null)).filter(x => x !== null);
}

function targetsOf(rows, results) {
  const median = name => rows.find(r => r.name === name && !r.na)?.median;
  const node2 = median(REFERENCE);
  const node1 = median('onnxruntime-node CPU, 1 thread');
  const page2 = median('page wasm, 2 threads');
  const page1 = median('page wasm, 1 thread');
  const best = Math.min(...[page1, page2].filter(Boolean));
  const targets = {
    bestPageCpuVsNode: { target: 2, value: best / node2, detail: `best page CPU ${best.toFixed(1)} ms / onnxruntime-node 2 threads ${node2.toFixed(1)} ms; 1 thread vs 1 thread ${(page1 / node1).toFixed(2)}x` },
  };
  const v = results.viewer;
  if (v) {
    const click = summary(v.samples.warm).median;
    const runs = v.runMs.warm.filter(x => x !== null);
    const run = runs.length ? summary(runs).median : NaN;
    targets.warmClickVsInference = { target: 1.25, value: click / run, detail: `viewer warm click-to-result ${click.toFixed(0)} ms / the same analyses' model run ${run.toFixed(0)} ms (vs the page's wasm 2 threads ${page2.toFixed(0)} ms: ${(click / page2).toFixed(2)}x)` };
    const cold = summary(v.samples.cold);
    targets.coldFirstAnalyzeMs = { target: 3000, value: cold.median, detail: `viewer cold click-to-result median ${cold.median.toFixed(0)} ms, p90 ${cold.p90.toFixed(0)} ms, max ${Math.max(...v.samples.cold).toFixed(0)} ms` };
  }
  if (results.memory) {
    const t = results.memory.trends;
    targets.memoryGrowth = {
      target: 'no growth trend',
      value: Object.fromEntries(Object.entries(t).filter(([, s]) => s).map(([k, s]) => [k, s.slopePerAnalysis])),
      detail: 'least-squares slope in bytes per analysis over the last 80 analyses',
    };
  }
  return targets;
}

const f = v => (v >= 100 ? v.toFixed(0) : v.toFixed(1));
const mb = v => (typeof v === 'number' ? `${(v / 2 ** 20).toFixed(1)} MiB` : 'n/a');

function printAll({ rows, results, machine, targets }) {
  log(`\n${machine.cpu}, ${machine.cpus} cores, Chromium ${machine.chromium}, onnxruntime-web ${machine.onnxruntimeWeb}, onnxruntime-node ${machine.onnxruntimeNode}, PyTorch ${machine.torch?.torch ?? 'n/a'}`);
  log(`load average (1, 5, 15 min): ${Object.entries(machine.loadavg).map(([k, v]) => `${k} ${v.join(' ')}`).join('; ')}`);
  log(`model ${manifest.model.id} ${manifest.model.version}, batch 1, ${DIMS.join('x')}, input ${opts.study}; ${RUNS} interleaved rounds after ${WARMUP} warm-up`);
  if (results.webgpu?.adapter) log(`WebGPU adapter: ${JSON.stringify(results.webgpu.adapter)}`);
  if (results.torch) log(`PyTorch weights: the demo ONNX's initializers (logit ${results.torch.info.logit.toFixed(6)}, onnxruntime-node ${results.nodeLogit.toFixed(6)})`);
  log('');
  log(`| config | median ms | p90 ms | min ms | n | vs ${REFERENCE} |`);
  log('|---|---|---|---|---|---|');
  for (const r of rows) {
    if (r.na) log(`| ${r.name} | ${r.na} | | | | |`);
    else log(`| ${r.name} | ${f(r.median)} | ${f(r.p90)} | ${f(r.min)} | ${r.n} | ${r.ratio.toFixed(2)}x |`);
  }

  if (results.cold.length) {
    const part = (pick, name) => [name, f(summary(results.cold.map(pick)).median)];
    const breakdown = [
      part(c => c.cold.info.model.downloadMs, 'download'),
      part(c => c.cold.info.model.verifyMs, 'sha256'),
      part(c => c.cold.info.runtimeStartMs ?? NaN, 'runtime start'),
      part(c => c.cold.info.sessionCreateMs, 'session create'),
      part(c => c.cold.info.warmUpMs ?? 0, 'warm-up at load'),
      part(c => c.cold.readyMs, 'client to ready'),
      part(c => c.cold.firstRunMs, 'first run'),
      part(c => c.warm.info.model.downloadMs, 'warm: cache read'),
      part(c => c.warm.info.runtimeStartMs ?? NaN, 'warm: runtime start'),
      part(c => c.warm.info.sessionCreateMs, 'warm: session create'),
      part(c => c.warm.firstRunMs, 'warm: first run'),
    ];
    log(`\npage cold start, median ms: ${breakdown.map(([k, v]) => `${k} ${v}`).join(', ')}`);
    log(`backend: ${results.cold[0].cold.info.reason}`);
  }

  if (results.memory) {
    log(`\nmemory over ${results.memory.analyses} consecutive analyses (one page, wasm 2 threads; slope over the last 80):`);
    log('| series | first | last | peak | slope per analysis | over the last 80 |');
    log('|---|---|---|---|---|---|');
    const names = {
      heapBytes: 'page JS heap after gc() (performance.memory)',
      wasmMemoryBytes: 'worker wasm memory (WebAssembly.Memory)',
      rendererRssBytes: 'renderer process RSS (page, workers, wasm; /proc)',
    };
    for (const [key, t] of Object.entries(results.memory.trends)) {
      if (!t) log(`| ${names[key]} | n/a | | | | |`);
      else log(`| ${names[key]} | ${mb(t.first)} | ${mb(t.last)} | ${mb(t.peak)} | ${(t.slopePerAnalysis / 1024).toFixed(1)} KiB | ${(t.growthOverTail / 2 ** 20).toFixed(2)} MiB |`);
    }
  }

  if (results.profile) {
    const p = results.profile;
    log('\nper-stage profile, one run after 3 (onnxruntime profiler; ms summed over the stage\'s nodes):');
    log('| stage | node 1t | page 1t | page/node | node 2t | page 2t | page/node |');
    log('|---|---|---|---|---|---|---|');
    const cell = (prof, stage) => prof?.stages?.[stage]?.ms;
    const ratio = (a, b) => (a && b ? `${(b / a).toFixed(1)}x` : '');
    const show = v => (v === undefined ? '-' : f(v));
    for (const stage of STAGES) {
      const [n1, p1, n2, p2] = ['node 1', 'page 1', 'node 2', 'page 2'].map(k => cell(p[k], stage));
      if ([n1, p1, n2, p2].every(v => v === undefined)) continue;
      log(`| ${stage} | ${show(n1)} | ${show(p1)} | ${ratio(n1, p1)} | ${show(n2)} | ${show(p2)} | ${ratio(n2, p2)} |`);
    }
    const total = k => p[k]?.runMs;
    log(`| whole run (model_run) | ${show(total('node 1'))} | ${show(total('page 1'))} | ${ratio(total('node 1'), total('page 1'))} | ${show(total('node 2'))} | ${show(total('page 2'))} | ${ratio(total('node 2'), total('page 2'))} |`);
    for (const k of ['page 1', 'page 2']) if (p[k]?.error) log(`${k}: ${p[k].error}`);
  }

  log('\ntargets (issue 6):');
  for (const [name, t] of Object.entries(targets)) {
    const value = typeof t.value === 'number' ? t.value.toFixed(2) : JSON.stringify(t.value);
    log(`- ${name}: ${value} (target ${t.target}); ${t.detail}`);
  }
  for (const note of notes) log(`note: ${note}`);
}

main().catch(error => {
  console.error(error);
  process.exitCode = 1;
});
