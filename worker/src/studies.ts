/**
 * Finding new work (the "cursor"). QIDO-RS cannot ask for studies by arrival time (StudyDate is
 * the acquisition date; a study from last year can arrive today), so the worker does not trust a
 * date cursor. Each poll lists the studies (paged with limit/offset) with their instance count and
 * modalities; a study whose fingerprint (count + modalities) is unchanged since the worker found it
 * complete is skipped without another request. Anything that changes a study (a new image, a
 * result written by a reader's panel) changes its count and gets it re-examined. The memo is a
 * cache: without it (a fresh state file) the worker re-examines everything and writes nothing new.
 */
import type { DicomJson } from '@chestaid/core';
import { TAG, value, values } from './dicomJson';
import type { PacsLike } from './pacsLink';

const STUDY_FIELDS = [TAG.ModalitiesInStudy, TAG.NumberOfStudyRelatedInstances, TAG.StudyDate];
export const SERIES_FIELDS = [TAG.Modality, TAG.SeriesDescription, TAG.NumberOfSeriesRelatedInstances];

export interface ListingOptions {
  /** QIDO-RS page size. */
  readonly pageSize: number;
  /** Only studies with StudyDate on or after this day (YYYYMMDD): a bound, not a cursor. */
  readonly since: string | undefined;
}

/** Every study in the PACS (since `since`), with the fields its fingerprint needs. */
export async function listStudies(pacs: Pick<PacsLike, 'searchStudies'>, { pageSize, since }: ListingOptions): Promise<DicomJson[]> {
  const all: DicomJson[] = [];
  for (let offset = 0; ; offset += pageSize) {
    const page = await pacs.searchStudies({
      includefield: STUDY_FIELDS,
      limit: pageSize,
      offset,
      ...(since ? { StudyDate: `${since}-` } : {}),
    });
    all.push(...page);
    if (page.length < pageSize) return all;
  }
}

/** A study's modalities (sorted) and the fingerprint that changes when anything is added to it. */
export function fingerprintOf(study: DicomJson): { readonly modalities: string[]; readonly fingerprint: string } {
  const modalities = values(study, TAG.ModalitiesInStudy).sort();
  return { modalities, fingerprint: `${value(study, TAG.NumberOfStudyRelatedInstances) ?? '?'}|${modalities.join('\\')}` };
}
