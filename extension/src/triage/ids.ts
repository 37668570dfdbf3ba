/** Ids the mode and the host customizations share for the triage worklist. */
export { TRIAGE_PATH } from './links';

/** The mode's toolbar button to the triage page. */
export const triageButtonId = 'ChestAidTriage';

/** The study list's column (workList.columns). */
export const riskColumnId = 'chestaidRisk';
