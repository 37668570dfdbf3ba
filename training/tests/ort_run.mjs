// Runs an ONNX model with onnxruntime-node (Debian has no Python onnxruntime) for the parity tests.
// usage: node ort_run.mjs MODEL.onnx INPUT.f32 N,C,H,W  -> JSON {name: {dims, data}} on stdout
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const ort = require('onnxruntime-node');

const [model, inputFile, shapeArg] = process.argv.slice(2);
const dims = shapeArg.split(',').map(Number);
const bytes = readFileSync(inputFile);
const data = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1 });
const outputs = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', data, dims) });
const result = {};
for (const [name, t] of Object.entries(outputs)) result[name] = { dims: t.dims, data: Array.from(t.data) };
process.stdout.write(JSON.stringify(result));
