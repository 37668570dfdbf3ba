/**
 * ChestAid's hanging protocol (issue 18 item 4), registered through OHIF's hanging protocol module
 * and named by the ChestAid mode: the current study's frontal CR/DX image in the first viewport;
 * when the mode loaded the patient's prior CR/DX study beside it (priorStudy.ts), its frontal image
 * in a second viewport to the right. Each viewport draws its own image's result and heatmap (the
 * heatmap layer follows every viewport's image); the panel shows the change in score.
 *
 * OHIF's own comparison protocol (@ohif/hpCompare in extension-default) places the studies by the
 * `studyInstanceUIDsIndex` its engine passes to study matching rules (0: the first study of the
 * route, 1: the next); this one does the same, with stages chosen by how many viewports match:
 * two (current and prior) when there is a prior, else one.
 */

export const CHEST_PRIOR_PROTOCOL_ID = '@chestaid/hp-chest-prior';

/** The custom attribute the series rules read (registered in registerChestView). */
export const CHEST_VIEW_ATTRIBUTE = 'chestaidChestView';

/** How the attribute rates a display set: a frontal CR/DX view, another CR/DX view, anything else. */
export const CHEST_VIEW = Object.freeze({ frontal: 2, other: 1, none: 0 });

/** A display set as the attribute reads it: its modality and its first instance's view position. */
export interface ChestViewDisplaySet {
  readonly Modality?: string;
  readonly instance?: { readonly ViewPosition?: string };
  readonly instances?: readonly { readonly ViewPosition?: string }[];
}

/** CHEST_VIEW of a display set: frontal when its view position is PA or AP (or not given). */
export function chestView(displaySet: ChestViewDisplaySet | undefined): number {
  const modality = (displaySet?.Modality ?? '').toUpperCase();
  if (modality !== 'CR' && modality !== 'DX') return CHEST_VIEW.none;
  const view = (displaySet?.instance ?? displaySet?.instances?.[0])?.ViewPosition?.trim().toUpperCase() ?? '';
  return view === '' || view === 'PA' || view === 'AP' ? CHEST_VIEW.frontal : CHEST_VIEW.other;
}

/** OHIF's HangingProtocolService, typed by what is called on it. */
export interface HangingProtocolRegistry {
  addCustomAttribute(id: string, name: string, callback: (this: unknown, displaySet: ChestViewDisplaySet) => number): void;
}

export function registerChestView(hangingProtocolService: HangingProtocolRegistry | undefined): void {
  hangingProtocolService?.addCustomAttribute(CHEST_VIEW_ATTRIBUTE, 'ChestAid chest view', displaySet => chestView(displaySet));
}

const chestSeriesRules = [
  { attribute: CHEST_VIEW_ATTRIBUTE, required: true, constraint: { greaterThan: { value: CHEST_VIEW.none } } },
  // The frontal view first, whatever the series order.
  { attribute: CHEST_VIEW_ATTRIBUTE, weight: 10, constraint: { equals: { value: CHEST_VIEW.frontal } } },
  { attribute: 'numImageFrames', constraint: { greaterThan: { value: 0 } } },
];

/** A display set selector for the study at `index` of the route (0: current, 1: prior). */
function chestRadiographOf(index: number) {
  return {
    studyMatchingRules: [{ attribute: 'studyInstanceUIDsIndex', from: 'options', required: true, constraint: { equals: { value: index } } }],
    seriesMatchingRules: chestSeriesRules,
  };
}

const viewportOptions = { viewportType: 'stack', toolGroupId: 'default', allowUnmatchedView: true };
const current = { viewportOptions: { ...viewportOptions, viewportId: 'chestaid-current' }, displaySets: [{ id: 'chestaidCurrent' }] };
const prior = { viewportOptions: { ...viewportOptions, viewportId: 'chestaid-prior' }, displaySets: [{ id: 'chestaidPrior' }] };
const grid = (columns: number) => ({ layoutType: 'grid', properties: { rows: 1, columns } });

export const chestPriorProtocol = {
  id: CHEST_PRIOR_PROTOCOL_ID,
  name: 'ChestAid: chest radiograph with its prior',
  description: 'The frontal CR/DX image, and beside it the same patient’s prior CR/DX study when there is one',
  protocolMatchingRules: [{ id: 'chest radiograph', weight: 1, attribute: 'ModalitiesInStudy', constraint: { contains: 'CR' } }],
  toolGroupIds: ['default'],
  // chestaidAny (no study rule) fills the viewports a reader adds by changing the layout: OHIF
  // matches those outside a full run, where the study index is not given.
  displaySetSelectors: { chestaidCurrent: chestRadiographOf(0), chestaidPrior: chestRadiographOf(1), chestaidAny: { seriesMatchingRules: chestSeriesRules } },
  defaultViewport: { viewportOptions, displaySets: [{ id: 'chestaidAny', matchedDisplaySetsIndex: -1 }] },
  stages: [
    // Only with a prior: without one this stage is disabled, so a 1x2 layout the reader picks is
    // filled like any other (defaultViewport), not with an empty prior viewport.
    {
      id: 'current-and-prior',
      name: 'Current and prior',
      stageActivation: { passive: { displaySetSelectorsMatched: ['chestaidPrior'] }, enabled: { minViewportsMatched: 2 } },
      viewportStructure: grid(2),
      viewports: [current, prior],
    },
    { id: 'current', name: 'Current', viewportStructure: grid(1), viewports: [current] },
  ],
};

export function getHangingProtocolModule() {
  return [{ name: CHEST_PRIOR_PROTOCOL_ID, protocol: chestPriorProtocol }];
}
