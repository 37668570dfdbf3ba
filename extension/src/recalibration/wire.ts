/**
 * Binds the recalibration and monitoring pages to the viewer at registration (called from
 * index.ts): the calibration versions of the model the panel runs, the readers' feedback, the
 * active data source for a CSV cohort's images, and the panel's analyzer (one inference worker,
 * one model download) for scoring them.
 */
import { type FeedbackEntry, type Manifest, recalibrate } from '@chestaid/core';
import type { Analyzer } from '../analysis/types';
import type { CatalogDataSource } from '../triage/studyCatalog';
import { RecalibrationService, COHORT_SLOT, type VersionsLike } from './RecalibrationService';

export interface CalibrationWiring {
  readonly servicesManager: {
    readonly services: { readonly chestAidRecalibrationService?: RecalibrationService };
    registerService(registration: typeof RecalibrationService.REGISTRATION): void;
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
  servicesManager.registerService(RecalibrationService.REGISTRATION);
  const service = servicesManager.services.chestAidRecalibrationService;
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
