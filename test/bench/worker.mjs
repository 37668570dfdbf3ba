/* global process, console, performance, Buffer */
/**
 * The triage worker benchmark (issue 7): worker throughput on the demo studies against PyTorch
 * eager scoring of the same images, measured in the same run, interleaved round by round (this
 * host's timings drift for minutes at a time: compare within a run).
 *
 *   npm run bench:worker                    5 rounds, 2 threads; then the scaling rows
 *   npm run bench:worker -- --rounds 9 --threads 1
 *   npm run bench:worker -- --scaling-only --studies 2000 --workers 1,2,4
 *   npm run bench:worker -- --scaling-only --workers 1,2 --prefetch 1,2 --worker-cpus 0,1
 *   npm run bench:worker -- --no-scaling
 *
 * Each round: a fresh Orthanc loaded with the demo studies, then one `--once` pass of the real
 * worker CLI (QIDO-RS listing, WADO-RS retrieval, dcmjs decode, the core's preprocessing,
 * onnxruntime-node, SR + Parametric Map built and STOWed), timed from its own log; then the
 * PyTorch peer scores the same images (the tensors the worker's preprocessing builds) once each.
 * Medians over rounds. Not a test: it prints tables and writes test/bench/results/worker-<time>.json.
 *
 * Then the scaling rows (issue 17, workerScaling.mjs): `--studies` single-image studies (default
 * 2000) drained by 1, 2 and 4 worker processes on RabbitMQ (`--workers`), against the single
 * polling worker on the same data in the same run, with time to drain and each worker's RSS;
 * and the machine's own ceiling: 1, 2 and 4 processes running only the model (`--model-seconds`).
 * `--prefetch 1,2` gives each worker count a row per AMQP prefetch. With 4 CPUs or more the
 * workers run on CPUs 0 and 1 and Orthanc and RabbitMQ on the others (`--worker-cpus` chooses);
 * with fewer, all share them.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

import dcmjs from 'dcmjs';

import { demoStudyFiles, loadDemoStudies, startOrthanc } from '../../pacs/orthanc.mjs';
import { makeDemoStudies } from '../../scripts/make-demo-studies.mjs';
import { requireBuilt, ROOT } from '../../scripts/node-build.mjs';
import { runWorker, of } from '../pacs/workerHarness.mjs';
import { summary } from './stats.mjs';
import { scalingRows } from './workerScaling.mjs';
import { PYTHON } from './torch.mjs';

const { values: opts } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    threads: { type: 'string', default: '2' },
    studies: { type: 'string', default: '2000' },
    workers: { type: 'string', default: '1,2,4' },
    'scaling-threads': { type: 'string', default: '1' },
    prefetch: { type: 'string', default: '1' },
    'worker-cpus': { type: 'string' },
    'model-seconds': { type: 'string', default: '20' },
    'no-scaling': { type: 'boolean', default: false },
    'scaling-only': { type: 'boolean', default: false },
  },
});
const ROUNDS = Number(opts.rounds);
const THREADS = Number(opts.threads);
const MANIFEST = join(ROOT, 'models', 'chestaid-demo', 'manifest.json');
const manifest = JSON.parse(readFileSync(MANIFEST, 'utf8'));
const MODEL = join(ROOT, 'models', 'chestaid-demo', manifest.onnx.file);
const temp = mkdtempSync(join(tmpdir(), 'chestaid-bench-worker-'));
const median = values => summary(values).median;
const fmt = (v, digits = 1) => (v === undefined || Number.isNaN(v) ? '-' : v.toFixed(digits));

/** The torch peer as a child answering one round per request line. */
async function startTorch(listFile) {
  const child = spawn(PYTHON, [join(ROOT, 'test/bench/torch_images.py'), MODEL, listFile], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  const errors = [];
  child.stderr.on('data', chunk => errors.push(chunk.toString()));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const exited = new Promise(resolve => child.once('exit', resolve));
  const next = async () => {
    const line = await Promise.race([lines.next(), exited.then(code => Promise.reject(new Error(`PyTorch peer exited with ${code}: ${errors.join('').trim().split('\n').slice(-3).join(' | ')}`)))]);
    if (line.done) throw new Error(`PyTorch peer closed its output: ${errors.join('')}`);
    return line.value;
  };
  const ready = await next();
  if (!ready.startsWith('ready ')) throw new Error(`PyTorch peer said ${ready}`);
  return {
    info: JSON.parse(ready.slice(6)),
    async round(threads) {
      child.stdin.write(`run ${threads}\n`);
      const line = await next();
      if (!line.startsWith('ms ')) throw new Error(`PyTorch peer said ${line}`);
      return JSON.parse(line.slice(3));
    },
    async close() {
      child.stdin.end('quit\n');
      await exited;
    },
  };
}

/** One worker round on a fresh PACS: the pass as the worker's own log times it. */
async function workerRound(round) {
  const stateDir = join(temp, `orthanc-${round}`);
  const pacs = await startOrthanc({ stateDir });
  try {
    const { DicomWebClient } = requireBuilt('@chestaid/core');
    await loadDemoStudies(new DicomWebClient({ baseUrl: pacs.dicomWebUrl }));
    const started = performance.now();
    const run = await runWorker(['--pacs', pacs.dicomWebUrl, '--once', '--threads', String(THREADS)]);
    const wall = performance.now() - started;
    if (run.code !== 0) throw new Error(`worker exited with ${run.code}: ${run.stderr}\n${run.events.slice(-3).map(e => JSON.stringify(e)).join('\n')}`);
    const pass = of(run.events, 'pass')[0];
    const studies = new Set(of(run.events, 'stored').map(e => e.study)).size;
    const scored = new Map(of(run.events, 'scored').map(e => [e.sop, e]));
    const images = of(run.events, 'stored').map(e => ({ ...scored.get(e.sop).ms, write: e.ms.write, total: e.ms.total, logit: scored.get(e.sop).logit, sop: e.sop }));
    const started_ = of(run.events, 'started')[0];
    return { passMs: pass.ms, wallMs: wall, studies, images, load: started_.loadMs };
  } finally {
    await pacs.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

/** The tensors the worker's preprocessing builds from the same files, for the PyTorch peer. */
function prepareTensors(logits) {
  const { readPart10 } = requireBuilt('@chestaid/worker');
  const { Preprocessor, inputSpecOf, parseManifest } = requireBuilt('@chestaid/core');
  const parsed = parseManifest(manifest);
  const preprocessor = new Preprocessor(inputSpecOf(parsed));
  const list = [];
  for (const file of demoStudyFiles()) {
    const image = readPart10(readFileSync(file), file);
    if (!parsed.input.grey.accepted_modalities.includes(image.attributes.modality)) continue;
    const tensor = preprocessor.runStored(image.attributes, image.pixels);
    const path = join(temp, `${image.sopInstanceUID}.f32`);
    writeFileSync(path, Buffer.from(tensor.buffer, tensor.byteOffset, tensor.byteLength));
    if (!logits.has(image.sopInstanceUID)) throw new Error(`the worker did not score ${image.sopInstanceUID} (${file})`);
    list.push({ tensor: path, logit: logits.get(image.sopInstanceUID), sop: image.sopInstanceUID });
  }
  const listFile = join(temp, 'images.json');
  writeFileSync(listFile, JSON.stringify(list));
  return { listFile, count: list.length };
}

makeDemoStudies();
const scaling = async () => {
  const modality = file => {
    const b = readFileSync(file);
    return String(dcmjs.data.DicomMessage.readFile(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)).dict['00080060']?.Value?.[0]);
  };
  const files = demoStudyFiles().filter(file => ['CR', 'DX'].includes(modality(file)));
  const workerCounts = opts.workers.split(',').map(Number);
  if (!workerCounts.every(n => Number.isInteger(n) && n >= 1)) throw new Error(`--workers must list positive integers, got ${opts.workers}`);
  const prefetches = opts.prefetch.split(',').map(Number);
  if (!prefetches.every(n => Number.isInteger(n) && n >= 1)) throw new Error(`--prefetch must list positive integers, got ${opts.prefetch}`);
  const { rows, alone, placement } = await scalingRows({
    files,
    studies: Number(opts.studies),
    workerCounts,
    prefetches,
    threads: Number(opts['scaling-threads']),
    modelSeconds: Number(opts['model-seconds']),
    workerCpus: opts['worker-cpus'],
  });
  const resultsDir = join(ROOT, 'test', 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const out = join(resultsDir, `worker-scaling-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(out, JSON.stringify({ studies: Number(opts.studies), rows, modelAlone: alone, placement, cpus: cpus().length, load: loadavg() }, null, 1));
  console.log(`\nraw samples: ${out}`);
};
if (opts['scaling-only']) {
  await scaling();
  process.exit(0);
}
console.log(`worker benchmark: ${ROUNDS} rounds, ${THREADS} thread(s), ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), load ${loadavg().map(v => v.toFixed(2)).join(' ')}`);

const rounds = [];
const torchRounds = [];
let torch = null;
try {
  for (let round = 0; round < ROUNDS; round++) {
    const w = await workerRound(round);
    rounds.push(w);
    if (!torch) {
      const { listFile, count } = prepareTensors(new Map(w.images.map(i => [i.sop, i.logit])));
      torch = await startTorch(listFile);
      if (torch.info.images !== count) throw new Error(`PyTorch peer has ${torch.info.images} images, expected ${count}`);
      await torch.round(THREADS); // warm-up, as the worker's session is warm after its first image
    }
    torchRounds.push(await torch.round(THREADS));
    process.stdout.write(`round ${round + 1}/${ROUNDS}: worker pass ${fmt(w.passMs / 1000, 2)} s for ${w.images.length} images; PyTorch ${fmt(torchRounds.at(-1).reduce((a, b) => a + b, 0) / 1000, 2)} s\n`);
  }
} finally {
  await torch?.close();
}

const images = rounds[0].images.length;
const studies = rounds[0].studies;
const workerPass = median(rounds.map(r => r.passMs));
const workerWall = median(rounds.map(r => r.wallMs));
const torchTotal = median(torchRounds.map(times => times.reduce((a, b) => a + b, 0)));
const perImage = stage => median(rounds.flatMap(r => r.images.map(i => i[stage])));
const rows = [
  ['worker pass (QIDO, WADO, decode, preprocess, infer, SR+PMAP STOW)', workerPass],
  ['worker process end to end (+ Node start, model verify and load)', workerWall],
  ['PyTorch eager, forward pass only (tensors given)', torchTotal],
];
console.log(`\n${images} CR/DX images in ${studies} studies (the CT study is skipped), median of ${ROUNDS} rounds, ${THREADS} thread(s)\n`);
console.log('| peer | median total (s) | studies/min | ms/image (total / images) | time vs PyTorch |');
console.log('|---|---|---|---|---|');
for (const [name, total] of rows) {
  console.log(`| ${name} | ${fmt(total / 1000, 2)} | ${fmt((studies / total) * 60000, 0)} | ${fmt(total / images)} | ${fmt(total / torchTotal, 2)}x |`);
}
console.log('\nworker, per image (median ms over all images of all rounds):\n');
console.log('| fetch (WADO-RS) | decode (dcmjs) | preprocess (core) | infer (onnxruntime-node) | write (build SR+PMAP, STOW) | total |');
console.log('|---|---|---|---|---|---|');
console.log(`| ${['fetch', 'decode', 'preprocess', 'infer', 'write', 'total'].map(s => fmt(perImage(s))).join(' | ')} |`);
const torchPerImage = median(torchRounds.flat());
console.log(`\nPyTorch eager forward pass per image: median ${fmt(torchPerImage)} ms (onnxruntime-node infer: ${fmt(perImage('infer'))} ms, ${fmt(torchPerImage / perImage('infer'), 2)}x)`);
console.log(`model load in the worker (median): read ${fmt(median(rounds.map(r => r.load.read)))} ms, sha256 ${fmt(median(rounds.map(r => r.load.verify)))} ms, session ${fmt(median(rounds.map(r => r.load.session)))} ms`);

const resultsDir = join(ROOT, 'test', 'bench', 'results');
mkdirSync(resultsDir, { recursive: true });
const out = join(resultsDir, `worker-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(out, JSON.stringify({ threads: THREADS, rounds, torchRounds, torch: torch?.info, cpus: cpus().length }, null, 1));
console.log(`\nraw samples: ${out}`);
rmSync(temp, { recursive: true, force: true });
if (!opts['no-scaling']) await scaling();
