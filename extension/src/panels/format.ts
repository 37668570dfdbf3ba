/**
 * The words and numbers the panel shows, as plain functions of the service's state, so they are
 * tested without rendering.
 */
import { ABOVE_LABEL, calibrationName, decide, type Manifest, notAnalyzedText, operatingPointAt, type Decision, type OperatingPoint, type Rate, type SelectableMethod } from '@chestaid/core';
import { MESSAGES } from '../messages';
import { blockedReason } from '../analysis/ChestAidService';
import type { AnalysisOutcome, ArchivedScore, ArchiveState, BatchState, ChestAidState, ImageRow, ModelInfo, RunInfo, RuntimeState } from '../analysis/types';

const MAX_DECIMALS = 3;

function percent(value: number, decimals: number): string {
  return `${(value * 100).toFixed(decimals)} %`;
}

/**
 * The risk score and the threshold as percentages, with one decimal unless more are needed to
 * tell them apart: a score shown equal to the threshold beside "above" would read as a
 * contradiction.
 */
export function scoreAndThreshold(probability: number, threshold: number): { score: string; threshold: string } {
  let decimals = 1;
  while (decimals < MAX_DECIMALS && probability !== threshold && percent(probability, decimals) === percent(threshold, decimals)) {
    decimals++;
  }
  return { score: percent(probability, decimals), threshold: percent(threshold, decimals) };
}

function rateText({ value, low, high }: Rate, level: number | null): string {
  if (low === null || high === null) return percent(value, 1);
  return MESSAGES.score.interval(percent(value, 1), percent(low, 1), percent(high, 1), level === null ? '' : `${Math.round(level * 100)} %`).replace('( CI', '(CI');
}

/** The manifest's measured operating point at `threshold`, or null (no manifest, none measured there). */
export function operatingPointOf(manifest: Manifest | null, threshold: number): OperatingPoint | null {
  return manifest ? operatingPointAt(manifest, threshold) : null;
}

/**
 * What a score and its threshold mean, for the hover of a score: a calibrated probability, the
 * operating point it is read against, and the model's sensitivity and specificity there as the
 * manifest measured them (operatingPointAt), or that it was not measured at this threshold.
 */
export function scoreMeaningText(probability: number, threshold: number, point: OperatingPoint | null): string {
  const shown = scoreAndThreshold(probability, threshold);
  const where = point ? (point.n !== null && point.nPos !== null ? MESSAGES.score.split(point.split, point.n, point.nPos) : point.split) : '';
  return [
    MESSAGES.score.meaning(shown.score, shown.threshold),
    point ? MESSAGES.score.operatingPoint(rateText(point.sensitivity, point.level), rateText(point.specificity, point.level), where) : MESSAGES.score.notEvaluated,
  ].join(' ');
}

/** "Above the clinical threshold: read first" / "Below the clinical threshold". */
export function decisionText(decision: Pick<Decision, 'above'>): string {
  const label = decision.above ? ABOVE_LABEL : 'below the clinical threshold';
  return label.charAt(0).toUpperCase() + label.slice(1);
}

const CALIBRATION_NAMES: Record<Exclude<SelectableMethod, 'none'>, string> = {
  temperature: 'temperature scaling',
  platt: 'Platt scaling',
  isotonic: 'isotonic regression',
};

export function calibrationText(info: Pick<ModelInfo, 'calibrationMethod' | 'calibrationVersion'>): string {
  const version = `(calibration version ${calibrationName(info.calibrationVersion)})`;
  if (info.calibrationMethod === 'none') return `No calibrator: the sigmoid of the logit ${version}`;
  return `Calibrated by ${CALIBRATION_NAMES[info.calibrationMethod] ?? info.calibrationMethod} ${version}`;
}

/** "v1" for a training version, "site-2" for a site version; an identity ("site-2+sha256:...") by its name. */
export function versionName(version: string): string {
  const name = calibrationName(version);
  return /^site-\d+$/.test(name) ? name : `v${name}`;
}

/** What the panel says instead of a score computed under another calibration version. */
export function staleText(calibrationVersion: string): string {
  return `Computed under calibration ${versionName(calibrationVersion)}, which is no longer active; re-analyze for a current score.`;
}

export function modelText(info: Pick<ModelInfo, 'id' | 'version' | 'sha256'>): string {
  return `Model ${info.id} ${info.version} (sha256 ${info.sha256.slice(0, 12)}…)`;
}

function milliseconds(ms: number): string {
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

function backendName(backend: string, threads: number): string {
  if (backend === 'wasm') return `wasm, ${threads} thread${threads === 1 ? '' : 's'}`;
  return backend === 'webgpu' ? 'WebGPU' : backend;
}

/** "wasm, 2 threads · 180 ms": where the model ran and how long the analysis took. */
export function runText(run: Pick<RunInfo, 'backend' | 'threads' | 'totalMs'>): string {
  return `${backendName(run.backend, run.threads)} · ${milliseconds(run.totalMs)}`;
}

/**
 * Why WebGPU was not used, or null when it was. The worker's reason ends with what it fell back
 * to (": using wasm, 2 threads"), which runText already says.
 */
export function fallbackText(run: Pick<RunInfo, 'backend' | 'reason'>): string | null {
  if (run.backend === 'webgpu') return null;
  const why = run.reason.replace(/: using wasm, \d+ threads?.*$/, '').trim();
  return `WebGPU not used: ${why || run.reason}`;
}

function megabytes(bytes: number): string {
  return (bytes / 1_000_000).toFixed(1);
}

/** The model download, e.g. "Downloading the model: 12.3 of 28.2 MB (44 %)". */
export function downloadText(loaded: number, total: number | null): string {
  if (total === null || total <= 0) return `Downloading the model: ${megabytes(loaded)} MB`;
  if (loaded >= total) return `Model downloaded (${megabytes(total)} MB): checking its hash and starting it...`;
  return `Downloading the model: ${megabytes(loaded)} of ${megabytes(total)} MB (${Math.floor((loaded / total) * 100)} %)`;
}

export function progressText(runtime: RuntimeState): string {
  return runtime.status === 'loading' ? downloadText(runtime.loaded, runtime.total) : 'Running the model...';
}

/** Adapters' messages start in lower case to read well after a prefix; alone, they start a sentence. */
export function asSentence(message: string): string {
  return message.charAt(0).toUpperCase() + message.slice(1);
}

/** The line a reader sees for the current analysis (the status area). */
export function statusText(state: ChestAidState): string {
  const { analysis, model, threshold } = state;
  switch (analysis.status) {
    case 'running':
      return progressText(state.runtime);
    case 'done': {
      const { probability } = analysis.outcome.analysis;
      const value = threshold?.value ?? analysis.outcome.analysis.decision.threshold;
      const shown = scoreAndThreshold(probability, value);
      return `Risk score ${shown.score}: ${decisionText(decide(probability, value)).toLowerCase()}.`;
    }
    case 'stale':
      return staleText(analysis.calibrationVersion);
    case 'not-analyzed':
      return `${notAnalyzedText(analysis.refusal)}.`;
    case 'error':
      return asSentence(analysis.message);
    case 'idle':
      if (blockedReason(state)) return 'Analyze is unavailable here.';
      if (model.status === 'error') return 'Analyze is unavailable: the model could not be loaded.';
      if (model.status === 'loading') return 'Loading the model manifest...';
      return 'Press Analyze to score the image in the active viewport.';
  }
}

/** The threshold as typed: a number in [0, 1], or why it is not one. */
export function parseThreshold(text: string): { value: number } | { problem: string } {
  const trimmed = text.trim();
  const value = trimmed === '' ? Number.NaN : Number(trimmed);
  if (!(value >= 0 && value <= 1)) return { problem: `The threshold must be a number from 0 to 1; got "${text}".` };
  return { value };
}

/** How the threshold input shows a value: enough digits to be exact to a thousandth of a percent. */
export function thresholdInputText(value: number): string {
  return String(Number(value.toFixed(5)));
}

/** What the heatmap is, wherever it is shown or exported. */
export const HEATMAP_MEANING = 'Heatmap: model attention, not lesion location.';

/**
 * The caption under an exported image: the score against the threshold in force, the model and
 * its calibration, and what the picture is not.
 */
export function captureCaption(
  outcome: Pick<AnalysisOutcome, 'analysis'>,
  threshold: number,
  info: Pick<ModelInfo, 'id' | 'version' | 'calibrationMethod' | 'calibrationVersion' | 'synthetic'>,
): string[] {
  const { probability } = outcome.analysis;
  const shown = scoreAndThreshold(probability, threshold);
  return [
    `ChestAid risk score ${shown.score} (calibrated), threshold ${shown.threshold}: ${decisionText(decide(probability, threshold)).toLowerCase()}.`,
    `Model ${info.id} ${info.version}, ${calibrationText(info).toLowerCase()}${info.synthetic ? '. Trained on synthetic data: not for clinical use' : ''}.`,
    `${HEATMAP_MEANING} Decision support, not a diagnosis.`,
  ];
}

/** A row of the image list: its score and decision, or where its analysis stands. */
export function imageRowText(row: Pick<ImageRow, 'status' | 'outcome' | 'message' | 'refusal'>, threshold: number): string {
  switch (row.status) {
    case 'done': {
      const { probability } = row.outcome!.analysis;
      const shown = scoreAndThreshold(probability, threshold);
      return `${shown.score}, ${decide(probability, threshold).above ? 'above' : 'below'} threshold`;
    }
    case 'stale':
      return `stale: calibration ${versionName(row.outcome!.analysis.calibrationVersion)}; re-analyze`;
    case 'running':
      return 'analyzing...';
    case 'not-analyzed':
      return notAnalyzedText(row.refusal ?? { reason: 'no reason given' });
    case 'error':
      return `failed: ${row.message ?? 'unknown error'}`;
    case 'idle':
      return 'not analyzed';
  }
}

/** "Analyzed 2 of 5 images" (and how it ended). */
export function batchText(batch: BatchState): string {
  const counted = `${batch.done} of ${batch.total} image${batch.total === 1 ? '' : 's'}`;
  if (batch.running) return batch.cancelled ? `Stopping after the current image (${counted} done)...` : `Analyzing all images: ${counted} done`;
  return batch.cancelled ? `Stopped: ${counted} analyzed.` : `Analyzed ${counted}.`;
}

/**
 * Save to PACS, in words: what the button's last press did, or why it cannot be pressed. The SR's
 * SOP Instance UID is named, so a reader or an administrator can find the object in the PACS.
 */
export function archiveText(archive: ArchiveState): string {
  switch (archive.status) {
    case 'unavailable':
      return archive.reason;
    case 'idle':
      return 'Not saved to the PACS yet: the result is kept in this browser.';
    case 'checking':
      return 'Looking for this result in the PACS…';
    case 'saving':
      return 'Saving to the PACS…';
    case 'saved':
      return (
        `Saved to the PACS as DICOM SR ${archive.srSopInstanceUID}.` +
        (archive.heatmapProblem ? ` The heatmap was not stored: ${archive.heatmapProblem}` : '')
      );
    case 'already-saved':
      return `Already in the PACS (DICOM SR ${archive.srSopInstanceUID}): nothing new was written.`;
    case 'failed':
      if (archive.kind === 'unreachable') {
        return `The PACS cannot be reached; the result is kept in this browser. Try again when it is back. (${archive.message})`;
      }
      if (archive.kind === 'refused') return `The PACS refused the result; it is kept in this browser. ${asSentence(archive.message)}`;
      return `The result could not be saved to the PACS; it is kept in this browser. ${asSentence(archive.message)}`;
  }
}

/** The result another reader (or the triage worker) stored in the PACS. */
export function archivedText(score: ArchivedScore, threshold: number): string {
  // Never a number: an unverified SR's score is what someone wrote, not what the model says.
  if (score.verdict === 'unverified') return `Unverified result in the PACS, not a score: ${score.reason ?? 'it failed verification'}.`;
  if (score.verdict === 'conflict') return `Conflicting results in the PACS, no score shown: ${score.reason ?? 'verified results of this image disagree'}.`;
  const shown = scoreAndThreshold(score.probability, threshold);
  // ISO 8601 to the minute, in UTC as stored: every reader sees the same words.
  const when = /^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(score.observedAt) ? `${score.observedAt.slice(0, 10)} ${score.observedAt.slice(11, 16)} UTC` : score.observedAt;
  return `In the PACS: risk score ${shown.score} (model ${score.modelId} ${score.modelVersion}, ${when})`;
}
