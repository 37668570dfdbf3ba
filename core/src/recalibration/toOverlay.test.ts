import { calibrate, noCalibration, plattScale } from '../calibration';
import { applyOverlay } from '../siteCalibration/overlay';
import { MemorySiteCalibrationStore } from '../siteCalibration/memoryStores';
import { SiteCalibrationLog, EMPTY_HEAD, parseOverlay, sha256Hex } from '..';
import { DEMO_SHA, demoManifest } from '../testing/overlays';
import { cohortSha256, overlayFromReport, type ReportForOverlay } from './toOverlay';

const m = (ece: number, brier: number, n = 160) => ({ metrics: { ece, brier, n, nll: 0.4, rocAuc: 0.9 } });

function report(overrides: Partial<ReportForOverlay> = {}): ReportForOverlay {
  return {
    cohort: { n: 160, nPos: 80, canonical: 'a\t1\t1\nb\t-1\t0' },
    scheme: { description: '5-fold cross-validation stratified by class (seed 0)' },
    candidates: { current: m(0.3, 0.25), none: m(0.28, 0.24), temperature: m(0.1, 0.15), platt: m(0.05, 0.12), isotonic: m(0.07, 0.13) },
    selected: 'platt',
    fitted: { none: { params: {} }, temperature: { params: { temperature: 2 } }, platt: { params: { a: 0.7, b: -1.2 } }, isotonic: { params: { x: [0, 1], y: [0, 1] } } },
    threshold: {
      threshold: { value: 0.41, low: 0.3, high: 0.5 },
      targetSensitivity: 0.9,
      rule: 'highest threshold whose sensitivity on the split is >= target',
      sensitivity: { value: 0.91, low: 0.85, high: 0.97 },
      specificity: { value: 0.7, low: 0.6, high: 0.8 },
      bootstrap: { nBoot: 1000, seed: 0, level: 0.95 },
    },
    before: { heldOut: m(0.3, 0.25) },
    after: { threshold: 0.41, confusion: { tp: 73, fn: 7, tn: 56, fp: 24 }, heldOut: m(0.05, 0.12) },
    ...overrides,
  };
}

const context = { manifest: demoManifest(), modelSha256: DEMO_SHA, version: 'site-1', previousVersion: '1', actor: ' Dr Admin ', at: '2026-11-26T12:00:00.000Z', source: 'csv' as const };

describe('overlayFromReport', () => {
  it("carries a choice of 'none' as its exact equivalent, temperature 1, and every fit's clip, so the applied overlay scores as fitted", async () => {
    const clip = { low: 1 / 162, high: 1 - 1 / 162 };
    const none = await overlayFromReport(report({ selected: 'none', fitted: { ...report().fitted, none: { params: { clip } } } }), context);
    expect(none.calibration).toMatchObject({ method: 'temperature', params: { temperature: 1, clip } });
    const platt = await overlayFromReport(report({ fitted: { ...report().fitted, platt: { params: { a: 0.7, b: -1.2, clip } } } }), context);
    expect(platt.calibration.params).toEqual({ a: 0.7, b: -1.2, clip });
    for (const [overlay, fitted] of [
      [none, (z: number) => noCalibration(z, { clip })],
      [platt, (z: number) => plattScale(z, { a: 0.7, b: -1.2, clip })],
    ] as const) {
      const applied = applyOverlay(demoManifest(), parseOverlay(JSON.parse(JSON.stringify(overlay)), { modelSha256: DEMO_SHA }));
      for (const z of [-30, -2, 0, 1.5, 30]) expect(calibrate(z, applied.calibration)).toBe(fitted(z));
    }
    expect(calibrate(30, applyOverlay(demoManifest(), parseOverlay(JSON.parse(JSON.stringify(none)))).calibration)).toBe(clip.high);
  });

  it('makes an overlay the schema accepts, with the chosen method, threshold interval, cohort hash and metrics', async () => {
    const overlay = await overlayFromReport(report(), context);
    expect(parseOverlay(JSON.parse(JSON.stringify(overlay)), { modelSha256: DEMO_SHA })).toBeTruthy();
    expect(overlay.calibration).toMatchObject({ method: 'platt', params: { a: 0.7, b: -1.2 } });
    expect(overlay.threshold).toMatchObject({ value: 0.41, interval: { ci_low: 0.3, ci_high: 0.5, level: 0.95, n_boot: 1000 } });
    expect(overlay.cohort).toEqual({ n: 160, n_pos: 80, sha256: await sha256Hex('a\t1\t1\nb\t-1\t0'), source: 'csv' });
    expect(overlay.created.by).toBe('Dr Admin');
    expect(overlay.metrics.before).toEqual({ ece: 0.3, brier: 0.25, n: 160 });
    expect(overlay.metrics.after).toEqual({ ece: 0.05, brier: 0.12, n: 160 });
  });

  it('is what SiteCalibrationLog accepts as the next version, recording the cohort hash in the log', async () => {
    const versions = new SiteCalibrationLog({ store: new MemorySiteCalibrationStore(), manifest: demoManifest() });
    const overlay = await overlayFromReport(report(), { ...context, version: await versions.nextVersion() });
    const entry = await versions.accept(JSON.parse(JSON.stringify(overlay)), { actor: 'Dr Admin', expectedHead: EMPTY_HEAD });
    expect(entry).toMatchObject({ action: 'accept', version: 'site-1', previousVersion: '1', cohort: { n: 160, sha256: await cohortSha256(report()) } });
  });

  it('refuses a report without a threshold', async () => {
    const r = report();
    await expect(overlayFromReport({ ...r, threshold: { ...r.threshold, threshold: { value: null, low: null, high: null } } }, context)).rejects.toThrow('no threshold');
  });
});
