// The worker's Node scoring path (dcmjs Part 10 reader -> the panel's core -> onnxruntime-node)
// against the committed parity fixtures, which the Python pipeline wrote: the tensor each demo
// study becomes, and its logit. No PACS needed; it runs with the PACS tests because the worker is
// what it guards.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';

import { MANIFEST, requireBuilt, ROOT } from './workerHarness.mjs';

const PARITY_DIR = join(ROOT, 'test', 'fixtures', 'parity');
// What the brief asks of the Node path; the fixtures' own logit tolerance (1e-3) is looser.
const LOGIT_TOLERANCE = 1e-4;

const { analyze, inputSpecOf, Preprocessor } = requireBuilt('@chestaid/core');
const { readPart10 } = requireBuilt('@chestaid/worker');
const { loadModel } = requireBuilt('@chestaid/worker');

let model;
before(async () => {
  model = await loadModel(MANIFEST, { threads: 1 });
});
after(async () => {
  await model?.classifier.release();
});

const readF32 = path => {
  const bytes = readFileSync(path);
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
};

const fixtures = readdirSync(PARITY_DIR).filter(f => f.endsWith('.json')).sort();

test('there are parity fixtures to check', () => {
  assert.ok(fixtures.length >= 1);
});

for (const name of fixtures) {
  test(`${name}: the Node path builds the Python tensor and scores the Python logit`, async () => {
    const fixture = JSON.parse(readFileSync(join(PARITY_DIR, name), 'utf8'));
    const image = readPart10(readFileSync(resolve(PARITY_DIR, fixture.dicom)), fixture.dicom);
    assert.equal(image.attributes.photometricInterpretation, fixture.photometric);
    assert.equal(image.attributes.bitsStored, fixture.bits_stored);

    const preprocessor = new Preprocessor(inputSpecOf(model.manifest));
    const tensor = preprocessor.runStored(image.attributes, image.pixels, { acceptedModalities: ['CR', 'DX'] });
    const expected = readF32(join(PARITY_DIR, fixture.input.file));
    assert.equal(tensor.length, expected.length);
    let worst = 0;
    for (let i = 0; i < tensor.length; i++) worst = Math.max(worst, Math.abs(tensor[i] - expected[i]));
    assert.ok(worst <= fixture.tolerances.input, `tensor differs by ${worst}`);

    const analysis = await analyze(image.attributes, image.pixels, model.manifest, model.classifier);
    assert.ok(Math.abs(analysis.logit - fixture.logit) <= LOGIT_TOLERANCE, `logit ${analysis.logit}, Python ${fixture.logit}`);
    assert.ok(Math.abs(analysis.probability - fixture.probability[fixture.probability.selected]) <= fixture.tolerances.probability);
  });
}

test('every demo study scores its recorded logit through the Node path', async () => {
  const index = JSON.parse(readFileSync(join(ROOT, 'test', 'demo-studies', 'index.json'), 'utf8'));
  assert.equal(index.model.sha256, model.sha256, 'index.json was recorded with this model');
  let worst = 0;
  for (const study of index.studies) {
    const image = readPart10(readFileSync(join(ROOT, 'test', 'demo-studies', study.file)), study.name);
    const { logit } = await analyze(image.attributes, image.pixels, model.manifest, model.classifier);
    worst = Math.max(worst, Math.abs(logit - study.expected.logit));
  }
  assert.ok(worst <= LOGIT_TOLERANCE, `worst logit difference ${worst} over ${index.studies.length} studies`);
});

function pearson(xs, ys) {
  const mean = v => v.reduce((a, b) => a + b, 0) / v.length;
  const [mx, my] = [mean(xs), mean(ys)];
  const cov = mean(xs.map((x, i) => (x - mx) * (ys[i] - my)));
  return cov / Math.sqrt(mean(xs.map(x => (x - mx) ** 2)) * mean(ys.map(y => (y - my) ** 2)));
}

test('the int8 variant scores the demo studies under its own calibration, threshold and sha256', async () => {
  const { calibrate } = requireBuilt('@chestaid/core');
  const variant = model.manifest.onnx.variants.find(v => v.weights === 'int8');
  assert.ok(variant, 'the demo manifest lists an int8 variant');
  const int8 = await loadModel(MANIFEST, { threads: 1, file: variant.file });
  try {
    assert.equal(int8.sha256, variant.sha256);
    assert.equal(int8.manifest.onnx.sha256, variant.sha256);
    assert.deepEqual(int8.manifest.calibration, variant.calibration);
    assert.notDeepEqual(int8.manifest.calibration, model.manifest.calibration);
    const index = JSON.parse(readFileSync(join(ROOT, 'test', 'demo-studies', 'index.json'), 'utf8'));
    const pairs = [];
    for (const study of index.studies) {
      const image = readPart10(readFileSync(join(ROOT, 'test', 'demo-studies', study.file)), study.name);
      const analysis = await analyze(image.attributes, image.pixels, int8.manifest, int8.classifier);
      assert.equal(analysis.probability, calibrate(analysis.logit, variant.calibration));
      assert.equal(analysis.decision.threshold, variant.thresholds.clinical.value);
      pairs.push([study.expected.logit, analysis.logit]);
    }
    // The same model in fewer bits: its logits follow the float model's (Pearson correlation).
    const r = pearson(pairs.map(p => p[0]), pairs.map(p => p[1]));
    assert.ok(r >= 0.98, `int8 and float32 logits correlate ${r} over ${pairs.length} studies`);
  } finally {
    await int8.classifier.release();
  }
});

test('a model file the manifest does not list is refused by name', async () => {
  await assert.rejects(loadModel(MANIFEST, { threads: 1, file: 'model.int4.onnx' }), /lists no ONNX file "model\.int4\.onnx"/);
});
