/**
 * Issue 8's versioned calibration and feedback, browser side: the stores (memory, IndexedDB, the
 * served read-only log) and the feedback book. The pure rules are in ../core (calibrationOverlay,
 * calibrationLog, feedback); the Node file store for the CLI is ./fileStore (not exported here,
 * so the viewer bundle never pulls node:fs).
 *
 * Where a hospital keeps the shared log: in the file store the CLI writes beside the model
 * (`<model dir>/calibration/`), served read-only by the same web server as the model; every viewer
 * of the deployment reads and verifies it. The IndexedDB store is one browser profile's own log,
 * for a site without a server-side write path and for the demo; which one a viewer uses is the
 * extension's `calibrationSource` setting.
 */
export { MemorySiteCalibrationStore, MemoryFeedbackStore } from '@chestaid/core';
export { IndexedDbSiteCalibrationStore, IndexedDbFeedbackStore, SiteDatabase, SITE_DATABASE } from './indexedDbStores';
export { BrowserHeadMemory, ServedSiteCalibrationStore, servedCalibrationUrl, trustedHeadKey, type FetchText, type HeadStorage } from './servedCalibration';
export { FeedbackBook, type FeedbackBookOptions } from '@chestaid/core';
export {
  SiteCalibrationLog,
  ConflictError,
  CorruptLogError,
  TornLogError,
  UntrustedLogError,
  parseOverlay,
  applyOverlay,
  calibrationLabel,
  calibrationOrigin,
  feedbackCohort,
  feedbackConflicts,
  type AuditEntry,
  type CalibrationHistory,
  type CalibrationOverlay,
  type SiteCalibrationStore,
  type FeedbackCohort,
  type FeedbackConflict,
  type FeedbackInput,
  type FeedbackStore,
  type LogHead,
  type StoredFeedback,
} from '@chestaid/core';
