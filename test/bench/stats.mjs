/** Summary statistics for the benchmark's samples. */

/** Median, p90 and min of a list of milliseconds (nearest-rank percentiles). */
export function summary(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = q => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  return { n: sorted.length, median: at(0.5), p90: at(0.9), min: sorted[0] };
}

/** Least-squares slope of values against their index (units per sample). */
export function slope(values) {
  const n = values.length;
  if (n < 2) return 0;
  const mx = (n - 1) / 2;
  const my = values.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (i - mx) * (values[i] - my);
    den += (i - mx) ** 2;
  }
  return num / den;
}

/**
 * A memory series over consecutive analyses: first, last, peak, and the least-squares slope over
 * the last `tail` samples (the first ones include the session's own start-up allocations).
 */
export function trend(values, tail = 80) {
  const present = values.filter(v => typeof v === 'number');
  if (present.length === 0) return null;
  const last = present.slice(-tail);
  const perAnalysis = slope(last);
  return {
    n: present.length,
    first: present[0],
    last: present[present.length - 1],
    peak: Math.max(...present),
    slopePerAnalysis: perAnalysis,
    // Over the whole tail: what the slope would add in that many analyses.
    growthOverTail: perAnalysis * (last.length - 1),
  };
}
