/**
 * Where the triage page and the study list's risk column lead. Paths only: the host's router
 * (OHIF's navigateHistory command) resolves them against its own base.
 */
import type { StudyStatus } from '@chestaid/core';

/** The triage page's route. */
export const TRIAGE_PATH = '/chestaid-triage';

/** The ChestAid mode's route (mode/src/index.ts routeName). */
export const MODE_PATH = '/chestaid';

/**
 * A study in the ChestAid mode. For a scored study it names the image that gave the score
 * (OHIF's initialSeriesInstanceUID / initialSOPInstanceUID), so the viewer opens on it and the
 * panel finds its stored result.
 */
export function studyLink(studyInstanceUID: string, status: StudyStatus | null): string {
  const query = new URLSearchParams({ StudyInstanceUIDs: studyInstanceUID });
  if (status?.kind === 'scored') {
    query.set('initialSeriesInstanceUID', status.image.seriesInstanceUID);
    query.set('initialSOPInstanceUID', status.image.sopInstanceUID);
  }
  return `${MODE_PATH}?${query.toString()}`;
}
