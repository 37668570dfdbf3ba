import type { OperatingPoint } from '@chestaid/core';
import type { AnalysisState } from '../../analysis/types';
import { storedMark } from '../format';
import { ScoreLines } from './ScoreLines';
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
      <ScoreLines
        probability={probability}
        threshold={threshold}
        thresholdLabel={t('result.threshold')}
        calibration={calibration}
        calibrationVersion={shown.calibrationVersion}
        point={point}
        cy={{ score: 'chestaid-stored-score' }}
      />
      {shown.mapProblem && (
        <p className="text-xs" style={{ color: '#fbbf24', overflowWrap: 'anywhere' }} role="status" data-cy="chestaid-stored-no-map">
          {t('stored.noMap', { problem: shown.mapProblem })}
        </p>
      )}
    </section>
  );
}
