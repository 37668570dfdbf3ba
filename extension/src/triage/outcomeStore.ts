/**
 * ChestAidService's OutcomeStore over the triage ResultStore: the panel's results go where the
 * batch's go, so a study analyzed in the viewer shows its score in the worklist, and a study
 * scored by the batch opens in the viewer with its result and without a second run. A result
 * stored under another calibration version of the same model is found too (findOther), for the
 * panel to show as stale.
 */
import type { OutcomeStore } from '../analysis/types';
import { refusedRecord, scoredRecord, type ResultStore } from './resultStore';

export function outcomeStoreOver(store: ResultStore, clock: () => number = () => Date.now()): OutcomeStore {
  return {
    async find(target, model) {
      const { studyInstanceUID, seriesInstanceUID, sopInstanceUID } = target;
      // Without the study and series the key is incomplete: nothing can be looked up.
      if (!studyInstanceUID || !seriesInstanceUID) return null;
      const record = await store.get({ studyInstanceUID, seriesInstanceUID, sopInstanceUID, ...model });
      return record?.status === 'scored' && record.outcome ? record.outcome : null;
    },

    async findOther(target, model) {
      const { studyInstanceUID, seriesInstanceUID, sopInstanceUID } = target;
      if (!studyInstanceUID || !seriesInstanceUID) return null;
      const records = (await store.forStudies([studyInstanceUID])).get(studyInstanceUID) ?? [];
      const sha = model.modelSha256.toLowerCase();
      const older = records
        .filter(r => r.seriesInstanceUID === seriesInstanceUID && r.sopInstanceUID === sopInstanceUID && r.modelSha256 === sha)
        .filter(r => r.calibrationVersion !== model.calibrationVersion && r.status === 'scored' && r.outcome)
        .sort((a, b) => b.analyzedAt - a.analyzedAt)[0];
      return older?.outcome ? { outcome: older.outcome, calibrationVersion: older.calibrationVersion } : null;
    },

    async save(target, outcome, model) {
      const { studyInstanceUID, seriesInstanceUID, sopInstanceUID, imageId } = target;
      if (!studyInstanceUID || !seriesInstanceUID) return;
      await store.put(
        scoredRecord({
          image: { studyInstanceUID, seriesInstanceUID, sopInstanceUID },
          model,
          outcome,
          source: 'panel',
          imageId,
          analyzedAt: clock(),
        }),
      );
    },

    async saveRefusal(target, refusal, model) {
      const { studyInstanceUID, seriesInstanceUID, sopInstanceUID, imageId } = target;
      if (!studyInstanceUID || !seriesInstanceUID) return;
      await store.put(
        refusedRecord({ image: { studyInstanceUID, seriesInstanceUID, sopInstanceUID }, model, refusal, source: 'panel', imageId, analyzedAt: clock() }),
      );
    },
  };
}
