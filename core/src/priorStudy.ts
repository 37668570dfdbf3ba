/**
 * Which study is a radiograph's prior (issue 18 item 4): the same patient's most recent earlier
 * CR/DX study. Pure, so the viewer's mode (which asks its data source for the patient's studies)
 * and the tests share one rule.
 */

/** A study as a study search (QIDO-RS) describes it. */
export interface StudySummary {
  readonly studyInstanceUID: string;
  /** Patient ID (0010,0020); a study without one has no prior. */
  readonly patientId: string;
  /** Study Date as DICOM writes it (DA, YYYYMMDD); a study without a valid one is never a prior. */
  readonly studyDate: string;
  /** Modalities in Study. */
  readonly modalities: readonly string[];
}

const RADIOGRAPH = new Set(['CR', 'DX']);
const DATE = /^\d{8}$/;

/**
 * The prior of `current` among `candidates`: the same Patient ID, at least one CR or DX image, a
 * Study Date strictly before the current one's; the latest such (ties by the larger UID, so every
 * reader picks the same). Null when there is none or when `current` lacks a Patient ID or a date.
 */
export function priorStudyOf(current: StudySummary, candidates: readonly StudySummary[]): StudySummary | null {
  if (!current.patientId.trim() || !DATE.test(current.studyDate)) return null;
  const priors = candidates.filter(
    study =>
      study.studyInstanceUID !== current.studyInstanceUID &&
      study.patientId === current.patientId &&
      DATE.test(study.studyDate) &&
      study.studyDate < current.studyDate &&
      study.modalities.some(m => RADIOGRAPH.has(m)),
  );
  priors.sort((a, b) => (a.studyDate !== b.studyDate ? (a.studyDate < b.studyDate ? 1 : -1) : a.studyInstanceUID < b.studyInstanceUID ? 1 : -1));
  return priors[0] ?? null;
}
