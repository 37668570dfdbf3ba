/**
 * A refusal in the reader's language. The core names each refusal's sentence as a key with its
 * values (Refusal.message); the catalogue words it. A refusal without one (a record stored before
 * refusals carried it) or with a key this build does not know keeps the core's English reason:
 * better a reason in English than none.
 */
import type { Refusal } from '@chestaid/core';
import { en, type Key } from './en';
import { decimal, integer, orList, wallClock } from './format';
import { t, tCount, type Params } from './translate';

/** A YYYY-MM-DD date in the locale's digits. */
function dateText(iso: string): string {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
  return match ? wallClock(Number(match[1]), Number(match[2]), Number(match[3]), null) : iso;
}

const AGE_UNITS = { D: 'age.days', W: 'age.weeks', M: 'age.months', Y: 'age.years' } as const;

function wordedParams(key: string, params: Readonly<Record<string, string | number>>): Params {
  const out: Record<string, string | number> = {};
  if (key === 'refusal.view' && typeof params.allowed === 'string') {
    // "PA or AP", "PA o AP": the locale's own "or".
    return { ...params, allowed: orList(params.allowed.split(',')) };
  }
  if (key === 'refusal.outOfDistribution') {
    return { score: decimal(Number(params.score), 1), threshold: decimal(Number(params.threshold), 1) };
  }
  for (const [name, value] of Object.entries(params)) {
    out[name] = typeof value === 'number' ? (Number.isInteger(value) ? integer(value) : decimal(value, 1)) : value;
  }
  if (key === 'refusal.ageFrom' || key === 'refusal.ageRange') {
    const unit = AGE_UNITS[params.unit as keyof typeof AGE_UNITS] ?? 'age.years';
    const source =
      params.patientAge !== undefined
        ? t('age.fromPatientAge', { patientAge: params.patientAge })
        : params.born !== undefined
          ? t('age.fromDates', { born: dateText(String(params.born)), study: dateText(String(params.study)) })
          : '';
    out.age = `${tCount(unit, Number(params.count))}${source ? ` ${source}` : ''}`;
    out.min = tCount('age.years', Number(params.min));
    if (params.max !== undefined) out.max = tCount('age.years', Number(params.max));
  }
  return out;
}

/** Why the image is not analyzed, in words (no "Not analyzed" prefix). */
export function refusalReason(refusal: Pick<Refusal, 'reason' | 'message'>): string {
  const message = refusal.message;
  if (!message || !(message.key in en)) return refusal.reason;
  return t(message.key as Key, wordedParams(message.key, message.params));
}

/** What the product shows in place of a score: "Not analyzed: <reason>". */
export function notAnalyzedText(refusal: Pick<Refusal, 'reason' | 'message'>): string {
  return t('refusal.notAnalyzed', { reason: refusalReason(refusal) });
}
