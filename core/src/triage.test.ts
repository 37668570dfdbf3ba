import {
  checkRecord,
  compareByRisk,
  compareUsual,
  GROUP_ORDER,
  holdOrder,
  isCurrent,
  orderByDate,
  orderByRisk,
  perMinute,
  recordKey,
  remainingMs,
  studyStatus,
  type ModelIdentity,
  type ResultRecord,
  type RiskSortEntry,
  type StudyStatus,
  type TriageEntry,
} from './triage';

const SHA_A = 'a'.repeat(64);
const SHA_B = 'b'.repeat(64);
const MODEL: ModelIdentity = { modelSha256: SHA_A, calibrationVersion: '1' };

function scored(study: string, probability: number, over: Partial<ResultRecord> = {}): ResultRecord {
  return {
    studyInstanceUID: study,
    seriesInstanceUID: `${study}.1`,
    sopInstanceUID: `${study}.1.1`,
    modelSha256: SHA_A,
    calibrationVersion: '1',
    analyzedAt: 1000,
    status: 'scored',
    probability,
    ...over,
  } as ResultRecord;
}

function failed(study: string, reason: string, over: Partial<ResultRecord> = {}): ResultRecord {
  return { ...scored(study, 0, over), status: 'failed', reason, ...over } as unknown as ResultRecord;
}

function unverified(study: string, reason: string, over: Partial<ResultRecord> & { conflict?: boolean } = {}): ResultRecord {
  return { ...scored(study, 0, over), status: 'unverified', reason, ...over } as unknown as ResultRecord;
}

function refused(study: string, reason: string, over: Partial<ResultRecord> = {}): ResultRecord {
  return { ...scored(study, 0, over), status: 'refused', code: 'non-frontal-view', reason, ...over } as unknown as ResultRecord;
}

const entry = (uid: string, status: StudyStatus, date = '20260101', time = '120000'): TriageEntry => ({
  studyInstanceUID: uid,
  date,
  time,
  status,
});
const score = (probability: number): StudyStatus => ({
  kind: 'scored',
  probability,
  image: { studyInstanceUID: 's', seriesInstanceUID: 'se', sopInstanceUID: 'i' },
  analyzedAt: 0,
  failedImages: 0,
});
const uids = (entries: readonly TriageEntry[]) => entries.map(e => e.studyInstanceUID);

describe('recordKey', () => {
  it('is study, series, instance, model sha256 (lower case) and calibration version', () => {
    expect(recordKey(scored('1.2', 0.5, { modelSha256: SHA_A.toUpperCase() }))).toEqual(['1.2', '1.2.1', '1.2.1.1', SHA_A, '1']);
  });

  it('differs when only the model or only the calibration differs', () => {
    const base = recordKey(scored('1.2', 0.5));
    expect(recordKey(scored('1.2', 0.5, { modelSha256: SHA_B }))).not.toEqual(base);
    expect(recordKey(scored('1.2', 0.5, { calibrationVersion: '2' }))).not.toEqual(base);
  });

  it.each([
    ['studyInstanceUID', { studyInstanceUID: '' }],
    ['seriesInstanceUID', { seriesInstanceUID: undefined }],
    ['sopInstanceUID', { sopInstanceUID: '' }],
    ['calibrationVersion', { calibrationVersion: '' }],
  ])('refuses a result without its %s', (name, over) => {
    expect(() => recordKey({ ...scored('1.2', 0.5), ...over } as ResultRecord)).toThrow(name);
  });

  it('refuses a model hash that is not a sha256, naming it', () => {
    expect(() => recordKey(scored('1.2', 0.5, { modelSha256: 'abc' }))).toThrow('"abc"');
  });
});

describe('checkRecord', () => {
  it('refuses a score outside [0, 1] and a failure without a reason', () => {
    expect(() => checkRecord(scored('1', 1.5))).toThrow('1.5');
    expect(() => checkRecord(scored('1', Number.NaN))).toThrow('NaN');
    expect(() => checkRecord(failed('1', ''))).toThrow('reason');
    expect(checkRecord(scored('1', 1))).toEqual(scored('1', 1));
  });
});

describe('studyStatus', () => {
  const facts = (records: ResultRecord[], over = {}) => ({ records, applicable: true, ...over });

  it('is unanalyzed without results, and not applicable without CR/DX images', () => {
    expect(studyStatus(facts([]), MODEL)).toEqual({ kind: 'unanalyzed' });
    expect(studyStatus(facts([], { applicable: false, notApplicableReason: 'this study has CT' }), MODEL)).toEqual({
      kind: 'not-applicable',
      reason: 'this study has CT',
    });
  });

  it('scores a study by its highest current score and names the image that gave it', () => {
    const status = studyStatus(
      facts([
        scored('s', 0.2, { seriesInstanceUID: 'a', sopInstanceUID: 'a1' }),
        scored('s', 0.9, { seriesInstanceUID: 'b', sopInstanceUID: 'b1', analyzedAt: 7 }),
        failed('s', 'corrupt', { seriesInstanceUID: 'c', sopInstanceUID: 'c1' }),
      ]),
      MODEL,
    );
    expect(status).toEqual({
      kind: 'scored',
      probability: 0.9,
      image: { studyInstanceUID: 's', seriesInstanceUID: 'b', sopInstanceUID: 'b1' },
      analyzedAt: 7,
      failedImages: 1,
    });
  });

  it('names the same image whatever order equal scores come in', () => {
    const a = scored('s', 0.8, { seriesInstanceUID: 'a', sopInstanceUID: 'a1' });
    const b = scored('s', 0.8, { seriesInstanceUID: 'b', sopInstanceUID: 'b1' });
    const first = studyStatus(facts([a, b]), MODEL);
    const second = studyStatus(facts([b, a]), MODEL);
    expect(first).toEqual(second);
    expect(first.kind === 'scored' && first.image.seriesInstanceUID).toBe('a');
  });

  it('marks results of another model or another calibration stale, never scored', () => {
    const byOtherModel = studyStatus(facts([scored('s', 0.9, { modelSha256: SHA_B })]), MODEL);
    expect(byOtherModel).toEqual({ kind: 'stale', scoredBy: { modelSha256: SHA_B, calibrationVersion: '1' }, analyzedAt: 1000 });
    const byOtherCalibration = studyStatus(facts([scored('s', 0.9, { calibrationVersion: '0' })]), MODEL);
    expect(byOtherCalibration.kind).toBe('stale');
  });

  it('does not mix a stale score into a current one', () => {
    const status = studyStatus(
      facts([scored('s', 0.99, { modelSha256: SHA_B, sopInstanceUID: 'old' }), scored('s', 0.3, { sopInstanceUID: 'new' })]),
      MODEL,
    );
    expect(status.kind === 'scored' && [status.probability, status.image.sopInstanceUID]).toEqual([0.3, 'new']);
  });

  it('reports the latest current failure, and a failure of another model not at all', () => {
    expect(studyStatus(facts([failed('s', 'first', { analyzedAt: 1 }), failed('s', 'second', { analyzedAt: 2 })]), MODEL)).toEqual({
      kind: 'failed',
      reason: 'second',
    });
    expect(studyStatus(facts([failed('s', 'old model', { modelSha256: SHA_B })]), MODEL)).toEqual({ kind: 'unanalyzed' });
  });

  it('shows an unverified SR, of this model or another, as unverified with its reason: never a score, never stale', () => {
    const planted = unverified('s', 'unverified result: decision "below" contradicts score 0.9');
    expect(studyStatus(facts([planted]), MODEL)).toEqual({ kind: 'unverified', reason: 'unverified result: decision "below" contradicts score 0.9', conflict: false });
    const otherBytes = unverified('s', 'unverified result: made by model sha256 bbbb', { modelSha256: SHA_B });
    expect(studyStatus(facts([otherBytes, scored('s', 0.4, { modelSha256: SHA_B })]), MODEL).kind).toBe('unverified');
  });

  it('shows a conflict as such, before any plain unverified SR of the study', () => {
    const status = studyStatus(
      facts([unverified('s', 'unverified result: foreign UID', { sopInstanceUID: 'x' }), unverified('s', 'conflicting results: 2 disagree', { conflict: true })]),
      MODEL,
    );
    expect(status).toEqual({ kind: 'unverified', reason: 'conflicting results: 2 disagree', conflict: true });
  });

  it('shows an unverified SR before a failure or a refusal of the study: it may be planted, a person looks first', () => {
    const planted = unverified('s', 'planted', { sopInstanceUID: 'pa' });
    expect(studyStatus(facts([refused('s', 'a LL view', { sopInstanceUID: 'lat' }), planted]), MODEL).kind).toBe('unverified');
    expect(studyStatus(facts([failed('s', 'corrupt', { sopInstanceUID: 'lat' }), planted]), MODEL).kind).toBe('unverified');
  });

  it('ranks a verified current score, and counts the images with only an unverified result', () => {
    const status = studyStatus(facts([scored('s', 0.3, { sopInstanceUID: 'a' }), unverified('s', 'planted', { sopInstanceUID: 'b' }), unverified('s', 'planted', { sopInstanceUID: 'a' })]), MODEL);
    expect(status).toMatchObject({ kind: 'scored', probability: 0.3, unverifiedImages: 1 });
  });

  it('refuses an unverified record without its reason', () => {
    expect(() => checkRecord(unverified('s', ''))).toThrow('an unverified triage result needs its reason');
  });

  it('shows a study whose only current results are refusals as refused, with the reason, and never as a score', () => {
    expect(studyStatus(facts([refused('s', 'a LL view')]), MODEL)).toEqual({ kind: 'refused', code: 'non-frontal-view', reason: 'a LL view' });
    // The frontal view of the same study is scored: that score is the study's, the lateral adds nothing.
    const both = studyStatus(facts([refused('s', 'a LL view', { sopInstanceUID: 'lat' }), scored('s', 0.7, { sopInstanceUID: 'pa' })]), MODEL);
    expect(both.kind === 'scored' && [both.probability, both.image.sopInstanceUID, both.failedImages]).toEqual([0.7, 'pa', 0]);
    // A failure needs a person's look first.
    expect(studyStatus(facts([refused('s', 'a LL view', { sopInstanceUID: 'lat' }), failed('s', 'corrupt')]), MODEL).kind).toBe('failed');
    expect(studyStatus(facts([refused('s', 'a LL view', { modelSha256: SHA_B })]), MODEL)).toEqual({ kind: 'unanalyzed' });
  });

  it('refuses to store a refusal without its code or reason', () => {
    expect(() => checkRecord(refused('s', ''))).toThrow(/code and reason/);
    expect(() => checkRecord({ ...refused('s', 'a LL view'), code: '' } as ResultRecord)).toThrow(/code and reason/);
  });

  it('lets a study-level problem of the last run explain an unscored study, not hide a score', () => {
    const problem = { kind: 'failed' as const, reason: 'series could not be listed' };
    expect(studyStatus(facts([], { problem }), MODEL)).toEqual({ kind: 'failed', reason: 'series could not be listed' });
    expect(studyStatus(facts([scored('s', 0.4)], { problem }), MODEL).kind).toBe('scored');
    expect(studyStatus(facts([], { problem: { kind: 'not-applicable', reason: 'no CR or DX image' } }), MODEL)).toEqual({
      kind: 'not-applicable',
      reason: 'no CR or DX image',
    });
  });

  it('treats the sha256 case-insensitively', () => {
    expect(isCurrent({ modelSha256: SHA_A.toUpperCase(), calibrationVersion: '1' }, MODEL)).toBe(true);
    expect(isCurrent({ modelSha256: SHA_A, calibrationVersion: '1.0' }, MODEL)).toBe(false);
  });
});

describe('orderByRisk', () => {
  it('puts scored studies first, highest score first, then unverified, failed, refused, stale, unanalyzed, not applicable', () => {
    const entries = [
      entry('unv', { kind: 'unverified', reason: 'decision contradicts score', conflict: false }),
      entry('ref', { kind: 'refused', code: 'for-processing', reason: 'a FOR PROCESSING image' }),
      entry('na', { kind: 'not-applicable', reason: 'CT' }),
      entry('un', { kind: 'unanalyzed' }),
      entry('low', score(0.1)),
      entry('st', { kind: 'stale', scoredBy: MODEL, analyzedAt: 0 }),
      entry('fail', { kind: 'failed', reason: 'corrupt' }),
      entry('high', score(0.95)),
      entry('mid', score(0.5)),
    ];
    expect(uids(orderByRisk(entries))).toEqual(['high', 'mid', 'low', 'unv', 'fail', 'ref', 'st', 'un', 'na']);
    expect(GROUP_ORDER).toEqual(['scored', 'unverified', 'failed', 'refused', 'stale', 'unanalyzed', 'not-applicable']);
  });

  it('keeps every study, and does not change its input', () => {
    const entries = Array.from({ length: 30 }, (_, i) => entry(`s${i}`, i % 3 === 0 ? { kind: 'unanalyzed' } : score((i * 7) % 10 / 10)));
    const copy = [...entries];
    const ordered = orderByRisk(entries);
    expect(entries).toEqual(copy);
    expect(new Set(uids(ordered))).toEqual(new Set(uids(entries)));
    expect(ordered).toHaveLength(30);
  });

  it('breaks equal scores by study date, newest first, then by UID, whatever the input order', () => {
    const entries = [
      entry('2.b', score(0.75), '20260101'),
      entry('3', score(0.75), '20260105'),
      entry('2.a', score(0.75), '20260101'),
      entry('1', score(0.75), '20260103'),
    ];
    const expected = ['3', '1', '2.a', '2.b'];
    expect(uids(orderByRisk(entries))).toEqual(expected);
    expect(uids(orderByRisk([...entries].reverse()))).toEqual(expected);
  });

  it('orders each unscored group by the usual order', () => {
    const entries = [
      entry('old', { kind: 'unanalyzed' }, '20250101'),
      entry('new', { kind: 'unanalyzed' }, '20260101'),
      entry('stale-old', { kind: 'stale', scoredBy: MODEL, analyzedAt: 0 }, '20240101'),
      entry('stale-new', { kind: 'stale', scoredBy: MODEL, analyzedAt: 0 }, '20260301'),
    ];
    expect(uids(orderByRisk(entries))).toEqual(['stale-new', 'stale-old', 'new', 'old']);
  });
});

describe('compareByRisk', () => {
  const sorted = (entries: readonly RiskSortEntry[], direction: 'desc' | 'asc') =>
    [...entries].sort((a, b) => compareByRisk(a, b, direction)).map(e => e.studyInstanceUID);
  const mixed: RiskSortEntry[] = [
    { ...entry('na', { kind: 'not-applicable', reason: 'CT' }) },
    { studyInstanceUID: 'reading', date: '20260101', time: '120000', status: null },
    entry('un', { kind: 'unanalyzed' }),
    entry('low', score(0.1)),
    entry('st', { kind: 'stale', scoredBy: MODEL, analyzedAt: 0 }),
    entry('fail', { kind: 'failed', reason: 'corrupt' }),
    entry('high', score(0.95)),
    entry('unv', { kind: 'unverified', reason: 'x', conflict: false }),
    entry('ref', { kind: 'refused', code: 'for-processing', reason: 'a FOR PROCESSING image' }),
    entry('mid', score(0.5)),
  ];

  it('descending: highest score first, then the unscored groups in GROUP_ORDER, those still being read last', () => {
    expect(sorted(mixed, 'desc')).toEqual(['high', 'mid', 'low', 'unv', 'fail', 'ref', 'st', 'un', 'na', 'reading']);
  });

  it('ascending turns the scores round only: the unscored rows stay after them, in the same order', () => {
    expect(sorted(mixed, 'asc')).toEqual(['low', 'mid', 'high', 'unv', 'fail', 'ref', 'st', 'un', 'na', 'reading']);
  });

  it('keeps the usual order (newest first) inside equal scores and inside each unscored group, in both directions', () => {
    const entries = [
      entry('tie-old', score(0.75), '20250101'),
      entry('tie-new', score(0.75), '20260101'),
      entry('un-old', { kind: 'unanalyzed' }, '20250101'),
      entry('un-new', { kind: 'unanalyzed' }, '20260101'),
    ];
    expect(sorted(entries, 'desc')).toEqual(['tie-new', 'tie-old', 'un-new', 'un-old']);
    expect(sorted(entries, 'asc')).toEqual(['tie-new', 'tie-old', 'un-new', 'un-old']);
    expect(sorted([...entries].reverse(), 'asc')).toEqual(['tie-new', 'tie-old', 'un-new', 'un-old']);
  });

  it('is the rule orderByRisk uses', () => {
    const known = mixed.filter((e): e is TriageEntry => e.status !== null);
    expect(uids(orderByRisk(known))).toEqual(sorted(known, 'desc'));
  });
});

describe('orderByDate and compareUsual', () => {
  it('is the usual order whatever the scores: newest first, time breaking a shared date', () => {
    const entries = [
      entry('a', score(0.99), '20260101', '080000'),
      entry('b', { kind: 'unanalyzed' }, '20260102', '070000'),
      entry('c', score(0.01), '20260101', '093000.123'),
    ];
    expect(uids(orderByDate(entries))).toEqual(['b', 'c', 'a']);
  });

  it('puts studies without a date last', () => {
    const entries = [entry('none', score(1), ''), entry('dated', score(0), '19990101')];
    expect(uids(orderByDate(entries))).toEqual(['dated', 'none']);
    expect(compareUsual(entries[0], entries[0])).toBe(0);
  });

  it('reads a time without seconds as the start of that minute', () => {
    const entries = [entry('hhmm', score(0), '20260101', '1200'), entry('hhmmss', score(0), '20260101', '120001')];
    expect(uids(orderByDate(entries))).toEqual(['hhmmss', 'hhmm']);
  });
});

describe('holdOrder', () => {
  it('applies the new order when nothing holds it', () => {
    expect(holdOrder(['a', 'b', 'c'], ['c', 'a', 'b'], false)).toEqual(['c', 'a', 'b']);
  });

  it('keeps rows where they are while held, adding new rows at the end and dropping gone ones', () => {
    expect(holdOrder(['a', 'b', 'c'], ['c', 'a', 'b'], true)).toEqual(['a', 'b', 'c']);
    expect(holdOrder(['a', 'b', 'c'], ['d', 'c', 'a'], true)).toEqual(['a', 'c', 'd']);
  });
});

describe('remainingMs and perMinute', () => {
  it('estimates from the recent studies only', () => {
    expect(remainingMs([10_000, 100, 300], 4, 2)).toBe(800);
    expect(remainingMs([100, 300], 0)).toBe(0);
    expect(remainingMs([], 3)).toBeNull();
  });

  it('refuses nonsense counts', () => {
    expect(() => remainingMs([1], -1)).toThrow('-1');
    expect(() => remainingMs([1], 1, 0)).toThrow('window');
  });

  it('gives studies per minute', () => {
    expect(perMinute(24, 30_000)).toBe(48);
    expect(perMinute(3, 0)).toBe(0);
  });
});
