// The recalibration CLI (cli/recalibrate.ts) end to end on files: a real manifest, a CSV of
// logits, the Node file store in a temp directory. Run: node --test test/cli/
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { ROOT, requireBuilt } from '../../scripts/node-build.mjs';

const MANIFEST = join(ROOT, 'models/chestaid-demo/manifest.json');
const { main } = requireBuilt('@chestaid/cli');

let dir;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'chestaid-cli-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A scanner shift: logits of two overlapping classes moved up by 3, so the deployed calibration overcalls. */
function cohortCsv(n, { seed = 11, shift = 3 } = {}) {
  let state = seed;
  const random = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) + 1) / (2 ** 31 + 1);
  const rows = ['key,logit,label'];
  for (let i = 0; i < n; i++) {
    const pneumonia = i % 2 === 0;
    const normal = Math.sqrt(-2 * Math.log(random())) * Math.cos(2 * Math.PI * random());
    rows.push(`img-${i},${((pneumonia ? 1.2 : -1.2) + 1.3 * normal + shift).toFixed(6)},${pneumonia ? 'pneumonia' : 'normal'}`);
  }
  return `${rows.join('\n')}\n`;
}

/** A store directory with an empty log, as `--init` leaves it. */
async function initialised(name) {
  const store = join(dir, name);
  const made = await run('--init', '--manifest', MANIFEST, '--store', store);
  assert.equal(made.code, 0, made.err);
  return store;
}

async function run(...args) {
  const out = [];
  const err = [];
  const code = await main(args, { out: t => out.push(t), err: t => err.push(t), now: () => new Date('2026-11-26T12:00:00Z') });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

test('refuses a cohort below the minimums with every reason and writes nothing', async () => {
  const csv = join(dir, 'small.csv');
  writeFileSync(csv, cohortCsv(30));
  const store = await initialised('refused');
  const { code, err } = await run('--scores', csv, '--manifest', MANIFEST, '--store', store, '--actor', 'Dr A');
  assert.equal(code, 2);
  assert.match(err, /Refused/);
  assert.match(err, /only 30 labelled case\(s\).*at least 100/);
  assert.match(err, /synthetic data/);
  assert.equal(readFileSync(join(store, 'log.jsonl'), 'utf8'), '');
});

test('accepts a shifted cohort as site-1, shows it in the history, rolls back, and keeps both entries', async () => {
  const csv = join(dir, 'cohort.csv');
  writeFileSync(csv, cohortCsv(160));
  const store = await initialised('store');
  const fitted = await run('--scores', csv, '--manifest', MANIFEST, '--store', store, '--actor', 'Dr A');
  assert.equal(fitted.code, 0, fitted.err);
  const [, before, after] = /ECE \(held out\)\s+([0-9.]+)\s+->\s+([0-9.]+)/.exec(fitted.out) ?? [];
  assert.ok(Number(after) < Number(before), `held-out ECE ${before} -> ${after}`);
  assert.match(fitted.out, /Threshold\s+75\.0 %\s+->\s+[0-9.]+ % \(95 % CI/);
  assert.match(fitted.out, /Accepted: site-1 is active \(previous 1/);
  assert.equal(JSON.parse(readFileSync(join(store, 'overlays/site-1.json'), 'utf8')).created.by, 'Dr A');

  const history = await run('--history', '--manifest', MANIFEST, '--store', store);
  assert.match(history.out, /Versions: 1, site-1 \(active\)/);
  assert.match(history.out, /#1 .* Dr A: accept 1 -> site-1/);

  const rolled = await run('--rollback', '1', '--manifest', MANIFEST, '--store', store, '--actor', 'Dr B');
  assert.equal(rolled.code, 0, rolled.err);
  const lines = readFileSync(join(store, 'log.jsonl'), 'utf8').trim().split('\n').map(l => JSON.parse(l));
  assert.deepEqual(lines.map(e => [e.action, e.version, e.actor]), [['accept', 'site-1', 'Dr A'], ['rollback', '1', 'Dr B']]);
});

test('a dry run prints the report and writes nothing', async () => {
  const csv = join(dir, 'dry.csv');
  writeFileSync(csv, cohortCsv(120, { seed: 3 }));
  const store = await initialised('dry');
  const { code, out } = await run('--scores', csv, '--manifest', MANIFEST, '--store', store, '--dry-run');
  assert.equal(code, 0);
  assert.match(out, /Dry run: nothing written/);
  assert.equal(readFileSync(join(store, 'log.jsonl'), 'utf8'), '');
});

test('a tampered audit log is refused with the entry that broke the chain, and left as it is', async () => {
  const csv = join(dir, 'tamper.csv');
  writeFileSync(csv, cohortCsv(160, { seed: 5 }));
  const store = await initialised('tamper');
  assert.equal((await run('--scores', csv, '--manifest', MANIFEST, '--store', store, '--actor', 'Dr A')).code, 0);
  const log = join(store, 'log.jsonl');
  const tampered = readFileSync(log, 'utf8').replace('"Dr A"', '"Dr Z"');
  writeFileSync(log, tampered);
  const { code, err } = await run('--history', '--manifest', MANIFEST, '--store', store);
  assert.equal(code, 1);
  assert.match(err, /entry|hash|chain/i);
  assert.equal(readFileSync(log, 'utf8'), tampered);
});

test('bad arguments and a bad CSV name the problem', async () => {
  assert.match((await run('--manifest', MANIFEST)).err, /exactly one of --scores, --images, --history, --rollback, --init, --repair, --min-target-sensitivity/);
  assert.match((await run('--manifest', MANIFEST, '--repair')).err, /--actor NAME is required/);
  assert.match((await run('--manifest', MANIFEST, '--rollback', '1')).err, /--actor NAME is required/);
  const csv = join(dir, 'bad.csv');
  writeFileSync(csv, 'key,logit,label\nx,abc,normal\n');
  const bad = await run('--scores', csv, '--manifest', MANIFEST, '--dry-run', '--store', await initialised('bad'));
  assert.equal(bad.code, 1);
  assert.match(bad.err, /line 2: logit "abc" is not a finite number/);
  const other = await run('--history', '--manifest', MANIFEST, '--model', csv);
  assert.match(other.err, /not the deployed model/);
});

test('scores DICOM files with the deployed model (onnxruntime-node), keeps the logits, lists what it could not read, and refuses 24 images', async () => {
  const demo = JSON.parse(readFileSync(join(ROOT, 'test/demo-studies/index.json'), 'utf8'));
  const csv = join(dir, 'files.csv');
  writeFileSync(csv, ['file,label', ...demo.studies.map(s => `${join(ROOT, 'test/demo-studies', s.file)},${s.label.toLowerCase()}`), `${csv},normal`].join('\n'));
  const scores = join(dir, 'files-scores.csv');
  const { code, err } = await run('--images', csv, '--manifest', MANIFEST, '--write-scores', scores, '--dry-run', '--store', await initialised('files'));
  assert.equal(code, 2, err);
  assert.match(err, /scored 25 of 25 images/);
  assert.match(err, new RegExp(`1 image\\(s\\) left out:\\n  - line 26: .*files\\.csv is not a readable DICOM Part 10 file`));
  assert.match(err, /only 24 labelled case\(s\)/);
  const rows = readFileSync(scores, 'utf8').trim().split('\n').slice(1).map(line => line.split(','));
  assert.equal(rows.length, 24);
  for (const study of demo.studies) {
    const row = rows.find(r => r[0] === study.SOPInstanceUID);
    assert.ok(row, study.name);
    // The logits training recorded for these images, from PyTorch: the Node path must agree.
    assert.ok(Math.abs(Number(row[1]) - study.expected.logit) < 1e-3, `${study.name}: ${row[1]} vs ${study.expected.logit}`);
    assert.equal(row[2], study.label === 'PNEUMONIA' ? '1' : '0');
  }
});

test('a log that is not there is missing, not empty: every command refuses it until --init makes one, once', async () => {
  const store = join(dir, 'never');
  const history = await run('--history', '--manifest', MANIFEST, '--store', store);
  assert.equal(history.code, 1);
  assert.match(history.err, /the calibration log is missing: the calibration log .*never\/log\.jsonl does not exist: .*--init/);
  const csv = join(dir, 'never.csv');
  writeFileSync(csv, cohortCsv(160, { seed: 8 }));
  assert.equal((await run('--scores', csv, '--manifest', MANIFEST, '--store', store, '--actor', 'Dr A')).code, 1);
  assert.equal(existsSync(join(store, 'log.jsonl')), false);
  await initialised('never');
  assert.match((await run('--history', '--manifest', MANIFEST, '--store', store)).out, /Audit log: empty/);
  assert.match((await run('--init', '--manifest', MANIFEST, '--store', store)).err, /already exists; a calibration log is never replaced/);
});

test('--repair cuts a torn last line under the lock with an audit entry that keeps the bytes cut', async () => {
  const csv = join(dir, 'torn.csv');
  writeFileSync(csv, cohortCsv(160, { seed: 9 }));
  const store = await initialised('torn');
  assert.equal((await run('--scores', csv, '--manifest', MANIFEST, '--store', store, '--actor', 'Dr A')).code, 0);
  const log = join(store, 'log.jsonl');
  const torn = '{"seq":2,"at":"2026-11-26T12:';
  writeFileSync(log, readFileSync(log, 'utf8') + torn);
  const refused = await run('--history', '--manifest', MANIFEST, '--store', store);
  assert.equal(refused.code, 1);
  assert.match(refused.err, /the calibration audit log is torn: its last line \(entry 2\) is incomplete.*--repair --actor NAME/);

  const repaired = await run('--repair', '--manifest', MANIFEST, '--store', store, '--actor', 'Dr Fix');
  assert.equal(repaired.code, 0, repaired.err);
  assert.match(repaired.err, /Repaired \(audit entry #2\): line 2 of log\.jsonl was incomplete \(29 bytes, no newline\): an interrupted write, cut/);
  const entries = readFileSync(log, 'utf8').trim().split('\n').map(l => JSON.parse(l));
  assert.deepEqual(entries.map(e => [e.seq, e.action, e.version, e.actor]), [[1, 'accept', 'site-1', 'Dr A'], [2, 'repair', 'site-1', 'Dr Fix']]);
  assert.equal(Buffer.from(entries[1].repair.cutBase64, 'base64').toString('utf8'), torn);
  const history = await run('--history', '--manifest', MANIFEST, '--store', store);
  assert.equal(history.code, 0, history.err);
  assert.match(history.out, /#2 .* Dr Fix: repair \(torn-tail\): line 2 of log\.jsonl was incomplete .*; site-1 stays active/);
  assert.match((await run('--repair', '--manifest', MANIFEST, '--store', store, '--actor', 'Dr Fix')).out, /Nothing to repair/);
});

test('a fit after a crash that left an orphan overlay moves it aside with an audit entry, then is accepted', async () => {
  const csv = join(dir, 'orphan.csv');
  writeFileSync(csv, cohortCsv(160, { seed: 12 }));
  const store = await initialised('orphan');
  // What a crash between writing site-1's overlay and appending its log line leaves behind.
  writeFileSync(join(store, 'overlays', 'site-1.json'), '{"version":"site-1","half":"written"}\n');
  const fitted = await run('--scores', csv, '--manifest', MANIFEST, '--store', store, '--actor', 'Dr A');
  assert.equal(fitted.code, 0, fitted.err);
  assert.match(fitted.err, /Repaired \(audit entry #1\): overlays\/site-1\.json is an overlay no log entry accepted .*moved aside, not adopted/);
  assert.match(fitted.out, /Accepted: site-1 is active \(previous 1; audit entry #2/);
  const entries = readFileSync(join(store, 'log.jsonl'), 'utf8').trim().split('\n').map(l => JSON.parse(l));
  assert.deepEqual(entries.map(e => [e.action, e.version]), [['repair', '1'], ['accept', 'site-1']]);
  assert.equal(readFileSync(join(store, entries[0].repair.movedTo), 'utf8'), '{"version":"site-1","half":"written"}\n');
  assert.equal(JSON.parse(readFileSync(join(store, 'overlays/site-1.json'), 'utf8')).created.by, 'Dr A');
});

test("a target sensitivity below the minimum (the manifest's clinical target, raised only) is refused with the reason", async () => {
  const csv = join(dir, 'target.csv');
  writeFileSync(csv, cohortCsv(160, { seed: 13 }));
  const store = await initialised('target');
  const low = await run('--scores', csv, '--manifest', MANIFEST, '--store', store, '--actor', 'Dr A', '--target-sensitivity', '0.8');
  assert.equal(low.code, 2);
  assert.match(low.err, /Refused: target sensitivity 0\.8 is below the minimum 0\.9 this model's calibration may target/);
  assert.equal(readFileSync(join(store, 'log.jsonl'), 'utf8'), '');
  const lower = await run('--min-target-sensitivity', '0.85', '--manifest', MANIFEST, '--store', store, '--actor', 'Dr A');
  assert.equal(lower.code, 1);
  assert.match(lower.err, /can only be raised: 0\.85 is not above the current 0\.9 \(the manifest's clinical target\)/);
  const above = await run('--min-target-sensitivity', '0.95', '--manifest', MANIFEST, '--store', store, '--actor', 'Dr A');
  assert.match(above.err, /the active calibration "1" targets sensitivity 0\.9, below 0\.95: recalibrate at 0\.95 or more first/);
  assert.equal(readFileSync(join(store, 'log.jsonl'), 'utf8'), '');
  const history = await run('--history', '--manifest', MANIFEST, '--store', store);
  assert.match(history.out, /Minimum target sensitivity: 90\.0 %/);
});
