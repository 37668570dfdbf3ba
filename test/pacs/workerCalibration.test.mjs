// The triage worker under a site calibration (issue 8's versions), against a real Orthanc: with an
// overlay accepted into the calibration log beside the model, every result SR carries the site
// version and the overlay's calibration of the logit; an overlay accepted while the worker runs
// is picked up at the next poll and every image is scored again under it; a tampered log stops
// the worker with exit code 2, naming the entry, and nothing is written.
import assert from 'node:assert/strict';
import { cpSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { demoPacs, MANIFEST, of, radiographs, requireBuilt, resultSrs, ROOT, runWorker, startWorker } from './workerHarness.mjs';

const EXIT = { ok: 0, config: 2 };
const PLATT = { a: 0.8, b: -0.4 };
const SITE_THRESHOLD = 0.62;
const temp = mkdtempSync(join(tmpdir(), 'chestaid-worker-cal-test-'));
after(() => rmSync(temp, { recursive: true, force: true }));

const manifestJson = JSON.parse(readFileSync(MANIFEST, 'utf8'));
const SHA = manifestJson.onnx.sha256;

/** A site-1 Platt overlay for the demo model, as a site fit would write it. */
function overlay() {
  return {
    overlay_schema_version: '1.0.0',
    model: { id: manifestJson.model.id, sha256: SHA },
    version: 'site-1',
    previous_version: manifestJson.calibration.version,
    calibration: {
      input: 'logit',
      method: 'platt',
      params: PLATT,
      selection: { metric: 'ece', n_bins: 15, binning: 'equal-width', validation: '5-fold cross-validation' },
    },
    threshold: {
      value: SITE_THRESHOLD,
      rule: 'highest threshold with sensitivity >= 0.9 on the site cohort',
      target_sensitivity: 0.9,
      interval: { ci_low: 0.55, ci_high: 0.7, level: 0.95, n_boot: 1000, seed: 0 },
    },
    cohort: { n: 200, n_pos: 90, sha256: 'a'.repeat(64), source: 'feedback' },
    created: { by: 'Dr Admin', at: '2026-11-26T12:00:00Z' },
    metrics: { split: 'held-out folds', before: { ece: 0.21, brier: 0.19, n: 200 }, after: { ece: 0.05, brier: 0.12, n: 200 } },
  };
}

/** Accepts the overlay into `dir` through the core API and the Node file store, as the calibration CLI does. */
async function acceptOverlay(dir) {
  const { SiteCalibrationLog, EMPTY_HEAD, parseManifest } = requireBuilt('@chestaid/core');
  const { FileSiteCalibrationStore } = requireBuilt('@chestaid/core/node');
  const versions = new SiteCalibrationLog({ store: new FileSiteCalibrationStore(dir, { modelSha256: SHA }), manifest: parseManifest(manifestJson) });
  await versions.accept(overlay(), { actor: 'Dr Admin', expectedHead: EMPTY_HEAD });
}

const sigmoid = t => 1 / (1 + Math.exp(-t));

/** Every result SR under `version` holds the score that version's calibration gives its logit. */
function assertCalibratedUnder(results, version) {
  const { calibrate, calibrationName, parseManifest } = requireBuilt('@chestaid/core');
  const base = parseManifest(manifestJson);
  for (const { content } of results) {
    // The SR names its calibration by identity: the version and the sha256 of what it stands for.
    assert.equal(calibrationName(content.calibration.version), version);
    assert.match(content.calibration.version, /\+sha256:[0-9a-f]{64}$/);
    if (version === 'site-1') {
      assert.equal(content.calibration.method, 'platt');
      assert.ok(Math.abs(content.score - sigmoid(PLATT.a * content.logit + PLATT.b)) <= 1e-6, `score ${content.score} for logit ${content.logit}`);
      assert.equal(content.threshold, SITE_THRESHOLD);
      assert.equal(content.decision, content.score >= SITE_THRESHOLD ? 'above' : 'below');
    } else {
      assert.ok(Math.abs(content.score - calibrate(content.logit, base.calibration)) <= 1e-6);
      assert.equal(content.threshold, base.thresholds.clinical.value);
    }
  }
}

describe('the worker under a site calibration', () => {
  const demo = demoPacs();
  const modelDir = join(temp, 'model');
  before(async () => {
    // The model in a directory of its own, its calibration log beside it: the default place.
    mkdirSync(modelDir);
    cpSync(MANIFEST, join(modelDir, 'manifest.json'));
    linkSync(join(ROOT, 'models', 'chestaid-demo', manifestJson.onnx.file), join(modelDir, manifestJson.onnx.file));
    await acceptOverlay(join(modelDir, 'calibration'));
  });

  test('a tampered log stops the worker with exit code 2, naming the entry, before anything is written', async () => {
    const dir = join(temp, 'tampered');
    cpSync(join(modelDir, 'calibration'), dir, { recursive: true });
    const log = join(dir, 'log.jsonl');
    writeFileSync(log, readFileSync(log, 'utf8').replace('"threshold":0.62', '"threshold":0.3'));
    const run = await runWorker(['--pacs', demo.pacs.dicomWebUrl, '--model', join(modelDir, 'manifest.json'), '--calibration-dir', dir, '--once']);
    assert.equal(run.code, EXIT.config, run.stderr);
    const [unusable] = of(run.events, 'calibration-unusable');
    assert.equal(unusable.entry, 1);
    assert.match(unusable.error, /corrupt at entry 1: its content does not match its hash/);
    assert.equal(of(run.events, 'started').length, 0);
    assert.equal((await resultSrs(demo.pacs.client)).length, 0);

    const missing = await runWorker(['--pacs', demo.pacs.dicomWebUrl, '--calibration-dir', join(temp, 'no-such-dir'), '--once']);
    assert.equal(missing.code, EXIT.config);
    assert.match(of(missing.events, 'calibration-unusable')[0].error, /no-such-dir is not a directory/);
  });

  test('--once scores every image under the active site version, found beside the model by default', async () => {
    const run = await runWorker(['--pacs', demo.pacs.dicomWebUrl, '--model', join(modelDir, 'manifest.json'), '--once']);
    assert.equal(run.code, EXIT.ok, run.stderr);
    const [started] = of(run.events, 'started');
    assert.deepEqual(
      { version: started.calibration.version, source: started.calibration.source, dir: started.calibration.dir, logEntries: started.calibration.logEntries },
      { version: 'site-1', source: 'site', dir: join(modelDir, 'calibration'), logEntries: 1 },
    );
    const images = await radiographs(demo.pacs.client);
    const results = await resultSrs(demo.pacs.client);
    assert.equal(results.length, images.length);
    assert.deepEqual(new Set(results.map(r => r.content.source.sopInstanceUID)), new Set(images.map(i => i.sop)));
    assertCalibratedUnder(results, 'site-1');
  });
});

describe('a recalibration while the worker runs', () => {
  const demo = demoPacs();

  test('is picked up at the next poll: every image is scored again under the new version, the old results stay', async () => {
    const dir = join(temp, 'live');
    mkdirSync(dir);
    const worker = startWorker(['--pacs', demo.pacs.dicomWebUrl, '--calibration-dir', dir, '--interval', '0.3']);
    try {
      const started = await worker.waitFor(e => e.event === 'started');
      assert.equal(started.calibration.version, manifestJson.calibration.version);
      await worker.waitFor(e => e.event === 'pass' && e.scored > 0);
      const mark = worker.events.length;
      await acceptOverlay(dir);
      const changed = await worker.waitFor(e => e.event === 'calibration-changed', 30_000, mark);
      assert.equal(requireBuilt('@chestaid/core').calibrationName(changed.to), 'site-1');
      const rescored = await worker.waitFor(e => e.event === 'pass' && e.scored > 0, 120_000, worker.events.indexOf(changed));
      const images = await radiographs(demo.pacs.client);
      assert.equal(rescored.scored, images.length);
    } finally {
      worker.child.kill('SIGTERM');
    }
    assert.equal((await worker.exited).code, EXIT.ok);

    const images = await radiographs(demo.pacs.client);
    const results = await resultSrs(demo.pacs.client);
    const { calibrationName } = requireBuilt('@chestaid/core');
    const base = results.filter(r => calibrationName(r.content.calibration.version) === manifestJson.calibration.version);
    const site = results.filter(r => calibrationName(r.content.calibration.version) === 'site-1');
    assert.equal(base.length, images.length);
    assert.equal(site.length, images.length);
    assert.equal(results.length, 2 * images.length);
    assertCalibratedUnder(base, manifestJson.calibration.version);
    assertCalibratedUnder(site, 'site-1');
    // Same model bytes, same image: the same logit under either calibration.
    const baseLogit = new Map(base.map(r => [r.content.source.sopInstanceUID, r.content.logit]));
    for (const { content } of site) assert.ok(Math.abs(content.logit - baseLogit.get(content.source.sopInstanceUID)) <= 1e-5);
  });
});
