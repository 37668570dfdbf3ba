/**
 * The image Analyze runs on: the one shown in the active viewport (for a stack, the current image).
 * Returns the target, or a sentence saying why there is none.
 */
import type { AnalysisTarget } from './analysis/types';
import { t } from './i18n/translate';

interface DisplaySetLike {
  readonly displaySetInstanceUID: string;
  readonly Modality?: string;
  readonly StudyInstanceUID?: string;
  readonly SeriesInstanceUID?: string;
  readonly images?: readonly { readonly imageId?: string; readonly SOPInstanceUID?: string }[];
}

export interface ViewerServices {
  readonly viewportGridService: {
    getState(): { activeViewportId: string | null; viewports: Map<string, { displaySetInstanceUIDs?: string[] }> };
  };
  readonly displaySetService: { getDisplaySetByUID(uid: string): DisplaySetLike | undefined };
  readonly cornerstoneViewportService?: {
    getCornerstoneViewport(viewportId: string): { getCurrentImageId?(): string | undefined } | null | undefined;
  };
}

/**
 * `sopInstanceUIDOf` names the instance of an image the display set does not list by that id
 * (a frame of a multi-frame instance); the glue reads it from Cornerstone's metadata.
 */
export function activeImage(
  { viewportGridService, displaySetService, cornerstoneViewportService }: ViewerServices,
  sopInstanceUIDOf: (imageId: string) => string | undefined = () => undefined,
): AnalysisTarget | string {
  const { activeViewportId, viewports } = viewportGridService.getState();
  const displaySetInstanceUID = activeViewportId ? viewports.get(activeViewportId)?.displaySetInstanceUIDs?.[0] : undefined;
  if (!activeViewportId || !displaySetInstanceUID) {
    return t('active.noImage');
  }
  const displaySet = displaySetService.getDisplaySetByUID(displaySetInstanceUID);
  const imageId =
    cornerstoneViewportService?.getCornerstoneViewport(activeViewportId)?.getCurrentImageId?.() ??
    displaySet?.images?.[0]?.imageId;
  if (!displaySet || !imageId) {
    return t('active.unreadable', { displaySet: displaySetInstanceUID });
  }
  // Results are keyed by the instance; the display set's image list says which one is on screen.
  const sopInstanceUID = displaySet.images?.find(image => image.imageId === imageId)?.SOPInstanceUID ?? sopInstanceUIDOf(imageId);
  if (!sopInstanceUID) {
    return t('active.noSop', { imageId });
  }
  return {
    viewportId: activeViewportId,
    displaySetInstanceUID,
    imageId,
    sopInstanceUID,
    modality: displaySet.Modality ?? '',
    // Stored results are keyed by study and series too (triage/resultStore.ts).
    ...(displaySet.StudyInstanceUID ? { studyInstanceUID: displaySet.StudyInstanceUID } : {}),
    ...(displaySet.SeriesInstanceUID ? { seriesInstanceUID: displaySet.SeriesInstanceUID } : {}),
  };
}
