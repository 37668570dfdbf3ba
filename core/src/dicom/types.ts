/**
 * What ChestAid stores in the PACS, as plain data (the shared contract of issues 7 and 8: the
 * panel, the worklist and the triage worker build and read these; only this module knows DICOM).
 */
import type { SourceImageRef } from './values';

export type { SourceImageRef } from './values';

export type ThresholdDecision = 'above' | 'below';

/** One ChestAid result on one image, as written into and read back from the result SR. */
export interface ChestAidResultContent {
  readonly source: SourceImageRef;
  /** Calibrated probability of pneumonia, in [0, 1]. */
  readonly score: number;
  /** The model's raw logit, before calibration. */
  readonly logit: number;
  /** The clinical threshold the score was compared with, in [0, 1]. */
  readonly threshold: number;
  /** 'above' iff score >= threshold (core/threshold.ts). */
  readonly decision: ThresholdDecision;
  readonly calibration: { readonly method: string; readonly version: string };
  readonly model: { readonly id: string; readonly version: string; readonly sha256: string; readonly deviceUID: string };
  /** When the score was computed, ISO 8601 in UTC (Date.toISOString form). */
  readonly observedAt: string;
}

/** A DICOM object built by this module: the bytes to STOW, the dataset, and its new UIDs. */
export interface BuiltObject {
  readonly part10: ArrayBuffer;
  readonly dataset: Record<string, unknown>;
  readonly sopInstanceUID: string;
  readonly seriesInstanceUID: string;
}

/** SOP classes (PS3.4 B.5). */
export const SOP_CLASS = Object.freeze({
  comprehensiveSr: '1.2.840.10008.5.1.4.1.1.88.33',
  enhancedSr: '1.2.840.10008.5.1.4.1.1.88.22',
  comprehensive3dSr: '1.2.840.10008.5.1.4.1.1.88.34',
  parametricMap: '1.2.840.10008.5.1.4.1.1.30',
});

/** Series descriptions the worklist and worker find ChestAid objects by (QIDO-RS). */
export const RESULT_SR_SERIES_DESCRIPTION = 'ChestAid AI result';
export const HEATMAP_SERIES_DESCRIPTION = 'ChestAid Grad-CAM heatmap';
/** Manufacturer of every object ChestAid writes, and of the device in Contributing Equipment. */
export const CHESTAID_MANUFACTURER = 'ChestAid';
/** Series numbers, high so they sort after the acquired series in a viewer's series list. */
export const RESULT_SR_SERIES_NUMBER = 9001;
export const HEATMAP_SERIES_NUMBER = 9002;
