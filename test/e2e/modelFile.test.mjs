// A site that runs the manifest's int8 variant (modelFile, CHESTAID_MODEL_FILE=model.int8.onnx in
// the dev server): the viewer downloads and verifies that file, scores with it under ITS OWN
// calibration, and shows its sha256. The expected score is computed here, in Node, by the triage
// worker's loader (onnxruntime-node, the same variant, core manifestForVariant) and the core's
// analyze() on the same DICOM file: the viewer must agree to 1e-3.
//
//   node --test test/e2e/modelFile.test.mjs
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { requireBuilt } from '../../scripts/node-build.mjs';
import { ROOT, startPageSession } from './harness.mjs';

const core = requireBuilt('@chestaid/core');
const worker = requireBuilt('@chestaid/worker');
const FILE = 'model.int8.onnx';
const MANIFEST = join(ROOT, 'models/chestaid-demo/manifest.json');
const PANEL = '[data-cy="chestaid-panel"]';
const inPanel = name => `${PANEL} [data-cy="${name}"]`;

let viewer;
let browser;
let page;
const problems = [];
const foreignRequests = [];

before(
  async () => {
    ({ viewer, browser, page } = await startPageSession({ viewport: { width: 1400, height: 900 }, problems, foreignRequests, env: { CHESTAID_MODEL_FILE: FILE } }));
  },
  { timeout: 300_000 },
);

after(async () => {
  await browser?.close();
  await viewer?.stop();
});

/** The int8 variant's probability for a demo study, as onnxruntime-node and the core compute it. */
async function expectedProbability(name) {
  const model = await worker.loadModel(MANIFEST, { file: FILE, threads: 1 });
  const image = worker.readPart10(readFileSync(join(ROOT, 'test/demo-studies/dicom', `${name}.dcm`)));
  const analysis = await core.analyze(image.attributes, image.pixels, model.manifest, model.classifier);
  return { probability: analysis.probability, sha256: model.sha256 };
}

test("the int8 variant runs in the viewer under its own calibration, with the score onnxruntime-node gives it", async t => {
  const demoIndex = JSON.parse(readFileSync(join(ROOT, 'test/demo-studies/index.json'), 'utf8'));
  const demo = demoIndex.studies.find(s => s.label === 'PNEUMONIA');
  const expected = await expectedProbability(demo.name);
  const variant = JSON.parse(readFileSync(MANIFEST, 'utf8')).onnx.variants.find(v => v.file === FILE);
  assert.equal(expected.sha256, variant.sha256);

  await page.goto(`${viewer.url}/chestaid?StudyInstanceUIDs=${demo.StudyInstanceUID}`);
  await page.locator(`${inPanel('chestaid-analyze')}:not([disabled])`).waitFor({ timeout: 120_000 });
  await page.waitForFunction(() => window.cornerstone?.getEnabledElements?.()[0]?.viewport?.getCornerstoneImage?.());
  const model = await page.evaluate(() => window.services.chestAidService.getManifest()?.onnx);
  assert.equal(model.file, FILE);
  assert.equal(model.sha256, variant.sha256);

  await page.locator(inPanel('chestaid-analyze')).click();
  await page.locator(`${inPanel('chestaid-result')}, ${PANEL} [data-cy="chestaid-status"][role="alert"]`).first().waitFor({ timeout: 120_000 });
  assert.equal(await page.locator(`${PANEL} [data-cy="chestaid-status"][role="alert"]`).count(), 0, 'Analyze failed');
  const probability = Number(await page.locator(inPanel('chestaid-score')).getAttribute('data-probability'));
  t.diagnostic(`${demo.name}: int8 in the viewer p ${probability}, onnxruntime-node ${expected.probability}, float32 (index.json) ${demo.expected.probability}`);
  assert.ok(Math.abs(probability - expected.probability) <= 1e-3, `p ${probability}, onnxruntime-node int8 ${expected.probability}`);
  const outcome = await page.evaluate(() => window.services.chestAidService.getState().analysis.outcome);
  assert.ok(outcome.key.endsWith(variant.sha256), `the result is keyed by the int8 file's sha256: ${outcome.key}`);
});

test('no page errors or console errors, and no request left the viewer\'s origin', () => {
  assert.deepEqual(problems, []);
  assert.deepEqual(foreignRequests, []);
});
