import { syntheticCohort } from '../testing/cohorts';
import { MIN_ISOTONIC_CASES, oneSeChoice, repeatedStratifiedFolds, selectByCv } from './select';

function arrays(n: number, seed: number, a = 1, b = 0): { z: number[]; y: number[] } {
  const c = syntheticCohort(n, seed, a, b);
  return { z: c.map((i) => i.logit), y: c.map((i) => i.label as number) };
}

describe('repeatedStratifiedFolds', () => {
  it('deals each class evenly over the folds, reproducibly, and differently per repeat', () => {
    const y = [...Array(23).fill(0), ...Array(12).fill(1)];
    const rows = repeatedStratifiedFolds(y, 5, 3, 7);
    expect(repeatedStratifiedFolds(y, 5, 3, 7)).toEqual(rows);
    for (const row of rows) {
      for (const [label, size] of [[0, 23], [1, 12]]) {
        const counts = [0, 1, 2, 3, 4].map((f) => row.filter((v, i) => v === f && y[i] === label).length);
        expect(Math.min(...counts)).toBe(Math.floor(size / 5));
        expect(Math.max(...counts)).toBe(Math.ceil(size / 5));
      }
    }
    expect(rows[1]).not.toEqual(rows[0]);
  });
});

describe('oneSeChoice', () => {
  const zeros = [0, 0, 0, 0];
  it('keeps the simpler method unless the other wins by more than one standard error', () => {
    const simple = [1, 1, 1, 1];
    const close = simple.map((v, i) => v - [0.2, -0.1, 0.3, 0][i]);
    let out = oneSeChoice({ none: simple, temperature: close }, { none: zeros, temperature: zeros });
    expect([out.best, out.selected]).toEqual(['temperature', 'temperature']);
    expect(out.oof.none?.nllMinusBest).toBeCloseTo(0.1, 15);
    const noisy = simple.map((v, i) => v - [0.4, -0.3, 0.3, 0][i]);
    out = oneSeChoice({ none: simple, temperature: noisy }, { none: zeros, temperature: zeros });
    expect([out.best, out.selected]).toEqual(['temperature', 'none']);
  });

  it('breaks equal log loss by Brier, then by simplicity', () => {
    const out = oneSeChoice(
      { none: [0.5, 0.7], temperature: [0.6, 0.6], platt: [0.7, 0.5] },
      { none: [0.2, 0.2], temperature: [0.1, 0.2], platt: [0.1, 0.2] },
    );
    expect(out.best).toBe('temperature');
    expect(out.selected).toBe('none');
  });
});

describe('selectByCv', () => {
  it('keeps the raw score when the logits are already calibrated', () => {
    const { z, y } = arrays(600, 21);
    expect(selectByCv(z, y).selected).toBe('none');
  });

  it('picks Platt for a prior shift temperature cannot reach', () => {
    const { z, y } = arrays(600, 22, 0.5, -1);
    const sel = selectByCv(z, y);
    expect(sel.selected).toBe('platt');
    expect((sel.oof.platt?.nll as number) < (sel.oof.temperature?.nll as number)).toBe(true);
  });

  it('admits isotonic only from 1,000 cases', () => {
    const { z, y } = arrays(MIN_ISOTONIC_CASES, 23);
    expect(selectByCv(z, y, { repeats: 1 }).candidates).toContain('isotonic');
    expect(selectByCv(z.slice(1), y.slice(1), { repeats: 1 }).candidates).not.toContain('isotonic');
  });

  it('refuses a class too small to cross-validate, and bad options, naming them', () => {
    expect(() => selectByCv([0.1, 0.2, 0.3, 0.4], [0, 0, 0, 1])).toThrow(/at least 2 cases of each class/);
    expect(() => selectByCv([0.1, 0.2, 0.3, 0.4], [0, 1, 0, 1], { folds: 1 })).toThrow(/folds must be an integer >= 2, got 1/);
  });
});
