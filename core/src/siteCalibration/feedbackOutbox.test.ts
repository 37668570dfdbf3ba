/**
 * The feedback outbox over the memory store (the IndexedDB store runs the same cases in
 * extension/src/siteCalibration/feedbackOutbox.test.ts): nothing bound for the PACS is dropped
 * when the PACS fails, a pending send is retried with backoff until it lands, a refusal is kept
 * with its reason and not retried until asked, and the runner sends on start, when due and when
 * kicked.
 */
import type { FeedbackEntry, FeedbackInput, FeedbackSink, StoredFeedback } from '../feedback';
import { FeedbackBook } from './feedbackBook';
import { FeedbackOutbox, OUTBOX_BACKOFF, OutboxRunner, outboxDelay, type OutboxStore } from './feedbackOutbox';
import { MemoryFeedbackStore } from './memoryStores';
import { feedbackInput } from '../testing/feedback';

const SHA = 'a'.repeat(64);

const input = (over: Partial<FeedbackInput> = {}): FeedbackInput => feedbackInput({ modelSha256: SHA, ...over });

/** A PACS that can be down (retryable), refuse for good, or answer; it records what it received. */
class FakeSink implements FeedbackSink {
  mode: 'up' | 'down' | 'refuse' = 'up';
  wanted = true;
  readonly received: StoredFeedback[] = [];
  readonly tries: StoredFeedback[] = [];

  wants(_entry: FeedbackEntry): boolean {
    return this.wanted;
  }

  async send(entry: StoredFeedback): Promise<void> {
    this.tries.push(entry);
    if (this.mode === 'down') throw Object.assign(new Error('The PACS did not answer (HTTP 502).'), { retryable: true });
    if (this.mode === 'refuse') throw Object.assign(new Error('The PACS refused it (HTTP 400).'), { retryable: false });
    this.received.push(entry);
  }
}

/** A clock the test moves. */
function testClock(start = '2026-11-26T12:00:00.000Z') {
  let now = Date.parse(start);
  return { now: () => new Date(now), advance: (ms: number) => (now += ms) };
}

function setup({ store = new MemoryFeedbackStore() as MemoryFeedbackStore, mode = 'up' as FakeSink['mode'] } = {}) {
  const sink = new FakeSink();
  sink.mode = mode;
  const clock = testClock();
  const outbox = new FeedbackOutbox({ store, sink, clock: clock.now, random: () => 0.5 });
  const book = new FeedbackBook({ store, outbox, clock: clock.now });
  return { store, sink, clock, outbox, book };
}

describe('FeedbackOutbox', () => {
  it('sends an entry bound for the PACS at once and records when it landed', async () => {
    const { book, sink, outbox } = setup();
    const { entry, delivery } = await book.record(input());
    expect(sink.received).toEqual([entry]);
    expect(delivery).toMatchObject({ id: entry.id, state: 'sent', attempts: 1, sentAt: '2026-11-26T12:00:00.000Z', lastError: null });
    expect(await outbox.summary()).toMatchObject({ pending: 0, sent: 1, lastSentAt: '2026-11-26T12:00:00.000Z', refused: [] });
  });

  it('keeps an entry the PACS could not take, pending with the reason, due after the backoff', async () => {
    const { book, sink, outbox } = setup({ mode: 'down' });
    const { entry, delivery } = await book.record(input());
    expect(await book.listFeedback()).toEqual([entry]);
    expect(sink.received).toEqual([]);
    const wait = outboxDelay(1, OUTBOX_BACKOFF, 0.5);
    expect(delivery).toMatchObject({ state: 'pending', attempts: 1, lastError: 'The PACS did not answer (HTTP 502).' });
    expect(delivery?.nextAttemptAt).toBe(new Date(Date.parse('2026-11-26T12:00:00.000Z') + wait).toISOString());
    expect(await outbox.summary()).toMatchObject({ pending: 1, sent: 0, lastError: 'The PACS did not answer (HTTP 502).', nextAttemptAt: delivery?.nextAttemptAt });
  });

  it('retries only what is due, with growing waits, until the PACS takes it; no second click', async () => {
    const { book, sink, outbox, clock } = setup({ mode: 'down' });
    const { entry } = await book.record(input());
    await outbox.flush();
    expect(sink.tries).toHaveLength(1);
    const waits: number[] = [];
    for (let attempt = 1; attempt <= 8; attempt++) {
      const before = (await outbox.delivery(entry.id))!;
      const wait = Date.parse(before.nextAttemptAt!) - Date.parse(before.lastAttemptAt!);
      waits.push(wait);
      clock.advance(wait - 1);
      await outbox.flush();
      expect(sink.tries).toHaveLength(attempt);
      clock.advance(1);
      await outbox.flush();
      expect(sink.tries).toHaveLength(attempt + 1);
    }
    // Doubling from the base, then held at the cap.
    expect(waits[1]).toBeCloseTo(2 * waits[0], 6);
    expect(waits.at(-1)).toBeCloseTo(outboxDelay(99, OUTBOX_BACKOFF, 0.5), 6);
    expect(Math.max(...waits)).toBeLessThanOrEqual(OUTBOX_BACKOFF.maxMs);
    sink.mode = 'up';
    clock.advance(OUTBOX_BACKOFF.maxMs);
    const summary = await outbox.flush();
    expect(summary).toMatchObject({ pending: 0, sent: 1, lastError: null });
    // Every try carried the same entry: the PACS sink derives the SR's UIDs from it.
    expect(new Set(sink.tries.map(t => JSON.stringify(t))).size).toBe(1);
    expect(sink.received).toEqual([entry]);
    // Landed: never sent again.
    clock.advance(OUTBOX_BACKOFF.maxMs);
    await outbox.flush({ all: true });
    expect(sink.tries).toHaveLength(10);
  });

  it('keeps a refusal with its reason and does not retry it until asked', async () => {
    const { book, sink, outbox, clock } = setup({ mode: 'refuse' });
    const { entry, delivery } = await book.record(input());
    expect(delivery).toMatchObject({ state: 'refused', lastError: 'The PACS refused it (HTTP 400).', nextAttemptAt: null });
    clock.advance(24 * 3600_000);
    await outbox.flush({ all: true });
    expect(sink.tries).toHaveLength(1);
    expect(await outbox.summary()).toMatchObject({ pending: 0, refused: [{ id: entry.id, entry, reason: 'The PACS refused it (HTTP 400).' }] });
    expect(await book.listFeedback()).toEqual([entry]);
    sink.mode = 'up';
    expect(await outbox.resend()).toMatchObject({ pending: 0, refused: [], sent: 1 });
    expect(sink.received).toEqual([entry]);
  });

  it('stores but does not queue an entry the sink does not want (a study not from the PACS)', async () => {
    const { book, sink, outbox } = setup();
    sink.wanted = false;
    const { entry, delivery } = await book.record(input());
    expect(delivery).toBeNull();
    expect(await book.listFeedback()).toEqual([entry]);
    expect(await outbox.summary()).toMatchObject({ pending: 0, sent: 0 });
    expect(sink.tries).toEqual([]);
  });

  it('a new outbox over the same store (a reload) sends what the last one left pending', async () => {
    const { store, book, sink } = setup({ mode: 'down' });
    const { entry } = await book.record(input());
    const revived = new FakeSink();
    const reloaded = new FeedbackOutbox({ store, sink: revived });
    const runner = new OutboxRunner({ outbox: reloaded, setTimer: () => 0, clearTimer: () => undefined });
    await runner.start();
    runner.stop();
    expect(revived.received).toEqual([entry]);
    expect(sink.received).toEqual([]);
    expect(await reloaded.summary()).toMatchObject({ pending: 0, sent: 1 });
  });

  it('runs one round at a time: two flushes at once send each delivery once', async () => {
    const { book, sink, outbox, clock } = setup({ mode: 'down' });
    await book.record(input());
    await book.record(input({ label: 'normal' }));
    sink.mode = 'up';
    clock.advance(OUTBOX_BACKOFF.maxMs);
    await Promise.all([outbox.flush(), outbox.flush(), outbox.flush({ all: true })]);
    expect(sink.received.map(e => e.label)).toEqual(['pneumonia', 'normal']);
  });

  it('a send that landed but whose state could not be written is sent again, the same entry', async () => {
    const store = new MemoryFeedbackStore();
    const failing: OutboxStore = {
      addQueued: (e, at) => store.addQueued(e, at),
      deliveries: () => store.deliveries(),
      delivery: id => store.delivery(id),
      putDelivery: async () => {
        throw new Error('QuotaExceededError');
      },
    };
    const sink = new FakeSink();
    const book = new FeedbackBook({ store, outbox: new FeedbackOutbox({ store: failing, sink }) });
    const { entry, delivery } = await book.record(input());
    expect(delivery).toMatchObject({ state: 'pending', attempts: 0 });
    await new FeedbackOutbox({ store, sink }).flush();
    expect(sink.received).toEqual([entry, entry]);
  });

  it('tells subscribers the summary after each change', async () => {
    const { book, outbox, sink } = setup({ mode: 'down' });
    const seen: number[] = [];
    outbox.subscribe(summary => seen.push(summary.pending));
    await book.record(input());
    sink.mode = 'up';
    await outbox.flush({ all: true });
    expect(seen).toEqual([1, 1, 0]);
  });
});

describe('OutboxRunner', () => {
  function timers() {
    const armed: { run: () => void; ms: number; cleared: boolean }[] = [];
    return {
      armed,
      setTimer: (run: () => void, ms: number) => {
        const timer = { run, ms, cleared: false };
        armed.push(timer);
        return timer;
      },
      clearTimer: (timer: unknown) => {
        (timer as { cleared: boolean }).cleared = true;
      },
      live: () => armed.filter(t => !t.cleared),
    };
  }

  it('sends on start, arms a timer for the next due delivery, sends when it fires, and polls when idle', async () => {
    const { book, sink, outbox, clock } = setup({ mode: 'down' });
    await book.record(input());
    const t = timers();
    const runner = new OutboxRunner({ outbox, clock: clock.now, pollMs: 60_000, setTimer: t.setTimer, clearTimer: t.clearTimer });
    await runner.start();
    expect(sink.tries).toHaveLength(2);
    const due = Date.parse((await outbox.summary()).nextAttemptAt!) - clock.now().getTime();
    expect(t.live()).toHaveLength(1);
    expect(t.live()[0].ms).toBeCloseTo(due, 6);
    sink.mode = 'up';
    clock.advance(due);
    const [timer] = t.live();
    timer.cleared = true;
    timer.run();
    // The timer's round runs on its own: wait for it, without sending anything from here.
    for (let i = 0; i < 50 && t.live().length === 0; i++) await new Promise(resolve => setTimeout(resolve, 0));
    expect(sink.received).toHaveLength(1);
    expect(t.live().map(x => x.ms)).toEqual([60_000]);
    runner.stop();
    expect(t.live()).toHaveLength(0);
  });

  it('kick sends every pending delivery at once, due or not (the network came back)', async () => {
    const { book, sink, outbox, clock } = setup({ mode: 'down' });
    await book.record(input());
    const t = timers();
    const runner = new OutboxRunner({ outbox, clock: clock.now, setTimer: t.setTimer, clearTimer: t.clearTimer });
    await runner.start();
    sink.mode = 'up';
    await runner.kick();
    expect(sink.received).toHaveLength(1);
    runner.stop();
    await runner.kick();
    expect(sink.tries).toHaveLength(3);
  });

  it('keeps going when a round fails, and says why', async () => {
    const errors: unknown[] = [];
    const broken = { flush: async () => Promise.reject(new Error('IndexedDB closed')), subscribe: () => ({ unsubscribe: () => undefined }) } as unknown as FeedbackOutbox;
    const t = timers();
    const runner = new OutboxRunner({ outbox: broken, pollMs: 30_000, setTimer: t.setTimer, clearTimer: t.clearTimer, onError: e => errors.push(e) });
    await runner.start();
    expect(errors).toEqual([new Error('IndexedDB closed')]);
    expect(t.live().map(x => x.ms)).toEqual([30_000]);
    runner.stop();
  });
});
