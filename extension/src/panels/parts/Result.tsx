import type { OperatingPoint } from '@chestaid/core';
import type { AnalysisOutcome } from '../../analysis/types';
import { fallbackText, runText } from '../format';
import { ScoreLines } from './ScoreLines';
import { integer } from '../../i18n/format';
import { t } from '../../i18n/translate';

/** The result on show: calibrated score, the threshold it is compared with, the decision and how the model ran. */
export function Result({
  outcome,
  threshold,
  custom,
  calibration,
  point = null,
}: {
  outcome: AnalysisOutcome;
  threshold: number;
  custom: boolean;
  calibration: string;
  /** The model's measured sensitivity and specificity at `threshold` (operatingPointAt), told on hover. */
  point?: OperatingPoint | null;
}) {
  const fallback = fallbackText(outcome.run);
  return (
    <section className="flex flex-col gap-1 rounded border p-3" aria-label={t('result.label')} data-cy="chestaid-result">
      <ScoreLines
        probability={outcome.analysis.probability}
        threshold={threshold}
        thresholdLabel={t(custom ? 'result.thresholdCustom' : 'result.threshold')}
        calibration={calibration}
        calibrationVersion={outcome.analysis.calibrationVersion}
        point={point}
        cy={{ score: 'chestaid-score', calibration: 'chestaid-score-calibration', threshold: 'chestaid-threshold-shown', decision: 'chestaid-decision' }}
      />
      <p className="text-muted-foreground text-xs" data-cy="chestaid-run" title={t('result.runTitle', { ms: integer(outcome.run.runMs) })}>
        {runText(outcome.run)}
      </p>
      {fallback && (
        <p className="text-muted-foreground text-xs" data-cy="chestaid-fallback">
          {fallback}
        </p>
      )}
    </section>
  );
}
