/**
 * Scoring one image: check its metadata against the limits (imageLimits.ts), fetch it from the
 * PACS under the byte cap those give, uncompressed (the PACS transcodes; if it does not, the
 * worker decodes it itself), decode it, score it with the model, and store its result
 * (heatmap, then SR). Each stage is timed for the log and the benchmark; a failure is
 * charged to the image (failures.ts), except the PACS not answering, which ends the pass.
 */
import {
  analyze,
  type Classifier,
  type ClassifierOutput,
  inputSpecOf,
  type Manifest,
  NO_RETRY,
  NotAnalyzedError,
  PacsHttpError,
  Preprocessor,
  type TensorDims,
} from '@chestaid/core';
import type { FailureLedger, ImageRef } from './failures';
import { checkBeforeFetch, DEFAULT_LIMITS, type ImageLimits } from './imageLimits';
import { ms, type Logger } from './log';
import { PassAborted, type PacsLink } from './pacsLink';
import { decodePart10 } from './part10';
import { buildOutputs, type ModelFacts, storeOutputs } from './results';
import type { WorkerState } from './state';
import type { Counts, ImageTimings, PassTally } from './tally';

export interface ModelInUse {
  readonly manifest: Manifest;
  readonly sha256: string;
  readonly classifier: Classifier;
}

/** Times the classifier's run, so the log can split preprocessing from inference. */
class TimedClassifier implements Classifier {
  lastMs = 0;
  constructor(private readonly inner: Classifier) {}
  async run(input: Float32Array, dims: TensorDims): Promise<ClassifierOutput> {
    const start = performance.now();
    try {
      return await this.inner.run(input, dims);
    } finally {
      this.lastMs = performance.now() - start;
    }
  }
}

/** What the worker decodes itself: Explicit VR Little Endian, which a transcoding PACS (Orthanc) delivers from any syntax it reads. */
export const WANTED_TRANSFER_SYNTAX = '1.2.840.10008.1.2.1';

/**
 * The instance in Explicit VR Little Endian, transcoded by the PACS (DICOMweb Accept
 * `transfer-syntax=1.2.840.10008.1.2.1`): JPEG Lossless, JPEG-LS, JPEG 2000 and RLE images are
 * decoded by the PACS's own codecs. A PACS that cannot transcode answers 406 Not Acceptable;
 * Orthanc answers 500 for a syntax it has no codec for (JPEG 2000 without its GDCM plugin). On
 * any error answer the instance is asked for as stored, and part10.ts decodes it in process
 * (decompress.ts) or refuses it naming its transfer syntax. The transcoding request is not
 * retried: the as-stored request behind it is, and gives the same pixels.
 */
async function retrieveUncompressed(link: PacsLink, image: ImageRef, maxBytes: number, logger: Logger): Promise<ArrayBuffer> {
  const { studyUID, seriesUID, sopUID } = image;
  try {
    return await link.ask(pacs => pacs.retrieveInstance(studyUID, seriesUID, sopUID, { maxBytes, transferSyntax: WANTED_TRANSFER_SYNTAX, retry: NO_RETRY }));
  } catch (error) {
    if (!(error instanceof PacsHttpError)) throw error;
    logger.log('info', 'not-transcoded', { study: studyUID, sop: sopUID, status: error.status, error: error.message.slice(0, 300) });
    return link.ask(pacs => pacs.retrieveInstance(studyUID, seriesUID, sopUID, { maxBytes }));
  }
}

export interface ImageScorerDeps {
  readonly link: PacsLink;
  readonly failures: FailureLedger;
  readonly state: WorkerState;
  readonly counts: Counts;
  readonly logger: Logger;
  readonly now: () => Date;
  /** What an image may cost, checked from its metadata before its pixels are fetched. */
  readonly limits?: ImageLimits;
}

export class ImageScorer {
  private readonly classifier: TimedClassifier;
  private readonly preprocessor: Preprocessor;

  /** The model's classifier and input spec; its calibration comes with each image (score's `model`). */
  constructor(model: ModelInUse, private readonly deps: ImageScorerDeps) {
    this.classifier = new TimedClassifier(model.classifier);
    this.preprocessor = new Preprocessor(inputSpecOf(model.manifest));
  }

  /**
   * Scores the image and stores its result under `model` (the manifest with the active
   * calibration). `key` is its result key's text. Throws PassAborted when the PACS stops answering.
   */
  async score(
    image: ImageRef,
    key: string,
    model: ModelFacts,
    tally: Pick<PassTally, 'scored' | 'failed' | 'refused' | 'timings'>,
    revision = 0,
  ): Promise<'stored' | 'refused' | 'retry' | 'dead'> {
    const { link, failures, state, counts, logger, now } = this.deps;
    const { studyUID, seriesUID, sopUID } = image;
    const started = performance.now();
    let stage = 'metadata';
    try {
      const metadata = await link.ask(pacs => pacs.retrieveInstanceMetadata(studyUID, seriesUID, sopUID));
      const maxBytes = checkBeforeFetch(metadata, this.deps.limits ?? DEFAULT_LIMITS, `instance ${sopUID}`);
      stage = 'fetch';
      const bytes = await retrieveUncompressed(link, image, maxBytes, logger);
      const fetched = performance.now();
      stage = 'decode';
      const part10 = await decodePart10(bytes, `instance ${sopUID}`, this.deps.limits ?? DEFAULT_LIMITS);
      const decoded = performance.now();
      stage = 'score';
      const analysis = await analyze(part10.attributes, part10.pixels, model.manifest, this.classifier, { preprocessor: this.preprocessor });
      const scoredAt = performance.now();
      const infer = this.classifier.lastMs;
      counts.scored++;
      tally.scored++;
      logger.log('info', 'scored', {
        study: studyUID,
        sop: sopUID,
        logit: analysis.logit,
        probability: analysis.probability,
        decision: analysis.decision.above ? 'above' : 'below',
        // The PACS sent it compressed: an operator sees which syntax it did not transcode.
        ...(part10.decodedFrom ? { decodedLocally: part10.decodedFrom } : {}),
        ms: { fetch: ms(fetched - started), decode: ms(decoded - fetched), preprocess: ms(scoredAt - decoded - infer), infer: ms(infer) },
      });
      stage = 'write';
      const outputs = await buildOutputs(part10, analysis, model, now(), revision);
      await storeOutputs(link, outputs, studyUID);
      const written = performance.now();
      counts.stored++;
      delete state.data.failures[key];
      const timings: ImageTimings = {
        fetch: fetched - started,
        decode: decoded - fetched,
        preprocess: scoredAt - decoded - infer,
        infer,
        write: written - scoredAt,
        total: written - started,
      };
      tally.timings.push(timings);
      logger.log('info', 'stored', {
        study: studyUID,
        sop: sopUID,
        sr: outputs.sr.sopInstanceUID,
        map: outputs.map.sopInstanceUID,
        ms: { write: ms(timings.write), total: ms(timings.total) },
      });
      return 'stored';
    } catch (error) {
      if (error instanceof PassAborted) throw error;
      if (error instanceof NotAnalyzedError) return this.refuse(image, key, error, tally);
      return failures.record(image, key, stage, error, tally);
    }
  }

  /**
   * An image the model card excludes: recorded with its reason, not charged as a failure (no
   * retry can change a lateral view into a frontal one), no score, no SR. Its key is remembered,
   * so later passes skip it with the reason.
   */
  private refuse(image: ImageRef, key: string, error: NotAnalyzedError, tally: Pick<PassTally, 'refused'>): 'refused' {
    const { state, counts, logger, now } = this.deps;
    const { code, reason } = error.refusal;
    counts.refused++;
    tally.refused++;
    delete state.data.failures[key];
    state.data.refused[key] = {
      studyInstanceUID: image.studyUID,
      seriesInstanceUID: image.seriesUID,
      sopInstanceUID: image.sopUID,
      code,
      reason,
      at: now().toISOString(),
    };
    logger.log('info', 'not-analyzed', { study: image.studyUID, sop: image.sopUID, code, reason });
    return 'refused';
  }
}
