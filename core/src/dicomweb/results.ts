/**
 * ChestAid's results in the PACS: found with QIDO-RS (SR series of a study carrying ChestAid's
 * series description), read with WADO-RS metadata and the dicom module's reader, verified
 * (verifyResult.ts), and written with STOW-RS, at most once per image, model bytes and calibration
 * identity.
 *
 * The DICOM itself (building and reading the SR and the heatmap map) is the ResultCodec's
 * business, passed in (core/src/dicom through the codec; fakes in tests, STYLE.md 11); the client
 * is the DicomWebClient or anything shaped like it. No framework here: the viewer and a Node
 * process can both use it.
 *
 * Every SR read is judged before anyone sees it: verified, unverified (with the reason) or, when
 * two verified SRs of the same key disagree, a conflict. Nothing is decided by a date the SR
 * carries itself.
 *
 * Idempotency is checked against the PACS itself before each write (a verified SR for the same
 * image + model sha256 + calibration identity -> nothing is written), so a second reader, a second
 * click or a reload never adds a duplicate. Two writers racing between the check and the write
 * both write the same SOP Instance UIDs, derived from image + model sha256 + calibration identity
 * as the triage worker derives them (dicom/resultUids.ts): the PACS keeps one copy (Orthanc:
 * OverwriteInstances false). When an SR that fails verification occupies those UIDs, the writer
 * takes the next revision of them (RESULT_REVISIONS), which readers verify the same way.
 */
import { freeRevision, RESULT_REVISIONS, resultUids } from '../dicom/resultUids';
import { PacsHttpError, PacsUnreachable, StowError, type DicomJson, type QidoQuery, type StowResult } from './client';
import { messageOf } from '../errors';
import { judgeResults, type ArchivedContent, type ArchivedResult, type FoundResult, type VerifyContext } from './verifyResult';

export type { ArchivedContent, ArchivedResult } from './verifyResult';

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

/** A study's ChestAid SRs, judged, and the SOP Instance UIDs its ChestAid series hold (read or not). */
export interface StudyScan {
  readonly results: ArchivedResult[];
  readonly occupied: ReadonlySet<string>;
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

function findIn(results: readonly ArchivedResult[], source: Pick<ArchivedContent['source'], 'sopInstanceUID'>, model: ModelKey): ArchivedResult | null {
  const ofImage = results.filter(r => r.content.source.sopInstanceUID === source.sopInstanceUID);
  return ofImage.find(r => sameModel(r.content, model)) ?? ofImage.find(r => r.verdict.status === 'unverified') ?? null;
}

export interface PacsResultsOptions {
  readonly client: ResultsClient;
  readonly codec: ResultCodec;
  /** What SRs are verified against: the model and calibrations loaded now (null: none yet, every SR is unverified). */
  readonly trust: () => Promise<VerifyContext | null> | VerifyContext | null;
  /** Told of an SR that is in a ChestAid series but cannot be read (it is skipped). */
  readonly onUnreadable?: (srSopInstanceUID: string, reason: string) => void;
}

export class PacsResults {
  private readonly client: ResultsClient;
  private readonly codec: ResultCodec;
  private readonly onUnreadable: (uid: string, reason: string) => void;
  private readonly trust: PacsResultsOptions['trust'];

  constructor({ client, codec, trust, onUnreadable = () => undefined }: PacsResultsOptions) {
    this.client = client;
    this.codec = codec;
    this.trust = trust;
    this.onUnreadable = onUnreadable;
  }

  /** Every readable ChestAid result SR of a study, judged: one per image, model and calibration. */
  async resultsOf(studyInstanceUID: string): Promise<ArchivedResult[]> {
    return (await this.scan(studyInstanceUID)).results;
  }

  /** The study's ChestAid results, judged, with every SOP Instance UID its ChestAid series hold. */
  async scan(studyInstanceUID: string): Promise<StudyScan> {
    let series: DicomJson[];
    try {
      series = await this.client.searchSeries(studyInstanceUID, { Modality: 'SR', includefield: SERIES_DESCRIPTION });
    } catch (error) {
      // A study the PACS does not hold has no results; some servers say so with 404.
      if (error instanceof PacsHttpError && error.status === 404) return { results: [], occupied: new Set() };
      throw error;
    }
    const ours = series.filter(s => stringOf(s, SERIES_DESCRIPTION) === this.codec.resultSeriesDescription);
    const found: FoundResult[] = [];
    const occupied = new Set<string>();
    // The other SR series' instances take UIDs too: an SR planted under ChestAid's derived series
    // UID with another description (the first instance stored sets it) hides there.
    for (const row of series.filter(s => !ours.includes(s))) {
      const seriesUID = stringOf(row, SERIES_UID);
      if (!seriesUID) continue;
      for (const instance of await this.client.retrieveSeriesMetadata(studyInstanceUID, seriesUID)) {
        const sop = stringOf(instance, SOP_UID);
        if (sop) occupied.add(sop);
      }
    }
    for (const row of ours) {
      const seriesUID = stringOf(row, SERIES_UID);
      if (!seriesUID) continue;
      for (const instance of await this.client.retrieveSeriesMetadata(studyInstanceUID, seriesUID)) {
        const sop = stringOf(instance, SOP_UID) ?? '(no SOP Instance UID)';
        occupied.add(sop);
        if (!this.codec.isChestAidResultSr(instance)) continue;
        try {
          const content = this.codec.readResultSr(instance);
          found.push({ content, srSopInstanceUID: sop, srSeriesInstanceUID: seriesUID });
        } catch (error) {
          this.onUnreadable(sop, messageOf(error));
        }
      }
    }
    return { results: await judgeResults(found, await this.trust()), occupied };
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

  /**
   * The result of this image under this model and calibration (verified, unverified or a
   * conflict: see its verdict); else an unverified SR about the image under another key (other
   * model bytes or an unknown calibration, which may be planted), so the reader is told of it; else null.
   */
  async find(source: Pick<ArchivedContent['source'], 'studyInstanceUID' | 'sopInstanceUID'>, model: ModelKey): Promise<ArchivedResult | null> {
    return findIn((await this.scan(source.studyInstanceUID)).results, source, model);
  }

  /**
   * Writes the result SR (and the heatmap map, when the codec builds one) into the source's study,
   * unless the PACS already holds a ChestAid SR for this image, model and calibration. Throws the
   * client's errors (see pacsProblem).
   */
  async save(input: SaveInput): Promise<SaveOutcome> {
    const model = { modelSha256: input.result.model.sha256, calibrationVersion: input.result.calibration.version };
    const { results, occupied } = await this.scan(input.source.studyInstanceUID);
    const existing = findIn(results, input.source, model);
    if (existing && existing.verdict.status !== 'unverified' && sameModel(existing.content, model)) {
      return { status: 'already-saved', srSopInstanceUID: existing.srSopInstanceUID };
    }
    // Only unverified SRs (or none): write ours, under the first UIDs no such SR occupies.
    const key = { sopInstanceUID: input.source.sopInstanceUID, ...model };
    const revision = await freeRevision(input.source.studyInstanceUID, key, occupied);
    if (revision === null) {
      throw new Error(
        `every one of the ${RESULT_REVISIONS} UIDs this result can be written under is held by an SR that fails verification; the PACS's ChestAid series of study ${input.source.studyInstanceUID} need a person's attention`,
      );
    }
    const uids = await resultUids(input.source.studyInstanceUID, key, revision);
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
