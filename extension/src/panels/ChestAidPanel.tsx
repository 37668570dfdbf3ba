/**
 * The ChestAid side panel, rendered by our own React inside the host's panel (see island.ts).
 * It shows what ChestAidService announces and asks it to act; the only state it holds is the
 * threshold being typed. Only class names the host's stylesheet already defines are used; the
 * rest is inline style. Words and numbers come from format.ts.
 */
import { useCallback, useId, useState, useSyncExternalStore, type ChangeEvent } from 'react';

import { decide } from '../core';
import {
  blockedReason,
  type AnalysisOutcome,
  type ChestAidState,
  type ModelInfo,
  type RuntimeState,
} from '../services/ChestAidService';
import type { ThresholdState } from '../services/thresholdSetting';
import {
  calibrationText,
  decisionText,
  fallbackText,
  modelText,
  parseThreshold,
  progressText,
  runText,
  scoreAndThreshold,
  statusText,
  thresholdInputText,
} from './format';

export { statusText } from './format';

export interface ChestAidStateSource {
  readonly EVENTS: { readonly STATE_CHANGED: string };
  getState(): ChestAidState;
  subscribe(event: string, listener: () => void): { unsubscribe: () => void };
}

export interface ChestAidPanelService extends ChestAidStateSource {
  setThreshold(value: number): void;
  resetThreshold(): void;
}

export interface ChestAidPanelProps {
  readonly service: ChestAidPanelService;
  readonly onAnalyze: () => void;
}

const ABOVE_COLOUR = '#f87171';
const BELOW_COLOUR = '#4ade80';

function DownloadProgress({ runtime }: { runtime: RuntimeState }) {
  const loading = runtime.status === 'loading';
  const fraction = loading && runtime.total ? Math.min(1, runtime.loaded / runtime.total) : null;
  return (
    <div data-cy="chestaid-progress">
      <div
        role="progressbar"
        aria-label={loading ? 'Model download' : 'Analysis'}
        aria-valuetext={progressText(runtime)}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={fraction === null ? undefined : Math.floor(fraction * 100)}
        className="bg-muted h-2 w-full overflow-hidden rounded"
      >
        <div
          className="bg-primary h-2"
          style={{ width: fraction === null ? '100%' : `${fraction * 100}%`, opacity: fraction === null ? 0.4 : 1 }}
        />
      </div>
    </div>
  );
}

function Result({ outcome, threshold, custom }: { outcome: AnalysisOutcome; threshold: number; custom: boolean }) {
  const { probability } = outcome.analysis;
  const decision = decide(probability, threshold);
  const shown = scoreAndThreshold(probability, threshold);
  const fallback = fallbackText(outcome.run);
  return (
    <section className="flex flex-col gap-1 rounded border p-3" aria-label="ChestAid result" data-cy="chestaid-result">
      <div className="flex items-center justify-between">
        <span>Risk score (calibrated)</span>
        <span className="text-2xl font-bold" data-cy="chestaid-score" data-probability={probability}>
          {shown.score}
        </span>
      </div>
      <div className="flex items-center justify-between text-xs">
        <span>{custom ? 'Threshold (set in this browser)' : 'Clinical threshold'}</span>
        <span data-cy="chestaid-threshold-shown">{shown.threshold}</span>
      </div>
      <p className="font-semibold" style={{ color: decision.above ? ABOVE_COLOUR : BELOW_COLOUR }} data-cy="chestaid-decision">
        {decisionText(decision)}
      </p>
      <p className="text-muted-foreground text-xs" data-cy="chestaid-run" title={`Model run in the worker: ${Math.round(outcome.run.runMs)} ms`}>
        {runText(outcome.run)}
      </p>
      {fallback && (
        <p className="text-muted-foreground text-xs" data-cy="chestaid-fallback">
          {fallback}
        </p>
      )}
    </section>
  );
}

function ThresholdControl({ threshold, service }: { threshold: ThresholdState; service: ChestAidPanelService }) {
  const id = useId();
  // The text being typed, while it differs from the service's value (null: show that value).
  const [draft, setDraft] = useState<string | null>(null);
  const parsed = draft === null ? null : parseThreshold(draft);
  const problem = parsed && 'problem' in parsed ? parsed.problem : null;

  const onSlide = (event: ChangeEvent<HTMLInputElement>) => {
    setDraft(null);
    service.setThreshold(Number(event.target.value));
  };
  const onType = (event: ChangeEvent<HTMLInputElement>) => {
    const text = event.target.value;
    setDraft(text);
    const value = parseThreshold(text);
    if ('value' in value) service.setThreshold(value.value);
  };
  const onReset = () => {
    setDraft(null);
    service.resetThreshold();
  };

  return (
    <fieldset className="flex flex-col gap-1 rounded border p-3" data-cy="chestaid-threshold">
      <legend className="px-2 text-xs font-semibold">Clinical threshold</legend>
      <input
        id={`${id}-slider`}
        type="range"
        min={0}
        max={1}
        step={0.001}
        value={threshold.value}
        onChange={onSlide}
        aria-label="Clinical threshold slider"
        style={{ width: '100%' }}
        data-cy="chestaid-threshold-slider"
      />
      <div className="flex items-center gap-2">
        <label htmlFor={`${id}-value`} className="text-xs">
          Threshold (0 to 1)
        </label>
        <input
          id={`${id}-value`}
          type="number"
          min={0}
          max={1}
          step={0.001}
          value={draft ?? thresholdInputText(threshold.value)}
          onChange={onType}
          onBlur={() => setDraft(null)}
          aria-invalid={problem !== null}
          className="bg-background text-foreground border-input rounded border px-2 py-0.5"
          style={{ width: '6.5rem' }}
          data-cy="chestaid-threshold-input"
        />
        <button
          type="button"
          className="bg-secondary text-secondary-foreground rounded px-2 py-0.5"
          style={threshold.custom ? undefined : { opacity: 0.5, cursor: 'not-allowed' }}
          disabled={!threshold.custom}
          onClick={onReset}
          aria-label="Reset the threshold to the model's clinical threshold"
          data-cy="chestaid-threshold-reset"
        >
          Reset
        </button>
      </div>
      {problem && (
        <p className="text-red-500 text-xs" role="alert" data-cy="chestaid-threshold-problem">
          {problem}
        </p>
      )}
      <p className="text-muted-foreground text-xs" data-cy="chestaid-threshold-note">
        {threshold.custom
          ? `Set in this browser; the model's clinical threshold is ${thresholdInputText(threshold.clinical)}.`
          : "The model's clinical threshold, from its manifest."}
      </p>
    </fieldset>
  );
}

function ModelLines({ info }: { info: ModelInfo }) {
  return (
    <div className="text-muted-foreground flex flex-col text-xs" data-cy="chestaid-model">
      <span>{modelText(info)}</span>
      <span data-cy="chestaid-calibration">{calibrationText(info)}</span>
    </div>
  );
}

export function ChestAidPanel({ service, onAnalyze }: ChestAidPanelProps) {
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
        Decision support, not a diagnosis.
      </p>
      {model.status === 'ready' && model.info.synthetic && (
        <p className="text-red-600 font-semibold" data-cy="chestaid-synthetic">
          Trained on synthetic data: not for clinical use.
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
        aria-label="Analyze the image in the active viewport"
        data-cy="chestaid-analyze"
      >
        Analyze
      </button>
      {running && <DownloadProgress runtime={state.runtime} />}
      <p
        role={analysis.status === 'error' ? 'alert' : 'status'}
        aria-live="polite"
        // With a result on show the line repeats it: kept for screen readers only.
        className={analysis.status === 'error' ? 'text-red-500' : analysis.status === 'done' ? 'sr-only' : undefined}
        // Messages carry hashes and URLs: long words that must wrap inside the panel.
        style={{ overflowWrap: 'anywhere' }}
        data-cy="chestaid-status"
      >
        {statusText(state)}
      </p>
      {analysis.status === 'done' && threshold && <Result outcome={analysis.outcome} threshold={threshold.value} custom={threshold.custom} />}
      {threshold && <ThresholdControl threshold={threshold} service={service} />}
    </section>
  );
}
