/**
 * The ChestAid OHIF extension. This file only lists modules and wires them to what OHIF passes in;
 * state lives in ChestAidService, behaviour in the modules.
 *
 * It is loaded at run time into the prebuilt viewer (host/app-config.js), so it reaches the host
 * only through the managers OHIF hands to each hook and through window.cornerstone.
 */
import { installVoiLutFunctionFix, type MetaDataRegistry } from './adapters/voiLutFunction';
import { activeImage, type ViewerServices } from './activeImage';
import { readImagePixels, sopInstanceUIDOf, type CornerstoneLike } from './adapters/cornerstonePixels';
import { createAnalyzer } from './analyzer';
import { wireCalibration, type CalibrationWiring } from './recalibration/wire';
import {
  dicomCodec,
  DicomWebClient,
  FeedbackBook,
  feedbackCodec,
  type FeedbackSink,
  pacsFeedbackSink,
  PacsResults,
  type RetryPolicy,
} from '@chestaid/core';
import { siteStores } from './siteCalibration/wire';
import { getCommandsModule } from './commandsModule';
import { inferenceUrls, pacsUrl, resolveConfig, type ChestAidConfig } from './config';
import { createDicomJsonStudyList } from './dataSources/dicomJsonStudyList';
import { getCustomizationModule } from './getCustomizationModule';
import { hostProblem } from './hostCheck';
import { dataSourceName, heatmapEvaluator, id } from './id';
import { inferenceConfigFor } from './inference';
import { createInferenceClient } from './inference/browser';
import { CornerstoneHeatmapSink, viewportImages, type CornerstoneOverlayHost, type CornerstoneViewportHost } from './heatmap/cornerstoneHeatmap';
import { HeatmapController } from './heatmap/heatmapController';
import { pacsArchive } from './pacs/archive';
import { getPanelModule } from './panels/getPanelModule';
import { ChestAidService } from './analysis/ChestAidService';
import type { ResultArchive } from './analysis/types';
import { studyImages, type DisplaySetWithImages } from './studyImages';
import { sharedResultsOf } from './triage/pacsRecords';
import { wireTriage, type TriageWiring } from './triage/wire';

/**
 * A reader waits on these requests: two quick retries ride out a PACS restart, then the panel
 * says the PACS cannot be reached (and offers to retry) rather than spinning for long.
 */
const READER_RETRY: RetryPolicy = { retries: 2, baseDelayMs: 300, maxDelayMs: 1500, jitter: 0.5 };

interface Subscribable {
  subscribe(event: string, listener: () => void): { unsubscribe: () => void };
}

interface DisplaySetServiceLike extends Subscribable {
  readonly EVENTS: { readonly DISPLAY_SETS_ADDED: string };
  getActiveDisplaySets(): readonly DisplaySetWithImages[];
}

interface ServicesManagerLike {
  readonly services: ViewerServices & {
    readonly chestAidService: ChestAidService;
    readonly displaySetService: DisplaySetServiceLike & ViewerServices['displaySetService'];
    readonly viewportGridService: Subscribable & {
      readonly EVENTS: { readonly ACTIVE_VIEWPORT_ID_CHANGED: string; readonly GRID_STATE_CHANGED: string; readonly VIEWPORTS_READY: string };
    };
    readonly cornerstoneViewportService?: Subscribable & { readonly EVENTS: { readonly VIEWPORT_DATA_CHANGED: string } };
    readonly toolbarService?: { registerEventForToolbarUpdate?(service: Subscribable, events: string[]): void };
  };
  registerService(registration: typeof ChestAidService.REGISTRATION): void;
}

type CornerstoneHost = CornerstoneLike & { readonly metaData: MetaDataRegistry } &
  CornerstoneOverlayHost &
  CornerstoneViewportHost & {
    readonly EVENTS?: {
      readonly STACK_NEW_IMAGE?: string;
      readonly STACK_VIEWPORT_NEW_STACK?: string;
      readonly ELEMENT_ENABLED?: string;
      readonly ELEMENT_DISABLED?: string;
    };
    readonly eventTarget?: EventTarget;
  };

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
let heatmap: HeatmapController | null = null;

/** Listens on a DOM event target until the mode exits. */
function listen(target: EventTarget, event: string | undefined, listener: () => void, capture = false): { unsubscribe: () => void }[] {
  if (!event) return [];
  target.addEventListener(event, listener, capture);
  return [{ unsubscribe: () => target.removeEventListener(event, listener, capture) }];
}

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
    const urls = inferenceUrls(config, document.baseURI);
    const site = siteStores(config.calibrationSource, urls.manifestUrl);
    heatmap = new HeatmapController({
      sink: new CornerstoneHeatmapSink(cornerstone),
      viewports: () => viewportImages(cornerstone(), sopInstanceUIDFromCornerstone),
      outcomeForImage: sop => chestAidService.outcomeForImage(sop),
      settings: () => chestAidService.getState().heatmap,
    });
    // The PACS, when the host names one: Save to PACS for studies opened from its data source,
    // and every reader's results (ChestAid SRs) in the panel and the worklist.
    const pacsRoot = pacsUrl(config, document.baseURI);
    const { pacsDataSourceName } = config;
    let shared: TriageWiring['shared'];
    let pacsCatalog: TriageWiring['pacsCatalog'];
    let archive: TriageWiring['archive'];
    let panelArchive: ResultArchive | null = null;
    let feedbackSink: FeedbackSink | null = null;
    if (pacsRoot && pacsDataSourceName) {
      const client = new DicomWebClient({ baseUrl: pacsRoot, retry: READER_RETRY });
      const results = new PacsResults({
        client,
        codec: dicomCodec,
        onUnreadable: (uid, reason) => console.warn(`ChestAid: SR ${uid} in the PACS could not be read: ${reason}`),
      });
      const activeDataSource = () => extensionManager.activeDataSourceName;
      panelArchive = pacsArchive({
        results,
        instanceMetadata: (study, series, sop) => client.retrieveInstanceMetadata(study, series, sop),
        activeDataSource,
        pacsDataSourceName,
      });
      // Feedback on a PACS study is also sent there as a feedback SR beside the result SR.
      feedbackSink = pacsFeedbackSink({
        results,
        client,
        instanceMetadata: (study, series, sop) => client.retrieveInstanceMetadata(study, series, sop),
        codec: feedbackCodec,
        activeDataSource,
        pacsDataSourceName,
      });
      const sameArchive = panelArchive;
      archive = () => (activeDataSource() === pacsDataSourceName ? sameArchive : null);
      const sharedResults = sharedResultsOf(results);
      shared = () => (activeDataSource() === pacsDataSourceName ? sharedResults : null);
      const access = { instances: (study: string, series: string) => client.searchInstances(study, series) };
      pacsCatalog = () => (activeDataSource() === pacsDataSourceName ? access : null);
    }
    const feedbackBook = new FeedbackBook({ store: site.feedbackStore, sink: feedbackSink });
    // Before the manifest arrives: the active calibration is read from the log right after it.
    void chestAidService.configure({
      analyzer: createAnalyzer({
        readPixels: imageId => readImagePixels(cornerstone(), imageId),
        configFor: manifest => inferenceConfigFor(manifest, urls),
        createClient: createInferenceClient,
        onRuntime: runtime => chestAidService.setRuntime(runtime),
      }),
      calibrationStoreFor: site.calibrationStoreFor,
      archive: panelArchive,
      feedbackBook,
      reader: config.readerName,
    });
    // The service records a failure in its state, where the panel shows it.
    chestAidService.loadManifest(config.manifestUrl).catch(() => undefined);
    // The triage worklist: the panel's analyzer (one worker, one model download) and a result
    // store shared with the panel.
    wireTriage({
      servicesManager: servicesManager as unknown as TriageWiring['servicesManager'],
      extensionManager,
      manifestUrl: config.manifestUrl,
      shared,
      archive,
      pacsCatalog,
    });
    // The recalibration and monitoring pages: the calibration log and the feedback the panel
    // uses (one store each), the panel's analyzer for a CSV cohort's images.
    wireCalibration({
      servicesManager: servicesManager as unknown as CalibrationWiring['servicesManager'],
      extensionManager,
      analyzer: () => {
        const found = chestAidService.getAnalyzer();
        if (!found) throw new Error('No analyzer is configured in this build of ChestAid.');
        return found;
      },
      versions: () => chestAidService.calibrationVersions(),
      listFeedback: () => feedbackBook.listFeedback(),
      // The viewer applies the new active version, names it beside every score and marks results of other versions stale.
      activated: () => chestAidService.reloadCalibration(),
    });
  },

  /**
   * Keeps the service told which modalities the open study has (the panel's CR/DX notice) and
   * which image is on screen in the active viewport (only that image's result is shown).
   */
  onModeEnter({ servicesManager }: { servicesManager: ServicesManagerLike }) {
    // Every mode's entry (OHIF calls each extension's hook): radiographs from a PACS render in all.
    installVoiLutFunctionFix(cornerstone().metaData);
    const { services } = servicesManager;
    const { chestAidService, displaySetService, viewportGridService, cornerstoneViewportService, toolbarService } = services;
    const reportModalities = () => {
      const displaySets = displaySetService.getActiveDisplaySets();
      chestAidService.setStudyModalities(displaySets.map(displaySet => displaySet.Modality ?? ''));
      chestAidService.setStudyImages(studyImages(displaySets));
    };
    const redrawHeatmap = heatmap?.schedule ?? (() => undefined);
    const reportActiveImage = () => {
      const target = activeImage(services, sopInstanceUIDFromCornerstone);
      chestAidService.setActiveImage(typeof target === 'string' ? null : target);
    };
    const imageChanged = () => {
      reportActiveImage();
      redrawHeatmap();
    };
    modeSubscriptions = [
      displaySetService.subscribe(displaySetService.EVENTS.DISPLAY_SETS_ADDED, reportModalities),
      // Results, settings and the active image all arrive as state changes: each may change a layer.
      chestAidService.subscribe(chestAidService.EVENTS.STATE_CHANGED, redrawHeatmap),
      ...[
        viewportGridService.EVENTS.ACTIVE_VIEWPORT_ID_CHANGED,
        viewportGridService.EVENTS.GRID_STATE_CHANGED,
        viewportGridService.EVENTS.VIEWPORTS_READY,
      ].map(event => viewportGridService.subscribe(event, imageChanged)),
    ];
    if (cornerstoneViewportService) {
      modeSubscriptions.push(
        cornerstoneViewportService.subscribe(cornerstoneViewportService.EVENTS.VIEWPORT_DATA_CHANGED, imageChanged),
      );
    }
    const host = (window as unknown as { cornerstone?: CornerstoneHost }).cornerstone;
    // Scrolling a stack changes the image without any OHIF event. Cornerstone fires these on the
    // viewport's element without bubbling; listening in the capture phase sees every viewport's.
    modeSubscriptions.push(
      ...listen(document, host?.EVENTS?.STACK_NEW_IMAGE, imageChanged, true),
      ...listen(document, host?.EVENTS?.STACK_VIEWPORT_NEW_STACK, imageChanged, true),
    );
    // A viewport OHIF (re)creates, after a layout change or for the "Save image" dialog, starts
    // without our layer: it is drawn again there.
    if (host?.eventTarget) {
      modeSubscriptions.push(
        ...listen(host.eventTarget, host.EVENTS?.ELEMENT_ENABLED, redrawHeatmap),
        ...listen(host.eventTarget, host.EVENTS?.ELEMENT_DISABLED, redrawHeatmap),
      );
    }
    // The toolbar's heatmap toggle shows whether the layer is on.
    toolbarService?.registerEventForToolbarUpdate?.(chestAidService, [chestAidService.EVENTS.STATE_CHANGED]);
    reportModalities();
  },

  onModeExit() {
    modeSubscriptions.forEach(subscription => subscription.unsubscribe());
    modeSubscriptions = [];
    heatmap?.clear();
  },

  getPanelModule,
  getCommandsModule: (args: Parameters<typeof getCommandsModule>[0]) =>
    getCommandsModule({
      ...args,
      sopInstanceUIDOf: sopInstanceUIDFromCornerstone,
      viewportCanvas: viewportId =>
        (cornerstone().getEnabledElementByViewportId(viewportId)?.viewport as { getCanvas?(): HTMLCanvasElement } | undefined)?.getCanvas?.(),
    }),
  getToolbarModule: ({ servicesManager }: { servicesManager: ServicesManagerLike }) => [
    {
      name: heatmapEvaluator,
      evaluate: () => ({ isActive: servicesManager.services.chestAidService.getState().heatmap.visible }),
    },
  ],
  getCustomizationModule,

  getDataSourcesModule() {
    return [{ name: dataSourceName, type: 'webApi', createDataSource: createDicomJsonStudyList }];
  },
};

export default extension;
