import { calibrationName, decide, type OperatingPoint } from '@chestaid/core';
import type { AnalysisOutcome } from '../../analysis/types';
import { decisionText, fallbackText, runText, scoreAndThreshold, scoreMeaningText } from '../format';
import { ABOVE_COLOUR, BELOW_COLOUR } from './colours';
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
  const { probability } = outcome.analysis;
  const decision = decide(probability, threshold);
  const shown = scoreAndThreshold(probability, threshold);
  const fallback = fallbackText(outcome.run);
  return (
    <section className="flex flex-col gap-1 rounded border p-3" aria-label={t('result.label')} data-cy="chestaid-result">
      <div className="flex items-center justify-between">
        <span>{t('result.score')}</span>
        <span className="text-2xl font-bold" data-cy="chestaid-score" data-probability={probability} title={scoreMeaningText(probability, threshold, point)}>
          {shown.score}
        </span>
      </div>
      <p className="text-muted-foreground text-right text-xs" data-cy="chestaid-score-calibration" data-version={calibrationName(outcome.analysis.calibrationVersion)} data-identity={outcome.analysis.calibrationVersion}>
        {calibration}
      </p>
      <div className="flex items-center justify-between text-xs">
        <span>{t(custom ? 'result.thresholdCustom' : 'result.threshold')}</span>
        <span data-cy="chestaid-threshold-shown">{shown.threshold}</span>
      </div>
      <p className="font-semibold" style={{ color: decision.above ? ABOVE_COLOUR : BELOW_COLOUR }} data-cy="chestaid-decision">
        {decisionText(decision)}
      </p>
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
