/**
 * The radiologist's feedback in the PACS (issue 8 item 1): core's FeedbackSink over STOW-RS. Once
 * the panel's FeedbackBook has stored an entry in the browser, this writes it as a ChestAid
 * feedback SR (dicom/feedbackSr.ts) into the image's study, beside and referencing the result SR
 * the PACS holds for that image, model bytes and calibration version.
 *
 * Each entry is its own SR (append-only like the browser store: a changed label is a new SR and
 * the old one stays as history), its UIDs derived from the entry (image, reader, time, label) so
 * that a STOW retried after a lost answer names the instance the PACS already has: the feedback
 * outbox (siteCalibration/feedbackOutbox.ts) retries a send until it lands, and the PACS never
 * gets two. A failure throws FeedbackNotSent, a message in the reader's terms that says whether a
 * retry can succeed (`retryable`: the PACS could not be reached or answered 5xx, 408 or 429).
 *
 * Refused rather than sent (not retryable; the throw names the fix):
 *  - no reader name configured: the SR is VERIFIED, an attested statement with the reader as
 *    Verifying Observer, and "unknown" attests nothing;
 *  - no result SR in the PACS for this image, model and calibration: the feedback SR must reference
 *    the result it answers (Save to PACS first);
 *  - the PACS's result SR for it is unverified or a conflict (dicomweb/verifyResult.ts): feedback is
 *    never attached to a result nobody can vouch for;
 *  - the PACS refused the request or the SR (4xx, a STOW failure).
 * Studies not opened from the PACS data source are not sent at all (as Save to PACS; `wants`
 * decides when the label is recorded): the image is not in the PACS.
 */
import { derivedUid } from '../dicom/resultUids';
import { UNKNOWN_READER, type FeedbackSink, type StoredFeedback } from '../feedback';
import { isRetryable, type DicomJson, type QidoQuery, type StowResult } from './client';
import { pacsProblem, type ArchivedContent, type ArchivedResult, type BuiltInstance, type PacsResults } from './results';

export interface FeedbackSrToBuild {
  readonly source: DicomJson;
  readonly result: { readonly sopInstanceUID: string; readonly seriesInstanceUID: string; readonly content: ArchivedContent };
  readonly groundTruth: StoredFeedback['label'];
  readonly comment?: string;
  readonly reader: { readonly name: string; readonly organization: string };
  readonly recordedAt: string;
  readonly seriesInstanceUID: string;
  readonly sopInstanceUID: string;
}

export interface FeedbackCodec {
  buildFeedbackSr(input: FeedbackSrToBuild): BuiltInstance;
}

export interface PacsFeedbackOptions {
  readonly results: Pick<PacsResults, 'find'>;
  readonly client: {
    store(instances: readonly ArrayBuffer[], studyUID?: string): Promise<StowResult>;
    /** QIDO-RS, to tell a refused resend of an SR the PACS already holds from a real refusal (absent: not checked). */
    searchInstances?(studyUID?: string, seriesUID?: string, query?: QidoQuery): Promise<DicomJson[]>;
  };
  /** WADO-RS metadata of the source image (patient and study attributes the SR repeats). */
  readonly instanceMetadata: (studyUID: string, seriesUID: string, sopUID: string) => Promise<DicomJson>;
  readonly codec: FeedbackCodec;
  /** The OHIF data source the open study came from (extensionManager.activeDataSourceName). */
  readonly activeDataSource: () => string | undefined;
  /** The data source that reads this PACS. */
  readonly pacsDataSourceName: string;
  /** The reader's organization (the SR's Verifying Organization, required by DICOM). */
  readonly organization?: string;
}

/** Said when the organization is not configured: DICOM requires a value. */
export const UNCONFIGURED_ORGANIZATION = 'Not configured';

export class FeedbackNotSent extends Error {
  /** @param retryable whether sending the same entry again may succeed (false: it never will as things are). */
  constructor(message: string, readonly retryable: boolean) {
    super(message);
    this.name = 'FeedbackNotSent';
  }
}

/** The PACS's failure as FeedbackNotSent, retryable when a later attempt may not repeat it. */
function notSent(error: unknown): FeedbackNotSent {
  return new FeedbackNotSent(pacsProblem(error).message, isRetryable(error));
}

export function pacsFeedbackSink({
  results,
  client,
  instanceMetadata,
  codec,
  activeDataSource,
  pacsDataSourceName,
  organization = UNCONFIGURED_ORGANIZATION,
}: PacsFeedbackOptions): FeedbackSink {
  /** Whether the PACS holds this SOP instance already (a resend whose first answer was lost). */
  async function alreadyStored(study: string, series: string, sop: string): Promise<boolean> {
    if (!client.searchInstances) return false;
    try {
      return (await client.searchInstances(study, series, { SOPInstanceUID: sop })).length > 0;
    } catch {
      return false;
    }
  }
  return {
    wants: () => activeDataSource() === pacsDataSourceName,
    async send(entry: StoredFeedback): Promise<void> {
      if (entry.reader === UNKNOWN_READER) {
        throw new FeedbackNotSent(
          'the feedback names no reader (with a login: the name claim of the logged-in user; without one: readerName in the ChestAid configuration), and a feedback SR in the PACS is signed by its reader.',
          false,
        );
      }
      let result: ArchivedResult | null;
      try {
        result = await results.find(entry, { modelSha256: entry.modelSha256, calibrationVersion: entry.calibrationVersion });
      } catch (error) {
        throw notSent(error);
      }
      if (result && result.verdict.status !== 'verified') {
        throw new FeedbackNotSent(
          `the PACS's ChestAid result for this image is ${result.verdict.status === 'conflict' ? 'a conflict' : 'unverified'} (${result.verdict.reason}): feedback is not attached to it.`,
          false,
        );
      }
      if (!result) {
        throw new FeedbackNotSent(
          `the PACS has no ChestAid result for this image under model ${entry.modelSha256.slice(0, 12)}… and calibration ${entry.calibrationVersion}: Save to PACS first, then send it again.`,
          false,
        );
      }
      const [seriesInstanceUID, sopInstanceUID] = await Promise.all([
        derivedUid(`chestaid feedback SR series of study ${entry.studyInstanceUID} reader ${entry.reader}`),
        derivedUid(`chestaid feedback SR of ${entry.sopInstanceUID} reader ${entry.reader} at ${entry.at} label ${entry.label}`),
      ]);
      try {
        const source = await instanceMetadata(entry.studyInstanceUID, entry.seriesInstanceUID, entry.sopInstanceUID);
        const built = codec.buildFeedbackSr({
          source,
          result: { sopInstanceUID: result.srSopInstanceUID, seriesInstanceUID: result.srSeriesInstanceUID, content: result.content },
          groundTruth: entry.label,
          ...(entry.comment ? { comment: entry.comment } : {}),
          reader: { name: entry.reader, organization },
          recordedAt: entry.at,
          seriesInstanceUID,
          sopInstanceUID,
        });
        await client.store([built.part10], entry.studyInstanceUID);
      } catch (error) {
        // A PACS that refuses a duplicate rather than accepting it again: the first send landed.
        if (!isRetryable(error) && (await alreadyStored(entry.studyInstanceUID, seriesInstanceUID, sopInstanceUID))) return;
        throw notSent(error);
      }
    },
  };
}
