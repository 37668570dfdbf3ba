/**
 * The operating point: whether a calibrated probability flags the study. Kept apart from
 * calibration (STYLE.md 7): calibration makes the number mean a risk; the threshold is a clinical
 * choice about that number. The rule, here and in training/chestaid_train/threshold.py, is
 * "flag iff p >= threshold".
 */
import { InputError, show } from './errors';

export const ABOVE_LABEL = 'above the clinical threshold: read first';
export const BELOW_LABEL = 'below the clinical threshold';

export interface Decision {
  readonly probability: number;
  readonly threshold: number;
  /** p >= threshold: the study should be read first. */
  readonly above: boolean;
  readonly label: typeof ABOVE_LABEL | typeof BELOW_LABEL;
}

/** Refuses a threshold that is not a number in [0, 1], naming it. */
export function checkThreshold(threshold: number): number {
  if (typeof threshold !== 'number' || !(threshold >= 0 && threshold <= 1)) {
    throw new InputError(`clinical threshold must be a number in [0, 1], got ${show(threshold)}`);
  }
  return threshold;
}

export function decide(probability: number, threshold: number): Decision {
  checkThreshold(threshold);
  if (typeof probability !== 'number' || !(probability >= 0 && probability <= 1)) {
    throw new InputError(`probability must be a number in [0, 1], got ${show(probability)}`);
  }
  const above = probability >= threshold;
  return { probability, threshold, above, label: above ? ABOVE_LABEL : BELOW_LABEL };
}
