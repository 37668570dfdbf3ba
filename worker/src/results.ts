/**
 * What the worker writes for one scored image, with UIDs derived from what makes a result unique
 * (source SOP Instance UID, model sha256, calibration version). The same result always gets the
 * same SOP Instance UIDs, so a write repeated after a crash (the STOW reached the PACS, the
 * worker died before it knew) names the instance the PACS already has: Orthanc keeps one copy
 * (OverwriteInstances false), and no duplicate can exist whatever the timing.
 */
import { createHash } from 'node:crypto';

import type { Analysis, Manifest } from '../../extension/src/core';
import { buildHeatmapParametricMap, buildResultSr, type BuiltObject } from '../../extension/src/dicom';
import type { Part10Image } from './part10';

/** Identifies a result: one per image, model file and calibration. */
export interface ResultKey {
  readonly sopInstanceUID: string;
  readonly modelSha256: string;
  readonly calibrationVersion: string;
}

export function keyText(key: ResultKey): string {
  return `${key.sopInstanceUID}|${key.modelSha256.toLowerCase()}|${key.calibrationVersion}`;
}

/** A UID under the UUID-derived root 2.25 (PS3.5 B.2) from a name: 128 bits of its SHA-256. */
export function derivedUid(name: string): string {
  const digest = createHash('sha256').update(name).digest();
  return `2.25.${BigInt(`0x${digest.subarray(0, 16).toString('hex')}`)}`;
}

export interface ResultUids {
  readonly srSeries: string;
  readonly srInstance: string;
  readonly mapSeries: string;
  readonly mapInstance: string;
}

/** One SR series and one map series per study and model/calibration; one instance of each per image. */
export function resultUids(studyInstanceUID: string, key: ResultKey): ResultUids {
  const model = `${key.modelSha256.toLowerCase()} calibration ${key.calibrationVersion}`;
  return {
    srSeries: derivedUid(`chestaid worker result SR series of study ${studyInstanceUID} model ${model}`),
    srInstance: derivedUid(`chestaid worker result SR of ${key.sopInstanceUID} model ${model}`),
    mapSeries: derivedUid(`chestaid worker heatmap series of study ${studyInstanceUID} model ${model}`),
    mapInstance: derivedUid(`chestaid worker heatmap of ${key.sopInstanceUID} model ${model}`),
  };
}

export interface ModelFacts {
  readonly manifest: Manifest;
  readonly sha256: string;
}

export interface Outputs {
  readonly sr: BuiltObject;
  /** Written before the SR: the SR is the marker that the image is done (see worker.ts). */
  readonly map: BuiltObject;
}

export function buildOutputs(image: Part10Image, analysis: Analysis, model: ModelFacts, observedAt: Date): Outputs {
  const { manifest } = model;
  // The version the probability was computed under (core/analysis.ts), which keys the result.
  const key: ResultKey = { sopInstanceUID: image.sopInstanceUID, modelSha256: model.sha256, calibrationVersion: analysis.calibrationVersion };
  const uids = resultUids(image.studyInstanceUID, key);
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
