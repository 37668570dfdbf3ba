/** A calibration's name and label in the reader's language (the panel, the worklist, the pages). */
import { calibrationName, type CalibrationOrigin } from '@chestaid/core';
import { wallClock } from './format';
import { t } from './translate';

/** "calibration v1 (training, 11/26/2026)": which calibration, where it came from and when. */
export function calibrationLabelText(origin: Pick<CalibrationOrigin, 'version' | 'source' | 'createdAt'>): string {
  const day = /^(\d{4})-(\d{2})-(\d{2})/.exec(origin.createdAt);
  const source = t(origin.source === 'site' ? 'calibration.source.site' : 'calibration.source.training');
  const name = versionName(origin.version);
  return day
    ? t('calibration.label', { name, source, day: wallClock(Number(day[1]), Number(day[2]), Number(day[3]), null) })
    : t('calibration.labelUndated', { name, source });
}

/** "v1" for a training version, "site-2" for a site version; an identity ("site-2+sha256:...") by its name. */
export function versionName(version: string): string {
  const name = calibrationName(version);
  return /^site-\d+$/.test(name) ? name : `v${name}`;
}

