/**
 * The browser's calibration log and feedback store, as the extension's configuration says
 * (config.calibrationSource). Called once at registration (index.ts).
 */
import { type SiteCalibrationStore, type FeedbackStore, MemorySiteCalibrationStore, MemoryFeedbackStore, type OutboxStore } from '@chestaid/core';
import type { CalibrationSource } from '../config';
import { IndexedDbSiteCalibrationStore, IndexedDbFeedbackStore, SiteDatabase } from './indexedDbStores';
import { BrowserHeadMemory, type HeadStorage, ServedSiteCalibrationStore, servedCalibrationUrl, trustedHeadKey } from './servedCalibration';

export interface SiteStores {
  readonly calibrationStoreFor: ((modelSha256: string) => SiteCalibrationStore) | null;
  /** Feedback and its outbox (the entries bound for the PACS), in one store so both are written together. */
  readonly feedbackStore: FeedbackStore & OutboxStore;
}

function siteDatabase(): SiteDatabase | null {
  try {
    return new SiteDatabase();
  } catch (error) {
    console.warn('ChestAid: calibration changes and feedback will not outlive this page', error);
    return null;
  }
}

function localStorageOrNull(): HeadStorage | null {
  try {
    return (globalThis as { localStorage?: HeadStorage }).localStorage ?? null;
  } catch {
    // Reading localStorage itself throws where storage is blocked.
    return null;
  }
}

/**
 * The stores for `source`. The served log is fetched from beside the manifest (its absolute URL),
 * the only place besides the DICOMweb server ChestAid talks to; the head last trusted in it is
 * remembered in this browser's localStorage, so a log deleted, cut or rewound is refused.
 */
export function siteStores(source: CalibrationSource, manifestUrl: string): SiteStores {
  const db = siteDatabase();
  const feedbackStore = db ? new IndexedDbFeedbackStore(db) : new MemoryFeedbackStore();
  const memory = new Map<string, MemorySiteCalibrationStore>();
  const calibrationStoreFor = {
    none: null,
    served: (sha: string) => {
      const base = servedCalibrationUrl(manifestUrl);
      const trusted = new BrowserHeadMemory(localStorageOrNull(), trustedHeadKey(new URL('log.jsonl', base).href, sha));
      return new ServedSiteCalibrationStore(base, { trusted, modelSha256: sha });
    },
    browser: (sha: string) => {
      if (db) return new IndexedDbSiteCalibrationStore(sha, db);
      const store = memory.get(sha) ?? new MemorySiteCalibrationStore();
      memory.set(sha, store);
      return store;
    },
  }[source];
  return { calibrationStoreFor, feedbackStore };
}
