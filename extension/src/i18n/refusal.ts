/**
 * A refusal in the reader's language. The core names each refusal's sentence as a key with its
 * values (Refusal.message); the catalogue words it. A refusal without one (a record stored before
 * refusals carried it) or with a key this build does not know keeps the core's English reason:
 * better a reason in English than none.
 */
import type { Refusal } from '@chestaid/core';
import { en, type Key } from './en';
import { decimal, integer } from './format';
import { t, tCount, type Params } from './translate';

const AGE_UNITS = { D: 'age.days', W: 'age.weeks', M: 'age.months', Y: 'age.years' } as const;

function wordedParams(key: string, params: Readonly<Record<string, string | number>>): Params {
  const out: Record<string, string | number> = {};
  for (const [name, value] of Object.entries(params)) {
    out[name] = typeof value === 'number' ? (Number.isInteger(value) ? integer(value) : decimal(value, 1)) : value;
  }
  if (key === 'refusal.ageFrom' || key === 'refusal.ageRange') {
    const unit = AGE_UNITS[params.unit as keyof typeof AGE_UNITS] ?? 'age.years';
    out.age = tCount(unit, Number(params.count));
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
