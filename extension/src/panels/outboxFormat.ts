/**
 * The panel's words for where feedback stands on its way to the PACS (the feedback outbox) and
 * for a browser that will not keep ChestAid's storage: plain functions of the state, tested
 * without rendering (the rest of the panel's words are in format.ts).
 */
import type { FeedbackDelivery, OutboxSummary } from '@chestaid/core';
import type { StoragePersistence } from '../analysis/types';
import { asSentence } from './format';

/** An ISO time as the panel shows times ("2026-11-26 13:05"). */
function when(iso: string): string {
  return iso.slice(0, 16).replace('T', ' ');
}

/** A reason as a sentence of its own: capitalised, ending with a full stop. */
function sentence(reason: string): string {
  const text = asSentence(reason.trim());
  return /[.!?…]$/.test(text) ? text : `${text}.`;
}

function readings(n: number): string {
  return n === 1 ? '1 reading' : `${n} readings`;
}

/** Where the reader's current label of this image stands with the PACS. */
export function deliveryText(delivery: FeedbackDelivery): string {
  switch (delivery.state) {
    case 'sent':
      return `Sent to the PACS (${when(delivery.sentAt ?? delivery.lastAttemptAt ?? delivery.queuedAt)}).`;
    case 'refused':
      return `Not sent to the PACS: ${sentence(delivery.lastError ?? 'refused')} Kept in this browser; not retried until sent again.`;
    case 'pending':
      return delivery.lastError === null
        ? 'Sending to the PACS…'
        : `Not yet in the PACS (${delivery.lastError.replace(/\.$/, '')}). Kept in this browser and sent automatically when the PACS answers: no need to record it again.`;
  }
}

/** The outbox's line: readings waiting, refused, and when the last one landed; null when it has nothing to say. */
export function outboxText(outbox: OutboxSummary): string | null {
  const parts: string[] = [];
  if (outbox.pending > 0) parts.push(`${readings(outbox.pending)} waiting to be sent to the PACS, retried automatically.`);
  if (outbox.refused.length > 0) parts.push(`${readings(outbox.refused.length)} refused by the PACS, kept in this browser: ${sentence(outbox.refused[0].reason)}`);
  if (outbox.lastSentAt !== null) parts.push(`Last reading sent to the PACS: ${when(outbox.lastSentAt)}.`);
  return parts.length > 0 ? parts.join(' ') : null;
}

/** The one line shown when the browser may clear ChestAid's storage; null when it keeps it. */
export function storageText(storage: StoragePersistence | undefined, hasPacs: boolean): string | null {
  if (storage === undefined || storage === 'persistent') return null;
  const safe = hasPacs ? 'they are safe once sent to the PACS' : 'with no PACS configured, they are kept only here';
  return `This browser may clear the results and readings ChestAid keeps in it; ${safe}.`;
}
