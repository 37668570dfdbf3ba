/**
 * OHIF notifications for Save to PACS (driven through ChestAidService with a fake archive) and for
 * stale results (a state source driven by hand).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import type { Analysis } from '@chestaid/core';
import { resultKey } from '../inference';
import { ChestAidService } from './ChestAidService';
import { saveNotification, watchNotifications, type Notification, type NotificationSource } from './notifications';
import { catalogueTranslator, setTranslator } from '../i18n/translate';
import type { AnalysisOutcome, AnalysisTarget, ArchiveLookup, ArchiveSave, ChestAidState, ResultArchive } from './types';

const manifestJson = () => JSON.parse(readFileSync(resolve(__dirname, '../../../models/chestaid-demo/manifest.json'), 'utf8'));

const target: AnalysisTarget = {
  viewportId: 'default',
  displaySetInstanceUID: 'ds-1',
  imageId: 'wadors:/pacs/1',
  sopInstanceUID: '2.25.1.1',
  modality: 'CR',
  studyInstanceUID: '2.25.1',
  seriesInstanceUID: '2.25.1.0',
};

const outcomeOf = (t: AnalysisTarget): AnalysisOutcome => ({
  key: resultKey(t.sopInstanceUID, manifestJson().onnx.sha256),
  analysis: { modelId: 'chestaid-demo', modelVersion: '1', probability: 0.8, logit: 1.4, calibrationVersion: '1' } as unknown as Analysis,
  run: { backend: 'wasm', threads: 2, reason: '', totalMs: 90, runMs: 70 },
});

const flush = () => new Promise(done => setTimeout(done, 0));

async function serviceWith(answer: () => Promise<ArchiveSave>, held: ArchiveLookup = { status: 'absent' }) {
  const archive: ResultArchive = { unavailableReason: () => null, find: async () => held, save: answer };
  const service = new ChestAidService({ fetchJson: async () => manifestJson(), storage: null });
  await service.loadManifest('/manifest.json');
  await service.configure({ analyzer: { modelSha256: m => m.onnx.sha256, analyze: async t => outcomeOf(t) }, archive });
  service.setStudyModalities(['CR']);
  const shown: Notification[] = [];
  watchNotifications(service, { show: n => shown.push(n) });
  return { service, shown };
}

describe('notifications of Save to PACS', () => {
  it("are worded in the reader's language", () => {
    setTranslator(catalogueTranslator('es'));
    try {
      expect(saveNotification({ status: 'saving' }, { status: 'saved', srSopInstanceUID: '9.9.1', heatmapProblem: null })).toEqual({
        title: 'Guardado en el PACS',
        message: 'Guardado en el PACS como DICOM SR 9.9.1.',
        type: 'success',
        duration: 5000,
      });
    } finally {
      setTranslator(catalogueTranslator('en'));
    }
  });

  it('tells a save that landed, once, as a success naming the SR', async () => {
    const { service, shown } = await serviceWith(async () => ({ status: 'saved', srSopInstanceUID: '9.9.1', heatmapProblem: null }));
    await service.analyze(target);
    await flush();
    expect(shown).toEqual([]);
    await service.saveToPacs();
    await flush();
    expect(shown).toEqual([{ title: 'Saved to the PACS', message: 'Saved to the PACS as DICOM SR 9.9.1.', type: 'success', duration: 5000 }]);
  });

  it('tells a failure as an error that stays longer, with the reason and that the result is kept', async () => {
    const { service, shown } = await serviceWith(async () => ({ status: 'failed', kind: 'unreachable', message: 'connect ECONNREFUSED' }));
    await service.analyze(target);
    await service.saveToPacs();
    await flush();
    expect(shown).toHaveLength(1);
    expect(shown[0]).toMatchObject({ title: 'Not saved to the PACS', type: 'error', duration: 15000 });
    expect(shown[0].message).toContain('The PACS cannot be reached; the result is kept in this browser');
    expect(shown[0].message).toContain('connect ECONNREFUSED');
  });

  it('stays quiet when opening an image finds its result already in the PACS (no save was asked for)', async () => {
    const held: ArchiveLookup = {
      status: 'found',
      score: { verdict: 'verified', probability: 0.8, srSopInstanceUID: '9.9.2', observedAt: '2026-12-01T10:00:00Z', modelId: 'chestaid-demo', modelVersion: '1' },
    };
    const { service, shown } = await serviceWith(async () => ({ status: 'saved', srSopInstanceUID: 'x', heatmapProblem: null }), held);
    service.setActiveImage(target);
    expect(service.getState().archive.status).toBe('checking');
    await flush();
    expect(service.getState().archive.status).toBe('already-saved');
    expect(shown).toEqual([]);
  });
});

describe('notifications of stale results', () => {
  function source() {
    let state = { archive: { status: 'idle' }, analysis: { status: 'idle' } } as unknown as ChestAidState;
    let listener: () => void = () => undefined;
    const src: NotificationSource = {
      EVENTS: { STATE_CHANGED: 'changed' },
      getState: () => state,
      subscribe: (_event, l) => {
        listener = l;
        return { unsubscribe: () => undefined };
      },
    };
    const set = (analysis: object) => {
      state = { ...state, analysis } as ChestAidState;
      listener();
    };
    return { src, set };
  }
  const stale = (sop: string, calibrationVersion: string) => ({ status: 'stale', target: { ...target, sopInstanceUID: sop }, outcome: outcomeOf(target), calibrationVersion });

  it('tells a stale result once per image and calibration, as a warning saying to re-analyze', () => {
    const { src, set } = source();
    const shown: Notification[] = [];
    watchNotifications(src, { show: n => shown.push(n) });
    set(stale('1', '1'));
    set({ status: 'idle' });
    set(stale('1', '1'));
    expect(shown).toEqual([
      { title: 'Stale result', message: 'Computed under calibration v1, which is no longer active; re-analyze for a current score.', type: 'warning', duration: 15000 },
    ]);
    set(stale('2', '1'));
    set(stale('1', 'site-2'));
    expect(shown).toHaveLength(3);
  });
});
