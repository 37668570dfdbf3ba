/**
 * Loads a radiograph's prior with it (issue 18 item 4): before OHIF reads the route's studies, the
 * ChestAid mode's route asks the data source for the patient's studies and adds the prior (core
 * priorStudyOf: the most recent earlier CR/DX study of the same Patient ID) to the list, so OHIF
 * loads both and the hanging protocol (hangingProtocol.ts) finds it at index 1.
 *
 * OHIF 3.13.2 has no public hook that adds a study to a route: its Mode route awaits the route's
 * `init` and then runs its default init with the same `studyInstanceUIDs` array, so the prior is
 * appended to that array. That is OHIF's internal behaviour, not an API: the host version is pinned
 * (scripts/check-ohif-host.mjs) and test/e2e/prior.test.mjs checks the prior opens.
 */
import { messageOf, priorStudyOf, type StudySummary } from '@chestaid/core';

/** A study as OHIF's data sources' `query.studies.search` answers (DicomWeb and DICOM JSON alike). */
export interface SearchedStudy {
  readonly studyInstanceUid?: string;
  readonly mrn?: string;
  readonly date?: string;
  readonly modalities?: string;
}

export interface StudySearch {
  readonly query: { readonly studies: { search(params: Record<string, unknown>): Promise<readonly SearchedStudy[]> } };
}

function summary(study: SearchedStudy): StudySummary {
  return {
    studyInstanceUID: study.studyInstanceUid ?? '',
    patientId: study.mrn ?? '',
    studyDate: (study.date ?? '').replace(/-/g, ''),
    modalities: (study.modalities ?? '').split(/[\\,/\s]+/).filter(Boolean).map(m => m.toUpperCase()),
  };
}

/**
 * Appends the prior of the route's one study to `studyInstanceUIDs` and returns its UID, or null
 * (several studies named, none found, or the search failed: then the study opens alone, with a
 * warning in the console).
 */
export async function addPriorStudy({ studyInstanceUIDs, dataSource }: { studyInstanceUIDs: string[]; dataSource: StudySearch | undefined }): Promise<string | null> {
  // A reader who named several studies chose what to compare.
  if (studyInstanceUIDs.length !== 1 || !dataSource) return null;
  const [uid] = studyInstanceUIDs;
  try {
    const current = (await dataSource.query.studies.search({ studyInstanceUid: uid })).find(s => s.studyInstanceUid === uid);
    if (!current?.mrn) return null;
    const candidates = await dataSource.query.studies.search({ patientId: current.mrn, disableWildcard: true });
    const prior = priorStudyOf(summary(current), candidates.map(summary));
    if (!prior) return null;
    studyInstanceUIDs.push(prior.studyInstanceUID);
    return prior.studyInstanceUID;
  } catch (error) {
    console.warn(`ChestAid: the prior study of ${uid} could not be looked up: ${messageOf(error)}`);
    return null;
  }
}
