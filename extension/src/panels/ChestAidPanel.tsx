/**
 * The ChestAid side panel, rendered by our own React inside the host's panel (see island.ts).
 * It shows what ChestAidService announces and asks it to act; its parts keep only what the reader
 * is typing or choosing and the last capture's problem. Each section is one component in parts/,
 * composed here. Only class names the host's stylesheet already defines are used; the rest is
 * inline style. Words and numbers come from format.ts.
 */
import { calibrationName } from '@chestaid/core';
import { useCallback, useSyncExternalStore } from 'react';

import { blockedReason } from '../analysis/ChestAidService';
import { operatingPointOf, staleText, statusText } from './format';
import { notAnalyzedText } from '../i18n/refusal';
import { t } from '../i18n/translate';
import { DownloadProgress } from './parts/DownloadProgress';
import { Feedback } from './parts/Feedback';
import { HeatmapControls } from './parts/HeatmapControls';
import { ImageList } from './parts/ImageList';
import { ModelLines } from './parts/ModelLines';
import { Outbox, StorageLine } from './parts/Outbox';
import { PacsSection } from './parts/PacsSection';
import { PriorComparison } from './parts/PriorComparison';
import { Result } from './parts/Result';
import { StoredResult } from './parts/StoredResult';
import { ThresholdControl } from './parts/ThresholdControl';
import type { ChestAidPanelProps } from './types';

export function ChestAidPanel({ service, onAnalyze, onShowImage, onCapture, onSaveToPacs }: ChestAidPanelProps) {
  const subscribe = useCallback(
    (onChange: () => void) => service.subscribe(service.EVENTS.STATE_CHANGED, onChange).unsubscribe,
    [service],
  );
  const state = useSyncExternalStore(subscribe, service.getState, service.getState);
  const { model, analysis, threshold } = state;
  const blocked = blockedReason(state);
  const running = analysis.status === 'running';
  const canAnalyze = !blocked && model.status === 'ready' && !running;

  return (
    <section className="text-foreground flex flex-col gap-2 p-3 text-sm" data-cy="chestaid-panel" aria-label="ChestAid">
      <p className="font-semibold" data-cy="chestaid-disclaimer">
        {t('panel.disclaimer')}
      </p>
      {model.status === 'ready' && model.info.synthetic && (
        <p className="text-red-600 font-semibold" data-cy="chestaid-synthetic">
          {t('panel.synthetic')}
        </p>
      )}
      {model.status === 'ready' && <ModelLines info={model.info} />}
      {model.status === 'error' && (
        <p className="text-red-500" role="alert" style={{ overflowWrap: 'anywhere' }} data-cy="chestaid-model-error">
          {model.message}
        </p>
      )}
      {blocked && (
        <p className="text-red-600" role="alert" data-cy="chestaid-blocked">
          {blocked}
        </p>
      )}
      <button
        type="button"
        className="bg-primary text-primary-foreground rounded px-3 py-1 font-semibold"
        style={canAnalyze ? undefined : { opacity: 0.5, cursor: 'not-allowed' }}
        disabled={!canAnalyze}
        onClick={onAnalyze}
        aria-label={t('panel.analyzeLabel')}
        data-cy="chestaid-analyze"
      >
        {t('panel.analyze')}
      </button>
      {running && <DownloadProgress runtime={state.runtime} />}
      <p
        role={analysis.status === 'error' ? 'alert' : 'status'}
        aria-live="polite"
        // With a result (or the stale notice) on show the line repeats it: kept for screen readers only.
        className={
          analysis.status === 'error'
            ? 'text-red-500'
            : analysis.status === 'done' || analysis.status === 'stored' || analysis.status === 'stale' || analysis.status === 'not-analyzed'
              ? 'sr-only'
              : undefined
        }
        // Messages carry hashes and URLs: long words that must wrap inside the panel.
        style={{ overflowWrap: 'anywhere' }}
        data-cy="chestaid-status"
      >
        {statusText(state)}
      </p>
      {analysis.status === 'done' && threshold && model.status === 'ready' && (
        <Result
          outcome={analysis.outcome}
          threshold={threshold.value}
          custom={threshold.custom}
          calibration={model.info.calibrationLabel}
          point={operatingPointOf(service.getManifest?.() ?? null, threshold.value)}
        />
      )}
      {analysis.status === 'stored' && threshold && model.status === 'ready' && (
        <StoredResult
          stored={analysis.stored}
          threshold={threshold.value}
          calibration={model.info.calibrationLabel}
          point={operatingPointOf(service.getManifest?.() ?? null, threshold.value)}
        />
      )}
      {analysis.status === 'stale' && (
        <p className="rounded border p-3 text-xs" style={{ color: '#fbbf24' }} role="status" data-cy="chestaid-stale" data-version={calibrationName(analysis.calibrationVersion)} data-identity={analysis.calibrationVersion}>
          {staleText(analysis.calibrationVersion)}
        </p>
      )}
      {analysis.status === 'not-analyzed' && (
        // No score, so neither the green of "below threshold" nor the red of "above": a plain notice.
        <p
          className="rounded border p-3 text-xs font-semibold"
          style={{ overflowWrap: 'anywhere' }}
          data-cy="chestaid-not-analyzed"
          data-code={analysis.refusal.code}
        >
          {notAnalyzedText(analysis.refusal)}
        </p>
      )}
      {state.comparison && <PriorComparison comparison={state.comparison} />}
      {(analysis.status === 'done' || state.archived || state.archive.status !== 'idle') && <PacsSection state={state} onSaveToPacs={onSaveToPacs} />}
      {analysis.status === 'done' && state.feedback.available && service.recordFeedback && (
        <Feedback key={analysis.outcome.key} feedback={state.feedback} record={service.recordFeedback.bind(service)} />
      )}
      {state.outbox && <Outbox outbox={state.outbox} resend={service.resendFeedback?.bind(service)} />}
      {(analysis.status === 'done' || (analysis.status === 'stored' && analysis.stored.shown.map)) && <HeatmapControls settings={state.heatmap} service={service} onCapture={onCapture} />}
      {threshold && (
        <ThresholdControl
          threshold={threshold}
          service={service}
          siteVersion={model.status === 'ready' && model.info.calibration.source === 'site' ? model.info.calibrationVersion : null}
        />
      )}
      {state.images.length > 0 && <ImageList state={state} service={service} onShowImage={onShowImage} canAnalyze={!blocked && model.status === 'ready'} />}
      <StorageLine storage={state.storage} hasPacs={state.outbox !== undefined} />
    </section>
  );
}
