/**
 * The worklist after a recalibration: it judges results against the new calibration version, so
 * the scores made under the old one are stale (never ranked with new ones) until re-analyzed.
 */
import { applyOverlay, parseManifest, parseOverlay, type Analysis, type Manifest } from '@chestaid/core';
import { demoManifestJson, overlayJson } from '@chestaid/core/testing';
import { resultKey } from '../inference';
import type { Analyzer } from '../analysis/types';
import { MemoryResultStore } from './resultStore';
import type { StudyCatalog } from './studyCatalog';
import { statusIn, TriageService } from './TriageService';

const flush = () => new Promise(done => setTimeout(done, 0));
const base = parseManifest(demoManifestJson());
const site1 = applyOverlay(base, parseOverlay(overlayJson()));

it('marks scores of the previous calibration stale after modelChanged, and scores again under the new one', async () => {
  let active: Manifest = base;
  const catalog: StudyCatalog = {
    studies: async () => [{ studyInstanceUID: 'A', patientName: 'P', mrn: '1', date: '20260101', time: '', description: '', accession: '', modalities: 'CR' }],
    imagesOf: async uid => [{ studyInstanceUID: uid, seriesInstanceUID: `${uid}.1`, sopInstanceUID: `${uid}.1.1`, imageId: 'x', modality: 'CR' }],
  };
  const analyzer: Analyzer = {
    modelSha256: m => m.onnx.sha256,
    analyze: async (target, manifest) => ({
      key: resultKey(target.sopInstanceUID, manifest.onnx.sha256),
      analysis: { probability: manifest.calibration.version === '1' ? 0.3 : 0.7, calibrationVersion: manifest.calibration.version } as unknown as Analysis,
      run: { backend: 'wasm', threads: 1, reason: '', totalMs: 1, runMs: 1 },
    }),
  };
  const service = new TriageService();
  service.configure({ store: new MemoryResultStore(), catalog, manifest: async () => active, analyzer, pause: () => Promise.resolve(), clock: () => 1 });
  await service.open();
  await flush();
  await service.analyzeAll();
  expect(statusIn(service.getState(), 'A', 'CR')).toMatchObject({ kind: 'scored', probability: 0.3 });

  active = site1;
  service.modelChanged();
  await service.model();
  expect(statusIn(service.getState(), 'A', 'CR')).toMatchObject({ kind: 'stale', scoredBy: { calibrationVersion: '1' } });

  await service.analyzeAll();
  expect(statusIn(service.getState(), 'A', 'CR')).toMatchObject({ kind: 'scored', probability: 0.7 });
});
