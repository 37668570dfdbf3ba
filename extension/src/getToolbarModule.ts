/**
 * The toolbar's evaluators: the heatmap toggle shows whether the layer is on (ChestAidService's
 * heatmap settings, announced with its state).
 */
import type { ChestAidService } from './analysis/ChestAidService';
import { heatmapEvaluator } from './id';

interface ToolbarModuleArgs {
  readonly servicesManager: { readonly services: { readonly chestAidService: Pick<ChestAidService, 'getState'> } };
}

export function getToolbarModule({ servicesManager }: ToolbarModuleArgs) {
  return [
    {
      name: heatmapEvaluator,
      evaluate: () => ({ isActive: servicesManager.services.chestAidService.getState().heatmap.visible }),
    },
  ];
}
