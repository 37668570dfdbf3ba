import { createDicomJsonStudyList, STOCK_DICOM_JSON, type DataSourceLike } from './dicomJsonStudyList';
import type { StudyFilters, StudyRow } from './studyFilters';

const DOCUMENT = {
  studies: [
    {
      StudyInstanceUID: 'cr-1',
      PatientName: 'SYNTH^P0001',
      Modalities: 'CR',
      series: [
        {
          SeriesInstanceUID: 'cr-1.s',
          SeriesNumber: 1,
          SeriesDescription: 'CHEST PA',
          Modality: 'CR',
          instances: [{ metadata: { SOPInstanceUID: 'cr-1.i', InstanceNumber: 1 }, url: 'dicomweb:/demo/cr-1.dcm' }],
        },
        { SeriesInstanceUID: 'cr-1.t', SeriesNumber: 2, Modality: 'CR', instances: [{ metadata: { SOPInstanceUID: 'cr-1.j' }, url: 'dicomweb:/demo/cr-1b.dcm' }] },
      ],
    },
    {
      StudyInstanceUID: 'ct-1',
      PatientName: 'SYNTHETIC^CT TEST CASE',
      Modalities: 'CT',
      series: [{ SeriesInstanceUID: 'ct-1.s', SeriesNumber: 1, Modality: 'CT', instances: [{}, {}] }],
    },
  ],
};

/** A stand-in for OHIF's DICOM JSON source: records calls, maps a study by UID like the real one. */
function fakeStock() {
  const calls: unknown[] = [];
  const source: DataSourceLike = {
    initialize: async args => {
      calls.push(['initialize', args.url]);
    },
    query: {
      studies: {
        search: async (filters: StudyFilters): Promise<StudyRow[]> =>
          DOCUMENT.studies
            .filter(s => s.StudyInstanceUID === filters.studyInstanceUid)
            .map(s => ({ studyInstanceUid: s.StudyInstanceUID, patientName: s.PatientName, modalities: s.Modalities })),
      },
      series: {},
    },
    getStudyInstanceUIDs: () => DOCUMENT.studies.map(s => s.StudyInstanceUID),
    getImageIdsForDisplaySet: () => ['passed-through'],
  };
  return { calls, entry: { createDataSource: () => source } };
}

function studyList(fetched: string[] = []) {
  const stock = fakeStock();
  const extensionManager = { getModuleEntry: (id: string) => (id === STOCK_DICOM_JSON ? stock.entry : undefined) };
  const dataSource = createDicomJsonStudyList({ url: '/chestaid/demo/studies.json' }, {}, extensionManager, {
    fetchJson: async url => {
      fetched.push(url);
      return DOCUMENT;
    },
    resolveUrl: url => new URL(url, 'http://viewer.test/').toString(),
  });
  return { dataSource, calls: stock.calls };
}

describe('createDicomJsonStudyList', () => {
  it('initializes the stock source with the configured document when the page names none', async () => {
    const { dataSource, calls } = studyList();
    await dataSource.initialize({ query: new URLSearchParams() });
    expect(calls).toEqual([['initialize', 'http://viewer.test/chestaid/demo/studies.json']]);
  });

  it('prefers a ?url= of the page, like the stock source', async () => {
    const { dataSource, calls } = studyList();
    await dataSource.initialize({ query: new URLSearchParams('url=/other.json') });
    expect(calls).toEqual([['initialize', 'http://viewer.test/other.json']]);
  });

  it('lists every study of the document, mapped by the stock source, then filtered', async () => {
    const { dataSource } = studyList();
    await dataSource.initialize({ query: new URLSearchParams() });
    const all = await dataSource.query.studies.search({ offset: 0, limit: 101 });
    expect(all.map(r => r.studyInstanceUid)).toEqual(['cr-1', 'ct-1']);
    const ct = await dataSource.query.studies.search({ modalitiesInStudy: ['CT'] });
    expect(ct).toEqual([{ studyInstanceUid: 'ct-1', patientName: 'SYNTHETIC^CT TEST CASE', modalities: 'CT' }]);
  });

  it('fetches the document once however often it is initialized', async () => {
    const fetched: string[] = [];
    const { dataSource } = studyList(fetched);
    await dataSource.initialize({ query: new URLSearchParams() });
    await dataSource.initialize({ query: new URLSearchParams() });
    expect(fetched).toEqual(['http://viewer.test/chestaid/demo/studies.json']);
  });

  it('lists a study\'s series for the study list preview', async () => {
    const { dataSource } = studyList();
    await dataSource.initialize({ query: new URLSearchParams() });
    const search = dataSource.query.series.search as (uid: string) => Promise<unknown>;
    expect(await search('ct-1')).toEqual([
      {
        studyInstanceUid: 'ct-1',
        seriesInstanceUid: 'ct-1.s',
        modality: 'CT',
        seriesNumber: 1,
        seriesDate: undefined,
        description: undefined,
        numSeriesInstances: 2,
      },
    ]);
  });

  it("lists a series' instances with their headers and URLs, as QIDO would", async () => {
    const { dataSource } = studyList();
    await dataSource.initialize({ query: new URLSearchParams() });
    const search = dataSource.query.instances?.search as (uid: string, p?: object) => Promise<unknown[]>;
    expect(await search('cr-1', { SeriesInstanceUID: 'cr-1.s' })).toEqual([
      { SOPInstanceUID: 'cr-1.i', InstanceNumber: 1, StudyInstanceUID: 'cr-1', SeriesInstanceUID: 'cr-1.s', url: 'dicomweb:/demo/cr-1.dcm' },
    ]);
    expect((await search('cr-1')).map(i => (i as { SOPInstanceUID: string }).SOPInstanceUID)).toEqual(['cr-1.i', 'cr-1.j']);
    expect(await search('absent')).toEqual([]);
  });

  it('opens the studies named in the URL, not the whole document', () => {
    const { dataSource } = studyList();
    const query = new URLSearchParams('StudyInstanceUIDs=cr-1,ct-1');
    expect(dataSource.getStudyInstanceUIDs({ query })).toEqual(['cr-1', 'ct-1']);
  });

  it('passes everything else through to the stock source', () => {
    const { dataSource } = studyList();
    expect((dataSource.getImageIdsForDisplaySet as () => string[])()).toEqual(['passed-through']);
  });

  it('refuses to search before it is initialized', async () => {
    const { dataSource } = studyList();
    await expect(dataSource.query.studies.search({})).rejects.toThrow(/before initialize/);
  });

  it('names the missing stock source', () => {
    expect(() => createDicomJsonStudyList({ url: '/x.json' }, {}, { getModuleEntry: () => undefined })).toThrow(
      /wraps @ohif\/extension-default\.dataSourcesModule\.dicomjson/,
    );
  });
});
