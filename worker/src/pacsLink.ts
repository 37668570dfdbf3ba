/**
 * The worker's link to the PACS: the DICOMweb calls it makes, and whether the PACS answers. The
 * PACS not answering at all (PacsUnreachable) or refusing the worker's credentials ends the pass and
 * charges no image; any other answer, even an error, means it is up. The health endpoint reads `downSince` and `lastOkAt`.
 */
import { type DicomJson, messageOf, PacsHttpError, PacsUnreachable, type QidoPage, type QidoQuery, type RetrieveOptions, type StowResult } from '@chestaid/core';
import { errorKind, refusesCredentials } from './failures';
import { ms, type Logger } from './log';

/** The DICOMweb calls the worker makes; DicomWebClient has them all. */
export interface PacsLike {
  searchStudies(query?: QidoQuery): Promise<DicomJson[]>;
  /** One page with the server's Warning headers (studies.ts honours Warning 299). */
  searchStudiesPage?(query?: QidoQuery): Promise<QidoPage>;
  searchSeries(studyUID?: string, query?: QidoQuery): Promise<DicomJson[]>;
  searchInstances(studyUID?: string, seriesUID?: string, query?: QidoQuery): Promise<DicomJson[]>;
  retrieveInstance(studyUID: string, seriesUID: string, sopUID: string, options?: RetrieveOptions): Promise<ArrayBuffer>;
  retrieveInstanceMetadata(studyUID: string, seriesUID: string, sopUID: string): Promise<DicomJson>;
  retrieveSeriesMetadata(studyUID: string, seriesUID: string): Promise<DicomJson[]>;
  store(instances: readonly ArrayBuffer[], studyUID?: string): Promise<StowResult>;
}

/**
 * The PACS is not serving this worker: it did not answer at all, or it refused the worker's
 * credentials (401; 407 from a proxy on the way). Neither says anything about the image: the pass
 * ends (a broker job is kept), no image is charged, and /healthz turns unhealthy if it lasts. A
 * 403 stays the image's: a PACS may deny one study to a worker it lets read the others.
 */
export function unreachable(error: unknown): boolean {
  return error instanceof PacsUnreachable || refusesCredentials(error);
}

/** Carries a PacsUnreachable out of a study to the pass, which ends. */
export class PassAborted extends Error {
  constructor(readonly reason: unknown) {
    super(messageOf(reason));
  }
}

export class PacsLink {
  /** When the PACS stopped answering; null while it answers. */
  downSince: Date | null = null;
  /** When the PACS last answered. */
  lastOkAt: Date | null = null;

  constructor(
    readonly pacs: PacsLike,
    private readonly logger: Logger,
    private readonly now: () => Date,
  ) {}

  /** Any PACS call inside a study: no answer at all aborts the pass. */
  async ask<T>(call: (pacs: PacsLike) => Promise<T>): Promise<T> {
    try {
      const result = await call(this.pacs);
      this.answered();
      return result;
    } catch (error) {
      if (unreachable(error)) throw new PassAborted(error);
      throw error;
    }
  }

  answered(): void {
    if (this.downSince) this.logger.log('info', 'pacs-reachable', { downForS: ms((this.now().getTime() - this.downSince.getTime()) / 1000) });
    this.downSince = null;
    this.lastOkAt = this.now();
  }

  /** Logs and records a PACS failure; returns false (the pass did not complete). Rethrows anything else. */
  failed(error: unknown, during: string): false {
    if (!unreachable(error) && !(error instanceof PacsHttpError)) throw error;
    this.downSince ??= this.now();
    this.logger.log('error', 'pacs-unreachable', {
      during,
      kind: errorKind(error),
      error: messageOf(error),
      ...(refusesCredentials(error) ? { hint: 'the PACS wants credentials from this worker: give them with --pacs-auth-file or user:password in --pacs, or check the ones given' } : {}),
      downForS: ms((this.now().getTime() - this.downSince.getTime()) / 1000),
    });
    return false;
  }
}
