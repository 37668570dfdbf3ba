import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { FileSiteCalibrationStore } from '@chestaid/core/node';
import { calibrate, calibrationName, SiteCalibrationLog, type Classifier, EMPTY_HEAD, plattScale, readResultSr, type TrustedHeadMemory } from '@chestaid/core';
import { DEMO_SHA, demoManifest, overlayJson } from '@chestaid/core/testing';
import { CalibrationError, StateHeadMemory, trustedHeadKey, WatchedCalibration } from './calibration';
import { WorkerState } from './state';
import type { Logger, LogFields } from './log';
import { TriageWorker } from './worker';
import { FakePacs, bufferOf, ROOT } from './testing/fakePacs';

const base = demoManifest();
let dir: string;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'chestaid-worker-cal-'));
  await new FileSiteCalibrationStore(dir, { modelSha256: DEMO_SHA }).init('1');
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(`${dir}.state.json`, { force: true });
});

function versionsIn(calibrationDir: string): SiteCalibrationLog {
  return new SiteCalibrationLog({ store: new FileSiteCalibrationStore(calibrationDir, { modelSha256: DEMO_SHA }), manifest: base });
}

async function acceptSite1(calibrationDir = dir): Promise<void> {
  await versionsIn(calibrationDir).accept(overlayJson(), { actor: 'Dr Admin', expectedHead: EMPTY_HEAD });
}

const open = (calibrationDir: string | null = dir, trusted?: TrustedHeadMemory) =>
  WatchedCalibration.open({ dir: calibrationDir, manifest: base, modelSha256: DEMO_SHA, retryDelayMs: 1, trusted });

describe('WatchedCalibration', () => {
  it('refuses a directory without a log; reads an empty log as the manifest calibration, and picks up the first accepted overlay', async () => {
    await expect(open(join(dir, 'not-yet'))).rejects.toMatchObject({ kind: 'missing', message: expect.stringMatching(/not-yet\/log\.jsonl does not exist: .*--no-site-calibration/) });
    expect((await open(null)).state).toMatchObject({ version: '1', source: 'manifest', head: EMPTY_HEAD });

    const watched = await open();
    expect(watched.state).toMatchObject({ version: '1', source: 'manifest', head: EMPTY_HEAD });
    expect(await watched.check()).toBeNull();

    await acceptSite1();
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

  describe('fails closed, with the reason, on a log that is no longer the one it trusted', () => {
    /** A worker at site-2, its head remembered in a state file as a restart would find it. */
    async function atSite2() {
      await acceptSite1();
      const versions = versionsIn(dir);
      await versions.accept(overlayJson({ version: 'site-2', previous_version: 'site-1' }), { actor: 'Dr Admin', expectedHead: (await versions.history()).head });
      const state = WorkerState.open(`${dir}.state.json`);
      const memory = () => new StateHeadMemory(state, trustedHeadKey(DEMO_SHA, dir));
      const watched = await open(dir, memory());
      expect(watched.state).toMatchObject({ version: 'site-2', head: { seq: 2 } });
      const log = join(dir, 'log.jsonl');
      return { watched, memory, log, lines: readFileSync(log, 'utf8').split('\n'), state };
    }

    it('deleted while it runs: the next check stops it; the manifest calibration is never used', async () => {
      const { watched } = await atSite2();
      rmSync(dir, { recursive: true });
      await expect(watched.check()).rejects.toMatchObject({
        kind: 'missing',
        message: expect.stringMatching(/log\.jsonl does not exist, but this worker \(state file .*\) trusted its entry 2 \(hash [0-9a-f]{12}…\) on .*: it was deleted/),
      });
    });

    it('truncated, with active.json cut to match, seen again after a restart from the state file', async () => {
      const { memory, log, lines } = await atSite2();
      writeFileSync(log, `${lines[0]}\n`);
      const active = join(dir, 'active.json');
      writeFileSync(active, JSON.stringify({ ...JSON.parse(readFileSync(active, 'utf8')), head: { seq: 1, hash: JSON.parse(lines[0]).hash } }));
      const failure = await open(dir, memory()).then(() => null, (error: unknown) => error);
      expect(failure).toBeInstanceOf(CalibrationError);
      expect(failure).toMatchObject({ kind: 'truncated', message: expect.stringMatching(/it ends at entry 1, but this worker \(state file .*\) trusted entry 2/) });
    });

    it('rewound: rewritten from entry 2 on', async () => {
      const { watched, log, lines } = await atSite2();
      writeFileSync(log, `${lines[0]}\n`);
      rmSync(join(dir, 'active.json'));
      rmSync(join(dir, 'overlays', 'site-2.json'));
      await new FileSiteCalibrationStore(dir, { modelSha256: DEMO_SHA }).recover({ actor: 'Mallory', manifest: base });
      await expect(watched.check()).rejects.toMatchObject({ kind: 'rewound', message: expect.stringMatching(/its entry 2 has hash [0-9a-f]{12}…, but this worker .* trusted [0-9a-f]{12}… there/) });
    });

    it('torn: refused after its retries, naming the repair', async () => {
      const { watched, log } = await atSite2();
      writeFileSync(log, `${readFileSync(log, 'utf8')}{"seq":3,`);
      await expect(watched.check()).rejects.toMatchObject({ kind: 'torn', entry: 3, message: expect.stringMatching(/torn: its last line \(entry 3\) is incomplete.*chestaid-recalibrate --repair/) });
    });
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
  // Two inference passes over a demo study: about 4 s alone, past jest's 5 s default on a loaded machine.
  it('scores again under a version accepted while it runs: a second SR per image, its score the overlay calibration of the logit', async () => {
    const pacs = new FakePacs();
    pacs.add(bufferOf(join(ROOT, 'test/demo-studies/dicom/study-01.dcm')));
    const calibration = await open();
    const worker = new TriageWorker({ pacs, model: { manifest: calibration.state.manifest, sha256: DEMO_SHA, classifier }, calibration, logger: quiet });

    expect((await worker.runPass()).scored).toBe(1);
    expect((await worker.runPass()).scored).toBe(0);
    await acceptSite1();
    expect((await worker.runPass()).scored).toBe(1);
    expect(worker.scoring.calibrationVersion).toMatch(/^site-1\+sha256:[0-9a-f]{64}$/);
    const [changed] = quiet.events.filter(e => e.event === 'calibration-changed');
    expect([calibrationName(String(changed.from)), calibrationName(String(changed.to))]).toEqual(['1', 'site-1']);

    const results = pacs.instances.filter(i => i.modality === 'SR').map(i => readResultSr(i.bytes));
    expect(results.map(r => calibrationName(r.calibration.version))).toEqual(['1', 'site-1']);
    expect(results[1].calibration.version).toBe(worker.scoring.calibrationVersion);
    const site = results[1];
    expect(site.score).toBeCloseTo(plattScale(LOGIT, { a: 0.8, b: -0.4 }), 6);
    expect(site.threshold).toBe(0.62);
    expect(results[0].score).toBeCloseTo(calibrate(LOGIT, base.calibration), 6);

    // Rolled back: the results under "1" are in the PACS already; nothing is written.
    const versions = versionsIn(dir);
    await versions.rollbackTo('1', { actor: 'Dr Admin', expectedHead: (await versions.history()).head });
    expect(await worker.runPass()).toMatchObject({ scored: 0, skipped: 1 });
  }, 30_000);

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
