/**
 * The ResultCodec of PacsResults over the dicom module (dcmjs): the same builders and reader the
 * triage worker uses, so an SR written by either is read by both.
 */
import { buildResultSr, isChestAidResultSr, readResultSr, RESULT_SR_SERIES_DESCRIPTION } from '../dicom';
import type { ResultCodec } from './results';

export const dicomCodec: ResultCodec = {
  resultSeriesDescription: RESULT_SR_SERIES_DESCRIPTION,
  isChestAidResultSr: instance => isChestAidResultSr(instance),
  readResultSr: instance => readResultSr(instance),
  buildResultSr: input =>
    buildResultSr({
      ...input.result,
      source: input.sourceHeader,
      trainedOnSyntheticData: input.trainedOnSyntheticData,
    }),
};
