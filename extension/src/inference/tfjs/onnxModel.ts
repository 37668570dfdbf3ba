/**
 * The part of an ONNX ModelProto the second engine needs (graph nodes, attributes, float
 * initializers, inputs and outputs), read from the same verified bytes onnxruntime-web gets, so
 * the browser downloads, hashes and caches one model file whichever engine runs it.
 *
 * The wire format is read with protobufjs/minimal's Reader (already in the tree through
 * onnxruntime-web). Not protobufjs's reflection (onnx.proto loaded at run time): it compiles its
 * decoders with Function(), which the deployed Content-Security-Policy forbids (no
 * 'unsafe-eval', docs/deploying.md); and not the onnx-proto package, which pins protobufjs 6 and
 * was last published in 2021. Field numbers are those of onnx/onnx.proto (IR version 8+); unknown
 * fields are skipped, so newer files read as long as these fields keep their meaning.
 */
import { Reader } from 'protobufjs/minimal';

export type AttributeValue = number | string | readonly number[] | OnnxTensor;

export interface OnnxNode {
  readonly name: string;
  readonly opType: string;
  readonly domain: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes: ReadonlyMap<string, AttributeValue>;
}

/** A tensor's values: float32 as Float32Array, integer types as plain numbers (shapes, indices). */
export interface OnnxTensor {
  readonly name: string;
  readonly dims: readonly number[];
  readonly dataType: number;
  readonly data: Float32Array | readonly number[];
}

export interface OnnxModel {
  readonly irVersion: number;
  /** Opset version per domain ('' is the default ONNX domain). */
  readonly opsets: ReadonlyMap<string, number>;
  readonly nodes: readonly OnnxNode[];
  readonly initializers: ReadonlyMap<string, OnnxTensor>;
  /** Graph inputs that are not initializers, and graph outputs, by name. */
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  /** Declared shapes of the graph's inputs: a number per fixed dim, the parameter's name per symbolic one. */
  readonly inputShapes: ReadonlyMap<string, readonly (number | string)[]>;
}

/** TensorProto.DataType values this reader decodes. */
export const DataType = Object.freeze({ FLOAT: 1, INT32: 6, INT64: 7 });

const WIRE = Object.freeze({ VARINT: 0, LENGTH: 2 });

export class OnnxFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OnnxFormatError';
  }
}

/** Calls `field(number, wireType)` for each field of the message that ends at `end`. */
function eachField(reader: Reader, end: number, field: (no: number, wire: number) => void): void {
  while (reader.pos < end) {
    const tag = reader.uint32();
    const before = reader.pos;
    field(tag >>> 3, tag & 7);
    // A field the callback did not consume is skipped.
    if (reader.pos === before) reader.skipType(tag & 7);
  }
  if (reader.pos !== end) throw new OnnxFormatError(`a message overran its length (at byte ${reader.pos}, expected ${end})`);
}

function endOf(reader: Reader): number {
  const length = reader.uint32();
  const end = reader.pos + length;
  if (end > reader.len) throw new OnnxFormatError(`a field of ${length} bytes at byte ${reader.pos} runs past the end of the file (${reader.len} bytes)`);
  return end;
}

/** int64 as a JS number; ONNX dims and indices here are far below 2^53. */
function int64(reader: Reader): number {
  const value = reader.int64() as unknown as number | { toNumber(): number };
  return typeof value === 'number' ? value : value.toNumber();
}

/** A repeated int64 field, packed or not. */
function int64s(reader: Reader, wire: number, into: number[]): void {
  if (wire === WIRE.LENGTH) {
    const end = endOf(reader);
    while (reader.pos < end) into.push(int64(reader));
  } else {
    into.push(int64(reader));
  }
}

function floats(reader: Reader, wire: number, into: number[]): void {
  if (wire === WIRE.LENGTH) {
    const end = endOf(reader);
    while (reader.pos < end) into.push(reader.float());
  } else {
    into.push(reader.float());
  }
}

function littleEndianFloats(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.byteLength / 4);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

function littleEndianInts(bytes: Uint8Array, width: 4 | 8): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: number[] = [];
  for (let i = 0; i < bytes.byteLength; i += width) {
    out.push(width === 4 ? view.getInt32(i, true) : Number(view.getBigInt64(i, true)));
  }
  return out;
}

function readTensor(reader: Reader, end: number): OnnxTensor {
  const dims: number[] = [];
  let dataType = 0;
  let name = '';
  let raw: Uint8Array | null = null;
  const floatData: number[] = [];
  const intData: number[] = [];
  let external = false;
  eachField(reader, end, (no, wire) => {
    if (no === 1) int64s(reader, wire, dims);
    else if (no === 2) dataType = reader.int32();
    else if (no === 4) floats(reader, wire, floatData);
    else if (no === 5 || no === 7) int64s(reader, wire, intData); // int32_data, int64_data
    else if (no === 8) name = reader.string();
    else if (no === 9) raw = reader.bytes();
    else if (no === 14) external = reader.int32() === 1;
  });
  if (external) throw new OnnxFormatError(`tensor ${name} keeps its data in an external file; only self-contained models can be read`);
  const count = dims.reduce((a, b) => a * b, 1);
  let data: Float32Array | number[];
  if (dataType === DataType.FLOAT) {
    data = raw ? littleEndianFloats(raw) : Float32Array.from(floatData);
  } else if (dataType === DataType.INT64 || dataType === DataType.INT32) {
    data = raw ? littleEndianInts(raw, dataType === DataType.INT64 ? 8 : 4) : intData;
  } else {
    throw new OnnxFormatError(`tensor ${JSON.stringify(name)} has data type ${dataType}; this reader decodes float32, int32 and int64 only`);
  }
  if (data.length !== count) throw new OnnxFormatError(`tensor ${JSON.stringify(name)} holds ${data.length} values; its dims ${JSON.stringify(dims)} need ${count}`);
  return { name, dims, dataType, data };
}

function readAttribute(reader: Reader, end: number): [string, AttributeValue] {
  let name = '';
  let type = 0;
  let f = 0;
  let i = 0;
  let s = '';
  let t: OnnxTensor | null = null;
  const fs: number[] = [];
  const is: number[] = [];
  eachField(reader, end, (no, wire) => {
    if (no === 1) name = reader.string();
    else if (no === 2) f = reader.float();
    else if (no === 3) i = int64(reader);
    else if (no === 4) s = reader.string();
    else if (no === 5) t = readTensor(reader, endOf(reader));
    else if (no === 7) floats(reader, wire, fs);
    else if (no === 8) int64s(reader, wire, is);
    else if (no === 20) type = reader.int32();
  });
  // AttributeProto.AttributeType: FLOAT 1, INT 2, STRING 3, TENSOR 4, FLOATS 6, INTS 7.
  const byType: Record<number, AttributeValue | null> = { 1: f, 2: i, 3: s, 4: t, 6: fs, 7: is };
  const value = byType[type];
  if (value === undefined || value === null) throw new OnnxFormatError(`attribute ${JSON.stringify(name)} has type ${type}, which this reader does not decode`);
  return [name, value];
}

function readNode(reader: Reader, end: number): OnnxNode {
  const inputs: string[] = [];
  const outputs: string[] = [];
  const attributes = new Map<string, AttributeValue>();
  let name = '';
  let opType = '';
  let domain = '';
  eachField(reader, end, no => {
    if (no === 1) inputs.push(reader.string());
    else if (no === 2) outputs.push(reader.string());
    else if (no === 3) name = reader.string();
    else if (no === 4) opType = reader.string();
    else if (no === 7) domain = reader.string();
    else if (no === 5) {
      const [key, value] = readAttribute(reader, endOf(reader));
      attributes.set(key, value);
    }
  });
  return { name, opType, domain, inputs, outputs, attributes };
}

/** ValueInfoProto: its name, and its tensor shape where it declares one (type.tensor_type.shape.dim). */
function readValueInfo(reader: Reader, end: number): { name: string; shape: (number | string)[] | null } {
  let name = '';
  let shape: (number | string)[] | null = null;
  eachField(reader, end, no => {
    if (no === 1) name = reader.string();
    else if (no === 2) {
      eachField(reader, endOf(reader), typeField => {
        if (typeField !== 1) return;
        eachField(reader, endOf(reader), tensorField => {
          if (tensorField !== 2) return;
          shape = [];
          eachField(reader, endOf(reader), shapeField => {
            if (shapeField !== 1) return;
            let dim: number | string = '?';
            eachField(reader, endOf(reader), dimField => {
              if (dimField === 1) dim = int64(reader);
              else if (dimField === 2) dim = reader.string();
            });
            shape!.push(dim);
          });
        });
      });
    }
  });
  return { name, shape };
}

/** Parses a self-contained ONNX model (weights inside the file); throws OnnxFormatError on anything else. */
export function readOnnxModel(bytes: Uint8Array): OnnxModel {
  const reader = Reader.create(bytes);
  let irVersion = 0;
  const opsets = new Map<string, number>();
  const nodes: OnnxNode[] = [];
  const initializers = new Map<string, OnnxTensor>();
  const graphInputs: string[] = [];
  const inputShapes = new Map<string, (number | string)[]>();
  const outputs: string[] = [];
  let sawGraph = false;
  try {
    eachField(reader, reader.len, no => {
      if (no === 1) irVersion = int64(reader);
      else if (no === 8) {
        let domain = '';
        let version = 0;
        eachField(reader, endOf(reader), field => {
          if (field === 1) domain = reader.string();
          else if (field === 2) version = int64(reader);
        });
        opsets.set(domain, version);
      } else if (no === 7) {
        sawGraph = true;
        eachField(reader, endOf(reader), field => {
          if (field === 1) nodes.push(readNode(reader, endOf(reader)));
          else if (field === 5) {
            const tensor = readTensor(reader, endOf(reader));
            initializers.set(tensor.name, tensor);
          } else if (field === 11) {
            const { name, shape } = readValueInfo(reader, endOf(reader));
            graphInputs.push(name);
            if (shape) inputShapes.set(name, shape);
          } else if (field === 12) outputs.push(readValueInfo(reader, endOf(reader)).name);
        });
      }
    });
  } catch (error) {
    if (error instanceof OnnxFormatError) throw error;
    // protobufjs's RangeError ("index out of range") on truncated or foreign bytes.
    throw new OnnxFormatError(`not a readable ONNX model: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!sawGraph || nodes.length === 0) throw new OnnxFormatError('not an ONNX model: no graph with nodes in the file');
  return { irVersion, opsets, nodes, initializers, inputs: graphInputs.filter(n => !initializers.has(n)), outputs, inputShapes };
}
