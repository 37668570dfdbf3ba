/**
 * The panel's archive over the PACS: what goes into the SR, and the PACS's answers in the panel's
 * terms. PacsResults is faked here (results.test.ts covers it).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { type Analysis, type ArchivedResult, decide, PacsUnreachable, parseManifest, readHeatmap, resultUids, type SaveInput, type StoredMapSource } from '@chestaid/core';
import { resultKey } from '../inference';
import type { AnalysisOutcome, AnalysisTarget } from '../analysis/types';
import { pacsArchive, resultToSave } from './archive';

const manifest = parseManifest(JSON.parse(readFileSync(resolve(__dirname, '../../../models/chestaid-demo/manifest.json'), 'utf8')));
const SHA = manifest.onnx.sha256;
const MODEL = { modelSha256: SHA, calibrationVersion: manifest.calibration.version };
const THRESHOLD = manifest.thresholds.clinical.value;

const target: AnalysisTarget = {
  viewportId: 'default',
  displaySetInstanceUID: 'ds',
  imageId: 'wadors:/pacs/x',
  sopInstanceUID: '1.2.3.1',
  modality: 'CR',
  studyInstanceUID: '1.2.3',
  seriesInstanceUID: '1.2.3.0',
};

const outcome = (probability: number): AnalysisOutcome => ({
  key: resultKey(target.sopInstanceUID, SHA),
  analysis: {
    modelId: manifest.model.id,
    modelVersion: manifest.model.version,
    probability,
    logit: 0.3,
    calibrationMethod: manifest.calibration.selected,
    decision: decide(probability, THRESHOLD),
    cam: { width: 7, height: 7, data: new Float32Array(49) },
  } as Analysis,
  run: { backend: 'wasm', threads: 2, reason: '', totalMs: 1, runMs: 1 },
});

const header = { '00080016': { vr: 'UI', Value: ['1.2.840.10008.5.1.4.1.1.1'] }, '00080018': { vr: 'UI', Value: ['1.2.3.1'] } };

function archiveWith({
  active = 'pacs',
  found = null as ArchivedResult | null,
  fail = null as Error | null,
  metadata = header as Record<string, { vr: string; Value?: unknown[] }>,
  storedMaps = undefined as StoredMapSource | undefined,
} = {}) {
  const saved: SaveInput[] = [];
  const archive = pacsArchive({
    results: {
      find: async () => {
        if (fail) throw fail;
        return found;
      },
      save: async input => {
        if (fail) throw fail;
        saved.push(input);
        return { status: 'saved', srSopInstanceUID: '9.9', heatmapSopInstanceUID: '9.8', heatmapProblem: null };
      },
    },
    instanceMetadata: async () => metadata,
    activeDataSource: () => active,
    pacsDataSourceName: 'pacs',
    storedMaps,
    clock: () => new Date('2026-11-26T12:00:00Z'),
  });
  return { archive, saved };
}

describe('resultToSave', () => {
  it("fills the SR as the worker does: the analysis's clinical decision, the manifest's device UID, the sha256 that ran", () => {
    const at = new Date('2026-11-26T12:00:00Z');
    const above = resultToSave(outcome(THRESHOLD), manifest, header, SHA.toUpperCase(), at);
    expect(above).toMatchObject({ score: THRESHOLD, threshold: THRESHOLD, decision: 'above', observedAt: '2026-11-26T12:00:00.000Z' });
    expect(resultToSave(outcome(THRESHOLD - 0.01), manifest, header, SHA, at).decision).toBe('below');
    expect(above.model).toEqual({ id: manifest.model.id, version: manifest.model.version, sha256: SHA.toLowerCase(), deviceUID: manifest.model.device_uid });
    expect(above.calibration).toEqual({ method: manifest.calibration.selected, version: String(manifest.calibration.version) });
  });

  it('refuses a manifest without a device UID, naming the model', () => {
    const bare = { ...manifest, model: { ...manifest.model, device_uid: undefined } };
    expect(() => resultToSave(outcome(0.5), bare, header, SHA, new Date())).toThrow(/has no model.device_uid/);
  });
});

describe('pacsArchive', () => {
  it('is unavailable for a study opened from another data source, naming both', () => {
    const { archive } = archiveWith({ active: 'dicomjson' });
    expect(archive.unavailableReason(target)).toBe('This study comes from the "dicomjson" data source, not the PACS ("pacs"): its results stay in this browser.');
    expect(archiveWith().archive.unavailableReason(target)).toBeNull();
  });

  it("saves with the PACS's own header of the source image, the CAM and the synthetic flag", async () => {
    const { archive, saved } = archiveWith();
    expect(await archive.save(target, outcome(0.9), manifest, MODEL)).toEqual({ status: 'saved', srSopInstanceUID: '9.9', heatmapProblem: null });
    expect(saved).toHaveLength(1);
    expect(saved[0].sourceHeader).toBe(header);
    expect(saved[0].source).toEqual({ studyInstanceUID: '1.2.3', seriesInstanceUID: '1.2.3.0', sopInstanceUID: '1.2.3.1', sopClassUID: '1.2.840.10008.5.1.4.1.1.1' });
    expect(saved[0].heatmap?.width).toBe(7);
    expect(saved[0].trainedOnSyntheticData).toBe(manifest.data.synthetic);
  });

  it('reports a source header without SOP Class UID as an error, saving nothing', async () => {
    const { archive, saved } = archiveWith({ metadata: {} });
    expect(await archive.save(target, outcome(0.9), manifest, MODEL)).toEqual({ status: 'failed', kind: 'error', message: "the PACS's header of 1.2.3.1 has no SOPClassUID" });
    expect(saved).toEqual([]);
  });

  it('reports an unreachable PACS as such, on save and on look-up', async () => {
    const { archive } = archiveWith({ fail: new PacsUnreachable('/pacs/dicom-web/studies/1.2.3/series', new Error('fetch failed')) });
    expect(await archive.save(target, outcome(0.9), manifest, MODEL)).toMatchObject({ status: 'failed', kind: 'unreachable' });
    expect(await archive.find(target, MODEL)).toMatchObject({ status: 'failed', kind: 'unreachable' });
  });

  it("turns a found SR into the panel's archived score", async () => {
    const found: ArchivedResult = {
      srSopInstanceUID: '7.7',
      srSeriesInstanceUID: '7',
      content: {
        ...resultToSave(outcome(0.42), manifest, header, SHA, new Date('2026-11-26T09:00:00Z')),
        source: { studyInstanceUID: '1.2.3', seriesInstanceUID: '1.2.3.0', sopInstanceUID: '1.2.3.1', sopClassUID: '1.2.840.10008.5.1.4.1.1.1' },
      },
      verdict: { status: 'verified' },
    };
    expect(await archiveWith({ found }).archive.find(target, MODEL)).toEqual({
      status: 'found',
      score: { verdict: 'verified', probability: 0.42, srSopInstanceUID: '7.7', observedAt: '2026-11-26T09:00:00.000Z', modelId: manifest.model.id, modelVersion: manifest.model.version },
    });
    const unverified = { ...found, verdict: { status: 'unverified', reason: 'score 0.42 is not calibration 1 of its logit 0.1 (0.3)' } } as const;
    expect(await archiveWith({ found: unverified }).archive.find(target, MODEL)).toMatchObject({
      status: 'found',
      score: { verdict: 'unverified', reason: 'score 0.42 is not calibration 1 of its logit 0.1 (0.3)', srSopInstanceUID: '7.7' },
    });
  });
});

describe('a verified result shown back on its image', () => {
  async function verified(): Promise<ArchivedResult> {
    const uids = await resultUids(target.studyInstanceUID!, { sopInstanceUID: target.sopInstanceUID, ...MODEL });
    return {
      content: {
        source: { studyInstanceUID: '1.2.3', seriesInstanceUID: '1.2.3.0', sopInstanceUID: '1.2.3.1', sopClassUID: '1.2.840.10008.5.1.4.1.1.1' },
        score: 0.42,
        logit: 0.1,
        threshold: THRESHOLD,
        decision: 'below',
        calibration: { method: manifest.calibration.selected, version: manifest.calibration.version },
        model: { id: manifest.model.id, version: manifest.model.version, sha256: SHA, deviceUID: manifest.model.device_uid as string },
        observedAt: '2026-11-26T10:00:00.000Z',
      },
      srSopInstanceUID: uids.srInstance,
      srSeriesInstanceUID: uids.srSeries,
      verdict: { status: 'verified' },
    };
  }
  const withGrid = { ...header, '00280010': { vr: 'US', Value: [4] }, '00280011': { vr: 'US', Value: [5] } };

  it('keeps the verified score and says why no map is drawn when the PACS goes away while the map is read', async () => {
    const storedMaps: StoredMapSource = { retrieveInstance: () => Promise.reject(new PacsUnreachable('/pacs/x', new Error('down'))), readHeatmap };
    const found = await archiveWith({ found: await verified(), metadata: withGrid, storedMaps }).archive.find(target, MODEL);
    expect(found).toMatchObject({
      status: 'found',
      score: { verdict: 'verified', probability: 0.42, shown: { status: 'shown', map: null, calibrationVersion: manifest.calibration.version, mapProblem: expect.stringMatching(/PACS|reach/i) } },
    });
  });

  it("refuses to show it where the PACS's header of the image gives no grid to check the map against", async () => {
    const storedMaps: StoredMapSource = { retrieveInstance: () => Promise.reject(new Error('not asked')), readHeatmap };
    const found = await archiveWith({ found: await verified(), storedMaps }).archive.find(target, MODEL);
    expect(found).toMatchObject({ status: 'found', score: { shown: { map: null, mapProblem: expect.stringMatching(/has no Rows and Columns/) } } });
  });

  it('asks for no map for an unverified SR', async () => {
    let asked = 0;
    const storedMaps: StoredMapSource = { retrieveInstance: async () => { asked++; return new ArrayBuffer(0); }, readHeatmap };
    const unverified = { ...(await verified()), verdict: { status: 'unverified', reason: 'x' } } as const;
    const found = await archiveWith({ found: unverified, metadata: withGrid, storedMaps }).archive.find(target, MODEL);
    expect(found).toMatchObject({ status: 'found', score: { verdict: 'unverified' } });
    expect(found.status === 'found' && found.score.shown).toBeUndefined();
    expect(asked).toBe(0);
  });
});
