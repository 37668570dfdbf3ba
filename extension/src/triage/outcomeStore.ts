/**
 * ChestAidService's OutcomeStore over the triage ResultStore: the panel's results go where the
 * batch's go, so a study analysed in the viewer shows its score in the worklist, and a study
 * scored by the batch opens in the viewer with its result and without a second run.
 */
import type { OutcomeStore } from '../services/ChestAidService';
import { scoredRecord, type ResultStore } from './resultStore';

export function outcomeStoreOver(store: ResultStore, clock: () => number = () => Date.now()): OutcomeStore {
  return {
    async find(target, model) {
      const { studyInstanceUID, seriesInstanceUID, sopInstanceUID } = target;
      // Without the study and series the key is incomplete: nothing can be looked up.
      if (!studyInstanceUID || !seriesInstanceUID) return null;
      const record = await store.get({ studyInstanceUID, seriesInstanceUID, sopInstanceUID, ...model });
      return record?.status === 'scored' && record.outcome ? record.outcome : null;
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
          analysedAt: clock(),
        }),
      );
    },
  };
}
