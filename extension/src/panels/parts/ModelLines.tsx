import { calibrationName } from '@chestaid/core';
import type { ModelInfo } from '../../analysis/types';
import { calibrationText, modelText } from '../format';

/** Which model and which calibration the scores come from. */
export function ModelLines({ info }: { info: ModelInfo }) {
  return (
    <div className="text-muted-foreground flex flex-col text-xs" data-cy="chestaid-model">
      <span>{modelText(info)}</span>
      <span data-cy="chestaid-calibration" data-version={calibrationName(info.calibrationVersion)} data-identity={info.calibrationVersion}>
        {calibrationText(info)}: {info.calibrationLabel}
      </span>
    </div>
  );
}
