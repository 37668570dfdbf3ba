/**
 * The host viewer's Cornerstone, as extension-cornerstone exposes it on window.cornerstone. The
 * extension is loaded at run time into the prebuilt viewer (host/app-config.js), so it reaches the
 * host only through this and the managers OHIF hands to each hook. It is read at each use:
 * extension-cornerstone may set it after ChestAid registers.
 */
import type { CornerstoneHeatmapHost, CornerstoneViewportHost } from '../heatmap/cornerstoneHeatmap';
import { sopInstanceUIDOf, type CornerstoneLike } from './cornerstonePixels';
import type { MetaDataRegistry } from './voiLutFunction';

export type CornerstoneHost = CornerstoneLike & { readonly metaData: MetaDataRegistry } &
  CornerstoneHeatmapHost &
  CornerstoneViewportHost & {
    readonly EVENTS?: {
      readonly STACK_NEW_IMAGE?: string;
      readonly STACK_VIEWPORT_NEW_STACK?: string;
      readonly ELEMENT_ENABLED?: string;
      readonly ELEMENT_DISABLED?: string;
    };
    readonly eventTarget?: EventTarget;
  };

/** The host's Cornerstone, or undefined while the viewer has not set it. */
export function hostCornerstone(): CornerstoneHost | undefined {
  return (window as unknown as { cornerstone?: CornerstoneHost }).cornerstone;
}

/** The host's Cornerstone; throws, saying so, where the viewer does not expose it. */
export function cornerstone(): CornerstoneHost {
  const found = hostCornerstone();
  if (!found) throw new Error('The viewer does not expose Cornerstone (window.cornerstone); ChestAid cannot read images.');
  return found;
}

/** The instance of an image by Cornerstone's metadata, or undefined (no Cornerstone, no metadata). */
export function sopInstanceUIDFromCornerstone(imageId: string): string | undefined {
  try {
    return sopInstanceUIDOf(cornerstone(), imageId);
  } catch {
    return undefined;
  }
}

/** The rendered canvas of a viewport (radiograph and heatmap layer), for captures. */
export function viewportCanvas(viewportId: string): HTMLCanvasElement | undefined {
  return (cornerstone().getEnabledElementByViewportId(viewportId)?.viewport as { getCanvas?(): HTMLCanvasElement } | undefined)?.getCanvas?.();
}
