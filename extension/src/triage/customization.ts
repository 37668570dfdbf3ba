/**
 * What the triage worklist adds to the host through OHIF's customization service:
 *  - `workList.columns`: a "Pneumonia risk" column before the row actions, its header leading to
 *    the triage page (batch analysis). The column sorts the list as OHIF's own columns do, through
 *    the column definition the WorkList hands to TanStack Table (an accessor, a `sortingFn`,
 *    `sortDescFirst`) and OHIF's own column header with its sort arrow; only its click cycle is
 *    ours: highest risk first, then lowest, then OHIF's usual order (riskSortHeader). The list
 *    opens in OHIF's order and nothing reorders without a click.
 *  - `routes.customRoutes`: the triage page at TRIAGE_PATH.
 *  - the mode's toolbar button to the triage page (OHIF's navigateHistory command).
 * Both host edits are `$apply` functions that first drop an earlier copy of ours, so applying
 * them twice changes nothing.
 */
import { createElement, type ReactNode } from 'react';

import { compareByRisk, type RiskSortEntry } from '@chestaid/core';

import { islandComponent } from '../panels/island';
import { propsIslandComponent } from '../panels/propsIsland';
import type { ChestAidService } from '../analysis/ChestAidService';
import { riskText } from './format';
import { riskColumnId, triageButtonId } from './ids';
import { TRIAGE_PATH } from './links';
import { RiskCell, RiskHeader } from './RiskColumn';
import { TriagePage } from './TriagePage';
import { statusIn, type TriageService } from './TriageService';
import { t } from '../i18n/translate';

export interface TriageCustomizationArgs {
  readonly servicesManager: {
    readonly services: { readonly chestAidService: ChestAidService; readonly chestAidTriageService: TriageService };
  };
  readonly commandsManager: { runCommand(name: string, options?: object): unknown };
}

/** The WorkList's row as its data source gives it (OHIF 3.13 StudyRow). */
interface WorkListRow {
  readonly studyInstanceUid?: string;
  readonly modalities?: string;
  /** DICOM DA and TM. */
  readonly date?: string;
  readonly time?: string;
}

/** A column of OHIF's WorkList as `workList.columns` holds it (a TanStack Table column definition). */
interface ColumnLike {
  readonly id?: string;
  readonly header?: unknown;
}

/** The TanStack column a header is rendered for, as far as the risk column uses it. */
export interface SortableColumn {
  getIsSorted(): false | 'asc' | 'desc';
  /** With no argument, TanStack's cycle: the first direction (sortDescFirst), the other, none. */
  toggleSorting(desc?: boolean, multi?: boolean): void;
}

type HeaderRenderer = (context: { column: SortableColumn }) => ReactNode;

/**
 * The column the risk header is drawn for, with TanStack's own click cycle. OHIF's ColumnHeader
 * toggles between ascending and descending and never back; the reader asked for descending,
 * ascending, then OHIF's usual order, which is TanStack's cycle with `sortDescFirst` (the third
 * click removes the sort, and the WorkList falls back to its default order).
 */
export function riskSortHeader(column: SortableColumn): SortableColumn {
  return Object.create(column, { toggleSorting: { value: () => column.toggleSorting() } }) as SortableColumn;
}

/** OHIF's header renderer, borrowed from a default text column (the same DataTable.ColumnHeader, sort arrow and all). */
function ohifHeaderOf(columns: readonly ColumnLike[]): HeaderRenderer | null {
  const donor = columns.find(column => column?.id === 'patient') ?? columns.find(column => column?.id === 'description');
  return typeof donor?.header === 'function' ? (donor.header as HeaderRenderer) : null;
}

/**
 * Pixels: the score with its threshold and calibration, in the list's bold type, in the longer
 * language: "100,0 % (por encima del umbral 75,0 %) (v1)" measured 275 px (e2e/i18n.test.mjs
 * checks it is not cut, in both languages).
 */
const CELL_MIN_WIDTH = 290;

/** A function: its words are read in the reader's language when the host asks for the button. */
export const triageButton = () => ({
  id: triageButtonId,
  uiType: 'ohif.toolButton',
  props: {
    icon: 'icon-list-view',
    label: t('risk.openTriage'),
    tooltip: t('risk.openTriageTitle'),
    commands: { commandName: 'navigateHistory', commandOptions: { to: TRIAGE_PATH } },
    evaluate: 'evaluate.action',
  },
});

export function triageCustomizations({ servicesManager, commandsManager }: TriageCustomizationArgs) {
  const services = () => servicesManager.services;
  const navigate = (to: string) => commandsManager.runCommand('navigateHistory', { to });

  const Header = propsIslandComponent(() => createElement(RiskHeader, { onOpenTriage: () => navigate(TRIAGE_PATH) }), 'ChestAidRiskHeader');
  const Cell = propsIslandComponent(
    ({ studyInstanceUID, modalities }: { studyInstanceUID: string; modalities?: string }) =>
      createElement(RiskCell, {
        triage: services().chestAidTriageService,
        chestAid: services().chestAidService,
        studyInstanceUID,
        modalities,
      }),
    'ChestAidRiskCell',
    // The WorkList sizes columns by their content and classes; this keeps the score and its threshold whole.
    { className: 'truncate', style: { minWidth: CELL_MIN_WIDTH } },
  );
  const Page = islandComponent(
    () => createElement(TriagePage, { triage: services().chestAidTriageService, chestAid: services().chestAidService, navigate }),
    'ChestAidTriagePage',
  );

  /** The cell's text now, for the column's filter (the WorkList computes its columns once). */
  const liveLabel = (row: WorkListRow): string => {
    const { chestAidTriageService, chestAidService } = services();
    const status = statusIn(chestAidTriageService.getState(), row.studyInstanceUid ?? '', row.modalities);
    return riskText(status, chestAidService.getState().threshold?.value ?? null).label;
  };

  /** The study as the risk order sees it, read from the services at the moment the list sorts. */
  const sortEntry = (row: WorkListRow): RiskSortEntry => ({
    studyInstanceUID: row.studyInstanceUid ?? '',
    date: row.date,
    time: row.time,
    status: statusIn(services().chestAidTriageService.getState(), row.studyInstanceUid ?? '', row.modalities),
  });

  // The direction the list is sorted in, from the column the header was last drawn for: a sortingFn
  // is not told it, and unscored rows stay last in both (compareByRisk).
  let sortedAs: () => false | 'asc' | 'desc' = () => false;

  const riskColumn = (columns: readonly ColumnLike[]) => {
    const ohifHeader = ohifHeaderOf(columns);
    const label = t('column.risk');
    return {
      id: riskColumnId,
      accessorFn: (row: WorkListRow) => liveLabel(row),
      header: ({ column }: { column: SortableColumn }) => {
        sortedAs = () => column.getIsSorted();
        if (ohifHeader) return ohifHeader({ column: riskSortHeader(column) });
        // A host without OHIF's header to borrow: the label, and the click cycle on a plain button.
        return createElement('span', { className: 'flex items-center gap-1' }, createElement(Header, {}), createElement(
          'button',
          { type: 'button', onClick: () => column.toggleSorting(), 'aria-label': t('risk.sortButton', { column: label }) },
          ({ asc: '▲', desc: '▼', none: '⇅' } as const)[column.getIsSorted() || 'none'],
        ));
      },
      cell: ({ row }: { row: { original: WorkListRow } }) =>
        createElement(Cell, { studyInstanceUID: row.original.studyInstanceUid ?? '', modalities: row.original.modalities }),
      filterFn: (row: { original: WorkListRow }, _columnId: string, filter: unknown) =>
        liveLabel(row.original).toLowerCase().includes(String(filter ?? '').trim().toLowerCase()),
      // TanStack reverses what sortingFn answers when descending; compareByRisk already placed the
      // rows for the direction, so the answer is turned round first.
      sortingFn: (a: { original: WorkListRow }, b: { original: WorkListRow }) => {
        const desc = sortedAs() === 'desc';
        return (desc ? -1 : 1) * compareByRisk(sortEntry(a.original), sortEntry(b.original), desc ? 'desc' : 'asc');
      },
      sortDescFirst: true,
      // Kept before Modalities (60) and the identifiers when the list is narrow, after Description (90).
      meta: { label, headerContent: createElement(Header, {}), minWidth: CELL_MIN_WIDTH, priority: 80 },
    };
  };

  return {
    'workList.columns': {
      $apply: (columns: ColumnLike[] | undefined) => {
        const others = (columns ?? []).filter(column => column?.id !== riskColumnId);
        const actions = others.findIndex(column => column?.id === 'actions');
        const at = actions === -1 ? others.length : actions;
        return [...others.slice(0, at), riskColumn(others), ...others.slice(at)];
      },
    },
    'routes.customRoutes': {
      $apply: (existing: { routes?: { path?: string }[] } | undefined) => ({
        ...(existing ?? {}),
        routes: [...(existing?.routes ?? []).filter(route => route.path !== TRIAGE_PATH), { path: TRIAGE_PATH, children: Page, private: true }],
      }),
    },
  };
}
