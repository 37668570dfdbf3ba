/**
 * PacsResults against a fake PACS that keeps what it is sent (STYLE.md 11): the codec here writes
 * the content as JSON, which the fake PACS serves back as WADO-RS metadata; the real codec and a
 * real Orthanc are test/pacs/results.test.mjs's.
 */
import { PacsHttpError, PacsUnreachable, StowError, type DicomJson, type QidoQuery } from './client';
import { distinctResults, pacsProblem, PacsResults, type ArchivedContent, type ResultCodec, type SaveInput } from './results';

const SHA = 'a'.repeat(64);
const DESCRIPTION = 'ChestAid AI result';

const source = { studyInstanceUID: '1.2.1', seriesInstanceUID: '1.2.1.1', sopInstanceUID: '1.2.1.1.1', sopClassUID: '1.2.840.10008.5.1.4.1.1.1' };

function contentOf(overrides: Partial<ArchivedContent> = {}): ArchivedContent {
  return {
    source,
    score: 0.7,
    logit: 0.85,
    threshold: 0.4,
    decision: 'above',
    calibration: { method: 'platt', version: '3' },
    model: { id: 'chestaid-demo', version: '1', sha256: SHA, deviceUID: '2.25.1' },
    observedAt: '2026-11-26T10:00:00.000Z',
    ...overrides,
  };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
let nextUid = 1;

/** Builds "objects" whose bytes are the JSON of what a reader must get back. */
const codec: ResultCodec = {
  resultSeriesDescription: DESCRIPTION,
  isChestAidResultSr: instance => instance['00080060']?.Value?.[0] === 'SR',
  readResultSr: instance => {
    const text = instance['77770010']?.Value?.[0];
    if (typeof text !== 'string') throw new Error('no ChestAid content');
    return JSON.parse(text) as ArchivedContent;
  },
  buildResultSr: (input: SaveInput) => {
    const sop = `9.9.${nextUid++}`;
    const body = { kind: 'SR', sop, series: '9.9.0', content: { ...input.result, source: input.source } };
    return { part10: encoder.encode(JSON.stringify(body)).buffer as ArrayBuffer, sopInstanceUID: sop, seriesInstanceUID: '9.9.0' };
  },
  buildHeatmap: input => {
    const sop = `9.8.${nextUid++}`;
    const body = { kind: 'PMAP', sop, series: '9.8.0', size: input.heatmap.width * input.heatmap.height };
    return { part10: encoder.encode(JSON.stringify(body)).buffer as ArrayBuffer, sopInstanceUID: sop, seriesInstanceUID: '9.8.0' };
  },
};

interface Stored {
  kind: string;
  sop: string;
  series: string;
  content?: ArchivedContent;
  raw?: DicomJson;
}

class FakePacs {
  readonly objects: Stored[] = [];
  readonly searches: { study?: string; query?: QidoQuery }[] = [];
  down = false;
  refuse = false;
  refuseMaps = false;

  async searchSeries(study?: string, query?: QidoQuery): Promise<DicomJson[]> {
    if (this.down) throw new PacsUnreachable('http://pacs/series', new Error('ECONNREFUSED'));
    this.searches.push({ study, query });
    const series = new Map<string, Stored>();
    for (const object of this.objects) if (object.kind === query?.Modality) series.set(object.series, object);
    return [...series.values()].map(o => ({
      '0020000E': { vr: 'UI', Value: [o.series] },
      '0008103E': { vr: 'LO', Value: [o.kind === 'SR' ? DESCRIPTION : 'Something else'] },
    }));
  }

  async retrieveSeriesMetadata(_study: string, series: string): Promise<DicomJson[]> {
    return this.objects
      .filter(o => o.series === series)
      .map(
        o =>
          o.raw ?? {
            '00080018': { vr: 'UI', Value: [o.sop] },
            '00080060': { vr: 'CS', Value: [o.kind] },
            '77770010': { vr: 'UT', Value: [JSON.stringify(o.content)] },
          },
      );
  }

  async store(instances: readonly ArrayBuffer[]) {
    if (this.down) throw new PacsUnreachable('http://pacs/studies', new Error('ECONNREFUSED'));
    const parsed = instances.map(buffer => JSON.parse(decoder.decode(buffer)) as Stored);
    if (this.refuse || (this.refuseMaps && parsed.some(p => p.kind === 'PMAP'))) {
      throw new StowError('http://pacs/studies', 409, [{ sopInstanceUID: parsed[0].sop, failureReason: 0xa700 }], []);
    }
    this.objects.push(...parsed);
    return { stored: parsed.map(p => p.sop), response: null };
  }
}

const input = (overrides: Partial<ArchivedContent> = {}): SaveInput => {
  const { source: src, ...result } = contentOf(overrides);
  return {
    sourceHeader: {},
    source: src,
    result,
    heatmap: { width: 7, height: 7, data: new Float32Array(49) },
    trainedOnSyntheticData: true,
  };
};

describe('PacsResults', () => {
  it('stores the SR and the heatmap map, and reads the score back from the SR', async () => {
    const pacs = new FakePacs();
    const results = new PacsResults({ client: pacs, codec });
    const saved = await results.save(input());
    expect(saved).toMatchObject({ status: 'saved', heatmapProblem: null });
    expect(pacs.objects.map(o => o.kind)).toEqual(['SR', 'PMAP']);
    const found = await results.resultsOf(source.studyInstanceUID);
    expect(found).toHaveLength(1);
    expect(found[0].content.score).toBe(0.7);
    expect(found[0].srSopInstanceUID).toBe(saved.srSopInstanceUID);
  });

  it('asks QIDO-RS for the study SR series with their description', async () => {
    const pacs = new FakePacs();
    await new PacsResults({ client: pacs, codec }).resultsOf('1.2.3');
    expect(pacs.searches).toEqual([{ study: '1.2.3', query: { Modality: 'SR', includefield: '0008103E' } }]);
  });

  it('writes nothing the second time for the same image, model and calibration', async () => {
    const pacs = new FakePacs();
    const results = new PacsResults({ client: pacs, codec });
    const first = await results.save(input());
    const second = await results.save(input({ score: 0.71, observedAt: '2026-11-26T11:00:00.000Z' }));
    expect(second).toEqual({ status: 'already-saved', srSopInstanceUID: first.srSopInstanceUID });
    expect(pacs.objects.filter(o => o.kind === 'SR')).toHaveLength(1);
  });

  it('writes again under another calibration version or another model', async () => {
    const pacs = new FakePacs();
    const results = new PacsResults({ client: pacs, codec });
    await results.save(input());
    expect((await results.save(input({ calibration: { method: 'platt', version: '4' } }))).status).toBe('saved');
    expect((await results.save(input({ model: { id: 'chestaid-demo', version: '2', sha256: 'b'.repeat(64), deviceUID: '2.25.2' } }))).status).toBe('saved');
    expect(pacs.objects.filter(o => o.kind === 'SR')).toHaveLength(3);
  });

  it('finds only the SR of this image under this model (sha256 case-blind)', async () => {
    const pacs = new FakePacs();
    const results = new PacsResults({ client: pacs, codec });
    await results.save(input());
    expect(await results.find(source, { modelSha256: SHA.toUpperCase(), calibrationVersion: '3' })).not.toBeNull();
    expect(await results.find(source, { modelSha256: SHA, calibrationVersion: '2' })).toBeNull();
    expect(await results.find({ ...source, sopInstanceUID: '1.2.1.1.2' }, { modelSha256: SHA, calibrationVersion: '3' })).toBeNull();
  });

  it('skips an unreadable SR in a ChestAid series, saying which', async () => {
    const pacs = new FakePacs();
    pacs.objects.push({ kind: 'SR', sop: '5.5.5', series: '9.9.0', raw: { '00080018': { vr: 'UI', Value: ['5.5.5'] }, '00080060': { vr: 'CS', Value: ['SR'] } } });
    const unreadable: string[] = [];
    const results = new PacsResults({ client: pacs, codec, onUnreadable: (uid, reason) => unreadable.push(`${uid}: ${reason}`) });
    expect(await results.resultsOf(source.studyInstanceUID)).toEqual([]);
    expect(unreadable).toEqual(['5.5.5: no ChestAid content']);
  });

  it('keeps the saved SR when the PACS refuses only the heatmap map, and says so', async () => {
    const pacs = new FakePacs();
    pacs.refuseMaps = true;
    const saved = await new PacsResults({ client: pacs, codec }).save(input());
    expect(saved.status).toBe('saved');
    expect(saved.status === 'saved' && saved.heatmapProblem).toMatch(/refused.*HTTP 409.*reason 42752/);
    expect(pacs.objects.map(o => o.kind)).toEqual(['SR']);
  });

  it('lets an unreachable PACS fail the save, without writing anything', async () => {
    const pacs = new FakePacs();
    pacs.down = true;
    await expect(new PacsResults({ client: pacs, codec }).save(input())).rejects.toBeInstanceOf(PacsUnreachable);
  });

  it('treats a study the PACS answers 404 for as one without results', async () => {
    const client = {
      searchSeries: async () => {
        throw new PacsHttpError('http://pacs/studies/1/series', 404, 'not found');
      },
      retrieveSeriesMetadata: async () => [],
      store: async () => ({ stored: [], response: null }),
    };
    expect(await new PacsResults({ client, codec }).resultsOf('1')).toEqual([]);
  });
});

describe('distinctResults', () => {
  it('keeps one SR per image and model, the earliest, whoever asks', () => {
    const early = { content: contentOf({ observedAt: '2026-11-26T09:00:00.000Z' }), srSopInstanceUID: '7.2', srSeriesInstanceUID: '7' };
    const late = { content: contentOf(), srSopInstanceUID: '7.1', srSeriesInstanceUID: '7' };
    expect(distinctResults([late, early])).toEqual([early]);
    expect(distinctResults([early, late])).toEqual([early]);
  });
});

describe('pacsProblem', () => {
  it('calls a refused connection, and a proxy that cannot reach the PACS, unreachable', () => {
    expect(pacsProblem(new PacsUnreachable('http://pacs', new Error('ECONNREFUSED'))).kind).toBe('unreachable');
    expect(pacsProblem(new PacsHttpError('/pacs/dicom-web/studies', 504, '')).kind).toBe('unreachable');
  });

  it('names the refused instance and the reason code of a STOW-RS refusal', () => {
    const problem = pacsProblem(new StowError('/studies', 409, [{ sopInstanceUID: '1.2.3', failureReason: 272 }], []));
    expect(problem).toEqual({ kind: 'refused', message: 'The PACS refused the result (HTTP 409): 1.2.3: failure reason 272.' });
  });

  it('calls a 4xx answer a refusal and anything else an error', () => {
    expect(pacsProblem(new PacsHttpError('/studies', 403, 'forbidden')).kind).toBe('refused');
    expect(pacsProblem(new Error('bad header'))).toEqual({ kind: 'error', message: 'bad header' });
  });
});
