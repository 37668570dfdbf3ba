import { checkCohort, RefusalError, type CohortItem } from './cohort';
import { syntheticCohort } from '../testing/cohorts';

function balanced(nPos: number, nNeg: number): CohortItem[] {
  return [
    ...Array.from({ length: nPos }, (_, i) => ({ key: `p${i}`, logit: 1 + i / nPos, label: 1 as const })),
    ...Array.from({ length: nNeg }, (_, i) => ({ key: `n${i}`, logit: -1 - i / nNeg, label: 0 as const })),
  ];
}

describe('checkCohort', () => {
  it('accepts 100 cases with at least 20 of each class', () => {
    const check = checkCohort(balanced(20, 80));
    expect(check.ok).toBe(true);
    if (check.ok) expect([check.items.length, check.nPos, check.nNeg]).toEqual([100, 20, 80]);
  });

  it('refuses a cohort too small, naming the count and the minimum', () => {
    const check = checkCohort(balanced(30, 69));
    expect(check).toMatchObject({ ok: false, reasons: [expect.stringMatching(/only 99 labelled case\(s\).*at least 100/)] });
  });

  it('refuses a one-sided cohort, naming the short class', () => {
    const check = checkCohort(balanced(19, 200));
    expect(check.ok).toBe(false);
    if (!check.ok) expect(check.reasons).toEqual([expect.stringMatching(/only 19 pneumonia case\(s\); at least 20 of each class/)]);
  });

  it('leaves unsure labels out and counts them', () => {
    const cohort = [...balanced(50, 50), ...Array.from({ length: 7 }, (_, i) => ({ key: `u${i}`, logit: 0, label: 'unsure' as const }))];
    const check = checkCohort(cohort);
    expect(check.ok).toBe(true);
    expect(check.excluded.unsure).toBe(7);
  });

  it('leaves out and reports an image labelled both ways, and counts a repeat once', () => {
    const cohort = [...balanced(50, 50), { key: 'p0', logit: 1, label: 0 as const }, { key: 'n1', logit: -1, label: 0 as const }];
    const check = checkCohort(cohort);
    expect(check.excluded.contradictoryKeys).toEqual(['p0']);
    expect(check.excluded.duplicates).toBe(1);
    expect(check.ok).toBe(false);
    if (!check.ok) expect(check.reasons[0]).toMatch(/only 99 labelled case\(s\) after leaving out 0 unsure and 1 contradictory/);
  });

  it('refuses a cohort holding items scored by another model', () => {
    const sha = 'a'.repeat(64);
    const cohort = balanced(50, 60).map((it, i) => ({ ...it, modelSha256: i === 3 ? 'b'.repeat(64) : sha }));
    const check = checkCohort(cohort, { modelSha256: sha });
    expect(check.ok).toBe(false);
    if (!check.ok) expect(check.reasons).toEqual([expect.stringMatching(/1 item\(s\) were scored by another model.*"p3"/)]);
  });

  it('names a malformed item', () => {
    const cohort = [...balanced(50, 60), { key: 'x', logit: Number.NaN, label: 1 } as CohortItem];
    const check = checkCohort(cohort);
    if (check.ok) throw new Error('expected a refusal');
    expect(check.reasons[0]).toMatch(/item 110: logit NaN of "x" is not a finite number/);
  });

  it('takes stated minimums', () => {
    expect(checkCohort(syntheticCohort(40, 1), { minimums: { minCases: 30, minPerClass: 5 } }).ok).toBe(true);
  });
});

describe('RefusalError', () => {
  it('carries every reason and names them in its message', () => {
    const err = new RefusalError(['too small', 'one-sided']);
    expect(err).toBeInstanceOf(Error);
    expect(err.reasons).toEqual(['too small', 'one-sided']);
    expect(err.message).toBe('recalibration refused: too small; one-sided');
  });
});
