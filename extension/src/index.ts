/**
 * The ChestAid OHIF extension. This file only lists modules and hands each feature's wiring what
 * OHIF passes in; the wiring lives beside each feature (analysis/, pacs/, triage/, recalibration/
 * wire.ts), state in the services, behaviour in the modules.
 *
 * It is loaded at run time into the prebuilt viewer (host/app-config.js), so it reaches the host
 * only through the managers OHIF hands to each hook and through window.cornerstone
 * (adapters/cornerstoneHost.ts).
 */
import { cornerstone, sopInstanceUIDFromCornerstone, viewportCanvas } from './adapters/cornerstoneHost';
import { installVoiLutFunctionFix } from './adapters/voiLutFunction';
import { followViewer, stopFollowingViewer, wireAnalysis, type AnalysisWiring } from './analysis/wire';
import { getCommandsModule } from './commandsModule';
import { resolveConfig } from './config';
import { createDicomJsonStudyList } from './dataSources/dicomJsonStudyList';
import { getCustomizationModule } from './getCustomizationModule';
import { getToolbarModule } from './getToolbarModule';
import { getHangingProtocolModule, registerChestView, type HangingProtocolRegistry } from './hangingProtocol';
import { dataSourceName, id } from './id';
import { catalogueTranslator, hostTranslator, setTranslator, type HostI18n } from './i18n/translate';
import { detectLanguage, pageLanguageSources } from './i18n/language';
import { wireLogin, type LoginWiring } from './login/wire';
import { getPanelModule } from './panels/getPanelModule';
import { wirePacs, type PacsWiring } from './pacs/wire';
import { wireRecalibration, type RecalibrationWiring } from './recalibration/wire';
import { browserResultStore, wireTriage, type TriageWiring } from './triage/wire';

/** What OHIF hands preRegistration, as the features' wiring reads it. */
interface RegistrationArgs {
  readonly servicesManager: AnalysisWiring['servicesManager'] &
    TriageWiring['servicesManager'] &
    RecalibrationWiring['servicesManager'] & { readonly services: LoginWiring['services'] & { readonly hangingProtocolService?: HangingProtocolRegistry } };
  readonly extensionManager: TriageWiring['extensionManager'] & RecalibrationWiring['extensionManager'] & PacsWiring['extensionManager'];
  readonly appConfig?: LoginWiring['appConfig'];
  /**
   * `i18n`: the host's i18next instance, where the site hands it over (`@ohif/i18n`'s default
   * export in a site that builds ChestAid into its OHIF); without it, the language OHIF detects.
   */
  readonly configuration?: NonNullable<Parameters<typeof resolveConfig>[0]> & { readonly i18n?: HostI18n };
}

const extension = {
  id,

  preRegistration({ servicesManager, extensionManager, appConfig, configuration }: RegistrationArgs) {
    const { i18n, ...options } = configuration ?? {};
    // First: every word the features below produce goes through it.
    setTranslator(i18n ? hostTranslator(i18n) : catalogueTranslator(detectLanguage(pageLanguageSources())));
    const config = resolveConfig(options);
    registerChestView(servicesManager.services.hangingProtocolService);
    // OHIF's login, when app-config.js has one: who reads and who changes the calibration, and the
    // token ChestAid's PACS requests carry.
    const login = wireLogin({ appConfig, services: servicesManager.services, readerName: config.readerName, settings: config.login });
    // The service registers in wireAnalysis, below: asked for lazily, at each PACS read.
    const trust = () => servicesManager.services.chestAidService?.verifyContext() ?? null;
    const pacs = wirePacs({ config, baseUri: document.baseURI, extensionManager, trust, fetch: login.fetch });
    // One result store for the panel and the worklist: a study scored by either opens scored in both.
    const results = browserResultStore();
    wireAnalysis({ servicesManager, config, archive: pacs.archive, feedbackSink: pacs.feedbackSink, results, reader: () => login.identity().reader });
    wireTriage({ servicesManager, extensionManager, manifestUrl: config.manifestUrl, store: results, ...pacs.worklist });
    wireRecalibration({ servicesManager, extensionManager, actor: login.configured ? () => login.identity().calibrationActor : undefined });
  },

  onModeEnter({ servicesManager }: { servicesManager: AnalysisWiring['servicesManager'] }) {
    // Every mode's entry (OHIF calls each extension's hook): radiographs from a PACS render in all.
    installVoiLutFunctionFix(cornerstone().metaData);
    followViewer(servicesManager);
  },

  onModeExit: stopFollowingViewer,

  getPanelModule,
  getCommandsModule: (args: Parameters<typeof getCommandsModule>[0]) =>
    getCommandsModule({ ...args, sopInstanceUIDOf: sopInstanceUIDFromCornerstone, viewportCanvas }),
  getToolbarModule,
  getCustomizationModule,
  getHangingProtocolModule,

  getDataSourcesModule() {
    return [{ name: dataSourceName, type: 'webApi', createDataSource: createDicomJsonStudyList }];
  },
};

export default extension;

// The ids a mode or a site's configuration refers to, from the package entry (a site that installs
// the built package has no src/ to reach into).
export * from './id';
export { CHEST_PROTOCOL_IDS } from './hangingProtocol';
export { addPriorStudy, type StudySearch } from './priorStudy';
export { hotkeyBindings, type HotkeyDefinition } from './hotkeys';
export { triageButtonId, riskColumnId, TRIAGE_PATH } from './triage/ids';
export { ACCEPTED_MODALITIES, checkModalities, splitModalities, type Applicability } from './modalities';
