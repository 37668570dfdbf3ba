/**
 * The kernel size of each convolution in an ONNX file, by node name, for the per-stage profiles
 * (profile.mjs). onnxruntime's trace gives a float Conv's weight shape, but not a QLinearConv's:
 * onnxruntime-node pre-packs the int8 weight and leaves it out of the node's inputs, so the int8
 * model's convolutions are named by the graph they came from. Reads only the fields it needs
 * (ModelProto.graph; GraphProto.node, .initializer; NodeProto input, output, name, op_type; TensorProto
 * dims, name) with protobufjs's reader, as the TensorFlow.js engine reads the file (onnxModel.ts).
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Reader } = require('protobufjs/minimal');

function readNode(reader, end) {
  const node = { inputs: [], outputs: [], name: '', opType: '' };
  while (reader.pos < end) {
    const tag = reader.uint32();
    const field = tag >>> 3;
    if (field === 1) node.inputs.push(reader.string());
    else if (field === 2) node.outputs.push(reader.string());
    else if (field === 3) node.name = reader.string();
    else if (field === 4) node.opType = reader.string();
    else reader.skipType(tag & 7);
  }
  return node;
}

function readTensorHeader(reader, end) {
  const tensor = { dims: [], name: '' };
  while (reader.pos < end) {
    const tag = reader.uint32();
    const field = tag >>> 3;
    if (field === 1 && (tag & 7) === 2) {
      const stop = reader.uint32() + reader.pos;
      while (reader.pos < stop) tensor.dims.push(Number(reader.int64()));
    } else if (field === 1) tensor.dims.push(Number(reader.int64()));
    else if (field === 8) tensor.name = reader.string();
    else reader.skipType(tag & 7);
  }
  return tensor;
}

/** Nodes and initializer shapes of the file's main graph. */
export function readGraph(bytes) {
  const reader = Reader.create(bytes);
  const nodes = [];
  const shapes = new Map();
  let graphs = 0;
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag >>> 3 !== 7) {
      reader.skipType(tag & 7);
      continue;
    }
    graphs++;
    const end = reader.uint32() + reader.pos;
    while (reader.pos < end) {
      const inner = reader.uint32();
      const field = inner >>> 3;
      if (field === 1) nodes.push(readNode(reader, reader.uint32() + reader.pos));
      else if (field === 5) {
        const tensor = readTensorHeader(reader, reader.uint32() + reader.pos);
        shapes.set(tensor.name, tensor.dims);
      } else reader.skipType(inner & 7);
    }
  }
  if (graphs !== 1) throw new Error(`expected one graph in the ONNX file, found ${graphs}`);
  return { nodes, shapes };
}

/**
 * Conv and QLinearConv node name -> `${kh}x${kw}`, the weight found through a DequantizeLinear
 * (QDQ models) where the Conv does not read an initializer itself.
 */
export function convKernels(bytes) {
  const { nodes, shapes } = readGraph(bytes);
  const producer = new Map();
  for (const node of nodes) for (const output of node.outputs) producer.set(output, node);
  const kernels = new Map();
  for (const node of nodes) {
    const weight = node.opType === 'Conv' ? node.inputs[1] : node.opType === 'QLinearConv' ? node.inputs[3] : null;
    if (!weight) continue;
    const from = producer.get(weight);
    const dims = shapes.get(weight) ?? (from?.opType === 'DequantizeLinear' ? shapes.get(from.inputs[0]) : undefined);
    if (dims?.length === 4) kernels.set(node.name, `${dims[2]}x${dims[3]}`);
  }
  return kernels;
}
