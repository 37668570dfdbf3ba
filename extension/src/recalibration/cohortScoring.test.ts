import { type Analysis, parseImageCohortCsv } from '@chestaid/core';
import { demoManifest } from '@chestaid/core/testing';
import { resultKey } from '../inference';
import type { AnalysisOutcome } from '../analysis/types';
import type { ImageToScore } from '../triage/batch';
import type { CatalogDataSource } from '../triage/studyCatalog';
import { resolveCohortImages, scoreCohort } from './cohortScoring';

const SHA = 'c'.repeat(64);
const MODEL = { modelSha256: SHA, calibrationVersion: '1' };

/** A data source holding study 1 / series 1.1 with instances 1.1.1 and 1.1.2 (CR). */
function dataSource(): CatalogDataSource & { searches: number } {
  const source = {
    searches: 0,
    query: {
      studies: { search: () => [] },
      series: { search: () => [] },
      instances: {
        search(study: string, { SeriesInstanceUID }: Record<string, unknown>) {
          source.searches++;
          if (study !== '1' || SeriesInstanceUID !== '1.1') return [];
          return ['1.1.1', '1.1.2'].map(sop => ({ SOPInstanceUID: sop, SeriesInstanceUID: '1.1', Modality: 'CR' }));
        },
      },
    },
    getImageIdsForInstance: ({ instance }: { instance: Record<string, unknown> }) => [`dicomweb:/demo/${String(instance.SOPInstanceUID)}.dcm`],
  };
  return source;
}

const CSV = 'StudyInstanceUID,SeriesInstanceUID,SOPInstanceUID,label\n1,1.1,1.1.1,pneumonia\n1,1.1,1.1.2,normal\n1,1.1,1.1.9,normal\n';

function analyze(logits: Record<string, number | Error>) {
  return async (image: ImageToScore): Promise<AnalysisOutcome> => {
    const logit = logits[image.sopInstanceUID];
    if (logit instanceof Error) throw logit;
    return {
      key: resultKey(image.sopInstanceUID, SHA),
      analysis: { logit, probability: 1 / (1 + Math.exp(-logit)), cam: { data: new Float32Array(1), width: 1, height: 1 } } as unknown as Analysis,
      run: { backend: 'wasm', threads: 1, reason: '', totalMs: 1, runMs: 1 },
    };
  };
}

describe('scoring a cohort of images', () => {
  it('finds each row\'s image with one instance search per series and names a missing instance', async () => {
    const source = dataSource();
    const resolved = await resolveCohortImages(source, parseImageCohortCsv(CSV));
    expect(source.searches).toBe(1);
    expect([...resolved.values()]).toEqual([
      expect.objectContaining({ sopInstanceUID: '1.1.1', imageId: 'dicomweb:/demo/1.1.1.dcm', modality: 'CR' }),
      expect.objectContaining({ sopInstanceUID: '1.1.2' }),
      { problem: 'line 4: the data source has no instance 1.1.9 in series 1.1 of study 1' },
    ]);
  });

  it('gives each scored row its logit and label, and lists the rows that failed with their reasons', async () => {
    const resolved = await resolveCohortImages(dataSource(), parseImageCohortCsv(CSV));
    const progress: number[] = [];
    const result = await scoreCohort(
      resolved,
      { analyze: analyze({ '1.1.1': 2, '1.1.2': new Error('the image could not be loaded') }), manifest: demoManifest(), model: MODEL },
      { onProgress: p => progress.push(p.done) },
    );
    expect(result.cases).toEqual([{ key: '1.1.1', logit: 2, probability: 1 / (1 + Math.exp(-2)), label: 1, modelSha256: SHA }]);
    expect(result.failures).toEqual([
      'line 4: the data source has no instance 1.1.9 in series 1.1 of study 1',
      'line 3: 1.1.2: the image could not be loaded',
    ]);
    expect(result.cancelled).toBe(false);
    expect(progress[progress.length - 1]).toBe(1);
  });

  it('stops when cancelled and keeps what was scored', async () => {
    const controller = new AbortController();
    controller.abort();
    const resolved = await resolveCohortImages(dataSource(), parseImageCohortCsv(CSV));
    const result = await scoreCohort(resolved, { analyze: analyze({}), manifest: demoManifest(), model: MODEL }, { signal: controller.signal });
    expect(result).toMatchObject({ cases: [], cancelled: true });
  });
});
