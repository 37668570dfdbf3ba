import { GROUND_TRUTHS } from '@chestaid/core';
import type { ImageRow } from './analysis/types';
import { getCommandsModule } from './commandsModule';
import { hotkeyBindings } from './hotkeys';
import { analyzeCommand, recordFeedbackCommand, showAdjacentImageCommand, toggleHeatmapCommand } from './id';
import { catalogueTranslator, setTranslator } from './i18n/translate';

/** OHIF 3.13.2's default bindings (platform/core/src/defaults/hotkeyBindings.ts): ours must not take one. */
const OHIF_DEFAULT_KEYS = [
  'z', '+', '-', '=', 'r', 'l', 'h', 'v', 'c', 'i', 'right', 'left', 'pageup', 'pagedown', '.', ',', 'down', 'up', 'home', 'end',
  'space', 'esc', '1', '2', '3', '4', 'backspace', 'enter', 'ctrl+z', 'ctrl+y', 'n', ']', '[', 'e', 'b', 'a',
];

const row = (sop: string, active = false): ImageRow => ({
  image: { displaySetInstanceUID: `ds-${sop}`, imageId: `img-${sop}`, sopInstanceUID: sop, modality: 'CR', label: sop },
  status: 'idle',
  active,
});

function commands(images: ImageRow[]) {
  const shown: { viewportId: string; displaySetInstanceUIDs: string[] }[] = [];
  const calls: string[] = [];
  const chestAidService = {
    getState: () => ({ images }),
    recordFeedback: async (label: string) => {
      calls.push(`feedback:${label}`);
    },
    analyze: async () => {
      calls.push('analyze');
    },
    fail: (message: string) => calls.push(`fail:${message}`),
    toggleHeatmap: () => calls.push('heatmap'),
  };
  const module = getCommandsModule({
    servicesManager: {
      services: {
        chestAidService,
        viewportGridService: {
          getState: () => ({ activeViewportId: 'default', viewports: new Map([['default', { displaySetInstanceUIDs: ['ds-a'] }]]) }),
          setDisplaySetsForViewport: (args: { viewportId: string; displaySetInstanceUIDs: string[] }) => shown.push(args),
        },
        displaySetService: { getDisplaySetByUID: (uid: string) => ({ displaySetInstanceUID: uid, Modality: 'CR', images: [{ imageId: `img-${uid.slice(3)}`, SOPInstanceUID: uid.slice(3) }] }) },
        cornerstoneViewportService: { getCornerstoneViewport: () => ({ getCurrentImageId: () => 'img-a' }) },
      },
    } as never,
  });
  /** What OHIF's hotkeysManager does on a key: runCommand(commandName, { evt, ...commandOptions }). */
  const press = (commandName: string, commandOptions: object = {}) =>
    (module.definitions as Record<string, { commandFn: (options: object) => unknown }>)[commandName].commandFn({ evt: {}, ...commandOptions });
  return { module, press, shown, calls };
}

describe('ChestAid hotkeys', () => {
  it('define Analyze, the heatmap, next and previous image and the three feedback labels, each editable in OHIF\'s preferences', () => {
    expect(hotkeyBindings().map(b => [b.commandName, b.commandOptions ?? null, b.keys])).toEqual([
      [analyzeCommand, null, ['shift+a']],
      [toggleHeatmapCommand, null, ['shift+h']],
      [showAdjacentImageCommand, { direction: 1 }, ['shift+down']],
      [showAdjacentImageCommand, { direction: -1 }, ['shift+up']],
      [recordFeedbackCommand, { label: 'pneumonia' }, ['shift+p']],
      [recordFeedbackCommand, { label: 'normal' }, ['shift+n']],
      [recordFeedbackCommand, { label: 'unsure' }, ['shift+u']],
    ]);
    for (const binding of hotkeyBindings()) {
      expect(binding.isEditable).toBe(true);
      expect(binding.label).toMatch(/^ChestAid /);
      // OHIF's preferences show t(label): i18next would read 'ChestAid: x' as key ' x' of a namespace 'ChestAid'.
      expect(binding.label).not.toContain(':');
    }
  });

  it("are labelled in the reader's language when asked for, with no ':' nor '.' in any language", () => {
    const english = hotkeyBindings().map(b => b.label);
    setTranslator(catalogueTranslator('es'));
    try {
      const spanish = hotkeyBindings().map(b => b.label);
      expect(spanish[0]).toBe('ChestAid analizar la imagen');
      expect(spanish[4]).toBe('ChestAid registrar mi lectura (neumonía)');
      spanish.forEach((label, i) => expect(label).not.toBe(english[i]));
      for (const label of [...english, ...spanish]) expect(label).not.toMatch(/[:.]/);
    } finally {
      setTranslator(catalogueTranslator('en'));
    }
  });

  it("take no key of OHIF's defaults nor one another's", () => {
    const keys = hotkeyBindings().flatMap(b => b.keys);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys.filter(key => OHIF_DEFAULT_KEYS.includes(key))).toEqual([]);
  });

  it('each run a command the commands module defines, with the options it binds', () => {
    const { module } = commands([]);
    for (const binding of hotkeyBindings()) expect(Object.keys(module.definitions)).toContain(binding.commandName);
  });

  it('record each feedback label for the result on screen', async () => {
    const { press, calls } = commands([]);
    for (const binding of hotkeyBindings().filter(b => b.commandName === recordFeedbackCommand)) await press(binding.commandName, binding.commandOptions);
    expect(calls).toEqual(GROUND_TRUTHS.map(label => `feedback:${label}`));
    expect(() => press(recordFeedbackCommand, { label: 'maybe' })).toThrow('label must be one of pneumonia, normal, unsure, got maybe');
  });

  it('show the next and the previous image of the panel\'s list, staying put at either end', () => {
    const next = hotkeyBindings().find(b => b.commandName === showAdjacentImageCommand && b.commandOptions?.direction === 1)!;
    const previous = hotkeyBindings().find(b => b.commandName === showAdjacentImageCommand && b.commandOptions?.direction === -1)!;
    const middle = commands([row('a'), row('b', true), row('c')]);
    middle.press(next.commandName, next.commandOptions);
    middle.press(previous.commandName, previous.commandOptions);
    expect(middle.shown.map(s => s.displaySetInstanceUIDs[0])).toEqual(['ds-c', 'ds-a']);

    const last = commands([row('a'), row('b', true)]);
    last.press(next.commandName, next.commandOptions);
    expect(last.shown).toEqual([]);

    const none = commands([row('a'), row('b')]);
    none.press(previous.commandName, previous.commandOptions);
    expect(none.shown.map(s => s.displaySetInstanceUIDs[0])).toEqual(['ds-b']);
    expect(() => none.press(showAdjacentImageCommand, { direction: 2 })).toThrow('direction must be 1 or -1, got 2');
  });

  it('analyze the image on screen', async () => {
    const { press, calls } = commands([]);
    await press(analyzeCommand);
    expect(calls).toEqual(['analyze']);
  });
});
