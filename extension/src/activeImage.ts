/**
 * The image Analyze runs on: the one shown in the active viewport (for a stack, the current image).
 * Returns the target, or a sentence saying why there is none.
 */
import type { AnalysisTarget } from './services/ChestAidService';

interface DisplaySetLike {
  readonly displaySetInstanceUID: string;
  readonly Modality?: string;
  readonly images?: readonly { readonly imageId?: string }[];
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

export function activeImage({ viewportGridService, displaySetService, cornerstoneViewportService }: ViewerServices): AnalysisTarget | string {
  const { activeViewportId, viewports } = viewportGridService.getState();
  const displaySetInstanceUID = activeViewportId ? viewports.get(activeViewportId)?.displaySetInstanceUIDs?.[0] : undefined;
  if (!activeViewportId || !displaySetInstanceUID) {
    return 'No image is displayed in the active viewport.';
  }
  const displaySet = displaySetService.getDisplaySetByUID(displaySetInstanceUID);
  const imageId =
    cornerstoneViewportService?.getCornerstoneViewport(activeViewportId)?.getCurrentImageId?.() ??
    displaySet?.images?.[0]?.imageId;
  if (!displaySet || !imageId) {
    return `The active viewport shows no image ChestAid can read (display set ${displaySetInstanceUID}).`;
  }
  return { viewportId: activeViewportId, displaySetInstanceUID, imageId, modality: displaySet.Modality ?? '' };
}
