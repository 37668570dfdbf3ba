/**
 * Synthetic cohorts for the recalibration tests: logits of a plausible classifier drawn with the
 * seeded generator, labels drawn from a known true calibration so a fit has a right answer.
 */
import { sigmoid } from '../calibration';
import type { CohortItem } from '../recalibration/cohort';
import { mulberry32 } from '../recalibration/random';

/** A standard normal draw (Box-Muller) from a uniform source. */
function normal(random: () => number): number {
  const u = 1 - random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/**
 * n cases whose true P(pneumonia | logit z) is sigmoid(trueA * z + trueB), with z ~ N(0, spread).
 * A deployed calibration of sigmoid(z) is then miscalibrated unless trueA = 1 and trueB = 0.
 */
export function syntheticCohort(n: number, seed: number, trueA = 1, trueB = 0, spread = 2.5): CohortItem[] {
  const random = mulberry32(seed);
  return Array.from({ length: n }, (_, i) => {
    const logit = spread * normal(random);
    const label: 0 | 1 = random() < sigmoid(trueA * logit + trueB) ? 1 : 0;
    return { key: `1.2.826.0.1.${seed}.${i}`, logit, label };
  });
}
