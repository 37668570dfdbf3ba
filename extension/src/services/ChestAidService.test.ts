import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import type { Analysis } from '../core';
import { ChestAidService, EVENTS, type AnalysisTarget, type ChestAidState } from './ChestAidService';

const MANIFEST_URL = '/models/chestaid-demo/manifest.json';
const demoManifest = (): Record<string, unknown> =>
  JSON.parse(readFileSync(resolve(__dirname, '../../../models/chestaid-demo/manifest.json'), 'utf8'));

const target: AnalysisTarget = {
  viewportId: 'default',
  displaySetInstanceUID: 'ds-1',
  imageId: 'dicomweb:/chestaid/demo/dicom/study-01.dcm',
  modality: 'CR',
};

const analysis = { modelId: 'chestaid-demo', probability: 0.7 } as unknown as Analysis;

function serviceWith(json: unknown = demoManifest()) {
  const fetched: string[] = [];
  const service = new ChestAidService({
    fetchJson: async url => {
      fetched.push(url);
      return json;
    },
  });
  const states: ChestAidState[] = [];
  service.subscribe(EVENTS.STATE_CHANGED, state => states.push(state));
  return { service, fetched, states };
}

describe('ChestAidService', () => {
  it('loads the manifest once and reports the model, synthetic flag included', async () => {
    const { service, fetched } = serviceWith();
    await Promise.all([service.loadManifest(MANIFEST_URL), service.loadManifest(MANIFEST_URL)]);
    expect(fetched).toEqual([MANIFEST_URL]);
    const { model } = service.getState();
    expect(model.status).toBe('ready');
    expect(model.status === 'ready' && model.info).toMatchObject({ id: 'chestaid-demo', synthetic: true });
  });

  it('reports a manifest the core refuses, naming the URL', async () => {
    const { service } = serviceWith({ schema_version: '2.0.0' });
    await expect(service.loadManifest(MANIFEST_URL)).rejects.toThrow(/schema version 2\.0\.0/);
    const { model } = service.getState();
    expect(model.status === 'error' && model.message).toMatch(/^Model manifest \/models\/chestaid-demo\/manifest\.json: /);
  });

  it('refuses to analyze a study that is not CR/DX and says why', async () => {
    const { service } = serviceWith();
    service.setAnalyzer(async () => analysis);
    await service.loadManifest(MANIFEST_URL);
    service.setStudyModalities(['CT']);
    await service.analyze({ ...target, modality: 'CT' });
    expect(service.getState().analysis).toEqual({
      status: 'error',
      message: 'ChestAid reads chest radiographs (CR or DX); this study has CT',
    });
  });

  it('says so when no analyzer is plugged in', async () => {
    const { service } = serviceWith();
    await service.loadManifest(MANIFEST_URL);
    service.setStudyModalities(['CR']);
    expect(service.blocker()).toBe('No analyzer is configured in this build of ChestAid.');
  });

  it('runs the analyzer with the validated manifest and announces running then done', async () => {
    const { service, states } = serviceWith();
    const calls: unknown[] = [];
    service.setAnalyzer(async (t, manifest) => {
      calls.push([t, manifest.model.id]);
      return analysis;
    });
    await service.loadManifest(MANIFEST_URL);
    service.setStudyModalities(['CR']);
    await service.analyze(target);
    expect(calls).toEqual([[target, 'chestaid-demo']]);
    expect(states.map(s => s.analysis.status).slice(-2)).toEqual(['running', 'done']);
    expect(service.getState().analysis).toEqual({ status: 'done', target, analysis });
  });

  it('turns an analyzer failure into an error state with its message', async () => {
    const { service } = serviceWith();
    service.setAnalyzer(async () => {
      throw new Error('photometric interpretation "RGB" is not supported');
    });
    await service.loadManifest(MANIFEST_URL);
    service.setStudyModalities(['DX']);
    await service.analyze(target);
    expect(service.getState().analysis).toEqual({
      status: 'error',
      message: 'photometric interpretation "RGB" is not supported',
    });
  });

  it('forgets the study but keeps the model when the mode exits', async () => {
    const { service } = serviceWith();
    await service.loadManifest(MANIFEST_URL);
    service.setStudyModalities(['CR']);
    service.onModeExit();
    expect(service.getState()).toMatchObject({ study: null, analysis: { status: 'idle' }, model: { status: 'ready' } });
  });
});
