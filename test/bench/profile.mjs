/**
 * Per-operator profiles from onnxruntime's own profiler (Chrome trace JSON), reduced to the stages
 * of DenseNet-121, so the page's wasm and onnxruntime-node can be compared stage by stage.
 *
 * The two runtimes rewrite the graph differently: onnxruntime-node on x86 turns every
 * BatchNormalization (+ReLU) before a convolution into an NCHWc depthwise convolution with the
 * activation fused (node names end `_bn_nchwc`), while the wasm build keeps BatchNormalization
 * and Relu as separate passes. Stages are therefore named by what the network does, not by op.
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

export function stageOf(event) {
  const op = event.args.op_name;
  const name = event.name;
  if (op === 'Conv' || op === 'FusedConv') {
    const weight = event.args.input_type_shape?.[1]?.float ?? [];
    if (/_bn_nchwc_kernel_time$/.test(name) || (weight[1] === 1 && weight[2] === 1 && weight[3] === 1)) return 'BatchNorm + ReLU';
    const k = `${weight[2]}x${weight[3]}`;
    if (k === '3x3') return 'conv 3x3 (dense layers)';
    if (k === '1x1') return 'conv 1x1 (bottlenecks, transitions)';
    return `conv ${k} (stem)`;
  }
  if (op === 'BatchNormalization' || op === 'Relu') return 'BatchNorm + ReLU';
  if (op === 'Concat') return 'Concat';
  if (op === 'MaxPool' || op === 'AveragePool') return 'pooling';
  if (op === 'ReorderInput' || op === 'ReorderOutput') return 'layout (NCHWc reorder)';
  return 'head (GAP, linear, CAM)';
}

export const STAGES = [
  'conv 3x3 (dense layers)',
  'conv 1x1 (bottlenecks, transitions)',
  'conv 7x7 (stem)',
  'BatchNorm + ReLU',
  'Concat',
  'pooling',
  'layout (NCHWc reorder)',
  'head (GAP, linear, CAM)',
];

/** Milliseconds and node count per stage, plus the run's total and the summed kernels. */
export function byStage(trace) {
  const { ms, nodes } = lastRun(trace);
  const stages = {};
  for (const e of nodes) {
    const s = (stages[stageOf(e)] ??= { ms: 0, nodes: 0 });
    s.ms += e.dur / 1000;
    s.nodes++;
  }
  return { runMs: ms, kernelsMs: nodes.reduce((a, e) => a + e.dur / 1000, 0), stages };
}

/** The trace JSON inside onnxruntime-web's console output (a JSON array, possibly in pieces). */
export function traceFromConsole(text) {
  const start = text.indexOf('[');
  const end = text.lastIndexOf(']');
  if (start < 0 || end < start) throw new Error('no profile in the worker console output');
  return JSON.parse(text.slice(start, end + 1));
}
