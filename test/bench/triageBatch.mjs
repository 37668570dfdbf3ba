/**
 * The triage batch in the page, per in-page engine (issue 19 item 4): every demo radiograph
 * analysed in turn as the viewer's batch does it, minus Cornerstone and the PACS: stored pixels ->
 * the core's analyze() (preprocessing, the worker's run, calibration, CAM) -> the heatmap at the
 * model's input size. One client per engine at 2 threads (onnxruntime-web float32 and int8,
 * TensorFlow.js float32), engines interleaved round by round. A study is one image here (the demo
 * studies have one each), so ms per study is ms per image, and studies/min is 60000 / that.
 *
 * Each engine scores under its own model's manifest: the int8 variant with its own calibration
 * (manifestForVariant), never the float model's.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

import { log } from './context.mjs';
import { openPage, ROOT } from './harness.mjs';
import { readStudy, toBase64 } from './study.mjs';

export const TRIAGE_ROW = 'triage batch in the page, ms per study';

/** The demo radiographs (CR/DX) by file name. */
function demoRadiographs() {
  return readdirSync(join(ROOT, 'test/demo-studies/dicom'))
    .filter(name => name.endsWith('.dcm'))
    .map(name => ({ name: name.replace(/\.dcm$/, ''), study: readStudy(name.replace(/\.dcm$/, '')) }))
    .filter(({ study }) => ['CR', 'DX'].includes(study.attributes.modality));
}

export async function triageBatch(bench, browser, server, results) {
  const { opts, manifest, MODEL_URL, MANIFEST_URL, RUNS, record } = bench;
  const rounds = Math.max(1, Math.min(RUNS, 5));
  const int8 = (manifest.onnx.variants ?? []).find(v => v.weights === 'int8') ?? null;
  const base = { modelUrl: MODEL_URL, sha256: manifest.onnx.sha256, bytes: manifest.onnx.bytes, backend: 'wasm', cacheName: null, numThreads: 2 };
  const engines = [
    { id: 'ort', label: 'onnxruntime-web wasm float32', config: base, variant: null },
    ...(int8
      ? [{ id: 'int8', label: `onnxruntime-web wasm int8 (${int8.file})`, config: { ...base, modelUrl: new URL(int8.file, `http://x${MODEL_URL}`).pathname, sha256: int8.sha256, bytes: int8.bytes }, variant: int8.file }]
      : []),
    ...(opts.tfjs ? [{ id: 'tfjs', label: 'TensorFlow.js wasm float32', config: { ...base, engine: 'tfjs' }, variant: null }] : []),
  ];
  const images = demoRadiographs();
  log(`triage batch in the page: ${images.length} demo radiographs, ${engines.map(e => e.label).join(', ')}; ${rounds} rounds...`);
  const { context, page } = await openPage(browser, server.url);
  try {
    for (const engine of engines) {
      const { info } = await page.evaluate(([n, c]) => chestaidTest.start(n, c), [`batch-${engine.id}`, engine.config]);
      engine.reason = info.reason;
      for (const { name, study } of images) {
        await page.evaluate(([i, m, a, p, v]) => chestaidTest.preprocessSetup(i, m, a, p, v), [`${engine.id}-${name}`, MANIFEST_URL, study.attributes, toBase64(study.pixels), engine.variant]);
      }
      // The session's first run and the kernels' warm-up are the cold start's, not the batch's.
      await page.evaluate(([n, c]) => chestaidTest.analyzeOnce(n, c, 'warm-up'), [`batch-${engine.id}`, `${engine.id}-${images[0].name}`]);
    }
    const perStudy = Object.fromEntries(engines.map(e => [e.id, []]));
    for (let round = 0; round < rounds; round++) {
      const order = engines.map((_, i) => engines[(i + round) % engines.length]);
      for (const engine of order) {
        const t0 = performance.now();
        for (const { name } of images) {
          await page.evaluate(([n, c, k]) => chestaidTest.analyzeOnce(n, c, k), [`batch-${engine.id}`, `${engine.id}-${name}`, `${name}-${round}`]);
        }
        const ms = (performance.now() - t0) / images.length;
        perStudy[engine.id].push(ms);
        record(`${TRIAGE_ROW}, ${engine.label}`, ms);
      }
    }
    results.triage = {
      studies: images.length,
      rounds,
      engines: engines.map(e => ({ label: e.label, reason: e.reason, msPerStudy: perStudy[e.id] })),
    };
  } finally {
    await context.close();
  }
}
