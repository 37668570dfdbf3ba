import { analyzeButtonId, analyzeCommand, heatmapButtonId, heatmapEvaluator, toggleHeatmapCommand, toolbarButtonsCustomization } from './id';
import { calibrationRoutes, type CalibrationCustomizationArgs } from './recalibration/customization';
import { triageButton, triageCustomizations, type TriageCustomizationArgs } from './triage/customization';
import { t } from './i18n/translate';
import { HEATMAP_HOTKEY } from './panels/parts/HeatmapControls';

/**
 * The Analyze toolbar button, offered as a customization pack like OHIF's own
 * `cornerstone.toolbarButtons`: a mode lists it with `{ $reference: 'chestaid.toolbarButtons' }`
 * and places the button id in a toolbar section; sites can move or drop it by customization.
 */
export const analyzeButton = () => ({
  id: analyzeButtonId,
  uiType: 'ohif.toolButton',
  props: {
    icon: 'tab-patient-info',
    label: t('panel.analyze'),
    tooltip: t('toolbar.analyzeTooltip'),
    commands: analyzeCommand,
    evaluate: 'evaluate.action',
  },
});

/** Heatmap on/off; highlighted while the layer is shown (getToolbarModule's evaluator). */
export const heatmapButton = () => ({
  id: heatmapButtonId,
  uiType: 'ohif.toolButton',
  props: {
    icon: 'tool-fusion-color',
    label: t('heatmap.legend'),
    tooltip: t('toolbar.heatmapTooltip', { hotkey: HEATMAP_HOTKEY }),
    commands: toggleHeatmapCommand,
    evaluate: heatmapEvaluator,
  },
});

type HostArgs = TriageCustomizationArgs & CalibrationCustomizationArgs;

/** The host's custom routes with the triage, recalibration and monitoring pages, each once. */
function pageCustomizations(args: HostArgs) {
  const triage = triageCustomizations(args);
  const calibration = calibrationRoutes(args);
  const triageRoutes = triage['routes.customRoutes'].$apply;
  return {
    ...triage,
    'routes.customRoutes': { $apply: (existing: Parameters<typeof triageRoutes>[0]) => calibration(triageRoutes(existing)) },
  };
}

/**
 * OHIF passes the managers; the triage worklist's column and page (triage/customization.ts) and
 * the recalibration and monitoring pages (calibration/customization.ts) need them.
 */
export function getCustomizationModule(args?: HostArgs) {
  return [
    {
      name: 'default',
      value: {
        [toolbarButtonsCustomization]: [analyzeButton(), heatmapButton(), triageButton()],
        ...(args ? pageCustomizations(args) : {}),
      },
    },
  ];
}
