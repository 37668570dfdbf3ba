/**
 * Verification of ChestAid result SRs read from the PACS (issue 15): each way a planted or wrong
 * SR differs from one ChestAid wrote is named, and judgeResults never lets a date, an order or a
 * contradicting SR decide what is shown.
 */
import { calibrate } from '../calibration';
import { resultUids } from '../dicom/resultUids';
import type { Manifest } from '../manifest';
import { withCalibrationIdentity } from '../siteCalibration/identity';
import { applyOverlay, parseOverlay } from '../siteCalibration/overlay';
import { DEMO_SHA, demoManifest, overlayJson } from '../testing';
import type { ArchivedContent } from './results';
import { judgeResults, unverifiedReason, type FoundResult, type VerifyContext } from './verifyResult';

const source = { studyInstanceUID: '1.2.1', seriesInstanceUID: '1.2.1.1', sopInstanceUID: '1.2.1.1.1', sopClassUID: '1.2.840.10008.5.1.4.1.1.1' };

let manifest: Manifest;
let context: VerifyContext;

beforeAll(async () => {
  manifest = await withCalibrationIdentity(demoManifest());
  context = {
    modelSha256: DEMO_SHA,
    deviceUID: manifest.model.device_uid as string,
    calibrationOf: identity => (identity === manifest.calibration.version ? manifest : null),
  };
});

/** What ChestAid writes for `logit` under `m`, and the SOP Instance UID it writes it under. */
async function trueResult(logit: number, { m = manifest, revision = 0, observedAt = '2026-11-26T10:00:00.000Z' } = {}): Promise<FoundResult> {
  const score = calibrate(logit, m.calibration);
  const threshold = m.thresholds.clinical.value;
  const content: ArchivedContent = {
    source,
    score,
    logit,
    threshold,
    decision: score >= threshold ? 'above' : 'below',
    calibration: { method: m.calibration.selected, version: m.calibration.version },
    model: { id: m.model.id, version: m.model.version, sha256: DEMO_SHA, deviceUID: m.model.device_uid as string },
    observedAt,
  };
  const key = { sopInstanceUID: source.sopInstanceUID, modelSha256: DEMO_SHA, calibrationVersion: m.calibration.version };
  const uids = await resultUids(source.studyInstanceUID, key, revision);
  return { content, srSopInstanceUID: uids.srInstance, srSeriesInstanceUID: uids.srSeries };
}

function planted(found: FoundResult, change: Partial<ArchivedContent>, sop = found.srSopInstanceUID): FoundResult {
  return { ...found, srSopInstanceUID: sop, content: { ...found.content, ...change } };
}

describe('unverifiedReason', () => {
  it('passes a result ChestAid wrote, under its usual UIDs or a later revision of them', async () => {
    expect(await unverifiedReason((await trueResult(2.5)).content, (await trueResult(2.5)).srSopInstanceUID, context)).toBeNull();
    const rewritten = await trueResult(2.5, { revision: 3 });
    expect(await unverifiedReason(rewritten.content, rewritten.srSopInstanceUID, context)).toBeNull();
  });

  it('names a score that is not the calibration of the stored logit', async () => {
    const truth = await trueResult(2.5);
    const reason = await unverifiedReason({ ...truth.content, score: truth.content.score - 1e-4 }, truth.srSopInstanceUID, context);
    expect(reason).toMatch(/^score .* is not calibration 1 of its logit 2\.5/);
  });

  it('accepts a score within 1e-6 of the calibration (the FD round trip), not beyond', async () => {
    const truth = await trueResult(0.3);
    expect(await unverifiedReason({ ...truth.content, score: truth.content.score + 5e-7 }, truth.srSopInstanceUID, context)).toBeNull();
    expect(await unverifiedReason({ ...truth.content, score: truth.content.score + 2e-6 }, truth.srSopInstanceUID, context)).toMatch(/^score/);
  });

  it('names a decision that contradicts the score and the threshold', async () => {
    const truth = await trueResult(2.5);
    expect(truth.content.decision).toBe('above');
    const reason = await unverifiedReason({ ...truth.content, decision: 'below' }, truth.srSopInstanceUID, context);
    expect(reason).toMatch(/^decision "below" contradicts score .* \("above"\)$/);
  });

  it("names a threshold that is not the calibration's clinical one (a planted 'below' by moving the bar)", async () => {
    const truth = await trueResult(2.5);
    const reason = await unverifiedReason({ ...truth.content, threshold: 0.999, decision: 'below' }, truth.srSopInstanceUID, context);
    expect(reason).toMatch(/^threshold 0\.999 is not calibration 1's clinical threshold/);
  });

  it('names a foreign SOP Instance UID', async () => {
    const truth = await trueResult(2.5);
    expect(await unverifiedReason(truth.content, '1.2.3.4.5', context)).toMatch(/SOP Instance UID 1\.2\.3\.4\.5 is not one ChestAid derives for image 1\.2\.1\.1\.1/);
  });

  it("names another device's UID", async () => {
    const truth = await trueResult(2.5);
    const reason = await unverifiedReason({ ...truth.content, model: { ...truth.content.model, deviceUID: '2.25.42' } }, truth.srSopInstanceUID, context);
    expect(reason).toBe(`device UID 2.25.42 is not this model's (${manifest.model.device_uid})`);
  });

  it("names other model bytes than the reader's", async () => {
    const truth = await trueResult(2.5);
    const reason = await unverifiedReason({ ...truth.content, model: { ...truth.content.model, sha256: 'b'.repeat(64) } }, truth.srSopInstanceUID, context);
    expect(reason).toBe(`made by model sha256 ${'b'.repeat(12)}…, not the model loaded here (${DEMO_SHA.slice(0, 12)}…)`);
  });

  it('names a calibration this site does not hold, such as a bare version name', async () => {
    const truth = await trueResult(2.5);
    const reason = await unverifiedReason({ ...truth.content, calibration: { ...truth.content.calibration, version: '1' } }, truth.srSopInstanceUID, context);
    expect(reason).toBe('calibration "1" is not one this site holds');
  });

  it('verifies nothing without a model to check against', async () => {
    const truth = await trueResult(2.5);
    expect(await unverifiedReason(truth.content, truth.srSopInstanceUID, null)).toBe('no model is loaded to check it against');
  });
});

describe('judgeResults', () => {
  it('shows a planted SR dated 1900 saying "below" as unverified, and the true result as verified beside it', async () => {
    const truth = await trueResult(2.5);
    const fake = planted(truth, { score: 0.01, decision: 'below', observedAt: '1900-01-01T00:00:00.000Z' }, '1.2.9.9');
    // Alone, the planted SR is an unverified result with its reason, never a score.
    const [alone] = await judgeResults([fake], context);
    expect(alone.verdict).toEqual({ status: 'unverified', reason: expect.stringMatching(/^its SOP Instance UID 1\.2\.9\.9 is not one ChestAid derives/) });
    // Beside the true result (whatever the order), the true one is the result; the date decides nothing.
    for (const found of [[fake, truth], [truth, fake]]) {
      const judged = await judgeResults(found, context);
      expect(judged).toHaveLength(1);
      expect(judged[0].verdict).toEqual({ status: 'verified' });
      expect(judged[0].srSopInstanceUID).toBe(truth.srSopInstanceUID);
    }
  });

  it('calls two verified results of the same key that disagree a conflict, not the earliest', async () => {
    const high = await trueResult(2.5, { observedAt: '2026-11-26T10:00:00.000Z' });
    const low = await trueResult(-3, { revision: 1, observedAt: '1900-01-01T00:00:00.000Z' });
    const judged = await judgeResults([low, high], context);
    expect(judged).toHaveLength(1);
    expect(judged[0].verdict.status).toBe('conflict');
    expect(judged[0].verdict.status === 'conflict' && judged[0].verdict.reason).toMatch(/^2 verified ChestAid results of this image disagree: .*\(above\).*\(below\)|.*\(below\).*\(above\)/);
  });

  it('takes verified results that agree (two backends, two revisions) as one, the same for every reader', async () => {
    const a = await trueResult(2.5);
    const b = await trueResult(2.5 + 1e-6, { revision: 1 });
    const first = await judgeResults([a, b], context);
    const second = await judgeResults([b, a], context);
    expect(first).toHaveLength(1);
    expect(first[0].verdict).toEqual({ status: 'verified' });
    expect(second[0].srSopInstanceUID).toBe(first[0].srSopInstanceUID);
  });

  it('gives each unverified SR its reason when a key has several', async () => {
    const truth = await trueResult(2.5);
    const judged = await judgeResults([planted(truth, { score: 0.5 }), planted(truth, { decision: 'below' }, '1.2.9.9')], context);
    expect(judged).toHaveLength(1);
    expect(judged[0].verdict.status).toBe('unverified');
    const reason = judged[0].verdict.status === 'unverified' ? judged[0].verdict.reason : '';
    expect(reason).toContain('1.2.9.9: its SOP Instance UID');
    expect(reason).toContain(`${truth.srSopInstanceUID}: score 0.5 is not calibration 1`);
  });
});

describe('a site calibration', () => {
  it('verifies against the overlay the identity names, and two different site-1 never verify for each other', async () => {
    const base = demoManifest();
    const siteA = await withCalibrationIdentity(applyOverlay(base, parseOverlay(overlayJson())));
    const siteB = await withCalibrationIdentity(applyOverlay(base, parseOverlay(overlayJson({ created: { by: 'Dr Other', at: '2026-11-27T09:00:00Z' } }))));
    expect(siteA.calibration.version).not.toBe(siteB.calibration.version);
    const onlyA: VerifyContext = { ...context, calibrationOf: id => (id === siteA.calibration.version ? siteA : null) };
    const fromA = await trueResult(1.2, { m: siteA });
    const fromB = await trueResult(1.2, { m: siteB });
    expect(await unverifiedReason(fromA.content, fromA.srSopInstanceUID, onlyA)).toBeNull();
    expect(await unverifiedReason(fromB.content, fromB.srSopInstanceUID, onlyA)).toMatch(/^calibration "site-1\+sha256:[0-9a-f]{64}" is not one this site holds$/);
    expect(fromA.srSopInstanceUID).not.toBe(fromB.srSopInstanceUID);
  });
});
