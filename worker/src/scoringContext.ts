/**
 * What both worker modes score with: the polling loop (worker.ts) and the broker consumer
 * (queue/queueWorker.ts) differ in where their work comes from, not in how an image is scored.
 * One context holds, over one state and one set of counts: the PACS link (is the PACS answering),
 * the failure ledger and the image scorer, and the model in use under the site's active
 * calibration, stamped with the calibration's identity (the result key names it, so a new
 * calibration is new work).
 */
import { isCalibrationIdentity, type Manifest, type VerifyContext, withCalibrationIdentity } from '@chestaid/core';
import { FailureLedger } from './failures';
import type { ImageLimits } from './imageLimits';
import type { Logger } from './log';
import { PacsLink, type PacsLike } from './pacsLink';
import type { ResultKey } from './results';
import { ImageScorer, type ModelInUse } from './scoreImage';
import type { WorkerState } from './state';
import type { Counts } from './tally';

/** Where a new active calibration comes from (calibration.ts's WatchedCalibration). */
export interface CalibrationWatch {
  /** Null while unchanged; else the manifest with the now active calibration. Throws when the log cannot be used. */
  check(): Promise<{ readonly manifest: Manifest } | null>;
}

export interface ScoringContextOptions {
  readonly pacs: PacsLike;
  /** The manifest here is the one with the active calibration applied. */
  readonly model: ModelInUse;
  readonly logger: Logger;
  readonly state: WorkerState;
  /** Attempts per image before it is dead-lettered. */
  readonly maxAttempts: number;
  readonly limits?: ImageLimits;
  readonly now: () => Date;
}

export class ScoringContext {
  readonly counts: Counts = { polls: 0, studies: 0, scored: 0, stored: 0, skipped: 0, failed: 0, deadLettered: 0, refused: 0 };
  readonly link: PacsLink;
  readonly scorer: ImageScorer;
  private current: ModelInUse;

  constructor(private readonly options: ScoringContextOptions) {
    const { pacs, model, logger, state, maxAttempts, limits, now } = options;
    if (!(Number.isInteger(maxAttempts) && maxAttempts >= 1)) throw new Error(`maxAttempts must be an integer >= 1, got ${maxAttempts}`);
    this.current = model;
    this.link = new PacsLink(pacs, logger, now);
    const failures = new FailureLedger({ state, logger, counts: this.counts, maxAttempts, now });
    this.scorer = new ImageScorer(model, { link: this.link, failures, state, counts: this.counts, logger, now, limits });
  }

  /** The model bytes and the manifest with the active calibration, as results are now written under. */
  get model(): ModelInUse {
    return this.current;
  }

  /** When the PACS stopped answering; null while it answers. */
  get pacsDownSince(): Date | null {
    return this.link.downSince;
  }

  /** When the PACS last answered. */
  get lastPollOkAt(): Date | null {
    return this.link.lastOkAt;
  }

  /** The calibration version results are now written under. */
  get calibrationVersion(): string {
    return this.current.manifest.calibration.version;
  }

  /** Model and calibration in one string: a study examined under another one is examined again. */
  get modelKey(): string {
    return `${this.current.sha256}|${this.calibrationVersion}`;
  }

  keyOf(sopInstanceUID: string): ResultKey {
    return { sopInstanceUID, modelSha256: this.current.sha256, calibrationVersion: this.calibrationVersion };
  }

  /** What the PACS's SRs are verified against: this model's bytes, its device and the active calibration. */
  verifyContext(): VerifyContext {
    const { manifest } = this.current;
    return {
      modelSha256: this.current.sha256,
      deviceUID: manifest.model.device_uid ?? '',
      calibrationOf: identity => (identity === manifest.calibration.version ? manifest : null),
    };
  }

  /**
   * Adopts the watch's new calibration, if any (logged, `then` saying what follows in this mode),
   * and stamps the version with its identity. Throws what the watch throws (a log that no longer
   * verifies): nothing is scored after that.
   */
  async refreshCalibration(watch: CalibrationWatch | null | undefined, then: string): Promise<void> {
    const changed = await watch?.check();
    if (changed) {
      const from = this.calibrationVersion;
      const { manifest } = changed;
      this.current = { ...this.current, manifest };
      this.options.logger.log('info', 'calibration-changed', {
        from,
        to: manifest.calibration.version,
        method: manifest.calibration.selected,
        threshold: manifest.thresholds.clinical.value,
        then,
      });
    }
    if (!isCalibrationIdentity(this.calibrationVersion)) {
      this.current = { ...this.current, manifest: await withCalibrationIdentity(this.current.manifest) };
    }
  }
}
