/**
 * The ONNX graph as TensorFlow.js ops: a small interpreter of exactly the operators the ChestAid
 * classifier uses (DenseNet-121 with Grad-CAM computed in the graph: Conv, BatchNormalization,
 * Relu, Concat, Pad, MaxPool, AveragePool, GlobalAveragePool, Flatten, Gemm, and the CAM's tail
 * Shape, Gather, Mul, Cast, Div, Einsum), with the weights read from the same ONNX file. Any
 * other operator, or an attribute value this file does not implement, is refused when the network
 * is built, naming the node, so a different graph fails loudly instead of computing something else.
 *
 * Layout: activations are kept NHWC (TensorFlow.js's and XNNPACK's native layout; its wasm
 * convolutions take no NCHW) and the input is transposed once. Every 4-D value that came from the
 * input is NHWC; ONNX axes and Shape answers are translated, so the graph reads as written.
 * Conv weights are transposed OIHW -> HWIO once when the network is built, and a Conv whose only
 * consumer is a Relu runs as one fused conv+bias+ReLU (XNNPACK fuses the clamp); so does a
 * BatchNormalization, as a 1 x 1 depthwise convolution.
 */
import * as tf from '@tensorflow/tfjs-core';

import { DataType, type AttributeValue, type OnnxModel, type OnnxNode, type OnnxTensor } from './onnxModel';

export class UnsupportedGraphError extends Error {
  constructor(node: OnnxNode | null, message: string) {
    super(node ? `node ${JSON.stringify(node.name || node.outputs[0])} (${node.opType}): ${message}` : message);
    this.name = 'UnsupportedGraphError';
  }
}

/** A value small enough to compute on the host: shapes, indices and their arithmetic. */
interface HostValue {
  readonly host: true;
  readonly dims: readonly number[];
  readonly data: readonly number[];
  readonly float: boolean;
}

/** A tensor in the engine; `nhwc` marks a 4-D activation stored channels-last. */
interface DeviceValue {
  readonly host: false;
  readonly tensor: tf.Tensor;
  readonly nhwc: boolean;
}

type Value = HostValue | DeviceValue;

type Values = Map<string, Value>;

/** One compiled node: reads its inputs from `values`, writes its outputs there. */
interface Step {
  readonly node: OnnxNode;
  readonly run: (values: Values) => void;
  /** Values this step reads, for freeing each after its last reader. */
  readonly reads: readonly string[];
  readonly writes: readonly string[];
}

/** NCHW axis -> NHWC axis. */
const NHWC_AXIS = [0, 3, 1, 2];

function ints(node: OnnxNode, key: string, fallback: readonly number[]): readonly number[] {
  const value = node.attributes.get(key);
  if (value === undefined) return fallback;
  if (!Array.isArray(value)) throw new UnsupportedGraphError(node, `attribute ${key} is not a list of ints`);
  return value as readonly number[];
}

function int(node: OnnxNode, key: string, fallback: number): number {
  const value = node.attributes.get(key);
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw new UnsupportedGraphError(node, `attribute ${key} is not a number`);
  return value;
}

function attr(node: OnnxNode, key: string): AttributeValue | undefined {
  return node.attributes.get(key);
}

function expect(node: OnnxNode, ok: boolean, what: string): void {
  if (!ok) throw new UnsupportedGraphError(node, what);
}

function device(node: OnnxNode, value: Value | undefined, which: string): DeviceValue {
  if (!value) throw new UnsupportedGraphError(node, `input ${which} has no value`);
  if (value.host) {
    return { host: false, tensor: value.float ? tf.tensor(value.data as number[], value.dims as number[], 'float32') : tf.tensor(value.data as number[], value.dims as number[], 'int32'), nhwc: false };
  }
  return value;
}

function host(node: OnnxNode, value: Value | undefined, which: string): HostValue {
  if (!value || !value.host) throw new UnsupportedGraphError(node, `input ${which} must be known without running the network (a shape or a constant)`);
  return value;
}

function hostOf(tensor: OnnxTensor): HostValue {
  return { host: true, dims: tensor.dims, data: Array.from(tensor.data), float: tensor.dataType === DataType.FLOAT };
}

/** Weights live for the network's lifetime; `keep` collects them for dispose(). */
class Weights {
  readonly kept: tf.Tensor[] = [];
  constructor(private model: OnnxModel | null) {}

  /** Once built, the file's weights live in the engine only: the parsed copy (28 MB here) can go. */
  forgetModel(): void {
    this.model = null;
  }

  raw(node: OnnxNode, name: string): OnnxTensor {
    if (!this.model) throw new UnsupportedGraphError(node, 'the network is built already');
    const tensor = this.model.initializers.get(name);
    if (!tensor) throw new UnsupportedGraphError(node, `input ${name} must be an initializer (a weight in the file)`);
    if (!(tensor.data instanceof Float32Array)) throw new UnsupportedGraphError(node, `weight ${name} is not float32`);
    return tensor;
  }

  keep<T extends tf.Tensor>(tensor: T): T {
    this.kept.push(tensor);
    return tensor;
  }

  /** A float weight as it is in the file. */
  tensor(node: OnnxNode, name: string): tf.Tensor {
    const raw = this.raw(node, name);
    return this.keep(tf.tensor(raw.data as Float32Array, raw.dims as number[], 'float32'));
  }
}

function symmetricPairs(pads: readonly number[]): [[number, number], [number, number]] {
  // ONNX pads: [top, left, bottom, right].
  return [
    [pads[0], pads[2]],
    [pads[1], pads[3]],
  ];
}

function compileConv(node: OnnxNode, weights: Weights, fuseRelu: boolean): Step['run'] {
  expect(node, int(node, 'group', 1) === 1, 'only group = 1 convolutions are implemented');
  expect(node, ints(node, 'dilations', [1, 1]).every(d => d === 1), 'only dilation 1 is implemented');
  const autoPad = attr(node, 'auto_pad');
  expect(node, autoPad === undefined || autoPad === 'NOTSET', `auto_pad ${String(autoPad)} is not implemented`);
  const raw = weights.raw(node, node.inputs[1]);
  expect(node, raw.dims.length === 4, `weight ${node.inputs[1]} is not 4-D`);
  const [outC, inC, kh, kw] = raw.dims;
  expect(node, ints(node, 'kernel_shape', [kh, kw]).join() === `${kh},${kw}`, 'kernel_shape disagrees with the weight');
  const oihw = tf.tensor4d(raw.data as Float32Array, [outC, inC, kh, kw]);
  const filter = weights.keep(tf.transpose(oihw, [2, 3, 1, 0]) as tf.Tensor4D);
  oihw.dispose();
  const bias = node.inputs[2] ? (weights.tensor(node, node.inputs[2]) as tf.Tensor1D) : undefined;
  const strides = ints(node, 'strides', [1, 1]) as [number, number];
  const [padH, padW] = symmetricPairs(ints(node, 'pads', [0, 0, 0, 0]));
  const pad: tf.backend_util.ExplicitPadding = [[0, 0], padH, padW, [0, 0]];
  const [input] = node.inputs;
  const output = node.outputs[0];
  return values => {
    const x = device(node, values.get(input), input);
    expect(node, x.nhwc, 'the input is not an image-shaped activation');
    const y = tf.fused.conv2d({ x: x.tensor as tf.Tensor4D, filter, strides, pad, bias, activation: fuseRelu ? 'relu' : 'linear' });
    values.set(output, { host: false, tensor: y, nhwc: true });
  };
}

function compileBatchNorm(node: OnnxNode, weights: Weights, fuseRelu: boolean): Step['run'] {
  expect(node, int(node, 'training_mode', 0) === 0, 'training_mode is not implemented');
  const epsilon = attr(node, 'epsilon') ?? 1e-5;
  expect(node, typeof epsilon === 'number', 'epsilon is not a number');
  const [input, scaleName, offsetName, meanName, varianceName] = node.inputs;
  const [scale, offset, mean, variance] = [scaleName, offsetName, meanName, varianceName].map(name => weights.raw(node, name).data as Float32Array);
  // y = x * s + t with s = scale / sqrt(var + eps), t = offset - mean * s (in double, then float32),
  // run as a 1 x 1 depthwise convolution: XNNPACK applies it and the ReLU after it in one pass,
  // where tf.batchNorm and tf.relu were two passes of the backend's plain loops (17 % of a run).
  const channels = scale.length;
  const s = new Float32Array(channels);
  const t = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    const k = scale[c] / Math.sqrt(variance[c] + (epsilon as number));
    s[c] = k;
    t[c] = offset[c] - mean[c] * k;
  }
  const filter = weights.keep(tf.tensor4d(s, [1, 1, channels, 1]));
  const bias = weights.keep(tf.tensor1d(t));
  const output = node.outputs[0];
  return values => {
    const x = device(node, values.get(input), input);
    expect(node, x.nhwc, 'only channel-wise normalisation of an activation is implemented');
    const y = tf.fused.depthwiseConv2d({ x: x.tensor as tf.Tensor4D, filter, strides: 1, pad: 'valid', bias, activation: fuseRelu ? 'relu' : 'linear' });
    values.set(output, { host: false, tensor: y, nhwc: true });
  };
}

function compilePool(node: OnnxNode, kind: 'max' | 'avg'): Step['run'] {
  expect(node, int(node, 'ceil_mode', 0) === 0, 'ceil_mode 1 is not implemented');
  expect(node, ints(node, 'dilations', [1, 1]).every(d => d === 1), 'only dilation 1 is implemented');
  const kernel = ints(node, 'kernel_shape', []) as [number, number];
  expect(node, kernel.length === 2, 'kernel_shape must name two axes');
  const strides = ints(node, 'strides', [1, 1]) as [number, number];
  const pads = ints(node, 'pads', [0, 0, 0, 0]);
  // Average pooling over a padded border depends on count_include_pad; this graph pads with an
  // explicit Pad node instead, so only unpadded average pools are implemented.
  expect(node, kind === 'max' || pads.every(p => p === 0), 'average pooling with pads is not implemented');
  const [padH, padW] = symmetricPairs(pads);
  const [input] = node.inputs;
  const output = node.outputs[0];
  return values => {
    const x = device(node, values.get(input), input);
    expect(node, x.nhwc, 'the input is not an image-shaped activation');
    const x4 = x.tensor as tf.Tensor4D;
    let y: tf.Tensor4D;
    if (kind === 'max') {
      // Padded cells never win a max (ONNX pads MaxPool with -inf); explicit padding does the same.
      y = pads.every(p => p === 0) ? tf.maxPool(x4, kernel, strides, 'valid') : tf.maxPool(x4, kernel, strides, [[0, 0], padH, padW, [0, 0]]);
    } else {
      y = tf.avgPool(x4, kernel, strides, 'valid');
    }
    values.set(output, { host: false, tensor: y, nhwc: true });
  };
}

function compilePad(node: OnnxNode): Step['run'] {
  const mode = attr(node, 'mode') ?? 'constant';
  expect(node, mode === 'constant', `pad mode ${String(mode)} is not implemented`);
  const [input, padsName, constantName] = node.inputs;
  const output = node.outputs[0];
  return values => {
    const x = device(node, values.get(input), input);
    const pads = host(node, values.get(padsName), padsName).data;
    const value = constantName ? host(node, values.get(constantName), constantName).data[0] ?? 0 : 0;
    const rank = x.tensor.rank;
    expect(node, pads.length === 2 * rank, `pads holds ${pads.length} values for a rank-${rank} input`);
    if (pads.every(p => p === 0)) {
      // Identity: share the tensor (a clone costs nothing in TensorFlow.js but keeps ownership clear).
      values.set(output, { host: false, tensor: tf.clone(x.tensor), nhwc: x.nhwc });
      return;
    }
    expect(node, pads.every(p => p >= 0), 'negative pads (cropping) are not implemented');
    const pairs: [number, number][] = [];
    for (let axis = 0; axis < rank; axis++) pairs.push([pads[axis], pads[axis + rank]]);
    const ordered = x.nhwc ? [pairs[0], pairs[2], pairs[3], pairs[1]] : pairs;
    values.set(output, { host: false, tensor: tf.pad(x.tensor, ordered, value), nhwc: x.nhwc });
  };
}

function compileGemm(node: OnnxNode, weights: Weights): Step['run'] {
  expect(node, int(node, 'transA', 0) === 0, 'transA is not implemented');
  const alpha = attr(node, 'alpha') ?? 1;
  const beta = attr(node, 'beta') ?? 1;
  expect(node, alpha === 1 && beta === 1, 'only alpha = beta = 1 is implemented');
  const transB = int(node, 'transB', 0) === 1;
  const [input, b, c] = node.inputs;
  const weight = weights.tensor(node, b) as tf.Tensor2D;
  const bias = c ? weights.tensor(node, c) : undefined;
  const output = node.outputs[0];
  return values => {
    const x = device(node, values.get(input), input);
    expect(node, x.tensor.rank === 2 && !x.nhwc, 'the input must be a matrix');
    // Not tf.fused.matMul's bias: on the wasm backend 4.22 it added the [1] bias 22 times over
    // (the logit 21 x bias off onnxruntime's); a separate add broadcasts as Gemm means it.
    const product = tf.matMul(x.tensor as tf.Tensor2D, weight, false, transB);
    values.set(output, { host: false, tensor: bias ? tf.add(product, bias) : product, nhwc: false });
  };
}

/** 'k,nkhw->nhw': a weighted sum over channels (the Grad-CAM map), the only equation implemented. */
function compileEinsum(node: OnnxNode): Step['run'] {
  const equation = String(attr(node, 'equation') ?? '').replace(/\s/g, '');
  expect(node, equation === 'k,nkhw->nhw', `equation ${JSON.stringify(equation)} is not implemented (only k,nkhw->nhw)`);
  const [weightsName, mapsName] = node.inputs;
  const output = node.outputs[0];
  return values => {
    const k = device(node, values.get(weightsName), weightsName);
    const maps = device(node, values.get(mapsName), mapsName);
    expect(node, maps.nhwc && k.tensor.rank === 1, 'expects channel weights and an activation');
    const [n, h, w, c] = maps.tensor.shape;
    const sum = tf.matMul(tf.reshape(maps.tensor, [n * h * w, c]) as tf.Tensor2D, tf.reshape(k.tensor, [c, 1]) as tf.Tensor2D);
    values.set(output, { host: false, tensor: tf.reshape(sum, [n, h, w]), nhwc: false });
  };
}

type HostOp = (a: number, b: number) => number;
const BINARY: Record<string, { host: HostOp; device: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor }> = {
  Mul: { host: (a, b) => a * b, device: tf.mul },
  Div: { host: (a, b) => a / b, device: tf.div },
};

function compileBinary(node: OnnxNode): Step['run'] {
  const op = BINARY[node.opType];
  const [a, b] = node.inputs;
  const output = node.outputs[0];
  return values => {
    const va = values.get(a);
    const vb = values.get(b);
    if (va?.host && vb?.host) {
      // Scalars and same-shaped vectors only: what shape arithmetic needs.
      const scalarB = vb.data.length === 1;
      expect(node, scalarB || va.data.length === vb.data.length, 'host broadcasting beyond a scalar is not implemented');
      const data = va.data.map((x, i) => op.host(x, vb.data[scalarB ? 0 : i]));
      const float = va.float || vb.float;
      values.set(output, { host: true, dims: va.dims, data: float ? data : data.map(Math.trunc), float });
      return;
    }
    const da = device(node, va, a);
    const db = device(node, vb, b);
    expect(node, !da.nhwc && !db.nhwc, 'elementwise ops on activations are not implemented');
    values.set(output, { host: false, tensor: op.device(da.tensor, db.tensor), nhwc: false });
  };
}

function compileNode(node: OnnxNode, weights: Weights, fuseRelu: boolean): Step['run'] {
  const [input] = node.inputs;
  const output = node.outputs[0];
  switch (node.opType) {
    case 'Conv':
      return compileConv(node, weights, fuseRelu);
    case 'BatchNormalization':
      return compileBatchNorm(node, weights, fuseRelu);
    case 'Relu':
      return values => {
        const x = device(node, values.get(input), input);
        values.set(output, { host: false, tensor: tf.relu(x.tensor), nhwc: x.nhwc });
      };
    case 'Concat': {
      const axis = int(node, 'axis', 1);
      return values => {
        const parts = node.inputs.map(name => device(node, values.get(name), name));
        const nhwc = parts[0].nhwc;
        expect(node, parts.every(p => p.nhwc === nhwc), 'mixes activations with other tensors');
        const rank = parts[0].tensor.rank;
        const onnxAxis = axis < 0 ? axis + rank : axis;
        values.set(output, { host: false, tensor: tf.concat(parts.map(p => p.tensor), nhwc ? NHWC_AXIS[onnxAxis] : onnxAxis), nhwc });
      };
    }
    case 'Pad':
      return compilePad(node);
    case 'MaxPool':
      return compilePool(node, 'max');
    case 'AveragePool':
      return compilePool(node, 'avg');
    case 'GlobalAveragePool':
      return values => {
        const x = device(node, values.get(input), input);
        expect(node, x.nhwc, 'the input is not an image-shaped activation');
        values.set(output, { host: false, tensor: tf.mean(x.tensor, [1, 2], true), nhwc: true });
      };
    case 'Flatten': {
      const axis = int(node, 'axis', 1);
      expect(node, axis === 1, 'only axis = 1 is implemented');
      return values => {
        const x = device(node, values.get(input), input);
        // Flatten reads NCHW order; an NHWC activation is put back in that order first.
        const nchw = x.nhwc ? tf.transpose(x.tensor, [0, 3, 1, 2]) : x.tensor;
        values.set(output, { host: false, tensor: tf.reshape(nchw, [nchw.shape[0], -1]), nhwc: false });
        if (nchw !== x.tensor) nchw.dispose();
      };
    }
    case 'Gemm':
      return compileGemm(node, weights);
    case 'Constant': {
      const value = attr(node, 'value');
      expect(node, typeof value === 'object' && value !== null && !Array.isArray(value), 'only tensor-valued constants are implemented');
      const constant = hostOf(value as OnnxTensor);
      return values => values.set(output, constant);
    }
    case 'Shape':
      return values => {
        const x = values.get(input);
        expect(node, x !== undefined && !x.host, 'the input has no tensor');
        const shape: readonly number[] = (x as DeviceValue).tensor.shape;
        const onnxShape = (x as DeviceValue).nhwc ? NHWC_AXIS.map((_, onnxAxis) => shape[NHWC_AXIS[onnxAxis]]) : shape;
        values.set(output, { host: true, dims: [onnxShape.length], data: onnxShape, float: false });
      };
    case 'Gather': {
      const axis = int(node, 'axis', 0);
      expect(node, axis === 0, 'only axis 0 is implemented');
      const indicesName = node.inputs[1];
      return values => {
        const data = host(node, values.get(input), input);
        const indices = host(node, values.get(indicesName), indicesName);
        expect(node, data.dims.length === 1, 'only gathering from a vector (a shape) is implemented');
        const picked = indices.data.map(i => data.data[i < 0 ? i + data.data.length : i]);
        expect(node, picked.every(v => v !== undefined), 'an index is out of range');
        values.set(output, { host: true, dims: indices.dims, data: picked, float: data.float });
      };
    }
    case 'Cast': {
      const to = int(node, 'to', 0);
      expect(node, to === DataType.FLOAT, 'only casts to float32 are implemented');
      return values => {
        const x = values.get(input);
        if (x?.host) values.set(output, { ...x, float: true });
        else values.set(output, { host: false, tensor: tf.cast(device(node, x, input).tensor, 'float32'), nhwc: false });
      };
    }
    case 'Mul':
    case 'Div':
      return compileBinary(node);
    case 'Einsum':
      return compileEinsum(node);
    default:
      throw new UnsupportedGraphError(node, 'this operator is not implemented by the TensorFlow.js engine');
  }
}

export interface NetworkOutputs {
  readonly [name: string]: { readonly data: Float32Array; readonly dims: readonly number[] };
}

/**
 * The compiled graph. Built once per model (weights uploaded to the engine then), run any number
 * of times, disposed at the end.
 */
export class Network {
  private readonly steps: Step[] = [];
  private readonly weights: Weights;
  /** For each step, the values whose last reader it is (freed after it runs). */
  private readonly lastUse: string[][] = [];
  /** Initializers read as plain operands (the CAM's channel weights), seeded into every run. */
  private readonly constants = new Map<string, Value>();
  readonly inputName: string;
  readonly outputNames: readonly string[];
  /** [1, C, H, W] as the graph declares its input, or null where it leaves C, H or W symbolic. */
  readonly inputDims: number[] | null;

  constructor(model: OnnxModel) {
    const opset = model.opsets.get('') ?? model.opsets.get('ai.onnx');
    if (opset === undefined || opset < 13 || opset > 21) {
      throw new UnsupportedGraphError(null, `the graph imports ONNX opset ${String(opset)}; this engine implements opsets 13 to 21 of the operators it knows`);
    }
    if (model.inputs.length !== 1) throw new UnsupportedGraphError(null, `the graph has ${model.inputs.length} inputs; one image input is expected`);
    this.inputName = model.inputs[0];
    this.outputNames = model.outputs;
    const declared = model.inputShapes.get(this.inputName)?.slice(1);
    this.inputDims = declared?.length === 3 && declared.every(d => typeof d === 'number' && d > 0) ? [1, ...(declared as number[])] : null;
    this.weights = new Weights(model);

    const readers = new Map<string, number>();
    for (const node of model.nodes) for (const name of node.inputs) readers.set(name, (readers.get(name) ?? 0) + 1);
    const fused = new Set<OnnxNode>();
    const WEIGHT_READERS = new Set(['Conv', 'BatchNormalization', 'Gemm']);
    try {
      for (const node of model.nodes) {
        if (WEIGHT_READERS.has(node.opType)) continue;
        for (const name of node.inputs) {
          const tensor = model.initializers.get(name);
          if (!tensor || this.constants.has(name)) continue;
          this.constants.set(
            name,
            tensor.dataType === DataType.FLOAT
              ? { host: false, tensor: this.weights.keep(tf.tensor(tensor.data as Float32Array, tensor.dims as number[], 'float32')), nhwc: false }
              : hostOf(tensor),
          );
        }
      }
      for (const node of model.nodes) {
        if (node.domain !== '' && node.domain !== 'ai.onnx') throw new UnsupportedGraphError(node, `domain ${node.domain} is not implemented`);
        if (fused.has(node)) continue;
        const out = node.outputs[0];
        // A Conv or BatchNormalization read only by a Relu (and not a graph output) runs fused with it.
        const reluAfter =
          (node.opType === 'Conv' || node.opType === 'BatchNormalization') && readers.get(out) === 1 && !model.outputs.includes(out)
            ? model.nodes.find(n => n.opType === 'Relu' && n.inputs[0] === out)
            : undefined;
        if (reluAfter) {
          fused.add(reluAfter);
          const run = compileNode(node, this.weights, true);
          const relu = reluAfter.outputs[0];
          this.steps.push({
            node,
            reads: node.inputs.filter(n => !model.initializers.has(n)),
            writes: [relu],
            run: values => {
              run(values);
              values.set(relu, values.get(out)!);
              values.delete(out);
            },
          });
        } else {
          this.steps.push({ node, run: compileNode(node, this.weights, false), reads: node.inputs.filter(n => n !== '' && !model.initializers.has(n)), writes: node.outputs });
        }
      }
    } catch (error) {
      this.dispose();
      throw error;
    }
    this.weights.forgetModel();
    // Each value is freed after the last step that reads it; graph outputs are kept for the caller.
    const last = new Map<string, number>();
    this.steps.forEach((step, i) => step.reads.forEach(name => last.set(name, i)));
    this.lastUse = this.steps.map(() => []);
    for (const [name, i] of last) if (!model.outputs.includes(name) && name !== this.inputName) this.lastUse[i].push(name);
  }

  /** Runs the graph on one NCHW float32 input; the outputs come back as plain arrays. */
  async run(input: Float32Array, dims: readonly number[]): Promise<NetworkOutputs> {
    if (dims.length !== 4) throw new RangeError(`the input must be NCHW, got dims ${JSON.stringify(dims)}`);
    const results = tf.tidy(() => {
      const values: Values = new Map(this.constants);
      const nchw = tf.tensor4d(input, dims as [number, number, number, number]);
      values.set(this.inputName, { host: false, tensor: tf.transpose(nchw, [0, 2, 3, 1]), nhwc: true });
      this.steps.forEach((step, i) => {
        step.run(values);
        for (const name of this.lastUse[i]) {
          const value = values.get(name);
          if (value && !value.host) value.tensor.dispose();
          values.delete(name);
        }
      });
      return this.outputNames.map(name => {
        const value = values.get(name);
        if (!value) throw new UnsupportedGraphError(null, `the graph computed no value for output ${name}`);
        if (value.host) return tf.tensor(value.data as number[], value.dims as number[], 'float32');
        return value.nhwc ? tf.transpose(value.tensor, [0, 3, 1, 2]) : value.tensor;
      });
    });
    try {
      const out: Record<string, { data: Float32Array; dims: readonly number[] }> = {};
      for (let i = 0; i < results.length; i++) {
        const data = await results[i].data();
        if (!(data instanceof Float32Array)) throw new UnsupportedGraphError(null, `output ${this.outputNames[i]} is not float32`);
        out[this.outputNames[i]] = { data, dims: results[i].shape };
      }
      return out;
    } finally {
      for (const t of results) t.dispose();
    }
  }

  dispose(): void {
    for (const t of this.weights.kept) t.dispose();
    this.weights.kept.length = 0;
  }
}
