/**
 * Exactly once. Before scoring an image the worker reads the study's ChestAid result SRs from the
 * PACS (QIDO-RS for SR series, WADO-RS metadata) and skips any image that already has one for the
 * same source SOP Instance UID, model sha256 and calibration version, whoever wrote it. The window
 * between a STOW the PACS accepted and the worker knowing it (a crash, a lost response) is closed
 * by the UIDs: they derive from that same key (results.ts), so a repeated write names the same
 * instances and the PACS keeps one copy. The heatmap is stored before the SR (results.ts,
 * storeOutputs), so an SR in the PACS means both are there.
 */
import { type DicomJson, DicomReadError, messageOf, readResultSr, RESULT_SR_SERIES_DESCRIPTION } from '@chestaid/core';
import { TAG, value } from './dicomJson';
import type { Logger } from './log';
import type { PacsLink } from './pacsLink';
import { keyText } from './results';

/** Keys of the ChestAid result SRs the study already holds (any writer: this worker, another, a reader's panel). */
export async function existingResults(link: PacsLink, logger: Logger, studyUID: string, series: readonly DicomJson[]): Promise<Set<string>> {
  const keys = new Set<string>();
  for (const s of series) {
    if (value(s, TAG.Modality) !== 'SR' || value(s, TAG.SeriesDescription) !== RESULT_SR_SERIES_DESCRIPTION) continue;
    const seriesUID = value(s, TAG.SeriesInstanceUID);
    if (!seriesUID) continue;
    const metadata = await link.ask(pacs => pacs.retrieveSeriesMetadata(studyUID, seriesUID));
    for (const instance of metadata) {
      try {
        const content = readResultSr(instance);
        keys.add(keyText({ sopInstanceUID: content.source.sopInstanceUID, modelSha256: content.model.sha256, calibrationVersion: content.calibration.version }));
      } catch (error) {
        if (!(error instanceof DicomReadError)) throw error;
        // An SR in a ChestAid-named series that is not a readable ChestAid result says nothing
        // about which images are done; it is noted and ignored.
        logger.log('warn', 'unreadable-result', { study: studyUID, series: seriesUID, error: messageOf(error) });
      }
    }
  }
  return keys;
}
