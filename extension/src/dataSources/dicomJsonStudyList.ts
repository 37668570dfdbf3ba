/**
 * The viewer's default data source: OHIF's own DICOM JSON source over a document that lists the
 * demo studies, served beside the viewer, so no PACS is needed.
 *
 * The stock source (`@ohif/extension-default.dataSourcesModule.dicomjson`, OHIF 3.13) is made to
 * open a document named by a `?url=` link, not to back the study list: it needs `?url=` on every
 * page, its study search matches a single key (so the list stays empty), and it opens every study
 * of the document at once. This wrapper keeps all of its loading and metadata handling and changes
 * only that:
 *  - the document URL comes from the configuration (`url`) when the page names none;
 *  - the study search lists the document's studies, filtered in memory;
 *  - the series search lists a study's series (the study list's preview shows them);
 *  - the instance search lists a series' instances (their headers and URLs), as QIDO-RS would for
 *    DICOMweb: the triage batch picks the image to score from it;
 *  - the studies to open are the URL's StudyInstanceUIDs, as with DICOMweb.
 */
import { filterStudies, type StudyFilters, type StudyRow } from './studyFilters';

export const STOCK_DICOM_JSON = '@ohif/extension-default.dataSourcesModule.dicomjson';

export interface DicomJsonSourceConfig {
  /** The DICOM JSON document (studies -> series -> instances); relative to the page. */
  readonly url: string;
  readonly [option: string]: unknown;
}

interface DicomJsonInstance {
  readonly metadata?: Record<string, unknown>;
  readonly url?: string;
}

interface DicomJsonSeries {
  readonly SeriesInstanceUID: string;
  readonly SeriesNumber?: number | string;
  readonly SeriesDescription?: string;
  readonly SeriesDate?: string;
  readonly Modality?: string;
  readonly instances: readonly DicomJsonInstance[];
}

interface DicomJsonDocument {
  readonly studies: readonly { readonly StudyInstanceUID: string; readonly series: readonly DicomJsonSeries[] }[];
}

/** The parts of an OHIF data source this wrapper touches; the rest passes through unchanged. */
export interface DataSourceLike {
  initialize(args: { params?: unknown; query?: URLSearchParams; url?: string }): Promise<unknown>;
  query: {
    studies: { search(filters: StudyFilters): Promise<StudyRow[]>; [key: string]: unknown };
    series: { search?(studyInstanceUid: string): unknown; [key: string]: unknown };
    instances?: { search?(studyInstanceUid: string, parameters?: Record<string, unknown>): unknown; [key: string]: unknown };
    [key: string]: unknown;
  };
  getStudyInstanceUIDs(args: { params?: Record<string, unknown>; query: URLSearchParams }): string[] | undefined;
  [key: string]: unknown;
}

interface DataSourceModuleEntry {
  createDataSource(configuration: DicomJsonSourceConfig, servicesManager: unknown, extensionManager: unknown): DataSourceLike;
}

export interface ExtensionManagerLike {
  getModuleEntry(id: string): unknown;
}

export interface StudyListDeps {
  readonly fetchJson?: (url: string) => Promise<unknown>;
  /** Resolves the document URL the same way the stock source does (relative to the page). */
  readonly resolveUrl?: (url: string) => string;
}

async function fetchJsonOverHttp(url: string): Promise<unknown> {
  const response = await fetch(url, { credentials: 'same-origin' });
  if (!response.ok) {
    throw new Error(`GET ${url} answered ${response.status} ${response.statusText}`);
  }
  return response.json();
}

function checkDocument(json: unknown, url: string): DicomJsonDocument {
  const studies = (json as { studies?: unknown } | null)?.studies;
  if (!Array.isArray(studies)) {
    throw new Error(`${url} is not a DICOM JSON document: it has no "studies" list`);
  }
  return json as DicomJsonDocument;
}

function studyUidsFromUrl(query: URLSearchParams, params: Record<string, unknown> = {}): string[] {
  const fromQuery = [...query.getAll('StudyInstanceUIDs'), ...query.getAll('studyInstanceUIDs')]
    .flatMap(value => value.split(','))
    .map(uid => uid.trim())
    .filter(Boolean);
  if (fromQuery.length > 0) return fromQuery;
  const fromParams = params.StudyInstanceUIDs ?? params.studyInstanceUIDs;
  return ([] as unknown[]).concat(fromParams ?? []).map(String);
}

export function createDicomJsonStudyList(
  configuration: DicomJsonSourceConfig,
  servicesManager: unknown,
  extensionManager: ExtensionManagerLike,
  { fetchJson = fetchJsonOverHttp, resolveUrl = url => new URL(url, window.location.href).toString() }: StudyListDeps = {},
): DataSourceLike {
  const stock = extensionManager.getModuleEntry(STOCK_DICOM_JSON) as DataSourceModuleEntry | undefined;
  if (!stock) {
    throw new Error(`ChestAid's study list wraps ${STOCK_DICOM_JSON}, which this OHIF build does not register`);
  }
  if (!configuration?.url) {
    throw new Error('ChestAid\'s DICOM JSON data source needs a "url" in its configuration');
  }
  const inner = stock.createDataSource(configuration, servicesManager, extensionManager);
  const documents = new Map<string, Promise<DicomJsonDocument>>();
  let current: { url: string; ready: Promise<DicomJsonDocument> } | null = null;

  const documentAt = (url: string): Promise<DicomJsonDocument> => {
    let document = documents.get(url);
    if (!document) {
      document = fetchJson(url).then(json => checkDocument(json, url));
      document.catch(() => documents.delete(url));
      documents.set(url, document);
    }
    return document;
  };

  const initialize: DataSourceLike['initialize'] = async ({ params, query, url }) => {
    const documentUrl = resolveUrl(url ?? query?.get('url') ?? configuration.url);
    const ready = Promise.all([inner.initialize({ params, query, url: documentUrl }), documentAt(documentUrl)]).then(
      ([, document]) => document,
    );
    current = { url: documentUrl, ready };
    await ready;
  };

  const loaded = (): Promise<DicomJsonDocument> => {
    if (!current) {
      return Promise.reject(new Error('ChestAid\'s DICOM JSON data source was searched before initialize()'));
    }
    return current.ready;
  };

  const searchStudies = async (filters: StudyFilters = {}): Promise<StudyRow[]> => {
    const document = await loaded();
    // The stock search maps one study at a time (by UID) to the study list's row shape.
    const rows = await Promise.all(
      document.studies.map(study => inner.query.studies.search({ studyInstanceUid: study.StudyInstanceUID })),
    );
    return filterStudies(rows.flat(), filters);
  };

  const searchSeries = async (studyInstanceUid: string) => {
    const document = await loaded();
    const study = document.studies.find(s => s.StudyInstanceUID === studyInstanceUid);
    return (study?.series ?? []).map(series => ({
      studyInstanceUid,
      seriesInstanceUid: series.SeriesInstanceUID,
      modality: series.Modality,
      seriesNumber: series.SeriesNumber,
      seriesDate: series.SeriesDate,
      description: series.SeriesDescription,
      numSeriesInstances: series.instances.length,
    }));
  };

  /**
   * A study's instances (of one series when `SeriesInstanceUID` is given): each its naturalized
   * header with the study and series UIDs and its `url`, the shape the stock source's
   * getImageIdsForInstance turns into an imageId.
   */
  const searchInstances = async (studyInstanceUid: string, parameters: Record<string, unknown> = {}) => {
    const document = await loaded();
    const study = document.studies.find(s => s.StudyInstanceUID === studyInstanceUid);
    const seriesUid = parameters.SeriesInstanceUID ?? parameters.seriesInstanceUID;
    return (study?.series ?? [])
      .filter(series => seriesUid === undefined || series.SeriesInstanceUID === seriesUid)
      .flatMap(series =>
        series.instances.map(instance => ({
          ...(instance.metadata ?? {}),
          StudyInstanceUID: studyInstanceUid,
          SeriesInstanceUID: series.SeriesInstanceUID,
          url: instance.url,
        })),
      );
  };

  return {
    ...inner,
    initialize,
    query: {
      ...inner.query,
      studies: { ...inner.query.studies, search: searchStudies },
      series: { ...inner.query.series, search: searchSeries },
      instances: { ...(inner.query.instances ?? {}), search: searchInstances },
    },
    getStudyInstanceUIDs: ({ params, query }) => studyUidsFromUrl(query, params),
  };
}
