/**
 * What the panel says about feedback on its way to the PACS and about a browser that may clear
 * ChestAid's storage: the words (outboxFormat.ts) and where they show (the panel rendered to
 * markup from a given state).
 */
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';

import { EMPTY_OUTBOX, type Analysis, type FeedbackDelivery, type OutboxSummary, type StoredFeedback } from '@chestaid/core';
import { DEFAULT_HEATMAP } from '../analysis/heatmapSetting';
import type { ChestAidState } from '../analysis/types';
import { ChestAidPanel } from './ChestAidPanel';
import { deliveryText, outboxText, storageText } from './outboxFormat';
import type { ChestAidPanelService } from './types';

const entry: StoredFeedback = {
  id: 4,
  studyInstanceUID: 's',
  seriesInstanceUID: 'se',
  sopInstanceUID: '1',
  modelSha256: 'f'.repeat(64),
  calibrationVersion: '3',
  score: 0.61,
  logit: 0.45,
  decision: { above: true, threshold: 0.4 },
  label: 'pneumonia',
  reader: 'Doe^Jane',
  at: '2026-11-26T12:00:00.000Z',
};
const delivery = (over: Partial<FeedbackDelivery>): FeedbackDelivery => ({
  id: 4,
  entry,
  state: 'pending',
  attempts: 0,
  queuedAt: entry.at,
  nextAttemptAt: entry.at,
  lastAttemptAt: null,
  lastError: null,
  sentAt: null,
  ...over,
});

describe('deliveryText', () => {
  it('says when the reading landed, that a pending one is sent without another click, and why a refused one was not', () => {
    expect(deliveryText(delivery({ state: 'sent', sentAt: '2026-11-26T12:05:10.000Z' }))).toBe('Sent to the PACS (11/26/2026, 12:05 PM UTC).');
    expect(deliveryText(delivery({}))).toBe('Sending to the PACS…');
    expect(deliveryText(delivery({ attempts: 3, lastError: 'PACS unreachable: /pacs/dicom-web/studies (fetch failed)' }))).toBe(
      'Not yet in the PACS (PACS unreachable: /pacs/dicom-web/studies (fetch failed)). Kept in this browser and sent automatically when the PACS answers: no need to record it again.',
    );
    expect(deliveryText(delivery({ state: 'refused', lastError: 'the PACS has no ChestAid result for this image: Save to PACS first, then send it again.' }))).toBe(
      'Not sent to the PACS: The PACS has no ChestAid result for this image: Save to PACS first, then send it again. Kept in this browser; not retried until sent again.',
    );
  });
});

describe('outboxText', () => {
  it('counts readings waiting and refused, and says when the last one landed', () => {
    expect(outboxText(EMPTY_OUTBOX)).toBeNull();
    expect(outboxText({ ...EMPTY_OUTBOX, pending: 2, lastError: 'x' })).toBe('2 readings waiting to be sent to the PACS, retried automatically.');
    expect(outboxText({ ...EMPTY_OUTBOX, pending: 1, sent: 3, lastSentAt: '2026-11-26T12:05:00.000Z' })).toBe(
      '1 reading waiting to be sent to the PACS, retried automatically. Last reading sent to the PACS: 11/26/2026, 12:05 PM UTC.',
    );
    expect(outboxText({ ...EMPTY_OUTBOX, refused: [{ id: 4, entry, reason: 'PACS answered 400 for /x: bad' }] })).toBe(
      '1 reading refused by the PACS, kept in this browser: PACS answered 400 for /x: bad.',
    );
  });
});

describe('storageText', () => {
  it('is silent when the browser keeps the storage, and says plainly what may happen otherwise', () => {
    expect(storageText(undefined, true)).toBeNull();
    expect(storageText('persistent', true)).toBeNull();
    expect(storageText('best-effort', true)).toBe('This browser may clear the results and readings ChestAid keeps in it; they are safe once sent to the PACS.');
    expect(storageText('unavailable', false)).toBe('This browser may clear the results and readings ChestAid keeps in it; with no PACS configured, they are kept only here.');
  });
});

const base: ChestAidState = {
  model: { status: 'loading' },
  study: { valid: true, description: '' },
  analysis: { status: 'idle' },
  runtime: { status: 'idle' },
  threshold: { value: 0.4, clinical: 0.4, custom: false },
  hostProblem: null,
  heatmap: DEFAULT_HEATMAP,
  images: [],
  batch: null,
  archive: { status: 'idle' } as ChestAidState['archive'],
  archived: null,
  feedback: { reader: 'Doe^Jane', available: true, status: 'idle', mine: null, others: [], conflict: false, message: null },
};

function render(state: ChestAidState, extra: Partial<ChestAidPanelService> = {}): string {
  const service: ChestAidPanelService = {
    ...extra,
    EVENTS: { STATE_CHANGED: 'changed' },
    getState: () => state,
    subscribe: () => ({ unsubscribe: () => undefined }),
    setThreshold: () => undefined,
    resetThreshold: () => undefined,
    setHeatmap: () => undefined,
    analyzeAll: () => Promise.resolve(),
    cancelAnalyzeAll: () => undefined,
  };
  return renderToStaticMarkup(createElement(ChestAidPanel, { service, onAnalyze: () => undefined }));
}

describe('the panel', () => {
  const outbox: OutboxSummary = { ...EMPTY_OUTBOX, pending: 2, sent: 1, lastSentAt: '2026-11-26T12:05:00.000Z' };

  it('shows the outbox with its counts, and nothing when it is empty', () => {
    const html = render({ ...base, outbox });
    expect(html).toMatch(/data-cy="chestaid-outbox" data-pending="2" data-refused="0" data-sent="1" data-last-sent="2026-11-26T12:05:00.000Z"/);
    expect(render({ ...base, outbox: EMPTY_OUTBOX })).not.toContain('chestaid-outbox');
    expect(render(base)).not.toContain('chestaid-outbox');
  });

  it('offers to send refused readings again only where the service can', () => {
    const refused = { ...outbox, refused: [{ id: 4, entry, reason: 'no reader name is configured' }] };
    expect(render({ ...base, outbox: refused }, { resendFeedback: () => Promise.resolve() })).toContain('data-cy="chestaid-outbox-resend"');
    expect(render({ ...base, outbox: refused })).not.toContain('data-cy="chestaid-outbox-resend"');
  });

  it("shows where the reader's label stands with the PACS under the label", () => {
    const outcome = { key: 'k', analysis: { probability: 0.61, logit: 0.45, calibrationVersion: '3', decision: { threshold: 0.4 } } as unknown as Analysis, run: { backend: 'wasm', threads: 1, reason: 'no WebGPU', totalMs: 1, runMs: 1 } };
    const target = { viewportId: 'default', displaySetInstanceUID: 'ds', imageId: 'i', sopInstanceUID: '1', modality: 'CR' };
    const done = {
      ...base,
      model: { status: 'ready', info: { id: 'm', version: '1', sha256: 'f'.repeat(64), synthetic: false, disclaimer: '', calibrationMethod: 'platt', calibrationVersion: '3', calibration: { version: '3', source: 'training' }, calibrationLabel: 'v3' } },
      analysis: { status: 'done', target, outcome },
      feedback: { ...base.feedback, mine: entry, delivery: delivery({ state: 'pending', attempts: 2, lastError: 'PACS unreachable' }) },
    } as unknown as ChestAidState;
    const html = render(done, { recordFeedback: () => Promise.resolve() });
    expect(html).toMatch(/data-cy="chestaid-feedback-delivery" data-state="pending" data-attempts="2"/);
    expect(html).toContain('Not yet in the PACS (PACS unreachable)');
  });

  it('says in one line when the browser may clear its storage', () => {
    expect(render({ ...base, storage: 'best-effort', outbox: EMPTY_OUTBOX })).toMatch(/data-cy="chestaid-storage" data-storage="best-effort">This browser may clear .* they are safe once sent to the PACS\./);
    expect(render({ ...base, storage: 'persistent' })).not.toContain('chestaid-storage');
  });
});
