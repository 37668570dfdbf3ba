/**
 * ChestAidService's link to the site's calibration versions (issue 8): which calibration log
 * belongs to the model bytes in use (the site's audit log, per model sha256) and the manifest with
 * its active version applied (core SiteCalibrationLog, applyOverlay). With no log configured
 * (calibrationSource 'none'), the manifest's own calibration is the only one; a configured log
 * that is missing, cut back, rewound or torn is an error with the reason (core trust.ts), which
 * blocks analysis: never the manifest's calibration in its place. The manifest handed out carries
 * the calibration's identity as its calibration.version (core withCalibrationIdentity), which
 * every result, key and derived UID made from it then carries.
 */
import { SiteCalibrationLog, withCalibrationIdentity, type Manifest } from '@chestaid/core';
import type { SiteCalibrationStoreFor } from './types';

export class SiteCalibrationLink {
  private storeFor: SiteCalibrationStoreFor | null = null;
  private versions: SiteCalibrationLog | null = null;
  /** The model bytes the calibration in use was looked up for, with or without a log found. */
  private readFor: string | null = null;
  private base: Manifest | null = null;
  /** Identity -> manifest of every version of the log, as of the log head they were read at. */
  private known: { head: string; byIdentity: Map<string, Manifest> } | null = null;

  /** Where the calibration log lives, per model sha256; null: nowhere. Takes effect at the next manifestFor(). */
  use(storeFor: SiteCalibrationStoreFor | null): void {
    this.storeFor = storeFor;
  }

  /**
   * Whether the calibration in use was looked up for other model bytes than `modelSha256`: an
   * analyzer running another file needs its own log, whichever arrived first.
   */
  readForOther(modelSha256: string): boolean {
    return this.storeFor !== null && this.readFor !== null && modelSha256.toLowerCase() !== this.readFor;
  }

  /** `base` (the manifest as validated) with the active site calibration of `modelSha256`'s log applied, when it has one. */
  async manifestFor(base: Manifest, modelSha256: string): Promise<Manifest> {
    const sha = modelSha256.toLowerCase();
    this.readFor = sha;
    const store = this.storeFor?.(sha) ?? null;
    this.versions = store ? new SiteCalibrationLog({ store, manifest: base, modelSha256: sha }) : null;
    this.base = base;
    this.known = null;
    if (!this.versions) return withCalibrationIdentity(base);
    return withCalibrationIdentity((await this.versions.manifestOf()).manifest);
  }

  /**
   * The manifest whose calibration identity is `identity`: `current`, the manifest's own, or any
   * version the log ever accepted (a result written before a recalibration still verifies, and is
   * then shown as stale rather than unverified); null when none is.
   */
  async calibrationOf(identity: string, current: Manifest): Promise<Manifest | null> {
    if (identity === current.calibration.version) return current;
    if (!this.base) return null;
    if (!this.versions) {
      const base = await withCalibrationIdentity(this.base);
      return base.calibration.version === identity ? base : null;
    }
    const history = await this.versions.history();
    if (this.known?.head !== history.head.hash) {
      const byIdentity = new Map<string, Manifest>();
      for (const version of history.versions) {
        const manifest = await withCalibrationIdentity((await this.versions.manifestOf(version)).manifest);
        byIdentity.set(manifest.calibration.version, manifest);
      }
      this.known = { head: history.head.hash, byIdentity };
    }
    return this.known.byIdentity.get(identity) ?? null;
  }

  /** The versions read at the last manifestFor() (what the admin page shows and builds on); throws when there is no log. */
  inUse(): SiteCalibrationLog {
    if (!this.versions) throw new Error('no calibration log is configured: the manifest calibration is the only one');
    return this.versions;
  }
}
