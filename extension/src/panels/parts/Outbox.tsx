import { useState } from 'react';

import type { OutboxSummary } from '@chestaid/core';
import type { StoragePersistence } from '../../analysis/types';
import { outboxText, storageText } from '../outboxFormat';
import { t } from '../../i18n/translate';

/**
 * The feedback outbox: readings waiting for the PACS (sent in the background, no click needed),
 * those it refused with the reason and a way to send them again, and when the last one landed.
 */
export function Outbox({ outbox, resend }: { outbox: OutboxSummary; resend?: () => Promise<void> }) {
  const [sending, setSending] = useState(false);
  const text = outboxText(outbox);
  if (text === null) return null;
  const again = () => {
    setSending(true);
    void resend?.().finally(() => setSending(false));
  };
  return (
    <section
      className="flex flex-col gap-1 rounded border p-2 text-xs"
      aria-label={t('outbox.label')}
      data-cy="chestaid-outbox"
      data-pending={outbox.pending}
      data-refused={outbox.refused.length}
      data-sent={outbox.sent}
      data-last-sent={outbox.lastSentAt ?? undefined}
    >
      <p role="status" aria-live="polite" style={{ overflowWrap: 'anywhere' }} className={outbox.refused.length > 0 ? 'text-red-500' : 'text-muted-foreground'}>
        {text}
      </p>
      {outbox.refused.length > 0 && resend && (
        <button
          type="button"
          className="bg-secondary text-secondary-foreground self-start rounded px-2 py-0.5 text-xs"
          disabled={sending}
          onClick={again}
          title={t('outbox.resendTitle')}
          data-cy="chestaid-outbox-resend"
        >
          {t('outbox.resend')}
        </button>
      )}
    </section>
  );
}

/** One plain line when the browser may clear ChestAid's storage (navigator.storage.persist refused or unavailable). */
export function StorageLine({ storage, hasPacs }: { storage: StoragePersistence | undefined; hasPacs: boolean }) {
  const text = storageText(storage, hasPacs);
  return text === null ? null : (
    <p className="text-muted-foreground text-xs" data-cy="chestaid-storage" data-storage={storage}>
      {text}
    </p>
  );
}
