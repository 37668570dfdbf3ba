/**
 * The analyses of this session, in memory, keyed by what they are about: resultKey(SOPInstanceUID,
 * model sha256). Per key: the latest outcome (with the calibration version it was computed under),
 * the run under way, why the last run failed, or why the image is not analyzed (a refusal, which
 * is not a failure: the panel says "Not analyzed: <reason>" and never shows a score). Only a result under the active calibration
 * version is current; one under another version is kept and shown as stale, never as current.
 */
import { messageOf, NotAnalyzedError, type Refusal } from '@chestaid/core';
import { SupersededError } from '../inference';
import type { AnalysisOutcome, AnalysisState, ImageRow, ScoredImage, StudyImage } from './types';
import { t } from '../i18n/translate';

/** Results kept for images analyzed earlier in the session (a few hundred bytes each). */
const MAX_RESULTS = 200;

/** The outcome with the calibration version it was computed under (the run's or the store key's). */
export function withCalibration(outcome: AnalysisOutcome, calibrationVersion: string): AnalysisOutcome {
  if (outcome.analysis.calibrationVersion === calibrationVersion) return outcome;
  return { ...outcome, analysis: { ...outcome.analysis, calibrationVersion } };
}

export class SessionResults {
  private readonly outcomes = new Map<string, AnalysisOutcome>();
  private readonly running = new Map<string, Promise<void>>();
  private readonly failures = new Map<string, string>();
  private readonly refusals = new Map<string, Refusal>();

  /**
   * `activeVersion` names the calibration version in use (null: none); `changed` is called
   * whenever a run starts or settles.
   */
  constructor(
    private readonly activeVersion: () => string | null,
    private readonly changed: () => void,
  ) {}

  /** The result under `key` if it was computed under the active calibration version. */
  current(key: string): AnalysisOutcome | null {
    const outcome = this.outcomes.get(key);
    return outcome && outcome.analysis.calibrationVersion === this.activeVersion() ? outcome : null;
  }

  /** Whether any result of `key` is held, current or stale. */
  has(key: string): boolean {
    return this.outcomes.has(key);
  }

  isRunning(key: string): boolean {
    return this.running.has(key);
  }

  /** The runs under way, by result key. */
  get inFlight(): ReadonlyMap<string, Promise<void>> {
    return this.running;
  }

  remember(outcome: AnalysisOutcome): void {
    // A score found in a store for an image the gate now refuses stays hidden: the refusal stands.
    if (this.refusals.has(outcome.key)) return;
    this.outcomes.delete(outcome.key);
    this.outcomes.set(outcome.key, outcome);
    if (this.outcomes.size > MAX_RESULTS) {
      this.outcomes.delete(this.outcomes.keys().next().value as string);
    }
  }

  /**
   * Runs `analyze` for `image`, or joins the run of its key under way, or does nothing when a
   * current result is known. The outcome is stamped with the calibration version it ran under (if
   * the version changes meanwhile it is stale, never current) and handed to `kept` unless it is
   * about other pixels than the image asked for. Resolves when the run has settled.
   */
  run(
    image: ScoredImage,
    analyze: () => Promise<AnalysisOutcome>,
    kept: (outcome: AnalysisOutcome) => void,
    refused: (refusal: Refusal) => void = () => undefined,
  ): Promise<void> {
    const { key } = image;
    const known = this.running.get(key);
    if (known || this.current(key)) {
      this.changed();
      return known ?? Promise.resolve();
    }
    this.failures.delete(key);
    this.refusals.delete(key);
    const run = analyze().then(
      analyzed => {
        const outcome = withCalibration(analyzed, image.manifest.calibration.version);
        this.remember(outcome);
        if (outcome.key !== key) {
          this.failures.set(key, t('panel.otherImage', { key: outcome.key }));
        } else {
          kept(outcome);
        }
      },
      error => {
        // Superseded: a newer request in the same viewport replaced it; nobody waits for it.
        if (error instanceof NotAnalyzedError) {
          // A score of this key from before would contradict the refusal: it goes.
          this.outcomes.delete(key);
          this.refusals.set(key, error.refusal);
          refused(error.refusal);
        } else if (!(error instanceof SupersededError)) this.failures.set(key, messageOf(error));
      },
    );
    const settled = run.finally(() => {
      this.running.delete(key);
      this.changed();
    });
    this.running.set(key, settled);
    this.changed();
    return settled;
  }

  /** Where the analysis of `image` (the active image under the model in use) stands. */
  analysisOf(image: ScoredImage | null): AnalysisState {
    if (!image) return { status: 'idle' };
    const { target, key } = image;
    const outcome = this.outcomes.get(key);
    if (outcome && this.current(key)) return { status: 'done', target, outcome };
    if (this.running.has(key)) return { status: 'running', target };
    if (outcome) return { status: 'stale', target, outcome, calibrationVersion: outcome.analysis.calibrationVersion };
    const refusal = this.refusals.get(key);
    if (refusal) return { status: 'not-analyzed', target, refusal };
    const failure = this.failures.get(key);
    if (failure) return { status: 'error', message: failure };
    return { status: 'idle' };
  }

  /** The image list's row of `image`, whose result key under the model in use is `key` (null: unknown). */
  rowOf(image: StudyImage, key: string | null, active: boolean): ImageRow {
    if (key === null) return { image, status: 'idle', active };
    const outcome = this.outcomes.get(key);
    if (this.running.has(key)) return { image, status: 'running', active };
    if (outcome) return { image, status: this.current(key) ? 'done' : 'stale', outcome, active };
    const refusal = this.refusals.get(key);
    if (refusal) return { image, status: 'not-analyzed', refusal, active };
    const message = this.failures.get(key);
    return message ? { image, status: 'error', message, active } : { image, status: 'idle', active };
  }
}
