/**
 * The change in score between a chest radiograph and the same patient's prior one (issue 18 item
 * 4): current minus prior, both calibrated probabilities of pneumonia. Two scores are only strictly
 * comparable when the same model bytes and the same calibration made them: a recalibration alone
 * can move every score (a TB screening study saw the median move 0.35 -> 0.61 after a version
 * update), so the change says when they differ rather than hiding it.
 */
import { InputError, show } from './errors';

/** A score and what made it. */
export interface ScoreOrigin {
  /** Calibrated probability, in [0, 1]. */
  readonly probability: number;
  /** The sha256 of the model bytes that scored it. */
  readonly modelSha256: string;
  /** The model's version as people name it. */
  readonly modelVersion: string;
  /** The calibration identity (siteCalibration/identity.ts). */
  readonly calibrationVersion: string;
}

export interface ScoreChange {
  /** current.probability - prior.probability, in [-1, 1]. */
  readonly change: number;
  /** Why the two scores are not strictly comparable: other model bytes, another calibration, or both; empty when they are. */
  readonly differences: readonly ('model' | 'calibration')[];
}

function checked(name: string, origin: ScoreOrigin): number {
  const { probability } = origin;
  if (!(typeof probability === 'number' && probability >= 0 && probability <= 1)) {
    throw new InputError(`the ${name} score must be a probability in [0, 1], got ${show(probability)}`);
  }
  return probability;
}

/** The change from `prior` to `current`; throws InputError naming a score that is not a probability. */
export function scoreChange(current: ScoreOrigin, prior: ScoreOrigin): ScoreChange {
  const change = checked('current', current) - checked('prior', prior);
  const differences: ('model' | 'calibration')[] = [];
  if (current.modelSha256.toLowerCase() !== prior.modelSha256.toLowerCase()) differences.push('model');
  if (current.calibrationVersion !== prior.calibrationVersion) differences.push('calibration');
  return { change, differences };
}
