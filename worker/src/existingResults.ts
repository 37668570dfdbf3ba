/**
 * Exactly once, and only for results that verify. Before scoring an image the worker reads the
 * study's ChestAid result SRs from the PACS (QIDO-RS for SR series, WADO-RS metadata), judges each
 * (core verifyResult: derived UID, device, model bytes, calibration, score and decision) and skips
 * any image that already has a verified one for the same source SOP Instance UID, model sha256 and
 * calibration identity, whoever wrote it. An image with only unverified SRs is scored and its
 * true result written; an SR that fails verification is logged with its reason.
 *
 * The window between a STOW the PACS accepted and the worker knowing it (a crash, a lost
 * response) is closed by the UIDs: they derive from that same key (results.ts), so a repeated
 * write names the same instances and the PACS keeps one copy. An unverified SR sitting on those
 * UIDs would swallow the write (Orthanc keeps the first instance): the worker then writes under
 * the next revision of the UIDs (core freeRevision), which is why every SOP Instance UID of the
 * study's ChestAid series is returned too. The heatmap is stored before the SR (results.ts,
 * storeOutputs), so an SR in the PACS means both are there.
 */
import {
  type DicomJson,
  DicomReadError,
  judgeResults,
  type FoundResult,
  messageOf,
  readResultSr,
  RESULT_SR_SERIES_DESCRIPTION,
  type VerifyContext,
} from '@chestaid/core';
import { TAG, value } from './dicomJson';
import type { Logger } from './log';
import type { PacsLink } from './pacsLink';
import { keyText } from './results';

export interface ExistingResults {
  /** Keys of the images with a verified result (or verified results in conflict: a third is no help). */
  readonly done: ReadonlySet<string>;
  /** Every SOP Instance UID in the study's ChestAid result series, readable or not. */
  readonly occupied: ReadonlySet<string>;
}

/** The study's verified results and the UIDs its ChestAid series occupy (any writer: this worker, another, a reader's panel, anyone). */
export async function existingResults(
  link: PacsLink,
  logger: Logger,
  studyUID: string,
  series: readonly DicomJson[],
  context: VerifyContext,
): Promise<ExistingResults> {
  const found: FoundResult[] = [];
  const occupied = new Set<string>();
  for (const s of series) {
    if (value(s, TAG.Modality) !== 'SR') continue;
    const seriesUID = value(s, TAG.SeriesInstanceUID);
    if (!seriesUID) continue;
    if (value(s, TAG.SeriesDescription) !== RESULT_SR_SERIES_DESCRIPTION) {
      // Not a ChestAid series by its description, which the first instance stored sets: an SR
      // planted under ChestAid's derived series UID with another description hides there, and
      // its UIDs must still count as taken, or every write would be dropped as a duplicate.
      for (const instance of await link.ask(pacs => pacs.searchInstances(studyUID, seriesUID))) {
        const sop = value(instance, TAG.SOPInstanceUID);
        if (sop) occupied.add(sop);
      }
      continue;
    }
    const metadata = await link.ask(pacs => pacs.retrieveSeriesMetadata(studyUID, seriesUID));
    for (const instance of metadata) {
      const sop = value(instance, TAG.SOPInstanceUID);
      if (sop) occupied.add(sop);
      try {
        const content = readResultSr(instance);
        if (sop) found.push({ content, srSopInstanceUID: sop, srSeriesInstanceUID: seriesUID });
      } catch (error) {
        if (!(error instanceof DicomReadError)) throw error;
        // An SR in a ChestAid-named series that is not a readable ChestAid result says nothing
        // about which images are done; it is noted and ignored (its UID stays occupied).
        logger.log('warn', 'unreadable-result', { study: studyUID, series: seriesUID, error: messageOf(error) });
      }
    }
  }
  const done = new Set<string>();
  for (const result of await judgeResults(found, context)) {
    const { content, verdict } = result;
    const key = keyText({ sopInstanceUID: content.source.sopInstanceUID, modelSha256: content.model.sha256, calibrationVersion: content.calibration.version });
    if (verdict.status === 'unverified') {
      logger.log('warn', 'unverified-result', { study: studyUID, sop: content.source.sopInstanceUID, sr: result.srSopInstanceUID, reason: verdict.reason });
      continue;
    }
    if (verdict.status === 'conflict') logger.log('warn', 'conflicting-results', { study: studyUID, sop: content.source.sopInstanceUID, reason: verdict.reason });
    done.add(key);
  }
  return { done, occupied };
}
