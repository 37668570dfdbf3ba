/**
 * PacsResults against a fake PACS that keeps what it is sent (STYLE.md 11): the codec here writes
 * the content as JSON, which the fake PACS serves back as WADO-RS metadata; the real codec and a
 * real Orthanc are test/pacs/results.test.mjs's.
 */
import { calibrate } from '../calibration';
import { resultUids } from '../dicom/resultUids';
import type { Manifest } from '../manifest';
import { withCalibrationIdentity } from '../siteCalibration/identity';
import { DEMO_SHA, demoManifest } from '../testing';
import { PacsHttpError, PacsUnreachable, StowError, type DicomJson, type QidoQuery } from './client';
import { pacsProblem, PacsResults, type ArchivedContent, type ResultCodec, type SaveInput } from './results';
import type { VerifyContext } from './verifyResult';

const SHA = DEMO_SHA;
const DESCRIPTION = 'ChestAid AI result';

const source = { studyInstanceUID: '1.2.1', seriesInstanceUID: '1.2.1.1', sopInstanceUID: '1.2.1.1.1', sopClassUID: '1.2.840.10008.5.1.4.1.1.1' };

let manifest: Manifest;
let other: Manifest;
/** The demo model under its own calibration, and under a second one ("4", another threshold). */
let trust: VerifyContext;
beforeAll(async () => {
  manifest = await withCalibrationIdentity(demoManifest());
  const base = demoManifest();
  other = await withCalibrationIdentity({
    ...base,
    calibration: { ...base.calibration, version: '4' },
    thresholds: { ...base.thresholds, clinical: { ...base.thresholds.clinical, value: 0.2 } },
  });
  trust = {
    modelSha256: SHA,
    deviceUID: manifest.model.device_uid as string,
    calibrationOf: id => [manifest, other].find(m => m.calibration.version === id) ?? null,
  };
});

/** A true result for `logit` under `m` (what ChestAid would write), with `overrides` applied after. */
function contentOf(overrides: Partial<ArchivedContent> = {}, { logit = 0.85, m = manifest } = {}): ArchivedContent {
  const score = calibrate(logit, m.calibration);
  const threshold = m.thresholds.clinical.value;
  return {
    source,
    score,
    logit,
    threshold,
    decision: score >= threshold ? 'above' : 'below',
    calibration: { method: m.calibration.selected, version: m.calibration.version },
    model: { id: 'chestaid-demo', version: '1', sha256: SHA, deviceUID: m.model.device_uid as string },
    observedAt: '2026-11-26T10:00:00.000Z',
    ...overrides,
  };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Builds "objects" whose bytes are the JSON of what a reader must get back. */
const codec: ResultCodec = {
  resultSeriesDescription: DESCRIPTION,
  isChestAidResultSr: instance => instance['00080060']?.Value?.[0] === 'SR',
  readResultSr: instance => {
    const text = instance['77770010']?.Value?.[0];
    if (typeof text !== 'string') throw new Error('no ChestAid content');
    return JSON.parse(text) as ArchivedContent;
  },
  buildResultSr: (input: SaveInput, uids) => {
    const body = { kind: 'SR', sop: uids.sopInstanceUID, series: uids.seriesInstanceUID, content: { ...input.result, source: input.source } };
    return { part10: encoder.encode(JSON.stringify(body)).buffer as ArrayBuffer, sopInstanceUID: uids.sopInstanceUID, seriesInstanceUID: uids.seriesInstanceUID };
  },
  buildHeatmap: (input, uids) => {
    const body = { kind: 'PMAP', sop: uids.sopInstanceUID, series: uids.seriesInstanceUID, size: input.heatmap.width * input.heatmap.height };
    return { part10: encoder.encode(JSON.stringify(body)).buffer as ArrayBuffer, sopInstanceUID: uids.sopInstanceUID, seriesInstanceUID: uids.seriesInstanceUID };
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
    // Orthanc with OverwriteInstances false: the first instance of a SOP Instance UID stays, the
    // next is answered as stored and dropped.
    const known = new Set(this.objects.map(o => o.sop));
    this.objects.push(...parsed.filter(p => !known.has(p.sop)));
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
    const results = new PacsResults({ client: pacs, codec, trust: () => trust });
    const saved = await results.save(input());
    expect(saved).toMatchObject({ status: 'saved', heatmapProblem: null });
    expect(pacs.objects.map(o => o.kind)).toEqual(['SR', 'PMAP']);
    const found = await results.resultsOf(source.studyInstanceUID);
    expect(found).toHaveLength(1);
    expect(found[0].content.score).toBe(contentOf().score);
    expect(found[0].verdict).toEqual({ status: 'verified' });
    expect(found[0].srSopInstanceUID).toBe(saved.srSopInstanceUID);
  });

  it('asks QIDO-RS for the study SR series with their description', async () => {
    const pacs = new FakePacs();
    await new PacsResults({ client: pacs, codec, trust: () => trust }).resultsOf('1.2.3');
    expect(pacs.searches).toEqual([{ study: '1.2.3', query: { Modality: 'SR', includefield: '0008103E' } }]);
  });

  it('writes nothing the second time for the same image, model and calibration', async () => {
    const pacs = new FakePacs();
    const results = new PacsResults({ client: pacs, codec, trust: () => trust });
    const first = await results.save(input());
    const second = await results.save(input({ observedAt: '2026-11-26T11:00:00.000Z' }));
    expect(second).toEqual({ status: 'already-saved', srSopInstanceUID: first.srSopInstanceUID });
    expect(pacs.objects.filter(o => o.kind === 'SR')).toHaveLength(1);
  });

  it('writes again under another calibration version or another model', async () => {
    const pacs = new FakePacs();
    const results = new PacsResults({ client: pacs, codec, trust: () => trust });
    await results.save(input());
    expect((await results.save(input(contentOf({}, { m: other })))).status).toBe('saved');
    expect((await results.save(input({ model: { id: 'chestaid-demo', version: '2', sha256: 'b'.repeat(64), deviceUID: '2.25.2' } }))).status).toBe('saved');
    expect(pacs.objects.filter(o => o.kind === 'SR')).toHaveLength(3);
  });

  it('finds only the SR of this image under this model (sha256 case-blind)', async () => {
    const pacs = new FakePacs();
    const results = new PacsResults({ client: pacs, codec, trust: () => trust });
    await results.save(input());
    const version = manifest.calibration.version;
    expect(await results.find(source, { modelSha256: SHA.toUpperCase(), calibrationVersion: version })).not.toBeNull();
    expect(await results.find(source, { modelSha256: SHA, calibrationVersion: other.calibration.version })).toBeNull();
    expect(await results.find({ ...source, sopInstanceUID: '1.2.1.1.2' }, { modelSha256: SHA, calibrationVersion: version })).toBeNull();
  });

  it('skips an unreadable SR in a ChestAid series, saying which', async () => {
    const pacs = new FakePacs();
    pacs.objects.push({ kind: 'SR', sop: '5.5.5', series: '9.9.0', raw: { '00080018': { vr: 'UI', Value: ['5.5.5'] }, '00080060': { vr: 'CS', Value: ['SR'] } } });
    const unreadable: string[] = [];
    const results = new PacsResults({ client: pacs, codec, trust: () => trust, onUnreadable: (uid, reason) => unreadable.push(`${uid}: ${reason}`) });
    expect(await results.resultsOf(source.studyInstanceUID)).toEqual([]);
    expect(unreadable).toEqual(['5.5.5: no ChestAid content']);
  });

  it('keeps the saved SR when the PACS refuses only the heatmap map, and says so', async () => {
    const pacs = new FakePacs();
    pacs.refuseMaps = true;
    const saved = await new PacsResults({ client: pacs, codec, trust: () => trust }).save(input());
    expect(saved.status).toBe('saved');
    expect(saved.status === 'saved' && saved.heatmapProblem).toMatch(/refused.*HTTP 409.*reason 42752/);
    expect(pacs.objects.map(o => o.kind)).toEqual(['SR']);
  });

  it('lets an unreachable PACS fail the save, without writing anything', async () => {
    const pacs = new FakePacs();
    pacs.down = true;
    await expect(new PacsResults({ client: pacs, codec, trust: () => trust }).save(input())).rejects.toBeInstanceOf(PacsUnreachable);
  });

  it('treats a study the PACS answers 404 for as one without results', async () => {
    const client = {
      searchSeries: async () => {
        throw new PacsHttpError('http://pacs/studies/1/series', 404, 'not found');
      },
      retrieveSeriesMetadata: async () => [],
      store: async () => ({ stored: [], response: null }),
    };
    expect(await new PacsResults({ client, codec, trust: () => trust }).resultsOf('1')).toEqual([]);
  });
});

describe('PacsResults and SRs that fail verification', () => {
  /** An SR stored by someone else, under `sop` (the derived UID of the true result when omitted). */
  async function plant(pacs: FakePacs, content: ArchivedContent, sop?: string) {
    const key = { sopInstanceUID: source.sopInstanceUID, modelSha256: SHA, calibrationVersion: manifest.calibration.version };
    const uids = await resultUids(source.studyInstanceUID, key);
    pacs.objects.push({ kind: 'SR', sop: sop ?? uids.srInstance, series: uids.srSeries, content });
  }

  it('shows a planted SR with an earlier date and a contradicting score as unverified, never as the result', async () => {
    const pacs = new FakePacs();
    await plant(pacs, contentOf({ score: 0.01, decision: 'below', observedAt: '1900-01-01T00:00:00.000Z' }), '1.2.666');
    const results = new PacsResults({ client: pacs, codec, trust: () => trust });
    const [found] = await results.resultsOf(source.studyInstanceUID);
    expect(found.verdict).toEqual({ status: 'unverified', reason: expect.stringMatching(/SOP Instance UID 1\.2\.666 is not one ChestAid derives/) });
    // Save to PACS writes the true result beside it, and that one is the result from then on.
    expect((await results.save(input())).status).toBe('saved');
    const after = await results.find(source, { modelSha256: SHA, calibrationVersion: manifest.calibration.version });
    expect(after?.verdict).toEqual({ status: 'verified' });
    expect(after?.content.observedAt).toBe('2026-11-26T10:00:00.000Z');
  });

  it('writes the true result under the next revision when a planted SR holds the derived UID', async () => {
    const pacs = new FakePacs();
    await plant(pacs, contentOf({ score: 0.5 }));
    const results = new PacsResults({ client: pacs, codec, trust: () => trust });
    const saved = await results.save(input());
    expect(saved.status).toBe('saved');
    const key = { sopInstanceUID: source.sopInstanceUID, modelSha256: SHA, calibrationVersion: manifest.calibration.version };
    expect(saved.srSopInstanceUID).toBe((await resultUids(source.studyInstanceUID, key, 1)).srInstance);
    const found = await results.find(source, key);
    expect(found?.verdict).toEqual({ status: 'verified' });
    expect(found?.srSopInstanceUID).toBe(saved.srSopInstanceUID);
    // Saving again finds it: nothing more is written.
    expect((await results.save(input())).status).toBe('already-saved');
    expect(pacs.objects.filter(o => o.kind === 'SR')).toHaveLength(2);
  });

  it("finds an image's unverified SR of other model bytes, so the reader is told of it", async () => {
    const pacs = new FakePacs();
    await plant(pacs, contentOf({ model: { id: 'chestaid-demo', version: '9', sha256: 'c'.repeat(64), deviceUID: '2.25.9' } }), '1.2.777');
    const results = new PacsResults({ client: pacs, codec, trust: () => trust });
    const found = await results.find(source, { modelSha256: SHA, calibrationVersion: manifest.calibration.version });
    expect(found?.verdict).toEqual({ status: 'unverified', reason: expect.stringMatching(/^made by model sha256 cccccccccccc…/) });
  });

  it('says so, rather than writing nothing, when every revision of the UIDs is held by SRs that fail verification', async () => {
    const pacs = new FakePacs();
    const key = { sopInstanceUID: source.sopInstanceUID, modelSha256: SHA, calibrationVersion: manifest.calibration.version };
    for (let revision = 0; revision < 16; revision++) {
      const uids = await resultUids(source.studyInstanceUID, key, revision);
      pacs.objects.push({ kind: 'SR', sop: uids.srInstance, series: uids.srSeries, content: contentOf({ score: 0.5 }) });
    }
    await expect(new PacsResults({ client: pacs, codec, trust: () => trust }).save(input())).rejects.toThrow(/every one of the 16 UIDs .* need a person's attention/);
  });

  it('calls every SR unverified while no model is loaded to check it against', async () => {
    const pacs = new FakePacs();
    await new PacsResults({ client: pacs, codec, trust: () => trust }).save(input());
    const [found] = await new PacsResults({ client: pacs, codec, trust: () => null }).resultsOf(source.studyInstanceUID);
    expect(found.verdict).toEqual({ status: 'unverified', reason: 'no model is loaded to check it against' });
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
