import { dataSourceCatalog, readsStudy, type CatalogDataSource } from './studyCatalog';

type Json = Record<string, unknown>;

/** A data source in the DICOM JSON shape (naturalized headers with URLs), recording its calls. */
function jsonSource(over: Partial<CatalogDataSource> = {}) {
  const calls: string[] = [];
  const series: Record<string, Json[]> = {
    S1: [
      { seriesInstanceUid: 'S1.ct', modality: 'CT', seriesNumber: 1 },
      { seriesInstanceUid: 'S1.dx', modality: 'DX', seriesNumber: 3 },
      { seriesInstanceUid: 'S1.cr', modality: 'cr', seriesNumber: 2 },
    ],
    S2: [{ seriesInstanceUid: 'S2.sr', modality: 'SR' }],
  };
  const instances: Record<string, Json[]> = {
    'S1.cr': [
      { SOPInstanceUID: 'cr-2', InstanceNumber: 2, SeriesInstanceUID: 'S1.cr', url: 'dicomweb:/cr-2.dcm' },
      { SOPInstanceUID: 'cr-1', InstanceNumber: '1', SeriesInstanceUID: 'S1.cr', url: 'dicomweb:/cr-1.dcm' },
    ],
    'S1.dx': [{ SOPInstanceUID: 'dx-1', SeriesInstanceUID: 'S1.dx', url: 'dicomweb:/dx-1.dcm' }],
  };
  const source: CatalogDataSource = {
    initialize: async () => void calls.push('initialize'),
    query: {
      studies: {
        search: async () => [
          { studyInstanceUid: 'S1', patientName: 'A^B', mrn: '7', date: '20260101', time: '101010', description: 'CHEST', accession: 'X1', modalities: 'CT\\CR\\DX' },
          { studyInstanceUid: '' },
        ],
      },
      series: { search: async (uid: string) => series[uid] ?? [] },
      instances: { search: async (_uid: string, p: Json) => instances[p.SeriesInstanceUID as string] ?? [] },
    },
    getImageIdsForInstance: ({ instance }) => instance.url,
    ...over,
  };
  return { source, calls };
}

describe('dataSourceCatalog', () => {
  it('lists the study rows with OHIF field names, dropping rows without a UID', async () => {
    const { source } = jsonSource();
    expect(await dataSourceCatalog(() => source).studies()).toEqual([
      { studyInstanceUID: 'S1', patientName: 'A^B', mrn: '7', date: '20260101', time: '101010', description: 'CHEST', accession: 'X1', modalities: 'CT\\CR\\DX' },
    ]);
  });

  it('takes one image per CR/DX series, in series order, the lowest instance number first', async () => {
    const { source } = jsonSource();
    expect(await dataSourceCatalog(() => source).imagesOf('S1')).toEqual([
      { studyInstanceUID: 'S1', seriesInstanceUID: 'S1.cr', sopInstanceUID: 'cr-1', imageId: 'dicomweb:/cr-1.dcm', modality: 'CR' },
      { studyInstanceUID: 'S1', seriesInstanceUID: 'S1.dx', sopInstanceUID: 'dx-1', imageId: 'dicomweb:/dx-1.dcm', modality: 'DX' },
    ]);
  });

  it('finds no image in a study without CR or DX series', async () => {
    const { source } = jsonSource();
    expect(await dataSourceCatalog(() => source).imagesOf('S2')).toEqual([]);
  });

  it('reads QIDO-RS (DICOM JSON tags) answers, and a study-wide answer to a series query', async () => {
    const qido = (tags: Record<string, unknown>) => Object.fromEntries(Object.entries(tags).map(([tag, v]) => [tag, { vr: 'UI', Value: [v] }]));
    const seen: Json[] = [];
    const { source } = jsonSource({
      query: {
        studies: { search: async () => [] },
        series: { search: async () => [qido({ '0020000E': 'Q.1', '00080060': 'CR', '00200011': 1 })] },
        instances: {
          search: async () => [
            qido({ '0020000E': 'Q.other', '00080018': 'elsewhere' }),
            qido({ '0020000E': 'Q.1', '00080018': 'q-1', '00200013': 4 }),
          ],
        },
      },
      getImageIdsForInstance: ({ instance }) => {
        seen.push(instance);
        return [`wadors:/studies/Q/series/Q.1/instances/${instance.SOPInstanceUID}/frames/1`];
      },
    });
    expect(await dataSourceCatalog(() => source).imagesOf('Q')).toEqual([
      { studyInstanceUID: 'Q', seriesInstanceUID: 'Q.1', sopInstanceUID: 'q-1', imageId: 'wadors:/studies/Q/series/Q.1/instances/q-1/frames/1', modality: 'CR' },
    ]);
    expect(seen[0]).toMatchObject({ StudyInstanceUID: 'Q', SeriesInstanceUID: 'Q.1', SOPInstanceUID: 'q-1' });
  });

  it('initializes the data source once, and again after a failed attempt', async () => {
    const { source, calls } = jsonSource();
    let fail = true;
    const flaky: CatalogDataSource = {
      ...source,
      initialize: async () => {
        calls.push('initialize');
        if (fail) throw new Error('document unreachable');
      },
    };
    const catalog = dataSourceCatalog(() => flaky);
    await expect(catalog.studies()).rejects.toThrow('document unreachable');
    fail = false;
    await catalog.studies();
    await catalog.imagesOf('S1');
    expect(calls).toEqual(['initialize', 'initialize']);
  });

  it('says when the data source cannot list instances or gives no imageId', async () => {
    const { source } = jsonSource({ getImageIdsForInstance: () => undefined });
    await expect(dataSourceCatalog(() => source).imagesOf('S1')).rejects.toThrow('no imageId for instance cr-1');
    const { source: noInstances } = jsonSource();
    const blind = { ...noInstances, query: { ...noInstances.query, instances: undefined } };
    await expect(dataSourceCatalog(() => blind).imagesOf('S1')).rejects.toThrow('cannot list series and instances');
  });
});

describe('readsStudy', () => {
  it('reads studies with a CR or DX image, whatever the separator', () => {
    expect(readsStudy('CT\\DX')).toBe(true);
    expect(readsStudy('cr')).toBe(true);
    expect(readsStudy('CT/SR')).toBe(false);
    expect(readsStudy(undefined)).toBe(false);
  });

  describe('for the PACS (OHIF 3.13 DICOMweb source)', () => {
    /** Its instance search answers with study rows whatever it is asked (OHIF sends it to /studies). */
    function dicomWebSource() {
      const calls: string[] = [];
      const source: CatalogDataSource = {
        query: {
          studies: { search: async () => [] },
          series: { search: async () => [{ seriesInstanceUid: 'P.cr', modality: 'CR', seriesNumber: '1' }, { seriesInstanceUid: 'P.sr', modality: 'SR', seriesNumber: '9001' }] },
          instances: { search: async () => [{ '0020000D': { vr: 'UI', Value: ['P'] } }] },
        },
        getImageIdsForInstance: ({ instance }) => `wadors:/pacs/dicom-web/studies/P/series/${instance.SeriesInstanceUID}/instances/${instance.SOPInstanceUID}/frames/1`,
        retrieve: { series: { metadata: async ({ StudyInstanceUID }) => void calls.push(`metadata ${StudyInstanceUID}`) } },
      };
      return { source, calls };
    }
    const qidoInstance = (sop: string, n: number) => ({
      '0020000E': { vr: 'UI', Value: ['P.cr'] },
      '00080018': { vr: 'UI', Value: [sop] },
      '00200013': { vr: 'IS', Value: [n] },
    });

    it("lists instances with ChestAid's QIDO-RS client, and loads the study's metadata before its images are read", async () => {
      const { source, calls } = dicomWebSource();
      const asked: string[] = [];
      const catalog = dataSourceCatalog(() => source, {
        pacs: () => ({
          instances: async (study, series) => {
            asked.push(`${study}/${series}`);
            calls.push('instances');
            return [qidoInstance('p-2', 2), qidoInstance('p-1', 1)];
          },
        }),
      });
      expect(await catalog.imagesOf('P')).toEqual([
        { studyInstanceUID: 'P', seriesInstanceUID: 'P.cr', sopInstanceUID: 'p-1', imageId: 'wadors:/pacs/dicom-web/studies/P/series/P.cr/instances/p-1/frames/1', modality: 'CR' },
      ]);
      expect(asked).toEqual(['P/P.cr']);
      expect(calls).toEqual(['instances', 'metadata P']);
    });

    it("finds nothing through the data source's own instance search: why the PACS option exists", async () => {
      const { source, calls } = dicomWebSource();
      expect(await dataSourceCatalog(() => source).imagesOf('P')).toEqual([]);
      expect(calls).toEqual([]);
    });
  });
});
