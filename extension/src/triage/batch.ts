/**
 * "Analyze all": one image per CR/DX series of each study, through the same pipeline as the
 * panel's Analyze, every result written to the store as it arrives. Framework-free: the images
 * come from studyCatalog.ts, the analysis from analyzer.ts, both passed in, so tests pass fakes.
 *
 * It is resumable by construction: an image that already has a current score is never analyzed
 * again, so running the same plan after a reload (or a cancel) only does what is left. A failing
 * study is recorded with its reason and the batch goes on; a failure never replaces a score
 * (ResultStore.put). Studies run one after another: the inference worker runs one model at a
 * time anyway, and the reader's own Analyze must not wait behind a queue of batch requests.
 */
import { type ImageIdentity, messageOf, type ModelIdentity, NotAnalyzedError, remainingMs } from '@chestaid/core';
import { resultKey } from '../inference';
import type { AnalysisOutcome } from '../analysis/types';
import { failedRecord, refusedRecord, scoredRecord, type ResultStore } from './resultStore';
import { t } from '../i18n/translate';

export interface ImageToScore extends ImageIdentity {
  /** The Cornerstone imageId the data source gives for the instance. */
  readonly imageId: string;
  readonly modality: string;
}

export interface BatchDeps {
  readonly store: ResultStore;
  /** The images to score in a study, one per CR/DX series; [] when it has none. */
  readonly imagesOf: (studyInstanceUID: string) => Promise<readonly ImageToScore[]>;
  /** The panel's pipeline on one image. */
  readonly analyze: (image: ImageToScore) => Promise<AnalysisOutcome>;
  readonly model: ModelIdentity;
  /** Monotonic clock for durations (performance.now in the browser). */
  readonly now?: () => number;
  /** Wall clock for the records' analyzedAt. */
  readonly clock?: () => number;
  /** Lets the page paint and handle input between studies. */
  readonly pause?: () => Promise<void>;
}

/** What became of one study in this run. */
export type StudyRun =
  | { readonly studyInstanceUID: string; readonly kind: 'scored'; readonly analyzedImages: number; readonly failedImages: number }
  | { readonly studyInstanceUID: string; readonly kind: 'already-scored' }
  | { readonly studyInstanceUID: string; readonly kind: 'failed' | 'not-applicable'; readonly reason: string };

export interface BatchProgress {
  /** Studies in the plan, and those finished (analyzed now, or found already scored). */
  readonly total: number;
  readonly done: number;
  /** Studies analyzed in this run, and those found already scored (a resumed batch's). */
  readonly analyzed: number;
  readonly alreadyScored: number;
  readonly failed: number;
  /** The study being analyzed, or null between studies. */
  readonly current: string | null;
  readonly startedAt: number;
  readonly elapsedMs: number;
  /** Time left at the recent pace; null before the first study has been timed. */
  readonly etaMs: number | null;
}

export interface BatchSummary extends BatchProgress {
  readonly cancelled: boolean;
  readonly finishedAt: number;
}

export interface BatchOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: BatchProgress) => void;
  readonly onStudy?: (run: StudyRun) => void;
}


export async function runBatch(
  studyUIDs: readonly string[],
  { store, imagesOf, analyze, model, now = () => performance.now(), clock = () => Date.now(), pause = () => Promise.resolve() }: BatchDeps,
  { signal, onProgress, onStudy }: BatchOptions = {},
): Promise<BatchSummary> {
  const startedAt = now();
  const durations: number[] = [];
  let done = 0;
  let analyzed = 0;
  let alreadyScored = 0;
  let failed = 0;

  const progress = (current: string | null): BatchProgress => ({
    total: studyUIDs.length,
    done,
    analyzed,
    alreadyScored,
    failed,
    current,
    startedAt,
    elapsedMs: now() - startedAt,
    etaMs: remainingMs(durations, studyUIDs.length - done),
  });

  for (const studyInstanceUID of studyUIDs) {
    if (signal?.aborted) break;
    onProgress?.(progress(studyInstanceUID));
    const studyStart = now();
    let run: StudyRun;
    let images: readonly ImageToScore[] = [];
    let listing: string | null = null;
    try {
      images = await imagesOf(studyInstanceUID);
    } catch (error) {
      listing = t('batch.noSeries', { message: messageOf(error) });
    }
    if (listing !== null) {
      run = { studyInstanceUID, kind: 'failed', reason: listing };
    } else if (images.length === 0) {
      run = { studyInstanceUID, kind: 'not-applicable', reason: t('batch.noCrDx') };
    } else {
      let analyzedImages = 0;
      let failedImages = 0;
      let lastFailure = '';
      let interrupted = false;
      for (const image of images) {
        if (signal?.aborted) {
          interrupted = true;
          break;
        }
        const known = await store.get({ ...image, ...model });
        // A refusal is decided like a score: the same image is refused again, so it is not re-run.
        if (known?.status === 'scored' || known?.status === 'refused') continue;
        analyzedImages++;
        try {
          const outcome = await analyze(image);
          const expected = resultKey(image.sopInstanceUID, model.modelSha256);
          if (outcome.key !== expected) {
            throw new Error(`the pixels read for ${image.sopInstanceUID} belong to another image (${outcome.key})`);
          }
          await store.put(scoredRecord({ image, model, outcome, source: 'batch', imageId: image.imageId, analyzedAt: clock() }));
        } catch (error) {
          if (error instanceof NotAnalyzedError) {
            // Not analyzed is not a failure: recorded with its reason, shown in place of a score.
            await store.put(refusedRecord({ image, model, refusal: error.refusal, source: 'batch', imageId: image.imageId, analyzedAt: clock() }));
            continue;
          }
          failedImages++;
          lastFailure = messageOf(error);
          await store.put(failedRecord({ image, model, reason: lastFailure, source: 'batch', imageId: image.imageId, analyzedAt: clock() }));
        }
      }
      if (interrupted) {
        // The study is not finished: it stays in the plan for the next run, which skips what is done.
        break;
      }
      if (analyzedImages === 0) {
        run = { studyInstanceUID, kind: 'already-scored' };
        alreadyScored++;
      }
      else if (failedImages === analyzedImages && failedImages === images.length) run = { studyInstanceUID, kind: 'failed', reason: lastFailure };
      else run = { studyInstanceUID, kind: 'scored', analyzedImages, failedImages };
      if (analyzedImages > 0) {
        analyzed++;
        durations.push(now() - studyStart);
      }
    }
    if (run.kind === 'failed') failed++;
    done++;
    onStudy?.(run);
    onProgress?.(progress(null));
    await pause();
  }
  // The loop only stops early when cancelled.
  return { ...progress(null), cancelled: done < studyUIDs.length, finishedAt: now() };
}
