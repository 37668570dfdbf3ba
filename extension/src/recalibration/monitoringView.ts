/**
 * What the monitoring page shows, from the recorded feedback: every image's outcome at the active
 * threshold over time, running sensitivity and specificity, and the drift of the score
 * distribution against the reference the manifest stored at training time.
 *
 * Two choices, both so that numbers of different calibrations are never mixed:
 *  - errors at the active threshold use each image's logit re-scored under the ACTIVE
 *    calibration, not the score shown when the feedback was recorded (which may be an older
 *    version's); the score then shown is kept in the export beside it;
 *  - drift compares scores under the manifest's TRAINING calibration with its reference
 *    histogram, which was made that way: a site recalibration must not read as drift.
 * Feedback about results of another model (another sha256) is left out and counted. The CSV
 * export is also a scores CSV the recalibration CLI reads (cohortCsv.ts).
 */
import {
  type BucketSize,
  calibrate,
  currentLabels,
  type FeedbackEntry,
  type FeedbackRow,
  type Manifest,
  monitoringSummary,
  type MonitoringSummary,
  populationStabilityIndex,
  type PsiResult,
  toCsv,
} from '@chestaid/core';

/**
 * Fewest images for a drift warning. PSI on a handful of images swings past any level by chance
 * (four images put whole quarters of the mass in single bins); 30 is a chosen floor, not a
 * derived one. The index itself is always shown.
 */
export const MIN_DRIFT_IMAGES = 30;

export interface MonitoringInput {
  readonly entries: readonly FeedbackEntry[];
  /** The manifest with the active calibration applied. */
  readonly active: Manifest;
  /** The manifest as training wrote it (its calibration made the reference distribution). */
  readonly base: Manifest;
  readonly modelSha256: string;
  readonly bucket: BucketSize;
}

export interface MonitoredFeedback {
  readonly at: string;
  readonly studyInstanceUID: string;
  readonly seriesInstanceUID: string;
  readonly sopInstanceUID: string;
  readonly reader: string;
  readonly label: FeedbackEntry['label'];
  readonly logit: number;
  readonly modelSha256: string;
  readonly scoreShown: number;
  readonly calibrationVersionShown: string;
  readonly scoreActive: number;
  readonly outcome: 'TP' | 'FP' | 'TN' | 'FN' | 'unsure';
}

export interface MonitoringView {
  readonly rows: readonly MonitoredFeedback[];
  readonly summary: MonitoringSummary;
  /** Null when the manifest has no reference distribution or there are no scores yet. */
  readonly drift: (PsiResult & { readonly warn: boolean; readonly observedFractions: readonly number[]; readonly referenceFractions: readonly number[]; readonly edges: readonly number[] }) | null;
  /** Why no drift is shown, as a catalogue key (the page words it). */
  readonly driftProblem: 'monitoring.noReference' | 'monitoring.noScores' | null;
  readonly otherModel: number;
  readonly threshold: number;
  readonly activeVersion: string;
}

function outcome(label: FeedbackEntry['label'], flagged: boolean): MonitoredFeedback['outcome'] {
  if (label === 'unsure') return 'unsure';
  if (label === 'pneumonia') return flagged ? 'TP' : 'FN';
  return flagged ? 'FP' : 'TN';
}

export function monitoringView({ entries, active, base, modelSha256, bucket }: MonitoringInput): MonitoringView {
  const sha = modelSha256.toLowerCase();
  const current = currentLabels(entries);
  const mine = current.filter(e => e.modelSha256.toLowerCase() === sha);
  const threshold = active.thresholds.clinical.value;
  const rows = mine
    .map(e => {
      const scoreActive = calibrate(e.logit, active.calibration);
      return {
        at: e.at,
        studyInstanceUID: e.studyInstanceUID,
        seriesInstanceUID: e.seriesInstanceUID,
        sopInstanceUID: e.sopInstanceUID,
        reader: e.reader,
        label: e.label,
        logit: e.logit,
        modelSha256: e.modelSha256.toLowerCase(),
        scoreShown: e.score,
        calibrationVersionShown: e.calibrationVersion,
        scoreActive,
        outcome: outcome(e.label, scoreActive >= threshold),
      };
    })
    .sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  const feedbackRows: FeedbackRow[] = rows.map(r => ({ time: r.at, probability: r.scoreActive, label: r.label === 'unsure' ? 'unsure' : r.label === 'pneumonia' ? 1 : 0 }));
  const summary = monitoringSummary(feedbackRows, threshold, { bucket });

  let drift: MonitoringView['drift'] = null;
  let driftProblem: MonitoringView['driftProblem'] = null;
  const reference = base.reference_distribution;
  // One score per image, whatever the number of readers who labelled it.
  const logits = new Map(rows.map(r => [r.sopInstanceUID, r.logit]));
  if (!reference) driftProblem = 'monitoring.noReference';
  else if (logits.size === 0) driftProblem = 'monitoring.noScores';
  else {
    const scores = [...logits.values()].map(z => calibrate(z, base.calibration));
    const psi = populationStabilityIndex(scores, reference);
    drift = {
      ...psi,
      warn: psi.warning && psi.n >= MIN_DRIFT_IMAGES,
      edges: reference.bin_edges,
      observedFractions: psi.bins.map(b => b.observed),
      referenceFractions: psi.bins.map(b => b.reference),
    };
  }
  return { rows, summary, drift, driftProblem, otherModel: current.length - mine.length, threshold, activeVersion: active.calibration.version };
}

/** The rows as the CSV download: one line per reader's current label, with both scores. */
export function monitoringCsv(view: MonitoringView): string {
  return toCsv(
    view.rows.map(r => ({
      recorded_at: r.at,
      study_instance_uid: r.studyInstanceUID,
      series_instance_uid: r.seriesInstanceUID,
      sop_instance_uid: r.sopInstanceUID,
      reader: r.reader,
      ground_truth: r.label,
      logit: r.logit,
      model_sha256: r.modelSha256,
      score_shown: r.scoreShown,
      calibration_version_shown: r.calibrationVersionShown,
      score_active: r.scoreActive,
      active_calibration_version: view.activeVersion,
      active_threshold: view.threshold,
      outcome: r.outcome,
    })),
    [
      'recorded_at',
      'study_instance_uid',
      'series_instance_uid',
      'sop_instance_uid',
      'reader',
      'ground_truth',
      'logit',
      'model_sha256',
      'score_shown',
      'calibration_version_shown',
      'score_active',
      'active_calibration_version',
      'active_threshold',
      'outcome',
    ],
  );
}
