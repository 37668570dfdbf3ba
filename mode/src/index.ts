/**
 * The ChestAid mode: one chest radiograph in a Cornerstone viewport, the series list on the left,
 * the ChestAid panel on the right, an Analyze button in the toolbar. Declarative: string ids of
 * modules the extensions register, a validity rule, and setup/teardown in onModeEnter/onModeExit.
 */
import {
  addPriorStudy,
  analyzeButtonId,
  CHEST_PROTOCOL_IDS,
  extensionVersion,
  heatmapButtonId,
  hotkeyBindings,
  id as extensionId,
  panelId,
  prepareModelCommand,
  toolbarButtonsCustomization,
  triageButtonId,
} from '@chestaid/extension-chestaid';

import { isValidMode } from './isValidMode';
import { registerToolbar, type ToolbarServices } from './toolbar';
import { initToolGroups, type ToolGroupDeps } from './toolGroups';

const id = 'chestaid';

const ohif = {
  layout: '@ohif/extension-default.layoutTemplateModule.viewerLayout',
  sopClassHandler: '@ohif/extension-default.sopClassHandlerModule.stack',
  seriesList: '@ohif/extension-default.panelModule.seriesList',
  // The hanging protocols' ids (not module paths): ChestAid's, the frontal radiograph alone or with
  // its prior, chosen by OHIF's protocol matching.
  hangingProtocol: CHEST_PROTOCOL_IDS,
};

const cornerstone = {
  viewport: '@ohif/extension-cornerstone.viewportModule.cornerstone',
  toolbarButtons: 'cornerstone.toolbarButtons',
  toolbarSections: 'cornerstone.toolbarSections',
};

// OHIF's mode route imports each listed extension it has not registered yet: a site that builds
// OHIF with pluginConfig.json gets ChestAid's from here. The prebuilt demo viewer registers it
// from app-config.js instead and drops it from this list (it cannot import a package name).
const extensionDependencies = {
  '@ohif/extension-default': '^3.0.0',
  '@ohif/extension-cornerstone': '^3.0.0',
  [extensionId]: `^${extensionVersion}`,
};

/**
 * Toolbar sections (section -> button ids from `cornerstone.toolbarButtons`, plus Analyze). The
 * cornerstone pack's own layout is kept for the viewport corners; the main toolbar and its menus
 * hold the tools of a 2D radiograph reading, all backed by the tool group in toolGroups.ts.
 */
const toolbarSections = {
  primary: ['MeasurementTools', 'Zoom', 'Pan', 'WindowLevel', 'Layout', 'Capture', 'MoreTools', analyzeButtonId, heatmapButtonId, triageButtonId],
  MeasurementTools: ['Length', 'Bidirectional', 'ArrowAnnotate', 'EllipticalROI', 'RectangleROI', 'CircleROI'],
  MoreTools: ['Reset', 'rotate-right', 'flipHorizontal', 'invert', 'Probe', 'Angle', 'CobbAngle', 'Magnify', 'CalibrationLine', 'TagBrowser', 'WindowLevelRegion'],
};

/** The OHIF services the lifecycle hooks use, typed by what is called on them. */
interface ModeServices {
  readonly measurementService: { clearMeasurements(): void };
  readonly toolbarService: ToolbarServices['toolbarService'];
  readonly toolGroupService: ToolGroupDeps['toolGroupService'] & { destroy(): void };
  readonly customizationService: ToolbarServices['customizationService'] & { setCustomizations(customizations: object): void };
  readonly syncGroupService: { destroy(): void };
  readonly segmentationService: { destroy(): void };
  readonly cornerstoneViewportService: { destroy(): void };
  readonly uiDialogService: { hideAll(): void };
  readonly uiModalService: { hide(): void };
}

interface LifecycleArgs extends Omit<ToolGroupDeps, 'toolGroupService'> {
  readonly servicesManager: { readonly services: ModeServices };
}

function onModeEnter({ servicesManager, extensionManager, commandsManager }: LifecycleArgs) {
  const { measurementService, toolbarService, toolGroupService, customizationService } = servicesManager.services;
  measurementService.clearMeasurements();
  initToolGroups({ extensionManager, toolGroupService, commandsManager });
  registerToolbar({ toolbarService, customizationService });
  // Added to the host's bindings for this mode (OHIF reads them after onModeEnter), so they are
  // listed in its hotkey preferences and changed there like the host's own.
  customizationService.setCustomizations({
    'ohif.hotkeyBindings': { $push: [...hotkeyBindings()] },
  });
  // The model loads while the study's images do (unless the site turned preloadModel off), so the
  // first Analyze does not start from nothing.
  void commandsManager.runCommand(prepareModelCommand);
}

function onModeExit({ servicesManager }: Pick<LifecycleArgs, 'servicesManager'>) {
  const {
    toolGroupService,
    syncGroupService,
    segmentationService,
    cornerstoneViewportService,
    uiDialogService,
    uiModalService,
  } = servicesManager.services;
  uiDialogService.hideAll();
  uiModalService.hide();
  toolGroupService.destroy();
  syncGroupService.destroy();
  segmentationService.destroy();
  cornerstoneViewportService.destroy();
}

const chestAidRoute = {
  path: 'chestaid',
  // Before OHIF reads the route's studies: the patient's prior CR/DX study joins them (see addPriorStudy).
  init: async ({ studyInstanceUIDs, dataSource }: { studyInstanceUIDs: string[]; dataSource?: Parameters<typeof addPriorStudy>[0]['dataSource'] }) => {
    await addPriorStudy({ studyInstanceUIDs, dataSource });
  },
  layoutTemplate: () => ({
    id: ohif.layout,
    props: {
      leftPanels: [ohif.seriesList],
      leftPanelClosed: true,
      rightPanels: [panelId],
      rightPanelClosed: false,
      viewports: [{ namespace: cornerstone.viewport, displaySetsToDisplay: [ohif.sopClassHandler] }],
    },
  }),
};

export const modeInstance = {
  id,
  routeName: 'chestaid',
  displayName: 'ChestAid',
  isValidMode,
  onModeEnter,
  onModeExit,
  routes: [chestAidRoute],
  extensions: extensionDependencies,
  hangingProtocol: ohif.hangingProtocol,
  sopClassHandlers: [ohif.sopClassHandler],
  toolbarButtons: [{ $reference: cornerstone.toolbarButtons }, { $reference: toolbarButtonsCustomization }],
  toolbarSections: [{ $reference: cornerstone.toolbarSections }, toolbarSections],
};

const mode = {
  id,
  modeFactory: () => modeInstance,
  modeInstance,
  extensionDependencies,
};

export default mode;
