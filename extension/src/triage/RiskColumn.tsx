/**
 * The study list's "Pneumonia risk" column: its header (with the way to the triage page) and one
 * cell per row, rendered by our own React inside OHIF's WorkList (propsIsland.ts). The WorkList
 * computes its columns once, so the cells subscribe to the services themselves: a score that
 * arrives (from the batch or the panel) shows without the list being re-read.
 */
import { useCallback, useEffect, useSyncExternalStore } from 'react';

import type { ChestAidStateSource } from '../panels/types';
import { calibrationName } from '@chestaid/core';
import { operatingPointOf, versionName } from '../panels/format';
import { riskText, type RiskTone } from './format';
import { statusIn, type TriageState } from './TriageService';
import { t } from '../i18n/translate';

export interface TriageStateSource {
  readonly EVENTS: { readonly STATE_CHANGED: string };
  getState(): TriageState;
  subscribe(event: string, listener: () => void): { unsubscribe: () => void };
  watch(studyUIDs: readonly string[]): void;
}

export const TONE_COLOURS: Readonly<Record<RiskTone, string>> = {
  above: '#f87171',
  below: '#4ade80',
  stale: '#fbbf24',
  failed: '#fb923c',
  unverified: '#e879f9',
  // Neither the green of a low score nor the red of a high one: there is no score.
  refused: '#e5e7eb',
  muted: '#9ca3af',
};

export function useServiceState<S>(source: { EVENTS: { STATE_CHANGED: string }; getState(): S; subscribe(e: string, l: () => void): { unsubscribe: () => void } }): S {
  const subscribe = useCallback((onChange: () => void) => source.subscribe(source.EVENTS.STATE_CHANGED, onChange).unsubscribe, [source]);
  const getState = useCallback(() => source.getState(), [source]);
  return useSyncExternalStore(subscribe, getState, getState);
}

export interface RiskCellProps {
  readonly triage: TriageStateSource;
  readonly chestAid: ChestAidStateSource;
  readonly studyInstanceUID: string;
  readonly modalities: string | undefined;
}

export function RiskCell({ triage, chestAid, studyInstanceUID, modalities }: RiskCellProps) {
  const state = useServiceState(triage);
  const { threshold } = useServiceState(chestAid);
  useEffect(() => triage.watch([studyInstanceUID]), [triage, studyInstanceUID]);
  const status = statusIn(state, studyInstanceUID, modalities);
  const text = riskText(status, threshold?.value ?? null, threshold ? operatingPointOf(chestAid.getManifest?.() ?? null, threshold.value) : null);
  const version = state.model.status === 'ready' ? state.model.identity.calibrationVersion : null;
  return (
    <>
      <span
        className="truncate"
        style={{ color: TONE_COLOURS[text.tone], fontWeight: text.tone === 'above' ? 600 : undefined }}
        title={text.detail ?? undefined}
        data-cy="chestaid-risk"
        data-study-uid={studyInstanceUID}
        data-status={status?.kind ?? 'reading'}
        data-probability={status?.kind === 'scored' ? status.probability : undefined}
      >
        {text.label}
      </span>
      {/* Beside the score, not inside it: the score's own text stays what the list has always read. */}
      {status?.kind === 'scored' && version !== null && (
        <span
          className="text-muted-foreground"
          style={{ fontSize: '0.7rem' }}
          title={t('risk.scoredUnder', { version: versionName(version) })}
          data-cy="chestaid-risk-calibration"
          data-version={calibrationName(version)}
          data-identity={version}
        >
          {' '}
          ({versionName(version)})
        </span>
      )}
    </>
  );
}

export function RiskHeader({ onOpenTriage }: { readonly onOpenTriage: () => void }) {
  return (
    <span className="flex items-center gap-2" data-cy="chestaid-risk-header">
      <span>{t('column.risk')}</span>
      <button
        type="button"
        className="text-primary"
        style={{ textDecoration: 'underline', fontSize: '0.75rem' }}
        onClick={event => {
          // The header row must not take the click as its own.
          event.stopPropagation();
          onOpenTriage();
        }}
        title={t('risk.openTriageTitle')}
        data-cy="chestaid-open-triage"
      >
        {t('risk.openTriage')}
      </button>
    </span>
  );
}
