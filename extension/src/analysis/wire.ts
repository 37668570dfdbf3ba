/**
 * Binds ChestAidService to the viewer (called from index.ts). At registration: the service, given
 * everything it works with in one configure() call (the analyzer over onnxruntime and the host's
 * Cornerstone, the site's calibration log and feedback store with the outbox that sends feedback to
 * the PACS in the background, the PACS archive, the result store it shares with the triage
 * worklist, the reader's name), then the manifest, and the heatmap layer
 * drawn from its results. While a mode is on: what the viewer shows (the study's modalities and
 * images, the image in the active viewport), with the layer redrawn whenever either changes.
 */
import { FeedbackBook, type FeedbackSink } from '@chestaid/core';
import { activeImage, type ViewerServices } from '../activeImage';
import { cornerstone, hostCornerstone, sopInstanceUIDFromCornerstone } from '../adapters/cornerstoneHost';
import { readImagePixels } from '../adapters/cornerstonePixels';
import { createAnalyzer } from '../analyzer';
import { inferenceUrls, type ChestAidConfig } from '../config';
import { CornerstoneHeatmapSink, viewportImages } from '../heatmap/cornerstoneHeatmap';
import { HeatmapController } from '../heatmap/heatmapController';
import { hostProblem } from '../hostCheck';
import { inferenceConfigFor } from '../inference';
import { createChoosingClient } from '../inference/choiceBrowser';
import { startFeedbackOutbox } from '../siteCalibration/outbox';
import { siteStores } from '../siteCalibration/wire';
import { askPersistentStorage } from '../storagePersistence';
import { studyImages, type DisplaySetWithImages } from '../studyImages';
import { outcomeStoreOver } from '../triage/outcomeStore';
import type { ResultStore } from '../triage/resultStore';
import { ChestAidService } from './ChestAidService';
import { watchNotifications, type UiNotifications } from './notifications';
import type { ResultArchive } from './types';

interface Subscribable {
  subscribe(event: string, listener: () => void): { unsubscribe: () => void };
}

/** The OHIF services ChestAid follows while a mode is on, with the service it registers. */
export interface ViewerManagers {
  readonly services: ViewerServices & {
    readonly chestAidService: ChestAidService;
    readonly displaySetService: Subscribable &
      ViewerServices['displaySetService'] & {
        readonly EVENTS: { readonly DISPLAY_SETS_ADDED: string };
        getActiveDisplaySets(): readonly DisplaySetWithImages[];
      };
    readonly viewportGridService: Subscribable & {
      readonly EVENTS: { readonly ACTIVE_VIEWPORT_ID_CHANGED: string; readonly GRID_STATE_CHANGED: string; readonly VIEWPORTS_READY: string };
    };
    readonly cornerstoneViewportService?: Subscribable & { readonly EVENTS: { readonly VIEWPORT_DATA_CHANGED: string } };
    readonly toolbarService?: { registerEventForToolbarUpdate?(service: Subscribable, events: string[]): void };
    readonly uiNotificationService?: UiNotifications;
  };
  registerService(registration: typeof ChestAidService.REGISTRATION): void;
}

export interface AnalysisWiring {
  readonly servicesManager: ViewerManagers;
  readonly config: ChestAidConfig;
  /** The PACS archive and feedback sink (pacs/wire.ts); null without a PACS. */
  readonly archive: ResultArchive | null;
  readonly feedbackSink: FeedbackSink | null;
  /** Where results outlive the page: the triage worklist's store, so both show the same results. */
  readonly results: ResultStore;
  /** The reader named in feedback, asked at each use (login/wire.ts); left out: config.readerName. */
  readonly reader?: () => string | null;
}

/** Drawn from the service's results; made at registration, driven while a mode is on. */
let heatmap: HeatmapController | null = null;
let modeSubscriptions: { unsubscribe: () => void }[] = [];

export function wireAnalysis({ servicesManager, config, archive, feedbackSink, results, reader }: AnalysisWiring): void {
  servicesManager.registerService(ChestAidService.REGISTRATION);
  const { chestAidService } = servicesManager.services;
  chestAidService.setHostProblem(hostProblem(window as unknown as Parameters<typeof hostProblem>[0]));
  // Results, feedback and the browser calibration log live in IndexedDB: ask the browser to keep
  // them; the panel says so when it will not.
  void askPersistentStorage(navigator.storage).then(storage => chestAidService.setStorage(storage));
  const urls = inferenceUrls(config, document.baseURI);
  const site = siteStores(config.calibrationSource, urls.manifestUrl);
  // Before the manifest arrives: the active calibration is read from the log right after it.
  void chestAidService.configure({
    analyzer: createAnalyzer({
      readPixels: imageId => readImagePixels(cornerstone(), imageId),
      configFor: manifest => inferenceConfigFor(manifest, urls),
      // Either engine, chosen per browser (inference/engineChoice.ts); the panel shows which and why.
      createClient: inferenceConfig =>
        createChoosingClient(inferenceConfig, {
          engine: config.engine,
          tfjsWasmBaseUrl: urls.tfjsWasmBaseUrl,
          onTrial: info => chestAidService.setRuntime({ status: 'ready', backend: info.backend, threads: info.threads, reason: info.reason }),
        }),
      onRuntime: runtime => chestAidService.setRuntime(runtime),
      preload: config.preloadModel,
    }),
    outcomeStore: outcomeStoreOver(results),
    archive,
    calibrationStoreFor: site.calibrationStoreFor,
    feedbackBook: new FeedbackBook({
      store: site.feedbackStore,
      outbox: feedbackSink ? startFeedbackOutbox({ store: site.feedbackStore, sink: feedbackSink, onChange: outbox => chestAidService.setOutbox(outbox) }).outbox : null,
    }),
    reader: reader ?? config.readerName,
    modelFile: config.modelFile,
  });
  // The service records a failure in its state, where the panel shows it.
  chestAidService.loadManifest(config.manifestUrl).catch(() => undefined);
  heatmap = new HeatmapController({
    sink: new CornerstoneHeatmapSink(cornerstone),
    viewports: () => viewportImages(cornerstone(), sopInstanceUIDFromCornerstone),
    heatmapForImage: sop => chestAidService.heatmapForImage(sop),
    settings: () => chestAidService.getState().heatmap,
  });
}

/** Listens on a DOM event target until the mode exits. */
function listen(target: EventTarget, event: string | undefined, listener: () => void, capture = false): { unsubscribe: () => void }[] {
  if (!event) return [];
  target.addEventListener(event, listener, capture);
  return [{ unsubscribe: () => target.removeEventListener(event, listener, capture) }];
}

/**
 * Keeps the service told which modalities the open study has (the panel's CR/DX notice) and
 * which image is on screen in the active viewport (only that image's result is shown), until
 * stopFollowingViewer().
 */
export function followViewer(servicesManager: ViewerManagers): void {
  const { services } = servicesManager;
  const { chestAidService, displaySetService, viewportGridService, cornerstoneViewportService, toolbarService, uiNotificationService } = services;
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
    // Save outcomes and stale results as OHIF toasts too, not only in the panel.
    ...(uiNotificationService ? [watchNotifications(chestAidService, uiNotificationService)] : []),
  ];
  if (cornerstoneViewportService) {
    modeSubscriptions.push(cornerstoneViewportService.subscribe(cornerstoneViewportService.EVENTS.VIEWPORT_DATA_CHANGED, imageChanged));
  }
  const host = hostCornerstone();
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
}

export function stopFollowingViewer(): void {
  modeSubscriptions.forEach(subscription => subscription.unsubscribe());
  modeSubscriptions = [];
  heatmap?.clear();
}
