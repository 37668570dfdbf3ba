// The triage worker against SRs planted in a real Orthanc (issue 15): one SR under the very UID the
// worker derives for an image (Orthanc keeps that first instance: OverwriteInstances false), dated
// 1900 and saying "below threshold", and one under a foreign UID for another image. The worker
// logs both as unverified with their reasons, writes its true result for each image (under the
// next revision of the UIDs where the planted SR holds the usual one), and the viewer-side store
// then shows the true results verified and the planted ones nowhere as a score.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';

import { demoPacs, MANIFEST, of, radiographs, requireBuilt, runWorker } from './workerHarness.mjs';

const core = requireBuilt('@chestaid/core');

describe('a worker on a PACS holding planted result SRs', () => {
  const demo = demoPacs();

  test('writes the true results, logs the planted SRs as unverified, and readers see only the true scores', async () => {
    const { client } = demo.pacs;
    // The worker's calibration: the manifest's own (the harness gives it an empty calibration dir).
    const manifest = await core.withCalibrationIdentity(core.parseManifest(JSON.parse(readFileSync(MANIFEST, 'utf8'))));
    const sha = manifest.onnx.sha256;
    const [a, b] = await radiographs(client);
    const keyOf = image => ({ sopInstanceUID: image.sop, modelSha256: sha, calibrationVersion: manifest.calibration.version });

    const plant = async (image, uids, change) => {
      const header = await client.retrieveInstanceMetadata(image.study, image.series, image.sop);
      const threshold = manifest.thresholds.clinical.value;
      const built = core.buildResultSr({
        source: header,
        score: 0.001,
        logit: -9,
        threshold,
        decision: 0.001 >= threshold ? 'above' : 'below',
        calibration: { method: manifest.calibration.selected, version: manifest.calibration.version },
        model: { id: manifest.model.id, version: manifest.model.version, sha256: sha, deviceUID: manifest.model.device_uid },
        observedAt: '1900-01-01T00:00:00.000Z',
        trainedOnSyntheticData: true,
        seriesInstanceUID: uids.srSeries,
        sopInstanceUID: uids.srInstance,
        ...change,
      });
      await client.store([built.part10], image.study);
      return built.sopInstanceUID;
    };
    // On a: the derived UID itself, with a score that is not the calibration of its logit.
    const onA = await plant(a, await core.resultUids(a.study, keyOf(a)), { logit: 3 });
    // On b: a foreign UID, content otherwise consistent (a logit of -9 is a low score).
    const low = core.calibrate(-9, manifest.calibration);
    const onB = await plant(b, { srSeries: '1.2.826.0.1.3680043.8.498.77', srInstance: '1.2.826.0.1.3680043.8.498.78' }, { score: low });

    const run = await runWorker(['--pacs', demo.pacs.dicomWebUrl, '--once']);
    assert.equal(run.code, 0, run.stderr);
    const unverified = of(run.events, 'unverified-result');
    assert.ok(unverified.some(e => e.sr === onA && /^score 0\.001 is not calibration 1 of its logit 3/.test(e.reason)), JSON.stringify(unverified));
    assert.ok(unverified.some(e => e.sr === onB && /SOP Instance UID 1\.2\.826\.0\.1\.3680043\.8\.498\.78 is not one ChestAid derives/.test(e.reason)), JSON.stringify(unverified));
    assert.ok(of(run.events, 'rewrite').some(e => e.sop === a.sop && e.revision === 1));

    // The viewer-side store (PacsResults with the dicom codec), verifying as the panel does.
    const trust = { modelSha256: sha, deviceUID: manifest.model.device_uid, calibrationOf: id => (id === manifest.calibration.version ? manifest : null) };
    const results = new core.PacsResults({ client, codec: core.dicomCodec, trust: () => trust });
    for (const [image, revision] of [
      [a, 1],
      [b, 0],
    ]) {
      const found = await results.find({ studyInstanceUID: image.study, sopInstanceUID: image.sop }, keyOf(image));
      assert.deepEqual(found.verdict, { status: 'verified' }, `image ${image.sop}`);
      assert.equal(found.srSopInstanceUID, (await core.resultUids(image.study, keyOf(image), revision)).srInstance);
      assert.notEqual(found.content.observedAt, '1900-01-01T00:00:00.000Z');
    }

    // A second pass finds its own results verified and writes nothing more.
    const again = await runWorker(['--pacs', demo.pacs.dicomWebUrl, '--once']);
    assert.equal(of(again.events, 'stored').length, 0);
  });
});
