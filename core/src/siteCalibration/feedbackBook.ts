/**
 * The radiologists' feedback as the panel records it and the admin and monitoring pages read it:
 * one object over a FeedbackStore (IndexedDB in the browser), with the rules of core/feedback.ts.
 */
import { checkFeedback, feedbackCohort, feedbackConflicts, type FeedbackCohort, type FeedbackConflict, type FeedbackInput, type FeedbackSink, type FeedbackStore, type StoredFeedback } from '../feedback';
import type { ImageIdentity } from '../triage';
import { currentLabels } from '../feedback';

export interface FeedbackBookOptions {
  readonly store: FeedbackStore;
  /**
   * Where feedback also goes once stored: the PACS as a feedback SR (pacs/feedback.ts) for
   * studies opened from it. A failure there is reported, and the stored entry stays.
   */
  readonly sink?: FeedbackSink | null;
  readonly clock?: () => Date;
}

export class FeedbackBook {
  private readonly store: FeedbackStore;
  private readonly sink: FeedbackSink | null;
  private readonly clock: () => Date;

  constructor({ store, sink = null, clock = () => new Date() }: FeedbackBookOptions) {
    this.store = store;
    this.sink = sink;
    this.clock = clock;
  }

  /**
   * Records a label (appends; an earlier label of the same reader stays in the history). Resolves
   * with the stored entry and, when a sink is set and fails, the reason it was not sent.
   */
  async record(input: FeedbackInput): Promise<{ entry: StoredFeedback; sinkError: string | null }> {
    const entry = await this.store.add(checkFeedback(input, this.clock().toISOString()));
    let sinkError: string | null = null;
    if (this.sink) {
      try {
        await this.sink.send(entry);
      } catch (error) {
        sinkError = error instanceof Error ? error.message : String(error);
      }
    }
    return { entry, sinkError };
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
