/**
 * Cohorts for the calibration tests: feedback on synthetic logits whose scores the deployed
 * calibration overstates (a scanner shift), made deterministic by a seeded generator.
 */
import { calibrate, type FeedbackEntry, type Manifest, mulberry32 } from '@chestaid/core';

/** n images, half pneumonia, logits shifted up by `shift` from a separable-ish pair of normals. */
export function shiftedFeedback(manifest: Manifest, n: number, { shift = 3, seed = 7, sha = manifest.onnx.sha256, day = '2026-11-20' } = {}): FeedbackEntry[] {
  const random = mulberry32(seed);
  const normal = () => Math.sqrt(-2 * Math.log(random() || 1e-12)) * Math.cos(2 * Math.PI * random());
  return Array.from({ length: n }, (_, i) => {
    const pneumonia = i % 2 === 0;
    const logit = (pneumonia ? 1.2 : -1.2) + 1.3 * normal() + shift;
    const score = calibrate(logit, manifest.calibration);
    return {
      studyInstanceUID: `1.2.${i}`,
      seriesInstanceUID: `1.2.${i}.1`,
      sopInstanceUID: `1.2.${i}.1.1`,
      modelSha256: sha.toLowerCase(),
      calibrationVersion: manifest.calibration.version,
      score,
      logit,
      decision: { above: score >= manifest.thresholds.clinical.value, threshold: manifest.thresholds.clinical.value },
      label: pneumonia ? 'pneumonia' : 'normal',
      reader: 'Dr Reader',
      at: `${day}T${String(8 + (i % 10)).padStart(2, '0')}:00:00.000Z`,
    };
  });
}
