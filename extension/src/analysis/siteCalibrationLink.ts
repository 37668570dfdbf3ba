/**
 * ChestAidService's link to the site's calibration versions (issue 8): which calibration log
 * belongs to the model bytes in use (the site's audit log, per model sha256) and the manifest with
 * its active version applied (core SiteCalibrationLog, applyOverlay). With no log configured
 * (calibrationSource 'none'), the manifest's own calibration is the only one; a configured log
 * that is missing, cut back, rewound or torn is an error with the reason (core trust.ts), which
 * blocks analysis: never the manifest's calibration in its place.
 */
import { SiteCalibrationLog, type Manifest } from '@chestaid/core';
import type { SiteCalibrationStoreFor } from './types';

export class SiteCalibrationLink {
  private storeFor: SiteCalibrationStoreFor | null = null;
  private versions: SiteCalibrationLog | null = null;
  /** The model bytes the calibration in use was looked up for, with or without a log found. */
  private readFor: string | null = null;

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
    if (!this.versions) return base;
    return (await this.versions.manifestOf()).manifest;
  }

  /** The versions read at the last manifestFor() (what the admin page shows and builds on); throws when there is no log. */
  inUse(): SiteCalibrationLog {
    if (!this.versions) throw new Error('no calibration log is configured: the manifest calibration is the only one');
    return this.versions;
  }
}
