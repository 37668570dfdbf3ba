/**
 * The study list and the images to score, read through the active OHIF data source's own query
 * API (QIDO-RS for DICOMweb; the document for ChestAid's DICOM JSON source), so the batch fetches
 * exactly what the viewer would. The data source is a structurally typed parameter (STYLE.md 11).
 *
 *   studies()      query.studies.search({})                       the rows of the study list
 *   imagesOf(uid)  query.series.search(uid)                        which series are CR or DX
 *                  query.instances.search(uid, { SeriesInstanceUID })   one instance per series
 *                  getImageIdsForInstance({ instance })           its Cornerstone imageId
 *
 * For the PACS (OHIF's stock DICOMweb source) two things differ, given as a `pacs` option:
 *  - OHIF 3.13's DICOMweb `instances.search` sends its parameters to /studies and ignores the
 *    study UID (it answers with study rows), so instances are listed with ChestAid's own QIDO-RS
 *    client instead;
 *  - its WADO-RS imageIds load only once the study's metadata is in OHIF's metadata store (the
 *    viewer does this when a study opens), so the study's metadata is retrieved first, through
 *    the data source's own `retrieve.series.metadata`, as the viewer would.
 *
 * The pixels themselves are then loaded by Cornerstone's image loader (the panel's adapter), which
 * works on any route of the viewer: checked on a custom route, where extension-cornerstone has
 * initialised Cornerstone and its DICOM loader at startup, whatever page is shown. So the batch
 * needs no DICOM parser of its own.
 */
import type { ImageToScore } from './batch';
import { ACCEPTED_MODALITIES, splitModalities } from '../modalities';

/** A row of the study list, in OHIF's field names. */
export interface StudySummary {
  readonly studyInstanceUID: string;
  readonly patientName: string;
  readonly mrn: string;
  /** DICOM DA and TM. */
  readonly date: string;
  readonly time: string;
  readonly description: string;
  readonly accession: string;
  /** As the study list shows it, e.g. "CR" or "CT\\SR". */
  readonly modalities: string;
}

export interface StudyCatalog {
  studies(): Promise<StudySummary[]>;
  /** One CR/DX image per series of the study (the lowest InstanceNumber); [] when it has none. */
  imagesOf(studyInstanceUID: string): Promise<ImageToScore[]>;
}

type Json = Record<string, unknown>;

/** The part of an OHIF data source the catalog uses. */
export interface CatalogDataSource {
  initialize?(args: { params?: unknown; query?: URLSearchParams }): Promise<unknown> | unknown;
  readonly query: {
    readonly studies: { search(filters: Json): Promise<unknown> | unknown };
    readonly series: { search?(studyInstanceUid: string): Promise<unknown> | unknown };
    readonly instances?: { search?(studyInstanceUid: string, parameters: Json): Promise<unknown> | unknown };
  };
  getImageIdsForInstance(args: { instance: Json }): unknown;
  readonly retrieve?: { readonly series?: { metadata?(args: { StudyInstanceUID: string }): Promise<unknown> | unknown } };
}

/** How to read a study of the PACS (see above); null while another data source is active. */
export interface PacsCatalogAccess {
  /** QIDO-RS instances of one series (DICOM JSON). */
  instances(studyInstanceUID: string, seriesInstanceUID: string): Promise<Json[]>;
}

/** A naturalized value, or the first Value of a DICOM JSON (QIDO-RS) attribute. */
function attribute(object: Json, keyword: string, tag: string): unknown {
  if (object[keyword] !== undefined) return object[keyword];
  const element = object[tag] as { Value?: unknown[] } | undefined;
  return element?.Value?.[0];
}

function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  // A DICOM JSON person name.
  const alphabetic = (value as { Alphabetic?: unknown } | null)?.Alphabetic;
  return typeof alphabetic === 'string' ? alphabetic : '';
}

function list(value: unknown, what: string): Json[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new Error(`the data source's ${what} search did not return a list`);
  return value.filter((item): item is Json => typeof item === 'object' && item !== null);
}

function instanceNumber(instance: Json): number {
  const value = Number(attribute(instance, 'InstanceNumber', '00200013'));
  return Number.isFinite(value) ? value : Number.POSITIVE_INFINITY;
}

function summaryOf(row: Json): StudySummary | null {
  const studyInstanceUID = text(row.studyInstanceUid ?? row.StudyInstanceUID);
  if (!studyInstanceUID) return null;
  return {
    studyInstanceUID,
    patientName: text(row.patientName),
    mrn: text(row.mrn),
    date: text(row.date),
    time: text(row.time),
    description: text(row.description),
    accession: text(row.accession),
    modalities: text(row.modalities),
  };
}

export function dataSourceCatalog(
  dataSource: () => CatalogDataSource,
  { accepted = ACCEPTED_MODALITIES, pacs = () => null }: { accepted?: readonly string[]; pacs?: () => PacsCatalogAccess | null } = {},
): StudyCatalog {
  let ready: Promise<CatalogDataSource> | null = null;

  /**
   * A custom route is not wrapped in OHIF's data-source wrapper, which initializes the source on
   * the study list and in modes: initialize it here, once, as that wrapper would (no URL query:
   * the source falls back to its configuration).
   */
  const source = (): Promise<CatalogDataSource> => {
    if (!ready) {
      const attempt = (async () => {
        const found = dataSource();
        if (!found) throw new Error('the viewer has no active data source');
        await found.initialize?.({ params: {}, query: new URLSearchParams() });
        return found;
      })();
      ready = attempt;
      attempt.catch(() => {
        if (ready === attempt) ready = null;
      });
    }
    return ready;
  };

  return {
    async studies() {
      const found = await source();
      const rows = list(await found.query.studies.search({}), 'study');
      return rows.map(summaryOf).filter((s): s is StudySummary => s !== null);
    },

    async imagesOf(studyInstanceUID) {
      const found = await source();
      const fromPacs = pacs();
      const searchSeries = found.query.series.search;
      const dataSourceInstances = found.query.instances?.search;
      const searchInstances = fromPacs
        ? (study: string, parameters: Json) => fromPacs.instances(study, String(parameters.SeriesInstanceUID))
        : dataSourceInstances && ((study: string, parameters: Json) => dataSourceInstances.call(found.query.instances, study, parameters));
      if (!searchSeries || !searchInstances) throw new Error('the data source cannot list series and instances');
      const series = list(await searchSeries.call(found.query.series, studyInstanceUID), 'series')
        .map(s => ({
          uid: text(s.seriesInstanceUid ?? attribute(s, 'SeriesInstanceUID', '0020000E')),
          modality: text(s.modality ?? attribute(s, 'Modality', '00080060')).toUpperCase(),
          number: Number(s.seriesNumber ?? attribute(s, 'SeriesNumber', '00200011')),
        }))
        .filter(s => s.uid && accepted.includes(s.modality))
        .sort((a, b) => (Number.isFinite(a.number) ? a.number : Infinity) - (Number.isFinite(b.number) ? b.number : Infinity));

      const images: ImageToScore[] = [];
      for (const { uid: seriesInstanceUID, modality } of series) {
        const instances = list(await searchInstances(studyInstanceUID, { SeriesInstanceUID: seriesInstanceUID }), 'instance')
          // A source that ignores the series parameter returns the whole study.
          .filter(instance => text(attribute(instance, 'SeriesInstanceUID', '0020000E')) === seriesInstanceUID)
          .filter(instance => text(attribute(instance, 'SOPInstanceUID', '00080018')) !== '')
          .sort((a, b) => instanceNumber(a) - instanceNumber(b));
        const first = instances[0];
        if (!first) continue;
        const sopInstanceUID = text(attribute(first, 'SOPInstanceUID', '00080018'));
        const instance = { ...first, StudyInstanceUID: studyInstanceUID, SeriesInstanceUID: seriesInstanceUID, SOPInstanceUID: sopInstanceUID };
        const ids = found.getImageIdsForInstance({ instance });
        const imageId = Array.isArray(ids) ? ids[0] : ids;
        if (typeof imageId !== 'string' || imageId === '') {
          throw new Error(`the data source gave no imageId for instance ${sopInstanceUID}`);
        }
        images.push({ studyInstanceUID, seriesInstanceUID, sopInstanceUID, imageId, modality });
      }
      if (fromPacs && images.length > 0) {
        const retrieve = found.retrieve?.series?.metadata;
        if (!retrieve) throw new Error('the PACS data source cannot retrieve series metadata');
        await retrieve.call(found.retrieve?.series, { StudyInstanceUID: studyInstanceUID });
      }
      return images;
    },
  };
}

/** Whether the study list says a study holds images ChestAid reads. */
export function readsStudy(modalities: string | undefined, accepted: readonly string[] = ACCEPTED_MODALITIES): boolean {
  return splitModalities(modalities).some(m => accepted.includes(m));
}
