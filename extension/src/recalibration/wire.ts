/**
 * Binds the recalibration and monitoring pages to the viewer at registration (called from
 * index.ts): the calibration versions of the model the panel runs, the readers' feedback the panel
 * records, the active data source for a CSV cohort's images, and the panel's analyzer (one
 * inference worker, one model download) for scoring them; all read from ChestAidService at each
 * use.
 */
import { type Manifest, recalibrate } from '@chestaid/core';
import type { ChestAidService } from '../analysis/ChestAidService';
import type { Analyzer } from '../analysis/types';
import type { CalibrationActor } from '../login/identity';
import { t } from '../i18n/translate';
import type { CatalogDataSource } from '../triage/studyCatalog';
import { RecalibrationService, COHORT_SLOT } from './RecalibrationService';

export interface RecalibrationWiring {
  readonly servicesManager: {
    readonly services: {
      readonly chestAidService: Pick<ChestAidService, 'getAnalyzer' | 'siteCalibrationLog' | 'getFeedbackBook' | 'reloadCalibration'>;
      readonly chestAidRecalibrationService?: RecalibrationService;
    };
    registerService(registration: typeof RecalibrationService.REGISTRATION): void;
  };
  readonly extensionManager: { getActiveDataSource(): readonly CatalogDataSource[] | undefined };
  /** Who a calibration change is recorded under, with a login (login/wire.ts); left out: the name typed on the page. */
  readonly actor?: () => CalibrationActor;
}

export function wireRecalibration({ servicesManager, extensionManager, actor }: RecalibrationWiring): void {
  servicesManager.registerService(RecalibrationService.REGISTRATION);
  const { chestAidService, chestAidRecalibrationService: service } = servicesManager.services;
  if (!service) throw new Error('ChestAid calibration service did not register');
  const analyzer = (): Analyzer => {
    const found = chestAidService.getAnalyzer();
    if (!found) throw new Error(t('panel.noAnalyzer'));
    return found;
  };
  service.configure({
    versions: () => chestAidService.siteCalibrationLog(),
    // No feedback book: nothing was recorded.
    listFeedback: async () => (await chestAidService.getFeedbackBook()?.listFeedback()) ?? [],
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
    // The viewer applies the new active version, names it beside every score and marks results of other versions stale.
    activated: () => chestAidService.reloadCalibration(),
    // A macrotask between studies, so the page paints and takes input while the cohort is scored.
    pause: () => new Promise(done => setTimeout(done, 0)),
    ...(actor ? { actor } : {}),
  });
}
