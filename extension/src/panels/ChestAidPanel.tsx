/**
 * The ChestAid side panel, rendered by our own React inside the host's panel (see island.ts).
 * It shows what ChestAidService announces and asks it to act; the only state it holds is the
 * threshold being typed. Only class names the host's stylesheet already defines are used; the
 * rest is inline style. Words and numbers come from format.ts.
 */
import { useCallback, useId, useState, useSyncExternalStore, type ChangeEvent } from 'react';

import { cssGradient, decide, GROUND_TRUTHS, type GroundTruth, INFERNO } from '@chestaid/core';
import { blockedReason } from '../analysis/ChestAidService';
import type { AnalysisOutcome, ChestAidState, FeedbackState, HeatmapSettings, ImageRow, ModelInfo, RuntimeState, StudyImage } from '../analysis/types';
import type { ThresholdState } from '../analysis/thresholdSetting';
import {
  HEATMAP_MEANING,
  archiveText,
  archivedText,
  batchText,
  calibrationText,
  imageRowText,
  decisionText,
  fallbackText,
  modelText,
  parseThreshold,
  progressText,
  runText,
  scoreAndThreshold,
  staleText,
  statusText,
  versionName,
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
  setHeatmap(patch: Partial<HeatmapSettings>): void;
  analyzeAll(): Promise<void>;
  cancelAnalyzeAll(): void;
  /** Records the reader's ground truth for the result on screen (absent: no feedback offered). */
  recordFeedback?(label: GroundTruth, comment?: string): Promise<void>;
}

export interface ChestAidPanelProps {
  readonly service: ChestAidPanelService;
  readonly onAnalyze: () => void;
  /** Shows the image in the active viewport. */
  readonly onShowImage?: (image: StudyImage) => void;
  /** Exports the active viewport with its heatmap and a caption; rejects with the reason. */
  readonly onCapture?: (action: 'download' | 'copy') => Promise<void>;
  /** Save to PACS (the service announces the outcome in state.archive). */
  readonly onSaveToPacs?: () => void;
}

/** The hotkey bound to the heatmap toggle (mode/src/index.ts binds it). */
export const HEATMAP_HOTKEY = 'Shift+H';
const LEGEND_GRADIENT = cssGradient(INFERNO);

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

function Result({ outcome, threshold, custom, calibration }: { outcome: AnalysisOutcome; threshold: number; custom: boolean; calibration: string }) {
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
      <p className="text-muted-foreground text-right text-xs" data-cy="chestaid-score-calibration" data-version={outcome.analysis.calibrationVersion}>
        {calibration}
      </p>
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

const LABEL_NAMES: Readonly<Record<GroundTruth, string>> = { pneumonia: 'Pneumonia', normal: 'Normal', unsure: 'Unsure' };

/** The reader's ground truth for the result on screen: what they read on the image. */
function Feedback({ feedback, record }: { feedback: FeedbackState; record: NonNullable<ChestAidPanelService['recordFeedback']> }) {
  const [choice, setChoice] = useState<GroundTruth | null>(null);
  const [comment, setComment] = useState('');
  const id = useId();
  const selected = choice ?? feedback.mine?.label ?? null;
  const saving = feedback.status === 'saving';
  const save = () => {
    if (!selected) return;
    void record(selected, comment).then(() => {
      setChoice(null);
      setComment('');
    });
  };
  return (
    <fieldset className="flex flex-col gap-1 rounded border p-3" data-cy="chestaid-feedback" data-status={feedback.status}>
      <legend className="px-2 text-xs font-semibold">Your reading (ground truth)</legend>
      <div className="flex gap-2" role="radiogroup" aria-label="Ground truth">
        {GROUND_TRUTHS.map(label => (
          <button
            key={label}
            type="button"
            role="radio"
            aria-checked={selected === label}
            className={selected === label ? 'bg-primary text-primary-foreground rounded px-2 py-0.5 text-xs' : 'bg-secondary text-secondary-foreground rounded px-2 py-0.5 text-xs'}
            onClick={() => setChoice(label)}
            data-cy={`chestaid-feedback-${label}`}
          >
            {LABEL_NAMES[label]}
          </button>
        ))}
      </div>
      <label htmlFor={`${id}-comment`} className="text-xs">
        Comment (optional)
      </label>
      <textarea
        id={`${id}-comment`}
        value={comment}
        maxLength={2000}
        rows={2}
        onChange={event => setComment(event.target.value)}
        className="bg-background text-foreground border-input rounded border px-2 py-0.5 text-xs"
        data-cy="chestaid-feedback-comment"
      />
      <button
        type="button"
        className="bg-primary text-primary-foreground rounded px-2 py-0.5 text-xs"
        style={selected && !saving ? undefined : { opacity: 0.5, cursor: 'not-allowed' }}
        disabled={!selected || saving}
        onClick={save}
        data-cy="chestaid-feedback-save"
      >
        {feedback.mine ? 'Change my reading' : 'Record my reading'}
      </button>
      {feedback.mine && (
        <p className="text-xs" data-cy="chestaid-feedback-mine" data-label={feedback.mine.label}>
          Recorded by {feedback.mine.reader}: {LABEL_NAMES[feedback.mine.label]} ({feedback.mine.at.slice(0, 16).replace('T', ' ')})
        </p>
      )}
      {feedback.others.length > 0 && (
        <p className="text-muted-foreground text-xs" data-cy="chestaid-feedback-others">
          Other readers: {feedback.others.map(o => `${o.reader}: ${LABEL_NAMES[o.label]}`).join('; ')}
        </p>
      )}
      {feedback.conflict && (
        <p className="text-xs" style={{ color: '#fbbf24' }} role="alert" data-cy="chestaid-feedback-conflict">
          Readers disagree on this image (pneumonia and normal): both are kept, and the image is left out of recalibration until resolved.
        </p>
      )}
      {feedback.message && (
        <p className={feedback.status === 'error' ? 'text-red-500 text-xs' : 'text-xs'} role={feedback.status === 'error' ? 'alert' : 'status'} data-cy="chestaid-feedback-message">
          {feedback.message}
        </p>
      )}
    </fieldset>
  );
}

function ThresholdControl({ threshold, service, siteVersion }: { threshold: ThresholdState; service: ChestAidPanelService; siteVersion: string | null }) {
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
          : siteVersion
            ? `The clinical threshold of this site's calibration ${siteVersion}.`
            : "The model's clinical threshold, from its manifest."}
      </p>
    </fieldset>
  );
}

function ModelLines({ info }: { info: ModelInfo }) {
  return (
    <div className="text-muted-foreground flex flex-col text-xs" data-cy="chestaid-model">
      <span>{modelText(info)}</span>
      <span data-cy="chestaid-calibration" data-version={info.calibrationVersion}>
        {calibrationText(info)}: {info.calibrationLabel}
      </span>
    </div>
  );
}

function HeatmapControls({
  settings,
  service,
  onCapture,
}: {
  settings: HeatmapSettings;
  service: ChestAidPanelService;
  onCapture?: ChestAidPanelProps['onCapture'];
}) {
  const id = useId();
  const [captureProblem, setCaptureProblem] = useState<string | null>(null);
  const capture = (action: 'download' | 'copy') => {
    setCaptureProblem(null);
    onCapture?.(action).catch((error: unknown) => setCaptureProblem(error instanceof Error ? error.message : String(error)));
  };
  const showsAttention = settings.layers !== 'outline';
  const showsOutline = settings.layers !== 'attention';
  return (
    <fieldset className="flex flex-col gap-1 rounded border p-3" data-cy="chestaid-heatmap">
      <legend className="px-2 text-xs font-semibold">Heatmap</legend>
      <p className="text-xs font-semibold" data-cy="chestaid-heatmap-meaning">
        {HEATMAP_MEANING}
      </p>
      <label className="flex items-center gap-2 text-xs">
        <input
          type="checkbox"
          checked={settings.visible}
          onChange={event => service.setHeatmap({ visible: event.target.checked })}
          aria-keyshortcuts={HEATMAP_HOTKEY}
          data-cy="chestaid-heatmap-visible"
        />
        Show the heatmap ({HEATMAP_HOTKEY})
      </label>
      <label htmlFor={`${id}-layers`} className="text-xs">
        Layers
      </label>
      <select
        id={`${id}-layers`}
        value={settings.layers}
        onChange={event => service.setHeatmap({ layers: event.target.value as HeatmapSettings['layers'] })}
        className="bg-background text-foreground border-input rounded border px-2 py-0.5 text-xs"
        data-cy="chestaid-heatmap-layers"
      >
        <option value="attention">Attention map</option>
        <option value="outline">Outline of high attention</option>
        <option value="both">Attention map and outline</option>
      </select>
      {showsAttention && (
        <>
          <label htmlFor={`${id}-opacity`} className="text-xs">
            Opacity: {Math.round(settings.opacity * 100)} %
          </label>
          <input
            id={`${id}-opacity`}
            type="range"
            min={0}
            max={1}
            step={0.05}
            value={settings.opacity}
            onChange={event => service.setHeatmap({ opacity: Number(event.target.value) })}
            aria-valuetext={`${Math.round(settings.opacity * 100)} percent`}
            style={{ width: '100%' }}
            data-cy="chestaid-heatmap-opacity"
          />
          <div aria-hidden="true" data-cy="chestaid-heatmap-legend">
            <div className="h-2 w-full rounded" style={{ background: LEGEND_GRADIENT }} />
            <div className="text-muted-foreground flex justify-between text-xs">
              <span>low attention</span>
              <span>high attention</span>
            </div>
          </div>
        </>
      )}
      {showsOutline && (
        <>
          <label htmlFor={`${id}-level`} className="text-xs">
            Outline at attention {Math.round(settings.outlineLevel * 100)} % of the peak
          </label>
          <input
            id={`${id}-level`}
            type="range"
            min={0.05}
            max={1}
            step={0.05}
            value={settings.outlineLevel}
            onChange={event => service.setHeatmap({ outlineLevel: Number(event.target.value) })}
            style={{ width: '100%' }}
            data-cy="chestaid-heatmap-level"
          />
        </>
      )}
      {onCapture && (
        <div className="flex gap-2">
          <button
            type="button"
            className="bg-secondary text-secondary-foreground rounded px-2 py-0.5 text-xs"
            onClick={() => capture('download')}
            aria-label="Download the viewport image with the heatmap and a caption"
            data-cy="chestaid-capture-download"
          >
            Download image
          </button>
          <button
            type="button"
            className="bg-secondary text-secondary-foreground rounded px-2 py-0.5 text-xs"
            onClick={() => capture('copy')}
            aria-label="Copy the viewport image with the heatmap and a caption"
            data-cy="chestaid-capture-copy"
          >
            Copy image
          </button>
        </div>
      )}
      {captureProblem && (
        <p className="text-red-500 text-xs" role="alert" data-cy="chestaid-capture-problem">
          {captureProblem}
        </p>
      )}
    </fieldset>
  );
}

function ImageList({
  state,
  service,
  onShowImage,
  canAnalyze,
}: {
  state: ChestAidState;
  service: ChestAidPanelService;
  onShowImage?: ChestAidPanelProps['onShowImage'];
  canAnalyze: boolean;
}) {
  const { images, batch, threshold } = state;
  const value = threshold?.value ?? 0.5;
  const running = batch?.running === true;
  return (
    <section className="flex flex-col gap-1 rounded border p-3" aria-label="Images of this study" data-cy="chestaid-images">
      <h3 className="text-xs font-semibold">CR/DX images in this study ({images.length})</h3>
      <ul className="flex flex-col gap-1">
        {images.map((row: ImageRow) => (
          <li key={row.image.sopInstanceUID} className="flex items-center justify-between gap-2 text-xs" data-cy="chestaid-image-row" data-sop={row.image.sopInstanceUID} data-status={row.status}>
            <button
              type="button"
              className={row.active ? 'font-semibold underline' : 'underline'}
              onClick={() => onShowImage?.(row.image)}
              aria-current={row.active ? 'true' : undefined}
              aria-label={`Show ${row.image.label}`}
            >
              {row.image.label}
            </button>
            <span style={{ color: row.status === 'done' ? (decide(row.outcome!.analysis.probability, value).above ? ABOVE_COLOUR : BELOW_COLOUR) : undefined, overflowWrap: 'anywhere' }}>
              {imageRowText(row, value)}
              {row.status === 'done' && (
                <span className="text-muted-foreground" data-cy="chestaid-image-calibration">
                  {' '}
                  · calibration {versionName(row.outcome!.analysis.calibrationVersion)}
                </span>
              )}
            </span>
          </li>
        ))}
      </ul>
      <div className="flex gap-2">
        <button
          type="button"
          className="bg-primary text-primary-foreground rounded px-2 py-0.5 text-xs"
          style={canAnalyze && !running ? undefined : { opacity: 0.5, cursor: 'not-allowed' }}
          disabled={!canAnalyze || running || images.length === 0}
          onClick={() => void service.analyzeAll()}
          data-cy="chestaid-analyze-all"
        >
          Analyze all images
        </button>
        {running && (
          <button type="button" className="bg-secondary text-secondary-foreground rounded px-2 py-0.5 text-xs" onClick={() => service.cancelAnalyzeAll()} data-cy="chestaid-analyze-all-cancel">
            Cancel
          </button>
        )}
      </div>
      {batch && (
        <div data-cy="chestaid-batch">
          <div
            role="progressbar"
            aria-label="Analyze all images"
            aria-valuemin={0}
            aria-valuemax={batch.total}
            aria-valuenow={batch.done}
            aria-valuetext={batchText(batch)}
            className="bg-muted h-2 w-full overflow-hidden rounded"
          >
            <div className="bg-primary h-2" style={{ width: `${batch.total ? (batch.done / batch.total) * 100 : 100}%` }} />
          </div>
          <p className="text-xs" role="status" aria-live="polite">
            {batchText(batch)}
          </p>
        </div>
      )}
    </section>
  );
}

/**
 * Save to PACS for the result on show, with what the last press did (or why it cannot be
 * pressed), and the result the PACS holds for this image when another reader stored one.
 */
function PacsSection({ state, onSaveToPacs }: { state: ChestAidState; onSaveToPacs?: () => void }) {
  const { archive, archived, analysis, threshold } = state;
  const hasResult = analysis.status === 'done';
  const busy = archive.status === 'saving' || archive.status === 'checking';
  const done = archive.status === 'saved' || archive.status === 'already-saved';
  const canSave = hasResult && !busy && !done && archive.status !== 'unavailable' && onSaveToPacs !== undefined;
  const failed = archive.status === 'failed';
  const retry = failed && archive.kind !== 'refused';
  return (
    <section className="flex flex-col gap-1 rounded border p-3" aria-label="PACS" data-cy="chestaid-pacs" data-status={archive.status}>
      {archived && threshold && (
        <p className="text-xs" data-cy="chestaid-pacs-result" data-probability={archived.probability} data-sr={archived.srSopInstanceUID}>
          {archivedText(archived, threshold.value)}
        </p>
      )}
      {(hasResult || archive.status === 'unavailable') && (
        <button
          type="button"
          className="bg-secondary text-secondary-foreground rounded px-2 py-0.5 text-xs"
          style={canSave ? undefined : { opacity: 0.5, cursor: 'not-allowed' }}
          disabled={!canSave}
          onClick={onSaveToPacs}
          title={archive.status === 'unavailable' ? archive.reason : 'Store this result as DICOM SR and its heatmap as a Parametric Map in the PACS'}
          data-cy="chestaid-save-pacs"
        >
          {retry ? 'Retry saving to PACS' : 'Save to PACS'}
        </button>
      )}
      <p
        role={failed ? 'alert' : 'status'}
        aria-live="polite"
        className={failed ? 'text-red-500 text-xs' : 'text-muted-foreground text-xs'}
        style={{ overflowWrap: 'anywhere' }}
        data-cy="chestaid-pacs-status"
        data-kind={failed ? archive.kind : undefined}
        data-sr={archive.status === 'saved' || archive.status === 'already-saved' ? archive.srSopInstanceUID : undefined}
      >
        {hasResult || archive.status !== 'idle' ? archiveText(archive) : ''}
      </p>
    </section>
  );
}

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
        // With a result (or the stale notice) on show the line repeats it: kept for screen readers only.
        className={analysis.status === 'error' ? 'text-red-500' : analysis.status === 'done' || analysis.status === 'stale' ? 'sr-only' : undefined}
        // Messages carry hashes and URLs: long words that must wrap inside the panel.
        style={{ overflowWrap: 'anywhere' }}
        data-cy="chestaid-status"
      >
        {statusText(state)}
      </p>
      {analysis.status === 'done' && threshold && model.status === 'ready' && (
        <Result outcome={analysis.outcome} threshold={threshold.value} custom={threshold.custom} calibration={model.info.calibrationLabel} />
      )}
      {analysis.status === 'stale' && (
        <p className="rounded border p-3 text-xs" style={{ color: '#fbbf24' }} role="status" data-cy="chestaid-stale" data-version={analysis.calibrationVersion}>
          {staleText(analysis.calibrationVersion)}
        </p>
      )}
      {(analysis.status === 'done' || state.archived || state.archive.status !== 'idle') && <PacsSection state={state} onSaveToPacs={onSaveToPacs} />}
      {analysis.status === 'done' && state.feedback.available && service.recordFeedback && (
        <Feedback key={analysis.outcome.key} feedback={state.feedback} record={service.recordFeedback.bind(service)} />
      )}
      {analysis.status === 'done' && <HeatmapControls settings={state.heatmap} service={service} onCapture={onCapture} />}
      {threshold && (
        <ThresholdControl
          threshold={threshold}
          service={service}
          siteVersion={model.status === 'ready' && model.info.calibration.source === 'site' ? model.info.calibrationVersion : null}
        />
      )}
      {state.images.length > 0 && <ImageList state={state} service={service} onShowImage={onShowImage} canAnalyze={!blocked && model.status === 'ready'} />}
    </section>
  );
}
