/**
 * The CPU peers, interleaved round by round (the order rotates, because this host's timing switches
 * modes for minutes at a time): the page's onnxruntime-web wasm at 1 and 2 threads through the real
 * worker, the same model on TensorFlow.js's wasm backend (XNNPACK, issue 19) at 1 and 2 threads
 * through its worker (unless --no-tfjs), onnxruntime-node at 2 and 1 threads, PyTorch eager through the training workspace, and the
 * core's preprocessing and CAM post-processing in the page. The page's cold starts are spread
 * between the rounds (coldStart.mjs).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';

import { coldCandidates, coldStart } from './coldStart.mjs';
import { log, REFERENCE } from './context.mjs';
import { openPage } from './harness.mjs';
import { versionOf } from './report.mjs';
import { downloadOf } from './downloads.mjs';
import { enlarge, readStudy, toBase64 } from './study.mjs';
import { startTorchPeer } from './torch.mjs';

const require = createRequire(import.meta.url);

/** The TensorFlow.js engine's rows (issue 19): the same ONNX file, XNNPACK's kernels. */
export const TFJS_ROW = 'page tfjs-wasm';
/** The int8 variant's rows: onnxruntime-web in the page and onnxruntime-node, the same input. */
export const INT8_ROW = 'page wasm int8';
export const NODE_INT8_ROW = 'onnxruntime-node CPU int8';
const TFJS_LABEL = 'page tfjs-wasm (TensorFlow.js, XNNPACK)';
const TFJS_PARITY = { logit: 1e-3, cam: 1e-4 };
const ort = require('onnxruntime-node');

/** The version of an installed package (an npm alias included), or null when it is not installed. */
function installedVersion(name) {
  try {
    return versionOf(name);
  } catch {
    return null;
  }
}

export async function cpuRounds(bench, browser, server, results) {
  const { opts, manifest, modelPath, MODEL_URL, MANIFEST_URL, INPUT_URL, INPUT_PATH, DIMS, RUNS, WARMUP, COLD, samples, record, unavailable, notes } = bench;
  const { page } = await openPage(browser, server.url);
  if (!(await page.evaluate(() => chestaidTest.crossOriginIsolated()))) throw new Error('the page is not crossOriginIsolated');
  await page.evaluate(([url, dims]) => chestaidTest.loadInput('x', url, dims), [INPUT_URL, DIMS]);
  const base = { modelUrl: MODEL_URL, sha256: manifest.onnx.sha256, bytes: manifest.onnx.bytes, backend: 'wasm', cacheName: null };
  // The int8 variant (issue 19), when the manifest lists one: its own file, the same engine.
  const int8 = (manifest.onnx.variants ?? []).find(v => v.weights === 'int8') ?? null;
  const int8Config = int8 && { modelUrl: new URL(int8.file, `http://x${MODEL_URL}`).pathname, sha256: int8.sha256, bytes: int8.bytes };
  // Each engine's first worker is started alone, so what the server sends meanwhile is its download.
  const engines = [
    ['wasm', 'page wasm (onnxruntime-web)', {}],
    ...(int8 ? [['int8', `page wasm int8 (onnxruntime-web, ${int8.file})`, int8Config]] : []),
    ...(opts.tfjs ? [['tfjs', TFJS_LABEL, { engine: 'tfjs' }]] : []),
  ];
  results.downloads = {};
  for (const [id, label, extra] of engines) {
    for (const threads of [1, 2]) {
      const from = server.served.length;
      const { info } = await page.evaluate(([n, c]) => chestaidTest.start(n, c), [`${id}${threads}`, { ...base, ...extra, numThreads: threads }]);
      if (info.threads !== threads) throw new Error(`${label}: asked for ${threads} threads, got ${info.threads}: ${info.reason}`);
      if (threads === 1) results.downloads[label] = downloadOf(server.served.slice(from), info.reason);
    }
  }
  // The onnxruntime-web release before ours, through the same worker and page: an upgrade is kept
  // only if it is not slower (issue 19).
  const previous = installedVersion('onnxruntime-web-1.30');
  for (const threads of previous ? [1, 2] : []) {
    const { info } = await page.evaluate(([n, c]) => chestaidTest.start(n, c), [`previous${threads}`, { ...base, numThreads: threads, ortBaseUrl: '/chestaid/ort-previous/' }]);
    if (info.threads !== threads) throw new Error(`onnxruntime-web ${previous}: asked for ${threads} threads, got ${info.threads}: ${info.reason}`);
  }
  if (!int8) unavailable[`${INT8_ROW}, 1 thread`] = unavailable[`${INT8_ROW}, 2 threads`] = unavailable[`${NODE_INT8_ROW}, 2 threads`] = 'the manifest lists no int8 variant';
  if (!previous) unavailable['page wasm, onnxruntime-web 1.30'] = 'the peer package onnxruntime-web-1.30 is not installed';
  if (!opts.tfjs) unavailable[`${TFJS_ROW}, 1 thread`] = unavailable[`${TFJS_ROW}, 2 threads`] = 'skipped (--no-tfjs)';

  const study = readStudy(opts.study);
  const large = enlarge(study, 2500, 2048);
  for (const [id, s] of [['demo', study], ['large', large]]) {
    await page.evaluate(([i, m, a, p]) => chestaidTest.preprocessSetup(i, m, a, p), [id, MANIFEST_URL, s.attributes, toBase64(s.pixels)]);
  }
  results.studySize = { demo: [study.attributes.columns, study.attributes.rows], large: [2048, 2500] };

  const modelBytes = readFileSync(modelPath);
  const input = new Float32Array(readFileSync(INPUT_PATH).buffer.slice(0));
  const nodeSessions = {};
  const nodeOptions = threads => ({ intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential' });
  for (const threads of [2, 1]) {
    nodeSessions[threads] = await ort.InferenceSession.create(modelBytes, nodeOptions(threads));
    if (int8) nodeSessions[`int8-${threads}`] = await ort.InferenceSession.create(readFileSync(join(dirname(modelPath), int8.file)), nodeOptions(threads));
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

  const threadsOf = n => `${n} thread${n === 1 ? '' : 's'}`;
  // One in-page engine's rows at 1 and 2 threads (clients `${client}1`, `${client}2`), round trips recorded beside.
  const pageRows = (row, client) =>
    [1, 2].map(threads => [`${row}, ${threadsOf(threads)}`, async () => {
      const r = await page.evaluate(n => chestaidTest.run(n, 'x'), `${client}${threads}`);
      record(`${row}, ${threadsOf(threads)}, round trip`, r.roundTripMs);
      return r.runMs;
    }]);
  const peers = [
    ...pageRows('page wasm', 'wasm'),
    ...(int8 ? pageRows(INT8_ROW, 'int8') : []),
    ...(int8 ? [1, 2].map(threads => [`${NODE_INT8_ROW}, ${threadsOf(threads)}`, () => nodeRun(`int8-${threads}`)]) : []),
    ...(previous ? [1, 2].map(threads => [`page wasm, ${threadsOf(threads)}, onnxruntime-web ${previous}`, async () => (await page.evaluate(n => chestaidTest.run(n, 'x'), `previous${threads}`)).runMs]) : []),
    ...(opts.tfjs ? pageRows(TFJS_ROW, 'tfjs') : []),
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

  if (opts.tfjs) {
    // A faster engine that computes something else is no peer: same input, onnxruntime-node's outputs.
    for (const threads of [1, 2]) {
      const r = await page.evaluate(n => chestaidTest.run(n, 'x'), `tfjs${threads}`);
      const logitDiff = Math.abs(r.logit - results.nodeLogit);
      const camDiff = Math.max(...r.cam.map((v, i) => Math.abs(v - rawCam[i])));
      notes.push(`${TFJS_ROW}, ${threads} thread(s), against onnxruntime-node on ${opts.study}: logit off by ${logitDiff.toExponential(2)}, raw CAM by ${camDiff.toExponential(2)} (tolerances ${TFJS_PARITY.logit}, ${TFJS_PARITY.cam})`);
      if (!(logitDiff <= TFJS_PARITY.logit && camDiff <= TFJS_PARITY.cam)) throw new Error(`the TensorFlow.js engine (${threads} threads) disagrees with onnxruntime-node: ${notes.at(-1)}`);
    }
  }

  process.stdout.write(`warm-up (${WARMUP} each)... `);
  for (let i = 0; i < WARMUP; i++) for (const [, fn] of peers) await fn();
  for (const key of Object.keys(samples)) delete samples[key];
  log('done');

  // COLD starts per candidate; each time, every candidate once, in turn.
  const candidates = coldCandidates(bench);
  for (const [label] of candidates) results.cold[label] = [];
  const coldRound = async () => {
    for (const [label, config] of candidates) results.cold[label].push(await coldStart(bench, browser, server.url, config));
  };
  const coldDone = () => results.cold[candidates[0][0]].length;
  const coldEvery = COLD > 0 ? Math.max(1, Math.floor(RUNS / COLD)) : Infinity;
  try {
    for (let round = 0; round < RUNS; round++) {
      const order = peers.map((_, i) => peers[(i + round) % peers.length]);
      for (const [name, fn] of order) record(name, await fn());
      // Page cold starts between rounds; any left over (COLD > RUNS) come after the last round.
      while (coldDone() < Math.min(COLD, Math.floor((round + 1) / coldEvery))) await coldRound();
      process.stdout.write(`\rround ${round + 1}/${RUNS}`);
    }
    while (coldDone() < COLD) await coldRound();
  } finally {
    await torch?.close();
  }
  process.stdout.write('\n');
  await page.context().close();
}
