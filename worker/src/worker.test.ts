import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import {
  buildResultSr,
  type Classifier,
  HEATMAP_SERIES_DESCRIPTION,
  PacsUnreachable,
  parseManifest,
  RESULT_SR_SERIES_DESCRIPTION,
  StowError,
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

  it('skips an image whose result another writer already stored, with other UIDs', async () => {
    const { pacs, logger, worker } = setUp();
    const source = pacs.instances[0];
    const other = buildResultSr({
      source: source.bytes,
      score: 0.9,
      logit: 2,
      threshold: manifest.thresholds.clinical.value,
      decision: 0.9 >= manifest.thresholds.clinical.value ? 'above' : 'below',
      calibration: { method: 'isotonic', version: manifest.calibration.version },
      model: { id: manifest.model.id, version: manifest.model.version, sha256: SHA, deviceUID: manifest.model.device_uid! },
      observedAt: new Date().toISOString(),
      trainedOnSyntheticData: true,
    });
    pacs.add(other.part10);
    const pass = await worker.runPass();
    expect(pass.scored).toBe(0);
    expect(pacs.calls).not.toContain('store');
    expect(named(logger, 'skipped')[0].reason).toMatch(/already in the PACS/);
  });

  it('ends the pass without charging the image when the PACS does not answer, and scores it once it does', async () => {
    const { pacs, state, worker, logger } = setUp();
    pacs.fail.retrieveInstance = () => new PacsUnreachable('http://pacs/x', new Error('ECONNREFUSED'));
    const cut = await worker.runPass();
    expect(cut.completed).toBe(false);
    expect(worker.pacsDownSince).not.toBeNull();
    expect(state.data.failures).toEqual({});
    expect(named(logger, 'pacs-unreachable')).toHaveLength(1);

    delete pacs.fail.retrieveInstance;
    expect((await worker.runPass()).scored).toBe(1);
    expect(worker.pacsDownSince).toBeNull();
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
      expect(worker.counts).toMatchObject({ refused: 1, failed: 0, deadLettered: 0 });
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
