/**
 * The run-time half of scripts/check-ohif-host.mjs: ChestAid reaches Cornerstone only through the
 * namespace the host puts on window. Returns a sentence naming what differs, or null.
 */
import { t } from './i18n/translate';

export const EXPECTED_CORNERSTONE = /^5\.6\./;

export function hostProblem(host: { cornerstone?: { version?: unknown }; cornerstoneTools?: unknown }): string | null {
  if (!host.cornerstone || !host.cornerstoneTools) {
    return t('host.noCornerstone');
  }
  const version = String(host.cornerstone.version ?? 'unknown');
  if (!EXPECTED_CORNERSTONE.test(version)) {
    return t('host.cornerstoneVersion', { version });
  }
  return null;
}
