/**
 * Monitoring maths: errors at the active threshold over time from readers' feedback, drift of
 * the score distribution against the manifest's reference histogram, and CSV export.
 */
import { InputError, show } from '../errors';

/** One feedback record: the score the reader saw and the ground truth they recorded. */
export interface FeedbackRow {
  /** When the feedback was recorded: ISO 8601 text or epoch milliseconds. */
  readonly time: string | number;
  /** The calibrated probability shown for the image. */
  readonly probability: number;
  readonly label: 0 | 1 | 'unsure';
}

/** Bucket size of monitoringSummary: UTC calendar days or ISO weeks (Monday 00:00 UTC). */
export type BucketSize = 'day' | 'week';

/** A proportion with its 95 % Wilson score interval; all null when the denominator is 0. */
export interface Proportion {
  readonly value: number | null;
  readonly low: number | null;
  readonly high: number | null;
  readonly successes: number;
  readonly total: number;
}

/** Counts in one time bucket plus the running (cumulative) rates up to its end. */
export interface MonitoringBucket {
  /** Bucket start, ISO date (YYYY-MM-DD) of the UTC day or of the week's Monday. */
  readonly start: string;
  readonly tp: number;
  readonly fp: number;
  readonly tn: number;
  readonly fn: number;
  /** Feedback marked unsure in this bucket (not in the counts). */
  readonly unsure: number;
  readonly cumulativeSensitivity: Proportion;
  readonly cumulativeSpecificity: Proportion;
}

/** Per-bucket counts and running rates at one threshold. */
export interface MonitoringSummary {
  readonly threshold: number;
  readonly bucket: BucketSize;
  readonly buckets: readonly MonitoringBucket[];
  readonly total: { readonly tp: number; readonly fp: number; readonly tn: number; readonly fn: number; readonly unsure: number };
  readonly intervalMethod: 'wilson-95';
}

const Z95 = 1.959963984540054;

/**
 * Wilson score interval (95 %). Chosen over the training manifest's bootstrap because monitoring
 * only has counts, over the Wald interval because it stays inside [0, 1] and is honest at 0/n and
 * n/n, which running counts early in a deployment often are.
 */
export function wilsonInterval(successes: number, total: number): Proportion {
  if (!Number.isInteger(successes) || !Number.isInteger(total) || successes < 0 || successes > total) {
    throw new InputError(`proportion ${show(successes)}/${show(total)} is not a count out of a total`);
  }
  if (total === 0) return { value: null, low: null, high: null, successes, total };
  const phat = successes / total;
  const z2 = Z95 * Z95;
  const denom = 1 + z2 / total;
  const centre = (phat + z2 / (2 * total)) / denom;
  const half = (Z95 * Math.sqrt((phat * (1 - phat)) / total + z2 / (4 * total * total))) / denom;
  return { value: phat, low: Math.max(0, centre - half), high: Math.min(1, centre + half), successes, total };
}

function toMillis(time: string | number, i: number): number {
  const ms = typeof time === 'number' ? time : typeof time === 'string' ? Date.parse(time) : NaN;
  if (!Number.isFinite(ms)) throw new InputError(`feedback row ${i}: time ${show(time)} is not a date`);
  return ms;
}

const DAY_MS = 86_400_000;

function bucketStart(ms: number, bucket: BucketSize): number {
  const day = Math.floor(ms / DAY_MS) * DAY_MS;
  if (bucket === 'day') return day;
  // 1970-01-01 was a Thursday; getUTCDay: 0 Sunday .. 6 Saturday. Back up to Monday.
  const weekday = new Date(day).getUTCDay();
  return day - ((weekday + 6) % 7) * DAY_MS;
}

/**
 * TP/FP/TN/FN at `threshold` (flag iff probability >= threshold) per UTC day or ISO week, in time
 * order, each with the running sensitivity and specificity (Wilson 95 %) over all feedback up to
 * the end of that bucket. Unsure feedback is counted separately; empty buckets are not listed.
 */
export function monitoringSummary(rows: readonly FeedbackRow[], threshold: number, options: { readonly bucket?: BucketSize } = {}): MonitoringSummary {
  const bucket = options.bucket ?? 'day';
  if (bucket !== 'day' && bucket !== 'week') throw new InputError(`bucket = ${show(bucket)} must be "day" or "week"`);
  if (typeof threshold !== 'number' || !(threshold >= 0 && threshold <= 1)) throw new InputError(`threshold = ${show(threshold)} is not a probability in [0, 1]`);
  const byStart = new Map<number, { tp: number; fp: number; tn: number; fn: number; unsure: number }>();
  rows.forEach((row, i) => {
    const start = bucketStart(toMillis(row.time, i), bucket);
    if (!byStart.has(start)) byStart.set(start, { tp: 0, fp: 0, tn: 0, fn: 0, unsure: 0 });
    const c = byStart.get(start) as { tp: number; fp: number; tn: number; fn: number; unsure: number };
    if (row.label === 'unsure') {
      c.unsure++;
      return;
    }
    if (row.label !== 0 && row.label !== 1) throw new InputError(`feedback row ${i}: label ${show(row.label)} is not 0, 1 or "unsure"`);
    if (typeof row.probability !== 'number' || !(row.probability >= 0 && row.probability <= 1)) {
      throw new InputError(`feedback row ${i}: probability ${show(row.probability)} is not in [0, 1]`);
    }
    const flagged = row.probability >= threshold;
    if (row.label === 1) {
      if (flagged) c.tp++;
      else c.fn++;
    } else if (flagged) c.fp++;
    else c.tn++;
  });
  const total = { tp: 0, fp: 0, tn: 0, fn: 0, unsure: 0 };
  const buckets: MonitoringBucket[] = [...byStart.keys()]
    .sort((a, b) => a - b)
    .map((start) => {
      const c = byStart.get(start) as typeof total;
      total.tp += c.tp;
      total.fp += c.fp;
      total.tn += c.tn;
      total.fn += c.fn;
      total.unsure += c.unsure;
      return {
        start: new Date(start).toISOString().slice(0, 10),
        ...c,
        cumulativeSensitivity: wilsonInterval(total.tp, total.tp + total.fn),
        cumulativeSpecificity: wilsonInterval(total.tn, total.tn + total.fp),
      };
    });
  return { threshold, bucket, buckets, total, intervalMethod: 'wilson-95' };
}

/** The manifest's reference histogram of calibrated scores (reference_distribution). */
export interface ReferenceDistribution {
  readonly bin_edges: readonly number[];
  readonly counts: readonly number[];
}

/** Drift level by the usual PSI rule of thumb. */
export type DriftLevel = 'stable' | 'moderate' | 'significant';

/** PSI below this is stable. */
export const PSI_MODERATE = 0.1;
/** PSI at or above this is a significant shift: the monitoring page warns. */
export const PSI_WARNING = 0.25;
/** Floor on a bin's fraction so an empty bin adds a large but finite term instead of infinity. */
export const PSI_EPSILON = 1e-4;

/** Population stability index of scores against a reference histogram, per bin and in total. */
export interface PsiResult {
  readonly psi: number;
  readonly level: DriftLevel;
  /** True when psi >= PSI_WARNING (0.25). */
  readonly warning: boolean;
  readonly bins: readonly { readonly lower: number; readonly upper: number; readonly reference: number; readonly observed: number; readonly term: number }[];
  readonly n: number;
  readonly referenceN: number;
  /** Scores outside the reference edges, counted in the nearest end bin. */
  readonly outOfRange: number;
}

/**
 * PSI = sum over bins of (o - r) ln(o / r), with o and r the observed and reference fractions,
 * each floored at PSI_EPSILON (1e-4) so empty bins stay finite. Bins are the reference's edges
 * with np.histogram's convention ([e_i, e_i+1), last bin closed), as training wrote them.
 * Levels: < 0.1 stable, 0.1 to < 0.25 moderate, >= 0.25 significant (warning).
 */
export function populationStabilityIndex(scores: readonly number[], reference: ReferenceDistribution): PsiResult {
  const edges = reference?.bin_edges;
  const counts = reference?.counts;
  if (!Array.isArray(edges) || !Array.isArray(counts) || edges.length !== counts.length + 1 || counts.length < 1) {
    throw new InputError(`reference distribution needs bin_edges one longer than counts, got ${show(edges?.length)} edges and ${show(counts?.length)} counts`);
  }
  for (let i = 1; i < edges.length; i++) {
    if (!(edges[i] > edges[i - 1])) throw new InputError(`reference bin_edges[${i}] = ${show(edges[i])} is not above bin_edges[${i - 1}] = ${show(edges[i - 1])}`);
  }
  counts.forEach((c, i) => {
    if (!Number.isInteger(c) || c < 0) throw new InputError(`reference counts[${i}] = ${show(c)} is not a non-negative integer`);
  });
  const referenceN = counts.reduce((a, b) => a + b, 0);
  if (referenceN === 0) throw new InputError('reference distribution has no counts');
  if (scores.length === 0) throw new InputError('no scores to compare with the reference distribution');
  const nb = counts.length;
  const observed = new Array<number>(nb).fill(0);
  let outOfRange = 0;
  scores.forEach((s, i) => {
    if (typeof s !== 'number' || !Number.isFinite(s)) throw new InputError(`scores[${i}] = ${show(s)} is not finite`);
    if (s < edges[0] || s > edges[nb]) outOfRange++;
    let lo = 0;
    let hi = nb;
    // Largest b with edges[b] <= s, clipped to the bins.
    while (hi - lo > 1) {
      const mid = (lo + hi) >>> 1;
      if (edges[mid] <= s) lo = mid;
      else hi = mid;
    }
    observed[lo]++;
  });
  let psi = 0;
  const bins = counts.map((c, b) => {
    const r = Math.max(c / referenceN, PSI_EPSILON);
    const o = Math.max(observed[b] / scores.length, PSI_EPSILON);
    const term = (o - r) * Math.log(o / r);
    psi += term;
    return { lower: edges[b], upper: edges[b + 1], reference: c / referenceN, observed: observed[b] / scores.length, term };
  });
  const level: DriftLevel = psi >= PSI_WARNING ? 'significant' : psi >= PSI_MODERATE ? 'moderate' : 'stable';
  return { psi, level, warning: psi >= PSI_WARNING, bins, n: scores.length, referenceN, outOfRange };
}

/** A CSV cell value; null and undefined become empty cells. */
export type CsvValue = string | number | boolean | null | undefined;

/** What a spreadsheet may take for the start of a formula (OWASP, CSV Injection). */
const FORMULA_START = /^[=+\-@\t\r]/;

function csvCell(v: CsvValue): string {
  if (v === null || v === undefined) return '';
  const text = String(v);
  // OWASP: a text cell starting with =, +, -, @, tab or carriage return gets a leading apostrophe,
  // so a spreadsheet shows it as text instead of running it. No exemption for text that looks
  // numeric: "-1+cmd|' /C calc'!A0" starts with a number too. A number (typeof 'number') is
  // written as is: String(number) is a sign, digits, a point and an exponent, or NaN/Infinity,
  // nothing a spreadsheet can run.
  const guarded = typeof v === 'string' && FORMULA_START.test(text) ? `'${text}` : text;
  // RFC 4180: quote cells holding a comma, quote or line break; double inner quotes.
  return /[",\r\n]/.test(guarded) ? `"${guarded.replace(/"/g, '""')}"` : guarded;
}

/**
 * RFC 4180 CSV of objects: a header of the columns (given, or the keys of the first row in
 * order), CRLF line ends, quoting where needed, formula-looking text defused.
 *
 * Negative values: pass numbers as numbers. -0.5 is written -0.5; the string '-0.5' is written
 * '-0.5 with the apostrophe, like any text starting with "-", and a spreadsheet shows it as text.
 * Telling a number from text by its type rather than its look is what keeps "-1+cmd|..." out.
 */
export function toCsv(rows: readonly Readonly<Record<string, CsvValue>>[], columns?: readonly string[]): string {
  const cols = columns ?? (rows.length ? Object.keys(rows[0]) : []);
  if (!cols.length) throw new InputError('toCsv needs columns or at least one row');
  const lines = [cols.map(csvCell).join(',')];
  for (const row of rows) lines.push(cols.map((c) => csvCell(row[c])).join(','));
  return lines.join('\r\n') + '\r\n';
}
