/**
 * Fixtures for calibration overlays and logs: the demo manifest and an overlay for its exact
 * model bytes, with the values a site fit could give. Tests change one field at a time.
 */
import demo from '../../../models/chestaid-demo/manifest.json';
import { parseManifest, type Manifest } from '../manifest';

/** A fresh copy of the demo manifest's JSON, for a test to change. */
export function demoManifestJson(): Record<string, unknown> {
  // A JSON round trip, not structuredClone: under jest the latter makes arrays of another realm,
  // which ajv's `const` comparison (constructor equality) then refuses.
  return JSON.parse(JSON.stringify(demo));
}

export function demoManifest(): Manifest {
  return parseManifest(demoManifestJson());
}

export const DEMO_SHA = (demoManifestJson().onnx as { sha256: string }).sha256;

export function overlayJson(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    overlay_schema_version: '1.0.0',
    model: { id: 'chestaid-demo', sha256: DEMO_SHA },
    version: 'site-1',
    previous_version: '1',
    calibration: {
      input: 'logit',
      method: 'platt',
      params: { a: 0.8, b: -0.4 },
      selection: { metric: 'ece', n_bins: 15, binning: 'equal-width', validation: '5-fold cross-validation' },
    },
    threshold: {
      value: 0.62,
      rule: 'highest threshold with sensitivity >= 0.9 on the site cohort',
      target_sensitivity: 0.9,
      interval: { ci_low: 0.55, ci_high: 0.7, level: 0.95, n_boot: 1000, seed: 0 },
    },
    cohort: { n: 200, n_pos: 90, sha256: 'a'.repeat(64), source: 'feedback' },
    created: { by: 'Dr Admin', at: '2026-11-26T12:00:00Z' },
    metrics: { split: 'held-out folds', before: { ece: 0.21, brier: 0.19, n: 200 }, after: { ece: 0.05, brier: 0.12, n: 200 } },
    ...overrides,
  };
}
