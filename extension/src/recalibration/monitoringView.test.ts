import { applyOverlay, parseOverlay, parseScoreCohortCsv } from '@chestaid/core';
import { demoManifest, DEMO_SHA, overlayJson } from '@chestaid/core/testing';
import { MIN_DRIFT_IMAGES, monitoringCsv, monitoringView } from './monitoringView';
import { shiftedFeedback } from './testing';

describe('monitoringView', () => {
  it('counts outcomes at the active threshold per day, from each reader\'s current label', () => {
    const base = demoManifest();
    const entries = [...shiftedFeedback(base, 10, { day: '2026-11-20' }), ...shiftedFeedback(base, 10, { day: '2026-11-21', seed: 2 }).map(e => ({ ...e, sopInstanceUID: `${e.sopInstanceUID}.2` }))];
    // The same reader changes their mind about the first image: only the later label counts.
    const relabel = { ...entries[0], label: 'unsure' as const, at: '2026-11-21T18:00:00.000Z' };
    const view = monitoringView({ entries: [...entries, relabel], active: base, base, modelSha256: DEMO_SHA, bucket: 'day' });
    expect(view.rows).toHaveLength(20);
    expect(view.summary.buckets.map(b => b.start)).toEqual(['2026-11-20', '2026-11-21']);
    const total = view.summary.total;
    expect(total.tp + total.fp + total.tn + total.fn + total.unsure).toBe(20);
    expect(total.unsure).toBe(1);
    expect(view.rows.filter(r => r.outcome === 'TP').length).toBe(total.tp);
  });

  it('re-scores logits under the active calibration and keeps the score shown at the time', () => {
    const base = demoManifest();
    const active = applyOverlay(base, parseOverlay(overlayJson(), { modelSha256: DEMO_SHA }));
    const [entry] = shiftedFeedback(base, 1);
    const view = monitoringView({ entries: [entry], active, base, modelSha256: DEMO_SHA, bucket: 'week' });
    const row = view.rows[0];
    expect(row.scoreShown).toBe(entry.score);
    expect(row.scoreActive).toBeCloseTo(1 / (1 + Math.exp(-(0.8 * entry.logit - 0.4))), 10);
    expect(view.threshold).toBe(0.62);
    expect(view.activeVersion).toBe('site-1');
  });

  it('measures drift under the training calibration and warns on a shifted population', () => {
    const base = demoManifest();
    const shifted = monitoringView({ entries: shiftedFeedback(base, 200, { shift: 6 }), active: base, base, modelSha256: DEMO_SHA, bucket: 'day' });
    expect(shifted.drift?.warn).toBe(true);
    expect(shifted.drift?.n).toBe(200);
    // Past the level on a handful of images, but not enough of them to warn.
    const few = monitoringView({ entries: shiftedFeedback(base, MIN_DRIFT_IMAGES - 2, { shift: 6 }), active: base, base, modelSha256: DEMO_SHA, bucket: 'day' });
    expect(few.drift).toMatchObject({ warning: true, warn: false });
    const none = monitoringView({ entries: [], active: base, base, modelSha256: DEMO_SHA, bucket: 'day' });
    expect(none.drift).toBeNull();
    expect(none.driftProblem).toBe('monitoring.noScores');
  });

  it('leaves out and counts feedback about another model, and exports the rows as CSV', () => {
    const base = demoManifest();
    const entries = [...shiftedFeedback(base, 3), ...shiftedFeedback(base, 2, { sha: 'e'.repeat(64) }).map(e => ({ ...e, sopInstanceUID: `${e.sopInstanceUID}.x` }))];
    const view = monitoringView({ entries, active: base, base, modelSha256: DEMO_SHA, bucket: 'day' });
    expect(view.otherModel).toBe(2);
    const csv = monitoringCsv(view).trim().split(/\r?\n/);
    expect(csv[0]).toBe('recorded_at,study_instance_uid,series_instance_uid,sop_instance_uid,reader,ground_truth,logit,model_sha256,score_shown,calibration_version_shown,score_active,active_calibration_version,active_threshold,outcome');
    expect(csv).toHaveLength(4);
    expect(csv[1].split(',')[11]).toBe('1');
    // The recalibration CLI reads the export as its scores CSV.
    expect(parseScoreCohortCsv(monitoringCsv(view)).map(r => r.modelSha256)).toEqual([DEMO_SHA, DEMO_SHA, DEMO_SHA]);
  });
});
