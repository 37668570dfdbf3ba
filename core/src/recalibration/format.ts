/** Words and numbers of the calibration and monitoring pages, kept apart so they are tested. */

export function percent(value: number | null | undefined, digits = 1): string {
  return value === null || value === undefined || !Number.isFinite(value) ? '–' : `${(value * 100).toFixed(digits)} %`;
}

export function decimal(value: number | null | undefined, digits = 3): string {
  return value === null || value === undefined || !Number.isFinite(value) ? '–' : value.toFixed(digits);
}

/** "62.0 % (95 % CI 55.0 % to 70.0 %)" or without the interval when a bound is unknown. */
export function withInterval(value: number | null, low: number | null, high: number | null, level = 0.95): string {
  if (value === null) return '–';
  if (low === null || high === null) return percent(value);
  return `${percent(value)} (${Math.round(level * 100)} % CI ${percent(low)} to ${percent(high)})`;
}

const METHOD_NAMES: Readonly<Record<string, string>> = {
  none: 'no calibration (sigmoid of the logit)',
  temperature: 'temperature scaling',
  platt: 'Platt scaling',
  isotonic: 'isotonic regression',
  current: 'the active calibration',
};

export function methodName(method: string): string {
  return METHOD_NAMES[method] ?? method;
}

/** Time left in words, for the scoring progress. */
export function etaText(ms: number | null): string {
  if (ms === null) return '';
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 60 ? `about ${s} s left` : `about ${Math.round(s / 60)} min left`;
}
