import { createElement } from 'react';

import { analyzeCommand, captureCommand, panelName, saveToPacsCommand, showImageCommand } from '../id';
import type { ChestAidService } from '../analysis/ChestAidService';
import { ChestAidPanel } from './ChestAidPanel';
import { islandComponent } from './island';

interface PanelModuleArgs {
  readonly servicesManager: { readonly services: { readonly chestAidService: ChestAidService } };
  readonly commandsManager: { runCommand(name: string, options?: object): unknown };
}

export function getPanelModule({ servicesManager, commandsManager }: PanelModuleArgs) {
  const { chestAidService } = servicesManager.services;
  const component = islandComponent(
    () =>
      createElement(ChestAidPanel, {
        service: chestAidService,
        onAnalyze: () => commandsManager.runCommand(analyzeCommand),
        onShowImage: ({ displaySetInstanceUID, imageId }) => commandsManager.runCommand(showImageCommand, { displaySetInstanceUID, imageId }),
        onCapture: async action => {
          await commandsManager.runCommand(captureCommand, { action });
        },
        onSaveToPacs: () => void commandsManager.runCommand(saveToPacsCommand),
      }),
    'ChestAidPanelIsland',
  );
  return [
    {
      name: panelName,
      iconName: 'tab-patient-info',
      iconLabel: 'ChestAid',
      label: 'ChestAid',
      component,
    },
  ];
}
