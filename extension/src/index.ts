/**
 * The ChestAid OHIF extension. This file only lists modules and wires them to what OHIF passes in;
 * state lives in ChestAidService, behaviour in the modules.
 *
 * It is loaded at run time into the prebuilt viewer (host/app-config.js), so it reaches the host
 * only through the managers OHIF hands to each hook and through window.cornerstone.
 */
import { activeImage, type ViewerServices } from './activeImage';
import { readImagePixels, sopInstanceUIDOf, type CornerstoneLike } from './adapters/cornerstonePixels';
import { createAnalyzer } from './analyzer';
import { getCommandsModule } from './commandsModule';
import { inferenceUrls, resolveConfig, type ChestAidConfig } from './config';
import { createDicomJsonStudyList } from './dataSources/dicomJsonStudyList';
import { getCustomizationModule } from './getCustomizationModule';
import { hostProblem } from './hostCheck';
import { dataSourceName, id } from './id';
import { inferenceConfigFor } from './inference';
import { createInferenceClient } from './inference/browser';
import { getPanelModule } from './panels/getPanelModule';
import { ChestAidService } from './services/ChestAidService';
import { wireTriage, type TriageWiring } from './triage/wire';

interface Subscribable {
  subscribe(event: string, listener: () => void): { unsubscribe: () => void };
}

interface DisplaySetServiceLike extends Subscribable {
  readonly EVENTS: { readonly DISPLAY_SETS_ADDED: string };
  getActiveDisplaySets(): readonly { readonly Modality?: string }[];
}

interface ServicesManagerLike {
  readonly services: ViewerServices & {
    readonly chestAidService: ChestAidService;
    readonly displaySetService: DisplaySetServiceLike & ViewerServices['displaySetService'];
    readonly viewportGridService: Subscribable & {
      readonly EVENTS: { readonly ACTIVE_VIEWPORT_ID_CHANGED: string; readonly GRID_STATE_CHANGED: string; readonly VIEWPORTS_READY: string };
    };
    readonly cornerstoneViewportService?: Subscribable & { readonly EVENTS: { readonly VIEWPORT_DATA_CHANGED: string } };
  };
  registerService(registration: typeof ChestAidService.REGISTRATION): void;
}

type CornerstoneHost = CornerstoneLike & { readonly EVENTS?: { readonly STACK_NEW_IMAGE?: string } };

/** The host's Cornerstone, read when needed: extension-cornerstone may set it after we register. */
function cornerstone(): CornerstoneHost {
  const found = (window as unknown as { cornerstone?: CornerstoneHost }).cornerstone;
  if (!found) throw new Error('The viewer does not expose Cornerstone (window.cornerstone); ChestAid cannot read images.');
  return found;
}

function sopInstanceUIDFromCornerstone(imageId: string): string | undefined {
  try {
    return sopInstanceUIDOf(cornerstone(), imageId);
  } catch {
    return undefined;
  }
}

let modeSubscriptions: { unsubscribe: () => void }[] = [];

const extension = {
  id,

  preRegistration({
    servicesManager,
    extensionManager,
    configuration,
  }: {
    servicesManager: ServicesManagerLike;
    extensionManager: TriageWiring['extensionManager'];
    configuration?: Partial<ChestAidConfig>;
  }) {
    const config = resolveConfig(configuration);
    servicesManager.registerService(ChestAidService.REGISTRATION);
    const { chestAidService } = servicesManager.services;
    chestAidService.setHostProblem(hostProblem(window as unknown as Parameters<typeof hostProblem>[0]));
    // The service records a failure in its state, where the panel shows it.
    chestAidService.loadManifest(config.manifestUrl).catch(() => undefined);

    const urls = inferenceUrls(config, document.baseURI);
    chestAidService.setAnalyzer(
      createAnalyzer({
        readPixels: imageId => readImagePixels(cornerstone(), imageId),
        configFor: manifest => inferenceConfigFor(manifest, urls),
        createClient: createInferenceClient,
        onRuntime: runtime => chestAidService.setRuntime(runtime),
      }),
    );
    // The triage worklist: the panel's analyzer (one worker, one model download) and a result
    // store shared with the panel.
    wireTriage({
      servicesManager: servicesManager as unknown as TriageWiring['servicesManager'],
      extensionManager,
      manifestUrl: config.manifestUrl,
    });
  },

  /**
   * Keeps the service told which modalities the open study has (the panel's CR/DX notice) and
   * which image is on screen in the active viewport (only that image's result is shown).
   */
  onModeEnter({ servicesManager }: { servicesManager: ServicesManagerLike }) {
    const { services } = servicesManager;
    const { chestAidService, displaySetService, viewportGridService, cornerstoneViewportService } = services;
    const reportModalities = () =>
      chestAidService.setStudyModalities(
        displaySetService.getActiveDisplaySets().map(displaySet => displaySet.Modality ?? ''),
      );
    const reportActiveImage = () => {
      const target = activeImage(services, sopInstanceUIDFromCornerstone);
      chestAidService.setActiveImage(typeof target === 'string' ? null : target);
    };
    modeSubscriptions = [
      displaySetService.subscribe(displaySetService.EVENTS.DISPLAY_SETS_ADDED, reportModalities),
      ...[
        viewportGridService.EVENTS.ACTIVE_VIEWPORT_ID_CHANGED,
        viewportGridService.EVENTS.GRID_STATE_CHANGED,
        viewportGridService.EVENTS.VIEWPORTS_READY,
      ].map(event => viewportGridService.subscribe(event, reportActiveImage)),
    ];
    if (cornerstoneViewportService) {
      modeSubscriptions.push(
        cornerstoneViewportService.subscribe(cornerstoneViewportService.EVENTS.VIEWPORT_DATA_CHANGED, reportActiveImage),
      );
    }
    // Scrolling a stack changes the image without any OHIF event. Cornerstone fires this on the
    // viewport's element without bubbling; listening in the capture phase sees every viewport's.
    const stackNewImage = (window as unknown as { cornerstone?: CornerstoneHost }).cornerstone?.EVENTS?.STACK_NEW_IMAGE;
    if (stackNewImage) {
      document.addEventListener(stackNewImage, reportActiveImage, true);
      modeSubscriptions.push({ unsubscribe: () => document.removeEventListener(stackNewImage, reportActiveImage, true) });
    }
  },

  onModeExit() {
    modeSubscriptions.forEach(subscription => subscription.unsubscribe());
    modeSubscriptions = [];
  },

  getPanelModule,
  getCommandsModule: (args: Parameters<typeof getCommandsModule>[0]) =>
    getCommandsModule({ ...args, sopInstanceUIDOf: sopInstanceUIDFromCornerstone }),
  getCustomizationModule,

  getDataSourcesModule() {
    return [{ name: dataSourceName, type: 'webApi', createDataSource: createDicomJsonStudyList }];
  },
};

export default extension;
