/**
 * The UIDs of ChestAid's result objects, derived from what makes a result unique (source SOP
 * Instance UID, model sha256, calibration version) rather than drawn at random. The triage worker
 * and the viewer's Save to PACS both name their SR and map this way, so any two writers of the
 * same result (two viewers racing between their QIDO check and their STOW, a viewer and the
 * worker, a worker retrying after a crash) write the same SOP Instance UID: Orthanc keeps one copy
 * (OverwriteInstances false) and no duplicate can exist whatever the timing.
 *
 * SHA-256 by WebCrypto (browsers, workers, Node >= 20), hence async; no node: built-ins here.
 */

/** Identifies a result: one per image, model file and calibration. */
export interface ResultKey {
  readonly sopInstanceUID: string;
  readonly modelSha256: string;
  readonly calibrationVersion: string;
}

export interface ResultUids {
  readonly srSeries: string;
  readonly srInstance: string;
  readonly mapSeries: string;
  readonly mapInstance: string;
}

/** The key as one string: the sha256 compared case-blind, as the result store keys it. */
export function resultKeyText(key: ResultKey): string {
  return `${key.sopInstanceUID}|${key.modelSha256.toLowerCase()}|${key.calibrationVersion}`;
}

/** A UID under the UUID-derived root 2.25 (PS3.5 B.2) from a name: 128 bits of its SHA-256. */
export async function derivedUid(name: string): Promise<string> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) throw new Error('deriving result UIDs needs WebCrypto (crypto.subtle), which this runtime lacks');
  const digest = new Uint8Array(await subtle.digest('SHA-256', new TextEncoder().encode(name)));
  const hex = Array.from(digest.subarray(0, 16), b => b.toString(16).padStart(2, '0')).join('');
  return `2.25.${BigInt(`0x${hex}`)}`;
}

/**
 * One SR series and one map series per study and model/calibration; one instance of each per
 * image. The names say "worker" because the worker derived them first: kept as they were so that
 * results it already stored keep their UIDs, and a viewer saving the same result collapses onto them.
 */
export async function resultUids(studyInstanceUID: string, key: ResultKey): Promise<ResultUids> {
  const model = `${key.modelSha256.toLowerCase()} calibration ${key.calibrationVersion}`;
  const [srSeries, srInstance, mapSeries, mapInstance] = await Promise.all([
    derivedUid(`chestaid worker result SR series of study ${studyInstanceUID} model ${model}`),
    derivedUid(`chestaid worker result SR of ${key.sopInstanceUID} model ${model}`),
    derivedUid(`chestaid worker heatmap series of study ${studyInstanceUID} model ${model}`),
    derivedUid(`chestaid worker heatmap of ${key.sopInstanceUID} model ${model}`),
  ]);
  return { srSeries, srInstance, mapSeries, mapInstance };
}
