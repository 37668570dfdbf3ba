import type { ChestAidState } from '../../analysis/types';
import { archiveText, archivedText } from '../format';
import { t } from '../../i18n/translate';

/**
 * Save to PACS for the result on show, with what the last press did (or why it cannot be
 * pressed), and the result the PACS holds for this image when another reader stored one.
 */
export function PacsSection({ state, onSaveToPacs }: { state: ChestAidState; onSaveToPacs?: () => void }) {
  const { archive, archived, analysis, threshold } = state;
  const hasResult = analysis.status === 'done';
  const busy = archive.status === 'saving' || archive.status === 'checking';
  const done = archive.status === 'saved' || archive.status === 'already-saved';
  const canSave = hasResult && !busy && !done && archive.status !== 'unavailable' && onSaveToPacs !== undefined;
  const failed = archive.status === 'failed';
  const retry = failed && archive.kind !== 'refused';
  return (
    <section className="flex flex-col gap-1 rounded border p-3" aria-label="PACS" data-cy="chestaid-pacs" data-status={archive.status}>
      {archived && threshold && (
        <p
          className={archived.verdict === 'verified' ? 'text-xs' : 'text-xs text-red-500'}
          role={archived.verdict === 'verified' ? undefined : 'alert'}
          style={{ overflowWrap: 'anywhere' }}
          data-cy="chestaid-pacs-result"
          data-verdict={archived.verdict}
          data-probability={archived.verdict === 'verified' ? archived.probability : undefined}
          data-sr={archived.srSopInstanceUID}
        >
          {archivedText(archived, threshold.value)}
        </p>
      )}
      {(hasResult || archive.status === 'unavailable') && (
        <button
          type="button"
          className="bg-secondary text-secondary-foreground rounded px-2 py-0.5 text-xs"
          style={canSave ? undefined : { opacity: 0.5, cursor: 'not-allowed' }}
          disabled={!canSave}
          onClick={onSaveToPacs}
          title={archive.status === 'unavailable' ? archive.reason : t('pacs.saveTitle')}
          data-cy="chestaid-save-pacs"
        >
          {t(retry ? 'pacs.retry' : 'pacs.save')}
        </button>
      )}
      <p
        role={failed ? 'alert' : 'status'}
        aria-live="polite"
        className={failed ? 'text-red-500 text-xs' : 'text-muted-foreground text-xs'}
        style={{ overflowWrap: 'anywhere' }}
        data-cy="chestaid-pacs-status"
        data-kind={failed ? archive.kind : undefined}
        data-sr={archive.status === 'saved' || archive.status === 'already-saved' ? archive.srSopInstanceUID : undefined}
      >
        {hasResult || archive.status !== 'idle' ? archiveText(archive) : ''}
      </p>
    </section>
  );
}
