import { analyzeButtonId, analyzeCommand, toolbarButtonsCustomization } from './id';

/**
 * The Analyze toolbar button, offered as a customization pack like OHIF's own
 * `cornerstone.toolbarButtons`: a mode lists it with `{ $reference: 'chestaid.toolbarButtons' }`
 * and places the button id in a toolbar section; sites can move or drop it by customization.
 */
export const analyzeButton = {
  id: analyzeButtonId,
  uiType: 'ohif.toolButton',
  props: {
    icon: 'tab-patient-info',
    label: 'Analyze',
    tooltip: 'ChestAid: score the image in the active viewport',
    commands: analyzeCommand,
    evaluate: 'evaluate.action',
  },
};

export function getCustomizationModule() {
  return [
    {
      name: 'default',
      value: { [toolbarButtonsCustomization]: [analyzeButton] },
    },
  ];
}
