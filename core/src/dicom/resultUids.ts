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

/**
 * Identifies a result: one per image, model file and calibration. `calibrationVersion` is the
 * calibration's identity ("site-1+sha256:<hex>", siteCalibration/identity.ts), so two different
 * calibrations that share a version name never share a key or a UID.
 */
export interface ResultKey {
  readonly sopInstanceUID: string;
  readonly modelSha256: string;
  readonly calibrationVersion: string;
}

/**
 * How many UID sets a result may be written under. Revision 0 is the usual one. The UIDs derive
 * from public values, so anyone can store an SR under them first; Orthanc then keeps that one
 * (OverwriteInstances false) and silently drops ChestAid's. A writer that finds revision r
 * occupied by an SR that fails verification writes under r + 1; readers accept any revision below
 * this bound, and a writer that finds them all occupied says so rather than writing nothing silently.
 */
export const RESULT_REVISIONS = 16;

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

/** The revision whose SR instance UID is `srInstanceUID` for this key, or null when none derives it. */
export async function revisionOf(studyInstanceUID: string, key: ResultKey, srInstanceUID: string): Promise<number | null> {
  for (let revision = 0; revision < RESULT_REVISIONS; revision++) {
    if ((await resultUids(studyInstanceUID, key, revision)).srInstance === srInstanceUID) return revision;
  }
  return null;
}

/** The first revision whose SR instance UID no instance in `occupied` holds, or null when all are taken. */
export async function freeRevision(studyInstanceUID: string, key: ResultKey, occupied: ReadonlySet<string>): Promise<number | null> {
  for (let revision = 0; revision < RESULT_REVISIONS; revision++) {
    const uids = await resultUids(studyInstanceUID, key, revision);
    if (!occupied.has(uids.srInstance) && !occupied.has(uids.mapInstance)) return revision;
  }
  return null;
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
 * A `revision` above 0 (see RESULT_REVISIONS) names a new series and instance of its own.
 */
export async function resultUids(studyInstanceUID: string, key: ResultKey, revision = 0): Promise<ResultUids> {
  if (!(Number.isInteger(revision) && revision >= 0 && revision < RESULT_REVISIONS)) {
    throw new Error(`a result UID revision is an integer in [0, ${RESULT_REVISIONS}), got ${JSON.stringify(revision)}`);
  }
  const model = `${key.modelSha256.toLowerCase()} calibration ${key.calibrationVersion}${revision === 0 ? '' : ` revision ${revision}`}`;
  const [srSeries, srInstance, mapSeries, mapInstance] = await Promise.all([
    derivedUid(`chestaid worker result SR series of study ${studyInstanceUID} model ${model}`),
    derivedUid(`chestaid worker result SR of ${key.sopInstanceUID} model ${model}`),
    derivedUid(`chestaid worker heatmap series of study ${studyInstanceUID} model ${model}`),
    derivedUid(`chestaid worker heatmap of ${key.sopInstanceUID} model ${model}`),
  ]);
  return { srSeries, srInstance, mapSeries, mapInstance };
}
