import { IDBFactory } from 'fake-indexeddb';

import { FeedbackBook, FeedbackOutbox, type FeedbackInput, type FeedbackStore, MemoryFeedbackStore, type OutboxStore, type StoredFeedback } from '@chestaid/core';
import { IndexedDbFeedbackStore, SiteDatabase } from './indexedDbStores';

const SHA = 'f'.repeat(64);
const OTHER = '1'.repeat(64);

function input(n: number, overrides: Partial<FeedbackInput> = {}): FeedbackInput {
  return {
    studyInstanceUID: `1.2.${n}`,
    seriesInstanceUID: `1.2.${n}.1`,
    sopInstanceUID: `1.2.${n}.1.1`,
    modelSha256: SHA,
    calibrationVersion: '1',
    score: 0.8,
    logit: 1.25,
    decision: { above: true, threshold: 0.75 },
    label: 'pneumonia',
    reader: 'Dr A',
    ...overrides,
  };
}

/** A clock that ticks a minute per call. */
function ticking(start = Date.parse('2026-11-26T12:00:00Z')) {
  let t = start;
  return () => new Date((t += 60_000));
}

const stores: [string, () => FeedbackStore & OutboxStore][] = [
  ['MemoryFeedbackStore', () => new MemoryFeedbackStore()],
  ['IndexedDbFeedbackStore (fake-indexeddb)', () => new IndexedDbFeedbackStore(new SiteDatabase({ indexedDB: new IDBFactory() }))],
];

describe.each(stores)('FeedbackBook over %s', (_name, makeStore) => {
  it('stores what the label answers, the logit included, with who and when', async () => {
    const book = new FeedbackBook({ store: makeStore(), clock: ticking() });
    const { entry } = await book.record(input(1, { comment: '  lobar consolidation ', reader: '  ', modelSha256: SHA.toUpperCase() }));
    expect(entry).toEqual({
      id: expect.any(Number),
      studyInstanceUID: '1.2.1',
      seriesInstanceUID: '1.2.1.1',
      sopInstanceUID: '1.2.1.1.1',
      modelSha256: SHA,
      calibrationVersion: '1',
      score: 0.8,
      logit: 1.25,
      decision: { above: true, threshold: 0.75 },
      label: 'pneumonia',
      comment: 'lobar consolidation',
      reader: 'unknown',
      at: '2026-11-26T12:01:00.000Z',
    });
    expect(await book.listFeedback()).toEqual([entry]);
  });

  it('keeps the history when a reader changes their label, and the latest is current', async () => {
    const book = new FeedbackBook({ store: makeStore(), clock: ticking() });
    await book.record(input(1, { label: 'pneumonia' }));
    await book.record(input(1, { label: 'normal' }));
    expect((await book.forImage(input(1))).map(e => e.label)).toEqual(['pneumonia', 'normal']);
    expect((await book.currentFeedback()).map(e => e.label)).toEqual(['normal']);
    expect((await book.feedbackCohort(SHA)).items).toEqual([
      { key: '1.2.1|1.2.1.1|1.2.1.1.1', logit: 1.25, modelSha256: SHA, label: 0, score: 0.8, calibrationVersion: '1', at: '2026-11-26T12:02:00.000Z' },
    ]);
  });

  it('keeps and flags contradictory labels across readers, and leaves them out of the cohort', async () => {
    const book = new FeedbackBook({ store: makeStore(), clock: ticking() });
    await book.record(input(1, { reader: 'Dr A', label: 'pneumonia' }));
    await book.record(input(1, { reader: 'Dr B', label: 'normal' }));
    await book.record(input(2, { reader: 'Dr A', label: 'normal', logit: -2 }));
    await book.record(input(2, { reader: 'Dr B', label: 'unsure', logit: -2 }));
    await book.record(input(3, { label: 'unsure' }));
    await book.record(input(4, { modelSha256: OTHER }));
    await book.record(input(5, { label: 'pneumonia', calibrationVersion: 'site-1', logit: 3 }));
    expect(await book.feedbackConflicts()).toEqual([
      {
        key: '1.2.1|1.2.1.1|1.2.1.1.1',
        image: { studyInstanceUID: '1.2.1', seriesInstanceUID: '1.2.1.1', sopInstanceUID: '1.2.1.1.1' },
        labels: [
          { reader: 'Dr A', label: 'pneumonia', at: '2026-11-26T12:01:00.000Z' },
          { reader: 'Dr B', label: 'normal', at: '2026-11-26T12:02:00.000Z' },
        ],
      },
    ]);
    const cohort = await book.feedbackCohort(SHA);
    expect(cohort.items.map(i => [i.key.split('|')[0], i.label, i.logit, i.calibrationVersion])).toEqual([
      ['1.2.2', 0, -2, '1'],
      ['1.2.5', 1, 3, 'site-1'],
    ]);
    expect(cohort.excluded).toEqual({ otherModel: 1, unsure: 1, conflicting: 1 });
    expect(await book.listFeedback()).toHaveLength(7);
  });

  it('refuses feedback without a logit or with an unknown label, naming the value', async () => {
    const book = new FeedbackBook({ store: makeStore() });
    await expect(book.record(input(1, { logit: Number.NaN }))).rejects.toThrow("feedback needs the model's logit (a finite number), got NaN");
    await expect(book.record(input(1, { label: 'maybe' as never }))).rejects.toThrow('feedback label must be one of pneumonia, normal, unsure, got "maybe"');
    await expect(book.record(input(1, { sopInstanceUID: '' }))).rejects.toThrow('feedback needs the sopInstanceUID, got ""');
    expect(await book.listFeedback()).toEqual([]);
  });

  it('keeps an entry whose PACS send failed, queued with the reason', async () => {
    const sent: StoredFeedback[] = [];
    const store = makeStore();
    const sink = {
      wants: () => true,
      send: async (entry: StoredFeedback) => {
        sent.push(entry);
        throw new Error('STOW-RS answered 503');
      },
    };
    const book = new FeedbackBook({ store, outbox: new FeedbackOutbox({ store, sink }) });
    const { entry, delivery } = await book.record(input(1));
    expect(delivery).toMatchObject({ id: entry.id, state: 'pending', lastError: 'STOW-RS answered 503' });
    expect(sent).toEqual([entry]);
    expect(await book.listFeedback()).toEqual([entry]);
    expect(await store.deliveries()).toEqual([delivery]);
  });
});
