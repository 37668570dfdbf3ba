/**
 * ChestAidService.configure(): everything the service works with arrives in one ChestAidDeps, in
 * any order, before or after the manifest; a later call names only what changes, and ends where
 * one call with everything would have.
 */
import {
  type Analysis,
  calibrationName,
  SiteCalibrationLog,
  EMPTY_HEAD,
  FeedbackBook,
  MemorySiteCalibrationStore,
  MemoryFeedbackStore,
  parseManifest,
  type AuditEntry,
} from '@chestaid/core';
import { DEMO_SHA, demoManifestJson, overlayJson } from '@chestaid/core/testing';
import { resultKey } from '../inference';
import { ChestAidService } from './ChestAidService';
import type { Analyzer, ChestAidDeps } from './types';

const MANIFEST_URL = '/models/chestaid-demo/manifest.json';

function analyzerOf(modelSha256: string): Analyzer {
  return {
    modelSha256: () => modelSha256,
    analyze: async (target, manifest) => ({
      key: resultKey(target.sopInstanceUID, modelSha256),
      analysis: { probability: 0.7, calibrationVersion: manifest.calibration.version } as unknown as Analysis,
      run: { backend: 'wasm', threads: 1, reason: 'test', totalMs: 1, runMs: 1 },
    }),
  };
}

async function storeWithSite1(): Promise<MemorySiteCalibrationStore> {
  const store = new MemorySiteCalibrationStore();
  await new SiteCalibrationLog({ store, manifest: parseManifest(demoManifestJson()) }).accept(overlayJson(), { actor: 'Dr Admin', expectedHead: EMPTY_HEAD });
  return store;
}

function newService(): ChestAidService {
  return new ChestAidService({ fetchJson: async () => demoManifestJson(), storage: null });
}

/** The calibration in use by name (the identity's sha256 is checked in core's identity tests). */
function calibrationVersion(service: ChestAidService): string {
  const { model } = service.getState();
  return model.status === 'ready' ? calibrationName(model.info.calibrationVersion) : model.status;
}

describe('ChestAidService.configure', () => {
  it('ends in the same state whatever the order of the deps, before or after the manifest, in one call or several', async () => {
    const store = await storeWithSite1();
    const deps: ChestAidDeps = {
      analyzer: analyzerOf(DEMO_SHA),
      calibrationStoreFor: () => store,
      feedbackBook: new FeedbackBook({ store: new MemoryFeedbackStore() }),
      reader: ' Dr A ',
    };
    const reversed = Object.entries(deps).reverse();

    const before = newService();
    await before.configure(deps);
    await before.loadManifest(MANIFEST_URL);

    const after = newService();
    await after.loadManifest(MANIFEST_URL);
    await after.configure(Object.fromEntries(reversed) as ChestAidDeps);

    const oneByOne = newService();
    await oneByOne.loadManifest(MANIFEST_URL);
    for (const [name, value] of reversed) await oneByOne.configure({ [name]: value });

    for (const service of [before, after, oneByOne]) {
      expect(calibrationVersion(service)).toBe('site-1');
      expect(service.getState().feedback).toMatchObject({ reader: 'Dr A', available: true });
      expect(service.getAnalyzer()).toBe(deps.analyzer);
      expect(service.blocker()).toBeNull();
    }
  });

  it('keeps what a later call leaves out, and takes null as none', async () => {
    const service = newService();
    const analyzer = analyzerOf(DEMO_SHA);
    await service.loadManifest(MANIFEST_URL);
    await service.configure({ analyzer, feedbackBook: new FeedbackBook({ store: new MemoryFeedbackStore() }), reader: 'Dr A' });
    await service.configure({ reader: 'Dr B' });
    expect(service.getState().feedback).toMatchObject({ reader: 'Dr B', available: true });
    expect(service.getAnalyzer()).toBe(analyzer);

    await service.configure({ feedbackBook: null, reader: null, analyzer: null });
    expect(service.getState().feedback).toMatchObject({ reader: 'unknown', available: false });
    expect(service.blocker()).toBe('No analyzer is configured in this build of ChestAid.');
  });

  it("reads the log of the analyzer's own model bytes, whether the analyzer comes with the log or after it", async () => {
    const store = await storeWithSite1();
    const storeFor = (sha: string) => (sha === DEMO_SHA ? store : null);
    const placeholder = analyzerOf('ab'.repeat(32));

    const together = newService();
    await together.configure({ analyzer: analyzerOf(DEMO_SHA), calibrationStoreFor: storeFor });
    await together.loadManifest(MANIFEST_URL);

    const later = newService();
    await later.configure({ analyzer: placeholder, calibrationStoreFor: storeFor });
    await later.loadManifest(MANIFEST_URL);
    expect(calibrationVersion(later)).toBe('1');
    await later.configure({ analyzer: analyzerOf(DEMO_SHA) });

    expect(calibrationVersion(together)).toBe('site-1');
    expect(calibrationVersion(later)).toBe('site-1');
  });

  it('never rejects: a log that cannot be read blocks analysis with the reason, as at load', async () => {
    const store = await storeWithSite1();
    store.entries[0] = { ...(store.entries[0] as AuditEntry), threshold: 0.1 };
    const service = newService();
    await service.configure({ analyzer: analyzerOf(DEMO_SHA) });
    await service.loadManifest(MANIFEST_URL);
    expect(calibrationVersion(service)).toBe('1');

    await expect(service.configure({ calibrationStoreFor: () => store })).resolves.toBeUndefined();
    expect(service.getState().model.status).toBe('error');
    expect(service.blocker()).toMatch(/corrupt at entry 1/);
  });
});
