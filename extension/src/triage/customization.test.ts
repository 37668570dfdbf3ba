import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { ChestAidService } from '../analysis/ChestAidService';
import { triageButton, triageCustomizations } from './customization';
import { riskColumnId, TRIAGE_PATH } from './ids';
import { MemoryResultStore, scoredRecord } from './resultStore';
import { TriageService } from './TriageService';

const manifestJson = () => JSON.parse(readFileSync(resolve(__dirname, '../../../models/chestaid-demo/manifest.json'), 'utf8'));

async function customizations() {
  const chestAidService = new ChestAidService({ fetchJson: async () => manifestJson(), storage: null });
  const manifest = await chestAidService.loadManifest('/manifest.json');
  const store = new MemoryResultStore();
  const chestAidTriageService = new TriageService();
  chestAidTriageService.configure({
    store,
    catalog: { studies: async () => [], imagesOf: async () => [] },
    manifest: async () => manifest,
    analyzer: { modelSha256: m => m.onnx.sha256, analyze: async () => Promise.reject(new Error('not here')) },
  });
  const commands: [string, object | undefined][] = [];
  const value = triageCustomizations({
    servicesManager: { services: { chestAidService, chestAidTriageService } },
    commandsManager: { runCommand: (name, options) => commands.push([name, options]) },
  });
  return { value, store, manifest, chestAidTriageService, commands };
}

type Column = { id: string; filterFn?: (row: unknown, id: string, filter: unknown) => boolean; enableSorting?: boolean };

describe('triageCustomizations', () => {
  it('adds the risk column before the row actions, once however often it is applied', async () => {
    const { value } = await customizations();
    const apply = value['workList.columns'].$apply as (columns: { id: string }[]) => Column[];
    const once = apply([{ id: 'patient' }, { id: 'studyDateTime' }, { id: 'actions' }]);
    expect(once.map(c => c.id)).toEqual(['patient', 'studyDateTime', riskColumnId, 'actions']);
    expect(apply(once).map(c => c.id)).toEqual(['patient', 'studyDateTime', riskColumnId, 'actions']);
    expect(apply([]).map(c => c.id)).toEqual([riskColumnId]);
    // The study list keeps its own order: the column does not sort it.
    expect(once[2].enableSorting).toBe(false);
  });

  it('adds the triage page to the routes, keeping the others', async () => {
    const { value } = await customizations();
    const apply = value['routes.customRoutes'].$apply as (existing: unknown) => { routes: { path: string }[]; notFoundRoute?: unknown };
    const routes = apply({ routes: [{ path: '/other' }, { path: TRIAGE_PATH }], notFoundRoute: 'kept' });
    expect(routes.routes.map(r => r.path)).toEqual(['/other', TRIAGE_PATH]);
    expect(routes.notFoundRoute).toBe('kept');
    expect(apply(undefined).routes.map(r => r.path)).toEqual([TRIAGE_PATH]);
  });

  it('filters the column by the text its cells show now', async () => {
    const { value, store, manifest, chestAidTriageService } = await customizations();
    const image = { studyInstanceUID: 'S', seriesInstanceUID: 'S.1', sopInstanceUID: 'S.1.1' };
    await store.put(
      scoredRecord({
        image,
        model: { modelSha256: manifest.onnx.sha256, calibrationVersion: manifest.calibration.version },
        outcome: { key: 'k', analysis: { probability: 0.9 }, run: {} } as never,
        source: 'batch',
        analyzedAt: 1,
      }),
    );
    chestAidTriageService.watch(['S', 'T']);
    await chestAidTriageService.model();
    await new Promise(done => setTimeout(done, 0));
    const [column] = (value['workList.columns'].$apply as (c: unknown[]) => Column[])([]);
    const row = (studyInstanceUid: string) => ({ original: { studyInstanceUid, modalities: 'CR' } });
    expect(column.filterFn?.(row('S'), riskColumnId, 'above')).toBe(true);
    expect(column.filterFn?.(row('T'), riskColumnId, 'above')).toBe(false);
    expect(column.filterFn?.(row('T'), riskColumnId, 'not analyzed')).toBe(true);
  });

  it("offers the mode a toolbar button that goes to the triage page with OHIF's navigateHistory", () => {
    expect(triageButton().props.commands).toEqual({ commandName: 'navigateHistory', commandOptions: { to: TRIAGE_PATH } });
  });
});
