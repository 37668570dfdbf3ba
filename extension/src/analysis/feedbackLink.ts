/**
 * ChestAidService's link to the readers' ground truth: what this reader says the image on screen
 * shows, recorded in a FeedbackBook with the model sha256, calibration version, score, logit and
 * decision of the result it answers, and the labels other readers gave the same image.
 *
 * Reads are tied to the image they were made for: one that arrives after the reader moved to
 * another image is dropped.
 *
 * A label bound for the PACS goes through the book's outbox: the state carries where this
 * reader's current label stands on its way there (`delivery`), read again whenever the outbox
 * changes (deliveryChanged), so "waiting for the PACS" turns into "sent" without a click.
 */
import { currentLabels, type FeedbackBook, type GroundTruth, type ImageIdentity, messageOf } from '@chestaid/core';
import type { AnalysisOutcome, AnalysisTarget, FeedbackState } from './types';
import { t } from '../i18n/translate';

/** Before any book or reader is known. */
export const NO_FEEDBACK: FeedbackState = { reader: 'unknown', available: false, status: 'idle', mine: null, others: [], conflict: false, message: null };

/** The current result the reader answers, as the panel shows it. */
export interface AnsweredResult {
  readonly target: AnalysisTarget;
  readonly outcome: AnalysisOutcome;
  readonly modelSha256: string;
  /** The reader's threshold the decision on screen was made with (null: the analysis's own). */
  readonly threshold: number | null;
}

function imageOf(target: AnalysisTarget): ImageIdentity | null {
  const { studyInstanceUID, seriesInstanceUID, sopInstanceUID } = target;
  return studyInstanceUID && seriesInstanceUID && sopInstanceUID ? { studyInstanceUID, seriesInstanceUID, sopInstanceUID } : null;
}

export class FeedbackLink {
  private book: FeedbackBook | null = null;
  private readerOf: () => string | null = () => null;
  /** Bumped whenever the image changes, so a late read is dropped. */
  private ticket = 0;
  private state: FeedbackState = NO_FEEDBACK;

  /** `announce` receives every new feedback state. */
  constructor(private readonly announce: (feedback: FeedbackState) => void) {}

  /** The book feedback is recorded into (the admin and monitoring pages read it). */
  getBook(): FeedbackBook | null {
    return this.book;
  }

  /** Where feedback is kept (null: none) and who the reader is; what is left undefined stays. Call load() after. */
  use({ book, reader }: { readonly book?: FeedbackBook | null; readonly reader?: string | null | (() => string | null) }): void {
    if (book !== undefined) this.book = book;
    if (reader !== undefined) this.readerOf = typeof reader === 'function' ? reader : () => reader;
  }

  /** The reader as of now: asked at each use, so a login that completes later names them. */
  private get reader(): string {
    const name = this.readerOf();
    return typeof name === 'string' && name.trim() !== '' ? name.trim() : 'unknown';
  }

  /** Reads the feedback of the image on screen (`target`; null: none). */
  load(target: AnalysisTarget | null): void {
    const ticket = ++this.ticket;
    const image = target ? imageOf(target) : null;
    const book = this.book;
    const base = { ...this.state, reader: this.reader, available: book !== null };
    if (!image || !book) {
      this.set({ ...base, status: 'idle', mine: null, others: [], conflict: false, message: null, delivery: null });
      return;
    }
    this.set({ ...base, status: 'loading', mine: null, others: [], conflict: false, message: null, delivery: null });
    this.read(book, image, ticket, 'idle', null).catch(error => {
      if (ticket === this.ticket) this.set({ ...this.state, status: 'error', message: t('feedback.readFailed', { message: messageOf(error) }) });
    });
  }

  /**
   * Records the reader's ground truth for `answered`, the current result on screen (null: there is
   * none, e.g. a stale one that must be re-analyzed first). Changing one's label appends.
   */
  async record(label: GroundTruth, comment: string | undefined, answered: AnsweredResult | null): Promise<void> {
    const book = this.book;
    const fail = (message: string) => this.set({ ...this.state, status: 'error', message });
    if (!book) return fail(t('feedback.noStore'));
    if (!answered) return fail(t('feedback.analyzeFirst'));
    const { target, outcome, modelSha256 } = answered;
    const threshold = answered.threshold ?? outcome.analysis.decision.threshold;
    const image = imageOf(target);
    if (!image) return fail(t('feedback.noUids'));
    const ticket = this.ticket;
    this.set({ ...this.state, status: 'saving', message: null });
    try {
      await book.record({
        ...image,
        modelSha256,
        calibrationVersion: outcome.analysis.calibrationVersion,
        score: outcome.analysis.probability,
        logit: outcome.analysis.logit,
        decision: { above: outcome.analysis.probability >= threshold, threshold },
        label,
        ...(comment && comment.trim() ? { comment } : {}),
        reader: this.reader,
      });
      if (ticket !== this.ticket) return;
      // Where it stands with the PACS is the delivery's line (read with the entries), kept live.
      await this.read(book, image, ticket, 'saved', null);
    } catch (error) {
      if (ticket === this.ticket) fail(t('feedback.saveFailed', { message: messageOf(error) }));
    }
  }

  /**
   * Queues the readings the PACS refused again and tries them now (after the reason was dealt
   * with: Save to PACS, a reader name configured). A refusal is never retried without this.
   */
  async resend(): Promise<void> {
    await this.book?.outbox?.resend();
  }

  /** The outbox changed (a send landed, failed or was queued): the delivery on show is read again. */
  deliveryChanged(): void {
    const book = this.book;
    const id = this.state.mine?.id;
    if (!book || id === undefined) return;
    const ticket = this.ticket;
    book
      .deliveryOf(id)
      .then(delivery => {
        if (ticket === this.ticket && this.state.mine?.id === id) this.set({ ...this.state, delivery });
      })
      .catch(() => undefined);
  }

  private async read(book: FeedbackBook, image: ImageIdentity, ticket: number, status: FeedbackState['status'], message: string | null): Promise<void> {
    const entries = await book.forImage(image);
    if (ticket !== this.ticket) return;
    const current = currentLabels(entries);
    const mine = current.find(e => e.reader === this.reader) ?? null;
    const delivery = mine ? await book.deliveryOf(mine.id).catch(() => null) : null;
    if (ticket !== this.ticket) return;
    const others = current.filter(e => e.reader !== this.reader).map(e => ({ reader: e.reader, label: e.label, at: e.at }));
    const labels = new Set(current.map(e => e.label));
    this.set({
      ...this.state,
      reader: this.reader,
      available: true,
      status,
      mine,
      others,
      conflict: labels.has('pneumonia') && labels.has('normal'),
      message,
      delivery,
    });
  }

  private set(feedback: FeedbackState): void {
    this.state = feedback;
    this.announce(feedback);
  }
}
