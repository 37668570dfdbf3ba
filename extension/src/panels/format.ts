/**
 * The words and numbers the panel shows, as plain functions of the service's state, so they are
 * tested without rendering. Words from the catalogue (i18n/), numbers through Intl in the
 * reader's locale.
 */
import { calibrationName, decide, operatingPointAt, type Decision, type Manifest, type OperatingPoint, type Rate, type SelectableMethod } from '@chestaid/core';
import { blockedReason } from '../analysis/ChestAidService';
import type { AnalysisOutcome, ArchivedScore, PriorComparison, ArchiveState, BatchState, ChestAidState, ImageRow, ModelInfo, RunInfo, RuntimeState } from '../analysis/types';
import { versionName } from '../i18n/calibration';
import { decimal, integer, percent, signedDecimal, utcDateTime, wallClock } from '../i18n/format';
import { notAnalyzedText } from '../i18n/refusal';
import { t, tCount } from '../i18n/translate';

const MAX_DECIMALS = 3;

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

/** A measured rate with its interval where the manifest gives one: "91.2% (95% CI 88.0%–94.1%)". */
function rateText({ value, low, high }: Rate, level: number | null): string {
  if (low === null || high === null) return percent(value, 1);
  const shown = { value: percent(value, 1), low: percent(low, 1), high: percent(high, 1) };
  return level === null ? t('score.intervalNoLevel', shown) : t('score.interval', { ...shown, level: percent(level, 0) });
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
  const where = point ? (point.n !== null && point.nPos !== null ? tCount('score.split', point.n, { split: point.split, nPos: integer(point.nPos) }) : point.split) : '';
  return [
    t('score.meaning', { score: shown.score, threshold: shown.threshold }),
    point
      ? t('score.operatingPoint', { sensitivity: rateText(point.sensitivity, point.level), specificity: rateText(point.specificity, point.level), where })
      : t('score.notEvaluated'),
  ].join(' ');
}

/** "Above the clinical threshold: read first" / "Below the clinical threshold". */
export function decisionText(decision: Pick<Decision, 'above'>): string {
  return t(decision.above ? 'decision.above' : 'decision.below');
}

/** The same inside a sentence: "above the clinical threshold: read first". */
function decisionPhrase(decision: Pick<Decision, 'above'>): string {
  return t(decision.above ? 'decision.aboveInline' : 'decision.belowInline');
}

const CALIBRATION_KEYS = {
  temperature: 'calibration.method.temperature',
  platt: 'calibration.method.platt',
  isotonic: 'calibration.method.isotonic',
} as const satisfies Record<Exclude<SelectableMethod, 'none'>, string>;

export function calibrationText(info: Pick<ModelInfo, 'calibrationMethod' | 'calibrationVersion'>): string {
  const version = calibrationName(info.calibrationVersion);
  if (info.calibrationMethod === 'none') return t('calibration.none', { version });
  const key = CALIBRATION_KEYS[info.calibrationMethod];
  return t('calibration.by', { method: key ? t(key) : info.calibrationMethod, version });
}

/** The same inside a sentence ("calibrated by isotonic regression (calibration version 1)"). */
function calibrationPhrase(info: Pick<ModelInfo, 'calibrationMethod' | 'calibrationVersion'>): string {
  const version = calibrationName(info.calibrationVersion);
  if (info.calibrationMethod === 'none') return t('calibration.noneInline', { version });
  const key = CALIBRATION_KEYS[info.calibrationMethod];
  return t('calibration.byInline', { method: key ? t(key) : info.calibrationMethod, version });
}

export { calibrationLabelText, versionName } from '../i18n/calibration';

/** What the panel says instead of a score computed under another calibration version. */
export function staleText(calibrationVersion: string): string {
  return t('panel.stale', { version: versionName(calibrationVersion) });
}

export function modelText(info: Pick<ModelInfo, 'id' | 'version' | 'sha256'>): string {
  return t('panel.model', { id: info.id, version: info.version, sha: info.sha256.slice(0, 12) });
}

function milliseconds(ms: number): string {
  return ms >= 10_000 ? t('unit.seconds', { value: decimal(ms / 1000, 1) }) : t('unit.milliseconds', { value: integer(ms) });
}

function backendName(backend: string, threads: number): string {
  if (backend === 'wasm') return tCount('run.wasm', threads);
  return backend === 'webgpu' ? 'WebGPU' : backend;
}

/** "wasm, 2 threads · 180 ms": where the model ran and how long the analysis took. */
export function runText(run: Pick<RunInfo, 'backend' | 'threads' | 'totalMs'>): string {
  return `${backendName(run.backend, run.threads)} · ${milliseconds(run.totalMs)}`;
}

/**
 * Why WebGPU was not used, or null when it was. The worker's reason ends with what it fell back
 * to (": using wasm, 2 threads"), and TensorFlow.js's names its thread count ("SIMD, 2 threads"),
 * which runText already says in the reader's language: both are left out. The rest is the
 * engines' and the browser's own diagnostic, shown as it came.
 */
export function fallbackText(run: Pick<RunInfo, 'backend' | 'reason'>): string | null {
  if (run.backend === 'webgpu') return null;
  const why = run.reason
    .replace(/: using wasm, \d+ threads?.*$/, '')
    .replace(/,? \d+ threads?\b/g, '')
    .trim();
  return t('run.noWebGpu', { why: why || run.reason });
}

function megabytes(bytes: number): string {
  return decimal(bytes / 1_000_000, 1);
}

/** The model download, e.g. "Downloading the model: 12.3 of 28.2 MB (44%)". */
export function downloadText(loaded: number, total: number | null): string {
  if (total === null || total <= 0) return t('download.unknownTotal', { loaded: megabytes(loaded) });
  if (loaded >= total) return t('download.checking', { total: megabytes(total) });
  return t('download.progress', { loaded: megabytes(loaded), total: megabytes(total), percent: percent(Math.floor((loaded / total) * 100) / 100, 0) });
}

export function progressText(runtime: RuntimeState): string {
  return runtime.status === 'loading' ? downloadText(runtime.loaded, runtime.total) : t('panel.running');
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
      return t('panel.statusScore', { score: shown.score, decision: decisionPhrase(decide(probability, value)) });
    }
    case 'stored': {
      const { probability } = analysis.stored;
      if (!threshold) return storedMark(analysis.stored);
      const shown = scoreAndThreshold(probability, threshold.value);
      return t('stored.status', { score: shown.score, decision: decisionPhrase(decide(probability, threshold.value)) });
    }
    case 'stale':
      return staleText(analysis.calibrationVersion);
    case 'not-analyzed':
      return `${notAnalyzedText(analysis.refusal)}.`;
    case 'error':
      return asSentence(analysis.message);
    case 'idle':
      if (blockedReason(state)) return t('panel.unavailableHere');
      if (model.status === 'error') return t('panel.unavailableModel');
      if (model.status === 'loading') return t('panel.loadingManifest');
      return t('panel.pressAnalyze');
  }
}

/** The threshold as typed: a number in [0, 1], or why it is not one. */
export function parseThreshold(text: string): { value: number } | { problem: string } {
  const trimmed = text.trim();
  const value = trimmed === '' ? Number.NaN : Number(trimmed);
  if (!(value >= 0 && value <= 1)) return { problem: t('threshold.problem', { text }) };
  return { value };
}

/** How the threshold input shows a value: enough digits to be exact to a thousandth of a percent. */
export function thresholdInputText(value: number): string {
  return String(Number(value.toFixed(5)));
}

/** What the heatmap is, wherever it is shown or exported. */
export function heatmapMeaning(): string {
  return t('heatmap.meaning');
}

/**
 * The caption under an exported image: the score against the threshold in force, the model and
 * its calibration, and what the picture is not.
 */
export function captureCaption(
  outcome: { readonly analysis: Pick<AnalysisOutcome['analysis'], 'probability'> },
  threshold: number,
  info: Pick<ModelInfo, 'id' | 'version' | 'calibrationMethod' | 'calibrationVersion' | 'synthetic'>,
): string[] {
  const { probability } = outcome.analysis;
  const shown = scoreAndThreshold(probability, threshold);
  return [
    t('caption.score', { score: shown.score, threshold: shown.threshold, decision: decisionPhrase(decide(probability, threshold)) }),
    t(info.synthetic ? 'caption.modelSynthetic' : 'caption.model', { id: info.id, version: info.version, calibration: calibrationPhrase(info) }),
    `${heatmapMeaning()} ${t('panel.disclaimer')}`,
  ];
}

/** A row of the image list: its score and decision, or where its analysis stands. */
export function imageRowText(row: Pick<ImageRow, 'status' | 'outcome' | 'message' | 'refusal'>, threshold: number): string {
  switch (row.status) {
    case 'done': {
      const { probability } = row.outcome!.analysis;
      const shown = scoreAndThreshold(probability, threshold);
      return t(decide(probability, threshold).above ? 'row.above' : 'row.below', { score: shown.score });
    }
    case 'stale':
      return t('row.stale', { version: versionName(row.outcome!.analysis.calibrationVersion) });
    case 'running':
      return t('row.running');
    case 'not-analyzed':
      return notAnalyzedText(row.refusal ?? { reason: t('common.noReason') });
    case 'error':
      return t('row.failed', { message: row.message ?? t('common.unknownError') });
    case 'idle':
      return t('row.idle');
  }
}

/** "Analyzed 2 of 5 images" (and how it ended). */
export function batchText(batch: BatchState): string {
  const counted = tCount('batch.images', batch.total, { done: integer(batch.done) });
  if (batch.running) return t(batch.cancelled ? 'batch.stopping' : 'batch.running', { counted });
  return t(batch.cancelled ? 'batch.stopped' : 'batch.finished', { counted });
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
      return t('pacs.idle');
    case 'checking':
      return t('pacs.checking');
    case 'saving':
      return t('pacs.saving');
    case 'saved':
      return (
        t('pacs.saved', { uid: archive.srSopInstanceUID }) + (archive.heatmapProblem ? ` ${t('pacs.heatmapNotStored', { problem: archive.heatmapProblem })}` : '')
      );
    case 'already-saved':
      return t('pacs.alreadySaved', { uid: archive.srSopInstanceUID });
    case 'failed':
      if (archive.kind === 'unreachable') return t('pacs.unreachable', { message: archive.message });
      if (archive.kind === 'refused') return t('pacs.refused', { message: asSentence(archive.message) });
      return t('pacs.failed', { message: asSentence(archive.message) });
  }
}

/** "Stored result, 26/11/2026, 11:24 UTC, model 0.3.0": what marks a score read back from the PACS. */
export function storedMark(score: Pick<ArchivedScore, 'observedAt' | 'modelVersion'>): string {
  return t('stored.mark', { date: utcDateTime(score.observedAt), version: score.modelVersion });
}

/** The result another reader (or the triage worker) stored in the PACS. */
export function archivedText(score: ArchivedScore, threshold: number): string {
  // Never a number: an unverified SR's score is what someone wrote, not what the model says.
  if (score.verdict === 'unverified') return t('archived.unverified', { reason: score.reason ?? t('archived.unverifiedDefault') });
  if (score.verdict === 'conflict') return t('archived.conflict', { reason: score.reason ?? t('archived.conflictDefault') });
  if (score.shown?.status === 'refused') return t('archived.notShown', { reason: score.shown.reason });
  const shown = scoreAndThreshold(score.probability, threshold);
  // In UTC as stored: every reader sees the same moment.
  return t('archived.score', { score: shown.score, id: score.modelId, version: score.modelVersion, when: utcDateTime(score.observedAt) });
}

/** A DICOM date (DA, YYYYMMDD) through Intl, or as written when it is not one. */
export function studyDateText(da: string | undefined): string {
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(da ?? '');
  return m ? wallClock(Number(m[1]), Number(m[2]), Number(m[3]), null) : (da ?? '?');
}

/**
 * The current study beside its prior, in words: the change in score (current minus prior, in
 * percentage points) with both scores, or which one still needs Analyze; and a note when the two
 * come from different model or calibration versions.
 */
export function comparisonText(comparison: PriorComparison): { line: string; note: string | null } {
  const { current, prior, change } = comparison;
  if (!current.score) return { line: t('prior.currentMissing', { date: studyDateText(current.image.studyDate) }), note: null };
  if (!prior.score || !change) return { line: t('prior.priorMissing', { date: studyDateText(prior.image.studyDate) }), note: null };
  const line = t('prior.change', {
    date: studyDateText(prior.image.studyDate),
    change: t('prior.points', { value: signedDecimal(change.change * 100, 1) }),
    prior: percent(prior.score.probability, 1),
    current: percent(current.score.probability, 1),
  });
  const what = change.differences.length === 2 ? 'prior.modelAndCalibration' : change.differences[0] === 'model' ? 'prior.model' : 'prior.calibration';
  return { line, note: change.differences.length > 0 ? t('prior.differs', { what: t(what) }) : null };
}
