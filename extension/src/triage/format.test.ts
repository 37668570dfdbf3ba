import type { StudyStatus } from '@chestaid/core';
import type { BatchSummary } from './batch';
import { batchText, durationText, riskText, studyDateText } from './format';
import { catalogueTranslator, setTranslator } from '../i18n/translate';

const scored = (probability: number, failedImages = 0): StudyStatus => ({
  kind: 'scored',
  probability,
  image: { studyInstanceUID: 's', seriesInstanceUID: 'se', sopInstanceUID: 'i' },
  analyzedAt: 0,
  failedImages,
});

const summary = (over: Partial<BatchSummary>): BatchSummary => ({
  total: 24,
  done: 24,
  analyzed: 24,
  alreadyScored: 0,
  failed: 0,
  current: null,
  startedAt: 0,
  elapsedMs: 20_000,
  etaMs: 0,
  cancelled: false,
  finishedAt: 20_000,
  ...over,
});

/** Intl puts no-break spaces where a reader sees spaces (before "PM", before "%" in Spanish). */
const plain = (text: string) => text.replace(/[\u00a0\u202f]/g, " ");

describe('riskText', () => {
  it('shows a refused study\'s reason in place of a score, in no score colour', () => {
    expect(riskText({ kind: 'refused', code: 'for-processing', reason: 'a FOR PROCESSING image' }, 0.75)).toEqual({
      label: 'Not analyzed: a FOR PROCESSING image',
      detail: 'The model card excludes this image: read it without ChestAid',
      tone: 'refused',
    });
  });

  it('gives the calibrated probability with the threshold it is read against, and what that means on hover', () => {
    expect(riskText(scored(0.923), 0.75)).toEqual({
      label: '92.3% (above threshold 75.0%)',
      detail:
        'Calibrated probability of pneumonia 92.3%; the threshold 75.0% is the operating point studies are flagged at, not a diagnosis. ' +
        'The model was not evaluated at this threshold: its sensitivity and specificity there are unknown.',
      tone: 'above',
    });
    expect(riskText(scored(0.1), 0.75)).toMatchObject({ label: '10.0% (below threshold 75.0%)', tone: 'below' });
  });

  it("names the model's sensitivity and specificity at the threshold, with their intervals and split, when the manifest measured them", () => {
    const point = {
      threshold: 0.75,
      split: 'test',
      n: 400,
      nPos: 250,
      sensitivity: { value: 0.904, low: 0.864, high: 0.94 },
      specificity: { value: 0.8467, low: 0.7867, high: 0.9 },
      level: 0.95,
    };
    expect(riskText(scored(0.923), 0.75, point).detail).toBe(
      'Calibrated probability of pneumonia 92.3%; the threshold 75.0% is the operating point studies are flagged at, not a diagnosis. ' +
        'At this threshold the model found 90.4% (95% CI 86.4%–94.0%) of pneumonia cases (sensitivity) and cleared 84.7% (95% CI 78.7%–90.0%) ' +
        'of normal ones (specificity), on the test split (400 images, 250 with pneumonia).',
    );
  });

  it("reads in the reader's language, numbers through Intl (Spanish)", () => {
    setTranslator(catalogueTranslator('es-ES'));
    try {
      const point = {
        threshold: 0.75,
        split: 'test',
        n: 400,
        nPos: 250,
        sensitivity: { value: 0.904, low: 0.864, high: 0.94 },
        specificity: { value: 0.8467, low: null, high: null },
        level: 0.95,
      };
      const text = riskText(scored(0.923), 0.75, point);
      expect(plain(text.label)).toBe('92,3 % (por encima del umbral 75,0 %)');
      expect(plain(text.detail ?? '')).toBe(
        'Probabilidad calibrada de neumonía 92,3 %; el umbral 75,0 % es el punto de corte a partir del cual se señalan los estudios, no un diagnóstico. ' +
          'En este umbral el modelo detectó el 90,4 % (IC del 95 % 86,4 %–94,0 %) de los casos de neumonía (sensibilidad) y descartó el 84,7 % de los normales (especificidad), ' +
          'en el conjunto test (400 imágenes, 250 con neumonía).',
      );
      expect(plain(riskText(scored(0.1), 0.75).label)).toBe('10,0 % (por debajo del umbral 75,0 %)');
    } finally {
      setTranslator(catalogueTranslator('en'));
    }
  });

  it('counts a score equal to the threshold as above it, with the digits to tell them apart', () => {
    expect(riskText(scored(0.75), 0.75).label).toBe('75.0% (above threshold 75.0%)');
    expect(riskText(scored(0.7499), 0.75).label).toBe('74.99% (below threshold 75.00%)');
  });

  it('says when other images of a scored study failed', () => {
    expect(riskText(scored(0.5, 2), 0.75).detail).toMatch(/unknown\. 2 other images of the study could not be analyzed\.$/);
  });

  it('shows an unverified result or a conflict by its reason, with no number', () => {
    expect(riskText({ kind: 'unverified', reason: 'unverified result: device UID 2.25.42 is not this model\'s', conflict: false }, 0.75)).toEqual({
      label: 'unverified result',
      detail: "unverified result: device UID 2.25.42 is not this model's",
      tone: 'unverified',
    });
    expect(riskText({ kind: 'unverified', reason: 'conflicting results: 2 disagree', conflict: true }, 0.75)).toMatchObject({ label: 'conflicting results', tone: 'unverified' });
    expect(riskText({ ...(scored(0.5) as object), unverifiedImages: 1 } as never, 0.75).detail).toMatch(/unknown\. 1 other image has only an unverified or conflicting result in the PACS\.$/);
  });

  it('names unanalyzed, stale, failed and not-applicable studies', () => {
    expect(riskText({ kind: 'unanalyzed' }, 0.75)).toEqual({ label: 'not analyzed', detail: null, tone: 'muted' });
    expect(riskText({ kind: 'stale', scoredBy: { modelSha256: 'f'.repeat(64), calibrationVersion: '0' }, analyzedAt: 0 }, 0.75)).toEqual({
      label: 'stale',
      detail: 'Scored by another model or calibration (model sha256 ffffffffffff…, calibration version 0); analyze again to rank it',
      tone: 'stale',
    });
    expect(riskText({ kind: 'failed', reason: 'the image could not be loaded: 404' }, 0.75)).toEqual({
      label: 'failed',
      detail: 'the image could not be loaded: 404',
      tone: 'failed',
    });
    expect(riskText({ kind: 'not-applicable', reason: 'this study has CT' }, 0.75)).toMatchObject({ label: 'no CR/DX image', detail: 'this study has CT' });
    expect(riskText(null, 0.75).label).toBe('…');
  });
});

describe('studyDateText and durationText', () => {
  it('formats DICOM dates and times', () => {
    expect(plain(studyDateText('20260124', '120600.123'))).toBe('01/24/2026, 12:06 PM');
    expect(studyDateText('20260124', '')).toBe('01/24/2026');
    expect(studyDateText('', '1200')).toBe('');
  });

  it('rounds durations to what a reader needs', () => {
    expect(durationText(400)).toBe('under a second');
    expect(durationText(12_400)).toBe('12 s');
    expect(durationText(150_000)).toBe('3 min');
  });
});

describe('batchText', () => {
  const progress = { total: 24, done: 12, analyzed: 12, alreadyScored: 0, failed: 0, current: null, startedAt: 0, elapsedMs: 10_000 };

  it('gives n of N and the time left while running', () => {
    expect(batchText({ status: 'running', resumed: false, progress: { ...progress, etaMs: 9_600 } })).toBe('12 of 24 studies · about 10 s left');
    expect(batchText({ status: 'running', resumed: true, progress: { ...progress, done: 0, etaMs: null } })).toBe(
      'Resumed after a reload: 0 of 24 studies · estimating the time left',
    );
  });

  it('sums up a finished, a resumed and a cancelled batch', () => {
    expect(batchText({ status: 'finished', resumed: false, summary: summary({}) })).toBe('24 studies analyzed in 20 s (72 per minute).');
    expect(batchText({ status: 'finished', resumed: true, summary: summary({ analyzed: 10, alreadyScored: 13, failed: 1 }) })).toBe(
      '10 studies analyzed in 20 s (30 per minute); 13 already scored; 1 could not be analyzed.',
    );
    expect(batchText({ status: 'cancelled', resumed: false, summary: summary({ done: 5, cancelled: true }) })).toBe(
      'Cancelled after 5 of 24 studies; their results are kept.',
    );
    expect(batchText({ status: 'nothing-to-do' })).toMatch(/already has a current score/);
    expect(batchText({ status: 'idle' })).toBe('');
  });
});
