/**
 * Scoring a labelled cohort of images with the deployed model, through the triage batch
 * (triage/batch.ts: progress, cancel, a failure recorded per image and the run going on) and the
 * panel's analyzer (same pipeline, same inference worker). The images are named by UIDs (the
 * cohort CSV) and found through the viewer's active data source, as the batch finds its own:
 * an instance search of the series, then the source's imageId for the instance.
 *
 * Results go to a store of this run only: a cohort is evidence for one fit, not the worklist.
 * Framework-free; the data source and the analyzer are structurally typed parameters.
 */
import type { CohortLabel, ImageCohortRow, Manifest, ModelIdentity } from '@chestaid/core';
import type { AnalysisOutcome } from '../analysis/types';
import { runBatch, type BatchProgress, type ImageToScore } from '../triage/batch';
import { MemoryResultStore } from '../triage/resultStore';
import type { CatalogDataSource } from '../triage/studyCatalog';

type Json = Record<string, unknown>;

function attribute(object: Json, keyword: string, tag: string): string {
  const direct = object[keyword];
  if (typeof direct === 'string') return direct;
  const value = (object[tag] as { Value?: unknown[] } | undefined)?.Value?.[0];
  return typeof value === 'string' ? value : '';
}

/** The image of each row, or why it cannot be scored; one instance search per series. */
export async function resolveCohortImages(
  dataSource: CatalogDataSource,
  rows: readonly ImageCohortRow[],
): Promise<Map<ImageCohortRow, ImageToScore | { readonly problem: string }>> {
  const search = dataSource.query.instances?.search;
  if (!search) throw new Error('the active data source cannot list instances, so the cohort\'s images cannot be found');
  const bySeries = new Map<string, Promise<Json[]>>();
  const instancesOf = (study: string, series: string) => {
    const key = `${study}/${series}`;
    let found = bySeries.get(key);
    if (!found) {
      found = Promise.resolve(search.call(dataSource.query.instances, study, { SeriesInstanceUID: series })).then(list =>
        Array.isArray(list) ? (list.filter(i => typeof i === 'object' && i !== null) as Json[]) : [],
      );
      bySeries.set(key, found);
    }
    return found;
  };
  const out = new Map<ImageCohortRow, ImageToScore | { problem: string }>();
  for (const row of rows) {
    try {
      const instances = await instancesOf(row.studyInstanceUID, row.seriesInstanceUID);
      const instance = instances.find(i => attribute(i, 'SOPInstanceUID', '00080018') === row.sopInstanceUID);
      if (!instance) {
        out.set(row, { problem: `line ${row.line}: the data source has no instance ${row.sopInstanceUID} in series ${row.seriesInstanceUID} of study ${row.studyInstanceUID}` });
        continue;
      }
      const ids = dataSource.getImageIdsForInstance({
        instance: { ...instance, StudyInstanceUID: row.studyInstanceUID, SeriesInstanceUID: row.seriesInstanceUID, SOPInstanceUID: row.sopInstanceUID },
      });
      const imageId = Array.isArray(ids) ? ids[0] : ids;
      if (typeof imageId !== 'string' || imageId === '') throw new Error(`the data source gave no imageId for instance ${row.sopInstanceUID}`);
      const modality = attribute(instance, 'Modality', '00080060').toUpperCase();
      out.set(row, {
        studyInstanceUID: row.studyInstanceUID,
        seriesInstanceUID: row.seriesInstanceUID,
        sopInstanceUID: row.sopInstanceUID,
        imageId,
        modality,
      });
    } catch (error) {
      out.set(row, { problem: `line ${row.line}: ${error instanceof Error ? error.message : String(error)}` });
    }
  }
  return out;
}

/** A scored case, as the fit takes it (plus the score the deployed calibration gave it). */
export interface ScoredCase {
  readonly key: string;
  readonly logit: number;
  readonly probability: number;
  readonly label: CohortLabel;
  readonly modelSha256: string;
}

export interface CohortScoring {
  readonly cases: readonly ScoredCase[];
  /** Rows that could not be scored, each with its reason. */
  readonly failures: readonly string[];
  readonly cancelled: boolean;
}

export interface CohortScoringDeps {
  readonly analyze: (image: ImageToScore, manifest: Manifest) => Promise<AnalysisOutcome>;
  readonly manifest: Manifest;
  readonly model: ModelIdentity;
  readonly pause?: () => Promise<void>;
  readonly now?: () => number;
  readonly clock?: () => number;
}

/** Scores the resolved rows study by study; progress counts studies, as the triage batch does. */
export async function scoreCohort(
  resolved: Map<ImageCohortRow, ImageToScore | { readonly problem: string }>,
  deps: CohortScoringDeps,
  { signal, onProgress }: { signal?: AbortSignal; onProgress?: (progress: BatchProgress) => void } = {},
): Promise<CohortScoring> {
  const failures: string[] = [];
  const byStudy = new Map<string, ImageToScore[]>();
  const rowOf = new Map<string, ImageCohortRow>();
  for (const [row, image] of resolved) {
    if ('problem' in image) {
      failures.push(image.problem);
      continue;
    }
    const list = byStudy.get(image.studyInstanceUID) ?? [];
    if (!list.some(i => i.sopInstanceUID === image.sopInstanceUID)) list.push(image);
    byStudy.set(image.studyInstanceUID, list);
    rowOf.set(image.sopInstanceUID, row);
  }
  const store = new MemoryResultStore();
  const summary = await runBatch(
    [...byStudy.keys()],
    {
      store,
      imagesOf: async uid => byStudy.get(uid) ?? [],
      analyze: image => deps.analyze(image, deps.manifest),
      model: deps.model,
      pause: deps.pause,
      now: deps.now,
      clock: deps.clock,
    },
    { signal, onProgress },
  );
  const cases: ScoredCase[] = [];
  for (const [row, image] of resolved) {
    if ('problem' in image) continue;
    const record = await store.get({ ...image, ...deps.model });
    if (!record) continue; // not reached before a cancel
    if (record.status === 'failed') {
      failures.push(`line ${row.line}: ${image.sopInstanceUID}: ${record.reason}`);
      continue;
    }
    if (record.status === 'refused') {
      failures.push(`line ${row.line}: ${image.sopInstanceUID}: not analyzed: ${record.reason}`);
      continue;
    }
    const analysis = record.outcome?.analysis;
    if (!analysis) {
      failures.push(`line ${row.line}: ${image.sopInstanceUID}: the analysis kept no logit`);
      continue;
    }
    cases.push({ key: image.sopInstanceUID, logit: analysis.logit, probability: analysis.probability, label: row.label, modelSha256: deps.model.modelSha256 });
  }
  return { cases, failures, cancelled: summary.cancelled };
}
