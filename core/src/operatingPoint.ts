/**
 * What the model does at a threshold, as its manifest reports it: sensitivity and specificity
 * measured on a named split at exactly that threshold, with their intervals. Only a measurement
 * made at the very threshold in use and under the calibration in use is returned: a threshold moved
 * in the browser, or a site calibration, has none from training, and saying nothing is better than
 * borrowing figures from another operating point.
 */
import type { Manifest } from './manifest';
import { calibrationOrigin } from './siteCalibration/overlay';

export interface Rate {
  readonly value: number;
  /** The interval's bounds; null when the manifest gives none. */
  readonly low: number | null;
  readonly high: number | null;
}

export interface OperatingPoint {
  readonly threshold: number;
  /** Where it was measured: 'test', 'val_report', 'site cohort'... */
  readonly split: string;
  readonly n: number | null;
  readonly nPos: number | null;
  readonly sensitivity: Rate;
  readonly specificity: Rate;
  /** The intervals' level (0.95), null when not stated. */
  readonly level: number | null;
}

type Loose = Readonly<Record<string, unknown>>;

const isObject = (value: unknown): value is Loose => typeof value === 'object' && value !== null && !Array.isArray(value);
const numberOr = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) ? value : null);

function rate(value: unknown): Rate | null {
  if (!isObject(value)) return null;
  const point = numberOr(value.value);
  if (point === null) return null;
  return { value: point, low: numberOr(value.ci_low ?? value.low), high: numberOr(value.ci_high ?? value.high) };
}

/** One at_threshold block, if it was measured at `threshold` (its own `threshold`, else the one it belongs to). */
function pointOf(block: unknown, split: string, measuredAt: number | null, threshold: number): OperatingPoint | null {
  if (!isObject(block)) return null;
  const at = numberOr(block.threshold) ?? measuredAt;
  if (at === null || at !== threshold) return null;
  const sensitivity = rate(block.sensitivity);
  const specificity = rate(block.specificity);
  if (!sensitivity || !specificity) return null;
  const level = isObject(block.bootstrap) ? numberOr(block.bootstrap.level) : isObject(block.interval) ? numberOr(block.interval.level) : null;
  return { threshold: at, split, n: numberOr(block.n), nPos: numberOr(block.n_pos), sensitivity, specificity, level };
}

/**
 * The manifest's measurement at `threshold`, preferring the held-out test split; null when the
 * manifest has none at that threshold under its calibration in use.
 */
export function operatingPointAt(manifest: Manifest, threshold: number): OperatingPoint | null {
  const clinical = manifest.thresholds.clinical;
  const fromClinical = () => pointOf(clinical.at_threshold, clinical.split, clinical.value, threshold);
  // A site calibration brings its own threshold and measurement; training's evaluation is of another calibration.
  if (calibrationOrigin(manifest).source === 'site') return fromClinical();
  const evaluation = (manifest as unknown as { evaluation?: unknown }).evaluation;
  const measured = isObject(evaluation) && isObject(evaluation.at_threshold) ? evaluation.at_threshold : {};
  const splits = Object.keys(measured).sort((a, b) => Number(b === 'test') - Number(a === 'test'));
  for (const split of splits) {
    const point = pointOf(measured[split], split, null, threshold);
    if (point) return point;
  }
  return fromClinical();
}
