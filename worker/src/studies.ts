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
  /** Pages per listing at most (default 10,000): a server that pages forever cannot hold the worker. */
  readonly maxPages?: number;
}

export interface Listing {
  readonly studies: DicomJson[];
  /** Why paging stopped before the server said it was done; null when it ran to the end. */
  readonly stopped: string | null;
}

const WARNING_299 = /^299\b/;

/**
 * Every study in the PACS (since `since`), with the fields its fingerprint needs, paged with
 * limit/offset and guarded against servers that page wrongly:
 * - a page shorter than `limit` ends the listing, unless the server said `Warning: 299` (it capped
 *   the page below the limit and has more): then the next offset is after what it sent;
 * - a page longer than `limit` means the server ignored it and sent everything: that is the list;
 * - a page that adds no study not already seen (a server ignoring `offset` repeats page one) stops
 *   paging: asking again cannot help;
 * - at most `maxPages` pages.
 * The last three return what was found with the reason, for the log: the worker scores what it
 * can see and says what it could not.
 */
export async function listStudies(pacs: Pick<PacsLike, 'searchStudies' | 'searchStudiesPage'>, { pageSize, since, maxPages = 10_000 }: ListingOptions): Promise<Listing> {
  const all: DicomJson[] = [];
  const seen = new Set<string>();
  let offset = 0;
  for (let page = 0; page < maxPages; page++) {
    const query = { includefield: STUDY_FIELDS, limit: pageSize, offset, ...(since ? { StudyDate: `${since}-` } : {}) };
    const { matches, warnings } = pacs.searchStudiesPage ? await pacs.searchStudiesPage(query) : { matches: await pacs.searchStudies(query), warnings: [] };
    let added = 0;
    for (const study of matches) {
      const uid = value(study, TAG.StudyInstanceUID);
      if (uid === undefined || seen.has(uid)) continue;
      seen.add(uid);
      all.push(study);
      added++;
    }
    const capped = warnings.some(w => WARNING_299.test(w));
    if (matches.length > pageSize) return { studies: all, stopped: null };
    if (matches.length < pageSize && !capped) return { studies: all, stopped: null };
    if (added === 0) {
      return {
        studies: all,
        stopped: matches.length === 0
          ? `the PACS said it capped the page (Warning 299) but sent nothing at offset ${offset}`
          : `the page at offset ${offset} held no study not already listed: the PACS ignores offset; only the first ${all.length} studies are seen`,
      };
    }
    offset += matches.length;
  }
  return { studies: all, stopped: `stopped after ${maxPages} pages (${all.length} studies); the rest are not seen this poll` };
}

/** A study's modalities (sorted) and the fingerprint that changes when anything is added to it. */
export function fingerprintOf(study: DicomJson): { readonly modalities: string[]; readonly fingerprint: string } {
  const modalities = values(study, TAG.ModalitiesInStudy).sort();
  return { modalities, fingerprint: `${value(study, TAG.NumberOfStudyRelatedInstances) ?? '?'}|${modalities.join('\\')}` };
}
