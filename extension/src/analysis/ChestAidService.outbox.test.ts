/**
 * ChestAidService with a feedback book whose outbox sends to a PACS that is down, then back: the
 * reader's label shows where it stands (pending with the reason, then sent, without a click), the
 * outbox summary reaches the state, a refusal can be sent again, and the storage answer is kept.
 */
import {
  type Analysis,
  calibrate,
  EMPTY_OUTBOX,
  FeedbackBook,
  FeedbackOutbox,
  type FeedbackSink,
  MemoryFeedbackStore,
  type StoredFeedback,
} from '@chestaid/core';
import { demoManifestJson } from '@chestaid/core/testing';
import { resultKey } from '../inference';
import { ChestAidService } from './ChestAidService';
import type { AnalysisOutcome, AnalysisTarget, Analyzer } from './types';

const target: AnalysisTarget = {
  viewportId: 'default',
  displaySetInstanceUID: 'ds-1',
  imageId: 'dicomweb:/demo/1.dcm',
  sopInstanceUID: '2.25.1.1',
  modality: 'CR',
  studyInstanceUID: '2.25.1',
  seriesInstanceUID: '2.25.1.0',
};

const analyzer: Analyzer = {
  modelSha256: manifest => manifest.onnx.sha256,
  analyze: async (t, manifest) => {
    const probability = calibrate(1.3, manifest.calibration);
    return {
      key: resultKey(t.sopInstanceUID, manifest.onnx.sha256),
      analysis: {
        logit: 1.3,
        probability,
        calibrationMethod: manifest.calibration.selected,
        calibrationVersion: manifest.calibration.version,
        decision: { probability, threshold: manifest.thresholds.clinical.value, above: probability >= manifest.thresholds.clinical.value },
      } as unknown as Analysis,
      run: { backend: 'wasm', threads: 2, reason: 'test', totalMs: 1, runMs: 1 },
    } satisfies AnalysisOutcome;
  },
};

function pacs() {
  const received: StoredFeedback[] = [];
  const sink: FeedbackSink & { mode: 'up' | 'down' | 'refuse' } = {
    mode: 'down',
    wants: () => true,
    async send(entry) {
      if (this.mode === 'down') throw Object.assign(new Error('PACS unreachable: /pacs/dicom-web (fetch failed)'), { retryable: true });
      if (this.mode === 'refuse') throw Object.assign(new Error('no reader name is configured'), { retryable: false });
      received.push(entry);
    },
  };
  return { sink, received };
}

const settle = () => new Promise(resolve => setTimeout(resolve, 10));

async function setup() {
  const store = new MemoryFeedbackStore();
  const { sink, received } = pacs();
  const outbox = new FeedbackOutbox({ store, sink });
  const service = new ChestAidService({ fetchJson: async () => demoManifestJson(), storage: null });
  outbox.subscribe(summary => service.setOutbox(summary));
  await service.configure({ analyzer, feedbackBook: new FeedbackBook({ store, outbox }), reader: 'Doe^Jane' });
  await service.loadManifest('/models/chestaid-demo/manifest.json');
  service.setStudyModalities(['CR']);
  service.setActiveImage(target);
  await service.analyze(target);
  return { service, outbox, sink, received };
}

describe('ChestAidService and the feedback outbox', () => {
  it("shows the label pending while the PACS is down, then sent once the outbox delivers it, with no second recording", async () => {
    const { service, outbox, sink, received } = await setup();
    await service.recordFeedback('pneumonia');
    expect(service.getState().feedback).toMatchObject({
      status: 'saved',
      message: null,
      mine: { label: 'pneumonia' },
      delivery: { state: 'pending', attempts: 1, lastError: 'PACS unreachable: /pacs/dicom-web (fetch failed)' },
    });
    expect(service.getState().outbox).toMatchObject({ pending: 1 });
    sink.mode = 'up';
    await outbox.flush({ all: true });
    await settle();
    expect(received).toHaveLength(1);
    expect(service.getState().feedback.delivery).toMatchObject({ state: 'sent', sentAt: expect.any(String) });
    expect(service.getState().outbox).toMatchObject({ pending: 0, sent: 1, lastSentAt: expect.any(String) });
  });

  it('keeps a refusal with its reason and sends it again when asked', async () => {
    const { service, sink, received } = await setup();
    sink.mode = 'refuse';
    await service.recordFeedback('normal');
    expect(service.getState().feedback.delivery).toMatchObject({ state: 'refused', lastError: 'no reader name is configured' });
    expect(service.getState().outbox?.refused).toHaveLength(1);
    sink.mode = 'up';
    await service.resendFeedback();
    await settle();
    expect(received.map(e => e.label)).toEqual(['normal']);
    expect(service.getState().feedback.delivery).toMatchObject({ state: 'sent' });
    expect(service.getState().outbox).toMatchObject({ ...EMPTY_OUTBOX, sent: 1, lastSentAt: expect.any(String) });
  });

  it('keeps what the browser answered about persistent storage', () => {
    const service = new ChestAidService({ fetchJson: async () => demoManifestJson(), storage: null });
    expect(service.getState().storage).toBeUndefined();
    service.setStorage('best-effort');
    expect(service.getState().storage).toBe('best-effort');
  });
});
