import { SiteCalibrationLog, type FeedbackEntry, MemorySiteCalibrationStore, recalibrate } from '@chestaid/core';
import { demoManifest, DEMO_SHA } from '@chestaid/core/testing';
import { resultKey } from '../inference';
import type { AnalysisOutcome } from '../analysis/types';
import { RecalibrationService, type CalibrationDeps } from './RecalibrationService';
import { shiftedFeedback } from './testing';

function setup(feedback: FeedbackEntry[], extra: Partial<CalibrationDeps> = {}) {
  const store = new MemorySiteCalibrationStore();
  const versions = () => Promise.resolve(new SiteCalibrationLog({ store, manifest: demoManifest(), clock: () => new Date('2026-11-26T12:00:00Z') }));
  const activated = jest.fn();
  const service = new RecalibrationService();
  service.configure({
    versions,
    listFeedback: async () => feedback,
    analyze: async () => Promise.reject(new Error('no images here')),
    dataSource: () => undefined,
    recalibrate,
    activated,
    clock: () => new Date('2026-11-26T12:00:00Z'),
    ...extra,
  });
  return { service, store, versions, activated };
}

// A recalibration runs 10 x 5-fold cross-validation and 1,000 bootstrap replicates: about 0.3 s
// alone, several seconds on a loaded shared machine, past jest's default 5 s.
jest.setTimeout(30_000);

describe('RecalibrationService', () => {
  it('refuses a cohort below the minimums with the reasons, and fits nothing', async () => {
    const { service } = setup(shiftedFeedback(demoManifest(), 24));
    await service.open();
    await service.useFeedback();
    const { fit, cohort } = service.getState();
    expect(cohort).toMatchObject({ status: 'ready', source: 'feedback' });
    expect(fit.status).toBe('refused');
    expect(fit.status === 'refused' && fit.reasons.join(' ')).toMatch(/24/);
  });

  it('fits a shifted cohort, improves the held-out ECE, moves the threshold, and accepts it as site-1 under the admin\'s name', async () => {
    const { service, activated } = setup(shiftedFeedback(demoManifest(), 160));
    await service.open();
    await service.useFeedback();
    const { fit } = service.getState();
    if (fit.status !== 'ready') throw new Error(`fit ${fit.status}: ${JSON.stringify(fit)}`);
    expect(fit.report.after.heldOut.metrics.ece).toBeLessThan(fit.report.before.heldOut.metrics.ece);
    expect(fit.report.after.threshold).not.toBeCloseTo(fit.report.before.threshold, 2);

    await service.accept('Dr Admin');
    const state = service.getState();
    expect(state.change).toMatchObject({ status: 'done', entry: { action: 'accept', version: 'site-1', previousVersion: '1', actor: 'Dr Admin', cohort: { n: 160 } } });
    expect(state.model.status === 'ready' && state.model.history.active).toBe('site-1');
    expect(state.model.status === 'ready' && state.model.active.thresholds.clinical.value).toBe(fit.report.after.threshold);
    expect(activated).toHaveBeenCalledTimes(1);
    // The fit was against version 1; it is not offered again against site-1.
    expect(state.fit.status).toBe('idle');
  });

  it('shows a conflict, writes nothing, when another admin changed the log after this one opened it; a reload clears it', async () => {
    const { service, store, versions } = setup(shiftedFeedback(demoManifest(), 160));
    await service.open();
    await service.useFeedback();
    // A second admin accepts their own fit first, on the same log.
    const other = new RecalibrationService();
    other.configure({ versions, listFeedback: async () => shiftedFeedback(demoManifest(), 160, { seed: 9 }), analyze: jest.fn(), dataSource: () => undefined, recalibrate });
    await other.open();
    await other.useFeedback();
    await other.accept('Dr Other');
    const before = (await store.readEntries()).length;

    await service.accept('Dr Admin');
    expect(service.getState().change.status).toBe('conflict');
    expect(service.getState().change.status === 'conflict' && (service.getState().change as { message: string }).message).toMatch(/Another admin/);
    expect((await store.readEntries()).length).toBe(before);

    await service.open();
    expect(service.getState().change.status).toBe('idle');
    expect(service.getState().model.status === 'ready' && (service.getState().model as { history: { active: string } }).history.active).toBe('site-1');
  });

  it('rolls back to an earlier version with a new entry, keeping every entry', async () => {
    const { service, store } = setup(shiftedFeedback(demoManifest(), 160));
    await service.open();
    await service.useFeedback();
    await service.accept('Dr Admin');
    await service.rollback('1', 'Dr Admin');
    const state = service.getState();
    expect(state.change).toMatchObject({ status: 'done', entry: { action: 'rollback', version: '1', previousVersion: 'site-1' } });
    expect(state.model.status === 'ready' && state.model.history.active).toBe('1');
    expect((await store.readEntries()).map(e => ('action' in e ? e.action : 'unreadable'))).toEqual(['accept', 'rollback']);
  });

  it('with a login, records the change under the logged-in admin, not under what was typed', async () => {
    const { service } = setup(shiftedFeedback(demoManifest(), 160), { actor: () => ({ kind: 'login', name: 'Ada Admin (admin)' }) });
    await service.open();
    await service.useFeedback();
    await service.accept('Someone Else');
    expect(service.getState().change).toMatchObject({ status: 'done', entry: { action: 'accept', actor: 'Ada Admin (admin)' } });
    await service.rollback('1');
    expect(service.getState().change).toMatchObject({ status: 'done', entry: { action: 'rollback', actor: 'Ada Admin (admin)' } });
  });

  it('with a login, refuses a change by a user who is not an admin, with the reason, and writes nothing', async () => {
    const reason = 'Only a ChestAid administrator may change the calibration: Rita Reader (reader) is logged in without the "chestaid-admin" role.';
    const { service, store } = setup(shiftedFeedback(demoManifest(), 160), { actor: () => ({ kind: 'refused', reason }) });
    await service.open();
    await service.useFeedback();
    await service.accept('Rita Reader');
    expect(service.getState().change).toEqual({ status: 'error', message: `Nothing was written. ${reason}` });
    await service.rollback('1', 'Rita Reader');
    expect(service.getState().change).toEqual({ status: 'error', message: `Nothing was written. ${reason}` });
    expect(await store.readEntries()).toEqual([]);
    expect(service.getState().model.status === 'ready' && service.getState().model).toMatchObject({ history: { active: '1' } });
  });

  it('without a login, refuses a change with no name typed, and writes nothing', async () => {
    const { service, store } = setup(shiftedFeedback(demoManifest(), 160));
    await service.open();
    await service.useFeedback();
    expect(service.actor()).toEqual({ kind: 'typed' });
    await service.accept('  ');
    expect(service.getState().change).toMatchObject({ status: 'error', message: /Enter your name/ });
    expect(await store.readEntries()).toEqual([]);
  });

  it('leaves out feedback about another model\'s results and says so', async () => {
    const mine = shiftedFeedback(demoManifest(), 150);
    const theirs = shiftedFeedback(demoManifest(), 5, { sha: 'f'.repeat(64), seed: 3 }).map(e => ({ ...e, sopInstanceUID: `${e.sopInstanceUID}.9` }));
    const { service } = setup([...mine, ...theirs]);
    await service.open();
    await service.useFeedback();
    const { cohort } = service.getState();
    expect(cohort.status === 'ready' && cohort.cases.length).toBe(150);
    expect(cohort.status === 'ready' && cohort.notes).toEqual(['5 images labelled for results of another model (sha256 differs) left out']);
  });

  it('scores a CSV cohort through the data source and the analyzer, then fits it', async () => {
    const feedback = shiftedFeedback(demoManifest(), 120);
    const bySop = new Map(feedback.map(e => [e.sopInstanceUID, e]));
    const csv = ['StudyInstanceUID,SeriesInstanceUID,SOPInstanceUID,label', ...feedback.map(e => `${e.studyInstanceUID},${e.seriesInstanceUID},${e.sopInstanceUID},${e.label}`)].join('\n');
    const dataSource = {
      query: {
        studies: { search: () => [] },
        series: { search: () => [] },
        instances: { search: (study: string) => [{ SOPInstanceUID: `${study}.1.1`, Modality: 'CR' }] },
      },
      getImageIdsForInstance: ({ instance }: { instance: Record<string, unknown> }) => `dicomweb:/x/${String(instance.SOPInstanceUID)}`,
    };
    const analyze = async (image: { sopInstanceUID: string }): Promise<AnalysisOutcome> => {
      const entry = bySop.get(image.sopInstanceUID) as FeedbackEntry;
      return { key: resultKey(image.sopInstanceUID, DEMO_SHA), analysis: { logit: entry.logit, probability: entry.score } as AnalysisOutcome['analysis'], run: {} as AnalysisOutcome['run'] };
    };
    const { service } = setup([], { dataSource: () => dataSource, analyze });
    await service.open();
    const seen: string[] = [];
    service.subscribe(service.EVENTS.STATE_CHANGED, state => seen.push(state.cohort.status));
    await service.useCsv(csv);
    const { cohort, fit } = service.getState();
    expect(seen).toContain('scoring');
    expect(cohort).toMatchObject({ status: 'ready', source: 'csv', cancelled: false, notes: [] });
    expect(cohort.status === 'ready' && cohort.cases).toHaveLength(120);
    expect(fit.status).toBe('ready');
  });
});
