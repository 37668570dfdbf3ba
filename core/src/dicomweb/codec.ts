/**
 * The ResultCodec of PacsResults over the dicom module (dcmjs): the same builders and reader the
 * triage worker uses, so an SR written by either is read by both.
 */
import {
  buildFeedbackSr,
  buildHeatmapParametricMap,
  buildResultSr,
  isChestAidResultSr,
  readHeatmapPixels,
  readHeatmapReference,
  readResultSr,
  RESULT_SR_SERIES_DESCRIPTION,
} from '../dicom';
import type { FeedbackCodec } from './feedback';
import type { ResultCodec } from './results';
import type { ReadHeatmap } from './storedResult';

export const dicomCodec: ResultCodec = {
  resultSeriesDescription: RESULT_SR_SERIES_DESCRIPTION,
  isChestAidResultSr: instance => isChestAidResultSr(instance),
  readResultSr: instance => readResultSr(instance),
  buildResultSr: (input, uids) =>
    buildResultSr({
      ...input.result,
      ...uids,
      source: input.sourceHeader,
      trainedOnSyntheticData: input.trainedOnSyntheticData,
    }),
  // On the source's own grid (the module's default), which OHIF 3.13 needs to overlay it.
  buildHeatmap: (input, uids) =>
    buildHeatmapParametricMap({
      ...uids,
      source: input.sourceHeader,
      cam: input.heatmap,
      model: input.result.model,
      calibration: input.result.calibration,
      trainedOnSyntheticData: input.trainedOnSyntheticData,
    }),
};

/** The feedback SR builder of the PACS feedback sink (pacs/feedback.ts). */
export const feedbackCodec: FeedbackCodec = {
  buildFeedbackSr: input => buildFeedbackSr(input),
};

/** A stored heatmap map's Part 10 bytes, read back (storedResult.ts): where it belongs and its values. */
export function readHeatmap(part10: ArrayBuffer): ReadHeatmap {
  return { reference: readHeatmapReference(part10), pixels: readHeatmapPixels(part10) };
}
