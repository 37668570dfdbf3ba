/**
 * The feedback outbox: every feedback entry bound for the PACS is queued in the same write that
 * stores it, and sent until it lands, so a reader's ground truth never depends on the PACS
 * answering at the moment they record it (issue 15 item 4).
 *
 * A delivery is one entry's way to the sink: `pending` (tried again when due, with exponential
 * backoff and jitter, capped), `sent` (landed; kept with the time it landed) or `refused` (the
 * sink said no retry can succeed: kept with the reason, not retried until someone asks). The
 * queue lives in the store beside the feedback (IndexedDB in the browser), so it outlives a
 * reload; OutboxRunner tries what is due on start, on a timer and when asked (the browser's
 * `online` event). Sending the same entry twice is safe: the PACS sink derives the SR's UIDs from
 * the entry, so a send whose answer was lost and is sent again names the same instance.
 */
import type { FeedbackEntry, FeedbackSink, StoredFeedback } from '../feedback';

export type DeliveryState = 'pending' | 'sent' | 'refused';

export interface FeedbackDelivery {
  /** The feedback entry's id in its store (one delivery per entry). */
  readonly id: number;
  readonly entry: StoredFeedback;
  readonly state: DeliveryState;
  /** Attempts made so far. */
  readonly attempts: number;
  /** ISO 8601 times. */
  readonly queuedAt: string;
  /** When a pending delivery is next tried (null once sent or refused). */
  readonly nextAttemptAt: string | null;
  readonly lastAttemptAt: string | null;
  /** Why the last attempt failed (a pending delivery keeps it until it lands). */
  readonly lastError: string | null;
  /** When it landed. */
  readonly sentAt: string | null;
}

/**
 * The feedback store's queue. `addQueued` writes the entry and its delivery in one transaction:
 * a crash leaves both or neither, never an entry bound for the PACS that nothing will send.
 */
export interface OutboxStore {
  addQueued(entry: FeedbackEntry, queuedAt: string): Promise<FeedbackDelivery>;
  deliveries(): Promise<FeedbackDelivery[]>;
  delivery(id: number): Promise<FeedbackDelivery | null>;
  /** Replaces the delivery with the same id. */
  putDelivery(delivery: FeedbackDelivery): Promise<void>;
}

/** The first delivery of an entry just stored under `id`: due at once. */
export function newDelivery(entry: StoredFeedback, queuedAt: string): FeedbackDelivery {
  return { id: entry.id, entry, state: 'pending', attempts: 0, queuedAt, nextAttemptAt: queuedAt, lastAttemptAt: null, lastError: null, sentAt: null };
}

export interface OutboxBackoff {
  readonly baseMs: number;
  readonly maxMs: number;
  /** 0..1: the share of each delay that is randomised, so tabs and readers do not retry in step. */
  readonly jitter: number;
}

/** 5 s after the first failure, doubling to at most 2 minutes between tries: cheap, and prompt once the PACS is back. */
export const OUTBOX_BACKOFF: OutboxBackoff = Object.freeze({ baseMs: 5_000, maxMs: 120_000, jitter: 0.3 });

/** The wait after failed attempt `attempts` (1-based); `random` in [0, 1). */
export function outboxDelay(attempts: number, backoff: OutboxBackoff, random: number): number {
  const ceiling = Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.max(0, attempts - 1));
  return ceiling * (1 - backoff.jitter) + ceiling * backoff.jitter * random;
}

/** What the panel says about the queue. */
export interface OutboxSummary {
  /** Deliveries still to land. */
  readonly pending: number;
  /** Deliveries the sink refused for good, with the reason, newest first. */
  readonly refused: readonly { readonly id: number; readonly entry: StoredFeedback; readonly reason: string }[];
  readonly sent: number;
  /** When the latest delivery landed. */
  readonly lastSentAt: string | null;
  /** Why the most recent failed attempt of a pending delivery failed. */
  readonly lastError: string | null;
  /** When the next pending delivery is due. */
  readonly nextAttemptAt: string | null;
}

export const EMPTY_OUTBOX: OutboxSummary = Object.freeze({ pending: 0, refused: [], sent: 0, lastSentAt: null, lastError: null, nextAttemptAt: null });

export function summarize(deliveries: readonly FeedbackDelivery[]): OutboxSummary {
  const pending = deliveries.filter(d => d.state === 'pending');
  const sent = deliveries.filter(d => d.state === 'sent');
  const latest = <T>(values: (T | null)[]): T | null => values.filter((v): v is T => v !== null).sort().at(-1) ?? null;
  const lastFailed = [...pending].filter(d => d.lastError !== null).sort((a, b) => ((a.lastAttemptAt ?? '') < (b.lastAttemptAt ?? '') ? -1 : 1)).at(-1);
  return {
    pending: pending.length,
    refused: deliveries
      .filter(d => d.state === 'refused')
      .sort((a, b) => b.id - a.id)
      .map(d => ({ id: d.id, entry: d.entry, reason: d.lastError ?? 'refused' })),
    sent: sent.length,
    lastSentAt: latest(sent.map(d => d.sentAt)),
    lastError: lastFailed?.lastError ?? null,
    nextAttemptAt: pending.map(d => d.nextAttemptAt ?? d.queuedAt).sort()[0] ?? null,
  };
}

/** Whether the sink said that no retry can succeed (FeedbackNotSent with retryable false). */
function refusedForGood(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { retryable?: unknown }).retryable === false;
}

export interface FeedbackOutboxOptions {
  /** The feedback store's queue (the same store the book records into). */
  readonly store: OutboxStore;
  readonly sink: FeedbackSink;
  readonly clock?: () => Date;
  readonly random?: () => number;
  readonly backoff?: OutboxBackoff;
  /**
   * Runs a round of sends while no other tab of this browser runs one (the Web Locks API in the
   * browser), so two tabs do not send the same delivery at once. Default: runs it directly.
   */
  readonly exclusive?: <T>(task: () => Promise<T>) => Promise<T>;
}

type OutboxListener = (summary: OutboxSummary) => void;

export class FeedbackOutbox {
  private readonly store: OutboxStore;
  private readonly sink: FeedbackSink;
  private readonly clock: () => Date;
  private readonly random: () => number;
  private readonly backoff: OutboxBackoff;
  private readonly exclusive: <T>(task: () => Promise<T>) => Promise<T>;
  private readonly listeners = new Set<OutboxListener>();
  /** Rounds run one at a time in this page. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor({ store, sink, clock = () => new Date(), random = Math.random, backoff = OUTBOX_BACKOFF, exclusive = task => task() }: FeedbackOutboxOptions) {
    this.store = store;
    this.sink = sink;
    this.clock = clock;
    this.random = random;
    this.backoff = backoff;
    this.exclusive = exclusive;
  }

  /** Whether an entry goes to the sink at all (asked when it is recorded). */
  wants(entry: FeedbackEntry): boolean {
    return this.sink.wants(entry);
  }

  /** Stores the entry and queues it, in one write. */
  async add(entry: FeedbackEntry): Promise<FeedbackDelivery> {
    const delivery = await this.store.addQueued(entry, this.clock().toISOString());
    await this.announce();
    return delivery;
  }

  /** Tries one pending delivery now, whatever its due time; resolves with its state after the try. */
  sendNow(id: number): Promise<FeedbackDelivery | null> {
    return this.round(async () => {
      const delivery = await this.store.delivery(id);
      return delivery && delivery.state === 'pending' ? this.attempt(delivery) : delivery;
    });
  }

  /** Tries every pending delivery that is due (all of them with `all`), oldest first. */
  flush({ all = false }: { readonly all?: boolean } = {}): Promise<OutboxSummary> {
    return this.round(async () => {
      const now = this.clock().toISOString();
      const due = (await this.store.deliveries())
        .filter(d => d.state === 'pending' && (all || (d.nextAttemptAt ?? d.queuedAt) <= now))
        .sort((a, b) => a.id - b.id);
      for (const delivery of due) await this.attempt(delivery);
      return summarize(await this.store.deliveries());
    });
  }

  /**
   * Queues refused deliveries again (one, or all) and tries them now: after the reason was dealt
   * with (Save to PACS, a reader name configured). A refusal is never retried without this.
   */
  async resend(id?: number): Promise<OutboxSummary> {
    await this.round(async () => {
      const now = this.clock().toISOString();
      for (const delivery of await this.store.deliveries()) {
        if (delivery.state === 'refused' && (id === undefined || delivery.id === id)) {
          await this.store.putDelivery({ ...delivery, state: 'pending', nextAttemptAt: now });
        }
      }
    });
    return this.flush();
  }

  async summary(): Promise<OutboxSummary> {
    return summarize(await this.store.deliveries());
  }

  delivery(id: number): Promise<FeedbackDelivery | null> {
    return this.store.delivery(id);
  }

  /** `listener` receives the summary after every change this page makes. */
  subscribe(listener: OutboxListener): { unsubscribe: () => void } {
    this.listeners.add(listener);
    return { unsubscribe: () => this.listeners.delete(listener) };
  }

  private round<T>(task: () => Promise<T>): Promise<T> {
    const run = this.chain.then(() => this.exclusive(task));
    this.chain = run.catch(() => undefined);
    return run.finally(() => this.announce().catch(() => undefined));
  }

  /** One try of one delivery; its new state is written before it is returned. */
  private async attempt(delivery: FeedbackDelivery): Promise<FeedbackDelivery> {
    const at = this.clock();
    const tried = { ...delivery, attempts: delivery.attempts + 1, lastAttemptAt: at.toISOString() };
    let next: FeedbackDelivery;
    try {
      await this.sink.send(delivery.entry);
      next = { ...tried, state: 'sent', nextAttemptAt: null, lastError: null, sentAt: this.clock().toISOString() };
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      next = refusedForGood(error)
        ? { ...tried, state: 'refused', nextAttemptAt: null, lastError: reason }
        : { ...tried, state: 'pending', nextAttemptAt: new Date(at.getTime() + outboxDelay(tried.attempts, this.backoff, this.random())).toISOString(), lastError: reason };
    }
    // If this write fails after a send that landed, the delivery stays pending and is sent again:
    // harmless, the PACS gets the same instance.
    await this.store.putDelivery(next);
    return next;
  }

  private async announce(): Promise<void> {
    if (this.listeners.size === 0) return;
    const summary = await this.summary();
    this.listeners.forEach(listener => listener(summary));
  }
}

export interface OutboxRunnerOptions {
  readonly outbox: FeedbackOutbox;
  /** The longest wait between two rounds, also when nothing is pending (another tab may have queued). */
  readonly pollMs?: number;
  /** The shortest wait, so a clock that goes backwards cannot spin. */
  readonly minMs?: number;
  readonly clock?: () => Date;
  readonly setTimer?: (run: () => void, ms: number) => unknown;
  readonly clearTimer?: (timer: unknown) => void;
  /** Told when a round fails (the store could not be read): the runner keeps going. */
  readonly onError?: (error: unknown) => void;
}

/**
 * Sends what the outbox holds in the background: a round at start, one whenever `kick` is called
 * (the browser's `online` event, a reader's "send now"), and one when the next delivery is due
 * (at most `pollMs` apart).
 */
export class OutboxRunner {
  private readonly outbox: FeedbackOutbox;
  private readonly pollMs: number;
  private readonly minMs: number;
  private readonly clock: () => Date;
  private readonly setTimer: (run: () => void, ms: number) => unknown;
  private readonly clearTimer: (timer: unknown) => void;
  private readonly onError: (error: unknown) => void;
  private timer: unknown = null;
  private running = false;
  private subscription: { unsubscribe: () => void } | null = null;

  constructor({
    outbox,
    pollMs = 60_000,
    minMs = 1_000,
    clock = () => new Date(),
    setTimer = (run, ms) => setTimeout(run, ms),
    clearTimer = timer => clearTimeout(timer as ReturnType<typeof setTimeout>),
    onError = () => undefined,
  }: OutboxRunnerOptions) {
    this.outbox = outbox;
    this.pollMs = pollMs;
    this.minMs = minMs;
    this.clock = clock;
    this.setTimer = setTimer;
    this.clearTimer = clearTimer;
    this.onError = onError;
  }

  /** Starts: a round now, then rounds as deliveries fall due. Resolves after the first round. */
  start(): Promise<void> {
    if (this.running) return Promise.resolve();
    this.running = true;
    // A delivery queued or tried by the panel moves the next due time: the timer follows it.
    this.subscription = this.outbox.subscribe(summary => {
      if (this.running) this.schedule(summary);
    });
    return this.kick();
  }

  /** A round now (every pending delivery, due or not: the network just came back). */
  async kick(): Promise<void> {
    if (!this.running) return;
    try {
      this.schedule(await this.outbox.flush({ all: true }));
    } catch (error) {
      this.onError(error);
      this.arm(this.pollMs);
    }
  }

  stop(): void {
    this.running = false;
    this.subscription?.unsubscribe();
    this.subscription = null;
    if (this.timer !== null) this.clearTimer(this.timer);
    this.timer = null;
  }

  private schedule(summary: OutboxSummary): void {
    const wait = summary.nextAttemptAt === null ? this.pollMs : Date.parse(summary.nextAttemptAt) - this.clock().getTime();
    this.arm(Math.min(this.pollMs, Math.max(this.minMs, wait)));
  }

  private arm(ms: number): void {
    if (this.timer !== null) this.clearTimer(this.timer);
    this.timer = this.setTimer(() => {
      this.timer = null;
      void this.due();
    }, ms);
  }

  /** The timer's round: only what is due. */
  private async due(): Promise<void> {
    if (!this.running) return;
    try {
      this.schedule(await this.outbox.flush());
    } catch (error) {
      this.onError(error);
      this.arm(this.pollMs);
    }
  }
}
