/**
 * ChestAid's hotkeys, as OHIF hotkey definitions: the mode adds them to `ohif.hotkeyBindings`, so
 * they are bound by OHIF's hotkeysManager, listed in its preferences and changed there like the
 * host's own. Each runs a command of the commands module. Keys are Shift plus a letter or an arrow,
 * because OHIF's defaults take the plain ones (a: add segment, n: interpolate, up/down: previous
 * and next image of the stack, h: flip).
 *
 * The labels are catalogue words (i18n/), read when the mode asks for the bindings (after the
 * extension's preRegistration has chosen the language). OHIF's preferences show t(label) with its
 * own i18next, which finds no such key and shows the label as given; so a label holds no ':'
 * (i18next would read the text before it as a namespace) and no '.' (its key separator).
 */
import { GROUND_TRUTHS, type GroundTruth } from '@chestaid/core';
import { analyzeCommand, heatmapHotkey, recordFeedbackCommand, showAdjacentImageCommand, toggleHeatmapCommand } from './id';
import type { Key } from './i18n/en';
import { t } from './i18n/translate';

export interface HotkeyDefinition {
  readonly commandName: string;
  readonly commandOptions?: Readonly<Record<string, unknown>>;
  readonly label: string;
  readonly keys: readonly string[];
  readonly isEditable: true;
}

const FEEDBACK_KEYS: Readonly<Record<GroundTruth, string>> = { pneumonia: 'shift+p', normal: 'shift+n', unsure: 'shift+u' };
const FEEDBACK_LABELS = {
  pneumonia: 'hotkey.feedbackPneumonia',
  normal: 'hotkey.feedbackNormal',
  unsure: 'hotkey.feedbackUnsure',
} as const satisfies Readonly<Record<GroundTruth, Key>>;

/** ChestAid's hotkey definitions, labelled in the reader's language (call it once the extension is registered). */
export function hotkeyBindings(): readonly HotkeyDefinition[] {
  return [
    { commandName: analyzeCommand, label: t('hotkey.analyze'), keys: ['shift+a'], isEditable: true },
    { commandName: toggleHeatmapCommand, label: t('hotkey.heatmap'), keys: [heatmapHotkey], isEditable: true },
    { commandName: showAdjacentImageCommand, commandOptions: { direction: 1 }, label: t('hotkey.nextImage'), keys: ['shift+down'], isEditable: true },
    { commandName: showAdjacentImageCommand, commandOptions: { direction: -1 }, label: t('hotkey.previousImage'), keys: ['shift+up'], isEditable: true },
    ...GROUND_TRUTHS.map(label => ({
      commandName: recordFeedbackCommand,
      commandOptions: { label },
      label: t(FEEDBACK_LABELS[label]),
      keys: [FEEDBACK_KEYS[label]],
      isEditable: true as const,
    })),
  ];
}
