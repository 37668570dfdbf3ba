import { calibrationOfSoftwareVersions, softwareVersions } from '../dicom/srDocument';
import { resultKeyText, resultUids } from '../dicom/resultUids';
import { DEMO_SHA, demoManifest, overlayJson } from '../testing';
import { calibrationIdentity, calibrationName, isCalibrationIdentity, withCalibrationIdentity } from './identity';
import { SiteCalibrationLog } from './log';
import { EMPTY_HEAD } from './chain';
import { MemorySiteCalibrationStore } from './memoryStores';
import { calibrationLabel, calibrationOrigin } from './overlay';

const IDENTITY = /^1\+sha256:[0-9a-f]{64}$/;

/** A log of its own holding one accepted "site-1" overlay; its manifest in use, as the viewer and the worker stamp it. */
async function siteOne(overrides: Record<string, unknown>) {
  const log = new SiteCalibrationLog({ store: new MemorySiteCalibrationStore(), manifest: demoManifest(), clock: () => new Date('2026-11-26T12:00:00Z') });
  await log.accept(overlayJson(overrides), { actor: 'Dr A', expectedHead: EMPTY_HEAD });
  return withCalibrationIdentity((await log.manifestOf()).manifest);
}

describe('calibration identity', () => {
  it("names the manifest's calibration by its version and a sha256, the same every time", async () => {
    const identity = await calibrationIdentity(demoManifest());
    expect(identity).toMatch(IDENTITY);
    expect(await calibrationIdentity(demoManifest())).toBe(identity);
    expect(calibrationName(identity)).toBe('1');
    expect(isCalibrationIdentity(identity)).toBe(true);
    expect(isCalibrationIdentity('site-1')).toBe(false);
  });

  it('is stamped on the manifest in use once; stamping again changes nothing', async () => {
    const stamped = await withCalibrationIdentity(demoManifest());
    expect(stamped.calibration.version).toMatch(IDENTITY);
    expect(await withCalibrationIdentity(stamped)).toBe(stamped);
    expect(demoManifest().calibration.version).toBe('1');
    // People still read the name.
    expect(calibrationLabel(calibrationOrigin(stamped))).toMatch(/^calibration v1 \(training/);
  });

  it('changes with the clinical threshold, which the decision depends on', async () => {
    const base = demoManifest();
    const moved = { ...base, thresholds: { ...base.thresholds, clinical: { ...base.thresholds.clinical, value: base.thresholds.clinical.value + 0.01 } } };
    expect(await calibrationIdentity(moved)).not.toBe(await calibrationIdentity(base));
  });

  it('gives two logs that both hold a different "site-1" two identities, two result keys and two sets of UIDs', async () => {
    const a = await siteOne({});
    const b = await siteOne({ calibration: { input: 'logit', method: 'temperature', params: { temperature: 1.7 }, selection: { metric: 'ece', n_bins: 15, binning: 'equal-width', validation: 'held-out 30 %' } } });
    // Even the same fit, accepted by another person at another time, is another calibration.
    const c = await siteOne({ created: { by: 'Dr Other', at: '2026-11-27T08:00:00Z' } });
    const versions = [a, b, c].map(m => m.calibration.version);
    for (const version of versions) expect(version).toMatch(/^site-1\+sha256:[0-9a-f]{64}$/);
    expect(new Set(versions).size).toBe(3);
    const keys = versions.map(calibrationVersion => ({ sopInstanceUID: '1.2.3.4', modelSha256: DEMO_SHA, calibrationVersion }));
    expect(new Set(keys.map(resultKeyText)).size).toBe(3);
    const uids = await Promise.all(keys.map(key => resultUids('1.2.3', key)));
    expect(new Set(uids.map(u => u.srInstance)).size).toBe(3);
    expect(new Set(uids.map(u => u.mapInstance)).size).toBe(3);
  });

  it('fits the SR and map headers: SoftwareVersions splits it into LO-sized values and reads it back whole', async () => {
    const identity = (await siteOne({})).calibration.version;
    const values = softwareVersions({ modelId: 'chestaid-demo', modelVersion: '1', sha256: DEMO_SHA, calibrationVersion: identity, deviceUID: '2.25.1' });
    for (const value of values) expect(value.length).toBeLessThanOrEqual(64);
    expect(values.slice(2)).toEqual(['calibration site-1', identity.slice('site-1+sha256:'.length)]);
    expect(calibrationOfSoftwareVersions(values)).toBe(identity);
    expect(calibrationOfSoftwareVersions(['1', DEMO_SHA, 'calibration 3'])).toBe('3');
  });
});
