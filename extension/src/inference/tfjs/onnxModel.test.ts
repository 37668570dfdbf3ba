import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { DataType, OnnxFormatError, readOnnxModel } from './onnxModel';
import { writeModel } from './testModels';

const REPO = resolve(__dirname, '../../../..');

describe('readOnnxModel', () => {
  it('reads the demo model: opset, the one image input, both outputs and every float weight', () => {
    const model = readOnnxModel(readFileSync(resolve(REPO, 'models/chestaid-demo/model.onnx')));
    expect(model.opsets.get('')).toBe(17);
    expect(model.inputs).toEqual(['input']);
    expect(model.outputs).toEqual(['logit', 'cam']);
    // DenseNet-121: 120 convolutions, one classifier.
    expect(model.nodes.filter(n => n.opType === 'Conv')).toHaveLength(120);
    const classifier = model.initializers.get('classifier.weight')!;
    expect(classifier.dims).toEqual([1, 1024]);
    expect(classifier.dataType).toBe(DataType.FLOAT);
    expect(classifier.data).toBeInstanceOf(Float32Array);
    expect(classifier.data.length).toBe(1024);
  });

  it('decodes attributes: ints, floats, strings and tensor constants', () => {
    const model = readOnnxModel(readFileSync(resolve(REPO, 'models/chestaid-demo/model.onnx')));
    const conv0 = model.nodes[0];
    expect(conv0.opType).toBe('Conv');
    expect(conv0.attributes.get('kernel_shape')).toEqual([7, 7]);
    expect(conv0.attributes.get('strides')).toEqual([2, 2]);
    const bn = model.nodes.find(n => n.opType === 'BatchNormalization')!;
    expect(bn.attributes.get('epsilon')).toBeCloseTo(1e-5, 10);
    expect(model.nodes.find(n => n.opType === 'Einsum')!.attributes.get('equation')).toBe('k,nkhw->nhw');
    const constant = model.nodes.find(n => n.opType === 'Constant' && n.outputs[0] === '/Constant_output_0')!;
    expect(constant.attributes.get('value')).toMatchObject({ dataType: DataType.INT64, data: [2] });
  });

  it('reads raw float data little-endian into the dims it declares', () => {
    const bytes = writeModel({
      nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['y'] }],
      initializers: [{ name: 'w', dims: [2, 2], values: [1.5, -2, 0.25, 3e-8] }],
      inputs: ['x'],
      outputs: ['y'],
    });
    const model = readOnnxModel(bytes);
    expect(Array.from(model.initializers.get('w')!.data)).toEqual(Array.from(Float32Array.of(1.5, -2, 0.25, 3e-8)));
    expect(model.inputs).toEqual(['x']);
  });

  it('refuses bytes that are not an ONNX model, and a truncated one, with OnnxFormatError', () => {
    expect(() => readOnnxModel(new TextEncoder().encode('<html>not found</html>'))).toThrow(OnnxFormatError);
    const demo = readFileSync(resolve(REPO, 'test/fixtures/tiny/tiny.onnx'));
    expect(() => readOnnxModel(demo.subarray(0, demo.length - 1000))).toThrow(OnnxFormatError);
    expect(() => readOnnxModel(new Uint8Array(0))).toThrow(/no graph/);
  });
});

it("reads the input's declared shape, symbolic batch included", () => {
  const model = readOnnxModel(readFileSync(resolve(REPO, 'models/chestaid-demo/model.onnx')));
  expect(model.inputShapes.get('input')).toEqual(['N', 3, 224, 224]);
});
