/**
 * The radiologists' feedback as the panel records it and the admin and monitoring pages read it:
 * one object over a FeedbackStore (IndexedDB in the browser), with the rules of core/feedback.ts,
 * and the outbox that takes an entry bound for the PACS there (feedbackOutbox.ts).
 */
import { checkFeedback, feedbackCohort, feedbackConflicts, type FeedbackCohort, type FeedbackConflict, type FeedbackInput, type FeedbackStore, type StoredFeedback } from '../feedback';
import type { ImageIdentity } from '../triage';
import { currentLabels } from '../feedback';
import type { FeedbackDelivery, FeedbackOutbox } from './feedbackOutbox';

export interface FeedbackBookOptions {
  readonly store: FeedbackStore;
  /**
   * Where feedback also goes once stored: the PACS as a feedback SR (dicomweb/feedback.ts) for
   * studies opened from it, through an outbox over the SAME store, which queues the entry in the
   * write that stores it and sends it until it lands.
   */
  readonly outbox?: FeedbackOutbox | null;
  readonly clock?: () => Date;
}

/** What recording did: the entry as stored and, for one bound for the PACS, its delivery after the first try. */
export interface Recorded {
  readonly entry: StoredFeedback;
  readonly delivery: FeedbackDelivery | null;
}

export class FeedbackBook {
  private readonly store: FeedbackStore;
  readonly outbox: FeedbackOutbox | null;
  private readonly clock: () => Date;

  constructor({ store, outbox = null, clock = () => new Date() }: FeedbackBookOptions) {
    this.store = store;
    this.outbox = outbox;
    this.clock = clock;
  }

  /**
   * Records a label (appends; an earlier label of the same reader stays in the history). An entry
   * the outbox wants is stored and queued in one write, then tried once at once; a failed try
   * leaves it queued (pending or refused, with the reason), never lost. Rejects only when the
   * entry could not be stored.
   */
  async record(input: FeedbackInput): Promise<Recorded> {
    const checked = checkFeedback(input, this.clock().toISOString());
    if (!this.outbox?.wants(checked)) return { entry: await this.store.add(checked), delivery: null };
    const queued = await this.outbox.add(checked);
    let delivery: FeedbackDelivery | null = queued;
    try {
      delivery = (await this.outbox.sendNow(queued.id)) ?? queued;
    } catch {
      // The try's outcome could not be written: the delivery is still queued, the runner retries it.
    }
    return { entry: queued.entry, delivery };
  }

  /** The delivery to the PACS of a stored entry (null: not bound for it, or no outbox). */
  deliveryOf(id: number): Promise<FeedbackDelivery | null> {
    return this.outbox ? this.outbox.delivery(id) : Promise.resolve(null);
  }

  /** Every entry, history included, in the order recorded. */
  listFeedback(): Promise<StoredFeedback[]> {
    return this.store.list();
  }

  /** Each reader's current label per image. */
  async currentFeedback(): Promise<StoredFeedback[]> {
    return currentLabels(await this.store.list());
  }

  /** Every entry about one image, in the order recorded. */
  forImage(image: ImageIdentity): Promise<StoredFeedback[]> {
    return this.store.forImage(image);
  }

  /** Images whose readers' current labels contradict each other. */
  async feedbackConflicts(): Promise<FeedbackConflict[]> {
    return feedbackConflicts(await this.store.list());
  }

  /** The labelled cohort for recalibrating `modelSha256` (logits, labels) and what was left out, by reason. */
  async feedbackCohort(modelSha256: string): Promise<FeedbackCohort> {
    return feedbackCohort(await this.store.list(), modelSha256);
  }
}
