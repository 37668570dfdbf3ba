/**
 * Binds the triage worklist to the viewer at registration (called from index.ts): the result
 * store it shares with the panel (browserResultStore, made once in index.ts), the active data
 * source as the study catalog, and the panel's analyzer (one inference worker, one model
 * download) for the batch.
 */
import type { ChestAidService } from '../analysis/ChestAidService';
import type { Analyzer, ResultArchive } from '../analysis/types';
import { IndexedDbResultStore } from './indexedDbResultStore';
import type { SharedResults } from './pacsRecords';
import { MemoryResultStore, type ResultStore } from './resultStore';
import { dataSourceCatalog, type CatalogDataSource, type PacsCatalogAccess } from './studyCatalog';
import { TriageService } from './TriageService';
import { t } from '../i18n/translate';

export interface TriageWiring {
  readonly servicesManager: {
    readonly services: { readonly chestAidService: ChestAidService; readonly chestAidTriageService?: TriageService };
    registerService(registration: typeof TriageService.REGISTRATION): void;
  };
  readonly extensionManager: { getActiveDataSource(): readonly CatalogDataSource[] | undefined; readonly activeDataSourceName?: string };
  readonly manifestUrl: string;
  /** Where results are kept: the same store the panel's results go to (analysis/wire.ts). */
  readonly store: ResultStore;
  /** The PACS's results while its data source is the active one (pacs/wire.ts); absent: no PACS. */
  readonly shared?: () => SharedResults | null;
  /** The panel's PACS archive while the PACS's data source is the active one (batch saving). */
  readonly archive?: () => ResultArchive | null;
  /** How the catalog reads the PACS's studies while its data source is the active one. */
  readonly pacsCatalog?: () => PacsCatalogAccess | null;
}

/** IndexedDB where the browser allows it; otherwise results last as long as the page. */
export function browserResultStore(): ResultStore {
  try {
    return new IndexedDbResultStore();
  } catch (error) {
    console.warn('ChestAid: triage results will not outlive this page', error);
    return new MemoryResultStore();
  }
}

export function wireTriage({ servicesManager, extensionManager, manifestUrl, store, shared, archive, pacsCatalog }: TriageWiring): void {
  servicesManager.registerService(TriageService.REGISTRATION);
  const { chestAidService, chestAidTriageService } = servicesManager.services;
  if (!chestAidTriageService) throw new Error('ChestAid triage service did not register');
  // Whatever analyzer the panel runs, looked up at each use.
  const panelAnalyzer = (): Analyzer => {
    const analyzer = chestAidService.getAnalyzer();
    if (!analyzer) throw new Error(t('panel.noAnalyzer'));
    return analyzer;
  };
  const analyzer: Analyzer = {
    modelSha256: manifest => panelAnalyzer().modelSha256(manifest),
    analyze: (target, manifest) => panelAnalyzer().analyze(target, manifest),
  };
  // A recalibration or rollback: the worklist judges results against the new version.
  chestAidService.subscribe(chestAidService.EVENTS.CALIBRATION_CHANGED, () => chestAidTriageService.modelChanged());
  chestAidTriageService.configure({
    store,
    catalog: dataSourceCatalog(
      () => {
        const [active] = extensionManager.getActiveDataSource() ?? [];
        return active;
      },
      { pacs: pacsCatalog },
    ),
    manifest: () => chestAidService.loadManifest(manifestUrl),
    analyzer,
    shared,
    archive,
    // A macrotask between studies, so the page paints and takes input during the batch.
    pause: () => new Promise(done => setTimeout(done, 0)),
  });
}
