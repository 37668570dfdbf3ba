/**
 * ChestAidService's link to the archive where results are shared with every reader (the PACS, see
 * pacs/archive.ts): Save to PACS for the image on screen, and the look-up of a result another
 * reader or the triage worker stored there. What the archive did or holds is kept per image, model
 * and calibration version, so an answer that arrives after the reader moved on is kept for its own
 * image and never shown on another.
 *
 * The archive answers in plain terms and is not supposed to throw; one that does is reported as a
 * failure, never as an unhandled rejection.
 */
import { messageOf } from '@chestaid/core';
import type { AnalysisOutcome, AnalysisState, AnalysisTarget, ArchivedScore, ArchiveLookup, ArchiveSave, ArchiveState, ChestAidState, ResultArchive, ScoredImage } from './types';

/** A verified archived result that may be shown on its image. */
export type StoredScore = Extract<AnalysisState, { status: 'stored' }>['stored'];
import { t } from '../i18n/translate';

/** What Save to PACS shows where no archive is configured. */
export const noArchive = (): ArchiveState => ({ status: 'unavailable', reason: t('pacs.none') });

/** What the PACS keys a result by: the image and model (the result key) and the calibration version. */
function slotOf({ key, manifest }: ScoredImage): string {
  return `${key}|${manifest.calibration.version}`;
}

export class ArchiveLink {
  private archive: ResultArchive | null = null;
  /** Per slot: what Save to PACS did or found, and what the archive holds. */
  private readonly states = new Map<string, ArchiveState>();
  private readonly scores = new Map<string, ArchivedScore>();
  private readonly lookups = new Set<string>();

  /** `changed` is called whenever what stateOf() answers may have changed. */
  constructor(private readonly changed: () => void) {}

  /** Another archive, or none: what was known of the previous one is forgotten. */
  use(archive: ResultArchive | null): void {
    this.archive = archive;
    this.states.clear();
    this.scores.clear();
  }

  /**
   * Save to PACS and the archived result for the image on screen: `target`, and `image` when its
   * result key under the model in use is known.
   */
  stateOf(target: AnalysisTarget | null, image: ScoredImage | null): Pick<ChestAidState, 'archive' | 'archived'> {
    if (!this.archive) return { archive: noArchive(), archived: null };
    if (!target) return { archive: { status: 'idle' }, archived: null };
    const reason = this.archive.unavailableReason(target);
    if (reason) return { archive: { status: 'unavailable', reason }, archived: null };
    if (!image) return { archive: { status: 'idle' }, archived: null };
    const slot = slotOf(image);
    return { archive: this.states.get(slot) ?? { status: 'idle' }, archived: this.scores.get(slot) ?? null };
  }

  /**
   * The verified result the archive holds for `image` when it may be shown there as its stored
   * result (ArchivedScore.shown), or null. The heatmap layer draws its map; the panel its score.
   */
  storedOf(image: ScoredImage | null): StoredScore | null {
    return image ? this.storedFor(image.key, image.manifest.calibration.version) : null;
  }

  /** storedOf by result key and the calibration identity in use. */
  storedFor(key: string | null, calibrationVersion: string | undefined): StoredScore | null {
    if (key === null || calibrationVersion === undefined || !this.archive) return null;
    const score = this.scores.get(`${key}|${calibrationVersion}`);
    if (!score || score.verdict !== 'verified' || score.shown?.status !== 'shown') return null;
    // Only a result of the calibration in use is current (the look-up asked for it).
    return score.shown.calibrationVersion === calibrationVersion ? (score as StoredScore) : null;
  }

  /**
   * Asks the archive (once per image and model, again after a failure) whether another reader or
   * the triage worker has stored a result for `image`, so the panel can show it and Save to PACS
   * knows there is nothing to write.
   */
  lookUp(image: ScoredImage | null): void {
    const archive = this.archive;
    if (!image || !archive || archive.unavailableReason(image.target)) return;
    const slot = slotOf(image);
    if (this.scores.has(slot) || this.lookups.has(slot) || this.states.has(slot)) return;
    this.lookups.add(slot);
    this.states.set(slot, { status: 'checking' });
    this.changed();
    archive
      .find(image.target, image.model)
      .catch((error): ArchiveLookup => ({ status: 'failed', kind: 'error', message: messageOf(error) }))
      .then(found => {
        // A save that started meanwhile has the last word.
        const saving = this.states.get(slot)?.status === 'saving';
        if (found.status === 'found') {
          this.scores.set(slot, found.score);
          // An unverified SR is not this result: Save to PACS stays open and writes the true one.
          if (found.score.verdict === 'unverified') this.states.delete(slot);
          else if (!saving) this.states.set(slot, { status: 'already-saved', srSopInstanceUID: found.score.srSopInstanceUID });
        } else if (!saving) {
          // A failed look-up is not worth an alarm before the reader asks to save: saving checks again.
          this.states.delete(slot);
        }
      })
      .finally(() => {
        this.lookups.delete(slot);
        this.changed();
      });
  }

  /**
   * Save to PACS: archives `outcome`, the current result of `image`, once. Resolves when the
   * archive has answered; the answer is in stateOf(). A failure leaves the result where it was,
   * and saving again retries.
   */
  async save(image: ScoredImage | null, outcome: AnalysisOutcome | null): Promise<void> {
    const archive = this.archive;
    if (!image || !outcome || !archive || archive.unavailableReason(image.target)) return;
    const slot = slotOf(image);
    const current = this.states.get(slot)?.status;
    if (current === 'saving' || current === 'saved' || current === 'already-saved') return;
    this.states.set(slot, { status: 'saving' });
    this.changed();
    let answer: ArchiveSave;
    try {
      answer = await archive.save(image.target, outcome, image.manifest, image.model);
    } catch (error) {
      answer = { status: 'failed', kind: 'error', message: messageOf(error) };
    }
    this.states.set(slot, answer);
    if (answer.status === 'saved' || answer.status === 'already-saved') {
      // What was just written is this viewer's own result; a conflict already there stays one.
      const known = this.scores.get(slot);
      const conflict = answer.status === 'already-saved' && known?.verdict === 'conflict';
      this.scores.set(slot, {
        verdict: conflict ? 'conflict' : 'verified',
        ...(conflict ? { reason: known?.reason } : {}),
        probability: outcome.analysis.probability,
        srSopInstanceUID: answer.srSopInstanceUID,
        observedAt: this.scores.get(slot)?.observedAt ?? new Date().toISOString(),
        modelId: outcome.analysis.modelId,
        modelVersion: outcome.analysis.modelVersion,
      });
    }
    this.changed();
  }
}
