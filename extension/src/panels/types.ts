/**
 * What the panel needs from ChestAidService and from the OHIF glue: structural types, so tests
 * pass a plain object, and the triage pages read the same state through ChestAidStateSource. Kept
 * apart from ChestAidPanel.tsx because its parts need them too.
 */
import type { GroundTruth, Manifest } from '@chestaid/core';
import type { ChestAidState, HeatmapSettings, StudyImage } from '../analysis/types';

export interface ChestAidStateSource {
  readonly EVENTS: { readonly STATE_CHANGED: string };
  getState(): ChestAidState;
  subscribe(event: string, listener: () => void): { unsubscribe: () => void };
  /** The manifest in use (its measured operating points explain a score); absent or null: none to tell. */
  getManifest?(): Manifest | null;
}

export interface ChestAidPanelService extends ChestAidStateSource {
  setThreshold(value: number): void;
  resetThreshold(): void;
  setHeatmap(patch: Partial<HeatmapSettings>): void;
  analyzeAll(): Promise<void>;
  cancelAnalyzeAll(): void;
  /** Records the reader's ground truth for the result on screen (absent: no feedback offered). */
  recordFeedback?(label: GroundTruth, comment?: string): Promise<void>;
  /** Sends the readings the PACS refused again (absent: not offered). */
  resendFeedback?(): Promise<void>;
}

export interface ChestAidPanelProps {
  readonly service: ChestAidPanelService;
  readonly onAnalyze: () => void;
  /** Shows the image in the active viewport. */
  readonly onShowImage?: (image: StudyImage) => void;
  /** Exports the active viewport with its heatmap and a caption; rejects with the reason. */
  readonly onCapture?: (action: 'download' | 'copy') => Promise<void>;
  /** Save to PACS (the service announces the outcome in state.archive). */
  readonly onSaveToPacs?: () => void;
}
