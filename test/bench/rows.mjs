/**
 * The benchmark's rows (median, p90, min, n, and the ratio to the reference row) in the order the
 * table shows them, and the targets computed from them.
 */
import { TRIAGE_ROW } from './triageBatch.mjs';
import { REFERENCE } from './context.mjs';
import { summary } from './stats.mjs';

const ROW_ORDER = [
  REFERENCE,
  'onnxruntime-node CPU, 1 thread',
  'page wasm, 2 threads',
  'page wasm, 2 threads, round trip',
  'page wasm, 1 thread',
  'page wasm, 1 thread, round trip',
  'onnxruntime-node CPU int8, 2 threads',
  'onnxruntime-node CPU int8, 1 thread',
  'page wasm int8, 2 threads',
  'page wasm int8, 2 threads, round trip',
  'page wasm int8, 1 thread',
  'page wasm int8, 1 thread, round trip',
  'page tfjs-wasm, 2 threads',
  'page tfjs-wasm, 2 threads, round trip',
  'page tfjs-wasm, 1 thread',
  'page tfjs-wasm, 1 thread, round trip',
];

export function buildRows(bench, results) {
  const { samples, unavailable } = bench;
  const rows = [];
  const add = (name, values, extra = {}) => {
    if (values && values.length) rows.push({ name, ...summary(values), ...extra });
  };
  const na = (name, reason) => rows.push({ name, na: reason });
  for (const name of ROW_ORDER) {
    if (samples[name]) add(name, samples[name]);
    else if (unavailable[name]) na(name, unavailable[name]);
  }
  // The onnxruntime-web release before ours, same page and worker (cpuPeers.mjs).
  for (const name of Object.keys(samples).filter(n => /^page wasm, \d threads?, onnxruntime-web /.test(n)).sort()) add(name, samples[name]);
  if (unavailable['page wasm, onnxruntime-web 1.30']) na('page wasm, onnxruntime-web 1.30', unavailable['page wasm, onnxruntime-web 1.30']);
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
  if (results.triage) for (const { label } of results.triage.engines) add(`${TRIAGE_ROW}, ${label}`, samples[`${TRIAGE_ROW}, ${label}`]);
  else na(TRIAGE_ROW, unavailable[TRIAGE_ROW] ?? 'not measured');

  if (results.viewer) {
    for (const [server, v] of Object.entries(results.viewer)) {
      const viewer = viewerLabel(server);
      for (const kind of ['cold', 'warm-cached', 'warm']) add(`${viewer} click-to-result, ${kind}`, v.samples[kind]);
      if (v.openToResult?.length) add(`${viewer} open-to-result, cold (navigation to result, model loading from the study's opening)`, v.openToResult);
      for (const kind of ['cold', 'warm-cached', 'warm']) {
        if (v.heatmap[kind].length) add(`${viewer} click-to-heatmap, ${kind}`, v.heatmap[kind]);
        else na(`${viewer} click-to-heatmap, ${kind}`, 'n/a (no heatmap layer in this build)');
      }
      const layer = v.heatmapSeen ? layerTimes(v) : [];
      if (layer.length) add(`layer rendering (${viewer}: result to heatmap, warm)`, layer);
      else na(`layer rendering (${viewer})`, 'n/a (no heatmap layer in this build)');
      add(`${viewer} model run in the worker, warm (same analyses)`, v.runMs.warm.filter(x => x !== null));
    }
  } else {
    na('viewer click-to-result / click-to-heatmap', 'skipped (--no-viewer)');
  }
  for (const [label, starts] of Object.entries(results.cold)) {
    add(`page cold start (${label}): fresh context, client to first result`, starts.map(c => c.cold.totalMs));
    add(`page warm start (${label}): next page load, model from Cache API`, starts.map(c => c.warm.totalMs));
  }

  const reference = rows.find(r => r.name === REFERENCE).median;
  for (const row of rows) if (!row.na) row.ratio = row.median / reference;
  return rows;
}

/** The rows' name for the viewer as `server` serves it: the dev server's keep their earlier names. */
export const viewerLabel = server => (server === 'dev server' ? 'viewer' : `viewer via ${server}`);

/** Per warm analysis: heatmap minus result, where both were seen. */
function layerTimes(v) {
  return v.samples.warm.map((r, i) => (v.heatmap.warm[i] !== undefined ? v.heatmap.warm[i] - r : null)).filter(x => x !== null);
}

export function targetsOf(rows, results) {
  const median = name => rows.find(r => r.name === name && !r.na)?.median;
  const node2 = median(REFERENCE);
  const node1 = median('onnxruntime-node CPU, 1 thread');
  const page2 = median('page wasm, 2 threads');
  const page1 = median('page wasm, 1 thread');
  // Issue 19's bar: the best in-page CPU candidate that passes its gates (the int8 variant is in
  // the manifest only if it passed; TensorFlow.js's rows exist only after its parity check).
  const candidates = ['page wasm, 2 threads', 'page wasm, 1 thread', 'page wasm int8, 2 threads', 'page wasm int8, 1 thread', 'page tfjs-wasm, 2 threads', 'page tfjs-wasm, 1 thread']
    .map(name => [name, median(name)])
    .filter(([, ms]) => ms);
  const [bestName, best] = candidates.reduce((a, b) => (b[1] < a[1] ? b : a));
  const targets = {
    bestPageCpuVsNode: {
      target: 2,
      value: best / node2,
      detail: `best page CPU candidate: ${bestName} ${best.toFixed(1)} ms / onnxruntime-node float32 2 threads ${node2.toFixed(1)} ms; onnxruntime-web float32 1 thread vs node 1 thread ${(page1 / node1).toFixed(2)}x`,
    },
  };
  // Issue 19: the second CPU engine against onnxruntime-web's wasm, thread for thread.
  const tfjs2 = median('page tfjs-wasm, 2 threads');
  const tfjs1 = median('page tfjs-wasm, 1 thread');
  if (tfjs2 && tfjs1) {
    targets.tfjsVsOnnxruntimeWeb = {
      target: 'below 1 to keep it',
      value: tfjs2 / page2,
      detail: `page tfjs-wasm 2 threads ${tfjs2.toFixed(1)} ms / page wasm 2 threads ${page2.toFixed(1)} ms; 1 thread ${(tfjs1 / page1).toFixed(2)}x; tfjs-wasm 2 threads vs onnxruntime-node 2 threads ${(tfjs2 / node2).toFixed(2)}x`,
    };
  }
  const v = results.viewer?.['dev server'];
  if (v) {
    const click = summary(v.samples.warm).median;
    const runs = v.runMs.warm.filter(x => x !== null);
    const run = runs.length ? summary(runs).median : NaN;
    targets.warmClickVsInference = { target: 1.25, value: click / run, detail: `viewer warm click-to-result ${click.toFixed(0)} ms / the same analyses' model run ${run.toFixed(0)} ms (vs the page's wasm 2 threads ${page2.toFixed(0)} ms: ${(click / page2).toFixed(2)}x)` };
  }
  // The first Analyze in a fresh browser, through each server (issues 14 and 19: <= 1.5 s).
  for (const [server, served] of Object.entries(results.viewer ?? {})) {
    const cold = summary(served.samples.cold);
    const key = server === 'dev server' ? 'coldFirstAnalyzeMs' : `coldFirstAnalyzeMs (${server})`;
    const open = served.openToResult?.length ? `; open-to-result median ${summary(served.openToResult).median.toFixed(0)} ms` : '';
    targets[key] = { target: 1500, value: cold.median, detail: `${viewerLabel(server)} cold click-to-result median ${cold.median.toFixed(0)} ms, p90 ${cold.p90.toFixed(0)} ms, max ${Math.max(...served.samples.cold).toFixed(0)} ms${open}` };
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
