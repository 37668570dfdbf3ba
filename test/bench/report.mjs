/**
 * What a run reports: the tables on stdout, and test/bench/results/<timestamp>.json (format
 * chestaid-bench/2), which keeps every sample with the machine it ran on.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';

import { log, REFERENCE } from './context.mjs';
import { ROOT } from './harness.mjs';
import { breakdownOf } from './coldStart.mjs';
import { profileTable } from './profile.mjs';
import { PROFILE_RUNS } from './stageProfiles.mjs';
import { summary } from './stats.mjs';
import { PYTHON } from './torch.mjs';

// onnxruntime-web's exports map hides its package.json.
export const versionOf = name => JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;

/** The host and the runtimes' versions, for the table's heading and the JSON. */
export function describeMachine({ loads, chromiumVersion, results }) {
  return {
    cpus: cpus().length,
    cpu: cpus()[0]?.model,
    memoryGiB: Number((totalmem() / 2 ** 30).toFixed(1)),
    loadavg: loads,
    node: process.version,
    chromium: chromiumVersion,
    onnxruntimeWeb: versionOf('onnxruntime-web'),
    onnxruntimeNode: versionOf('onnxruntime-node'),
    tfjsBackendWasm: versionOf('@tensorflow/tfjs-backend-wasm'),
    torch: results.torch?.info ?? null,
    python: PYTHON,
  };
}

/** Writes the run's JSON; returns its path. */
export function writeResults(bench, { startedAt, machine, rows, targets, results }) {
  const { opts, manifest, modelPath, DIMS, RUNS, WARMUP, COLD, MEMORY_RUNS, VIEWER_RUNS, WEBGPU_RUNS, notes, unavailable, samples } = bench;
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
        viewer: viewer && Object.fromEntries(Object.entries(viewer).map(([server, v]) => [server, { samples: v.samples, heatmap: v.heatmap, runMs: v.runMs, heatmapSeen: v.heatmapSeen }])),
      },
      null,
      1,
    ),
  );
  return file;
}

const f = v => (v >= 100 ? v.toFixed(0) : v.toFixed(1));
const mb = v => (typeof v === 'number' ? `${(v / 2 ** 20).toFixed(1)} MiB` : 'n/a');

export function printAll(bench, { rows, results, machine, targets }) {
  const { opts, manifest, DIMS, RUNS, WARMUP, notes } = bench;
  log(`\n${machine.cpu}, ${machine.cpus} cores, Chromium ${machine.chromium}, onnxruntime-web ${machine.onnxruntimeWeb}, onnxruntime-node ${machine.onnxruntimeNode}, TensorFlow.js wasm ${machine.tfjsBackendWasm}, PyTorch ${machine.torch?.torch ?? 'n/a'}`);
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

  if (results.triage) {
    const t = results.triage;
    log(`\ntriage batch in the page: ${t.studies} demo radiographs per round, ${t.rounds} rounds, 2 threads (preprocessing, model, calibration, CAM; no image I/O):`);
    log('| engine | ms per study (median) | studies/min |');
    log('|---|---|---|');
    for (const e of t.engines) {
      const median = summary(e.msPerStudy).median;
      log(`| ${e.label} | ${f(median)} | ${(60000 / median).toFixed(0)} |`);
    }
  }

  if (results.downloads && Object.keys(results.downloads).length) {
    log('\ndownload per in-page engine, a fresh worker to ready (no cache):');
    log('| engine | model | wasm | JS | total |');
    log('|---|---|---|---|---|');
    for (const [engine, d] of Object.entries(results.downloads)) log(`| ${engine} | ${mb(d.model)} | ${mb(d.wasm)} | ${mb(d.js)} | ${mb(d.total)} |`);
  }

  for (const [label, starts] of Object.entries(results.cold)) {
    if (!starts.length) continue;
    // Every run, not only the medians: a cold start is a few large parts, and which one moved matters.
    const parts = Object.keys(breakdownOf(starts[0].cold));
    log(`\npage cold and warm starts, ${label} (${starts[0].cold.info.reason}), ms:`);
    log(`| start | run | ${parts.join(' | ')} |`);
    log(`|---|---|${parts.map(() => '---').join('|')}|`);
    for (const kind of ['cold', 'warm']) {
      starts.forEach((s, i) => log(`| ${kind} | ${i + 1} | ${Object.values(breakdownOf(s[kind])).map(v => f(v)).join(' | ')} |`));
      const medians = parts.map(p => f(summary(starts.map(s => breakdownOf(s[kind])[p])).median));
      log(`| ${kind} | median | ${medians.join(' | ')} |`);
    }
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

  if (results.profile) printProfiles(results.profile);

  log('\ntargets (issue 6):');
  for (const [name, t] of Object.entries(targets)) {
    const value = typeof t.value === 'number' ? t.value.toFixed(2) : JSON.stringify(t.value);
    log(`- ${name}: ${value} (target ${t.target}); ${t.detail}`);
  }
  for (const note of notes) log(`note: ${note}`);
}

function printProfiles(profile) {
  log(`\nper-stage profile, one run after ${PROFILE_RUNS - 1} in a fresh session or worker (ms summed over the stage's nodes or kernels; in brackets, the ratio to onnxruntime-node fp32 at the same thread count):`);
  log("onnxruntime: its profiler, whole run = model_run; TF.js: tf.profile, each kernel's wall time, whole run = the profiled run with its input upload and output read.");
  const { lines, errors } = profileTable(profile, f);
  for (const line of lines) log(line);
  for (const e of errors) log(e);
  for (const [what, why] of Object.entries(profile.unavailable ?? {})) log(`${what}: ${why}`);
}
