/**
 * The open study's CR/DX images as the panel lists them, from OHIF's display sets: every image
 * of every CR/DX display set, in display-set order.
 */
import { ACCEPTED_MODALITIES } from './modalities';
import type { StudyImage } from './analysis/types';

export interface DisplaySetWithImages {
  readonly displaySetInstanceUID: string;
  readonly Modality?: string;
  readonly SeriesDescription?: string;
  readonly SeriesNumber?: number | string;
  readonly StudyInstanceUID?: string;
  readonly SeriesInstanceUID?: string;
  readonly images?: readonly { readonly imageId?: string; readonly SOPInstanceUID?: string; readonly InstanceNumber?: number | string; readonly StudyDate?: string }[];
}

export function studyImages(displaySets: readonly DisplaySetWithImages[]): StudyImage[] {
  const found: StudyImage[] = [];
  for (const displaySet of displaySets) {
    const modality = (displaySet.Modality ?? '').toUpperCase();
    if (!ACCEPTED_MODALITIES.includes(modality)) continue;
    const images = displaySet.images ?? [];
    const series = displaySet.SeriesDescription?.trim() || `Series ${displaySet.SeriesNumber ?? '?'}`;
    images.forEach((image, index) => {
      if (!image.imageId || !image.SOPInstanceUID) return;
      const label = images.length > 1 ? `${series}, image ${image.InstanceNumber ?? index + 1}` : series;
      found.push({
        displaySetInstanceUID: displaySet.displaySetInstanceUID,
        imageId: image.imageId,
        sopInstanceUID: image.SOPInstanceUID,
        modality,
        label,
        // Stored results are keyed by study and series too (triage/outcomeStore.ts).
        ...(displaySet.StudyInstanceUID ? { studyInstanceUID: displaySet.StudyInstanceUID } : {}),
        ...(displaySet.SeriesInstanceUID ? { seriesInstanceUID: displaySet.SeriesInstanceUID } : {}),
        // What tells a study from the patient's prior (the score change).
        ...(image.StudyDate ? { studyDate: String(image.StudyDate) } : {}),
      });
    });
  }
  return found;
}
