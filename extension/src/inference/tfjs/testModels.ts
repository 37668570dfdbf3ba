/**
 * Tests only: small ONNX ModelProto files written with protobufjs's Writer, field numbers as in
 * onnx/onnx.proto, for the reader's and the network's refusals.
 */
import { Writer } from 'protobufjs/minimal';

export interface NodeSpec {
  readonly op: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly ints?: Readonly<Record<string, readonly number[]>>;
  readonly int?: Readonly<Record<string, number>>;
  readonly domain?: string;
}

export interface FloatTensorSpec {
  readonly name: string;
  /** float32 unless said; int64 is written as int64_data. */
  readonly type?: 'float' | 'int64';
  readonly dims: readonly number[];
  readonly values: readonly number[];
}

export interface ModelSpec {
  readonly opset?: number;
  readonly nodes: readonly NodeSpec[];
  readonly initializers?: readonly FloatTensorSpec[];
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
}

function message(field: number, write: (w: Writer) => void, into: Writer): void {
  into.uint32((field << 3) | 2).fork();
  write(into);
  into.ldelim();
}

export function writeModel(spec: ModelSpec): Uint8Array {
  const w = Writer.create();
  w.uint32((1 << 3) | 0).int64(8);
  message(8, m => m.uint32((2 << 3) | 0).int64(spec.opset ?? 17), w);
  message(
    7,
    g => {
      for (const node of spec.nodes) {
        message(
          1,
          n => {
            for (const i of node.inputs) n.uint32((1 << 3) | 2).string(i);
            for (const o of node.outputs) n.uint32((2 << 3) | 2).string(o);
            n.uint32((4 << 3) | 2).string(node.op);
            if (node.domain) n.uint32((7 << 3) | 2).string(node.domain);
            for (const [name, value] of Object.entries(node.int ?? {})) {
              message(
                5,
                a => {
                  a.uint32((1 << 3) | 2).string(name);
                  a.uint32((3 << 3) | 0).int64(value);
                  a.uint32((20 << 3) | 0).int32(2);
                },
                n,
              );
            }
            for (const [name, values] of Object.entries(node.ints ?? {})) {
              message(
                5,
                a => {
                  a.uint32((1 << 3) | 2).string(name);
                  for (const v of values) a.uint32((8 << 3) | 0).int64(v);
                  a.uint32((20 << 3) | 0).int32(7);
                },
                n,
              );
            }
          },
          g,
        );
      }
      for (const t of spec.initializers ?? []) {
        message(
          5,
          tw => {
            for (const d of t.dims) tw.uint32((1 << 3) | 0).int64(d);
            tw.uint32((2 << 3) | 0).int32(t.type === 'int64' ? 7 : 1);
            tw.uint32((8 << 3) | 2).string(t.name);
            if (t.type === 'int64') {
              for (const v of t.values) tw.uint32((7 << 3) | 0).int64(v);
            } else {
              tw.uint32((9 << 3) | 2).bytes(new Uint8Array(Float32Array.from(t.values).buffer));
            }
          },
          g,
        );
      }
      for (const name of spec.inputs) message(11, v => v.uint32((1 << 3) | 2).string(name), g);
      for (const name of spec.outputs) message(12, v => v.uint32((1 << 3) | 2).string(name), g);
    },
    w,
  );
  return w.finish();
}
