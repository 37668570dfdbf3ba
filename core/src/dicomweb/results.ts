/**
 * ChestAid's results in the PACS: found with QIDO-RS (SR series of a study carrying ChestAid's
 * series description), read with WADO-RS metadata and the dicom module's reader, and written with
 * STOW-RS, at most once per image, model bytes and calibration version.
 *
 * The DICOM itself (building and reading the SR and the heatmap map) is the ResultCodec's
 * business, passed in (core/src/dicom through the codec; fakes in tests, STYLE.md 11); the client
 * is the DicomWebClient or anything shaped like it. No framework here: the viewer and a Node
 * process can both use it.
 *
 * Idempotency is checked against the PACS itself before each write (the same image + model sha256
 * + calibration version already has a ChestAid SR -> nothing is written), so a second reader, a
 * second click or a reload never adds a duplicate. Two writers racing between the check and the
 * write both write the same SOP Instance UIDs, derived from image + model sha256 + calibration
 * version as the triage worker derives them (dicom/resultUids.ts): the PACS keeps one copy
 * (Orthanc: OverwriteInstances false). A PACS that keeps both, or SRs written before UIDs were
 * derived, leave readers to take the earliest (see `pick`), so the score shown is the same everywhere.
 */
import { resultUids } from '../dicom/resultUids';
import { PacsHttpError, PacsUnreachable, StowError, type DicomJson, type QidoQuery, type StowResult } from './client';
import { messageOf } from '../errors';

/** The result content a ChestAid SR holds (the dicom module's ChestAidResultContent). */
export interface ArchivedContent {
  readonly source: { readonly studyInstanceUID: string; readonly seriesInstanceUID: string; readonly sopInstanceUID: string; readonly sopClassUID: string };
  readonly score: number;
  readonly logit: number;
  readonly threshold: number;
  readonly decision: 'above' | 'below';
  readonly calibration: { readonly method: string; readonly version: string };
  readonly model: { readonly id: string; readonly version: string; readonly sha256: string; readonly deviceUID: string };
  readonly observedAt: string;
}

/** A DICOM object ready to STOW. */
export interface BuiltInstance {
  readonly part10: ArrayBuffer;
  readonly sopInstanceUID: string;
  readonly seriesInstanceUID: string;
}

/** What to save: the result without its source reference (the source header gives it). */
export type ResultToSave = Omit<ArchivedContent, 'source'>;

/** The heatmap the Parametric Map carries: the Grad-CAM at its own resolution, values in [0, 1]. */
export interface HeatmapToSave {
  readonly width: number;
  readonly height: number;
  readonly data: Float32Array;
}

export interface SaveInput {
  /** The source image's header (DICOM JSON or naturalized), copied into the new objects. */
  readonly sourceHeader: Record<string, unknown>;
  readonly source: ArchivedContent['source'];
  readonly result: ResultToSave;
  readonly heatmap?: HeatmapToSave;
  readonly trainedOnSyntheticData: boolean;
}

/** The UIDs a new object is written under (derived, see resultUids). */
export interface ObjectUids {
  readonly seriesInstanceUID: string;
  readonly sopInstanceUID: string;
}

export interface ResultCodec {
  /** SeriesDescription of ChestAid's result SRs, what QIDO-RS filters on. */
  readonly resultSeriesDescription: string;
  isChestAidResultSr(instance: DicomJson): boolean;
  /** Throws, naming what is wrong, when the instance is not a readable ChestAid result. */
  readResultSr(instance: DicomJson): ArchivedContent;
  buildResultSr(input: SaveInput, uids: ObjectUids): BuiltInstance;
  /** The heatmap as a Parametric Map registered to the source image; absent: no map is written. */
  buildHeatmap?(input: SaveInput & { readonly heatmap: HeatmapToSave }, uids: ObjectUids): BuiltInstance;
}

export interface ResultsClient {
  searchSeries(studyUID: string | undefined, query?: QidoQuery): Promise<DicomJson[]>;
  retrieveSeriesMetadata(studyUID: string, seriesUID: string): Promise<DicomJson[]>;
  store(instances: readonly ArrayBuffer[], studyUID?: string): Promise<StowResult>;
}

/** A ChestAid SR found in the PACS. */
export interface ArchivedResult {
  readonly content: ArchivedContent;
  readonly srSopInstanceUID: string;
  readonly srSeriesInstanceUID: string;
}

export interface ModelKey {
  readonly modelSha256: string;
  readonly calibrationVersion: string;
}

export type SaveOutcome =
  | {
      readonly status: 'saved';
      readonly srSopInstanceUID: string;
      readonly heatmapSopInstanceUID: string | null;
      /** Why the heatmap map was not stored although the SR was; null when it was (or none was built). */
      readonly heatmapProblem: string | null;
    }
  | { readonly status: 'already-saved'; readonly srSopInstanceUID: string };

/** Why a save or a read failed, in the terms the panel reports. */
export type PacsProblem =
  | { readonly kind: 'unreachable'; readonly message: string }
  | { readonly kind: 'refused'; readonly message: string }
  | { readonly kind: 'error'; readonly message: string };

const SERIES_DESCRIPTION = '0008103E';
const SERIES_UID = '0020000E';
const SOP_UID = '00080018';

function stringOf(dataset: DicomJson, tag: string): string | undefined {
  const value = dataset[tag]?.Value?.[0];
  return typeof value === 'string' ? value : undefined;
}


/**
 * The problem in a reader's terms. A proxy in front of the PACS (the dev server's) answers 502,
 * 503 or 504 when the PACS itself is down: that is "unreachable" too.
 */
export function pacsProblem(error: unknown): PacsProblem {
  if (error instanceof PacsUnreachable) return { kind: 'unreachable', message: error.message };
  if (error instanceof StowError) {
    const reasons = error.failed.map(f => `${f.sopInstanceUID ?? 'an instance'}: failure reason ${f.failureReason ?? 'not given'}`);
    return {
      kind: 'refused',
      message: `The PACS refused the result (HTTP ${error.status})${reasons.length ? `: ${reasons.join('; ')}` : ''}.`,
    };
  }
  if (error instanceof PacsHttpError) {
    if ([502, 503, 504].includes(error.status)) return { kind: 'unreachable', message: `The PACS did not answer (HTTP ${error.status} from ${error.url}).` };
    return { kind: 'refused', message: error.message };
  }
  return { kind: 'error', message: messageOf(error) };
}

/** Same model bytes and calibration (sha256 compared case-blind, as the result store keys it). */
function sameModel(content: ArchivedContent, model: ModelKey): boolean {
  return content.model.sha256.toLowerCase() === model.modelSha256.toLowerCase() && content.calibration.version === model.calibrationVersion;
}

/**
 * Of several SRs for the same image and model (two writers raced), the earliest observation, then
 * the lowest SOP Instance UID: every reader picks the same one.
 */
function pick(a: ArchivedResult, b: ArchivedResult): ArchivedResult {
  if (a.content.observedAt !== b.content.observedAt) return a.content.observedAt < b.content.observedAt ? a : b;
  return a.srSopInstanceUID <= b.srSopInstanceUID ? a : b;
}

/** One result per image and model: the SRs of a study, deduplicated. */
export function distinctResults(results: readonly ArchivedResult[]): ArchivedResult[] {
  const byKey = new Map<string, ArchivedResult>();
  for (const result of results) {
    const { source, model, calibration } = result.content;
    const key = JSON.stringify([source.sopInstanceUID, model.sha256.toLowerCase(), calibration.version]);
    const known = byKey.get(key);
    byKey.set(key, known ? pick(known, result) : result);
  }
  return [...byKey.values()];
}

export interface PacsResultsOptions {
  readonly client: ResultsClient;
  readonly codec: ResultCodec;
  /** Told of an SR that is in a ChestAid series but cannot be read (it is skipped). */
  readonly onUnreadable?: (srSopInstanceUID: string, reason: string) => void;
}

export class PacsResults {
  private readonly client: ResultsClient;
  private readonly codec: ResultCodec;
  private readonly onUnreadable: (uid: string, reason: string) => void;

  constructor({ client, codec, onUnreadable = () => undefined }: PacsResultsOptions) {
    this.client = client;
    this.codec = codec;
    this.onUnreadable = onUnreadable;
  }

  /** Every readable ChestAid result SR of a study, one per image and model. */
  async resultsOf(studyInstanceUID: string): Promise<ArchivedResult[]> {
    let series: DicomJson[];
    try {
      series = await this.client.searchSeries(studyInstanceUID, { Modality: 'SR', includefield: SERIES_DESCRIPTION });
    } catch (error) {
      // A study the PACS does not hold has no results; some servers say so with 404.
      if (error instanceof PacsHttpError && error.status === 404) return [];
      throw error;
    }
    const ours = series.filter(s => stringOf(s, SERIES_DESCRIPTION) === this.codec.resultSeriesDescription);
    const found: ArchivedResult[] = [];
    for (const row of ours) {
      const seriesUID = stringOf(row, SERIES_UID);
      if (!seriesUID) continue;
      for (const instance of await this.client.retrieveSeriesMetadata(studyInstanceUID, seriesUID)) {
        const sop = stringOf(instance, SOP_UID) ?? '(no SOP Instance UID)';
        if (!this.codec.isChestAidResultSr(instance)) continue;
        try {
          const content = this.codec.readResultSr(instance);
          found.push({ content, srSopInstanceUID: sop, srSeriesInstanceUID: seriesUID });
        } catch (error) {
          this.onUnreadable(sop, messageOf(error));
        }
      }
    }
    return distinctResults(found);
  }

  /** The results of several studies; a study whose read fails makes the whole call fail. */
  async forStudies(studyUIDs: readonly string[]): Promise<Map<string, ArchivedResult[]>> {
    const found = new Map<string, ArchivedResult[]>();
    for (const uid of [...new Set(studyUIDs)]) {
      const results = await this.resultsOf(uid);
      if (results.length > 0) found.set(uid, results);
    }
    return found;
  }

  /** The SR of this image under this model and calibration, or null. */
  async find(source: Pick<ArchivedContent['source'], 'studyInstanceUID' | 'sopInstanceUID'>, model: ModelKey): Promise<ArchivedResult | null> {
    const results = await this.resultsOf(source.studyInstanceUID);
    return results.find(r => r.content.source.sopInstanceUID === source.sopInstanceUID && sameModel(r.content, model)) ?? null;
  }

  /**
   * Writes the result SR (and the heatmap map, when the codec builds one) into the source's study,
   * unless the PACS already holds a ChestAid SR for this image, model and calibration. Throws the
   * client's errors (see pacsProblem).
   */
  async save(input: SaveInput): Promise<SaveOutcome> {
    const model = { modelSha256: input.result.model.sha256, calibrationVersion: input.result.calibration.version };
    const existing = await this.find(input.source, model);
    if (existing) return { status: 'already-saved', srSopInstanceUID: existing.srSopInstanceUID };
    const uids = await resultUids(input.source.studyInstanceUID, { sopInstanceUID: input.source.sopInstanceUID, ...model });
    const sr = this.codec.buildResultSr(input, { seriesInstanceUID: uids.srSeries, sopInstanceUID: uids.srInstance });
    const map =
      input.heatmap && this.codec.buildHeatmap
        ? this.codec.buildHeatmap({ ...input, heatmap: input.heatmap }, { seriesInstanceUID: uids.mapSeries, sopInstanceUID: uids.mapInstance })
        : null;
    // The SR first and alone: it is what readers and the idempotency check look for, and a map
    // the PACS refuses must not cost the score.
    await this.client.store([sr.part10], input.source.studyInstanceUID);
    if (!map) return { status: 'saved', srSopInstanceUID: sr.sopInstanceUID, heatmapSopInstanceUID: null, heatmapProblem: null };
    try {
      await this.client.store([map.part10], input.source.studyInstanceUID);
      return { status: 'saved', srSopInstanceUID: sr.sopInstanceUID, heatmapSopInstanceUID: map.sopInstanceUID, heatmapProblem: null };
    } catch (error) {
      return { status: 'saved', srSopInstanceUID: sr.sopInstanceUID, heatmapSopInstanceUID: null, heatmapProblem: pacsProblem(error).message };
    }
  }
}
