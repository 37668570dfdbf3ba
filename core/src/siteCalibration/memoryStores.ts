/**
 * The calibration log and feedback in memory: for tests, and where the browser refuses IndexedDB
 * (then nothing outlives the page, which the caller says). Each write checks and commits without
 * an await in between, so it is atomic in a single JavaScript thread.
 */
import type { FeedbackEntry, FeedbackStore, StoredFeedback } from '../feedback';
import type { ImageIdentity } from '../triage';
import { appendConflict, type SiteCalibrationStore } from './log';
import type { AuditEntry, UnreadableEntry } from './chain';
import type { CalibrationOverlay } from './overlay';
import { imageKey } from '../feedback';
import { newDelivery, type FeedbackDelivery, type OutboxStore } from './feedbackOutbox';

export class MemorySiteCalibrationStore implements SiteCalibrationStore {
  /** Public so tests can damage it the way a disk or a person might. */
  readonly entries: (AuditEntry | UnreadableEntry)[] = [];
  readonly overlays = new Map<string, unknown>();

  async readEntries(): Promise<readonly (AuditEntry | UnreadableEntry)[]> {
    return structuredClone(this.entries);
  }

  async readOverlay(version: string): Promise<unknown | null> {
    return this.overlays.has(version) ? structuredClone(this.overlays.get(version)) : null;
  }

  async append(entry: AuditEntry, overlay?: CalibrationOverlay): Promise<void> {
    const last = this.entries[this.entries.length - 1];
    const conflict = appendConflict(last && !('unreadable' in last) ? last : null, entry);
    if (conflict) throw conflict;
    if (overlay && this.overlays.has(overlay.version)) {
      throw new Error(`calibration overlay ${overlay.version} is already stored; versions are never replaced`);
    }
    if (overlay && overlay.version !== entry.version) throw new Error(`overlay ${overlay.version} does not belong to entry version ${entry.version}`);
    if (overlay) this.overlays.set(overlay.version, structuredClone(overlay));
    this.entries.push(structuredClone(entry));
  }
}

/** Feedback and its outbox queue in memory (the queue is lost with the page, like the entries). */
export class MemoryFeedbackStore implements FeedbackStore, OutboxStore {
  private readonly entries: StoredFeedback[] = [];
  private readonly queue = new Map<number, FeedbackDelivery>();

  async add(entry: FeedbackEntry): Promise<StoredFeedback> {
    const stored = { ...structuredClone(entry), id: this.entries.length + 1 };
    this.entries.push(stored);
    return structuredClone(stored);
  }

  async list(): Promise<StoredFeedback[]> {
    return structuredClone(this.entries);
  }

  async forImage(image: ImageIdentity): Promise<StoredFeedback[]> {
    const key = imageKey(image);
    return structuredClone(this.entries.filter(e => imageKey(e) === key));
  }

  async addQueued(entry: FeedbackEntry, queuedAt: string): Promise<FeedbackDelivery> {
    const stored = await this.add(entry);
    const delivery = newDelivery(stored, queuedAt);
    this.queue.set(delivery.id, structuredClone(delivery));
    return delivery;
  }

  async deliveries(): Promise<FeedbackDelivery[]> {
    return structuredClone([...this.queue.values()]);
  }

  async delivery(id: number): Promise<FeedbackDelivery | null> {
    return structuredClone(this.queue.get(id) ?? null);
  }

  async putDelivery(delivery: FeedbackDelivery): Promise<void> {
    if (!this.queue.has(delivery.id)) throw new Error(`no queued feedback delivery ${delivery.id}`);
    this.queue.set(delivery.id, structuredClone(delivery));
  }
}
