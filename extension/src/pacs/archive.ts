/**
 * ChestAidService's ResultArchive over the PACS (PacsResults): Save to PACS and the look-up of a
 * result another reader stored. It turns the panel's outcome into the SR's content (score, logit,
 * clinical threshold and decision, calibration, model identity) and the PACS's answers into the
 * plain states the panel shows; it never throws.
 *
 * Only images of studies opened from the PACS data source are archived: a result for an image the
 * PACS does not hold would create an orphan study there. The source image's header is read from
 * the PACS (WADO-RS metadata) rather than from the viewer's display set: it is the PACS's own copy
 * of the attributes the SR and the map must repeat (patient, study, frame of reference, geometry),
 * in DICOM JSON, whichever way the viewer loaded it.
 */
import {
  type ArchivedResult,
  type DicomJson,
  type Manifest,
  type ModelIdentity,
  pacsProblem,
  type PacsResults,
  resultSrInputFrom,
  type ResultToSave,
} from '@chestaid/core';
import type { AnalysisOutcome, AnalysisTarget, ArchiveLookup, ArchiveSave, ResultArchive } from '../analysis/types';
import { t } from '../i18n/translate';

/**
 * The SR's content for an outcome, filled by the dicom module's resultSrInputFrom as the triage
 * worker fills it: the decision against the clinical threshold the analysis used (the manifest's,
 * never a reader's own), the device UID from the manifest, the sha256 of the ONNX file that ran.
 */
export function resultToSave(outcome: AnalysisOutcome, manifest: Manifest, header: DicomJson, modelSha256: string, observedAt: Date): ResultToSave {
  const filled = resultSrInputFrom(outcome.analysis, manifest, { source: header, observedAt, modelSha256: modelSha256.toLowerCase() });
  // The source header and the synthetic flag travel beside the result (SaveInput).
  const { score, logit, threshold, decision, calibration, model } = filled;
  return { score, logit, threshold, decision, calibration, model, observedAt: filled.observedAt };
}

export interface PacsArchiveOptions {
  readonly results: Pick<PacsResults, 'find' | 'save'>;
  /** WADO-RS metadata of the source image. */
  readonly instanceMetadata: (studyUID: string, seriesUID: string, sopUID: string) => Promise<DicomJson>;
  /** The OHIF data source the open study came from (extensionManager.activeDataSourceName). */
  readonly activeDataSource: () => string | undefined;
  /** The data source that reads this PACS. */
  readonly pacsDataSourceName: string;
  readonly clock?: () => Date;
}

const SOP_CLASS = '00080016';

function archivedScore(found: ArchivedResult) {
  const { content, verdict } = found;
  return {
    verdict: verdict.status,
    ...(verdict.status === 'verified' ? {} : { reason: verdict.reason }),
    probability: content.score,
    srSopInstanceUID: found.srSopInstanceUID,
    observedAt: content.observedAt,
    modelId: content.model.id,
    modelVersion: content.model.version,
  };
}

export function pacsArchive({ results, instanceMetadata, activeDataSource, pacsDataSourceName, clock = () => new Date() }: PacsArchiveOptions): ResultArchive {
  const unavailableReason = (target: AnalysisTarget): string | null => {
    const active = activeDataSource();
    if (active !== pacsDataSourceName) {
      return t('pacs.otherSource', { active: active ?? '?', pacs: pacsDataSourceName });
    }
    if (!target.studyInstanceUID || !target.seriesInstanceUID) return t('pacs.noUids');
    return null;
  };

  return {
    unavailableReason,

    async find(target, model: ModelIdentity): Promise<ArchiveLookup> {
      if (unavailableReason(target) || !target.studyInstanceUID) return { status: 'absent' };
      try {
        const found = await results.find({ studyInstanceUID: target.studyInstanceUID, sopInstanceUID: target.sopInstanceUID }, model);
        return found ? { status: 'found', score: archivedScore(found) } : { status: 'absent' };
      } catch (error) {
        return { status: 'failed', ...pacsProblem(error) };
      }
    },

    async save(target, outcome, manifest: Manifest, model: ModelIdentity): Promise<ArchiveSave> {
      const reason = unavailableReason(target);
      if (reason || !target.studyInstanceUID || !target.seriesInstanceUID) return { status: 'failed', kind: 'error', message: reason ?? 'no study' };
      try {
        const header = await instanceMetadata(target.studyInstanceUID, target.seriesInstanceUID, target.sopInstanceUID);
        const sopClassUID = header[SOP_CLASS]?.Value?.[0];
        if (typeof sopClassUID !== 'string') throw new Error(`the PACS's header of ${target.sopInstanceUID} has no SOPClassUID`);
        const saved = await results.save({
          sourceHeader: header,
          source: {
            studyInstanceUID: target.studyInstanceUID,
            seriesInstanceUID: target.seriesInstanceUID,
            sopInstanceUID: target.sopInstanceUID,
            sopClassUID,
          },
          result: resultToSave(outcome, manifest, header, model.modelSha256, clock()),
          heatmap: outcome.analysis.cam,
          trainedOnSyntheticData: manifest.data.synthetic === true,
        });
        return saved.status === 'saved'
          ? { status: 'saved', srSopInstanceUID: saved.srSopInstanceUID, heatmapProblem: saved.heatmapProblem }
          : saved;
      } catch (error) {
        return { status: 'failed', ...pacsProblem(error) };
      }
    },
  };
}
