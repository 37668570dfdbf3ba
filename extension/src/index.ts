/**
 * The ChestAid OHIF extension. This file only lists modules and wires them to what OHIF passes in;
 * state lives in ChestAidService, behaviour in the modules.
 *
 * It is loaded at run time into the prebuilt viewer (host/app-config.js), so it reaches the host
 * only through the managers OHIF hands to each hook and through window.cornerstone.
 */
import { getCommandsModule } from './commandsModule';
import { resolveConfig, type ChestAidConfig } from './config';
import { createDicomJsonStudyList } from './dataSources/dicomJsonStudyList';
import { getCustomizationModule } from './getCustomizationModule';
import { hostProblem } from './hostCheck';
import { dataSourceName, id } from './id';
import { getPanelModule } from './panels/getPanelModule';
import { ChestAidService } from './services/ChestAidService';

interface DisplaySetServiceLike {
  readonly EVENTS: { readonly DISPLAY_SETS_ADDED: string };
  subscribe(event: string, listener: () => void): { unsubscribe: () => void };
  getActiveDisplaySets(): readonly { readonly Modality?: string }[];
}

interface ServicesManagerLike {
  readonly services: {
    readonly chestAidService: ChestAidService;
    readonly displaySetService: DisplaySetServiceLike;
  };
  registerService(registration: typeof ChestAidService.REGISTRATION): void;
}

let modeSubscriptions: { unsubscribe: () => void }[] = [];

const extension = {
  id,

  preRegistration({
    servicesManager,
    configuration,
  }: {
    servicesManager: ServicesManagerLike;
    configuration?: Partial<ChestAidConfig>;
  }) {
    const config = resolveConfig(configuration);
    servicesManager.registerService(ChestAidService.REGISTRATION);
    const { chestAidService } = servicesManager.services;
    chestAidService.setHostProblem(hostProblem(window as unknown as Parameters<typeof hostProblem>[0]));
    // The service records a failure in its state, where the panel shows it.
    chestAidService.loadManifest(config.manifestUrl).catch(() => undefined);
  },

  /** Keeps the service told which modalities the open study has (the panel's CR/DX notice). */
  onModeEnter({ servicesManager }: { servicesManager: ServicesManagerLike }) {
    const { chestAidService, displaySetService } = servicesManager.services;
    const report = () =>
      chestAidService.setStudyModalities(
        displaySetService.getActiveDisplaySets().map(displaySet => displaySet.Modality ?? ''),
      );
    modeSubscriptions = [displaySetService.subscribe(displaySetService.EVENTS.DISPLAY_SETS_ADDED, report)];
  },

  onModeExit() {
    modeSubscriptions.forEach(subscription => subscription.unsubscribe());
    modeSubscriptions = [];
  },

  getPanelModule,
  getCommandsModule,
  getCustomizationModule,

  getDataSourcesModule() {
    return [{ name: dataSourceName, type: 'webApi', createDataSource: createDicomJsonStudyList }];
  },
};

export default extension;
