/**
 * From the core's Analysis and the model manifest to the builders' inputs, so the panel and the
 * triage worker fill the DICOM objects the same way and neither can forget the synthetic-data
 * flag or take the hash of the wrong file.
 */
import type { Analysis } from '../analysis';
import { InputError } from '../errors';
import type { Manifest } from '../manifest';
import type { HeatmapInput } from './parametricMap';
import type { ResultSrInput } from './resultSr';
import type { DatasetSource } from './values';

export interface FromAnalysisOptions {
  /** The source image's header (naturalized, DICOM JSON or Part 10). */
  readonly source: DatasetSource;
  /** When the analysis ran. */
  readonly observedAt: Date | string;
  /**
   * SHA-256 of the ONNX file that ran: the manifest's main file by default; pass the variant's
   * (manifest.onnx.variants[].sha256) when the fp16 weights ran.
   */
  readonly modelSha256?: string;
}

function identity(manifest: Manifest, modelSha256: string | undefined) {
  const deviceUID = manifest.model.device_uid;
  if (!deviceUID) {
    throw new InputError(`model manifest of ${manifest.model.id} ${manifest.model.version} has no model.device_uid: DICOM results need a device UID`);
  }
  return {
    model: { id: manifest.model.id, version: manifest.model.version, sha256: modelSha256 ?? manifest.onnx.sha256, deviceUID },
    calibration: { method: manifest.calibration.selected, version: String(manifest.calibration.version) },
  };
}

export function resultSrInputFrom(analysis: Analysis, manifest: Manifest, options: FromAnalysisOptions): ResultSrInput {
  if (analysis.modelId !== manifest.model.id || analysis.modelVersion !== manifest.model.version) {
    throw new InputError(
      `analysis by model ${analysis.modelId} ${analysis.modelVersion} does not match manifest ${manifest.model.id} ${manifest.model.version}`,
    );
  }
  const observedAt = options.observedAt instanceof Date ? options.observedAt.toISOString() : options.observedAt;
  return {
    source: options.source,
    score: analysis.probability,
    logit: analysis.logit,
    threshold: analysis.decision.threshold,
    decision: analysis.decision.above ? 'above' : 'below',
    observedAt,
    trainedOnSyntheticData: manifest.data.synthetic,
    ...identity(manifest, options.modelSha256),
  };
}

export function heatmapInputFrom(analysis: Analysis, manifest: Manifest, options: Omit<FromAnalysisOptions, 'observedAt'>): HeatmapInput {
  return {
    source: options.source,
    cam: analysis.cam,
    trainedOnSyntheticData: manifest.data.synthetic,
    ...identity(manifest, options.modelSha256),
  };
}
