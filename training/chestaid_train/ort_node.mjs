// Runs an ONNX model on a batch of input tensors with onnxruntime-node, for the training side
// (Debian has no onnxruntime for Python; the repository's node_modules has it). quantize.py calls it.
//
//   node ort_node.mjs run MODEL INPUT.f32 N,C,H,W OUTDIR [--engine node|web] [--batch B]
//       every output of every image, in input order, as OUTDIR/<output>.f32; prints {name: dims}
//       of one image on stdout. --engine web: onnxruntime-web's wasm build (in Node), one thread.
//       --optimized PATH: also save the graph onnxruntime-node runs after its optimizations.
//   node ort_node.mjs ranges MODEL INPUT.f32 N,C,H,W NAMES.json [--batch B]
//       the minimum and maximum of each named tensor (graph outputs of MODEL) over all images;
//       prints {name: [min, max]} on stdout. Reduced here: the tensors themselves never leave.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(import.meta.url);

function option(args, name, fallback) {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
}

const [mode, model, inputFile, shapeArg, target, ...rest] = process.argv.slice(2);
if (!['run', 'ranges'].includes(mode) || !target) {
  process.stderr.write('usage: node ort_node.mjs run|ranges MODEL INPUT.f32 N,C,H,W OUTDIR|NAMES.json [--engine node|web] [--batch B]\n');
  process.exit(2);
}
const engine = option(rest, '--engine', 'node');
const batch = Number(option(rest, '--batch', '8'));
const [n, ...imageDims] = shapeArg.split(',').map(Number);
const perImage = imageDims.reduce((a, b) => a * b, 1);
const bytes = readFileSync(inputFile);
if (bytes.byteLength !== n * perImage * 4) {
  process.stderr.write(`${inputFile} holds ${bytes.byteLength} bytes, not ${n} x ${perImage} float32\n`);
  process.exit(2);
}
const input = new Float32Array(bytes.buffer, bytes.byteOffset, n * perImage);

const ort = engine === 'web' ? require('onnxruntime-web') : require('onnxruntime-node');
if (engine === 'web') ort.env.wasm.numThreads = 1;
const session = await ort.InferenceSession.create(engine === 'web' ? readFileSync(model) : model, {
  ...(engine === 'web' ? { executionProviders: ['wasm'] } : { intraOpNumThreads: 2, interOpNumThreads: 1 }),
  graphOptimizationLevel: 'all',
  ...(option(rest, '--optimized') ? { optimizedModelFilePath: option(rest, '--optimized') } : {}),
});
const names = mode === 'ranges' ? JSON.parse(readFileSync(target, 'utf8')) : session.outputNames;
const chunks = Object.fromEntries(names.map(name => [name, []]));
const ranges = Object.fromEntries(names.map(name => [name, [Infinity, -Infinity]]));
const dims = {};
for (let start = 0; start < n; start += batch) {
  const count = Math.min(batch, n - start);
  const x = new ort.Tensor('float32', input.subarray(start * perImage, (start + count) * perImage), [count, ...imageDims]);
  const outputs = await session.run({ [session.inputNames[0]]: x }, names);
  for (const name of names) {
    const t = outputs[name];
    dims[name] = [1, ...t.dims.slice(1)];
    if (mode === 'run') {
      chunks[name].push(Buffer.from(new Float32Array(t.data).buffer));
    } else {
      const r = ranges[name];
      for (const v of t.data) {
        if (v < r[0]) r[0] = v;
        if (v > r[1]) r[1] = v;
      }
    }
  }
}
if (mode === 'run') {
  for (const name of names) writeFileSync(join(target, `${name}.f32`), Buffer.concat(chunks[name]));
  process.stdout.write(JSON.stringify(dims));
} else {
  process.stdout.write(JSON.stringify(ranges));
}
