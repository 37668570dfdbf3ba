/**
 * A recalibration report (core/recalibration) as the calibration overlay an admin accepts
 * (core/calibrationOverlay): the chosen method's parameters refitted on the whole cohort, the new
 * threshold with its bootstrap interval, the cohort's size and sha256, who and when, and the
 * held-out metrics before and after. The page and the CLI both build their overlay here, so the
 * audit log reads the same whichever made the change. Framework-free.
 *
 * The report is taken structurally (the fields used here), so this file depends on the report's
 * shape, not on the fitting code.
 */
import type { ClipParams } from '../calibration';
import type { Manifest } from '../manifest';
import { sha256Hex } from '../siteCalibration/chain';
import { OVERLAY_SCHEMA_VERSION, type CalibrationOverlay } from '../siteCalibration/overlay';

type Method = 'none' | 'temperature' | 'platt' | 'isotonic';

interface MetricsLike {
  readonly ece: number;
  readonly brier: number;
  readonly nll?: number;
  readonly rocAuc?: number | null;
  readonly n: number;
}

interface IntervalLike {
  readonly value: number | null;
  readonly low: number | null;
  readonly high: number | null;
}

/** What of a RecalibrationReport the overlay needs. */
export interface ReportForOverlay {
  readonly cohort: { readonly n: number; readonly nPos: number; readonly canonical: string };
  readonly scheme: { readonly description: string };
  readonly candidates: Readonly<Record<string, { readonly metrics: MetricsLike }>>;
  readonly selected: Method;
  readonly fitted: Readonly<Record<string, { readonly params: object }>>;
  readonly threshold: {
    readonly threshold: IntervalLike;
    readonly targetSensitivity: number;
    readonly rule: string;
    readonly sensitivity: IntervalLike;
    readonly specificity: IntervalLike;
    readonly bootstrap: { readonly nBoot: number; readonly seed: number; readonly level: number };
  };
  readonly before: { readonly heldOut: { readonly metrics: MetricsLike } };
  readonly after: { readonly threshold: number; readonly heldOut: { readonly metrics: MetricsLike }; readonly confusion: object };
}

export interface OverlayContext {
  /** The base manifest (the model's identity). */
  readonly manifest: Manifest;
  /** The ONNX sha256 in use (the analyzer's). */
  readonly modelSha256: string;
  /** The version this overlay will carry (SiteCalibrationLog.nextVersion()) and the active one it replaces. */
  readonly version: string;
  readonly previousVersion: string;
  readonly actor: string;
  /** ISO time of acceptance. */
  readonly at: string;
  readonly source: 'feedback' | 'csv';
}

/** The sha256 of the cohort the report was fitted on (its canonical text: keys, logits, labels). */
export function cohortSha256(report: Pick<ReportForOverlay, 'cohort'>): Promise<string> {
  return sha256Hex(report.cohort.canonical);
}

function metrics(m: MetricsLike) {
  return { ece: m.ece, brier: m.brier, n: m.n };
}

/**
 * The chosen calibration in the overlay's terms, applying exactly what was fitted. The overlay
 * format (siteCalibration/overlay.ts) names the three fitted methods: 'none' is carried as its
 * exact equivalent, temperature 1 (sigmoid(z / 1) = sigmoid(z)), with the same clip. Every fit's
 * output clip travels in params.clip (overlay schema 1.1.0).
 */
function overlayCalibration(method: Method, params: object): { method: Exclude<Method, 'none'>; params: CalibrationOverlay['calibration']['params'] } {
  if (method === 'none') {
    const { clip } = params as { clip?: ClipParams };
    return { method: 'temperature', params: clip === undefined ? { temperature: 1 } : { temperature: 1, clip } };
  }
  return { method, params: { ...(params as Record<string, unknown>) } as unknown as CalibrationOverlay['calibration']['params'] };
}

export async function overlayFromReport(report: ReportForOverlay, context: OverlayContext): Promise<CalibrationOverlay> {
  const t = report.threshold.threshold;
  if (t.value === null) throw new Error('the recalibration found no threshold reaching the target sensitivity: nothing to accept');
  const chosen = overlayCalibration(report.selected, report.fitted[report.selected].params);
  const compared = Object.fromEntries(
    Object.entries(report.candidates).map(([method, { metrics: m }]) => [method, { ece: m.ece, brier: m.brier, n: m.n }]),
  );
  return {
    overlay_schema_version: OVERLAY_SCHEMA_VERSION,
    model: { id: context.manifest.model.id, sha256: context.modelSha256.toLowerCase() },
    version: context.version,
    previous_version: context.previousVersion,
    calibration: {
      input: 'logit',
      method: chosen.method,
      params: chosen.params,
      // The overlay schema names 'ece' or 'brier' only; the choice was by out-of-fold log loss, which the validation text says.
      selection: { metric: 'ece', n_bins: context.manifest.calibration.selection.n_bins, binning: 'equal-width', validation: report.scheme.description, compared },
    },
    threshold: {
      value: t.value,
      rule: report.threshold.rule,
      target_sensitivity: report.threshold.targetSensitivity,
      // A replicate set that never defined a bound (tiny classes) leaves the point: the interval is then honest about knowing nothing more.
      interval: {
        ci_low: t.low ?? t.value,
        ci_high: t.high ?? t.value,
        level: report.threshold.bootstrap.level,
        n_boot: report.threshold.bootstrap.nBoot,
        seed: report.threshold.bootstrap.seed,
      },
      at_threshold: {
        confusion: report.after.confusion,
        sensitivity: report.threshold.sensitivity,
        specificity: report.threshold.specificity,
      },
    },
    cohort: { n: report.cohort.n, n_pos: report.cohort.nPos, sha256: await cohortSha256(report), source: context.source },
    created: { by: context.actor.trim(), at: context.at },
    metrics: { split: report.scheme.description, before: metrics(report.before.heldOut.metrics), after: metrics(report.after.heldOut.metrics) },
  };
}
