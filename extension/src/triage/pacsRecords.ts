/**
 * The PACS's ChestAid results as triage records (source 'pacs'), so the worklist shows what every
 * reader and the triage worker stored, not only what this browser computed. Keyed like every
 * record (image, model sha256, calibration identity): an SR of another model or calibration is
 * stale here like any other result. Each SR was judged on read (core verifyResult): only a
 * verified one becomes a score; an unverified one, or verified ones that disagree, become an
 * 'unverified' record with the reason, which the worklist shows and never ranks.
 */
import type { ArchivedResult, PacsResults } from '@chestaid/core';
import { normalised, type ResultStore, type StoredResult } from './resultStore';
import { t } from '../i18n/translate';

/** Where the triage service reads shared results from. */
export interface SharedResults {
  /** Every ChestAid result the PACS holds for these studies, as records; studies without any are absent. */
  forStudies(studyUIDs: readonly string[]): Promise<Map<string, StoredResult[]>>;
}

export function recordOf({ content, srSopInstanceUID, verdict }: ArchivedResult): StoredResult {
  const analyzedAt = Date.parse(content.observedAt);
  const outcome =
    verdict.status === 'verified'
      ? ({ status: 'scored', probability: content.score } as const)
      : ({ status: 'unverified', reason: `${t(verdict.status === 'conflict' ? 'risk.conflict' : 'risk.unverified')}: ${verdict.reason}`, conflict: verdict.status === 'conflict' } as const);
  return normalised({
    studyInstanceUID: content.source.studyInstanceUID,
    seriesInstanceUID: content.source.seriesInstanceUID,
    sopInstanceUID: content.source.sopInstanceUID,
    modelSha256: content.model.sha256,
    calibrationVersion: content.calibration.version,
    // The SR's own date, kept for display only: nothing is ranked or chosen by it.
    analyzedAt: Number.isFinite(analyzedAt) ? analyzedAt : 0,
    source: 'pacs',
    ...outcome,
    srSopInstanceUID,
  });
}

export function sharedResultsOf(results: Pick<PacsResults, 'forStudies'>): SharedResults {
  return {
    async forStudies(studyUIDs) {
      const found = await results.forStudies(studyUIDs);
      const records = new Map<string, StoredResult[]>();
      for (const [uid, list] of found) records.set(uid, list.map(recordOf));
      return records;
    },
  };
}

/**
 * Keeps PACS results in the browser store, the offline cache, where the browser has no score of
 * its own under the same key: a score computed here carries its heatmap and run details, which
 * an SR read back does not, and must not be replaced by the bare copy.
 */
export async function cacheShared(store: ResultStore, records: readonly StoredResult[]): Promise<void> {
  for (const record of records) {
    // Only verified scores: an unverified SR is shown while the PACS holds it, never kept here.
    if (record.status !== 'scored') continue;
    const known = await store.get(record);
    // A refusal here stands too: an SR for an image the gate refuses is not shown as its score.
    if (known?.status === 'scored' || known?.status === 'refused') continue;
    await store.put(record);
  }
}
