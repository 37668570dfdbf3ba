/**
 * Numbers, percentages, sizes and dates in the active locale, through Intl: 0.734 reads "73.4%"
 * in English and "73,4 %" in Spanish. Nothing the reader sees is formatted with toFixed.
 */
import { translator } from './translate';

// Formatters are kept, not built per call: building an Intl.DateTimeFormat takes about a
// millisecond, and the triage page formats every row's date on each progress update of a batch.
const formats = new Map<string, unknown>();

/** The formatter of this kind, locale and options, made once. */
function kept<T>(kind: string, locale: string, options: object, make: () => T): T {
  const key = `${kind}|${locale}|${JSON.stringify(options)}`;
  let format = formats.get(key) as T | undefined;
  if (format === undefined) {
    format = make();
    formats.set(key, format);
  }
  return format;
}

const numberFormat = (locale: string, options: Intl.NumberFormatOptions) => kept('number', locale, options, () => new Intl.NumberFormat(locale, options));
const dateFormat = (locale: string, options: Intl.DateTimeFormatOptions) => kept('date', locale, options, () => new Intl.DateTimeFormat(locale, options));

/** Items joined with the locale's "or": "CR or DX" / "CR o DX". */
export function orList(items: readonly string[]): string {
  const locale = translator().locale;
  return kept('list', locale, { type: 'disjunction' }, () => new Intl.ListFormat(locale, { type: 'disjunction' })).format(items);
}

/** A fraction as a percentage with exactly `decimals` decimals: percent(0.734, 1) -> "73.4%" / "73,4 %". */
export function percent(fraction: number, decimals = 1): string {
  return numberFormat(translator().locale, { style: 'percent', minimumFractionDigits: decimals, maximumFractionDigits: decimals }).format(fraction);
}

/** A number with exactly `decimals` decimals (grouping as the locale does). */
export function decimal(value: number, decimals: number): string {
  return numberFormat(translator().locale, { minimumFractionDigits: decimals, maximumFractionDigits: decimals }).format(value);
}

/** A number with at most `decimals` decimals, trailing zeros dropped. */
export function number(value: number, decimals = 3): string {
  return numberFormat(translator().locale, { maximumFractionDigits: decimals }).format(value);
}

/** A number with exactly `decimals` decimals and its sign always shown ("+51.0", "−3.2", "0.0"). */
export function signedDecimal(value: number, decimals: number): string {
  return numberFormat(translator().locale, { minimumFractionDigits: decimals, maximumFractionDigits: decimals, signDisplay: 'exceptZero' }).format(value);
}

/** A whole count. */
export function integer(value: number): string {
  return numberFormat(translator().locale, { maximumFractionDigits: 0 }).format(value);
}

/**
 * A moment in UTC, to the minute, with its zone: "12/6/2026, 1:08 AM UTC" / "6/12/2026, 1:08 UTC".
 * UTC as stored, so every reader of a result sees the same moment; `text` back when not a date.
 */
export function utcDateTime(iso: string): string {
  const ms = Date.parse(iso);
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(iso) || Number.isNaN(ms)) return iso;
  return dateFormat(translator().locale, {
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: '2-digit',
    timeZone: 'UTC',
    timeZoneName: 'short',
  }).format(ms);
}

/**
 * A wall-clock date and time as written (DICOM DA/TM carry no zone): formatted in UTC so the
 * digits are the ones stored. `withTime` false for a date alone.
 */
export function wallClock(year: number, month: number, day: number, time: { hour: number; minute: number } | null): string {
  const ms = Date.UTC(year, month - 1, day, time?.hour ?? 0, time?.minute ?? 0);
  return dateFormat(translator().locale, {
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    ...(time ? { hour: '2-digit', minute: '2-digit' } : {}),
    timeZone: 'UTC',
  }).format(ms);
}

/** A percentage or '–' where there is no value (the recalibration and monitoring pages' cells). */
export function maybePercent(value: number | null | undefined, decimals = 1): string {
  return value === null || value === undefined || !Number.isFinite(value) ? '–' : percent(value, decimals);
}

/** A decimal number or '–' where there is none. */
export function maybeDecimal(value: number | null | undefined, decimals = 3): string {
  return value === null || value === undefined || !Number.isFinite(value) ? '–' : decimal(value, decimals);
}
