import { MemoryFeedbackStore, type FeedbackInput, type FeedbackSink, type OutboxSummary, type StoredFeedback } from '@chestaid/core';
import { feedbackInput } from '@chestaid/core/testing';
import { OUTBOX_LOCK, startFeedbackOutbox } from './outbox';

const input: FeedbackInput = feedbackInput({ calibrationVersion: '1' });

const settle = () => new Promise(resolve => setTimeout(resolve, 10));

describe('startFeedbackOutbox', () => {
  it('sends what the store holds at start, again on the online event, under the outbox lock, and reports each change', async () => {
    const store = new MemoryFeedbackStore();
    await store.addQueued({ ...input, at: '2026-11-26T12:00:00.000Z' }, '2026-11-26T12:00:00.000Z');
    let up = false;
    const received: StoredFeedback[] = [];
    const sink: FeedbackSink = {
      wants: () => true,
      send: async entry => {
        if (!up) throw Object.assign(new Error('PACS unreachable'), { retryable: true });
        received.push(entry);
      },
    };
    const listeners: (() => void)[] = [];
    const locks: string[] = [];
    const host = {
      addEventListener: (_type: 'online', listener: () => void) => listeners.push(listener),
      navigator: { locks: { request: <T>(name: string, task: () => Promise<T>) => (locks.push(name), task()) } },
    };
    const summaries: OutboxSummary[] = [];
    const { stop } = startFeedbackOutbox({ store, sink, onChange: s => summaries.push(s), host });
    await settle();
    expect(received).toEqual([]);
    expect(summaries.at(-1)).toMatchObject({ pending: 1, lastError: 'PACS unreachable' });
    up = true;
    listeners.forEach(listener => listener());
    await settle();
    expect(received).toHaveLength(1);
    expect(summaries.at(-1)).toMatchObject({ pending: 0, sent: 1 });
    expect(new Set(locks)).toEqual(new Set([OUTBOX_LOCK]));
    stop();
  });
});
