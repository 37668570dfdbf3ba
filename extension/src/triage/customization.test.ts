import { readFileSync } from 'node:fs';
import { createTable, getCoreRowModel, getSortedRowModel, type ColumnDef, type SortingState, type Updater } from '@tanstack/table-core';
import { resolve } from 'node:path';

import { ChestAidService } from '../analysis/ChestAidService';
import { riskSortHeader, triageButton, triageCustomizations, type SortableColumn } from './customization';
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

  it('cycles descending, ascending, none when its header is clicked, where OHIF\'s header alone would toggle asc/desc', () => {
    let sorting: false | 'asc' | 'desc' = false;
    const asked: (boolean | undefined)[] = [];
    const column: SortableColumn = {
      getIsSorted: () => sorting,
      toggleSorting: desc => {
        asked.push(desc);
        sorting = sorting === false ? 'desc' : sorting === 'desc' ? 'asc' : false;
      },
    };
    // OHIF's ColumnHeader clicks with toggleSorting(sorted === 'asc'); the wrapper asks for TanStack's own cycle.
    const shown = riskSortHeader(column);
    const seen = [1, 2, 3].map(() => {
      shown.toggleSorting(shown.getIsSorted() === 'asc');
      return shown.getIsSorted();
    });
    expect(seen).toEqual(['desc', 'asc', false]);
    expect(asked).toEqual([undefined, undefined, undefined]);
  });

  it("without OHIF's header to borrow, draws its own sort button with the same cycle", async () => {
    const { value } = await customizations();
    const [column] = (value['workList.columns'].$apply as (c: unknown[]) => { header: (context: { column: SortableColumn }) => unknown }[])([]);
    const asked: (boolean | undefined)[] = [];
    const element = column.header({ column: { getIsSorted: () => 'desc', toggleSorting: desc => asked.push(desc) } }) as {
      props: { children: { props: { onClick?: () => void; 'aria-label'?: string; children?: unknown } }[] };
    };
    const button = element.props.children.find(child => child.props.onClick)!;
    expect(button.props['aria-label']).toBe('Sort Pneumonia risk');
    expect(button.props.children).toBe('▼');
    button.props.onClick?.();
    expect(asked).toEqual([undefined]);
  });

  it("offers the mode a toolbar button that goes to the triage page with OHIF's navigateHistory", () => {
    expect(triageButton().props.commands).toEqual({ commandName: 'navigateHistory', commandOptions: { to: TRIAGE_PATH } });
  });
});

/**
 * OHIF 3.13's WorkList around a TanStack table: its default order (study date, newest first) while
 * no column is sorted, a header renderer borrowed from its Patient column (OHIF's ColumnHeader,
 * whose button calls toggleSorting(sorted === 'asc')), and the sorting state it keeps in React.
 */
interface StudyRow {
  readonly studyInstanceUid: string;
  readonly modalities: string;
  readonly date: string;
  readonly time: string;
}

interface OhifHeader {
  readonly click: () => void;
  readonly sorted: false | 'asc' | 'desc';
}

function workList(columns: ColumnDef<StudyRow, unknown>[], data: StudyRow[]) {
  let sorting: SortingState = [];
  const defaultSorting: SortingState = [{ id: 'studyDateTime', desc: true }];
  const stateNow = () => ({ sorting: sorting.length > 0 ? sorting : defaultSorting });
  const table = createTable<StudyRow>({
    data,
    columns,
    state: stateNow(),
    onStateChange: () => undefined,
    renderFallbackValue: null,
    onSortingChange: (updater: Updater<SortingState>) => {
      sorting = typeof updater === 'function' ? updater(sorting) : updater;
      table.setOptions(options => ({ ...options, state: { ...options.state, ...stateNow() } }));
    },
    getCoreRowModel: getCoreRowModel(),
    getSortedRowModel: getSortedRowModel(),
  });
  table.setOptions(options => ({ ...options, state: { ...table.initialState, ...stateNow() } }));
  const riskHeader = () => {
    const header = table.getFlatHeaders().find(h => h.column.id === riskColumnId)!;
    return (header.column.columnDef.header as (context: unknown) => OhifHeader)(header.getContext());
  };
  return {
    order: () => table.getRowModel().rows.map(row => row.original.studyInstanceUid),
    clickRisk: () => riskHeader().click(),
    arrow: () => riskHeader().sorted,
    sorting: () => sorting,
  };
}

const ohifColumns: ColumnDef<StudyRow, unknown>[] = [
  {
    id: 'patient',
    accessorFn: row => row.studyInstanceUid,
    header: ({ column }) => ({ click: () => column.toggleSorting(column.getIsSorted() === 'asc'), sorted: column.getIsSorted() }),
  },
  {
    id: 'studyDateTime',
    accessorFn: row => row.date,
    sortingFn: (a, b) => Number(a.original.date + a.original.time) - Number(b.original.date + b.original.time),
  },
  { id: 'actions', enableSorting: false },
];

describe('the study list sorted by risk (TanStack Table as OHIF 3.13 drives it)', () => {
  const rows: StudyRow[] = [
    { studyInstanceUid: 'low', modalities: 'CR', date: '20260105', time: '100000' },
    { studyInstanceUid: 'ct', modalities: 'CT', date: '20260104', time: '100000' },
    { studyInstanceUid: 'high', modalities: 'CR', date: '20260103', time: '100000' },
    { studyInstanceUid: 'new-unanalyzed', modalities: 'CR', date: '20260102', time: '100000' },
    { studyInstanceUid: 'mid', modalities: 'DX', date: '20260101', time: '100000' },
    { studyInstanceUid: 'late', modalities: 'CR', date: '20251231', time: '100000' },
    { studyInstanceUid: 'old-unanalyzed', modalities: 'CR', date: '20251230', time: '100000' },
  ];
  const OHIF_ORDER = ['low', 'ct', 'high', 'new-unanalyzed', 'mid', 'late', 'old-unanalyzed'];
  const settle = () => new Promise(done => setTimeout(done, 0));

  async function scoredList() {
    const { value, store, manifest, chestAidTriageService } = await customizations();
    const model = { modelSha256: manifest.onnx.sha256, calibrationVersion: manifest.calibration.version };
    const put = (uid: string, probability: number) =>
      store.put(
        scoredRecord({
          image: { studyInstanceUID: uid, seriesInstanceUID: `${uid}.1`, sopInstanceUID: `${uid}.1.1` },
          model,
          outcome: { key: uid, analysis: { probability }, run: {} } as never,
          source: 'batch',
          analyzedAt: 1,
        }),
      );
    await Promise.all([put('low', 0.1), put('high', 0.95), put('mid', 0.5), put('late', 0.99)]);
    await chestAidTriageService.model();
    // Every row but 'late' has been read (its cell not drawn yet): 'late' is still being read.
    chestAidTriageService.watch(rows.map(r => r.studyInstanceUid).filter(uid => uid !== 'late'));
    await settle();
    const columns = (value['workList.columns'].$apply as (c: unknown[]) => ColumnDef<StudyRow, unknown>[])(ohifColumns);
    return { list: workList(columns, rows), chestAidTriageService };
  }

  it("opens in OHIF's order, with OHIF's unsorted arrow on the risk header", async () => {
    const { list } = await scoredList();
    expect(list.order()).toEqual(OHIF_ORDER);
    expect(list.arrow()).toBe(false);
  });

  it("first click: highest risk first, the unscored after in the stated order; second: lowest first; third: OHIF's order back", async () => {
    const { list } = await scoredList();
    list.clickRisk();
    expect(list.sorting()).toEqual([{ id: riskColumnId, desc: true }]);
    expect(list.arrow()).toBe('desc');
    // scored, then unanalyzed (newest first), then not applicable, then the row still being read.
    expect(list.order()).toEqual(['high', 'mid', 'low', 'new-unanalyzed', 'old-unanalyzed', 'ct', 'late']);
    list.clickRisk();
    expect(list.arrow()).toBe('asc');
    expect(list.order()).toEqual(['low', 'mid', 'high', 'new-unanalyzed', 'old-unanalyzed', 'ct', 'late']);
    list.clickRisk();
    expect(list.sorting()).toEqual([]);
    expect(list.arrow()).toBe(false);
    expect(list.order()).toEqual(OHIF_ORDER);
  });

  it('moves nothing when scores arrive: the order changes only on a click', async () => {
    const { list, chestAidTriageService } = await scoredList();
    list.order();
    chestAidTriageService.watch(['late']);
    await settle();
    expect(list.order()).toEqual(OHIF_ORDER);
    list.clickRisk();
    expect(list.order()[0]).toBe('late');
  });

  it('keeps a sorted list still while scores arrive, and places the new score at the next click', async () => {
    const { list, chestAidTriageService } = await scoredList();
    list.clickRisk();
    const before = list.order();
    chestAidTriageService.watch(['late']);
    await settle();
    expect(list.order()).toEqual(before);
    list.clickRisk();
    expect(list.order()).toEqual(['low', 'mid', 'high', 'late', 'new-unanalyzed', 'old-unanalyzed', 'ct']);
  });
});
