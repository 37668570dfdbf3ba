/**
 * The words and numbers of the study list's risk column and the triage page, as plain functions
 * so they are tested without rendering. Scores are shown as the panel shows them (panels/format).
 */
import { decide, notAnalyzedText, perMinute, type OperatingPoint, type StudyStatus, type TriageGroup } from '@chestaid/core';
import { MESSAGES } from '../messages';
import { scoreAndThreshold, scoreMeaningText } from '../panels/format';
import type { BatchArchiving, BatchState } from './TriageService';

export type RiskTone = 'above' | 'below' | 'muted' | 'stale' | 'failed' | 'unverified' | 'refused';

export interface RiskText {
  /** The cell's text, e.g. "92.3 % (above threshold 75.0 %)", "not analyzed", "stale". */
  readonly label: string;
  /** Why, for a tooltip and the triage page's note; null when the label says it all. */
  readonly detail: string | null;
  readonly tone: RiskTone;
}

export const NOT_ANALYSED = 'not analyzed';
export const STALE = 'stale';

/**
 * A study's risk as the column and the triage page show it; `status` null while it is being read.
 * A score reads as what it is, a calibrated probability against a threshold, and its detail says
 * what the model does at that threshold (`point`: operatingPointAt, null when not measured there).
 */
export function riskText(status: StudyStatus | null, threshold: number | null, point: OperatingPoint | null = null): RiskText {
  if (!status) return { label: '…', detail: 'Reading stored results', tone: 'muted' };
  switch (status.kind) {
    case 'scored': {
      const partial =
        [
          status.failedImages > 0 ? `${status.failedImages} other image${status.failedImages === 1 ? '' : 's'} of the study could not be analyzed` : null,
          status.unverifiedImages
            ? `${status.unverifiedImages} other image${status.unverifiedImages === 1 ? ' has' : 's have'} only an unverified or conflicting result in the PACS`
            : null,
        ]
          .filter(Boolean)
          .join('; ') || null;
      if (threshold === null) return { label: `${(status.probability * 100).toFixed(1)} %`, detail: partial, tone: 'muted' };
      const shown = scoreAndThreshold(status.probability, threshold);
      const { above } = decide(status.probability, threshold);
      return {
        label: MESSAGES.score.withThreshold(shown.score, shown.threshold, above),
        detail: [scoreMeaningText(status.probability, threshold, point), partial && `${partial}.`].filter(Boolean).join(' '),
        tone: above ? 'above' : 'below',
      };
    }
    case 'failed':
      return { label: 'failed', detail: status.reason, tone: 'failed' };
    case 'unverified':
      return { label: status.conflict ? 'conflicting results' : 'unverified result', detail: status.reason, tone: 'unverified' };
    case 'refused':
      // The reason in place of a score: the model card excludes the image, so there is none to rank.
      return { label: notAnalyzedText(status), detail: 'The model card excludes this image: read it without ChestAid', tone: 'refused' };
    case 'stale':
      return {
        label: STALE,
        detail:
          `Scored by another model or calibration (model sha256 ${status.scoredBy.modelSha256.slice(0, 12)}…, ` +
          `calibration version ${status.scoredBy.calibrationVersion}); analyze again to rank it`,
        tone: 'stale',
      };
    case 'unanalyzed':
      return { label: NOT_ANALYSED, detail: null, tone: 'muted' };
    case 'not-applicable':
      return { label: 'no CR/DX image', detail: status.reason, tone: 'muted' };
  }
}

export const GROUP_TITLES: Readonly<Record<TriageGroup, string>> = {
  scored: 'Scored: highest risk first',
  unverified: 'Unverified or conflicting results in the PACS: not ranked; read these without ChestAid',
  failed: 'Could not be analyzed: read these without ChestAid',
  refused: 'Not analyzed: outside the model card, read these without ChestAid',
  stale: 'Stale: scored by another model or calibration',
  unanalyzed: 'Not analyzed yet',
  'not-applicable': 'No CR/DX image: ChestAid does not read these',
};

/** "2026-01-24 12:06" from DICOM DA and TM; what is missing is left out. */
export function studyDateText(date: string | undefined, time: string | undefined): string {
  const day = (date ?? '').replace(/\D/g, '');
  if (day.length !== 8) return '';
  const clock = (time ?? '').split('.')[0].replace(/\D/g, '');
  const dayText = `${day.slice(0, 4)}-${day.slice(4, 6)}-${day.slice(6, 8)}`;
  return clock.length >= 4 ? `${dayText} ${clock.slice(0, 2)}:${clock.slice(2, 4)}` : dayText;
}

/** "12 s", "3 min", for times left and taken. */
export function durationText(ms: number): string {
  if (ms < 1000) return 'under a second';
  const seconds = Math.round(ms / 1000);
  if (seconds < 90) return `${seconds} s`;
  return `${Math.round(seconds / 60)} min`;
}

/** The batch's line under the progress bar. */
export function batchText(batch: BatchState): string {
  switch (batch.status) {
    case 'idle':
      return '';
    case 'nothing-to-do':
      return 'Every CR/DX study of the list already has a current score.';
    case 'running': {
      const { done, total, etaMs } = batch.progress;
      const left = etaMs === null ? 'estimating the time left' : done === total ? 'finishing' : `about ${durationText(etaMs)} left`;
      return `${batch.resumed ? 'Resumed after a reload: ' : ''}${done} of ${total} studies · ${left}`;
    }
    case 'finished': {
      const { analyzed, alreadyScored, failed, elapsedMs } = batch.summary;
      const rate = analyzed > 0 ? ` (${perMinute(analyzed, elapsedMs).toFixed(0)} per minute)` : '';
      return (
        `${analyzed} ${analyzed === 1 ? 'study' : 'studies'} analyzed in ${durationText(elapsedMs)}${rate}` +
        (alreadyScored > 0 ? `; ${alreadyScored} already scored` : '') +
        (failed > 0 ? `; ${failed} could not be analyzed` : '') +
        '.'
      );
    }
    case 'cancelled':
      return `Cancelled after ${batch.summary.done} of ${batch.summary.total} studies; their results are kept.`;
    case 'error':
      return batch.message;
  }
}

/** What "Save results to the PACS" did in the last batch. */
export function archivingText({ saved, alreadySaved, failed, lastProblem }: BatchArchiving): string {
  const parts = [`PACS: ${saved} saved`];
  if (alreadySaved) parts.push(`${alreadySaved} already there`);
  if (failed) parts.push(`${failed} not saved (kept in this browser): ${lastProblem ?? 'no reason given'}`);
  return parts.join(', ');
}
