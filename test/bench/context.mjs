/**
 * What the benchmark's rows share: the model and the input tensor under test (the same for every
 * row), the row the others are compared with, and the run's record (samples by row, the rows that
 * could not be measured here with the reason, notes). run.mjs builds one `bench` object from
 * these and its options and hands it to each row's module.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { DEMO_DIR, ROOT } from './harness.mjs';

/** Every row's ratio is to this one. */
export const REFERENCE = 'onnxruntime-node CPU, 2 threads';

export const log = line => process.stdout.write(`${line}\n`);

/** The demo model, and the input tensor of `study` (test/fixtures/parity), as files for Node and URLs for the page. */
export function benchModel(study) {
  const manifest = JSON.parse(readFileSync(join(DEMO_DIR, 'manifest.json'), 'utf8'));
  return {
    manifest,
    modelPath: join(DEMO_DIR, manifest.onnx.file),
    MODEL_URL: `/models/chestaid-demo/${manifest.onnx.file}`,
    MANIFEST_URL: '/models/chestaid-demo/manifest.json',
    INPUT_URL: `/fixtures/parity/${study}.input.f32`,
    INPUT_PATH: join(ROOT, 'test/fixtures/parity', `${study}.input.f32`),
    DIMS: [1, 3, manifest.input.size.height, manifest.input.size.width],
  };
}

/** A run's measurements: `record(row, ms)` adds a sample; `unavailable[row]` says why a row has none. */
export function newRecord() {
  const samples = {};
  return { samples, record: (name, ms) => (samples[name] ??= []).push(ms), unavailable: {}, notes: [] };
}
