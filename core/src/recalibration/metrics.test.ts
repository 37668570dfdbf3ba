import {
  averagePrecision,
  brierScore,
  confusionAt,
  expectedCalibrationError,
  negativeLogLikelihood,
  rates,
  reliabilityBins,
  rocAuc,
  rocCurve,
  summarize,
} from './metrics';

describe('expectedCalibrationError', () => {
  it('is zero when every bin observes what it predicts', () => {
    // Bin [0.2, 0.267): p 0.25 with 1 positive in 4; bin [0.733, 0.8): p 0.75 with 3 in 4.
    expect(expectedCalibrationError([1, 0, 0, 0, 1, 1, 1, 0], [0.25, 0.25, 0.25, 0.25, 0.75, 0.75, 0.75, 0.75])).toBeCloseTo(0, 15);
  });

  it('weights each bin gap by its share of the cases', () => {
    // One bin, mean p 0.9, observed 0.5: ECE 0.4.
    expect(expectedCalibrationError([1, 0], [0.9, 0.9])).toBeCloseTo(0.4, 15);
  });

  it('puts a probability on an inner edge in the upper bin and p = 1 in the last', () => {
    const bins = reliabilityBins([1, 0, 1], [1 / 3, 1, 0], 3);
    expect(bins.map((b) => b.count)).toEqual([1, 1, 1]);
  });

  it('refuses a logit passed where a probability belongs, naming it', () => {
    expect(() => expectedCalibrationError([1], [2.3])).toThrow(/p\[0\] = 2.3 is outside \[0, 1\]/);
    expect(() => expectedCalibrationError([1], [0.3], 0)).toThrow(/nBins must be a positive integer, got 0/);
  });
});

describe('reliabilityBins', () => {
  it('reports count, mean predicted and observed fraction, null for empty bins', () => {
    const bins = reliabilityBins([1, 0, 1], [0.05, 0.07, 0.95], 10);
    expect(bins).toHaveLength(10);
    expect(bins[0]).toMatchObject({ lower: 0, upper: 0.1, count: 2, observedFraction: 0.5 });
    expect(bins[0].meanPredicted).toBeCloseTo(0.06, 15);
    expect(bins[5]).toEqual({ lower: 0.5, upper: 0.6, count: 0, meanPredicted: null, observedFraction: null });
    expect(bins[9].observedFraction).toBe(1);
  });
});

describe('brierScore and negativeLogLikelihood', () => {
  it('are the mean squared error and the mean log loss', () => {
    expect(brierScore([1, 0], [0.8, 0.4])).toBeCloseTo((0.04 + 0.16) / 2, 15);
    expect(negativeLogLikelihood([1, 0], [0.8, 0.4])).toBeCloseTo(-(Math.log(0.8) + Math.log(0.6)) / 2, 15);
  });

  it('keeps NLL finite for a confident miss by isotonic calibration', () => {
    expect(negativeLogLikelihood([1], [0])).toBeCloseTo(34.539, 3);
  });
});

describe('rocCurve', () => {
  it('has area 1 for perfect ranking and 0.5 when every score ties', () => {
    expect(rocAuc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])).toBe(1);
    expect(rocAuc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5])).toBe(0.5);
  });

  it('gives a tie between a positive and a negative half credit, as roc_auc_score', () => {
    // Pairs: (0.3 vs 0.1) win, (0.3 vs 0.3) tie -> 0.5, (0.7 vs both) win: 3.5 / 4.
    expect(rocAuc([0, 0, 1, 1], [0.1, 0.3, 0.3, 0.7])).toBe(0.875);
  });

  it('starts at (0, 0) with no threshold and ends at (1, 1)', () => {
    const { points } = rocCurve([0, 1, 0, 1], [0.2, 0.4, 0.6, 0.8]);
    expect(points[0]).toEqual({ threshold: null, fpr: 0, tpr: 0 });
    expect(points[points.length - 1]).toMatchObject({ fpr: 1, tpr: 1, threshold: 0.2 });
    for (let i = 1; i < points.length; i++) {
      expect(points[i].fpr).toBeGreaterThanOrEqual(points[i - 1].fpr);
      expect(points[i].tpr).toBeGreaterThanOrEqual(points[i - 1].tpr);
    }
  });

  it('needs both classes', () => {
    expect(() => rocCurve([1, 1], [0.2, 0.3])).toThrow(/needs both classes/);
  });
});

describe('averagePrecision', () => {
  it('is the step-wise precision-recall area', () => {
    // Ranking 1, 0, 1: precision 1 at recall 0.5, 2/3 at recall 1 -> 0.5 * 1 + 0.5 * 2/3.
    expect(averagePrecision([1, 0, 1], [0.9, 0.8, 0.7])).toBeCloseTo(0.5 + 1 / 3, 15);
  });
});

describe('confusionAt and rates', () => {
  it('flags a study scoring exactly the threshold', () => {
    expect(confusionAt([1, 0, 1, 0], [0.5, 0.5, 0.2, 0.1], 0.5)).toEqual({ tp: 1, fp: 1, fn: 1, tn: 1 });
  });

  it('leaves a rate with no denominator undefined (null), not 0', () => {
    expect(rates({ tp: 0, fp: 0, fn: 0, tn: 5 })).toEqual({ sensitivity: null, specificity: 1, ppv: null, npv: 1 });
  });

  it('refuses a threshold outside [0, 1]', () => {
    expect(() => confusionAt([1], [0.5], 1.5)).toThrow(/threshold = 1.5/);
  });
});

describe('summarize', () => {
  it('reports AUC as null when the data hold one class', () => {
    expect(summarize([1, 1], [0.7, 0.8]).rocAuc).toBeNull();
    expect(summarize([1, 0], [0.7, 0.2])).toMatchObject({ rocAuc: 1, n: 2, nPos: 1 });
  });
});
