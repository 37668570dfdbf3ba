/**
 * Binds the recalibration and monitoring pages to the viewer at registration (called from
 * index.ts): the calibration versions of the model the panel runs, the readers' feedback, the
 * active data source for a CSV cohort's images, and the panel's analyzer (one inference worker,
 * one model download) for scoring them.
 */
import type { FeedbackEntry, Manifest } from '../core';
import { recalibrate } from '../core/recalibration';
import type { Analyzer } from '../services/ChestAidService';
import type { CatalogDataSource } from '../triage/studyCatalog';
import { CalibrationService, COHORT_SLOT, type VersionsLike } from './CalibrationService';

export interface CalibrationWiring {
  readonly servicesManager: {
    readonly services: { readonly chestAidCalibrationService?: CalibrationService };
    registerService(registration: typeof CalibrationService.REGISTRATION): void;
  };
  readonly extensionManager: { getActiveDataSource(): readonly CatalogDataSource[] | undefined };
  /** The versions over the site's calibration store, for the model the viewer runs. */
  readonly versions: () => Promise<VersionsLike>;
  readonly listFeedback: () => Promise<readonly FeedbackEntry[]>;
  readonly analyzer: () => Analyzer;
  /** Called after an accept or a rollback: the viewer reloads its calibration. */
  readonly activated: () => Promise<void> | void;
}

export function wireCalibration({ servicesManager, extensionManager, versions, listFeedback, analyzer, activated }: CalibrationWiring): void {
  servicesManager.registerService(CalibrationService.REGISTRATION);
  const service = servicesManager.services.chestAidCalibrationService;
  if (!service) throw new Error('ChestAid calibration service did not register');
  service.configure({
    versions,
    listFeedback,
    analyze: (image, manifest: Manifest) =>
      analyzer().analyze(
        {
          viewportId: COHORT_SLOT,
          displaySetInstanceUID: COHORT_SLOT,
          imageId: image.imageId,
          sopInstanceUID: image.sopInstanceUID,
          modality: image.modality,
          studyInstanceUID: image.studyInstanceUID,
          seriesInstanceUID: image.seriesInstanceUID,
        },
        manifest,
      ),
    dataSource: () => extensionManager.getActiveDataSource()?.[0],
    recalibrate,
    activated,
    // A macrotask between studies, so the page paints and takes input while the cohort is scored.
    pause: () => new Promise(done => setTimeout(done, 0)),
  });
}
