import { calibrationName, decide, type OperatingPoint } from '@chestaid/core';
import type { AnalysisState } from '../../analysis/types';
import { decisionText, scoreAndThreshold, scoreMeaningText, storedMark } from '../format';
import { ABOVE_COLOUR, BELOW_COLOUR } from './colours';
import { t } from '../../i18n/translate';

type Stored = Extract<AnalysisState, { status: 'stored' }>['stored'];

/**
 * A verified result read back from the PACS, shown without running the model: the calibrated
 * score against the threshold in force, marked as stored (when, which model), and whether its
 * stored heatmap is drawn. Analyze replaces it with a fresh result.
 */
export function StoredResult({
  stored,
  threshold,
  calibration,
  point = null,
}: {
  stored: Stored;
  threshold: number;
  calibration: string;
  point?: OperatingPoint | null;
}) {
  const { probability, shown } = stored;
  const decision = decide(probability, threshold);
  const text = scoreAndThreshold(probability, threshold);
  return (
    <section
      className="flex flex-col gap-1 rounded border p-3"
      aria-label={t('result.label')}
      data-cy="chestaid-stored"
      data-sr={stored.srSopInstanceUID}
      data-map={shown.mapSopInstanceUID ?? undefined}
      title={t('stored.title', { sr: stored.srSopInstanceUID })}
    >
      <p className="text-xs font-semibold" data-cy="chestaid-stored-mark">
        {storedMark(stored)}
      </p>
      <div className="flex items-center justify-between">
        <span>{t('result.score')}</span>
        <span className="text-2xl font-bold" data-cy="chestaid-stored-score" data-probability={probability} title={scoreMeaningText(probability, threshold, point)}>
          {text.score}
        </span>
      </div>
      <p className="text-muted-foreground text-right text-xs" data-version={calibrationName(shown.calibrationVersion)} data-identity={shown.calibrationVersion}>
        {calibration}
      </p>
      <div className="flex items-center justify-between text-xs">
        <span>{t('result.threshold')}</span>
        <span>{text.threshold}</span>
      </div>
      <p className="font-semibold" style={{ color: decision.above ? ABOVE_COLOUR : BELOW_COLOUR }}>
        {decisionText(decision)}
      </p>
      {shown.mapProblem && (
        <p className="text-xs" style={{ color: '#fbbf24', overflowWrap: 'anywhere' }} role="status" data-cy="chestaid-stored-no-map">
          {t('stored.noMap', { problem: shown.mapProblem })}
        </p>
      )}
    </section>
  );
}
