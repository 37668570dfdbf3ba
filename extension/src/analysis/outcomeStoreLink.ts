/**
 * ChestAidService's link to the OutcomeStore where results outlive the page (the triage result
 * store): every finished analysis is saved there, and an image with no result in memory is looked
 * up there before anything is shown as missing, so a study scored by the triage batch (or before a
 * reload) opens with its result and without a second run. A store failure costs the copy, never
 * the result on screen.
 */
import type { Refusal } from '@chestaid/core';
import { withCalibration } from './sessionResults';
import type { AnalysisOutcome, OutcomeStore, ScoredImage } from './types';

export class OutcomeStoreLink {
  private store: OutcomeStore | null = null;
  /** Look-ups under way, by result key and calibration version. */
  private readonly lookups = new Set<string>();

  /** Where results are kept beyond the page; null: memory only. */
  use(store: OutcomeStore | null): void {
    this.store = store;
  }

  save(image: ScoredImage, outcome: AnalysisOutcome): void {
    this.store?.save(image.target, outcome, image.model).catch(error => {
      console.warn('ChestAid: the result could not be stored for later', error);
    });
  }

  saveRefusal(image: ScoredImage, refusal: Refusal): void {
    this.store?.saveRefusal?.(image.target, refusal, image.model).catch(error => {
      console.warn('ChestAid: the refusal could not be stored for later', error);
    });
  }

  /**
   * Looks `image` up (once at a time), and hands `found` what the store holds: the outcome under
   * the active calibration or, when there is none and `inMemory()` says no result of the image is
   * held at all, the latest under another version (shown as stale rather than nothing), each
   * stamped with the version it was stored under.
   */
  lookUp(image: ScoredImage, inMemory: () => boolean, found: (outcome: AnalysisOutcome) => void): void {
    const store = this.store;
    if (!store) return;
    const { target, model } = image;
    const lookup = `${image.key}|${model.calibrationVersion}`;
    if (this.lookups.has(lookup)) return;
    this.lookups.add(lookup);
    const look = async () => {
      const outcome = await store.find(target, model);
      if (outcome) return withCalibration(outcome, model.calibrationVersion);
      const older = inMemory() ? null : ((await store.findOther?.(target, model)) ?? null);
      return older && withCalibration(older.outcome, older.calibrationVersion);
    };
    look()
      .then(
        outcome => {
          if (outcome) found(outcome);
        },
        error => console.warn('ChestAid: stored results could not be read', error),
      )
      .finally(() => this.lookups.delete(lookup));
  }
}
