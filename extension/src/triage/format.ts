/**
 * The words and numbers of the study list's risk column and the triage page, as plain functions
 * so they are tested without rendering. Scores are shown as the panel shows them (panels/format).
 */
import { decide, perMinute, type OperatingPoint, type StudyStatus, type TriageGroup } from '@chestaid/core';
import { integer, percent, wallClock } from '../i18n/format';
import { notAnalyzedText } from '../i18n/refusal';
import { t, tCount, type Params } from '../i18n/translate';
import type { Key } from '../i18n/en';
import { scoreAndThreshold, scoreMeaningText } from '../panels/format';
import type { BatchArchiving, BatchState } from './TriageService';

export type RiskTone = 'above' | 'below' | 'muted' | 'stale' | 'failed' | 'unverified' | 'refused';

export interface RiskText {
  /** The cell's text, e.g. "92.3% (above threshold 75.0%)", "not analyzed", "stale" (in English). */
  readonly label: string;
  /** Why, for a tooltip and the triage page's note; null when the label says it all. */
  readonly detail: string | null;
  readonly tone: RiskTone;
}

/**
 * A study's risk as the column and the triage page show it; `status` null while it is being read.
 * A score reads as what it is, a calibrated probability against a threshold, and its detail says
 * what the model does at that threshold (`point`: operatingPointAt, null when not measured there).
 */
export function riskText(status: StudyStatus | null, threshold: number | null, point: OperatingPoint | null = null): RiskText {
  if (!status) return { label: '…', detail: t('risk.reading'), tone: 'muted' };
  switch (status.kind) {
    case 'scored': {
      const partial =
        [
          status.failedImages > 0 ? tCount('risk.partialFailed', status.failedImages) : null,
          status.unverifiedImages ? tCount('risk.partialUnverified', status.unverifiedImages) : null,
        ]
          .filter(Boolean)
          .join('; ') || null;
      if (threshold === null) return { label: percent(status.probability, 1), detail: partial, tone: 'muted' };
      const shown = scoreAndThreshold(status.probability, threshold);
      const { above } = decide(status.probability, threshold);
      return {
        label: t(above ? 'risk.above' : 'risk.below', { score: shown.score, threshold: shown.threshold }),
        detail: [scoreMeaningText(status.probability, threshold, point), partial && `${partial}.`].filter(Boolean).join(' '),
        tone: above ? 'above' : 'below',
      };
    }
    case 'failed':
      return { label: t('risk.failed'), detail: status.reason, tone: 'failed' };
    case 'unverified':
      return { label: t(status.conflict ? 'risk.conflict' : 'risk.unverified'), detail: status.reason, tone: 'unverified' };
    case 'refused':
      // The reason in place of a score: the model card excludes the image, so there is none to rank.
      return { label: notAnalyzedText(status), detail: t('risk.refusedDetail'), tone: 'refused' };
    case 'stale':
      return {
        label: t('risk.stale'),
        detail: t('risk.staleDetail', { sha: status.scoredBy.modelSha256.slice(0, 12), version: status.scoredBy.calibrationVersion }),
        tone: 'stale',
      };
    case 'unanalyzed':
      return { label: t('risk.unanalyzed'), detail: null, tone: 'muted' };
    case 'not-applicable':
      return { label: t('risk.notApplicable'), detail: status.reason, tone: 'muted' };
  }
}

const GROUP_KEYS = {
  scored: 'group.scored',
  unverified: 'group.unverified',
  failed: 'group.failed',
  refused: 'group.refused',
  stale: 'group.stale',
  unanalyzed: 'group.unanalyzed',
  'not-applicable': 'group.notApplicable',
} as const satisfies Readonly<Record<TriageGroup, Key>>;

/** The heading of a group of the triage page. */
export function groupTitle(group: TriageGroup): string {
  return t(GROUP_KEYS[group]);
}

/** The study's date and time from DICOM DA and TM, in the reader's locale; what is missing is left out. */
export function studyDateText(date: string | undefined, time: string | undefined): string {
  const day = (date ?? '').replace(/\D/g, '');
  if (day.length !== 8) return '';
  const clock = (time ?? '').split('.')[0].replace(/\D/g, '');
  const [year, month, dayOfMonth] = [Number(day.slice(0, 4)), Number(day.slice(4, 6)), Number(day.slice(6, 8))];
  return wallClock(year, month, dayOfMonth, clock.length >= 4 ? { hour: Number(clock.slice(0, 2)), minute: Number(clock.slice(2, 4)) } : null);
}

/** "12 s", "3 min", for times left and taken. */
export function durationText(ms: number): string {
  if (ms < 1000) return t('duration.underSecond');
  const seconds = Math.round(ms / 1000);
  if (seconds < 90) return t('unit.seconds', { value: integer(seconds) });
  return t('unit.minutes', { value: integer(Math.round(seconds / 60)) });
}

/** The batch's line under the progress bar. */
export function batchText(batch: BatchState): string {
  switch (batch.status) {
    case 'idle':
      return '';
    case 'nothing-to-do':
      return t('triageBatch.nothing');
    case 'running': {
      const { done, total, etaMs } = batch.progress;
      const left = etaMs === null ? t('triageBatch.estimating') : done === total ? t('triageBatch.finishing') : t('triageBatch.left', { duration: durationText(etaMs) });
      const params: Params = { done: integer(done), total: integer(total), left };
      return t(batch.resumed ? 'triageBatch.resumed' : 'triageBatch.running', params);
    }
    case 'finished': {
      const { analyzed, alreadyScored, failed, elapsedMs } = batch.summary;
      const parts = [tCount('triageBatch.analyzed', analyzed, { duration: durationText(elapsedMs) })];
      if (analyzed > 0) parts[0] += ` ${t('triageBatch.rate', { rate: integer(perMinute(analyzed, elapsedMs)) })}`;
      if (alreadyScored > 0) parts.push(t('triageBatch.alreadyScored', { count: integer(alreadyScored) }));
      if (failed > 0) parts.push(t('triageBatch.failed', { count: integer(failed) }));
      return `${parts.join('; ')}.`;
    }
    case 'cancelled':
      return t('triageBatch.cancelled', { done: integer(batch.summary.done), total: integer(batch.summary.total) });
    case 'error':
      return batch.message;
  }
}

/** What "Save results to the PACS" did in the last batch. */
export function archivingText({ saved, alreadySaved, failed, lastProblem }: BatchArchiving): string {
  const parts = [t('archiving.saved', { count: integer(saved) })];
  if (alreadySaved) parts.push(t('archiving.already', { count: integer(alreadySaved) }));
  if (failed) parts.push(t('archiving.failed', { count: integer(failed), problem: lastProblem ?? t('common.noReason') }));
  return parts.join(', ');
}
