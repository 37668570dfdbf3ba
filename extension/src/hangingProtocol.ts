/**
 * ChestAid's hanging protocol (issue 18 item 4), registered through OHIF's hanging protocol module
 * and named by the ChestAid mode: the current study's frontal CR/DX image in the first viewport;
 * when the mode loaded the patient's prior CR/DX study beside it (priorStudy.ts), its frontal image
 * in a second viewport to the right. Each viewport draws its own image's result and heatmap (the
 * heatmap layer follows every viewport's image); the panel shows the change in score.
 *
 * OHIF's own comparison protocol (@ohif/hpCompare in extension-default) places the studies by the
 * `studyInstanceUIDsIndex` its engine passes to study matching rules (0: the first study of the
 * route, 1: the next) and is chosen by a rule on the prior study; these do the same: two
 * protocols, the one with a prior (two viewports) winning OHIF's matching when there is one.
 */

export const CHEST_PRIOR_PROTOCOL_ID = '@chestaid/hp-chest-prior';
export const CHEST_PROTOCOL_ID = '@chestaid/hp-chest';

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

const shared = {
  toolGroupIds: ['default'],
  // chestaidAny (no study rule) fills the viewports a reader adds by changing the layout.
  displaySetSelectors: { chestaidCurrent: chestRadiographOf(0), chestaidPrior: chestRadiographOf(1), chestaidAny: { seriesMatchingRules: chestSeriesRules } },
  defaultViewport: { viewportOptions, displaySets: [{ id: 'chestaidAny', matchedDisplaySetsIndex: -1 }] },
};

/**
 * With a prior: current and prior side by side. It wins OHIF's protocol matching (weight 1000)
 * when the route holds a second study, the rule OHIF's own comparison protocol uses.
 */
export const chestPriorProtocol = {
  ...shared,
  id: CHEST_PRIOR_PROTOCOL_ID,
  name: 'ChestAid: chest radiograph with its prior',
  description: 'The frontal CR/DX image, and beside it the same patient’s prior CR/DX study',
  protocolMatchingRules: [{ id: 'a prior study', weight: 1000, attribute: 'StudyInstanceUID', from: 'prior', required: true, constraint: { notNull: true } }],
  stages: [{ id: 'current-and-prior', name: 'Current and prior', viewportStructure: grid(2), viewports: [current, prior] }],
};

/** Without a prior: the frontal image alone. */
export const chestProtocol = {
  ...shared,
  id: CHEST_PROTOCOL_ID,
  name: 'ChestAid: chest radiograph',
  description: 'The frontal CR/DX image first',
  protocolMatchingRules: [{ id: 'a study', weight: 1, attribute: 'StudyInstanceUID', constraint: { notNull: true } }],
  stages: [{ id: 'current', name: 'Current', viewportStructure: grid(1), viewports: [current] }],
};

/**
 * What the ChestAid mode names: OHIF 3.13.2 opens a protocol named alone at its first stage
 * whatever matched (its Mode route passes stage index 0), so the choice between one viewport and
 * two is left to OHIF's protocol matching among these two.
 */
export const CHEST_PROTOCOL_IDS = [CHEST_PRIOR_PROTOCOL_ID, CHEST_PROTOCOL_ID];

export function getHangingProtocolModule() {
  return [
    { name: CHEST_PRIOR_PROTOCOL_ID, protocol: chestPriorProtocol },
    { name: CHEST_PROTOCOL_ID, protocol: chestProtocol },
  ];
}
