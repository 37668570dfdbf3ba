/**
 * The manifest ChestAid analyses with: fetched and validated once per URL, then with the site's
 * active calibration version applied (siteCalibrationLink.ts). It is read again after a
 * calibration change; only the latest attempt speaks, so a slow first answer never replaces a
 * newer one. What becomes of the state is the service's business, told through a listener.
 */
import { calibrationOrigin, type Manifest, manifestForVariant, messageOf, parseManifest } from '@chestaid/core';
import { calibrationLabelText } from '../i18n/calibration';
import { t } from '../i18n/translate';
import type { SiteCalibrationLink } from './siteCalibrationLink';
import type { ModelInfo } from './types';

export interface ManifestListener {
  /** A manifest is being loaded from a new URL: none is in use until it is. */
  loading(): void;
  /** `manifest` is now in use; `versionChanged`: it replaces one under another calibration version. */
  ready(manifest: Manifest, versionChanged: boolean): void;
  /** The manifest could not be loaded, validated or calibrated; none is in use. */
  failed(message: string): void;
  /** The manifest in use could not be calibrated again (a corrupt log): none is in use any more. */
  lost(message: string): void;
}

export interface ActiveManifestOptions {
  /** Fetches and parses JSON; over HTTP by default. */
  readonly fetchJson?: (url: string) => Promise<unknown>;
  readonly calibration: SiteCalibrationLink;
  /** The sha256 of the model bytes the analyzer runs under `base`: the calibration log is theirs. */
  readonly modelSha256: (base: Manifest) => string;
  /**
   * The ONNX file the site runs (ChestAidConfig.modelFile), read at each load: null, the manifest's
   * own; a variant's name, the manifest as that file runs it (manifestForVariant: its sha256, and
   * an int8 variant's own calibration, thresholds and metrics).
   */
  readonly modelFile?: () => string | null;
  readonly listener: ManifestListener;
}

async function fetchJsonOverHttp(url: string): Promise<unknown> {
  const response = await fetch(url);
  if (!response.ok) {
    throw new Error(`GET ${url} answered ${response.status} ${response.statusText}`);
  }
  return response.json();
}

export class ActiveManifest {
  private readonly fetchJson: (url: string) => Promise<unknown>;
  private promise: Promise<Manifest> | null = null;
  /** The validation under way or last made, before the calibration is read (null: none). */
  private validation: Promise<Manifest> | null = null;
  private url: string | null = null;
  /** The manifest as validated, before any site calibration. */
  private base: Manifest | null = null;
  private manifest: Manifest | null = null;

  constructor(private readonly options: ActiveManifestOptions) {
    this.fetchJson = options.fetchJson ?? fetchJsonOverHttp;
  }

  /** The manifest in use, with the active calibration applied; null until loaded (or when refused). */
  get current(): Manifest | null {
    return this.manifest;
  }

  /** The manifest as validated, before any site calibration; null until loaded. */
  get validated(): Manifest | null {
    return this.base;
  }

  /** The URL of the latest load, or null before any. */
  get loadedUrl(): string | null {
    return this.url;
  }

  /** The attempt under way or last made (null: none, or the last one failed). */
  get attempt(): Promise<Manifest> | null {
    return this.promise;
  }

  /**
   * The manifest of the latest load as validated, before the site calibration is read (which
   * may take a while: it reads and verifies the log). What the model's bytes are does not depend
   * on the calibration, so the model may start loading from this. Rejects as the load does.
   */
  get validatedAttempt(): Promise<Manifest> | null {
    return this.validation;
  }

  /** Loads and validates the manifest once per URL; later calls share the first promise, unless `again`. */
  load(url: string, again = false): Promise<Manifest> {
    if (this.promise && this.url === url && !again) return this.promise;
    this.url = url;
    this.manifest = null;
    this.options.listener.loading();
    const validation = this.fetchJson(url)
      .then(parseManifest)
      .then(manifest => manifestForVariant(manifest, this.options.modelFile?.() ?? undefined));
    // Read by prepare (ChestAidService.prepareModel); its failure is reported through `promise`.
    validation.catch(() => undefined);
    this.validation = validation;
    const promise = validation
      .then(base => {
        if (this.promise === promise) this.base = base;
        return this.calibrated(base);
      });
    this.promise = promise;
    promise.then(
      manifest => {
        if (this.promise === promise) this.use(manifest);
      },
      error => {
        if (this.promise === promise) {
          this.promise = null;
          this.options.listener.failed(t('model.manifestFailed', { url, cause: messageOf(error) }));
        }
      },
    );
    return promise;
  }

  /** Applies the active calibration again; rejects with the reason when it cannot be read. */
  async reload(): Promise<void> {
    const base = this.base;
    if (!base) return;
    const url = this.url;
    const promise = this.calibrated(base);
    this.promise = promise;
    try {
      const manifest = await promise;
      if (this.promise === promise) this.use(manifest);
    } catch (error) {
      if (this.promise === promise) {
        this.manifest = null;
        this.promise = null;
        this.options.listener.lost(url ? t('model.manifestFailed', { url, cause: messageOf(error) }) : t('model.manifestUnreadable', { cause: messageOf(error) }));
      }
      throw error;
    }
  }

  /** `base` with the active site calibration of the model bytes in use applied. */
  private async calibrated(base: Manifest): Promise<Manifest> {
    try {
      return await this.options.calibration.manifestFor(base, this.options.modelSha256(base));
    } catch (error) {
      throw new Error(`calibration: ${messageOf(error)}`);
    }
  }

  private use(manifest: Manifest): void {
    const versionChanged = this.manifest !== null && this.manifest.calibration.version !== manifest.calibration.version;
    this.manifest = manifest;
    this.options.listener.ready(manifest, versionChanged);
  }
}

/** What the panel shows of the model in use. */
export function modelInfoOf(manifest: Manifest): ModelInfo {
  const origin = calibrationOrigin(manifest);
  return {
    calibration: origin,
    calibrationLabel: calibrationLabelText(origin),
    id: manifest.model.id,
    version: manifest.model.version,
    sha256: manifest.onnx.sha256,
    synthetic: manifest.data.synthetic === true,
    disclaimer: manifest.intended_use.disclaimer,
    calibrationMethod: manifest.calibration.selected,
    calibrationVersion: manifest.calibration.version,
  };
}
