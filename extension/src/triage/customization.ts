/**
 * What the triage worklist adds to the host through OHIF's customization service:
 *  - `workList.columns`: a "Pneumonia risk" column before the row actions, its header leading to
 *    the triage page. The WorkList keeps its own order (study date): the column flags, it never
 *    re-sorts or hides anything.
 *  - `routes.customRoutes`: the triage page at TRIAGE_PATH.
 *  - the mode's toolbar button to the triage page (OHIF's navigateHistory command).
 * Both host edits are `$apply` functions that first drop an earlier copy of ours, so applying
 * them twice changes nothing.
 */
import { createElement } from 'react';

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
}

interface ColumnLike {
  readonly id?: string;
}

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
    { className: 'truncate' },
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

  const riskColumn = {
    id: riskColumnId,
    accessorFn: (row: WorkListRow) => liveLabel(row),
    header: () => createElement(Header, {}),
    cell: ({ row }: { row: { original: WorkListRow } }) =>
      createElement(Cell, { studyInstanceUID: row.original.studyInstanceUid ?? '', modalities: row.original.modalities }),
    filterFn: (row: { original: WorkListRow }, _columnId: string, filter: unknown) =>
      liveLabel(row.original).toLowerCase().includes(String(filter ?? '').trim().toLowerCase()),
    // The WorkList's order stays the usual one; risk order is the triage page's.
    enableSorting: false,
    // Kept before Modalities (60) and the identifiers when the list is narrow, after Description (90).
    meta: { label: t('column.risk'), minWidth: 160, priority: 80 },
  };

  return {
    'workList.columns': {
      $apply: (columns: ColumnLike[] | undefined) => {
        const others = (columns ?? []).filter(column => column?.id !== riskColumnId);
        const actions = others.findIndex(column => column?.id === 'actions');
        const at = actions === -1 ? others.length : actions;
        return [...others.slice(0, at), riskColumn, ...others.slice(at)];
      },
    },
    'routes.customRoutes': {
      $apply: (existing: { routes?: { path?: string }[] } | undefined) => ({
        ...(existing ?? {}),
        routes: [...(existing?.routes ?? []).filter(route => route.path !== TRIAGE_PATH), { path: TRIAGE_PATH, children: Page }],
      }),
    },
  };
}
