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

async function run(...args) {
  const out = [];
  const err = [];
  const code = await main(args, { out: t => out.push(t), err: t => err.push(t), now: () => new Date('2026-11-26T12:00:00Z') });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

test('refuses a cohort below the minimums with every reason and writes nothing', async () => {
  const csv = join(dir, 'small.csv');
  writeFileSync(csv, cohortCsv(30));
  const store = join(dir, 'refused');
  const { code, err } = await run('--scores', csv, '--manifest', MANIFEST, '--store', store, '--actor', 'Dr A');
  assert.equal(code, 2);
  assert.match(err, /Refused/);
  assert.match(err, /only 30 labelled case\(s\).*at least 100/);
  assert.match(err, /synthetic data/);
  assert.equal(existsSync(join(store, 'log.jsonl')), false);
});

test('accepts a shifted cohort as site-1, shows it in the history, rolls back, and keeps both entries', async () => {
  const csv = join(dir, 'cohort.csv');
  writeFileSync(csv, cohortCsv(160));
  const store = join(dir, 'store');
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
  const store = join(dir, 'dry');
  const { code, out } = await run('--scores', csv, '--manifest', MANIFEST, '--store', store, '--dry-run');
  assert.equal(code, 0);
  assert.match(out, /Dry run: nothing written/);
  assert.equal(existsSync(join(store, 'log.jsonl')), false);
});

test('a tampered audit log is refused with the entry that broke the chain, and left as it is', async () => {
  const csv = join(dir, 'tamper.csv');
  writeFileSync(csv, cohortCsv(160, { seed: 5 }));
  const store = join(dir, 'tamper');
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
  assert.match((await run('--manifest', MANIFEST)).err, /exactly one of --scores, --images, --history, --rollback/);
  assert.match((await run('--manifest', MANIFEST, '--rollback', '1')).err, /--actor NAME is required/);
  const csv = join(dir, 'bad.csv');
  writeFileSync(csv, 'key,logit,label\nx,abc,normal\n');
  const bad = await run('--scores', csv, '--manifest', MANIFEST, '--dry-run', '--store', join(dir, 'bad'));
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
  const { code, err } = await run('--images', csv, '--manifest', MANIFEST, '--write-scores', scores, '--dry-run', '--store', join(dir, 'files'));
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
