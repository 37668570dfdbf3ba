/**
 * The viewport tools of the ChestAid mode, for reading a single radiograph: window/level, pan,
 * zoom and scroll on the mouse, the usual 2D measurements available from the toolbar. The tool
 * names come from OHIF's cornerstone extension (its `tools` utility module), as OHIF's own modes
 * take them.
 */
export const TOOL_GROUP_ID = 'default';

interface ToolsUtility {
  readonly toolNames: Record<string, string>;
  readonly Enums: { readonly MouseBindings: Record<string, number> };
}

export interface ToolGroupDeps {
  readonly extensionManager: { getModuleEntry(id: string): unknown };
  readonly toolGroupService: { createToolGroupAndAddTools(id: string, tools: object): unknown };
  readonly commandsManager: { runCommand(name: string, options?: object): unknown };
}

export function initToolGroups({ extensionManager, toolGroupService, commandsManager }: ToolGroupDeps): void {
  const utility = extensionManager.getModuleEntry('@ohif/extension-cornerstone.utilityModule.tools') as
    | { exports: ToolsUtility }
    | undefined;
  if (!utility) {
    throw new Error('The ChestAid mode needs @ohif/extension-cornerstone (its tools utility module is missing)');
  }
  const { toolNames, Enums } = utility.exports;
  const { Primary, Secondary, Auxiliary, Wheel } = Enums.MouseBindings;

  toolGroupService.createToolGroupAndAddTools(TOOL_GROUP_ID, {
    active: [
      { toolName: toolNames.WindowLevel, bindings: [{ mouseButton: Primary }] },
      { toolName: toolNames.Pan, bindings: [{ mouseButton: Auxiliary }] },
      { toolName: toolNames.Zoom, bindings: [{ mouseButton: Secondary }, { numTouchPoints: 2 }] },
      { toolName: toolNames.StackScroll, bindings: [{ mouseButton: Wheel }, { numTouchPoints: 3 }] },
    ],
    passive: [
      { toolName: toolNames.Length },
      {
        toolName: toolNames.ArrowAnnotate,
        configuration: {
          getTextCallback: (callback: unknown, eventDetails: unknown) =>
            commandsManager.runCommand('arrowTextCallback', { callback, eventDetails }),
          changeTextCallback: (data: unknown, eventDetails: unknown, callback: unknown) =>
            commandsManager.runCommand('arrowTextCallback', { callback, data, eventDetails }),
        },
      },
      { toolName: toolNames.Bidirectional },
      { toolName: toolNames.EllipticalROI },
      { toolName: toolNames.RectangleROI },
      { toolName: toolNames.CircleROI },
      { toolName: toolNames.Probe },
      { toolName: toolNames.Angle },
      { toolName: toolNames.CobbAngle },
      { toolName: toolNames.Magnify },
      { toolName: toolNames.CalibrationLine },
      { toolName: toolNames.WindowLevelRegion },
    ],
  });
}
