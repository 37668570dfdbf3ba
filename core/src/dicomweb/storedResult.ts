/**
 * A result the PACS already holds, shown back on the image it was computed on without running the
 * model: the verified SR's score and its heatmap Parametric Map. The SR is judged by verifyResult
 * (model bytes, device, calibration held, derived UID, threshold, score against logit, decision);
 * this adds what showing it on a particular image needs, each check failing with its reason:
 *
 * - the SR is verified (an unverified SR or a conflict is never drawn);
 * - the SR's source image is the image on screen (SOP Instance, series and study UIDs);
 * - the map is stored under the UIDs ChestAid derives for the same image, model, calibration and
 *   revision as the SR (resultUids), so a map planted elsewhere is never taken for it;
 * - the map parses as a ChestAid heatmap (readHeatmapReference, readHeatmapPixels);
 * - the map names the SR's source image, model (id, version, sha256, device UID) and calibration;
 * - the map lies on the image's own grid (Rows x Columns) and, when the image has a frame of
 *   reference, shares it;
 * - every map value is a finite number in [0, 1] (a normalised Grad-CAM).
 *
 * ChestAid writes no pixel digest into its objects: the image's identity is its SOP Instance UID
 * with its series, study, grid and frame of reference, as the map and the SR carry them. What the
 * SR's own verification cannot prove (that the logit came from these pixels) this cannot prove
 * either: see verifyResult.ts.
 */
import type { GreyImage } from '../resize';
import type { HeatmapReference } from '../dicom/parametricMap';
import { resultUids, revisionOf } from '../dicom/resultUids';
import { messageOf } from '../errors';
import { PacsHttpError } from './client';
import type { ArchivedResult } from './verifyResult';

/** The image a stored result would be shown on, as the PACS holds it (its WADO-RS metadata). */
export interface ShownImage {
  readonly studyInstanceUID: string;
  readonly seriesInstanceUID: string;
  readonly sopInstanceUID: string;
  readonly rows: number;
  readonly columns: number;
  /** The image's frame of reference, when it has one (CR images usually have none). */
  readonly frameOfReferenceUID?: string;
}

/** A heatmap map as read back: where it belongs and its values. */
export interface ReadHeatmap {
  readonly reference: HeatmapReference;
  readonly pixels: GreyImage;
}

/** A stored result that may be shown on its image: the verified SR and, when it verified too, its map. */
export interface StoredResult {
  readonly result: ArchivedResult;
  /** The map's values on the image's grid, or null with `mapProblem` saying why it is not drawn. */
  readonly map: { readonly sopInstanceUID: string; readonly pixels: GreyImage } | null;
  readonly mapProblem: string | null;
}

const sameUids = (a: HeatmapReference['source'], b: Omit<HeatmapReference['source'], 'sopClassUID'>) =>
  a.sopInstanceUID === b.sopInstanceUID && a.seriesInstanceUID === b.seriesInstanceUID && a.studyInstanceUID === b.studyInstanceUID;

/** Why `result`'s SR may not be shown on `image`, or null when it may. */
export function storedResultReason(result: ArchivedResult, image: ShownImage): string | null {
  if (result.verdict.status !== 'verified') return result.verdict.reason;
  const { source } = result.content;
  if (!sameUids({ ...source }, image)) {
    return `the stored result was computed on image ${source.sopInstanceUID} (series ${source.seriesInstanceUID}, study ${source.studyInstanceUID}), not on the image shown (${image.sopInstanceUID})`;
  }
  return null;
}

/**
 * Why `map`, read back from SOP Instance `mapSopInstanceUID`, may not be drawn as `result`'s heatmap
 * on `image`, or null when it may. `result` must already pass storedResultReason.
 */
export async function storedMapReason(result: ArchivedResult, image: ShownImage, mapSopInstanceUID: string, map: ReadHeatmap): Promise<string | null> {
  const { content } = result;
  const { reference, pixels } = map;
  const key = { sopInstanceUID: content.source.sopInstanceUID, modelSha256: content.model.sha256.toLowerCase(), calibrationVersion: content.calibration.version };
  const revision = await revisionOf(content.source.studyInstanceUID, key, result.srSopInstanceUID);
  if (revision === null) return `the SR ${result.srSopInstanceUID} is not under a UID ChestAid derives for its image`;
  const expected = (await resultUids(content.source.studyInstanceUID, key, revision)).mapInstance;
  if (mapSopInstanceUID !== expected || reference.sopInstanceUID !== expected) {
    return `the heatmap map ${reference.sopInstanceUID} is not the one ChestAid derives for this result (${expected})`;
  }
  if (!sameUids(reference.source, content.source)) {
    return `the heatmap map was computed on image ${reference.source.sopInstanceUID}, not on the SR's image ${content.source.sopInstanceUID}`;
  }
  const a = reference.model;
  const b = content.model;
  if (a.sha256.toLowerCase() !== b.sha256.toLowerCase() || a.deviceUID !== b.deviceUID || a.id !== b.id || a.version !== b.version) {
    return `the heatmap map names model ${a.id} ${a.version} (sha256 ${a.sha256.toLowerCase().slice(0, 12)}…, device ${a.deviceUID}), not the SR's ${b.id} ${b.version} (sha256 ${b.sha256.toLowerCase().slice(0, 12)}…, device ${b.deviceUID})`;
  }
  if (reference.calibrationVersion !== content.calibration.version) {
    return `the heatmap map names calibration ${reference.calibrationVersion}, not the SR's ${content.calibration.version}`;
  }
  if (reference.grid.rows !== image.rows || reference.grid.columns !== image.columns || pixels.height !== image.rows || pixels.width !== image.columns) {
    return `the heatmap map is ${pixels.width} x ${pixels.height} (header ${reference.grid.columns} x ${reference.grid.rows}), not the image's ${image.columns} x ${image.rows}`;
  }
  if (image.frameOfReferenceUID && reference.frameOfReferenceUID !== image.frameOfReferenceUID) {
    return `the heatmap map's frame of reference ${reference.frameOfReferenceUID} is not the image's (${image.frameOfReferenceUID})`;
  }
  const bad = pixels.data.findIndex(v => !(v >= 0 && v <= 1));
  if (bad >= 0) return `the heatmap map holds ${pixels.data[bad]} at pixel ${bad}: a normalised heatmap lies in [0, 1]`;
  return null;
}

/** What reading a stored result needs: its map's bytes (WADO-RS) and a reader of them. */
export interface StoredMapSource {
  retrieveInstance(studyUID: string, seriesUID: string, sopUID: string): Promise<ArrayBuffer>;
  /** Throws, naming what is wrong, when the bytes are not a readable ChestAid heatmap. */
  readHeatmap(part10: ArrayBuffer): ReadHeatmap;
}

/**
 * The stored result of `image`, ready to show, from `result` (found by PacsResults.find under the
 * model and calibration in use): `refused` with the reason when its SR may not be shown here
 * (storedResultReason); else the SR with its map, or without it and the reason. A PACS that cannot
 * be reached throws (pacsProblem names it); a map it does not hold is a reason.
 */
export async function storedResultOf(result: ArchivedResult, image: ShownImage, source: StoredMapSource): Promise<StoredResult | { readonly refused: string }> {
  const refused = storedResultReason(result, image);
  if (refused !== null) return { refused };
  const { content } = result;
  const key = { sopInstanceUID: content.source.sopInstanceUID, modelSha256: content.model.sha256.toLowerCase(), calibrationVersion: content.calibration.version };
  const revision = await revisionOf(content.source.studyInstanceUID, key, result.srSopInstanceUID);
  if (revision === null) return { result, map: null, mapProblem: `the SR ${result.srSopInstanceUID} is not under a UID ChestAid derives for its image` };
  const uids = await resultUids(content.source.studyInstanceUID, key, revision);
  let bytes: ArrayBuffer;
  try {
    bytes = await source.retrieveInstance(content.source.studyInstanceUID, uids.mapSeries, uids.mapInstance);
  } catch (error) {
    if (error instanceof PacsHttpError && error.status === 404) {
      return { result, map: null, mapProblem: `the PACS holds no heatmap map for this result (${uids.mapInstance})` };
    }
    throw error;
  }
  let map: ReadHeatmap;
  try {
    map = source.readHeatmap(bytes);
  } catch (error) {
    return { result, map: null, mapProblem: `the stored heatmap map cannot be read: ${messageOf(error)}` };
  }
  const problem = await storedMapReason(result, image, uids.mapInstance, map);
  return problem === null ? { result, map: { sopInstanceUID: uids.mapInstance, pixels: map.pixels }, mapProblem: null } : { result, map: null, mapProblem: problem };
}
