/**
 * Binds the PACS to the viewer at registration (called from index.ts), when the host names one
 * (config.pacsRoot and config.pacsDataSourceName): Save to PACS for studies opened from its data
 * source, every reader's results (ChestAid SRs) in the panel and the worklist, feedback sent there
 * as feedback SRs beside the result SRs, and the worklist catalog's access to its instances.
 * Without a PACS, results and feedback stay in this browser.
 */
import {
  dicomCodec,
  DicomWebClient,
  feedbackCodec,
  type FetchLike,
  type FeedbackSink,
  pacsFeedbackSink,
  PacsResults,
  readHeatmap,
  type RetryPolicy,
  type VerifyContext,
} from '@chestaid/core';
import type { ResultArchive } from '../analysis/types';
import { pacsUrl, type ChestAidConfig } from '../config';
import { sharedResultsOf, type SharedResults } from '../triage/pacsRecords';
import type { PacsCatalogAccess } from '../triage/studyCatalog';
import { pacsArchive } from './archive';

/**
 * A reader waits on these requests: two quick retries ride out a PACS restart, then the panel
 * says the PACS cannot be reached (and offers to retry) rather than spinning for long.
 */
const READER_RETRY: RetryPolicy = { retries: 2, baseDelayMs: 300, maxDelayMs: 1500, jitter: 0.5 };

export interface PacsWiring {
  readonly config: ChestAidConfig;
  /** The page's base URI: a relative pacsRoot is resolved against it. */
  readonly baseUri: string;
  readonly extensionManager: { readonly activeDataSourceName?: string };
  /** What SRs read from the PACS are verified against (ChestAidService.verifyContext), asked at each read. */
  readonly trust: () => Promise<VerifyContext | null> | VerifyContext | null;
  /** The fetch the PACS requests go through (login/wire.ts: with the logged-in user's token). */
  readonly fetch?: FetchLike;
}

/** What the PACS gives the other features. */
export interface PacsLinks {
  /** The panel's archive (ChestAidService); it says itself why a study from another source is not archived. */
  readonly archive: ResultArchive | null;
  /** Where feedback on a PACS study is sent too (the feedback book). */
  readonly feedbackSink: FeedbackSink | null;
  /** For the triage worklist: each answers null while another data source is the active one. */
  readonly worklist: {
    readonly shared?: () => SharedResults | null;
    readonly archive?: () => ResultArchive | null;
    readonly pacsCatalog?: () => PacsCatalogAccess | null;
  };
}

const NO_PACS: PacsLinks = { archive: null, feedbackSink: null, worklist: {} };

export function wirePacs({ config, baseUri, extensionManager, trust, fetch }: PacsWiring): PacsLinks {
  const pacsRoot = pacsUrl(config, baseUri);
  const { pacsDataSourceName } = config;
  if (!pacsRoot || !pacsDataSourceName) return NO_PACS;
  const client = new DicomWebClient({ baseUrl: pacsRoot, retry: READER_RETRY, fetch });
  const results = new PacsResults({
    client,
    codec: dicomCodec,
    trust,
    onUnreadable: (uid, reason) => console.warn(`ChestAid: SR ${uid} in the PACS could not be read: ${reason}`),
  });
  const activeDataSource = () => extensionManager.activeDataSourceName;
  function whilePacsIsActive<T>(value: T): () => T | null {
    return () => (activeDataSource() === pacsDataSourceName ? value : null);
  }
  const instanceMetadata = (study: string, series: string, sop: string) => client.retrieveInstanceMetadata(study, series, sop);
  const storedMaps = { retrieveInstance: (study: string, series: string, sop: string) => client.retrieveInstance(study, series, sop), readHeatmap };
  const archive = pacsArchive({ results, instanceMetadata, activeDataSource, pacsDataSourceName, storedMaps });
  return {
    archive,
    feedbackSink: pacsFeedbackSink({ results, client, instanceMetadata, codec: feedbackCodec, activeDataSource, pacsDataSourceName }),
    worklist: {
      shared: whilePacsIsActive(sharedResultsOf(results)),
      archive: whilePacsIsActive(archive),
      pacsCatalog: whilePacsIsActive<PacsCatalogAccess>({ instances: (study, series) => client.searchInstances(study, series) }),
    },
  };
}
