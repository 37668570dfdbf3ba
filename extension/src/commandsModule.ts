import { activeImage, type ViewerServices } from './activeImage';
import { analyzeCommand } from './id';
import type { ChestAidService } from './services/ChestAidService';

interface CommandsModuleArgs {
  readonly servicesManager: { readonly services: ViewerServices & { readonly chestAidService: ChestAidService } };
  /** The instance of an image the display set does not list (index.ts reads Cornerstone's metadata). */
  readonly sopInstanceUIDOf?: (imageId: string) => string | undefined;
}

export function getCommandsModule({ servicesManager, sopInstanceUIDOf }: CommandsModuleArgs) {
  const { services } = servicesManager;

  const actions = {
    /**
     * Scores the image in the active viewport. The outcome (running, the risk score, or why it
     * could not run) is announced by chestAidService, which the panel renders; the analysis is
     * whatever was plugged in with chestAidService.setAnalyzer().
     */
    analyze: async (): Promise<void> => {
      const target = activeImage(services, sopInstanceUIDOf);
      if (typeof target === 'string') {
        services.chestAidService.fail(target);
        return;
      }
      await services.chestAidService.analyze(target);
    },
  };

  return {
    actions,
    definitions: {
      [analyzeCommand]: { commandFn: actions.analyze },
    },
    defaultContext: 'VIEWER',
  };
}
