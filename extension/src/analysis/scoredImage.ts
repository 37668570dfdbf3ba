/**
 * An image under a model: its result key (SOPInstanceUID and the sha256 of the model bytes the
 * analyzer runs) and the calibration version it is scored under. Only a result whose key is the
 * active image's is ever shown, so every look-up of ChestAidService goes through these.
 */
import type { Manifest } from '@chestaid/core';
import { resultKey } from '../inference';
import type { AnalysisTarget, Analyzer, ScoredImage } from './types';

export function sameImage(a: AnalysisTarget | null, b: AnalysisTarget | null): boolean {
  return (
    a === b ||
    (a !== null && b !== null && a.viewportId === b.viewportId && a.imageId === b.imageId && a.sopInstanceUID === b.sopInstanceUID)
  );
}

/** `target` under `analyzer`'s model and `manifest`'s calibration; throws when its key cannot be made. */
export function scoredImage(target: AnalysisTarget, manifest: Manifest, analyzer: Analyzer): ScoredImage {
  const modelSha256 = analyzer.modelSha256(manifest);
  return { target, manifest, key: resultKey(target.sopInstanceUID, modelSha256), model: { modelSha256, calibrationVersion: manifest.calibration.version } };
}

/** `target` under the model in use, or null when there is none yet or its key cannot be made. */
export function scoredOrNull(target: AnalysisTarget | null, manifest: Manifest | null, analyzer: Analyzer | null): ScoredImage | null {
  if (!target || !manifest || !analyzer) return null;
  try {
    return scoredImage(target, manifest, analyzer);
  } catch {
    return null;
  }
}

/** The result key of an image under the model in use, or null. */
export function keyOrNull(sopInstanceUID: string, manifest: Manifest | null, analyzer: Analyzer | null): string | null {
  if (!manifest || !analyzer) return null;
  try {
    return resultKey(sopInstanceUID, analyzer.modelSha256(manifest));
  } catch {
    return null;
  }
}
