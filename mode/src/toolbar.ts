/**
 * Registers the mode's toolbar from its resolved composition. The mode route seeds the
 * `toolbarButtons` / `toolbarSections` customizations from the mode's lists on entry; reading them
 * back through the customization service expands the `$reference` packs and applies any site
 * customization. Sections are shallow-merged in order (later lists win per section).
 */
export interface ToolbarServices {
  readonly toolbarService: { register(buttons: unknown[]): void; updateSection(section: string, buttonIds: unknown): void };
  readonly customizationService: { getCustomization(id: string): unknown };
}

const toArray = (value: unknown): unknown[] =>
  value === null || value === undefined ? [] : Array.isArray(value) ? [...value] : [value];

/**
 * The buttons placed in some section. OHIF resolves the evaluators of every registered button at
 * once and throws on one it does not know, so a pack's other buttons (e.g. segmentation ones,
 * whose evaluators come with an extension this mode does not load) must stay unregistered.
 */
export function buttonsInSections(buttons: readonly unknown[], sections: Record<string, unknown>): unknown[] {
  const placed = new Set(Object.values(sections).flatMap(ids => toArray(ids)));
  return buttons.filter(button => placed.has((button as { id?: unknown } | null)?.id));
}

export function registerToolbar({ toolbarService, customizationService }: ToolbarServices): void {
  const sections: Record<string, unknown> = Object.assign(
    {},
    ...toArray(customizationService.getCustomization('toolbarSections')),
  );
  const buttons = toArray(customizationService.getCustomization('toolbarButtons'));
  toolbarService.register(buttonsInSections(buttons, sections));
  for (const [section, buttonIds] of Object.entries(sections)) {
    toolbarService.updateSection(section, buttonIds);
  }
}
