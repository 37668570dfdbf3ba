/**
 * Inference benchmark for the demo model on this machine, batch 1: in-page onnxruntime-web wasm
 * (1 and 2 threads, crossOriginIsolated page, through the real worker), onnxruntime-node (2 and 1
 * threads), core preprocessing in the page, and cold/warm starts in fresh browser contexts.
 *
 * Peers are interleaved round by round (the order rotates) because this host's timing switches
 * modes for minutes at a time; compare the ratios, not absolute numbers across runs. Not a test:
 * it prints a table and writes test/bench/results/<timestamp>.json.
 *
 *   node test/bench/run.mjs [--runs 20] [--warmup 3] [--cold 5]
 *   CHESTAID_DEMO_DIR=/path/with/model.onnx+manifest.json node test/bench/run.mjs
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { DEMO_DIR, ROOT, buildPage, launchChromium, openPage, startServer } from './harness.mjs';

const require = createRequire(import.meta.url);
const ort = require('onnxruntime-node');
const dcmjs = require('dcmjs');

const { values: opts } = parseArgs({
  options: {
    runs: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '3' },
    cold: { type: 'string', default: '5' },
    study: { type: 'string', default: 'study-01' },
  },
});
const RUNS = Number(opts.runs);
const WARMUP = Number(opts.warmup);
const COLD = Number(opts.cold);

const manifest = JSON.parse(readFileSync(join(DEMO_DIR, 'manifest.json'), 'utf8'));
const modelPath = join(DEMO_DIR, manifest.onnx.file);
const MODEL_URL = `/models/chestaid-demo/${manifest.onnx.file}`;
const MANIFEST_URL = '/models/chestaid-demo/manifest.json';
const INPUT_URL = `/fixtures/parity/${opts.study}.input.f32`;
const DIMS = [1, 3, manifest.input.size.height, manifest.input.size.width];

function stats(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = q => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  return { n: sorted.length, median: at(0.5), p90: at(0.9), min: sorted[0] };
}

const ROW_ORDER = [
  'onnxruntime-node 2 threads',
  'onnxruntime-node 1 thread',
  'page wasm 2 threads',
  'page wasm 2 threads, round trip',
  'page wasm 1 thread',
  'page wasm 1 thread, round trip',
  'page preprocess, demo DICOM',
  'page preprocess, 2048x2500',
];

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

async function main() {
  if (!existsSync(modelPath)) {
    throw new Error(`${modelPath} is missing (training/demo.sh writes it); set CHESTAID_DEMO_DIR to a folder with model.onnx and manifest.json`);
  }
  process.stdout.write('building the test page... ');
  await buildPage();
  console.log('done');
  const server = await startServer();
  const browser = await launchChromium({ webgpu: false });
  const samples = {};
  const record = (name, ms) => (samples[name] ??= []).push(ms);
  const cold = [];
  try {
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

    const modelBytes = readFileSync(modelPath);
    const input = new Float32Array(readFileSync(join(ROOT, 'test/fixtures/parity', `${opts.study}.input.f32`)).buffer.slice(0));
    const nodeSessions = {};
    for (const threads of [2, 1]) {
      nodeSessions[threads] = await ort.InferenceSession.create(modelBytes, {
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
      });
    }
    const nodeRun = async threads => {
      const feeds = { [manifest.input.name]: new ort.Tensor('float32', input, DIMS) };
      const t0 = performance.now();
      await nodeSessions[threads].run(feeds);
      return performance.now() - t0;
    };

    const peers = [
      ['page wasm 1 thread', async () => {
        const r = await page.evaluate(() => chestaidTest.run('wasm1', 'x'));
        record('page wasm 1 thread, round trip', r.roundTripMs);
        return r.runMs;
      }],
      ['page wasm 2 threads', async () => {
        const r = await page.evaluate(() => chestaidTest.run('wasm2', 'x'));
        record('page wasm 2 threads, round trip', r.roundTripMs);
        return r.runMs;
      }],
      ['onnxruntime-node 2 threads', () => nodeRun(2)],
      ['onnxruntime-node 1 thread', () => nodeRun(1)],
      ['page preprocess, demo DICOM', () => page.evaluate(() => chestaidTest.preprocessOnce('demo'))],
      ['page preprocess, 2048x2500', () => page.evaluate(() => chestaidTest.preprocessOnce('large'))],
    ];

    process.stdout.write(`warm-up (${WARMUP} each)... `);
    for (let i = 0; i < WARMUP; i++) for (const [, fn] of peers) await fn();
    for (const key of Object.keys(samples)) delete samples[key];
    console.log('done');

    const coldEvery = COLD > 0 ? Math.max(1, Math.floor(RUNS / COLD)) : Infinity;
    for (let round = 0; round < RUNS; round++) {
      const order = peers.map((_, i) => peers[(i + round) % peers.length]);
      for (const [name, fn] of order) record(name, await fn());
      if ((round + 1) % coldEvery === 0 && cold.length < COLD) cold.push(await coldStart(browser, server.url, base));
      process.stdout.write(`\rround ${round + 1}/${RUNS}`);
    }
    process.stdout.write('\n');

    const rows = ROW_ORDER.filter(name => samples[name]).map(name => ({ name, ...stats(samples[name]) }));
    rows.push({ name: 'cold start: fresh context, client to first result', ...stats(cold.map(c => c.cold.totalMs)) });
    rows.push({ name: 'warm start: next page load, model from Cache API', ...stats(cold.map(c => c.warm.totalMs)) });
    const reference = rows.find(r => r.name === 'onnxruntime-node 2 threads').median;
    for (const row of rows) row.ratio = row.median / reference;

    const breakdown = {
      download: stats(cold.map(c => c.cold.info.model.downloadMs)),
      verify: stats(cold.map(c => c.cold.info.model.verifyMs)),
      sessionCreate: stats(cold.map(c => c.cold.info.sessionCreateMs)),
      warmUpRun: stats(cold.map(c => c.cold.info.warmUpMs)),
      clientToReady: stats(cold.map(c => c.cold.readyMs)),
      firstAnalyzeRun: stats(cold.map(c => c.cold.firstRunMs)),
      warmCacheRead: stats(cold.map(c => c.warm.info.model.downloadMs)),
      warmSessionCreate: stats(cold.map(c => c.warm.info.sessionCreateMs)),
    };
    const machine = {
      cpus: cpus().length,
      cpu: cpus()[0]?.model,
      loadavgAtEnd: loadavg(),
      node: process.version,
      chromium: browser.version(),
      onnxruntimeWeb: versionOf('onnxruntime-web'),
      onnxruntimeNode: versionOf('onnxruntime-node'),
      coldStartBackend: cold[0]?.cold.info.reason,
    };
    printTable(rows, breakdown, machine);
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const outDir = join(ROOT, 'test/bench/results');
    mkdirSync(outDir, { recursive: true });
    const file = join(outDir, `${stamp}.json`);
    writeFileSync(
      file,
      JSON.stringify({ date: new Date().toISOString(), machine, model: { file: modelPath, sha256: manifest.onnx.sha256, dims: DIMS }, runs: RUNS, warmup: WARMUP, rows, breakdown, cold, samples }, null, 1),
    );
    console.log(`\nwrote ${file}`);
  } finally {
    await browser.close();
    await server.close();
  }
}

/** A fresh context (empty HTTP cache and Cache API), then a second page load in it. */
async function coldStart(browser, url, base) {
  const { context, page } = await openPage(browser, url);
  try {
    await page.evaluate(([u, d]) => chestaidTest.loadInput('x', u, d), [INPUT_URL, DIMS]);
    // What a reader gets: default threads, WebGPU if there were an adapter, the Cache API on.
    const config = { modelUrl: base.modelUrl, sha256: base.sha256, bytes: base.bytes };
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

function printTable(rows, breakdown, machine) {
  const f = v => (v >= 100 ? v.toFixed(0) : v.toFixed(1));
  console.log(`\n${machine.cpu}, ${machine.cpus} cores, ${machine.chromium}, onnxruntime-web ${machine.onnxruntimeWeb}, node ${machine.onnxruntimeNode}`);
  console.log(`model ${manifest.model.id} ${manifest.model.version}, batch 1, ${DIMS.join('x')}; ${RUNS} interleaved rounds after ${WARMUP} warm-up\n`);
  console.log('| config | median ms | p90 ms | min ms | n | vs onnxruntime-node 2 threads |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.name} | ${f(r.median)} | ${f(r.p90)} | ${f(r.min)} | ${r.n} | ${r.ratio.toFixed(2)}x |`);
  console.log('\ncold start breakdown (median ms):', Object.fromEntries(Object.entries(breakdown).map(([k, v]) => [k, Number(f(v.median))])));
  console.log(`cold start backend: ${machine.coldStartBackend}`);
}

main().catch(error => {
  console.error(error);
  process.exitCode = 1;
});
