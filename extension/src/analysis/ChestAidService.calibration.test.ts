/**
 * ChestAidService with a calibration log and a feedback book: the active version is the manifest
 * analyses run under and the label shown beside scores; a change makes earlier results stale,
 * announces itself, and a corrupt log blocks analysis with the reason.
 */
import { mkdtempSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  type Analysis,
  type AuditEntry,
  calibrate,
  type SiteCalibrationStore,
  SiteCalibrationLog,
  ConflictError,
  EMPTY_HEAD,
  FeedbackBook,
  type Manifest,
  MemorySiteCalibrationStore,
  MemoryFeedbackStore,
  parseManifest,
} from '@chestaid/core';
import { FileSiteCalibrationStore } from '@chestaid/core/node';
import { applyOverlay, calibrationName, parseOverlay, withCalibrationIdentity } from '@chestaid/core';
import { BrowserHeadMemory, ServedSiteCalibrationStore, type FetchText } from '../siteCalibration/servedCalibration';
import { DEMO_SHA, demoManifestJson, overlayJson } from '@chestaid/core/testing';
import { resultKey } from '../inference';
import { outcomeStoreOver } from '../triage/outcomeStore';
import { MemoryResultStore } from '../triage/resultStore';
import { ChestAidService, EVENTS } from './ChestAidService';
import type { AnalysisOutcome, AnalysisTarget, Analyzer } from './types';

const LOGIT = 1.3;

function targetOf(n: number): AnalysisTarget {
  return {
    viewportId: 'default',
    displaySetInstanceUID: `ds-${n}`,
    imageId: `dicomweb:/demo/${n}.dcm`,
    sopInstanceUID: `2.25.${n}.1`,
    modality: 'CR',
    studyInstanceUID: `2.25.${n}`,
    seriesInstanceUID: `2.25.${n}.0`,
  };
}

/** An analyzer that calibrates a fixed logit with the manifest it is given, as core analyze() does. */
function calibratingAnalyzer() {
  const manifests: Manifest[] = [];
  const analyzer: Analyzer = {
    modelSha256: manifest => manifest.onnx.sha256,
    analyze: async (target, manifest) => {
      manifests.push(manifest);
      const probability = calibrate(LOGIT, manifest.calibration);
      return {
        key: resultKey(target.sopInstanceUID, manifest.onnx.sha256),
        analysis: {
          logit: LOGIT,
          probability,
          calibrationMethod: manifest.calibration.selected,
          calibrationVersion: manifest.calibration.version,
          decision: { probability, threshold: manifest.thresholds.clinical.value, above: probability >= manifest.thresholds.clinical.value },
        } as unknown as Analysis,
        run: { backend: 'wasm', threads: 2, reason: 'test', totalMs: 1, runMs: 1 },
      } satisfies AnalysisOutcome;
    },
  };
  return { analyzer, manifests };
}

const flush = () => new Promise(done => setTimeout(done, 0));

async function serviceOver(store: SiteCalibrationStore | null, extra: { feedback?: FeedbackBook } = {}) {
  const { analyzer, manifests } = calibratingAnalyzer();
  const service = new ChestAidService({ fetchJson: async () => demoManifestJson(), storage: null });
  const changes: string[] = [];
  service.subscribe(EVENTS.CALIBRATION_CHANGED, state => changes.push(state.model.status === 'ready' ? state.model.info.calibrationVersion : state.model.status));
  await service.configure({ analyzer, calibrationStoreFor: store ? () => store : null, feedbackBook: extra.feedback });
  await service.loadManifest('/models/chestaid-demo/manifest.json').catch(() => undefined);
  service.setStudyModalities(['CR']);
  return { service, manifests, changes };
}

async function storeWithSite1() {
  const store = new MemorySiteCalibrationStore();
  await new SiteCalibrationLog({ store, manifest: parseManifest(demoManifestJson()) }).accept(overlayJson(), { actor: 'Dr Admin', expectedHead: EMPTY_HEAD });
  return store;
}

const plattP = 1 / (1 + Math.exp(-(0.8 * LOGIT - 0.4)));

describe('ChestAidService.verifyContext', () => {
  it("checks PACS results against the model in use and every calibration its log holds, by identity, never by name", async () => {
    const { service } = await serviceOver(await storeWithSite1());
    const context = await service.verifyContext();
    expect(context).toMatchObject({ modelSha256: DEMO_SHA, deviceUID: (demoManifestJson().model as { device_uid: string }).device_uid });
    const active = service.getManifest()!;
    expect(await context!.calibrationOf(active.calibration.version)).toBe(active);
    // The manifest's own calibration, which results written before site-1 are under.
    const base = await withCalibrationIdentity(parseManifest(demoManifestJson()));
    expect((await context!.calibrationOf(base.calibration.version))?.thresholds.clinical.value).toBe(base.thresholds.clinical.value);
    // Another log's site-1, and bare names, are no calibration of this site.
    const elsewhere = await withCalibrationIdentity(applyOverlay(parseManifest(demoManifestJson()), parseOverlay(overlayJson({ created: { by: 'Dr Elsewhere', at: '2026-11-26T12:00:00Z' } }))));
    expect(elsewhere.calibration.version).not.toBe(active.calibration.version);
    expect(await context!.calibrationOf(elsewhere.calibration.version)).toBeNull();
    expect(await context!.calibrationOf('site-1')).toBeNull();
  });

  it('has nothing to check against when the manifest could not be loaded', async () => {
    const service = new ChestAidService({ fetchJson: async () => Promise.reject(new Error('404')), storage: null });
    await service.loadManifest('/nowhere.json').catch(() => undefined);
    expect(await service.verifyContext()).toBeNull();
  });
});

describe('ChestAidService with a calibration log', () => {
  it('applies the active site version after the manifest: analyses run under it and it is named beside the score', async () => {
    const { service, manifests } = await serviceOver(await storeWithSite1());
    const { model, threshold } = service.getState();
    expect(model.status === 'ready' && model.info).toMatchObject({
      calibrationVersion: expect.stringMatching(/^site-1\+sha256:[0-9a-f]{64}$/),
      calibrationMethod: 'platt',
      calibrationLabel: 'calibration site-1 (site, 11/26/2026)',
      calibration: { source: 'site', createdBy: 'Dr Admin', cohortN: 200 },
    });
    expect(threshold).toEqual({ value: 0.62, clinical: 0.62, custom: false });
    await service.analyze(targetOf(1));
    expect(calibrationName(manifests[0].calibration.version)).toBe('site-1');
    const { analysis } = service.getState();
    expect(analysis.status).toBe('done');
    expect(analysis.status === 'done' && analysis.outcome.analysis.probability).toBeCloseTo(plattP, 12);
    expect(analysis.status === 'done' && calibrationName(analysis.outcome.analysis.calibrationVersion)).toBe('site-1');
  });

  it('uses the manifest calibration when the log is empty or none is configured', async () => {
    for (const store of [new MemorySiteCalibrationStore(), null]) {
      const { service } = await serviceOver(store);
      const { model } = service.getState();
      expect(model.status === 'ready' && model.info.calibrationLabel).toBe('calibration v1 (training, 11/26/2026)');
    }
  });

  it('on accept and rollback: announces the change, marks the earlier result stale, and re-analysis gives a current one', async () => {
    const store = new MemorySiteCalibrationStore();
    const results = new MemoryResultStore();
    const { service, changes } = await serviceOver(store);
    await service.configure({ outcomeStore: outcomeStoreOver(results) });
    const target = targetOf(2);
    await service.analyze(target);
    expect(service.getState().analysis.status).toBe('done');

    await service.acceptCalibration(overlayJson(), { actor: 'Dr Admin', expectedHead: EMPTY_HEAD });
    expect(changes.map(calibrationName)).toEqual(['site-1']);
    expect(service.getState().analysis).toMatchObject({ status: 'stale', calibrationVersion: expect.stringMatching(/^1\+sha256:/) });
    expect(service.getState().images).toEqual([]);
    expect(service.outcomeForImage(target.sopInstanceUID)).toBeNull();

    await service.analyze(target);
    const fresh = service.getState().analysis;
    expect(fresh.status === 'done' && calibrationName(fresh.outcome.analysis.calibrationVersion)).toBe('site-1');
    expect(fresh.status === 'done' && fresh.outcome.analysis.probability).toBeCloseTo(plattP, 12);
    await flush();
    // Both results are stored, each under its own version.
    const stored = (await results.forStudies(['2.25.2'])).get('2.25.2') ?? [];
    expect(stored.map(r => calibrationName(r.calibrationVersion)).sort()).toEqual(['1', 'site-1']);

    const { head } = await service.calibrationHistory();
    await service.rollbackTo('1', { actor: 'Dr Admin', expectedHead: head });
    expect(changes.map(calibrationName)).toEqual(['site-1', '1']);
    const history = await service.calibrationHistory();
    expect(history.entries.map(e => e.action)).toEqual(['accept', 'rollback']);
    // The score stored under v1 is current again; the site-1 one in memory is not shown as current.
    await flush();
    const back = service.getState().analysis;
    expect(back.status === 'done' ? calibrationName(back.outcome.analysis.calibrationVersion) : back.status).toBe('1');
  });

  it('marks a study image row stale after a change', async () => {
    const { service } = await serviceOver(new MemorySiteCalibrationStore());
    const target = targetOf(3);
    service.setStudyImages([{ ...target, label: 'PA chest' }]);
    await service.analyze(target);
    expect(service.getState().images.map(r => r.status)).toEqual(['done']);
    await service.acceptCalibration(overlayJson(), { actor: 'A', expectedHead: EMPTY_HEAD });
    expect(service.getState().images.map(r => r.status)).toEqual(['stale']);
  });

  it('refuses a change prepared on an older head with a ConflictError, and keeps the active version', async () => {
    const store = await storeWithSite1();
    const { service, changes } = await serviceOver(store);
    await expect(
      service.acceptCalibration(overlayJson({ version: 'site-2', previous_version: 'site-1' }), { actor: 'Dr B', expectedHead: EMPTY_HEAD }),
    ).rejects.toThrow(ConflictError);
    expect(changes).toEqual([]);
    const { model } = service.getState();
    expect(model.status === 'ready' && calibrationName(model.info.calibrationVersion)).toBe('site-1');
  });

  it('blocks analysis with the reason when the log is corrupt, and leaves the log as it is', async () => {
    const store = await storeWithSite1();
    store.entries[0] = { ...(store.entries[0] as AuditEntry), threshold: 0.1 };
    const before = JSON.stringify(store.entries);
    const { service } = await serviceOver(store);
    const { model } = service.getState();
    expect(model.status).toBe('error');
    expect(model.status === 'error' && model.message).toMatch(
      /^Model manifest \/models\/chestaid-demo\/manifest\.json: calibration: the calibration audit log is corrupt at entry 1: its content does not match its hash/,
    );
    expect(service.blocker()).toMatch(/corrupt at entry 1/);
    expect(JSON.stringify(store.entries)).toBe(before);
  });

  it("reads a deployment's log served next to the model, as the CLI wrote it", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chestaid-served-'));
    const file = new FileSiteCalibrationStore(dir, { modelSha256: DEMO_SHA });
    await file.init('1');
    await new SiteCalibrationLog({ store: file, manifest: parseManifest(demoManifestJson()) }).accept(overlayJson(), { actor: 'CLI admin', expectedHead: EMPTY_HEAD });
    const fetched: string[] = [];
    const served = new ServedSiteCalibrationStore(SERVED, {
      fetchText: async url => {
        fetched.push(url);
        return serveFrom(dir)(url);
      },
    });
    const { service } = await serviceOver(served);
    const { model } = service.getState();
    expect(model.status === 'ready' && calibrationName(model.info.calibrationVersion)).toBe('site-1');
    expect(fetched).toEqual([
      'https://pacs.example/models/chestaid-demo/calibration/log.jsonl',
      'https://pacs.example/models/chestaid-demo/calibration/active.json',
      'https://pacs.example/models/chestaid-demo/calibration/overlays/site-1.json',
    ]);
    await expect(service.rollbackTo('1', { actor: 'viewer', expectedHead: { seq: 1, hash: 'x' } })).rejects.toThrow();
  });
});

const SERVED = 'https://pacs.example/models/chestaid-demo/calibration/';

/** A web server over `dir`, as the deployment serves `<model dir>/calibration/`: 404 for what is not there. */
function serveFrom(dir: string): FetchText {
  return async url =>
    fs.readFile(join(dir, url.replace(SERVED, '')), 'utf8').then(
      text => ({ status: 200, text: async () => text }),
      () => ({ status: 404, text: async () => '' }),
    );
}

describe('ChestAidService over a served log that can no longer be trusted', () => {
  /** A deployment at site-2 (two accepts), served, read once by a browser that remembers its head. */
  async function servedDeployment() {
    const dir = mkdtempSync(join(tmpdir(), 'chestaid-served-'));
    const file = new FileSiteCalibrationStore(dir, { modelSha256: DEMO_SHA });
    await file.init('1');
    const writer = new SiteCalibrationLog({ store: file, manifest: parseManifest(demoManifestJson()) });
    const first = await writer.accept(overlayJson(), { actor: 'CLI admin', expectedHead: EMPTY_HEAD });
    await writer.accept(overlayJson({ version: 'site-2', previous_version: 'site-1' }), { actor: 'CLI admin', expectedHead: { seq: 1, hash: first.hash } });
    const storage = new Map<string, string>();
    const trusted = new BrowserHeadMemory({ getItem: k => storage.get(k) ?? null, setItem: (k, v) => void storage.set(k, v) }, 'head');
    const served = new ServedSiteCalibrationStore(SERVED, { fetchText: serveFrom(dir), trusted, modelSha256: DEMO_SHA });
    const { service } = await serviceOver(served);
    const { model } = service.getState();
    expect(model.status === 'ready' && calibrationName(model.info.calibrationVersion)).toBe('site-2');
    expect(JSON.parse(storage.get('head') as string)).toMatchObject({ seq: 2 });
    return { dir, service, log: join(dir, 'log.jsonl'), active: join(dir, 'active.json') };
  }

  /** The reason analysis is blocked with, after the log is read again. */
  async function blockedWith(service: ChestAidService): Promise<string> {
    await service.reloadCalibration().catch(() => undefined);
    const { model } = service.getState();
    expect(model.status).toBe('error');
    expect(service.blocker()).toBe(model.status === 'error' ? model.message : null);
    return model.status === 'error' ? model.message : '';
  }

  it('refuses a deleted log (a 404), naming the entry this browser trusted, rather than using the manifest calibration', async () => {
    const { dir, service } = await servedDeployment();
    await fs.rm(dir, { recursive: true });
    expect(await blockedWith(service)).toMatch(
      /calibration: the calibration log is missing: the served calibration log https:\/\/pacs\.example\/.*\/log\.jsonl does not exist, but this browser trusted its entry 2 \(hash [0-9a-f]{12}…\) on .*: it was deleted/,
    );
  });

  it('refuses a 404 even in a browser that never read the log: served calibration is configured', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chestaid-served-none-'));
    const { service } = await serviceOver(new ServedSiteCalibrationStore(SERVED, { fetchText: serveFrom(dir) }));
    expect(service.getState().model).toMatchObject({ status: 'error', message: expect.stringMatching(/log\.jsonl does not exist: .*calibrationSource 'none'/) });
  });

  it('refuses a truncated log, though active.json was cut back to match it', async () => {
    const { service, log, active } = await servedDeployment();
    const lines = (await fs.readFile(log, 'utf8')).split('\n');
    await fs.writeFile(log, `${lines[0]}\n`);
    const pointer = JSON.parse(await fs.readFile(active, 'utf8'));
    await fs.writeFile(active, JSON.stringify({ ...pointer, head: { seq: 1, hash: JSON.parse(lines[0]).hash } }));
    expect(await blockedWith(service)).toMatch(/calibration: the calibration log is truncated: it ends at entry 1, but this browser trusted entry 2/);
  });

  it('refuses a log rewound to entry 1 and written on again', async () => {
    const { dir, service, log } = await servedDeployment();
    const lines = (await fs.readFile(log, 'utf8')).split('\n');
    await fs.writeFile(log, `${lines[0]}\n`);
    await fs.rm(join(dir, 'overlays', 'site-2.json'));
    await fs.rm(join(dir, 'active.json'));
    const file = new FileSiteCalibrationStore(dir, { modelSha256: DEMO_SHA });
    await file.recover({ actor: 'Mallory', manifest: parseManifest(demoManifestJson()) });
    expect(await blockedWith(service)).toMatch(/calibration: the calibration log is rewound: its entry 2 has hash [0-9a-f]{12}…, but this browser trusted [0-9a-f]{12}… there/);
  });

  it('refuses a torn last line, saying how an administrator repairs it', async () => {
    const { service, log } = await servedDeployment();
    await fs.appendFile(log, '{"seq":3,"at":"2026-');
    expect(await blockedWith(service)).toMatch(
      /calibration: the calibration audit log is torn: its last line \(entry 3\) is incomplete, an interrupted write \(line 3 of the served log\.jsonl is incomplete \(no newline\)\).*chestaid-recalibrate --repair --actor NAME/,
    );
  });
});

describe('ChestAidService feedback', () => {
  it('records the ground truth with the logit, score, calibration version, decision and reader, and shows it', async () => {
    const store = new MemoryFeedbackStore();
    const { service } = await serviceOver(await storeWithSite1(), { feedback: new FeedbackBook({ store }) });
    await service.configure({ reader: 'Dr Reader' });
    const target = targetOf(4);
    await service.analyze(target);
    await service.recordFeedback('pneumonia', 'right lower lobe');
    const [entry] = await store.list();
    expect(entry).toMatchObject({
      studyInstanceUID: '2.25.4',
      seriesInstanceUID: '2.25.4.0',
      sopInstanceUID: '2.25.4.1',
      modelSha256: DEMO_SHA,
      calibrationVersion: expect.stringMatching(/^site-1\+sha256:[0-9a-f]{64}$/),
      logit: LOGIT,
      decision: { above: plattP >= 0.62, threshold: 0.62 },
      label: 'pneumonia',
      comment: 'right lower lobe',
      reader: 'Dr Reader',
    });
    expect(entry.score).toBeCloseTo(plattP, 12);
    expect(service.getState().feedback).toMatchObject({ status: 'saved', mine: { label: 'pneumonia' }, conflict: false });
  });

  it('asks a reader function at each record: the logged-in user, who may arrive after registration', async () => {
    const store = new MemoryFeedbackStore();
    const { service } = await serviceOver(null, { feedback: new FeedbackBook({ store }) });
    let loggedIn: string | null = null;
    await service.configure({ reader: () => loggedIn });
    await service.analyze(targetOf(7));
    expect(service.getState().feedback.reader).toBe('unknown');
    loggedIn = 'Rita Reader';
    await service.recordFeedback('normal');
    expect((await store.list()).map(e => e.reader)).toEqual(['Rita Reader']);
    expect(service.getState().feedback).toMatchObject({ reader: 'Rita Reader', mine: { reader: 'Rita Reader', label: 'normal' } });
  });

  it('flags a contradiction with another reader and keeps both', async () => {
    const store = new MemoryFeedbackStore();
    const book = new FeedbackBook({ store });
    const { service } = await serviceOver(null, { feedback: book });
    const target = targetOf(5);
    await service.analyze(target);
    await service.configure({ reader: 'Dr A' });
    await service.recordFeedback('normal');
    await service.configure({ reader: 'Dr B' });
    await service.recordFeedback('pneumonia');
    expect(service.getState().feedback).toMatchObject({ conflict: true, mine: { reader: 'Dr B', label: 'pneumonia' }, others: [{ reader: 'Dr A', label: 'normal' }] });
    expect(await book.feedbackConflicts()).toHaveLength(1);
    expect(await store.list()).toHaveLength(2);
  });

  it('refuses feedback on a stale or missing result, saying why', async () => {
    const { service } = await serviceOver(new MemorySiteCalibrationStore(), { feedback: new FeedbackBook({ store: new MemoryFeedbackStore() }) });
    await service.recordFeedback('normal');
    expect(service.getState().feedback).toMatchObject({ status: 'error', message: 'Feedback answers a current result: analyze the image first.' });
    await service.analyze(targetOf(6));
    await service.acceptCalibration(overlayJson(), { actor: 'A', expectedHead: EMPTY_HEAD });
    await service.recordFeedback('normal');
    expect(service.getState().feedback.message).toBe('Feedback answers a current result: analyze the image first.');
  });
});
