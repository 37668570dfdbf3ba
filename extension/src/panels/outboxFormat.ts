/**
 * The panel's words for where feedback stands on its way to the PACS (the feedback outbox) and
 * for a browser that will not keep ChestAid's storage: plain functions of the state, tested
 * without rendering (the rest of the panel's words are in format.ts).
 */
import type { FeedbackDelivery, OutboxSummary } from '@chestaid/core';
import type { StoragePersistence } from '../analysis/types';
import { utcDateTime } from '../i18n/format';
import { t, tCount } from '../i18n/translate';
import { asSentence } from './format';

/** An ISO time as the panel shows times, in UTC as stored. */
function when(iso: string): string {
  return utcDateTime(iso);
}

/** A reason as a sentence of its own: capitalised, ending with a full stop. */
function sentence(reason: string): string {
  const text = asSentence(reason.trim());
  return /[.!?…]$/.test(text) ? text : `${text}.`;
}

function readings(n: number): string {
  return tCount('outbox.readings', n);
}

/** Where the reader's current label of this image stands with the PACS. */
export function deliveryText(delivery: FeedbackDelivery): string {
  switch (delivery.state) {
    case 'sent':
      return t('delivery.sent', { when: when(delivery.sentAt ?? delivery.lastAttemptAt ?? delivery.queuedAt) });
    case 'refused':
      return t('delivery.refused', { reason: sentence(delivery.lastError ?? t('delivery.refusedDefault')) });
    case 'pending':
      return delivery.lastError === null ? t('delivery.sending') : t('delivery.pending', { error: delivery.lastError.replace(/\.$/, '') });
  }
}

/** The outbox's line: readings waiting, refused, and when the last one landed; null when it has nothing to say. */
export function outboxText(outbox: OutboxSummary): string | null {
  const parts: string[] = [];
  if (outbox.pending > 0) parts.push(t('outbox.pending', { readings: readings(outbox.pending) }));
  if (outbox.refused.length > 0) parts.push(t('outbox.refused', { readings: readings(outbox.refused.length), reason: sentence(outbox.refused[0].reason) }));
  if (outbox.lastSentAt !== null) parts.push(t('outbox.lastSent', { when: when(outbox.lastSentAt) }));
  return parts.length > 0 ? parts.join(' ') : null;
}

/** The one line shown when the browser may clear ChestAid's storage; null when it keeps it. */
export function storageText(storage: StoragePersistence | undefined, hasPacs: boolean): string | null {
  if (storage === undefined || storage === 'persistent') return null;
  return t(hasPacs ? 'storage.mayClearPacs' : 'storage.mayClearLocal');
}
