/**
 * How the Grad-CAM layer is drawn: the defaults, and the check a change passes before any
 * viewport draws with it (a bad value is refused, naming it, and the previous settings stay).
 */
import { InputError, show } from '@chestaid/core';
import type { HeatmapSettings } from './types';

export const DEFAULT_HEATMAP: HeatmapSettings = { visible: true, opacity: 0.5, layers: 'attention', outlineLevel: 0.5 };

/** `current` with `patch` applied; throws InputError naming a value out of range. */
export function changedHeatmap(current: HeatmapSettings, patch: Partial<HeatmapSettings>): HeatmapSettings {
  const next = { ...current, ...patch };
  if (!(next.opacity >= 0 && next.opacity <= 1)) throw new InputError(`heatmap opacity must lie in [0, 1], got ${show(next.opacity)}`);
  if (!(next.outlineLevel > 0 && next.outlineLevel <= 1)) {
    throw new InputError(`outline level must lie in (0, 1], got ${show(next.outlineLevel)}`);
  }
  if (!['attention', 'outline', 'both'].includes(next.layers)) throw new InputError(`unknown heatmap layers ${show(next.layers)}`);
  return next;
}
