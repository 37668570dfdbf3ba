import { decide } from '@chestaid/core';
import type { ChestAidState, ImageRow } from '../../analysis/types';
import { batchText, imageRowText, versionName } from '../format';
import type { ChestAidPanelProps, ChestAidPanelService } from '../types';
import { ABOVE_COLOUR, BELOW_COLOUR } from './colours';
import { integer } from '../../i18n/format';
import { t } from '../../i18n/translate';

/** The study's CR/DX images with each one's result, and Analyze all images with its progress. */
export function ImageList({
  state,
  service,
  onShowImage,
  canAnalyze,
}: {
  state: ChestAidState;
  service: ChestAidPanelService;
  onShowImage?: ChestAidPanelProps['onShowImage'];
  canAnalyze: boolean;
}) {
  const { images, batch, threshold } = state;
  const value = threshold?.value ?? 0.5;
  const running = batch?.running === true;
  return (
    <section className="flex flex-col gap-1 rounded border p-3" aria-label={t('images.label')} data-cy="chestaid-images">
      <h3 className="text-xs font-semibold">{t('images.title', { count: integer(images.length) })}</h3>
      <ul className="flex flex-col gap-1">
        {images.map((row: ImageRow) => (
          <li key={row.image.sopInstanceUID} className="flex items-center justify-between gap-2 text-xs" data-cy="chestaid-image-row" data-sop={row.image.sopInstanceUID} data-status={row.status}>
            <button
              type="button"
              className={row.active ? 'font-semibold underline' : 'underline'}
              onClick={() => onShowImage?.(row.image)}
              aria-current={row.active ? 'true' : undefined}
              aria-label={t('images.show', { label: row.image.label })}
            >
              {row.image.label}
            </button>
            <span style={{ color: row.status === 'done' ? (decide(row.outcome!.analysis.probability, value).above ? ABOVE_COLOUR : BELOW_COLOUR) : undefined, overflowWrap: 'anywhere' }}>
              {imageRowText(row, value)}
              {row.status === 'done' && (
                <span className="text-muted-foreground" data-cy="chestaid-image-calibration">
                  {' '}
                  · {t('images.calibration', { version: versionName(row.outcome!.analysis.calibrationVersion) })}
                </span>
              )}
            </span>
          </li>
        ))}
      </ul>
      <div className="flex gap-2">
        <button
          type="button"
          className="bg-primary text-primary-foreground rounded px-2 py-0.5 text-xs"
          style={canAnalyze && !running ? undefined : { opacity: 0.5, cursor: 'not-allowed' }}
          disabled={!canAnalyze || running || images.length === 0}
          onClick={() => void service.analyzeAll()}
          data-cy="chestaid-analyze-all"
        >
          {t('images.analyzeAll')}
        </button>
        {running && (
          <button type="button" className="bg-secondary text-secondary-foreground rounded px-2 py-0.5 text-xs" onClick={() => service.cancelAnalyzeAll()} data-cy="chestaid-analyze-all-cancel">
            {t('common.cancel')}
          </button>
        )}
      </div>
      {batch && (
        <div data-cy="chestaid-batch">
          <div
            role="progressbar"
            aria-label={t('images.analyzeAll')}
            aria-valuemin={0}
            aria-valuemax={batch.total}
            aria-valuenow={batch.done}
            aria-valuetext={batchText(batch)}
            className="bg-muted h-2 w-full overflow-hidden rounded"
          >
            <div className="bg-primary h-2" style={{ width: `${batch.total ? (batch.done / batch.total) * 100 : 100}%` }} />
          </div>
          <p className="text-xs" role="status" aria-live="polite">
            {batchText(batch)}
          </p>
        </div>
      )}
    </section>
  );
}
