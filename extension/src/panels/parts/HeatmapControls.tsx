import { useId, useState } from 'react';

import { cssGradient, INFERNO } from '@chestaid/core';
import type { HeatmapSettings } from '../../analysis/types';
import { heatmapHotkey } from '../../id';
import { heatmapMeaning } from '../format';
import { percent } from '../../i18n/format';
import { t } from '../../i18n/translate';
import type { ChestAidPanelProps, ChestAidPanelService } from '../types';

/** The heatmap toggle's hotkey as a reader reads it ("shift+h", which the mode binds, -> "Shift+H"). */
export const HEATMAP_HOTKEY = heatmapHotkey
  .split('+')
  .map(key => key.charAt(0).toUpperCase() + key.slice(1))
  .join('+');
const LEGEND_GRADIENT = cssGradient(INFERNO);

/** The heatmap's visibility, layers, opacity and outline level, and the viewport capture. */
export function HeatmapControls({
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
      <legend className="px-2 text-xs font-semibold">{t('heatmap.legend')}</legend>
      <p className="text-xs font-semibold" data-cy="chestaid-heatmap-meaning">
        {heatmapMeaning()}
      </p>
      <label className="flex items-center gap-2 text-xs">
        <input
          type="checkbox"
          checked={settings.visible}
          onChange={event => service.setHeatmap({ visible: event.target.checked })}
          aria-keyshortcuts={HEATMAP_HOTKEY}
          data-cy="chestaid-heatmap-visible"
        />
        {t('heatmap.show', { hotkey: HEATMAP_HOTKEY })}
      </label>
      <label htmlFor={`${id}-layers`} className="text-xs">
        {t('heatmap.layers')}
      </label>
      <select
        id={`${id}-layers`}
        value={settings.layers}
        onChange={event => service.setHeatmap({ layers: event.target.value as HeatmapSettings['layers'] })}
        className="bg-background text-foreground border-input rounded border px-2 py-0.5 text-xs"
        data-cy="chestaid-heatmap-layers"
      >
        <option value="attention">{t('heatmap.layers.attention')}</option>
        <option value="outline">{t('heatmap.layers.outline')}</option>
        <option value="both">{t('heatmap.layers.both')}</option>
      </select>
      {showsAttention && (
        <>
          <label htmlFor={`${id}-opacity`} className="text-xs">
            {t('heatmap.opacity', { percent: percent(settings.opacity, 0) })}
          </label>
          <input
            id={`${id}-opacity`}
            type="range"
            min={0}
            max={1}
            step={0.05}
            value={settings.opacity}
            onChange={event => service.setHeatmap({ opacity: Number(event.target.value) })}
            aria-valuetext={percent(settings.opacity, 0)}
            style={{ width: '100%' }}
            data-cy="chestaid-heatmap-opacity"
          />
          <div aria-hidden="true" data-cy="chestaid-heatmap-legend">
            <div className="h-2 w-full rounded" style={{ background: LEGEND_GRADIENT }} />
            <div className="text-muted-foreground flex justify-between text-xs">
              <span>{t('heatmap.low')}</span>
              <span>{t('heatmap.high')}</span>
            </div>
          </div>
        </>
      )}
      {showsOutline && (
        <>
          <label htmlFor={`${id}-level`} className="text-xs">
            {t('heatmap.outlineLevel', { percent: percent(settings.outlineLevel, 0) })}
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
            aria-label={t('capture.downloadLabel')}
            data-cy="chestaid-capture-download"
          >
            {t('capture.download')}
          </button>
          <button
            type="button"
            className="bg-secondary text-secondary-foreground rounded px-2 py-0.5 text-xs"
            onClick={() => capture('copy')}
            aria-label={t('capture.copyLabel')}
            data-cy="chestaid-capture-copy"
          >
            {t('capture.copy')}
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
