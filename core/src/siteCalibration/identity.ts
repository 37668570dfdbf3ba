/**
 * A calibration's identity: its version name plus the sha256 of what the name stands for,
 * "site-1+sha256:<64 hex>" or "1+sha256:<64 hex>". Version names alone are not unique: every log
 * numbers its overlays site-1, site-2..., so two sites (or a site whose log was rebuilt) each have
 * a "site-1" that means another calibration. Results, their keys and their derived UIDs carry the
 * identity, so two different "site-1" never share a result, and a reader can check that a stored
 * score is the calibration it names applied to its logit (dicomweb/verifyResult.ts).
 *
 * What is hashed is the calibration block of the manifest in use (canonical JSON, the log's): the
 * selected method and every parameter, the site provenance applyOverlay adds (version, author,
 * time, cohort size), and the clinical threshold the decision is taken against. It is computed
 * from the manifest alone, the same way in the viewer and the worker, whether the calibration is
 * the training's or a site overlay's: no program needs the overlay file to name or check a result.
 *
 * The identity travels where the version string always did: the manifest in use carries it as
 * calibration.version (withCalibrationIdentity), so every result, key and UID derived from that
 * manifest carries it too. People see the name (calibrationName).
 */
import { deepFreeze, type Manifest } from '../manifest';
import { canonicalJson, sha256Hex } from './chain';
import { calibrationName } from './overlay';

export { calibrationName, isCalibrationIdentity } from './overlay';

/** The sha256 of the manifest's calibration in use: its calibration block under its name, and its clinical threshold. */
export async function calibrationHash(manifest: Manifest): Promise<string> {
  const { version, ...calibration } = manifest.calibration;
  return sha256Hex(canonicalJson({ name: calibrationName(version), calibration, clinical_threshold: manifest.thresholds.clinical }));
}

/** "site-1+sha256:<hex>": the identity of the calibration `manifest` applies. */
export async function calibrationIdentity(manifest: Manifest): Promise<string> {
  return `${calibrationName(manifest.calibration.version)}+sha256:${await calibrationHash(manifest)}`;
}

/**
 * `manifest` with its calibration.version replaced by its identity (frozen; `manifest` is not
 * touched). Idempotent: a manifest that already carries its identity comes back unchanged.
 */
export async function withCalibrationIdentity(manifest: Manifest): Promise<Manifest> {
  const identity = await calibrationIdentity(manifest);
  if (manifest.calibration.version === identity) return manifest;
  return deepFreeze(structuredClone({ ...manifest, calibration: { ...manifest.calibration, version: identity } }) as Manifest);
}
