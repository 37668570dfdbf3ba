/**
 * The worker and the viewer's Save to PACS name a result's SR and map with the same UIDs, derived
 * from image + model sha256 + calibration version (core/src/dicom/resultUids.ts): two writers
 * of the same result, whoever they are, collapse to one instance in the PACS.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { type Analysis, decide, dicomCodec, naturalize, PacsResults, parseManifest, resultUids } from '@chestaid/core';
import { readPart10 } from './part10';
import { buildOutputs } from './results';

const REPO = resolve(__dirname, '../..');
const manifest = parseManifest(JSON.parse(readFileSync(resolve(REPO, 'models/chestaid-demo/manifest.json'), 'utf8')));
const image = readPart10(readFileSync(resolve(REPO, 'test/demo-studies/dicom/study-01.dcm')));
const SHA = manifest.onnx.sha256;
const threshold = manifest.thresholds.clinical.value;

const analysis = (calibrationVersion: string): Analysis =>
  ({
    modelId: manifest.model.id,
    modelVersion: manifest.model.version,
    logit: 0.4,
    probability: 0.6,
    calibrationMethod: manifest.calibration.selected,
    calibrationVersion,
    decision: decide(0.6, threshold),
    cam: { width: 7, height: 7, data: Float32Array.from({ length: 49 }, (_, i) => i / 48) },
  }) as Analysis;

/** What the viewer's Save to PACS writes (PacsResults over the dcmjs codec), as naturalized datasets. */
async function viewerSave(calibrationVersion: string) {
  const stored: ArrayBuffer[] = [];
  const results = new PacsResults({
    client: {
      searchSeries: async () => [],
      retrieveSeriesMetadata: async () => [],
      store: async buffers => {
        stored.push(...buffers);
        return { stored: [], response: null } as never;
      },
    },
    codec: dicomCodec,
    trust: () => null,
  });
  const a = analysis(calibrationVersion);
  await results.save({
    sourceHeader: image.dataset,
    source: { studyInstanceUID: image.studyInstanceUID, seriesInstanceUID: image.seriesInstanceUID, sopInstanceUID: image.sopInstanceUID, sopClassUID: image.sopClassUID },
    result: {
      score: a.probability,
      logit: a.logit,
      threshold,
      decision: a.probability >= threshold ? 'above' : 'below',
      calibration: { method: a.calibrationMethod, version: calibrationVersion },
      model: { id: manifest.model.id, version: manifest.model.version, sha256: SHA, deviceUID: manifest.model.device_uid! },
      observedAt: '2026-11-26T13:00:00.000Z',
    },
    heatmap: a.cam,
    trainedOnSyntheticData: true,
  });
  return stored.map(buffer => naturalize(buffer));
}

describe('result UIDs shared by the worker and the viewer', () => {
  it('the viewer and the worker write the same SR and map UIDs for the same image, model and calibration', async () => {
    const worker = await buildOutputs(image, analysis('v1'), { manifest, sha256: SHA }, new Date('2026-11-26T12:00:00.000Z'));
    const [sr, map] = await viewerSave('v1');
    expect([sr.SOPInstanceUID, sr.SeriesInstanceUID]).toEqual([worker.sr.sopInstanceUID, worker.sr.seriesInstanceUID]);
    expect([map.SOPInstanceUID, map.SeriesInstanceUID]).toEqual([worker.map.sopInstanceUID, worker.map.seriesInstanceUID]);
  });

  it('another calibration version gets other UIDs', async () => {
    const worker = await buildOutputs(image, analysis('v1'), { manifest, sha256: SHA }, new Date());
    const [sr] = await viewerSave('v2');
    expect(sr.SOPInstanceUID).not.toBe(worker.sr.sopInstanceUID);
  });

  it('keeps the UIDs the worker derived with node:crypto before the derivation moved, so results already stored keep theirs', async () => {
    const old = (name: string) => `2.25.${BigInt(`0x${createHash('sha256').update(name).digest().subarray(0, 16).toString('hex')}`)}`;
    const model = `${SHA} calibration v1`;
    const uids = await resultUids(image.studyInstanceUID, { sopInstanceUID: image.sopInstanceUID, modelSha256: SHA.toUpperCase(), calibrationVersion: 'v1' });
    expect(uids).toEqual({
      srSeries: old(`chestaid worker result SR series of study ${image.studyInstanceUID} model ${model}`),
      srInstance: old(`chestaid worker result SR of ${image.sopInstanceUID} model ${model}`),
      mapSeries: old(`chestaid worker heatmap series of study ${image.studyInstanceUID} model ${model}`),
      mapInstance: old(`chestaid worker heatmap of ${image.sopInstanceUID} model ${model}`),
    });
    expect(uids.srInstance).toMatch(/^2\.25\.\d{1,39}$/);
  });
});
