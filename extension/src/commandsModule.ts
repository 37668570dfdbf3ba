import { activeImage, type ViewerServices } from './activeImage';
import {
  analyzeAllCommand,
  analyzeCommand,
  captureCommand,
  prepareModelCommand,
  recordFeedbackCommand,
  saveToPacsCommand,
  showAdjacentImageCommand,
  showImageCommand,
  toggleHeatmapCommand,
} from './id';
import { captionedPng, copyBlob, downloadBlob } from './heatmap/capture';
import { captureCaption, storedMark } from './panels/format';
import type { ChestAidService } from './analysis/ChestAidService';
import { GROUND_TRUTHS, messageOf, type GroundTruth } from '@chestaid/core';
import { t } from './i18n/translate';

interface GridServiceLike {
  getState(): ReturnType<ViewerServices['viewportGridService']['getState']>;
  setDisplaySetsForViewport?(args: {
    viewportId: string;
    displaySetInstanceUIDs: string[];
    viewportOptions?: { initialImageOptions?: { index: number } };
  }): unknown;
}

interface CommandsModuleArgs {
  readonly servicesManager: {
    readonly services: ViewerServices & { readonly chestAidService: ChestAidService; readonly viewportGridService: GridServiceLike };
  };
  /** The instance of an image the display set does not list (index.ts reads Cornerstone's metadata). */
  readonly sopInstanceUIDOf?: (imageId: string) => string | undefined;
  /** The rendered canvas of a viewport (radiograph and heatmap layer), for captures. */
  readonly viewportCanvas?: (viewportId: string) => HTMLCanvasElement | undefined;
}


export function getCommandsModule({ servicesManager, sopInstanceUIDOf, viewportCanvas }: CommandsModuleArgs) {
  const { services } = servicesManager;

  const actions = {
    /**
     * Scores the image in the active viewport. The outcome (running, the risk score, or why it
     * could not run) is announced by chestAidService, which the panel renders; the analysis is
     * the analyzer handed to chestAidService.configure().
     */
    analyze: async (): Promise<void> => {
      const target = activeImage(services, sopInstanceUIDOf);
      if (typeof target === 'string') {
        services.chestAidService.fail(target);
        return;
      }
      await services.chestAidService.analyze(target);
    },

    /** Loads the model before any Analyze where the site allows it (the mode, on entry); never throws. */
    prepareModel: (): Promise<void> => services.chestAidService.prepareModel(),

    /** Scores every CR/DX image of the study in turn (the panel's "Analyze all images"). */
    analyzeAll: (): Promise<void> => services.chestAidService.analyzeAll(),

    /**
     * Save to PACS: the result shown for the active image, as DICOM SR plus the heatmap as a
     * Parametric Map, once. The outcome (saved, already there, refused, unreachable) is announced
     * by chestAidService in state.archive.
     */
    saveToPacs: (): Promise<void> => services.chestAidService.saveToPacs(),

    /** Heatmap on/off, in every viewport (toolbar toggle and hotkey). */
    toggleHeatmap: (): void => services.chestAidService.toggleHeatmap(),

    /** Shows one of the study's images in the active viewport (the panel's image list). */
    showImage: ({ displaySetInstanceUID, imageId }: { displaySetInstanceUID: string; imageId: string }): void => {
      const { viewportGridService, displaySetService } = services;
      const { activeViewportId } = viewportGridService.getState();
      if (!activeViewportId || !viewportGridService.setDisplaySetsForViewport) return;
      const index = displaySetService.getDisplaySetByUID(displaySetInstanceUID)?.images?.findIndex(image => image.imageId === imageId) ?? -1;
      viewportGridService.setDisplaySetsForViewport({
        viewportId: activeViewportId,
        displaySetInstanceUIDs: [displaySetInstanceUID],
        viewportOptions: index > 0 ? { initialImageOptions: { index } } : undefined,
      });
    },

    /**
     * Shows the image after (direction 1) or before (-1) the active one in the panel's image list,
     * staying put at either end; with none of the list on screen, its first (or last) image.
     */
    showAdjacentImage: ({ direction }: { direction: number }): void => {
      if (direction !== 1 && direction !== -1) throw new Error(`direction must be 1 or -1, got ${String(direction)}`);
      const rows = services.chestAidService.getState().images;
      if (rows.length === 0) return;
      const at = rows.findIndex(row => row.active);
      const next = at === -1 ? (direction === 1 ? 0 : rows.length - 1) : Math.min(rows.length - 1, Math.max(0, at + direction));
      if (next === at) return;
      actions.showImage(rows[next].image);
    },

    /** Records the reader's ground truth for the result on screen (the panel's feedback, without a comment). */
    recordFeedback: ({ label }: { label: GroundTruth }): Promise<void> => {
      if (!GROUND_TRUTHS.includes(label)) throw new Error(`label must be one of ${GROUND_TRUTHS.join(', ')}, got ${String(label)}`);
      return services.chestAidService.recordFeedback(label);
    },

    /**
     * The active viewport as rendered, heatmap included, with a caption (score, threshold, model,
     * "decision support, not a diagnosis"), downloaded as PNG or copied. Rejects with the reason.
     */
    capture: async ({ action }: { action: 'download' | 'copy' }): Promise<void> => {
      const state = services.chestAidService.getState();
      const { analysis, model, threshold } = state;
      const { activeViewportId } = services.viewportGridService.getState();
      const canvas = activeViewportId ? viewportCanvas?.(activeViewportId) : undefined;
      // A result computed here, or a verified stored one (its caption says so, with its date and model).
      const shown = analysis.status === 'done' ? analysis.outcome : analysis.status === 'stored' ? { analysis: { probability: analysis.stored.probability } } : null;
      if (!shown || (analysis.status !== 'done' && analysis.status !== 'stored') || model.status !== 'ready' || !threshold) {
        throw new Error(t('capture.analyzeFirst'));
      }
      if (!canvas) throw new Error(t('capture.noImage'));
      const caption = captureCaption(shown, threshold.value, model.info);
      if (analysis.status === 'stored') caption.splice(1, 0, storedMark(analysis.stored));
      let blob: Blob;
      try {
        blob = await captionedPng(canvas, caption);
      } catch (error) {
        throw new Error(t('capture.failed', { message: messageOf(error) }));
      }
      if (action === 'copy') await copyBlob(blob);
      else downloadBlob(blob, `chestaid-${analysis.target.sopInstanceUID}.png`);
    },
  };

  return {
    actions,
    definitions: {
      [saveToPacsCommand]: { commandFn: actions.saveToPacs },
      [analyzeCommand]: { commandFn: actions.analyze },
      [analyzeAllCommand]: { commandFn: actions.analyzeAll },
      [toggleHeatmapCommand]: { commandFn: actions.toggleHeatmap },
      [showImageCommand]: { commandFn: actions.showImage },
      [showAdjacentImageCommand]: { commandFn: actions.showAdjacentImage },
      [recordFeedbackCommand]: { commandFn: actions.recordFeedback },
      [captureCommand]: { commandFn: actions.capture },
      [prepareModelCommand]: { commandFn: actions.prepareModel },
    },
    defaultContext: 'VIEWER',
  };
}
