import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import {
  buildResultSr,
  calibrate,
  type Classifier,
  HEATMAP_SERIES_DESCRIPTION,
  PacsHttpError,
  PacsUnreachable,
  parseManifest,
  RESULT_SR_SERIES_DESCRIPTION,
  readResultSr,
  resultUids,
  StowError,
  withCalibrationIdentity,
} from '@chestaid/core';
import { dcmjs } from './dcmjs';
import type { Logger, LogFields } from './log';
import { WorkerState } from './state';
import { bufferOf, FakePacs, ROOT } from './testing/fakePacs';
import { TriageWorker } from './worker';

const manifest = parseManifest(JSON.parse(readFileSync(resolve(ROOT, 'models/chestaid-demo/manifest.json'), 'utf8')));
const SHA = manifest.onnx.sha256;

/** Same answer for every image: the loop, not the model, is under test. */
const classifier: Classifier = {
  async run() {
    return { logit: 2, cam: new Float32Array(49).fill(0.5), camDims: [7, 7] };
  },
};

function recorder(): Logger & { events: (LogFields & { event: string })[] } {
  const events: (LogFields & { event: string })[] = [];
  return { events, log: (_level, event, fields = {}) => events.push({ event, ...fields }) };
}

function setUp(files = ['study-01.dcm']) {
  const pacs = new FakePacs();
  for (const f of files) pacs.add(bufferOf(resolve(ROOT, 'test/demo-studies/dicom', f)));
  const logger = recorder();
  const state = WorkerState.memory();
  const worker = new TriageWorker({ pacs, model: { manifest, sha256: SHA, classifier }, logger, state, maxAttempts: 3 });
  return { pacs, logger, state, worker };
}

const named = (logger: ReturnType<typeof recorder>, event: string) => logger.events.filter(e => e.event === event);

describe('TriageWorker', () => {
  it('stores the heatmap, then the SR, once per image; the next pass writes nothing, and the one after asks nothing of the study', async () => {
    const { pacs, worker } = setUp();
    expect((await worker.runPass()).scored).toBe(1);
    expect(pacs.instances.map(i => i.description).slice(1)).toEqual([HEATMAP_SERIES_DESCRIPTION, RESULT_SR_SERIES_DESCRIPTION]);

    pacs.calls.length = 0;
    const second = await worker.runPass();
    expect(second).toMatchObject({ completed: true, scored: 0, skipped: 1, failed: 0 });
    expect(pacs.calls).not.toContain('store');

    pacs.calls.length = 0;
    await worker.runPass();
    expect(pacs.calls).toEqual(['searchStudies']);
  });

  /** The SR ChestAid writes for the demo image (logit 2) under `uids`, with `change` applied: planted when it changes anything. */
  async function resultSr(pacs: FakePacs, change: Partial<Parameters<typeof buildResultSr>[0]> = {}, revision = 0) {
    const stamped = await withCalibrationIdentity(manifest);
    const source = pacs.instances[0];
    const score = calibrate(2, stamped.calibration);
    const threshold = stamped.thresholds.clinical.value;
    const key = { sopInstanceUID: source.sop, modelSha256: SHA, calibrationVersion: stamped.calibration.version };
    const uids = await resultUids(source.study, key, revision);
    return buildResultSr({
      source: source.bytes,
      score,
      logit: 2,
      threshold,
      decision: score >= threshold ? 'above' : 'below',
      calibration: { method: stamped.calibration.selected, version: stamped.calibration.version },
      model: { id: manifest.model.id, version: manifest.model.version, sha256: SHA, deviceUID: manifest.model.device_uid! },
      observedAt: '2026-11-26T10:00:00.000Z',
      trainedOnSyntheticData: true,
      seriesInstanceUID: uids.srSeries,
      sopInstanceUID: uids.srInstance,
      ...change,
    });
  }

  /** The SRs in the PACS that verify as the worker's own result for the demo image. */
  const results = (pacs: FakePacs) => pacs.instances.filter(i => i.description === RESULT_SR_SERIES_DESCRIPTION).map(i => ({ sop: i.sop, content: readResultSr(i.bytes) }));

  it('skips an image whose true result another writer already stored (another worker, a viewer)', async () => {
    const { pacs, logger, worker } = setUp();
    pacs.add((await resultSr(pacs)).part10);
    const pass = await worker.runPass();
    expect(pass.scored).toBe(0);
    expect(pacs.calls).not.toContain('store');
    expect(named(logger, 'skipped')[0].reason).toMatch(/already in the PACS/);
  });

  it.each([
    ['an earlier date and a contradicting score', { score: 0.01, decision: 'below' as const, observedAt: '1900-01-01T00:00:00.000Z' }, /^score 0\.01 is not calibration 1 of its logit 2/],
    ['a foreign SOP Instance UID', { sopInstanceUID: '1.2.826.0.1.3680043.8.498.1', seriesInstanceUID: '1.2.826.0.1.3680043.8.498.2' }, /SOP Instance UID 1\.2\.826\.0\.1\.3680043\.8\.498\.1 is not one ChestAid derives/],
    ['another device', { model: { id: manifest.model.id, version: manifest.model.version, sha256: SHA, deviceUID: '2.25.42' } }, /^device UID 2\.25\.42 is not this model's/],
    ['other model bytes', { model: { id: manifest.model.id, version: manifest.model.version, sha256: 'b'.repeat(64), deviceUID: manifest.model.device_uid! } }, /^made by model sha256 bbbbbbbbbbbb…/],
    ['a bare calibration version', { calibration: { method: manifest.calibration.selected, version: '1' } }, /^calibration "1" is not one this site holds$/],
  ])('writes its true result when the only SR of the image is planted with %s, and logs why that one is unverified', async (_what, change, reason) => {
    const { pacs, logger, worker } = setUp();
    // Under the derived UIDs unless the plant names its own: then the worker takes the next revision.
    pacs.add((await resultSr(pacs, change)).part10);
    expect((await worker.runPass()).scored).toBe(1);
    expect(named(logger, 'unverified-result')[0].reason).toMatch(reason);
    const truth = await resultSr(pacs, {}, 'sopInstanceUID' in change ? 0 : 1);
    const written = results(pacs).find(r => r.sop === truth.sopInstanceUID);
    expect(written?.content.score).toBe(readResultSr(truth.part10).score);
    // The next pass finds its own result verified and writes nothing.
    pacs.calls.length = 0;
    expect((await worker.runPass()).scored).toBe(0);
    expect(pacs.calls).not.toContain('store');
  });

  it('counts the UIDs of an SR planted under the derived series with another description as taken', async () => {
    const { pacs, worker } = setUp();
    const planted = await resultSr(pacs, { score: 0.01, decision: 'below' });
    pacs.add(planted.part10);
    // The series' description is the first instance's: the planted one hides ChestAid's series.
    (pacs.instances[1] as { description: string }).description = 'Something else';
    expect((await worker.runPass()).scored).toBe(1);
    const revised = await resultSr(pacs, {}, 1);
    expect(pacs.instances.some(i => i.sop === revised.sopInstanceUID)).toBe(true);
    expect((await worker.runPass()).scored).toBe(0);
  });

  it('writes under the next revision of the UIDs when a planted SR occupies the derived one (the PACS keeps the first instance)', async () => {
    const { pacs, logger, worker } = setUp();
    const planted = await resultSr(pacs, { score: 0.01, decision: 'below', observedAt: '1900-01-01T00:00:00.000Z' });
    pacs.add(planted.part10);
    expect((await worker.runPass()).scored).toBe(1);
    expect(named(logger, 'rewrite')[0]).toMatchObject({ revision: 1 });
    const revised = await resultSr(pacs, {}, 1);
    expect(results(pacs).map(r => r.sop).sort()).toEqual([planted.sopInstanceUID, revised.sopInstanceUID].sort());
    expect(results(pacs).find(r => r.sop === planted.sopInstanceUID)?.content.score).toBe(0.01);
    pacs.calls.length = 0;
    expect((await worker.runPass()).scored).toBe(0);
    expect(pacs.calls).not.toContain('store');
  });

  it('ends the pass without charging the image when the PACS does not answer, and scores it once it does', async () => {
    const { pacs, state, worker, logger } = setUp();
    pacs.fail.retrieveInstance = () => new PacsUnreachable('http://pacs/x', new Error('ECONNREFUSED'));
    const cut = await worker.runPass();
    expect(cut.completed).toBe(false);
    expect(worker.scoring.pacsDownSince).not.toBeNull();
    expect(state.data.failures).toEqual({});
    expect(named(logger, 'pacs-unreachable')).toHaveLength(1);

    delete pacs.fail.retrieveInstance;
    expect((await worker.runPass()).scored).toBe(1);
    expect(worker.scoring.pacsDownSince).toBeNull();
  });

  it('charges no image when the PACS refuses the worker\'s credentials (401, on a read or a write), and says what to give', async () => {
    for (const call of ['retrieveInstanceMetadata', 'store'] as const) {
      const { pacs, state, worker, logger } = setUp();
      pacs.fail[call] = () =>
        call === 'store' ? new StowError('http://pacs/studies', 401, [], []) : new PacsHttpError('http://pacs/x', 401, 'Unauthorized');
      const cut = await worker.runPass();
      expect(cut.completed).toBe(false);
      expect(state.data.failures).toEqual({});
      expect(state.data.deadLetter).toEqual({});
      expect(named(logger, 'pacs-unreachable')).toEqual([expect.objectContaining({ kind: 'pacs-credentials-refused', hint: expect.stringContaining('--pacs-auth-file') })]);
      delete pacs.fail[call];
      expect((await worker.runPass()).scored).toBe(1);
    }
  });

  it('charges the image a 403: a PACS may deny one study to a worker it lets read the others', async () => {
    const { pacs, state, worker } = setUp();
    pacs.fail.retrieveInstanceMetadata = () => new PacsHttpError('http://pacs/x', 403, 'Forbidden');
    expect((await worker.runPass()).failed).toBe(1);
    expect(Object.values(state.data.failures)).toEqual([expect.objectContaining({ attempts: 1 })]);
  });

  it('retries a refused write on later passes, then dead-letters it and stops trying', async () => {
    const { pacs, state, worker, logger } = setUp();
    pacs.fail.store = () => new StowError('http://pacs/studies', 409, [{ sopInstanceUID: '1.2.3', failureReason: 0xa700 }], []);
    for (const attempt of [1, 2]) {
      expect((await worker.runPass()).failed).toBe(1);
      expect(Object.values(state.data.failures)[0].attempts).toBe(attempt);
    }
    await worker.runPass();
    expect(state.data.failures).toEqual({});
    expect(Object.values(state.data.deadLetter)).toEqual([expect.objectContaining({ attempts: 3, permanent: false })]);
    expect(named(logger, 'failed').map(e => e.willRetry)).toEqual([true, true, false]);

    pacs.calls.length = 0;
    const after = await worker.runPass();
    expect(after.failed).toBe(0);
    expect(pacs.calls).not.toContain('store');
  });

  it('dead-letters an image the core refuses at once, and goes on with the others', async () => {
    const { pacs, state, worker, logger } = setUp(['study-01.dcm', 'study-02.dcm']);
    const bad = pacs.instances[0];
    const ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dcmjs.data.DicomMessage.readFile(bad.bytes).dict);
    const message = dcmjs.data.DicomMessage.readFile(bad.bytes) as unknown as { meta: Record<string, unknown> };
    const dict = new dcmjs.data.DicomDict(message.meta);
    dict.dict = dcmjs.data.DicomMetaDictionary.denaturalizeDataset({ ...ds, PhotometricInterpretation: 'RGB' });
    pacs.instances[0] = { ...bad, bytes: dict.write() };

    const pass = await worker.runPass();
    expect(pass).toMatchObject({ scored: 1, failed: 1 });
    expect(named(logger, 'failed')[0]).toMatchObject({ kind: 'bad-image', willRetry: false, stage: 'score' });
    expect(named(logger, 'failed')[0].error).toMatch(/PhotometricInterpretation "RGB"/);
    expect(Object.values(state.data.deadLetter)[0]).toMatchObject({ sopInstanceUID: bad.sop, attempts: 1, permanent: true });
  });

  it('asks the PACS for Explicit VR Little Endian, and for the image as stored when the PACS cannot transcode (406)', async () => {
    const transcoding = setUp();
    expect((await transcoding.worker.runPass()).scored).toBe(1);
    expect(transcoding.pacs.asked).toEqual(['1.2.840.10008.1.2.1']);
    const plain = setUp();
    plain.pacs.transcodes = false;
    expect((await plain.worker.runPass()).scored).toBe(1);
    expect(plain.pacs.asked).toEqual(['1.2.840.10008.1.2.1', '*']);
  });

  it('asks for the image as stored when the PACS fails to transcode it (Orthanc: 500), saying so', async () => {
    const { worker, pacs, logger } = setUp();
    pacs.transcodes = false;
    pacs.refusal = 500;
    expect((await worker.runPass()).scored).toBe(1);
    expect(pacs.asked).toEqual(['1.2.840.10008.1.2.1', '*']);
    expect(named(logger, 'not-transcoded')[0]).toMatchObject({ status: 500 });
  });

  describe('an image the model card excludes', () => {
    /** The first instance of `pacs` with its header patched, as Part 10 bytes. */
    function retag(pacs: FakePacs, patch: Record<string, unknown>): void {
      const source = pacs.instances[0];
      const ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dcmjs.data.DicomMessage.readFile(source.bytes).dict);
      const message = dcmjs.data.DicomMessage.readFile(source.bytes) as unknown as { meta: Record<string, unknown> };
      const dict = new dcmjs.data.DicomDict(message.meta);
      dict.dict = dcmjs.data.DicomMetaDictionary.denaturalizeDataset({ ...ds, ...patch });
      pacs.instances[0] = { ...source, bytes: dict.write() };
    }

    it.each([
      ['a lateral view', { ViewPosition: 'LL' }, 'non-frontal-view', /a LL view; the model reads frontal chest radiographs/],
      ['a FOR PROCESSING image', { PresentationIntentType: 'FOR PROCESSING' }, 'for-processing', /FOR PROCESSING/],
      ["a child's study", { PatientAge: '006M' }, 'age-out-of-range', /6 months \(PatientAge 006M\), is outside the model's intended use/],
      ['a cervical spine', { BodyPartExamined: 'CSPINE' }, 'not-chest', /BodyPartExamined is CSPINE/],
    ])('records %s as not analyzed with its reason: no score, no SR, no failure, no retry', async (_name, patch, code, reason) => {
      const { pacs, state, worker, logger } = setUp(['study-01.dcm', 'study-02.dcm']);
      retag(pacs, patch);
      const refusedSop = pacs.instances[0].sop;

      const pass = await worker.runPass();
      expect(pass).toMatchObject({ completed: true, scored: 1, failed: 0, refused: 1 });
      const [entry] = Object.values(state.data.refused);
      expect(entry).toMatchObject({ sopInstanceUID: refusedSop, code, reason: expect.stringMatching(reason) });
      expect(state.data.failures).toEqual({});
      expect(state.data.deadLetter).toEqual({});
      expect(named(logger, 'not-analyzed')).toEqual([expect.objectContaining({ sop: refusedSop, code, reason: entry.reason })]);
      expect(named(logger, 'scored').map(e => e.sop)).not.toContain(refusedSop);
      // One SR and one heatmap: the other image's.
      const written = pacs.instances.filter(i => i.description === RESULT_SR_SERIES_DESCRIPTION || i.description === HEATMAP_SERIES_DESCRIPTION);
      expect(written).toHaveLength(2);
      expect(written.every(i => i.study !== pacs.instances[0].study)).toBe(true);

      pacs.calls.length = 0;
      const again = await worker.runPass();
      expect(again).toMatchObject({ scored: 0, refused: 0, failed: 0 });
      expect(pacs.calls).not.toContain('retrieveInstance');
      expect(worker.scoring.counts).toMatchObject({ refused: 1, failed: 0, deadLettered: 0 });
    });

    it('skips a remembered refusal by its reason when the study is examined again', async () => {
      const { pacs, state, worker, logger } = setUp();
      retag(pacs, { ViewPosition: 'LATERAL' });
      await worker.runPass();
      state.data.studies = {}; // a restart without the study memo, the refusal kept in the state file
      pacs.calls.length = 0;
      await worker.runPass();
      expect(pacs.calls).not.toContain('retrieveInstance');
      expect(named(logger, 'skipped').at(-1)?.reason).toMatch(/^not analyzed: a LATERAL view/);
    });
  });
});
