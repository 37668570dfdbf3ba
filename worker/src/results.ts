/**
 * What the worker writes for one scored image, with UIDs derived from what makes a result unique
 * (source SOP Instance UID, model sha256, calibration version: dicom/resultUids.ts, which the
 * viewer's Save to PACS uses too). The same result always gets the
 * same SOP Instance UIDs, so a write repeated after a crash (the STOW reached the PACS, the
 * worker died before it knew) names the instance the PACS already has: Orthanc keeps one copy
 * (OverwriteInstances false), and no duplicate can exist whatever the timing.
 */
import {
  type Analysis,
  buildHeatmapParametricMap,
  buildResultSr,
  type BuiltObject,
  type Manifest,
  type ResultKey,
  resultKeyText,
  resultUids,
} from '@chestaid/core';
import type { PacsLink } from './pacsLink';
import type { Part10Image } from './part10';

export type { ResultKey, ResultUids } from '@chestaid/core';

export const keyText = (key: ResultKey): string => resultKeyText(key);

export interface ModelFacts {
  readonly manifest: Manifest;
  readonly sha256: string;
}

export interface Outputs {
  readonly sr: BuiltObject;
  /** Written before the SR: the SR is the marker that the image is done (storeOutputs). */
  readonly map: BuiltObject;
}

/** `revision`: which of the key's UID sets to write under (resultUids; above 0 when an unverified SR holds the usual ones). */
export async function buildOutputs(image: Part10Image, analysis: Analysis, model: ModelFacts, observedAt: Date, revision = 0): Promise<Outputs> {
  const { manifest } = model;
  // The version the probability was computed under (core/analysis.ts), which keys the result.
  const key: ResultKey = { sopInstanceUID: image.sopInstanceUID, modelSha256: model.sha256, calibrationVersion: analysis.calibrationVersion };
  const uids = await resultUids(image.studyInstanceUID, key, revision);
  const deviceUID = manifest.model.device_uid;
  if (!deviceUID) throw new Error(`the manifest of ${manifest.model.id} has no model.device_uid, which the SR's Contributing Equipment needs`);
  const modelIdentity = { id: manifest.model.id, version: manifest.model.version, sha256: model.sha256, deviceUID };
  const calibration = { method: analysis.calibrationMethod, version: analysis.calibrationVersion };
  // At the source's own size, which OHIF 3.13 needs to overlay it (dicom/parametricMap.ts).
  const map = buildHeatmapParametricMap({
    source: image.dataset,
    cam: analysis.cam,
    model: modelIdentity,
    calibration,
    trainedOnSyntheticData: manifest.data.synthetic,
    seriesInstanceUID: uids.mapSeries,
    sopInstanceUID: uids.mapInstance,
    createdAt: observedAt,
  });
  const sr = buildResultSr({
    source: image.dataset,
    score: analysis.probability,
    logit: analysis.logit,
    threshold: manifest.thresholds.clinical.value,
    decision: analysis.decision.above ? 'above' : 'below',
    calibration,
    model: modelIdentity,
    observedAt: observedAt.toISOString(),
    trainedOnSyntheticData: manifest.data.synthetic,
    seriesInstanceUID: uids.srSeries,
    sopInstanceUID: uids.srInstance,
    createdAt: observedAt,
  });
  return { sr, map };
}

/**
 * Stores the heatmap, then the SR, so that an SR in the PACS means both are there: the worker
 * takes a result SR as the sign that an image is done (existingResults.ts).
 */
export async function storeOutputs(link: PacsLink, outputs: Outputs, studyUID: string): Promise<void> {
  await link.ask(pacs => pacs.store([outputs.map.part10], studyUID));
  await link.ask(pacs => pacs.store([outputs.sr.part10], studyUID));
}
