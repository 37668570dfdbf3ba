/**
 * The triage worker's loop: poll the PACS, score each CR/DX image that has no ChestAid result
 * for this model and calibration yet, and store the result SR (and the heatmap) back in the PACS.
 * An image the model card excludes (core's intended-use gate) is recorded as not analyzed, with
 * its reason, in the state and the log: no score, no SR, not a failure, never retried.
 *
 * The loop composes one module per concern: finding new work (studies.ts), which images already
 * have a result (existingResults.ts), scoring and storing one image (scoreImage.ts, results.ts),
 * what a failure costs (failures.ts), and whether the PACS answers (pacsLink.ts); scoringContext.ts
 * holds them with the model under its calibration, as the broker mode does too. Each says its rule
 * in its header; this file keeps the order of a pass, scheduling and shutdown.
 *
 * Calibration. The worker scores under the site's active calibration (calibration.ts), checked
 * before each poll. A new version changes the result key, so every study is examined again and
 * each image without a result under the new version is scored again (a new SR and heatmap; the old
 * ones stay in the PACS, shown as stale by the viewer): after a recalibration the worklist must be
 * ranked by scores under the version the readers see, and re-scoring costs ~100 ms an image. A
 * rollback to a version the images were already scored under finds those results and writes
 * nothing. The check runs between passes only: one pass is under one version.
 */
import { type DicomJson, freeRevision, messageOf, RESULT_REVISIONS } from '@chestaid/core';
import { TAG, value } from './dicomJson';
import { existingResults } from './existingResults';
import { errorKind } from './failures';
import { ms, type Logger } from './log';
import { PassAborted, type PacsLike } from './pacsLink';
import { keyText } from './results';
import type { ModelInUse } from './scoreImage';
import { type CalibrationWatch, ScoringContext } from './scoringContext';
import { owns, WHOLE, type Shard } from './shard';
import { WorkerState } from './state';
import { fingerprintOf, listStudies, SERIES_FIELDS } from './studies';
import type { PassResult, PassTally } from './tally';

export type { PacsLike } from './pacsLink';
export type { ModelInUse } from './scoreImage';
export type { CalibrationWatch } from './scoringContext';
export type { Counts, ImageTimings, PassResult } from './tally';

export interface WorkerOptions {
  readonly pacs: PacsLike;
  /** The manifest here is the one with the active calibration applied. */
  readonly model: ModelInUse;
  /** Checked before each poll; without it the model's manifest is used throughout. */
  readonly calibration?: CalibrationWatch;
  readonly logger: Logger;
  readonly state?: WorkerState;
  readonly shard?: Shard;
  /** Attempts per image before it is dead-lettered. */
  readonly maxAttempts?: number;
  /** QIDO-RS page size for the study list. */
  readonly pageSize?: number;
  /**
   * Only studies with StudyDate on or after this day (YYYYMMDD), to bound each poll's listing on a
   * large archive. A bound, not a cursor: a late-arriving study older than it is never seen.
   */
  readonly since?: string;
  readonly now?: () => Date;
}

export class TriageWorker {
  /** The PACS link, the scorer, the counts and the model under its active calibration (shared with the broker mode). */
  readonly scoring: ScoringContext;
  lastPollAt: Date | null = null;

  private readonly calibration: CalibrationWatch | null;
  private readonly logger: Logger;
  private readonly state: WorkerState;
  private readonly shard: Shard;
  private readonly pageSize: number;
  private readonly since: string | undefined;
  private readonly now: () => Date;
  private readonly accepted: readonly string[];
  private stopRequested = false;
  private wake: (() => void) | null = null;

  constructor(options: WorkerOptions) {
    this.calibration = options.calibration ?? null;
    this.logger = options.logger;
    this.state = options.state ?? WorkerState.memory();
    this.shard = options.shard ?? WHOLE;
    this.pageSize = options.pageSize ?? 100;
    this.since = options.since;
    if (this.since !== undefined && !/^\d{8}$/.test(this.since)) throw new Error(`since must be a date YYYYMMDD, got ${JSON.stringify(this.since)}`);
    this.now = options.now ?? (() => new Date());
    if (!(Number.isInteger(this.pageSize) && this.pageSize >= 1)) throw new Error(`pageSize must be an integer >= 1, got ${this.pageSize}`);
    this.scoring = new ScoringContext({
      pacs: options.pacs, model: options.model, logger: this.logger, state: this.state, maxAttempts: options.maxAttempts ?? 3, now: this.now,
    });
    this.accepted = options.model.manifest.input.grey.accepted_modalities;
  }

  get stopping(): boolean {
    return this.stopRequested;
  }

  /** Finish the current image, then stop; wakes a worker waiting for its next poll. */
  requestStop(): void {
    this.stopRequested = true;
    this.wake?.();
  }

  /** Polls until stopped (or once). Resolves with the last pass. */
  async run({ once = false, intervalMs = 30_000 }: { once?: boolean; intervalMs?: number } = {}): Promise<PassResult> {
    for (;;) {
      const result = await this.runPass();
      if (once || this.stopRequested) return result;
      await new Promise<void>(resolve => {
        const timer = setTimeout(resolve, intervalMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
      if (this.stopRequested) return result;
    }
  }

  async runPass(): Promise<PassResult> {
    const started = performance.now();
    const tally: PassTally = { studies: 0, scored: 0, skipped: 0, failed: 0, refused: 0, timings: [] };
    // Before anything else: a log that no longer verifies throws here, and nothing is scored.
    await this.scoring.refreshCalibration(this.calibration, 'every study is examined again; images without a result under the new version are scored again');
    this.scoring.counts.polls++;
    this.lastPollAt = this.now();
    const finish = (completed: boolean): PassResult => {
      this.state.save();
      return { completed, stopped: this.stopRequested, ...tally, ms: performance.now() - started };
    };

    let studies: DicomJson[];
    try {
      const listing = await listStudies(this.scoring.link.pacs, { pageSize: this.pageSize, since: this.since });
      studies = listing.studies;
      if (listing.stopped) this.logger.log('warn', 'listing-incomplete', { studies: studies.length, reason: listing.stopped });
    } catch (error) {
      return finish(this.scoring.link.failed(error, 'listing studies'));
    }
    this.scoring.link.answered();
    const mine = studies.filter(study => {
      const uid = value(study, TAG.StudyInstanceUID);
      return uid !== undefined && owns(this.shard, uid);
    });
    this.logger.log('info', 'polled', {
      studies: studies.length,
      inShard: mine.length,
      shard: `${this.shard.index}/${this.shard.count}`,
      ms: ms(performance.now() - started),
    });

    for (const study of mine) {
      if (this.stopRequested) break;
      tally.studies++;
      this.scoring.counts.studies++;
      try {
        await this.handleStudy(study, tally);
      } catch (error) {
        if (error instanceof PassAborted) return finish(this.scoring.link.failed(error.reason, 'reading a study'));
        // A study-level request failed with an answer (e.g. a 5xx after retries): the next poll
        // tries the study again; the others go on.
        this.logger.log('error', 'failed', {
          study: value(study, TAG.StudyInstanceUID),
          stage: 'study',
          kind: errorKind(error),
          error: messageOf(error),
        });
      }
      this.state.save();
    }
    const result = finish(true);
    this.logger.log('info', 'pass', {
      studies: result.studies,
      scored: result.scored,
      skipped: result.skipped,
      failed: result.failed,
      refused: result.refused,
      stopped: result.stopped,
      ms: ms(result.ms),
    });
    return result;
  }

  private async handleStudy(study: DicomJson, tally: PassTally): Promise<void> {
    const studyUID = value(study, TAG.StudyInstanceUID) as string;
    const { modalities, fingerprint } = fingerprintOf(study);
    const memo = this.state.data.studies[studyUID];
    if (memo && memo.fingerprint === fingerprint && memo.modelKey === this.scoring.modelKey) return;

    // A PACS that does not fill ModalitiesInStudy gets its series looked at instead.
    if (modalities.length > 0 && !modalities.some(m => this.accepted.includes(m))) {
      this.scoring.counts.skipped++;
      tally.skipped++;
      this.logger.log('info', 'skipped', {
        study: studyUID,
        reason: `not a chest radiograph study: modalities ${modalities.join('/')}, the model reads ${this.accepted.join('/')}`,
      });
      this.remember(studyUID, fingerprint);
      return;
    }

    const series = await this.scoring.link.ask(pacs => pacs.searchSeries(studyUID, { includefield: SERIES_FIELDS }));
    const { done, occupied } = await existingResults(this.scoring.link, this.logger, studyUID, series, this.scoring.verifyContext());
    let complete = true;
    let wrote = false;
    for (const s of series) {
      const modality = value(s, TAG.Modality);
      const seriesUID = value(s, TAG.SeriesInstanceUID);
      if (!seriesUID || !modality || !this.accepted.includes(modality)) continue;
      const instances = await this.scoring.link.ask(pacs => pacs.searchInstances(studyUID, seriesUID, { includefield: [TAG.SOPClassUID] }));
      for (const instance of instances) {
        if (this.stopRequested) return;
        const sopUID = value(instance, TAG.SOPInstanceUID);
        if (!sopUID) continue;
        const key = this.scoring.keyOf(sopUID);
        const text = keyText(key);
        if (done.has(text)) {
          delete this.state.data.failures[text];
          this.scoring.counts.skipped++;
          tally.skipped++;
          this.logger.log('info', 'skipped', { study: studyUID, sop: sopUID, reason: 'a ChestAid result for this image, model and calibration is already in the PACS' });
          continue;
        }
        const refused = this.state.data.refused[text];
        if (refused) {
          this.scoring.counts.skipped++;
          tally.skipped++;
          this.logger.log('info', 'skipped', { study: studyUID, sop: sopUID, reason: `not analyzed: ${refused.reason}` });
          continue;
        }
        const dead = this.state.data.deadLetter[text];
        if (dead) {
          this.scoring.counts.skipped++;
          tally.skipped++;
          this.logger.log('info', 'skipped', { study: studyUID, sop: sopUID, reason: `dead-lettered after ${dead.attempts} attempt(s): ${dead.lastError}` });
          continue;
        }
        // Only unverified SRs (or none) for this key: the first UIDs none of them occupies.
        const revision = await freeRevision(studyUID, key, occupied);
        if (revision === null) {
          this.scoring.counts.failed++;
          tally.failed++;
          complete = false;
          this.logger.log('error', 'no-free-uid', {
            study: studyUID,
            sop: sopUID,
            reason: `all ${RESULT_REVISIONS} UIDs this result can be written under are held by SRs that fail verification; the PACS needs a person's attention`,
          });
          continue;
        }
        if (revision > 0) this.logger.log('warn', 'rewrite', { study: studyUID, sop: sopUID, revision, reason: 'an SR that fails verification occupies the usual UIDs' });
        const outcome = await this.scoring.scorer.score({ studyUID, seriesUID, sopUID }, text, this.scoring.model, tally, revision);
        if (outcome === 'stored') wrote = true;
        else if (outcome === 'retry') complete = false;
      }
    }
    // A study this pass wrote to has a new fingerprint (its new objects); the next poll checks it
    // once more and remembers it then.
    if (complete && !wrote) this.remember(studyUID, fingerprint);
    else delete this.state.data.studies[studyUID];
  }

  private remember(studyUID: string, fingerprint: string): void {
    this.state.data.studies[studyUID] = { fingerprint, modelKey: this.scoring.modelKey, at: this.now().toISOString() };
  }
}
