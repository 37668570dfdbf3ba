/**
 * The study list's filters applied to rows in memory, for a data source that has the whole list
 * at hand (a DICOM JSON document) rather than a server to query. Filter names and row fields are
 * OHIF 3.13's: the WorkList sends `patientName`, `patientId`, `studyDescription`,
 * `accessionNumber`, `modalitiesInStudy`, `startDate`/`endDate` (yyyyMMdd), `offset`, `limit`; the
 * mode route sends `studyInstanceUid`.
 */
import { splitModalities } from '../modalities';

/** A study as OHIF's study list shows it (the fields the DICOM JSON source's search returns). */
export interface StudyRow {
  readonly studyInstanceUid: string;
  readonly patientName?: string;
  readonly mrn?: string;
  readonly description?: string;
  readonly accession?: string;
  readonly modalities?: string;
  readonly date?: string;
  readonly [field: string]: unknown;
}

export interface StudyFilters {
  readonly studyInstanceUid?: string;
  readonly patientName?: string;
  readonly patientId?: string;
  readonly studyDescription?: string;
  readonly accessionNumber?: string;
  readonly modalitiesInStudy?: readonly string[] | string;
  readonly startDate?: string;
  readonly endDate?: string;
  readonly offset?: number;
  readonly limit?: number;
  readonly [other: string]: unknown;
}

/** Case-insensitive substring match; DICOM wildcards (`*`, `?`) in the filter are ignored. */
function textMatches(value: unknown, filter: string | undefined): boolean {
  const wanted = (filter ?? '').replace(/[*?]/g, '').trim().toLowerCase();
  return wanted === '' || String(value ?? '').toLowerCase().includes(wanted);
}

const digits = (value: unknown): string => String(value ?? '').replace(/\D/g, '');

export function filterStudies(rows: readonly StudyRow[], filters: StudyFilters = {}): StudyRow[] {
  const wantedModalities = splitModalities(filters.modalitiesInStudy);
  const start = digits(filters.startDate);
  const end = digits(filters.endDate);
  const matching = rows.filter(
    row =>
      (!filters.studyInstanceUid || row.studyInstanceUid === filters.studyInstanceUid) &&
      textMatches(row.patientName, filters.patientName) &&
      textMatches(row.mrn, filters.patientId) &&
      textMatches(row.description, filters.studyDescription) &&
      textMatches(row.accession, filters.accessionNumber) &&
      (wantedModalities.length === 0 || splitModalities(row.modalities).some(m => wantedModalities.includes(m))) &&
      (!start || digits(row.date) >= start) &&
      (!end || digits(row.date) <= end),
  );
  const offset = filters.offset ?? 0;
  return matching.slice(offset, filters.limit === undefined ? undefined : offset + filters.limit);
}
