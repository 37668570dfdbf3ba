// The triage worker under a site calibration (issue 8's versions), against a real Orthanc: with an
// overlay accepted into the calibration log beside the model, every result SR carries the site
// version and the overlay's calibration of the logit; an overlay accepted while the worker runs
// is picked up at the next poll and every image is scored again under it; a tampered log stops
// the worker with exit code 2, naming the entry, and nothing is written; so does a log that is
// missing, torn, or cut back while the worker runs, with the reason.
import assert from 'node:assert/strict';
import { cpSync, existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

/** An empty log in `dir`, as `chestaid-recalibrate --init` makes it. */
async function initLog(dir) {
  const { FileSiteCalibrationStore } = requireBuilt('@chestaid/core/node');
  await new FileSiteCalibrationStore(dir, { modelSha256: SHA }).init(manifestJson.calibration.version);
}

/** Accepts the overlay into `dir` through the core API and the Node file store, as the calibration CLI does. */
async function acceptOverlay(dir) {
  const { SiteCalibrationLog, EMPTY_HEAD, parseManifest } = requireBuilt('@chestaid/core');
  const { FileSiteCalibrationStore } = requireBuilt('@chestaid/core/node');
  if (!existsSync(join(dir, 'log.jsonl'))) await initLog(dir);
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
    await initLog(dir);
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

describe('a calibration log that cannot be trusted stops the worker, with the reason, and nothing is scored under the manifest instead', () => {
  const demo = demoPacs();

  test('missing or torn at start: exit 2 before anything is written; cut back while it runs: exit 2 at the next poll', async () => {
    const dir = join(temp, 'untrusted');
    const args = ['--pacs', demo.pacs.dicomWebUrl, '--calibration-dir', dir, '--once'];
    // A named directory that holds no log (the log deleted, the directory left): missing.
    mkdirSync(dir);
    const missing = await runWorker(args);
    assert.equal(missing.code, EXIT.config, missing.stderr);
    assert.deepEqual(of(missing.events, 'calibration-unusable').map(e => e.kind), ['missing']);
    assert.match(of(missing.events, 'calibration-unusable')[0].error, /untrusted\/log\.jsonl does not exist: .*--no-site-calibration/);

    await acceptOverlay(dir);
    const log = join(dir, 'log.jsonl');
    const whole = readFileSync(log, 'utf8');
    writeFileSync(log, `${whole}{"seq":2,"at":"2026-`);
    const torn = await runWorker(args);
    assert.equal(torn.code, EXIT.config, torn.stderr);
    const [tornEvent] = of(torn.events, 'calibration-unusable');
    assert.equal(tornEvent.kind, 'torn');
    assert.match(tornEvent.error, /torn: its last line \(entry 2\) is incomplete.*chestaid-recalibrate --repair/);
    assert.equal(of(torn.events, 'started').length, 0);
    assert.equal((await resultSrs(demo.pacs.client)).length, 0);

    // Whole again; the worker starts under site-1, then the log is emptied (active.json too) while it runs.
    writeFileSync(log, whole);
    const state = join(temp, 'untrusted-state.json');
    const worker = startWorker(['--pacs', demo.pacs.dicomWebUrl, '--calibration-dir', dir, '--interval', '0.3', '--state', state]);
    const started = await worker.waitFor(e => e.event === 'started');
    assert.equal(started.calibration.version, 'site-1');
    writeFileSync(log, '');
    rmSync(join(dir, 'active.json'));
    const unusable = await worker.waitFor(e => e.event === 'calibration-unusable', 30_000);
    assert.equal(unusable.kind, 'truncated');
    assert.match(unusable.error, /it ends at entry 0, but this worker \(state file .*\) trusted entry 1/);
    assert.equal((await worker.exited).code, EXIT.config);
    // A restart remembers the head it trusted (the state file): still refused.
    const restarted = await runWorker([...args, '--state', state]);
    assert.equal(restarted.code, EXIT.config);
    assert.equal(of(restarted.events, 'calibration-unusable')[0].kind, 'truncated');
  });
});
