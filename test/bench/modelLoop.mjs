/* global process, performance */
/**
 * The model alone, in a loop: onnxruntime-node with the worker's session options on the demo
 * model, one input tensor, run until `seconds` have passed; prints `{"runs": n, "ms": wall}`.
 * workerScaling.mjs starts k of these at once to show how far this machine itself scales the
 * model over processes (the ceiling for the workers, which add PACS and broker work to it).
 *
 *   node test/bench/modelLoop.mjs <model.onnx> <input.f32> <threads> <seconds>
 */
import { readFileSync } from 'node:fs';

import ort from 'onnxruntime-node';

const [model, input, threads, seconds] = process.argv.slice(2);
const session = await ort.InferenceSession.create(readFileSync(model), {
  intraOpNumThreads: Number(threads),
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
});
const bytes = readFileSync(input);
const tensor = new ort.Tensor('float32', new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4), [1, 3, 224, 224]);
const feeds = { [session.inputNames[0]]: tensor };
await session.run(feeds); // warm-up, not counted
let runs = 0;
const started = performance.now();
while (performance.now() - started < Number(seconds) * 1000) {
  await session.run(feeds);
  runs++;
}
process.stdout.write(`${JSON.stringify({ runs, ms: performance.now() - started })}\n`);
