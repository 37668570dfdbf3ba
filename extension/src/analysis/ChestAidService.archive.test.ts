/**
 * ChestAidService's Save to PACS and the look-up of results other readers stored, with a fake
 * archive (the PACS side is pacs/archive.test.ts's and pacs/results.test.ts's).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import type { Analysis } from '@chestaid/core';
import { resultKey } from '../inference';
import { ChestAidService } from './ChestAidService';
import type { AnalysisOutcome, AnalysisTarget, Analyzer, ArchiveLookup, ArchiveSave, ResultArchive } from './types';

const manifestJson = () => JSON.parse(readFileSync(resolve(__dirname, '../../../models/chestaid-demo/manifest.json'), 'utf8'));
const SHA: string = manifestJson().onnx.sha256;

const target: AnalysisTarget = {
  viewportId: 'default',
  displaySetInstanceUID: 'ds-1',
  imageId: 'wadors:/pacs/1',
  sopInstanceUID: '2.25.1.1',
  modality: 'CR',
  studyInstanceUID: '2.25.1',
  seriesInstanceUID: '2.25.1.0',
};

const outcomeOf = (t: AnalysisTarget, probability = 0.8): AnalysisOutcome => ({
  key: resultKey(t.sopInstanceUID, SHA),
  analysis: { modelId: 'chestaid-demo', modelVersion: '1', probability, logit: 1.4 } as unknown as Analysis,
  run: { backend: 'wasm', threads: 2, reason: '', totalMs: 90, runMs: 70 },
});

const flush = () => new Promise(done => setTimeout(done, 0));

class FakeArchive implements ResultArchive {
  saves: AnalysisOutcome[] = [];
  lookups = 0;
  held: ArchiveLookup = { status: 'absent' };
  answer: (outcome: AnalysisOutcome) => Promise<ArchiveSave> = async () => ({ status: 'saved', srSopInstanceUID: '9.9.1', heatmapProblem: null });
  reason: string | null = null;

  unavailableReason = () => this.reason;
  async find(_t?: AnalysisTarget): Promise<ArchiveLookup> {
    this.lookups++;
    return this.held;
  }
  async save(_t: AnalysisTarget, outcome: AnalysisOutcome): Promise<ArchiveSave> {
    this.saves.push(outcome);
    return this.answer(outcome);
  }
}

async function serviceWith(archive: ResultArchive | null) {
  const analyzer: Analyzer = { modelSha256: manifest => manifest.onnx.sha256, analyze: async t => outcomeOf(t) };
  const service = new ChestAidService({ fetchJson: async () => manifestJson(), storage: null });
  await service.loadManifest('/manifest.json');
  await service.configure({ analyzer, archive });
  service.setStudyModalities(['CR']);
  return service;
}

describe('Save to PACS', () => {
  it('is unavailable, with the reason, when no PACS is configured', async () => {
    const service = await serviceWith(null);
    await service.analyze(target);
    expect(service.getState().archive).toEqual({ status: 'unavailable', reason: 'No PACS is configured: results stay in this browser.' });
    await service.saveToPacs();
    expect(service.getState().archive.status).toBe('unavailable');
  });

  it("is unavailable, with the archive's reason, for a study from another data source", async () => {
    const archive = new FakeArchive();
    archive.reason = 'This study comes from the "dicomjson" data source';
    const service = await serviceWith(archive);
    await service.analyze(target);
    await service.saveToPacs();
    expect(service.getState().archive).toEqual({ status: 'unavailable', reason: archive.reason });
    expect(archive.saves).toEqual([]);
    expect(archive.lookups).toBe(0);
  });

  it('saves the result shown for the active image, once, and names the SR', async () => {
    const archive = new FakeArchive();
    const service = await serviceWith(archive);
    await service.analyze(target);
    await flush();
    await Promise.all([service.saveToPacs(), service.saveToPacs()]);
    await service.saveToPacs();
    expect(archive.saves.map(o => o.analysis.probability)).toEqual([0.8]);
    expect(service.getState().archive).toEqual({ status: 'saved', srSopInstanceUID: '9.9.1', heatmapProblem: null });
    expect(service.getState().archived).toMatchObject({ probability: 0.8, srSopInstanceUID: '9.9.1' });
  });

  it('saves nothing before the image has a result', async () => {
    const archive = new FakeArchive();
    const service = await serviceWith(archive);
    service.setActiveImage(target);
    await flush();
    await service.saveToPacs();
    expect(archive.saves).toEqual([]);
    expect(service.getState().archive.status).toBe('idle');
  });

  it('shows a result another reader stored, and does not offer to save it again', async () => {
    const archive = new FakeArchive();
    archive.held = { status: 'found', score: { verdict: 'verified', probability: 0.81, srSopInstanceUID: '7.7.7', observedAt: '2026-11-26T10:00:00.000Z', modelId: 'chestaid-demo', modelVersion: '1' } };
    const service = await serviceWith(archive);
    service.setActiveImage(target);
    expect(service.getState().archive.status).toBe('checking');
    await flush();
    expect(service.getState().archived?.probability).toBe(0.81);
    expect(service.getState().archive).toEqual({ status: 'already-saved', srSopInstanceUID: '7.7.7' });
    await service.analyze(target);
    await service.saveToPacs();
    expect(archive.saves).toEqual([]);
  });

  it('shows an unverified SR in the PACS as such, and still saves the true result', async () => {
    const archive = new FakeArchive();
    const reason = 'its SOP Instance UID 1.2.666 is not one ChestAid derives for image 1.2.3.1, this model and calibration 1';
    archive.held = {
      status: 'found',
      score: { verdict: 'unverified', reason, probability: 0.01, srSopInstanceUID: '1.2.666', observedAt: '1900-01-01T00:00:00.000Z', modelId: 'chestaid-demo', modelVersion: '1' },
    };
    const service = await serviceWith(archive);
    service.setActiveImage(target);
    await flush();
    expect(service.getState().archived).toMatchObject({ verdict: 'unverified', reason });
    expect(service.getState().archive.status).not.toBe('already-saved');
    await service.analyze(target);
    await service.saveToPacs();
    expect(archive.saves).toHaveLength(1);
    expect(service.getState().archived).toMatchObject({ verdict: 'verified', probability: 0.8 });
  });

  it('keeps the result when the PACS cannot be reached, and saves it on retry', async () => {
    const archive = new FakeArchive();
    archive.answer = async () => ({ status: 'failed', kind: 'unreachable', message: 'PACS unreachable: /pacs/dicom-web/studies' });
    const service = await serviceWith(archive);
    await service.analyze(target);
    await service.saveToPacs();
    expect(service.getState().archive).toMatchObject({ status: 'failed', kind: 'unreachable' });
    const { analysis } = service.getState();
    expect(analysis.status === 'done' && analysis.outcome.analysis.probability).toBe(0.8);

    archive.answer = async () => ({ status: 'saved', srSopInstanceUID: '9.9.2', heatmapProblem: null });
    await service.saveToPacs();
    expect(service.getState().archive).toMatchObject({ status: 'saved', srSopInstanceUID: '9.9.2' });
    expect(archive.saves).toHaveLength(2);
  });

  it('reports an archive that throws as a failure, not an unhandled rejection', async () => {
    const archive = new FakeArchive();
    archive.answer = async () => {
      throw new Error('the SR could not be built: source image has no SOPClassUID');
    };
    const service = await serviceWith(archive);
    await service.analyze(target);
    await service.saveToPacs();
    expect(service.getState().archive).toEqual({ status: 'failed', kind: 'error', message: 'the SR could not be built: source image has no SOPClassUID' });
  });
});

describe('a stored result shown back without running the model (issue 18 item 5)', () => {
  const map = { data: Float32Array.from([0, 0.25, 0.5, 1]), width: 2, height: 2 };

  /** A verified SR of `target` under the calibration in use, with its map shown, or `shown` instead. */
  async function storedService(shown?: (version: string) => unknown) {
    const archive = new FakeArchive();
    let analyses = 0;
    const analyzer: Analyzer = {
      modelSha256: manifest => manifest.onnx.sha256,
      analyze: async t => {
        analyses++;
        return { ...outcomeOf(t), analysis: { ...outcomeOf(t).analysis, cam: { data: Float32Array.from([1, 1, 1, 1]), width: 2, height: 2 } } };
      },
    };
    const service = new ChestAidService({ fetchJson: async () => manifestJson(), storage: null });
    await service.loadManifest('/manifest.json');
    const version = service.getManifest()!.calibration.version;
    archive.held = {
      status: 'found',
      score: {
        verdict: 'verified',
        probability: 0.81,
        srSopInstanceUID: '7.7.7',
        observedAt: '2026-11-26T10:00:00.000Z',
        modelId: 'chestaid-demo',
        modelVersion: '1',
        shown: (shown?.(version) ?? { status: 'shown', calibrationVersion: version, map, mapSopInstanceUID: '7.7.8', mapProblem: null }) as never,
      },
    };
    await service.configure({ analyzer, archive });
    service.setStudyModalities(['CR']);
    return { service, archive, analyses: () => analyses };
  }

  it('shows the verified stored score and draws its stored map, and the model never runs', async () => {
    const { service, analyses } = await storedService();
    service.setActiveImage(target);
    await flush();
    const { analysis } = service.getState();
    expect(analysis.status).toBe('stored');
    expect(analysis.status === 'stored' && analysis.stored).toMatchObject({ probability: 0.81, srSopInstanceUID: '7.7.7', shown: { mapSopInstanceUID: '7.7.8' } });
    expect(service.heatmapForImage(target.sopInstanceUID)).toEqual({ key: 'stored|7.7.8', cam: map });
    expect(service.outcomeForImage(target.sopInstanceUID)).toBeNull();
    expect(analyses()).toBe(0);
    expect(service.running.size).toBe(0);
  });

  it('looks up every image of the study, so a viewport other than the active one draws its stored map too', async () => {
    const { service, archive } = await storedService();
    service.setStudyImages([{ displaySetInstanceUID: 'ds-1', imageId: target.imageId, sopInstanceUID: target.sopInstanceUID, modality: 'CR', label: 'PA', studyInstanceUID: target.studyInstanceUID, seriesInstanceUID: target.seriesInstanceUID }]);
    await flush();
    expect(archive.lookups).toBe(1);
    expect(service.heatmapForImage(target.sopInstanceUID)?.cam).toBe(map);
  });

  it('a fresh Analyze replaces it on screen, heatmap included', async () => {
    const { service, analyses } = await storedService();
    service.setActiveImage(target);
    await flush();
    await service.analyze(target);
    expect(analyses()).toBe(1);
    expect(service.getState().analysis.status).toBe('done');
    expect(service.heatmapForImage(target.sopInstanceUID)?.key).toBe(resultKey(target.sopInstanceUID, SHA));
  });

  it('shows the score without a layer when the map did not verify, with the reason', async () => {
    const { service } = await storedService(version => ({ status: 'shown', calibrationVersion: version, map: null, mapSopInstanceUID: null, mapProblem: 'the heatmap map names calibration site-9, not the SR\'s 1' }));
    service.setActiveImage(target);
    await flush();
    const { analysis } = service.getState();
    expect(analysis.status === 'stored' && analysis.stored.shown.mapProblem).toMatch(/names calibration site-9/);
    expect(service.heatmapForImage(target.sopInstanceUID)).toBeNull();
  });

  it('shows nothing as a stored result when it is refused for this image, or is of another calibration; Analyze stays open', async () => {
    for (const shown of [
      () => ({ status: 'refused', reason: 'the stored result was computed on image 1.2.9, not on the image shown (2.25.1.1)' }),
      () => ({ status: 'shown', calibrationVersion: 'site-9+sha256:00', map, mapSopInstanceUID: '7.7.8', mapProblem: null }),
    ]) {
      const { service } = await storedService(shown);
      service.setActiveImage(target);
      await flush();
      expect(service.getState().analysis.status).toBe('idle');
      expect(service.heatmapForImage(target.sopInstanceUID)).toBeNull();
      expect(service.blocker()).toBeNull();
    }
  });
});

describe('the current study beside its prior (issue 18 item 4)', () => {
  const priorTarget: AnalysisTarget = { ...target, displaySetInstanceUID: 'ds-2', imageId: 'wadors:/pacs/2', sopInstanceUID: '2.25.2.1', studyInstanceUID: '2.25.2', seriesInstanceUID: '2.25.2.0' };
  const image = (t: AnalysisTarget, studyDate: string) => ({
    displaySetInstanceUID: t.displaySetInstanceUID,
    imageId: t.imageId,
    sopInstanceUID: t.sopInstanceUID,
    modality: 'CR',
    label: 'PA',
    studyInstanceUID: t.studyInstanceUID,
    seriesInstanceUID: t.seriesInstanceUID,
    studyDate,
  });

  it('compares the latest study with the one before it: current minus prior, once both are scored (one analyzed here, one stored)', async () => {
    const archive = new FakeArchive();
    const service = await serviceWith(archive);
    const version = service.getManifest()!.calibration.version;
    archive.find = async (t?: AnalysisTarget): Promise<ArchiveLookup> => {
      archive.lookups++;
      if (t?.sopInstanceUID !== priorTarget.sopInstanceUID) return { status: 'absent' };
      return {
        status: 'found',
        score: {
          verdict: 'verified',
          probability: 0.3,
          srSopInstanceUID: '7.7.7',
          observedAt: '2026-03-05T10:00:00.000Z',
          modelId: 'chestaid-demo',
          modelVersion: '1',
          shown: { status: 'shown', calibrationVersion: version, map: null, mapSopInstanceUID: null, mapProblem: 'none stored' },
        },
      };
    };
    // The prior listed first: the order of the display sets does not decide which is current.
    service.setStudyImages([image(priorTarget, '20260305'), image(target, '20261104')]);
    await flush();
    const before = service.getState().comparison;
    expect(before?.current.image.sopInstanceUID).toBe(target.sopInstanceUID);
    expect(before?.prior).toMatchObject({ source: 'stored', score: { probability: 0.3 } });
    expect(before?.change).toBeNull();

    await service.analyze(target);
    const after = service.getState().comparison;
    expect(after?.current).toMatchObject({ source: 'analysis', score: { probability: 0.8 } });
    expect(after?.change?.change).toBeCloseTo(0.5, 12);
    expect(after?.change?.differences).toEqual([]);
  });

  it('has no comparison for a study alone, or for two studies of the same date', async () => {
    const service = await serviceWith(new FakeArchive());
    service.setStudyImages([image(target, '20261104')]);
    expect(service.getState().comparison).toBeNull();
    service.setStudyImages([image(target, '20261104'), image(priorTarget, '20261104')]);
    expect(service.getState().comparison).toBeNull();
  });
});
