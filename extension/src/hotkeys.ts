/**
 * ChestAid's hotkeys, as OHIF hotkey definitions: the mode adds them to `ohif.hotkeyBindings`, so
 * they are bound by OHIF's hotkeysManager, listed in its preferences and changed there like the
 * host's own. Each runs a command of the commands module. Keys are Shift plus a letter or an arrow,
 * because OHIF's defaults take the plain ones (a: add segment, n: interpolate, up/down: previous
 * and next image of the stack, h: flip).
 */
import { GROUND_TRUTHS, type GroundTruth } from '@chestaid/core';
import { analyzeCommand, heatmapHotkey, recordFeedbackCommand, showAdjacentImageCommand, toggleHeatmapCommand } from './id';
import { MESSAGES } from './messages';

export interface HotkeyDefinition {
  readonly commandName: string;
  readonly commandOptions?: Readonly<Record<string, unknown>>;
  readonly label: string;
  readonly keys: readonly string[];
  readonly isEditable: true;
}

const FEEDBACK_KEYS: Readonly<Record<GroundTruth, string>> = { pneumonia: 'shift+p', normal: 'shift+n', unsure: 'shift+u' };
const FEEDBACK_LABELS: Readonly<Record<GroundTruth, string>> = {
  pneumonia: MESSAGES.hotkeys.feedbackPneumonia,
  normal: MESSAGES.hotkeys.feedbackNormal,
  unsure: MESSAGES.hotkeys.feedbackUnsure,
};

export const hotkeyBindings: readonly HotkeyDefinition[] = [
  { commandName: analyzeCommand, label: MESSAGES.hotkeys.analyze, keys: ['shift+a'], isEditable: true },
  { commandName: toggleHeatmapCommand, label: 'ChestAid heatmap on/off', keys: [heatmapHotkey], isEditable: true },
  { commandName: showAdjacentImageCommand, commandOptions: { direction: 1 }, label: MESSAGES.hotkeys.nextImage, keys: ['shift+down'], isEditable: true },
  { commandName: showAdjacentImageCommand, commandOptions: { direction: -1 }, label: MESSAGES.hotkeys.previousImage, keys: ['shift+up'], isEditable: true },
  ...GROUND_TRUTHS.map(label => ({
    commandName: recordFeedbackCommand,
    commandOptions: { label },
    label: FEEDBACK_LABELS[label],
    keys: [FEEDBACK_KEYS[label]],
    isEditable: true as const,
  })),
];
