/**
 * The per-stage profiles' pure parts: stages of onnxruntime's quantized ops and of TensorFlow.js's
 * kernels, the convolutions' kernel sizes read from the ONNX files, the side-by-side table.
 * Run: node --test test/bench/
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { DEMO_DIR } from './server.mjs';
import { convKernels } from './onnxGraph.mjs';
import { byStage, graphNodeOf, profileTable, stageOf, tfjsByStage, tfjsProfileFromConsole, tfjsStageOf } from './profile.mjs';

const require = createRequire(import.meta.url);
const INT8 = join(DEMO_DIR, 'model.int8.onnx');

const event = (op, name, shapes = []) => ({ name: `${name}_kernel_time`, args: { op_name: op, input_type_shape: shapes } });

test("names a QLinearConv's kernel from the graph where the trace leaves its pre-packed weight out", () => {
  const kernels = new Map([
    ['/features/conv0/Conv', '7x7'],
    ['/features/denseblock1/denselayer1/conv2/Conv', '3x3'],
  ]);
  const shapes = [{ uint8: [1, 56, 56, 128] }, { float: [] }, { uint8: [] }, { float: [32] }, { int8: [32] }, { float: [] }, { uint8: [] }];
  assert.equal(graphNodeOf('/features/conv0/Conv_token_869_kernel_time'), '/features/conv0/Conv');
  assert.equal(stageOf(event('QLinearConv', '/features/denseblock1/denselayer1/conv2/Conv_token_876', shapes), kernels), 'conv 3x3 (dense layers)');
  assert.equal(stageOf(event('QLinearConv', '/features/conv0/Conv_token_869', shapes), kernels), 'conv 7x7 (stem)');
  assert.equal(stageOf(event('QLinearConv', '/features/other/Conv', shapes), kernels), 'conv of unknown size');
  // Where the weight is in the trace (a QLinearConv that was not pre-packed), it wins.
  const withWeight = [...shapes.slice(0, 3), { int8: [32, 128, 1, 1] }];
  assert.equal(stageOf(event('QLinearConv', '/features/other/Conv', withWeight), kernels), 'conv 1x1 (bottlenecks, transitions)');
});

test('puts quantize/dequantize, channels-last pooling and transposes in their own stages', () => {
  assert.equal(stageOf(event('QuantizeLinear', 'input_QuantizeLinear')), 'quantize/dequantize');
  assert.equal(stageOf(event('DequantizeLinear', '/features/pool0/MaxPool_output_0_dq6')), 'quantize/dequantize');
  assert.equal(stageOf(event('NhwcMaxPool', '/features/pool0/MaxPool_token_1289')), 'pooling');
  assert.equal(stageOf(event('AveragePool', '/features/transition1/pool/AveragePool_output_0_nchwc')), 'pooling');
  assert.equal(stageOf(event('Transpose', 'Transpose_token_1290')), 'layout (reorder, transpose)');
  assert.equal(stageOf(event('ReorderInput', 'ReorderInput')), 'layout (reorder, transpose)');
  assert.equal(stageOf(event('Gemm', '/classifier/Gemm')), 'head (GAP, linear, CAM)');
  // The float model's stages are unchanged.
  assert.equal(stageOf(event('Conv', 'a_bn_nchwc', [{ float: [1, 128, 28, 28] }, { float: [128, 1, 1, 1] }])), 'BatchNorm + ReLU');
  assert.equal(stageOf(event('FusedConv', 'c', [{ float: [1, 128, 56, 56] }, { float: [32, 128, 3, 3] }])), 'conv 3x3 (dense layers)');
});

test("maps TensorFlow.js's kernels (HWIO filters, BatchNorm as a depthwise conv) to the same stages", () => {
  const k = (name, inputShapes = []) => ({ name, ms: 1, inputShapes, outputShapes: [] });
  assert.equal(tfjsStageOf(k('FusedConv2D', [[1, 56, 56, 128], [3, 3, 128, 32], [32]])), 'conv 3x3 (dense layers)');
  assert.equal(tfjsStageOf(k('FusedConv2D', [[1, 56, 56, 64], [1, 1, 64, 128], [128]])), 'conv 1x1 (bottlenecks, transitions)');
  assert.equal(tfjsStageOf(k('Conv2D', [[1, 224, 224, 3], [7, 7, 3, 64]])), 'conv 7x7 (stem)');
  assert.equal(tfjsStageOf(k('FusedDepthwiseConv2D', [[1, 56, 56, 64], [1, 1, 64, 1], [64]])), 'BatchNorm + ReLU');
  assert.equal(tfjsStageOf(k('Relu')), 'BatchNorm + ReLU');
  assert.equal(tfjsStageOf(k('Concat')), 'Concat');
  assert.equal(tfjsStageOf(k('MaxPool')), 'pooling');
  assert.equal(tfjsStageOf(k('AvgPool')), 'pooling');
  assert.equal(tfjsStageOf(k('Transpose')), 'layout (reorder, transpose)');
  assert.equal(tfjsStageOf(k('PadV2')), 'layout (reorder, transpose)');
  for (const head of ['Mean', 'BatchMatMul', 'Add', 'Div', 'Mul', 'Reshape']) assert.equal(tfjsStageOf(k(head)), 'head (GAP, linear, CAM)');
});

test("sums a TensorFlow.js profile by stage and reads the worker's last profile line", () => {
  const profile = {
    runMs: 10,
    kernels: [
      { name: 'FusedConv2D', ms: 2, inputShapes: [[1, 8, 8, 4], [3, 3, 4, 4]], outputShapes: [] },
      { name: 'FusedConv2D', ms: 3, inputShapes: [[1, 8, 8, 4], [3, 3, 4, 4]], outputShapes: [] },
      // The op scope around the second convolution: its time holds the kernel's, counted once.
      { name: 'fusedConv2d__op', ms: 3.1, inputShapes: [[1, 8, 8, 4], [3, 3, 4, 4]], outputShapes: [] },
      { name: 'Concat', ms: 1.5, inputShapes: [], outputShapes: [] },
    ],
  };
  assert.deepEqual(tfjsByStage(profile), { runMs: 10, kernelsMs: 6.5, stages: { 'conv 3x3 (dense layers)': { ms: 5, nodes: 2 }, Concat: { ms: 1.5, nodes: 1 } } });
  const lines = ['something else', `chestaid-tfjs-profile ${JSON.stringify({ runMs: 1, kernels: [] })}`, `chestaid-tfjs-profile ${JSON.stringify(profile)}`];
  assert.deepEqual(tfjsProfileFromConsole(lines), profile);
  assert.throws(() => tfjsProfileFromConsole(['[{"name":"model_run"}]']), /no TensorFlow\.js profile/);
});

test('tabulates every candidate beside onnxruntime-node fp32 at the same thread count', () => {
  const p = (conv, run) => ({ runMs: run, kernelsMs: conv, stages: { 'conv 3x3 (dense layers)': { ms: conv, nodes: 58 } } });
  const profile = { 'node fp32 1': p(10, 20), 'page tfjs 1': p(30, 50), 'node fp32 2': p(5, 10), 'page tfjs 2': p(20, 30), 'page int8 2': { error: 'no profile in the worker console output' } };
  const { lines, errors } = profileTable(profile);
  assert.equal(lines[0], '| stage | onnxruntime-node fp32 1t | page TF.js wasm 1t | onnxruntime-node fp32 2t | page TF.js wasm 2t |');
  assert.equal(lines[2], '| conv 3x3 (dense layers) | 10.0 | 30.0 (3.0x) | 5.0 | 20.0 (4.0x) |');
  assert.equal(lines.at(-1), '| whole run | 20.0 | 50.0 (2.5x) | 10.0 | 30.0 (3.0x) |');
  assert.deepEqual(errors, ['page wasm int8 2t: no profile in the worker console output']);
});

test("reads every convolution's kernel size from the demo model's int8 (QDQ) and float files", () => {
  for (const file of ['model.int8.onnx', 'model.onnx']) {
    const kernels = convKernels(readFileSync(join(DEMO_DIR, file)));
    const counts = {};
    for (const k of kernels.values()) counts[k] = (counts[k] ?? 0) + 1;
    // DenseNet-121: the 7x7 stem, 58 dense layers (1x1 then 3x3), 3 transitions (1x1).
    assert.deepEqual(counts, { '7x7': 1, '1x1': 61, '3x3': 58 }, file);
  }
});

test("reduces a real onnxruntime-node trace of the int8 model with every QLinearConv's kernel known", async () => {
  const ort = require('onnxruntime-node');
  const bytes = readFileSync(INT8);
  const dir = mkdtempSync(join(tmpdir(), 'chestaid-profile-test-'));
  try {
    const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, enableProfiling: true, profileFilePrefix: join(dir, 'p') });
    await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', new Float32Array(3 * 224 * 224), [1, 3, 224, 224]) });
    session.endProfiling();
    await session.release();
    const trace = JSON.parse(readFileSync(join(dir, readdirSync(dir).find(n => n.endsWith('.json'))), 'utf8'));
    const { stages } = byStage(trace, convKernels(bytes));
    assert.equal(stages['conv of unknown size'], undefined);
    assert.equal(stages['conv 3x3 (dense layers)'].nodes, 58);
    assert.equal(stages['conv 1x1 (bottlenecks, transitions)'].nodes, 61);
    assert.equal(stages['conv 7x7 (stem)'].nodes, 1);
    assert.ok(stages['quantize/dequantize'].nodes > 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
