/**
 * Parity with training/chestaid_train: test/fixtures/recalibration.json is written by
 * training/scripts/make_recalibration_fixtures.py with the Python calibrators, metrics and
 * threshold rule. Tolerances:
 *   - temperature and Platt parameters: 1e-8 relative (measured: temperature bit-identical on four
 *     cohorts, 1.6e-9 on the demo one; Platt within 1e-9, Newton vs L-BFGS-B on one optimum);
 *   - isotonic knots: exact (same algorithm, same floating-point operations);
 *   - ECE, Brier, NLL, AUC, PR-AUC, reliability on Python's own probabilities: 1e-12 absolute;
 *   - thresholds on Python's probabilities: exact;
 *   - metrics and thresholds from the TypeScript fits: 1e-9 absolute (measured within 3e-11;
 *     thresholds exact for isotonic), since a 1e-9 change of T moves p by about as much;
 *   - the output clip [1/(n+2), 1 - 1/(n+2)]: exact (the same two operations);
 *   - selection by cross-validated NLL: the same folds exactly (same generator), the same best
 *     and selected method; out-of-fold NLL, Brier, difference and SE to 1e-9 absolute, like the
 *     other metrics of the TypeScript fits (measured within 3e-10: Platt's Newton and L-BFGS-B
 *     agree to about 1e-9 on each fold's parameters; temperature and isotonic are exact or nearly);
 *   - ECE if perfectly calibrated on Python's probabilities: 1e-12 relative (same draws, same sums);
 *   - Clopper-Pearson bounds: 1e-12 relative (scipy's beta.ppf against beta.ts's bisection);
 *     proven thresholds on Python's probabilities: exact.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { fitCalibrator, predictWith, type FitMethod } from './fit';
import { averagePrecision, brierScore, expectedCalibrationError, expectedEceIfCalibrated, negativeLogLikelihood, reliabilityBins, rocAuc } from './metrics';
import { mulberry32 } from './random';
import { repeatedStratifiedFolds, selectByCv } from './select';
import { clopperPearsonInterval, clopperPearsonLower, positivesNeeded, thresholdForSensitivity, thresholdWithProvenSensitivity } from './threshold';

interface PyReliability {
  count: number[];
  mean_p: (number | null)[];
  frac_pos: (number | null)[];
}
interface PyMethod {
  params: Record<string, number | number[]>;
  p_eval: number[];
  ece: number;
  ece_10_bins: number;
  brier: number;
  nll: number;
  roc_auc: number;
  pr_auc: number;
  reliability: PyReliability;
  thresholds: Record<string, number>;
  proven_thresholds: Record<string, PyProven>;
  ece_if_calibrated: number;
}
type PyProven =
  | { value: number; flagged_positives: number; n_pos: number; sensitivity: number; lower_bound: number }
  | { refused: true; n_pos: number; positives_needed: number };
interface PyOof {
  nll: number;
  brier: number;
  nll_minus_best: number;
  se_of_difference: number;
}
interface PySelection {
  selected: FitMethod;
  best: FitMethod;
  candidates: FitMethod[];
  isotonic_allowed: boolean;
  folds: number;
  repeats: number;
  seed: number;
  n: number;
  oof: Record<string, PyOof>;
  folds_shown: number[][];
}
interface PyCase {
  name: string;
  fit: { logits: number[]; y: number[] };
  eval: { logits: number[]; y: number[] };
  selected: FitMethod;
  selection: PySelection;
  methods: Record<FitMethod, PyMethod>;
}
interface PyMetricCase {
  name: string;
  y: number[];
  p: number[];
  ece: number;
  ece_10_bins: number;
  reliability_10_bins: PyReliability;
  brier: number;
  roc_auc: number;
  pr_auc: number;
  reliability: PyReliability;
  thresholds: Record<string, number>;
}

const fixture = JSON.parse(readFileSync(resolve(__dirname, '../../../test/fixtures/recalibration.json'), 'utf8')) as {
  n_bins: number;
  cases: PyCase[];
  metric_cases: PyMetricCase[];
  clopper_pearson: { k: number; n: number; lower_95: number; interval_95: [number, number] }[];
  positives_needed: Record<string, number>;
  mulberry32: Record<string, number[]>;
};

function expectRelClose(actual: number, expected: number, rel: number): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(rel * Math.max(Math.abs(expected), 1e-300));
}

function expectAbsClose(actual: number, expected: number, abs: number): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(abs);
}

function expectReliability(y: number[], p: number[], py: PyReliability, nBins = fixture.n_bins): void {
  const bins = reliabilityBins(y, p, nBins);
  expect(bins.map((b) => b.count)).toEqual(py.count);
  bins.forEach((b, i) => {
    if (py.mean_p[i] === null) {
      expect(b.meanPredicted).toBeNull();
      expect(b.observedFraction).toBeNull();
    } else {
      expectAbsClose(b.meanPredicted as number, py.mean_p[i] as number, 1e-12);
      expectAbsClose(b.observedFraction as number, py.frac_pos[i] as number, 1e-12);
    }
  });
}

describe.each(fixture.cases.map((c) => [c.name, c] as const))('parity on the %s cohort', (_name, c) => {
  it('fits the same temperature as scipy bounded Brent', () => {
    const fit = fitCalibrator('temperature', c.fit.logits, c.fit.y);
    expectRelClose(fit.params.temperature, c.methods.temperature.params.temperature as number, 1e-8);
  });

  it.each(['none', 'temperature', 'platt', 'isotonic'] as const)('clips %s to the same [1/(n+2), 1 - 1/(n+2)]', (m) => {
    expect(fitCalibrator(m, c.fit.logits, c.fit.y).params.clip).toEqual(c.methods[m].params.clip);
  });

  it('fits the same Platt a and b as the L-BFGS-B maximum likelihood', () => {
    const fit = fitCalibrator('platt', c.fit.logits, c.fit.y);
    expectRelClose(fit.params.a, c.methods.platt.params.a as number, 1e-8);
    expectRelClose(fit.params.b, c.methods.platt.params.b as number, 1e-8);
    expect(fit.warnings).toEqual([]);
  });

  it("fits exactly scikit-learn's isotonic knots", () => {
    const fit = fitCalibrator('isotonic', c.fit.logits, c.fit.y);
    expect(fit.params.x).toEqual(c.methods.isotonic.params.x);
    expect(fit.params.y).toEqual(c.methods.isotonic.params.y);
  });

  it.each(['none', 'temperature', 'platt', 'isotonic'] as const)('scores %s predictions as metrics.py does', (m) => {
    const py = c.methods[m];
    const y = c.eval.y;
    const p = py.p_eval;
    expectAbsClose(expectedCalibrationError(y, p, fixture.n_bins), py.ece, 1e-12);
    expectAbsClose(expectedCalibrationError(y, p, 10), py.ece_10_bins, 1e-12);
    expectAbsClose(brierScore(y, p), py.brier, 1e-12);
    expectAbsClose(negativeLogLikelihood(y, p), py.nll, 1e-12);
    expectAbsClose(rocAuc(y, p), py.roc_auc, 1e-12);
    expectAbsClose(averagePrecision(y, p), py.pr_auc, 1e-12);
    expectReliability(y, p, py.reliability);
    for (const [target, t] of Object.entries(py.thresholds)) expect(thresholdForSensitivity(y, p, Number(target))).toBe(t);
  });

  it.each(['none', 'temperature', 'platt', 'isotonic'] as const)('gives the same held-out metrics and thresholds from its own %s fit', (m) => {
    const py = c.methods[m];
    const p = predictWith(fitCalibrator(m, c.fit.logits, c.fit.y), c.eval.logits);
    expectAbsClose(expectedCalibrationError(c.eval.y, p), py.ece, 1e-9);
    expectAbsClose(brierScore(c.eval.y, p), py.brier, 1e-9);
    expectAbsClose(rocAuc(c.eval.y, p), py.roc_auc, 1e-9);
    for (const [target, t] of Object.entries(py.thresholds)) {
      const mine = thresholdForSensitivity(c.eval.y, p, Number(target));
      if (m === 'isotonic') expect(mine).toBe(t);
      else expectAbsClose(mine, t, 1e-9);
    }
  });

  it('deals the same cross-validation folds', () => {
    const py = c.selection;
    expect(repeatedStratifiedFolds(c.fit.y, py.folds, py.folds_shown.length, py.seed)).toEqual(py.folds_shown);
  });

  it('selects the method Python selects by cross-validated NLL, with the same losses', () => {
    const py = c.selection;
    const mine = selectByCv(c.fit.logits, c.fit.y, { folds: py.folds, repeats: py.repeats, seed: py.seed });
    expect(mine.selected).toBe(c.selected);
    expect(mine.best).toBe(py.best);
    expect(mine.candidates).toEqual(py.candidates);
    expect(mine.isotonicAllowed).toBe(py.isotonic_allowed);
    for (const m of py.candidates) {
      const o = mine.oof[m] as NonNullable<(typeof mine.oof)[typeof m]>;
      expectAbsClose(o.nll, py.oof[m].nll, 1e-9);
      expectAbsClose(o.brier, py.oof[m].brier, 1e-9);
      expectAbsClose(o.nllMinusBest, py.oof[m].nll_minus_best, 1e-9);
      expectAbsClose(o.seOfDifference, py.oof[m].se_of_difference, 1e-9);
    }
  });

  it.each(['none', 'temperature', 'platt', 'isotonic'] as const)('simulates the same ECE-if-calibrated for %s', (m) => {
    const py = c.methods[m];
    expectRelClose(expectedEceIfCalibrated(py.p_eval, fixture.n_bins), py.ece_if_calibrated, 1e-12);
  });

  it.each(['none', 'temperature', 'platt', 'isotonic'] as const)('proves the same thresholds on %s probabilities, or refuses alike', (m) => {
    const py = c.methods[m];
    for (const [target, expected] of Object.entries(py.proven_thresholds)) {
      if ('refused' in expected) {
        expect(() => thresholdWithProvenSensitivity(c.eval.y, py.p_eval, Number(target))).toThrow(`at least ${expected.positives_needed} positives are needed`);
      } else {
        const mine = thresholdWithProvenSensitivity(c.eval.y, py.p_eval, Number(target));
        expect(mine.value).toBe(expected.value);
        expect(mine.flaggedPositives).toBe(expected.flagged_positives);
        expectRelClose(mine.lowerBound, expected.lower_bound, 1e-12);
      }
    }
  });
});

describe('parity of the exact binomial bounds and the generator', () => {
  it.each(fixture.clopper_pearson.map((r) => [r.k, r.n, r] as const))('Clopper-Pearson %d of %d as scipy.stats.beta.ppf', (k, n, r) => {
    expectRelClose(clopperPearsonLower(k, n), r.lower_95, 1e-12);
    const { low, high } = clopperPearsonInterval(k, n);
    expectRelClose(low, r.interval_95[0], 1e-12);
    expectRelClose(high, r.interval_95[1], 1e-12);
  });

  it('needs the same number of positives for each target', () => {
    for (const [target, n] of Object.entries(fixture.positives_needed)) expect(positivesNeeded(Number(target))).toBe(n);
  });

  it('draws the same mulberry32 numbers as the Python port', () => {
    for (const [seed, numbers] of Object.entries(fixture.mulberry32)) {
      const random = mulberry32(Number(seed));
      expect(numbers.map(() => random())).toEqual(numbers);
    }
  });
});

describe('parity on probabilities exactly on the ECE bin edges', () => {
  const c = fixture.metric_cases[0];

  it('bins b/15 into the upper bin and p = 1 into the last, as metrics.py', () => {
    expectAbsClose(expectedCalibrationError(c.y, c.p), c.ece, 1e-15);
    expectReliability(c.y, c.p, c.reliability);
  });

  it('puts a score one ulp below an edge in the lower bin even where floor(p * n) says otherwise', () => {
    expectAbsClose(expectedCalibrationError(c.y, c.p, 10), c.ece_10_bins, 1e-15);
    expectReliability(c.y, c.p, c.reliability_10_bins, 10);
  });

  it('handles tied scores in AUC, PR-AUC and the threshold as scikit-learn and threshold.py', () => {
    expectAbsClose(brierScore(c.y, c.p), c.brier, 1e-15);
    expectAbsClose(rocAuc(c.y, c.p), c.roc_auc, 1e-15);
    expectAbsClose(averagePrecision(c.y, c.p), c.pr_auc, 1e-15);
    for (const [target, t] of Object.entries(c.thresholds)) expect(thresholdForSensitivity(c.y, c.p, Number(target))).toBe(t);
  });
});
