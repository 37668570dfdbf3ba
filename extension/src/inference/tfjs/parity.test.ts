/**
 * The TensorFlow.js engine against onnxruntime-node 1.30 on the same ONNX file and the parity
 * fixtures' input tensors (test/fixtures/parity/*.input.f32): logit within 1e-3, the raw CAM
 * within 1e-4 (issue 19). onnxruntime-node runs in a child process: inside jest's sandbox its
 * native binding's Float32Arrays belong to another realm (cornerstonePixels.test.ts).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';

import { TfjsClassifier } from './classifier';
import { startTfjs } from './runtime';
import { runSelfCheck } from '../selfCheck';

const REPO = resolve(__dirname, '../../../..');
const PARITY_DIR = resolve(REPO, 'test/fixtures/parity');
const manifest = JSON.parse(readFileSync(resolve(REPO, 'models/chestaid-demo/manifest.json'), 'utf8'));
const MODEL = resolve(REPO, 'models/chestaid-demo', manifest.onnx.file);
const NAMES = { input: manifest.input.name, logit: manifest.outputs.logit.name, cam: manifest.outputs.cam.name };
const DIMS = [1, 3, manifest.input.size.height, manifest.input.size.width];

const LOGIT_TOLERANCE = 1e-3;
const CAM_TOLERANCE = 1e-4;

const cases = readdirSync(PARITY_DIR)
  .filter(f => f.endsWith('.input.f32'))
  .sort()
  .map(f => ({ name: f.replace(/\.input\.f32$/, ''), file: resolve(PARITY_DIR, f) }));

interface NodeOutput {
  logit: number;
  cam: number[];
  camDims: number[];
}

/** Every case on onnxruntime-node's CPU provider, in one child process. */
function onnxruntimeNode(files: string[]): NodeOutput[] {
  const script = `
    const ort = require('onnxruntime-node');
    const { readFileSync } = require('node:fs');
    const { model, names, dims, files } = JSON.parse(process.argv[1]);
    (async () => {
      const session = await ort.InferenceSession.create(model);
      const out = [];
      for (const file of files) {
        const bytes = readFileSync(file);
        const input = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
        const r = await session.run({ [names.input]: new ort.Tensor('float32', input, dims) });
        out.push({ logit: r[names.logit].data[0], cam: Array.from(r[names.cam].data), camDims: r[names.cam].dims.slice(1) });
      }
      process.stdout.write(JSON.stringify(out));
    })();`;
  const stdout = execFileSync(process.execPath, ['-e', script, JSON.stringify({ model: MODEL, names: NAMES, dims: DIMS, files })], { cwd: REPO, maxBuffer: 64 << 20 });
  return JSON.parse(stdout.toString()) as NodeOutput[];
}

function readF32(path: string): Float32Array {
  const bytes = readFileSync(path);
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

let classifier: TfjsClassifier;
let reference: NodeOutput[];

beforeAll(async () => {
  await startTfjs({ threads: 1 });
  classifier = TfjsClassifier.fromOnnx(readFileSync(MODEL), NAMES);
  reference = onnxruntimeNode(cases.map(c => c.file));
}, 120_000);

afterAll(() => classifier?.dispose());

it('finds parity fixtures to check', () => {
  expect(cases.length).toBeGreaterThan(0);
});

describe.each(cases.map((c, i) => ({ ...c, i })))('$name', ({ file, i }) => {
  it(`gives onnxruntime-node's logit (<= ${LOGIT_TOLERANCE}) and raw CAM (<= ${CAM_TOLERANCE})`, async () => {
    const out = await classifier.run(readF32(file), DIMS);
    const ref = reference[i];
    expect(out.camDims).toEqual(ref.camDims);
    const logitDiff = Math.abs(out.logit - ref.logit);
    const camDiff = maxAbsDiff(out.cam, ref.cam);
    // Printed so the report can quote the measured margins.
    process.stdout.write(`parity ${file.split('/').pop()}: logit ${out.logit.toFixed(6)} (ORT ${ref.logit.toFixed(6)}, diff ${logitDiff.toExponential(2)}), CAM max diff ${camDiff.toExponential(2)}\n`);
    expect(logitDiff).toBeLessThanOrEqual(LOGIT_TOLERANCE);
    expect(camDiff).toBeLessThanOrEqual(CAM_TOLERANCE);
  }, 60_000);
});

it("passes the demo manifest's self-check: onnxruntime-node's outputs on the probe, at the manifest's tolerances", async () => {
  const report = await runSelfCheck('TensorFlow.js wasm', manifest.onnx.self_check, DIMS, (input, dims) => classifier.run(input, dims), () => 0);
  process.stdout.write(`self-check ${manifest.onnx.file}: logit diff ${report.logitDiff.toExponential(2)}, CAM max diff ${report.camDiff.toExponential(2)}\n`);
  expect(report).toMatchObject({ against: 'manifest', passed: true });
}, 60_000);
