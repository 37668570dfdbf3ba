import { DEFAULT_FRAME, histogramBars, linePath, reliabilityMarks, rocPath, xOf, yOf, type Frame } from './charts';

const FRAME: Frame = { width: 120, height: 120, margin: { top: 10, right: 10, bottom: 10, left: 10 } };

describe('chart geometry', () => {
  it('maps [0, 1] onto the plot area with y upwards', () => {
    expect(xOf(FRAME, 0)).toBe(10);
    expect(xOf(FRAME, 1)).toBe(110);
    expect(yOf(FRAME, 0)).toBe(110);
    expect(yOf(FRAME, 1)).toBe(10);
    expect(yOf(FRAME, 0.5)).toBe(60);
  });

  it('draws a line through the points in order', () => {
    expect(linePath(FRAME, [{ x: 0, y: 0 }, { x: 1, y: 1 }])).toBe('M10 110 L110 10');
    expect(linePath(FRAME, [])).toBe('');
  });

  it('puts a reliability dot at (mean predicted, observed) and skips empty bins', () => {
    const marks = reliabilityMarks(FRAME, [
      { lower: 0, upper: 0.5, count: 4, meanPredicted: 0.25, observedFraction: 0.75 },
      { lower: 0.5, upper: 1, count: 0, meanPredicted: null, observedFraction: null },
    ]);
    expect(marks).toHaveLength(1);
    expect(marks[0]).toMatchObject({ cx: 35, cy: 35 });
    expect(marks[0].radius).toBe(8);
  });

  it('sorts ROC points along the false-positive rate', () => {
    expect(rocPath(FRAME, [{ fpr: 1, tpr: 1 }, { fpr: 0, tpr: 0 }, { fpr: 0, tpr: 0.5 }])).toBe('M10 110 L10 60 L110 10');
  });

  it('scales histogram bars to a shared top and refuses mismatched edges', () => {
    const bars = histogramBars(FRAME, [0, 0.5, 1], [1, 2], 2);
    expect(bars[1]).toMatchObject({ x: 60, width: 50, y: 10, height: 100 });
    expect(bars[0].height).toBe(50);
    expect(() => histogramBars(DEFAULT_FRAME, [0, 1], [1, 2], 2)).toThrow('one edge more than values: got 2 edges for 2 values');
  });
});
