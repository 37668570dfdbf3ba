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
  type ShownImage,
  type StoredMapSource,
  storedResultOf,
} from '@chestaid/core';
import type { AnalysisOutcome, AnalysisTarget, ArchivedScore, ArchiveLookup, ArchiveSave, ResultArchive, StoredShown } from '../analysis/types';
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
  /**
   * Where a verified result's heatmap map is read from (WADO-RS and the dicom module's reader),
   * so it is drawn without running the model; absent: stored results are shown as text only.
   */
  readonly storedMaps?: StoredMapSource;
  readonly clock?: () => Date;
}

const SOP_CLASS = '00080016';
const ROWS = '00280010';
const COLUMNS = '00280011';
const FRAME_OF_REFERENCE = '00200052';

/** The image as the PACS holds it: what a stored map must lie on (its grid and frame of reference). */
function shownImage(target: AnalysisTarget, header: DicomJson): ShownImage {
  const rows = header[ROWS]?.Value?.[0];
  const columns = header[COLUMNS]?.Value?.[0];
  if (typeof rows !== 'number' || typeof columns !== 'number') throw new Error(`the PACS's header of ${target.sopInstanceUID} has no Rows and Columns`);
  const frame = header[FRAME_OF_REFERENCE]?.Value?.[0];
  return {
    studyInstanceUID: target.studyInstanceUID ?? '',
    seriesInstanceUID: target.seriesInstanceUID ?? '',
    sopInstanceUID: target.sopInstanceUID,
    rows,
    columns,
    ...(typeof frame === 'string' && frame ? { frameOfReferenceUID: frame } : {}),
  };
}

function archivedScore(found: ArchivedResult): ArchivedScore {
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

export function pacsArchive({ results, instanceMetadata, activeDataSource, pacsDataSourceName, storedMaps, clock = () => new Date() }: PacsArchiveOptions): ResultArchive {
  const unavailableReason = (target: AnalysisTarget): string | null => {
    const active = activeDataSource();
    if (active !== pacsDataSourceName) {
      return t('pacs.otherSource', { active: active ?? '?', pacs: pacsDataSourceName });
    }
    if (!target.studyInstanceUID || !target.seriesInstanceUID) return t('pacs.noUids');
    return null;
  };

  /** Whether the verified `found` may be shown on `target` as its stored result, with its map. */
  async function storedShown(found: ArchivedResult, target: AnalysisTarget): Promise<StoredShown> {
    const calibrationVersion = found.content.calibration.version;
    try {
      if (!target.studyInstanceUID || !target.seriesInstanceUID || !storedMaps) return { status: 'refused', reason: t('pacs.noUids') };
      const image = shownImage(target, await instanceMetadata(target.studyInstanceUID, target.seriesInstanceUID, target.sopInstanceUID));
      const stored = await storedResultOf(found, image, storedMaps);
      if ('refused' in stored) return { status: 'refused', reason: stored.refused };
      return { status: 'shown', calibrationVersion, map: stored.map?.pixels ?? null, mapSopInstanceUID: stored.map?.sopInstanceUID ?? null, mapProblem: stored.mapProblem };
    } catch (error) {
      // The SR verified: its score stands; the map could not be fetched (the PACS went away).
      return { status: 'shown', calibrationVersion, map: null, mapSopInstanceUID: null, mapProblem: pacsProblem(error).message };
    }
  }

  return {
    unavailableReason,

    async find(target, model: ModelIdentity): Promise<ArchiveLookup> {
      if (unavailableReason(target) || !target.studyInstanceUID) return { status: 'absent' };
      try {
        const found = await results.find({ studyInstanceUID: target.studyInstanceUID, sopInstanceUID: target.sopInstanceUID }, model);
        if (!found) return { status: 'absent' };
        const score = archivedScore(found);
        if (found.verdict.status !== 'verified' || !storedMaps) return { status: 'found', score };
        return { status: 'found', score: { ...score, shown: await storedShown(found, target) } };
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
