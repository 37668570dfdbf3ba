/**
 * The feedback outbox in the viewer (issue 15 item 4): feedback bound for the PACS is queued in
 * the site database with the entry and sent in the background until it lands, across reloads.
 * A round runs when the extension registers (so a reload sends what the last page left), when the
 * browser says it is back online, and when the next delivery falls due (backoff, at most a minute
 * apart); tabs of the same profile take turns through the Web Locks API, so two of them never
 * send the same delivery at the same time (the SR's derived UIDs would make the second harmless
 * anyway).
 */
import { FeedbackOutbox, type FeedbackSink, OutboxRunner, type OutboxStore, type OutboxSummary } from '@chestaid/core';

/** The Web Locks API as this uses it (navigator.locks). */
interface LockManagerLike {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
}

/** The window as this uses it; tests pass a fake. */
export interface OutboxHost {
  addEventListener(type: 'online', listener: () => void): void;
  readonly navigator?: { readonly locks?: LockManagerLike };
}

export const OUTBOX_LOCK = 'chestaid-feedback-outbox';

export interface FeedbackOutboxWiring {
  readonly store: OutboxStore;
  readonly sink: FeedbackSink;
  /** Receives the outbox's summary after each change (the panel's line). */
  readonly onChange: (summary: OutboxSummary) => void;
  readonly host?: OutboxHost;
}

/** Builds the outbox (for the feedback book) and starts sending in the background, for the page's life (`stop`: tests). */
export function startFeedbackOutbox({ store, sink, onChange, host = window }: FeedbackOutboxWiring): { readonly outbox: FeedbackOutbox; readonly stop: () => void } {
  const locks = host.navigator?.locks;
  const outbox = new FeedbackOutbox({
    store,
    sink,
    exclusive: locks ? task => locks.request(OUTBOX_LOCK, task) : undefined,
  });
  outbox.subscribe(onChange);
  const runner = new OutboxRunner({ outbox, onError: error => console.warn('ChestAid: the feedback outbox could not be read', error) });
  host.addEventListener('online', () => void runner.kick());
  void runner.start();
  return { outbox, stop: () => runner.stop() };
}
