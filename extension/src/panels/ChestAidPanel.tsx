/**
 * The ChestAid side panel, rendered by our own React inside the host's panel (see island.ts).
 * It shows what ChestAidService announces and asks it to act; it holds no state of its own.
 * Only class names the host's stylesheet already defines are used.
 */
import { useCallback, useSyncExternalStore } from 'react';

import { blockedReason, type ChestAidState } from '../services/ChestAidService';

export interface ChestAidStateSource {
  readonly EVENTS: { readonly STATE_CHANGED: string };
  getState(): ChestAidState;
  subscribe(event: string, listener: () => void): { unsubscribe: () => void };
}

export interface ChestAidPanelProps {
  readonly service: ChestAidStateSource;
  readonly onAnalyze: () => void;
}

/** The line a reader sees for the current analysis (the status area). */
export function statusText(state: ChestAidState): string {
  const { analysis, model } = state;
  switch (analysis.status) {
    case 'running':
      return 'Analyzing the image in the active viewport...';
    case 'done': {
      const { probability, decision } = analysis.analysis;
      return `Risk score ${(probability * 100).toFixed(0)} %: ${decision.label}.`;
    }
    case 'error':
      return analysis.message;
    case 'idle':
      if (blockedReason(state)) return 'Analyze is unavailable here.';
      if (model.status === 'error') return model.message;
      if (model.status === 'loading') return 'Loading the model manifest...';
      return 'Press Analyze to score the image in the active viewport.';
  }
}

export function ChestAidPanel({ service, onAnalyze }: ChestAidPanelProps) {
  const subscribe = useCallback(
    (onChange: () => void) => service.subscribe(service.EVENTS.STATE_CHANGED, onChange).unsubscribe,
    [service],
  );
  const state = useSyncExternalStore(subscribe, service.getState);
  const { model, analysis } = state;
  const blocked = blockedReason(state);
  const canAnalyze = !blocked && model.status === 'ready' && analysis.status !== 'running';

  return (
    <section className="text-foreground flex flex-col gap-2 p-3 text-sm" data-cy="chestaid-panel" aria-label="ChestAid">
      <p className="font-semibold" data-cy="chestaid-disclaimer">
        Decision support, not a diagnosis.
      </p>
      {model.status === 'ready' && model.info.synthetic && (
        <p className="text-red-600 font-semibold" data-cy="chestaid-synthetic">
          Trained on synthetic data: not for clinical use.
        </p>
      )}
      {model.status === 'ready' && (
        <p className="text-muted-foreground text-xs" data-cy="chestaid-model">
          Model {model.info.id} {model.info.version}
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
        data-cy="chestaid-analyze"
      >
        Analyze
      </button>
      <p role="status" aria-live="polite" data-cy="chestaid-status">
        {statusText(state)}
      </p>
    </section>
  );
}
