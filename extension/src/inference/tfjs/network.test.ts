import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { parseReference } from '../reference';
import { TfjsClassifier } from './classifier';
import { Network, UnsupportedGraphError } from './network';
import { readOnnxModel } from './onnxModel';
import { startTfjs } from './runtime';
import { writeModel, type ModelSpec } from './testModels';

const REPO = resolve(__dirname, '../../../..');

beforeAll(() => startTfjs({ threads: 1 }), 60_000);

function build(spec: ModelSpec): Network {
  return new Network(readOnnxModel(writeModel(spec)));
}

describe('the tiny DenseNet (test/fixtures/tiny, same operators as the demo model)', () => {
  it("reproduces PyTorch's logit and CAM within the reference file's tolerances", async () => {
    const json = JSON.parse(readFileSync(resolve(REPO, 'test/fixtures/tiny/tiny.json'), 'utf8'));
    const bytes = readFileSync(resolve(REPO, 'test/fixtures/tiny/tiny.onnx'));
    const ref = parseReference(json, json.model.sha256, 'tiny.json');
    const classifier = TfjsClassifier.fromOnnx(bytes, { input: 'input', logit: 'logit', cam: 'cam' });
    try {
      const out = await classifier.run(ref.input, ref.dims);
      expect(Math.abs(out.logit - ref.logit)).toBeLessThanOrEqual(ref.tolerance.logit);
      expect(out.cam.length).toBe(ref.cam.length);
      out.cam.forEach((v, i) => expect(Math.abs(v - ref.cam[i])).toBeLessThanOrEqual(ref.tolerance.cam));
    } finally {
      classifier.dispose();
    }
  });

  it('names the missing output when the manifest asks for another name', () => {
    const bytes = readFileSync(resolve(REPO, 'test/fixtures/tiny/tiny.onnx'));
    expect(() => TfjsClassifier.fromOnnx(bytes, { input: 'input', logit: 'score', cam: 'cam' })).toThrow(/no output score/);
  });
});

describe('layout: NCHW in the graph, NHWC in the engine', () => {
  const x = Float32Array.from({ length: 8 }, (_, i) => i - 3); // [1, 2, 2, 2], NCHW

  it('concatenates on ONNX axis 1 (channels) and hands outputs back in NCHW', async () => {
    const net = build({
      nodes: [
        { op: 'Relu', inputs: ['x'], outputs: ['r'] },
        { op: 'Concat', inputs: ['x', 'r'], outputs: ['y'], int: { axis: 1 } },
      ],
      inputs: ['x'],
      outputs: ['y'],
    });
    try {
      const { y } = await net.run(x, [1, 2, 2, 2]);
      expect(y.dims).toEqual([1, 4, 2, 2]);
      expect(Array.from(y.data)).toEqual([-3, -2, -1, 0, 1, 2, 3, 4, 0, 0, 0, 0, 1, 2, 3, 4]);
    } finally {
      net.dispose();
    }
  });

  it('pads H and W as ONNX orders the pads (all begins, then all ends) and reports the NCHW shape', async () => {
    const net = build({
      nodes: [
        { op: 'Pad', inputs: ['x', 'pads'], outputs: ['y'] },
        { op: 'Shape', inputs: ['y'], outputs: ['s'] },
        { op: 'Cast', inputs: ['s'], outputs: ['shape'], int: { to: 1 } },
      ],
      // [n, c, h, w] begins, then ends: one row above, one column right.
      initializers: [{ name: 'pads', type: 'int64', dims: [8], values: [0, 0, 1, 0, 0, 0, 0, 1] }],
      inputs: ['x'],
      outputs: ['y', 'shape'],
    });
    try {
      const { y, shape } = await net.run(x, [1, 2, 2, 2]);
      expect(Array.from(shape.data)).toEqual([1, 2, 3, 3]);
      expect(Array.from(y.data)).toEqual([0, 0, 0, -3, -2, 0, -1, 0, 0, 0, 0, 0, 1, 2, 0, 3, 4, 0]);
    } finally {
      net.dispose();
    }
  });
});

describe('refusals', () => {
  const relu = { op: 'Relu', inputs: ['x'], outputs: ['y'] };

  it('refuses an operator it does not implement, naming the node', () => {
    expect(() => build({ nodes: [{ op: 'Softmax', inputs: ['x'], outputs: ['y'] }], inputs: ['x'], outputs: ['y'] })).toThrow(
      /node "y" \(Softmax\): this operator is not implemented/,
    );
  });

  it('refuses a grouped convolution instead of computing a dense one', () => {
    const spec: ModelSpec = {
      nodes: [{ op: 'Conv', inputs: ['x', 'w'], outputs: ['y'], ints: { group: [2] } }],
      initializers: [{ name: 'w', dims: [2, 1, 1, 1], values: [1, 1] }],
      inputs: ['x'],
      outputs: ['y'],
    };
    expect(() => build(spec)).toThrow(UnsupportedGraphError);
  });

  it('refuses an opset outside 13-21 and a graph with two inputs', () => {
    expect(() => build({ opset: 11, nodes: [relu], inputs: ['x'], outputs: ['y'] })).toThrow(/opset 11/);
    expect(() => build({ nodes: [relu], inputs: ['x', 'z'], outputs: ['y'] })).toThrow(/2 inputs/);
  });
});
