import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { FileSiteCalibrationStore } from '@chestaid/core/node';
import { calibrate, calibrationName, SiteCalibrationLog, type Classifier, EMPTY_HEAD, plattScale, readResultSr } from '@chestaid/core';
import { DEMO_SHA, demoManifest, overlayJson } from '@chestaid/core/testing';
import { CalibrationError, WatchedCalibration } from './calibration';
import type { Logger, LogFields } from './log';
import { TriageWorker } from './worker';
import { FakePacs, bufferOf, ROOT } from './testing/fakePacs';

const base = demoManifest();
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'chestaid-worker-cal-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function versionsIn(calibrationDir: string): SiteCalibrationLog {
  return new SiteCalibrationLog({ store: new FileSiteCalibrationStore(calibrationDir, { modelSha256: DEMO_SHA }), manifest: base });
}

async function acceptSite1(calibrationDir = dir): Promise<void> {
  await versionsIn(calibrationDir).accept(overlayJson(), { actor: 'Dr Admin', expectedHead: EMPTY_HEAD });
}

const open = (calibrationDir: string | null = dir) => WatchedCalibration.open({ dir: calibrationDir, manifest: base, modelSha256: DEMO_SHA, retryDelayMs: 1 });

describe('WatchedCalibration', () => {
  it('uses the manifest calibration while the directory holds no log, and picks up the first accepted overlay', async () => {
    const watched = await open(join(dir, 'not-yet'));
    expect(watched.state).toMatchObject({ version: '1', source: 'manifest', head: EMPTY_HEAD });
    expect(await watched.check()).toBeNull();

    await acceptSite1(join(dir, 'not-yet'));
    const changed = await watched.check();
    expect(changed).toMatchObject({ version: 'site-1', source: 'site', head: { seq: 1 } });
    // The overlay applied as the viewer applies it: Platt a=0.8, b=-0.4 and its threshold.
    expect(calibrate(1.5, changed!.manifest.calibration)).toBeCloseTo(plattScale(1.5, { a: 0.8, b: -0.4 }), 12);
    expect(changed!.manifest.thresholds.clinical.value).toBe(0.62);
    expect(await watched.check()).toBeNull();
  });

  it('opens on the active site version, and goes back to the manifest calibration on a rollback', async () => {
    await acceptSite1();
    const watched = await open();
    expect(watched.state).toMatchObject({ version: 'site-1', source: 'site' });
    const versions = versionsIn(dir);
    await versions.rollbackTo('1', { actor: 'Dr Admin', expectedHead: (await versions.history()).head });
    expect(await watched.check()).toMatchObject({ version: '1', source: 'manifest', head: { seq: 2 } });
  });

  it('refuses a tampered log at start, naming the entry, rather than falling back to the manifest', async () => {
    await acceptSite1();
    const log = join(dir, 'log.jsonl');
    writeFileSync(log, readFileSync(log, 'utf8').replace('"actor":"Dr Admin"', '"actor":"Dr Mallory"'));
    const failure = await open().then(() => null, (error: unknown) => error);
    expect(failure).toBeInstanceOf(CalibrationError);
    expect(failure).toMatchObject({ entry: 1, message: expect.stringMatching(/corrupt at entry 1: its content does not match its hash/) });
  });

  it('notices an overlay file changed after it was accepted, and refuses it by the hash the log recorded', async () => {
    await acceptSite1();
    const watched = await open();
    const file = join(dir, 'overlays', 'site-1.json');
    writeFileSync(file, readFileSync(file, 'utf8').replace('"a": 0.8', '"a": 0.9'));
    await expect(watched.check()).rejects.toThrow(/entry 1: the stored overlay of version "site-1" does not match the hash/);
  });

  it('does not re-read an unchanged log', async () => {
    await acceptSite1();
    const watched = await open();
    const spy = jest.spyOn(FileSiteCalibrationStore.prototype, 'readEntries');
    try {
      expect(await watched.check()).toBeNull();
      expect(spy).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
  });
});

const LOGIT = 1.25;
const classifier: Classifier = {
  async run() {
    return { logit: LOGIT, cam: new Float32Array(49).fill(0.5), camDims: [7, 7] };
  },
};
const quiet: Logger & { events: (LogFields & { event: string })[] } = {
  events: [],
  log(_level, event, fields = {}) {
    this.events.push({ event, ...fields });
  },
};

describe('TriageWorker with a site calibration', () => {
  it('scores again under a version accepted while it runs: a second SR per image, its score the overlay calibration of the logit', async () => {
    const pacs = new FakePacs();
    pacs.add(bufferOf(join(ROOT, 'test/demo-studies/dicom/study-01.dcm')));
    const calibration = await open();
    const worker = new TriageWorker({ pacs, model: { manifest: calibration.state.manifest, sha256: DEMO_SHA, classifier }, calibration, logger: quiet });

    expect((await worker.runPass()).scored).toBe(1);
    expect((await worker.runPass()).scored).toBe(0);
    await acceptSite1();
    expect((await worker.runPass()).scored).toBe(1);
    expect(worker.calibrationVersion).toMatch(/^site-1\+sha256:[0-9a-f]{64}$/);
    const [changed] = quiet.events.filter(e => e.event === 'calibration-changed');
    expect([calibrationName(String(changed.from)), calibrationName(String(changed.to))]).toEqual(['1', 'site-1']);

    const results = pacs.instances.filter(i => i.modality === 'SR').map(i => readResultSr(i.bytes));
    expect(results.map(r => calibrationName(r.calibration.version))).toEqual(['1', 'site-1']);
    expect(results[1].calibration.version).toBe(worker.calibrationVersion);
    const site = results[1];
    expect(site.score).toBeCloseTo(plattScale(LOGIT, { a: 0.8, b: -0.4 }), 6);
    expect(site.threshold).toBe(0.62);
    expect(results[0].score).toBeCloseTo(calibrate(LOGIT, base.calibration), 6);

    // Rolled back: the results under "1" are in the PACS already; nothing is written.
    const versions = versionsIn(dir);
    await versions.rollbackTo('1', { actor: 'Dr Admin', expectedHead: (await versions.history()).head });
    expect(await worker.runPass()).toMatchObject({ scored: 0, skipped: 1 });
  });

  it('stops before a pass when the log stops verifying, scoring nothing', async () => {
    await acceptSite1();
    const pacs = new FakePacs();
    pacs.add(bufferOf(join(ROOT, 'test/demo-studies/dicom/study-01.dcm')));
    const calibration = await open();
    const worker = new TriageWorker({ pacs, model: { manifest: calibration.state.manifest, sha256: DEMO_SHA, classifier }, calibration, logger: quiet });
    writeFileSync(join(dir, 'log.jsonl'), '{"seq":1}\n');
    await expect(worker.runPass()).rejects.toThrow(CalibrationError);
    expect(pacs.calls).toEqual([]);
  });
});
