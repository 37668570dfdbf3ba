/**
 * Per-operator profiles from onnxruntime's own profiler (Chrome trace JSON), reduced to the stages
 * of DenseNet-121, so the page's wasm and onnxruntime-node can be compared stage by stage.
 *
 * The two runtimes rewrite the graph differently: onnxruntime-node on x86 turns every
 * BatchNormalization (+ReLU) before a convolution into an NCHWc depthwise convolution with the
 * activation fused (node names end `_bn_nchwc`), while the wasm build keeps BatchNormalization
 * and Relu as separate passes. Stages are therefore named by what the network does, not by op.
 * The int8 model's convolutions run as QLinearConv (onnxruntime-node: channels-last, with
 * Transpose nodes around them), between QuantizeLinear/DequantizeLinear; the TensorFlow.js
 * engine's kernels (tf.profile) map to the same stages (tfjsStageOf).
 */

/** The events of one session.run (the last `model_run` in the trace). */
export function lastRun(trace) {
  const runs = trace.filter(e => e.name === 'model_run');
  if (runs.length === 0) throw new Error('the profile has no model_run');
  const run = runs[runs.length - 1];
  const end = run.ts + run.dur;
  return {
    ms: run.dur / 1000,
    nodes: trace.filter(e => e.cat === 'Node' && e.name.endsWith('_kernel_time') && e.ts >= run.ts && e.ts <= end),
  };
}

/** A convolution's stage from its kernel size ('3x3'...). */
function convStage(kernel) {
  if (kernel === '3x3') return 'conv 3x3 (dense layers)';
  if (kernel === '1x1') return 'conv 1x1 (bottlenecks, transitions)';
  if (kernel === '7x7') return 'conv 7x7 (stem)';
  return `conv ${kernel}`;
}

/** The graph's node name of a trace event: onnxruntime appends `_token_N` to nodes its optimisers rewrote. */
export const graphNodeOf = eventName => eventName.replace(/_kernel_time$/, '').replace(/_token_\d+$/, '');

/**
 * A trace event's stage. `kernels` (onnxGraph.mjs convKernels) names the kernel size of the
 * convolutions whose weight the trace leaves out (onnxruntime-node's pre-packed QLinearConv).
 */
export function stageOf(event, kernels = new Map()) {
  const op = event.args.op_name;
  const name = event.name;
  if (op === 'Conv' || op === 'FusedConv') {
    const weight = event.args.input_type_shape?.[1]?.float ?? [];
    if (/_bn_nchwc_kernel_time$/.test(name) || (weight[1] === 1 && weight[2] === 1 && weight[3] === 1)) return 'BatchNorm + ReLU';
    return convStage(weight.length === 4 ? `${weight[2]}x${weight[3]}` : kernels.get(graphNodeOf(name)) ?? 'of unknown size');
  }
  if (op === 'QLinearConv') {
    const weight = Object.values(event.args.input_type_shape?.[3] ?? {})[0] ?? [];
    return convStage(weight.length === 4 ? `${weight[2]}x${weight[3]}` : kernels.get(graphNodeOf(name)) ?? 'of unknown size');
  }
  if (op === 'QuantizeLinear' || op === 'DequantizeLinear' || op === 'DynamicQuantizeLinear') return 'quantize/dequantize';
  if (op === 'BatchNormalization' || op === 'Relu') return 'BatchNorm + ReLU';
  if (op === 'Concat' || op === 'QLinearConcat') return 'Concat';
  if (/^(Nhwc|QLinear)?(MaxPool|AveragePool)$/.test(op)) return 'pooling';
  if (op === 'ReorderInput' || op === 'ReorderOutput' || op === 'Transpose') return 'layout (reorder, transpose)';
  return 'head (GAP, linear, CAM)';
}

/**
 * A TensorFlow.js kernel's stage (the TensorFlow.js engine, extension/src/inference/tfjs/network.ts:
 * NHWC, Conv+ReLU as FusedConv2D with an HWIO filter, BatchNorm+ReLU as a 1 x 1
 * FusedDepthwiseConv2D, the input transposed to NHWC and the CAM back to NCHW).
 */
export function tfjsStageOf(kernel) {
  const { name, inputShapes } = kernel;
  if (name === 'FusedConv2D' || name === 'Conv2D') {
    const filter = inputShapes[1] ?? [];
    return convStage(filter.length === 4 ? `${filter[0]}x${filter[1]}` : 'of unknown size');
  }
  if (name === 'FusedDepthwiseConv2D' || name === 'DepthwiseConv2dNative' || name === 'FusedBatchNorm' || name === 'Relu') return 'BatchNorm + ReLU';
  if (name === 'Concat') return 'Concat';
  if (name === 'MaxPool' || name === 'AvgPool') return 'pooling';
  // Identity is tf.clone: the graph's zero Pads and its one-input Concats (under a millisecond in all).
  if (name === 'Transpose' || name === 'PadV2' || name === 'Identity') return 'layout (reorder, transpose)';
  return 'head (GAP, linear, CAM)';
}

export const STAGES = [
  'conv 3x3 (dense layers)',
  'conv 1x1 (bottlenecks, transitions)',
  'conv 7x7 (stem)',
  'BatchNorm + ReLU',
  'Concat',
  'pooling',
  'quantize/dequantize',
  'layout (reorder, transpose)',
  'head (GAP, linear, CAM)',
];

function addTo(stages, stage, ms) {
  const s = (stages[stage] ??= { ms: 0, nodes: 0 });
  s.ms += ms;
  s.nodes++;
}

/** Milliseconds and node count per stage, plus the run's total and the summed kernels. */
export function byStage(trace, kernels = new Map()) {
  const { ms, nodes } = lastRun(trace);
  const stages = {};
  for (const e of nodes) addTo(stages, stageOf(e, kernels), e.dur / 1000);
  return { runMs: ms, kernelsMs: nodes.reduce((a, e) => a + e.dur / 1000, 0), stages };
}

/**
 * The same for a TensorFlow.js profile (extension/src/inference/tfjs/profile.ts): one run's kernels.
 * tf.profile also lists the custom-gradient op scopes (`fusedConv2d__op`, `fusedDepthwiseConv2d__op`)
 * with a time that contains the kernel they launched; they are left out, or every fused
 * convolution would count twice.
 */
export function tfjsByStage(profile) {
  const kernels = profile.kernels.filter(k => !k.name.endsWith('__op'));
  const stages = {};
  for (const k of kernels) addTo(stages, tfjsStageOf(k), k.ms);
  return { runMs: profile.runMs, kernelsMs: kernels.reduce((a, k) => a + k.ms, 0), stages };
}

/** Must equal PROFILE_LINE_PREFIX in extension/src/inference/tfjs/profile.ts (the worker's console line). */
export const TFJS_PROFILE_PREFIX = 'chestaid-tfjs-profile ';

/** The last TensorFlow.js profile the worker printed, from its console lines. */
export function tfjsProfileFromConsole(lines) {
  const line = lines.filter(l => l.startsWith(TFJS_PROFILE_PREFIX)).at(-1);
  if (!line) throw new Error('no TensorFlow.js profile in the worker console output');
  return JSON.parse(line.slice(TFJS_PROFILE_PREFIX.length));
}

/** The trace JSON inside onnxruntime-web's console output (a JSON array, possibly in pieces). */
export function traceFromConsole(text) {
  const start = text.indexOf('[');
  const end = text.lastIndexOf(']');
  if (start < 0 || end < start) throw new Error('no profile in the worker console output');
  return JSON.parse(text.slice(start, end + 1));
}

/** The candidates, each `${key} ${threads}` in results.profile (stageProfiles.mjs); the first is the reference. */
export const PROFILE_CANDIDATES = [
  { key: 'node fp32', label: 'onnxruntime-node fp32' },
  { key: 'page fp32', label: 'page wasm fp32' },
  { key: 'node int8', label: 'onnxruntime-node int8' },
  { key: 'page int8', label: 'page wasm int8' },
  { key: 'page tfjs', label: 'page TF.js wasm' },
];

/**
 * One markdown table of every profiled candidate side by side at 1 and 2 threads: each stage's ms
 * and, after each other candidate's, its ratio to onnxruntime-node fp32 at the same thread count.
 * Candidates that failed come back in `errors`; absent ones are left out.
 */
export function profileTable(profile, format = v => v.toFixed(1)) {
  const [reference] = PROFILE_CANDIDATES;
  const ok = id => (profile[id] && !profile[id].error ? profile[id] : undefined);
  const all = [1, 2].flatMap(threads => PROFILE_CANDIDATES.map(c => ({ ...c, threads, id: `${c.key} ${threads}` })));
  const columns = all.filter(c => ok(c.id));
  const extra = [...new Set(columns.flatMap(c => Object.keys(ok(c.id).stages)))].filter(s => !STAGES.includes(s));
  const lines = [`| stage | ${columns.map(c => `${c.label} ${c.threads}t`).join(' | ')} |`, `|---|${columns.map(() => '---').join('|')}|`];
  const row = (name, get) => {
    const values = columns.map(c => get(ok(c.id)));
    if (values.every(v => v === undefined)) return;
    const cells = columns.map((c, i) => {
      if (values[i] === undefined) return '-';
      const base = get(ok(`${reference.key} ${c.threads}`));
      return c.key === reference.key || !base ? format(values[i]) : `${format(values[i])} (${(values[i] / base).toFixed(1)}x)`;
    });
    lines.push(`| ${name} | ${cells.join(' | ')} |`);
  };
  for (const stage of [...STAGES, ...extra]) row(stage, p => p?.stages[stage]?.ms);
  row('kernels (sum)', p => p?.kernelsMs);
  row('whole run', p => p?.runMs);
  const errors = all.filter(c => profile[c.id]?.error).map(c => `${c.label} ${c.threads}t: ${profile[c.id].error}`);
  return { lines, errors };
}
