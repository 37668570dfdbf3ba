import { calibrationName, decide, type OperatingPoint } from '@chestaid/core';
import { decisionText, scoreAndThreshold, scoreMeaningText } from '../format';
import { ABOVE_COLOUR, BELOW_COLOUR } from './colours';
import { t } from '../../i18n/translate';

/**
 * What a fresh result and a stored one show alike: the calibrated score (what it means on hover),
 * the calibration it is under, the threshold it is compared with and the decision. Each caller
 * names its own elements (`cy`: the tests' data-cy values).
 */
export function ScoreLines({
  probability,
  threshold,
  thresholdLabel,
  calibration,
  calibrationVersion,
  point,
  cy,
}: {
  probability: number;
  threshold: number;
  thresholdLabel: string;
  /** The calibration's name as the panel words it, and its identity (name+sha256). */
  calibration: string;
  calibrationVersion: string;
  point: OperatingPoint | null;
  cy: { score: string; calibration?: string; threshold?: string; decision?: string };
}) {
  const decision = decide(probability, threshold);
  const text = scoreAndThreshold(probability, threshold);
  return (
    <>
      <div className="flex items-center justify-between">
        <span>{t('result.score')}</span>
        <span className="text-2xl font-bold" data-cy={cy.score} data-probability={probability} title={scoreMeaningText(probability, threshold, point)}>
          {text.score}
        </span>
      </div>
      <p className="text-muted-foreground text-right text-xs" data-cy={cy.calibration} data-version={calibrationName(calibrationVersion)} data-identity={calibrationVersion}>
        {calibration}
      </p>
      <div className="flex items-center justify-between text-xs">
        <span>{thresholdLabel}</span>
        <span data-cy={cy.threshold}>{text.threshold}</span>
      </div>
      <p className="font-semibold" style={{ color: decision.above ? ABOVE_COLOUR : BELOW_COLOUR }} data-cy={cy.decision}>
        {decisionText(decision)}
      </p>
    </>
  );
}
