/**
 * The PACS feedback sink: what goes into the feedback SR, when nothing is sent, and the PACS's
 * failures in the reader's terms. PacsResults, the client and the SR builder are faked (STYLE 11);
 * test/pacs/feedback.test.mjs runs it against a real Orthanc with the dcmjs builder.
 */
import { FeedbackBook } from '../siteCalibration/feedbackBook';
import { FeedbackOutbox } from '../siteCalibration/feedbackOutbox';
import { MemoryFeedbackStore } from '../siteCalibration/memoryStores';
import { feedbackInput } from '../testing/feedback';
import type { FeedbackInput, StoredFeedback } from '..';
import { PacsHttpError, PacsUnreachable, StowError } from './client';
import { pacsFeedbackSink, UNCONFIGURED_ORGANIZATION, type FeedbackSrToBuild } from './feedback';
import type { ArchivedResult } from './results';

const SHA = 'a'.repeat(64);
const image = { studyInstanceUID: '1.2.3', seriesInstanceUID: '1.2.3.0', sopInstanceUID: '1.2.3.1' };
const result: ArchivedResult = {
  srSopInstanceUID: '9.9.1',
  srSeriesInstanceUID: '9.9',
  content: {
    source: { ...image, sopClassUID: '1.2.840.10008.5.1.4.1.1.1' },
    score: 0.8,
    logit: 1.4,
    threshold: 0.5,
    decision: 'above',
    calibration: { method: 'platt', version: 'v1' },
    model: { id: 'm', version: '1', sha256: SHA, deviceUID: '1.2.9' },
    observedAt: '2026-11-26T12:00:00.000Z',
  },
  verdict: { status: 'verified' },
};
const header = { '00080018': { vr: 'UI', Value: [image.sopInstanceUID] } };

const input = (over: Partial<FeedbackInput> = {}): FeedbackInput => feedbackInput({ ...image, modelSha256: SHA, ...over });

function setup({
  active = 'pacs',
  found = result as ArchivedResult | null,
  findError = null as Error | null,
  storeError = null as Error | null,
  inPacs = [] as string[],
} = {}) {
  const built: FeedbackSrToBuild[] = [];
  const stored: { buffers: readonly ArrayBuffer[]; study?: string }[] = [];
  const finds: unknown[] = [];
  const sink = pacsFeedbackSink({
    results: {
      find: async (source, model) => {
        finds.push({ source, model });
        if (findError) throw findError;
        return found;
      },
    },
    client: {
      store: async (buffers, study) => {
        if (storeError) throw storeError;
        stored.push({ buffers, study });
        return { stored: [], response: {} } as never;
      },
      searchInstances: async (_study, _series, query) => (inPacs.includes(String(query?.SOPInstanceUID)) ? [{}] : []),
    },
    instanceMetadata: async () => header,
    codec: {
      buildFeedbackSr: sr => {
        built.push(sr);
        return { part10: new ArrayBuffer(built.length), sopInstanceUID: `7.7.${built.length}`, seriesInstanceUID: '7.7' };
      },
    },
    activeDataSource: () => active,
    pacsDataSourceName: 'pacs',
  });
  const store = new MemoryFeedbackStore();
  const clock = () => new Date('2026-11-26T13:00:00.000Z');
  const book = new FeedbackBook({ store, outbox: new FeedbackOutbox({ store, sink, clock }), clock });
  return { sink, book, built, stored, finds };
}

describe('pacsFeedbackSink', () => {
  it('stores a feedback SR in the image study that references the result SR of the same image, model and calibration', async () => {
    const { book, built, stored, finds } = setup();
    const { delivery } = await book.record(input({ comment: 'consolidation left lower lobe' }));
    expect(delivery).toMatchObject({ state: 'sent', lastError: null });
    expect(finds).toEqual([{ source: expect.objectContaining(image), model: { modelSha256: SHA, calibrationVersion: 'v1' } }]);
    expect(built).toEqual([
      {
        source: header,
        result: { sopInstanceUID: '9.9.1', seriesInstanceUID: '9.9', content: result.content },
        groundTruth: 'pneumonia',
        comment: 'consolidation left lower lobe',
        reader: { name: 'Doe^Jane', organization: UNCONFIGURED_ORGANIZATION },
        recordedAt: '2026-11-26T13:00:00.000Z',
        seriesInstanceUID: expect.stringMatching(/^2\.25\.\d+$/),
        sopInstanceUID: expect.stringMatching(/^2\.25\.\d+$/),
      },
    ]);
    expect(stored).toHaveLength(1);
    expect(stored[0].study).toBe(image.studyInstanceUID);
  });

  it('writes one more SR when the reader changes the label (the first stays as history)', async () => {
    const { book, built, stored } = setup();
    await book.record(input({ label: 'pneumonia' }));
    await book.record(input({ label: 'normal' }));
    expect(built.map(b => b.groundTruth)).toEqual(['pneumonia', 'normal']);
    expect(stored).toHaveLength(2);
    expect(built[0].sopInstanceUID).not.toBe(built[1].sopInstanceUID);
    expect(built[0].seriesInstanceUID).toBe(built[1].seriesInstanceUID);
  });

  it('names a resent entry with the same UIDs, so a retried STOW cannot duplicate it', async () => {
    const { sink, book, built } = setup();
    const { entry } = await book.record(input());
    await sink.send(entry);
    expect(built).toHaveLength(2);
    expect(built[1].sopInstanceUID).toBe(built[0].sopInstanceUID);
  });

  it('sends nothing for a study that does not come from the PACS data source', async () => {
    const { book, stored, finds } = setup({ active: 'dicomjson' });
    expect((await book.record(input())).delivery).toBeNull();
    expect(finds).toHaveLength(0);
    expect(stored).toHaveLength(0);
  });

  it('refuses to send unsigned feedback and asks for the reader name; the entry stays in the browser', async () => {
    const { book, stored } = setup();
    const { entry, delivery } = await book.record(input({ reader: '' }));
    expect(entry.reader).toBe('unknown');
    expect(delivery).toMatchObject({ state: 'refused', lastError: expect.stringMatching(/readerName/) });
    expect(stored).toHaveLength(0);
    expect(await book.listFeedback()).toHaveLength(1);
  });

  it('asks for Save to PACS first when the PACS has no result SR to reference', async () => {
    const { book, stored } = setup({ found: null });
    const { delivery } = await book.record(input());
    expect(delivery).toMatchObject({ state: 'refused', lastError: expect.stringMatching(/no ChestAid result for this image.*calibration v1: Save to PACS first/) });
    expect(stored).toHaveLength(0);
  });

  it('reports an unreachable PACS as retryable and keeps the entry queued for the outbox', async () => {
    const down = setup({ storeError: new PacsUnreachable('http://pacs/dicom-web/studies', new Error('ECONNREFUSED')) });
    const failed = await down.book.record(input());
    expect(failed.delivery).toMatchObject({ state: 'pending', lastError: expect.stringMatching(/^PACS unreachable: http:\/\/pacs\/dicom-web\/studies \(ECONNREFUSED\)$/) });
    expect((await down.book.listFeedback()).map((e: StoredFeedback) => e.label)).toEqual(['pneumonia']);
    const lookupDown = setup({ findError: new PacsUnreachable('http://pacs/dicom-web/studies', new Error('ECONNREFUSED')) });
    expect((await lookupDown.book.record(input())).delivery).toMatchObject({ state: 'pending' });
  });

  it.each([
    ['a 503 from the proxy', new PacsHttpError('http://pacs/dicom-web/studies', 503, ''), true],
    ['a 429', new PacsHttpError('http://pacs/dicom-web/studies', 429, ''), true],
    ['a STOW refusal (HTTP 409)', new StowError('http://pacs/dicom-web/studies', 409, [{ sopInstanceUID: '7.7.1', failureReason: 0xa700 }], []), false],
    ['a 400', new PacsHttpError('http://pacs/dicom-web/studies', 400, 'bad request'), false],
  ])('says whether %s can succeed on a retry', async (_name, error, retryable) => {
    const { entry } = await setup().book.record(input());
    await expect(setup({ storeError: error }).sink.send(entry)).rejects.toMatchObject({ name: 'FeedbackNotSent', retryable });
  });

  it('takes a refused resend of an SR the PACS already holds as landed (its first answer was lost)', async () => {
    const first = setup();
    const { entry } = await first.book.record(input());
    const sop = first.built[0].sopInstanceUID;
    const duplicate = new StowError('http://pacs/dicom-web/studies', 409, [{ sopInstanceUID: sop, failureReason: 0x0111 }], []);
    await expect(setup({ storeError: duplicate, inPacs: [sop] }).sink.send(entry)).resolves.toBeUndefined();
    await expect(setup({ storeError: duplicate, inPacs: [] }).sink.send(entry)).rejects.toMatchObject({ retryable: false });
  });

  it('decides at recording whether an entry goes to the PACS; a retry sends it whatever source is open then', async () => {
    expect(setup().sink.wants(input() as never)).toBe(true);
    expect(setup({ active: 'dicomjson' }).sink.wants(input() as never)).toBe(false);
    const { book } = setup();
    const { entry } = await book.record(input());
    const later = setup({ active: 'dicomjson' });
    await later.sink.send(entry);
    expect(later.stored).toHaveLength(1);
  });
});
