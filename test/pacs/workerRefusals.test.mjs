// The triage worker against a real Orthanc holding images the model card excludes (a lateral
// view, a FOR PROCESSING DX, an infant's study) or that are no chest radiograph under the tags of
// one (each out-of-distribution class of the training report; scripts/make-demo-studies.mjs
// REFUSED_STUDIES)
// beside a frontal demo radiograph: each is recorded as not analyzed with the gate's or the input
// check's reason (log and state file), gets no SR and no heatmap, is not a failure (exit code 0,
// nothing dead-lettered), and is not fetched or refused again on the next pass; the frontal one
// is scored as usual.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { REFUSED_STUDIES, writeRefusedStudies } from '../../scripts/make-demo-studies.mjs';
import { loadDemoStudies, startOrthanc } from './orthanc.mjs';
import { heatmaps, of, resultSrs, ROOT, runWorker } from './workerHarness.mjs';

const temp = mkdtempSync(join(tmpdir(), 'chestaid-worker-refusals-'));
after(() => rmSync(temp, { recursive: true, force: true }));

describe('images the model card excludes', () => {
  let pacs;
  let cases;
  const frontal = join(ROOT, 'test/demo-studies/dicom/study-02.dcm');
  const frontalSop = JSON.parse(readFileSync(join(ROOT, 'test/demo-studies/index.json'), 'utf8')).studies.find(s => s.name === 'study-02').SOPInstanceUID;
  before(async () => {
    cases = writeRefusedStudies();
    pacs = await startOrthanc();
    await loadDemoStudies(pacs.client, [frontal, ...cases.map(c => c.file)]);
  });
  after(async () => {
    await pacs?.stop();
  });

  const state = join(temp, 'state.json');
  let first;
  test('are recorded as not analyzed with the reason: no SR, no heatmap, no failure; the frontal image is scored', async () => {
    assert.equal(cases.length, REFUSED_STUDIES.cases.length);
    first = await runWorker(['--pacs', pacs.dicomWebUrl, '--state', state, '--once']);
    assert.equal(first.code, 0, first.stderr);
    const refused = of(first.events, 'not-analyzed');
    for (const kase of cases) {
      const event = refused.find(e => e.sop === kase.sopInstanceUID);
      assert.ok(event, `a not-analyzed event for the ${kase.name} image`);
      assert.equal(event.code, kase.code, kase.name);
      assert.match(event.reason, kase.reason, kase.name);
    }
    assert.equal(refused.length, cases.length);
    assert.equal(of(first.events, 'failed').length, 0);
    assert.equal(of(first.events, 'dead-lettered').length, 0);
    assert.deepEqual(of(first.events, 'scored').map(e => e.sop), [frontalSop], 'only the frontal image is scored');

    const srs = await resultSrs(pacs.client);
    const maps = await heatmaps(pacs.client);
    assert.deepEqual(srs.map(r => r.content.source.sopInstanceUID), [frontalSop]);
    assert.equal(maps.length, 1);
    const refusedSops = new Set(cases.map(c => c.sopInstanceUID));
    assert.ok(!srs.some(r => refusedSops.has(r.content.source.sopInstanceUID)), 'no SR for an image not analyzed');
    assert.ok(!maps.some(m => refusedSops.has(m.reference.source.sopInstanceUID)), 'no heatmap for an image not analyzed');

    const saved = JSON.parse(readFileSync(state, 'utf8'));
    assert.deepEqual(saved.failures, {});
    assert.deepEqual(saved.deadLetter, {});
    const entries = Object.values(saved.refused);
    assert.equal(entries.length, cases.length);
    for (const kase of cases) {
      const entry = entries.find(e => e.sopInstanceUID === kase.sopInstanceUID);
      assert.equal(entry?.code, kase.code, kase.name);
      assert.match(entry.reason, kase.reason);
    }
    const pass = of(first.events, 'pass').at(-1);
    assert.equal(pass.refused, cases.length);
    assert.equal(pass.failed, 0);
  });

  test('are skipped with their reason on the next run, never refused or written again', async () => {
    // Without the study memo, so that every study is examined again: the refusals kept in the
    // state file are what stops the worker fetching and refusing those images once more.
    const saved = JSON.parse(readFileSync(state, 'utf8'));
    writeFileSync(state, JSON.stringify({ ...saved, studies: {} }));
    const again = await runWorker(['--pacs', pacs.dicomWebUrl, '--state', state, '--once']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(of(again.events, 'not-analyzed').length, 0);
    const skipped = of(again.events, 'skipped');
    for (const kase of cases) {
      const event = skipped.find(e => e.sop === kase.sopInstanceUID);
      assert.ok(event, `the ${kase.name} image is skipped`);
      assert.match(event.reason, /^not analyzed: /);
    }
    assert.equal(of(again.events, 'stored').length, 0);
    assert.equal((await resultSrs(pacs.client)).length, 1);
  });
});
