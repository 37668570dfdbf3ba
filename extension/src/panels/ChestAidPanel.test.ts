/**
 * The panel rendered to markup (react-dom/server) from a given service state: what a reader
 * sees for a result, a failure and a refused manifest. The words themselves are format.test.ts's.
 */
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { parseManifest, type Analysis } from '@chestaid/core';
import { DEFAULT_HEATMAP } from '../analysis/heatmapSetting';
import type { ChestAidState, ModelInfo } from '../analysis/types';
import { ChestAidPanel } from './ChestAidPanel';
import type { ChestAidPanelService } from './types';
import { en, type Key } from '../i18n/en';
import { es } from '../i18n/es';
import { catalogueTranslator, setTranslator } from '../i18n/translate';

const base: ChestAidState = {
  model: {
    status: 'ready',
    info: {
      id: 'chestaid-demo',
      version: '0.1.0-synthetic',
      sha256: 'f'.repeat(64),
      synthetic: true,
      disclaimer: '',
      calibrationMethod: 'platt',
      calibrationVersion: '3',
      calibration: { version: '3', source: 'training', createdAt: '2026-11-26T07:51:11+00:00' },
      calibrationLabel: 'calibration v3 (training, 2026-11-26)',
    },
  },
  study: { valid: true, description: '' },
  analysis: { status: 'idle' },
  runtime: { status: 'idle' },
  threshold: { value: 0.4, clinical: 0.4, custom: false },
  hostProblem: null,
  heatmap: DEFAULT_HEATMAP,
  images: [],
  batch: null,
  archive: { status: 'unavailable', reason: 'No PACS is configured: results stay in this browser.' },
  archived: null,
  feedback: { reader: 'unknown', available: false, status: 'idle', mine: null, others: [], conflict: false, message: null },
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

const text = (html: string) => html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');

const outcome = {
  key: 'k',
  analysis: { probability: 0.61, logit: 0.45, calibrationVersion: '3', decision: { threshold: 0.4 } } as unknown as Analysis,
  run: { backend: 'wasm', threads: 2, reason: 'no WebGPU adapter: using wasm, 2 threads', totalMs: 180, runMs: 150 },
};
const target = { viewportId: 'default', displaySetInstanceUID: 'ds', imageId: 'i', sopInstanceUID: '1', modality: 'CR' };

describe('ChestAidPanel', () => {
  it('always says it is decision support, and that the model is synthetic when it is', () => {
    const shown = text(render(base));
    expect(shown).toContain('Decision support, not a diagnosis.');
    expect(shown).toContain('Trained on synthetic data');
    expect(shown).toContain('Model chestaid-demo 0.1.0-synthetic');
    expect(shown).toContain('Calibrated by Platt scaling (calibration version 3)');
  });

  it('shows the score, threshold, decision, backend, time and why not WebGPU', () => {
    const shown = text(render({ ...base, analysis: { status: 'done', target, outcome } }));
    expect(shown).toContain('Risk score (calibrated) 61.0%');
    expect(shown).toContain('Clinical threshold 40.0%');
    expect(shown).toContain('Above the clinical threshold: read first');
    expect(shown).toContain('wasm, 2 threads · 180 ms');
    expect(shown).toContain('WebGPU not used: no WebGPU adapter');
  });

  it("says on the score's hover what it is: a calibrated probability, and the model's measured sensitivity and specificity at the threshold", () => {
    const json = JSON.parse(readFileSync(resolve(__dirname, '../../../models/chestaid-demo/manifest.json'), 'utf8'));
    const manifest = parseManifest(json);
    const clinical = json.thresholds.clinical.value;
    const at = { ...base, threshold: { value: clinical, clinical, custom: false }, analysis: { status: 'done' as const, target, outcome } };
    const title = (html: string) => /data-cy="chestaid-score"[^>]*title="([^"]*)"/.exec(html)?.[1] ?? '';
    const sensitivity = `${(json.evaluation.at_threshold.test.sensitivity.value * 100).toFixed(1)}%`;
    expect(title(render(at, { getManifest: () => manifest }))).toContain('Calibrated probability of pneumonia 61.0%');
    expect(title(render(at, { getManifest: () => manifest }))).toContain(`the model found ${sensitivity}`);
    // The threshold moved in the browser: the manifest has no measurement there, and says so.
    const moved = { ...at, threshold: { value: clinical - 0.05, clinical, custom: true } };
    expect(title(render(moved, { getManifest: () => manifest }))).toContain('The model was not evaluated at this threshold');
  });

  it('re-decides with the reader\'s threshold, and offers Reset', () => {
    const html = render({ ...base, threshold: { value: 0.7, clinical: 0.4, custom: true }, analysis: { status: 'done', target, outcome } });
    expect(text(html)).toContain('Below the clinical threshold');
    expect(html).toMatch(/<button[^>]*data-cy="chestaid-threshold-reset"/);
    expect(html).not.toMatch(/<button[^>]*disabled=""[^>]*data-cy="chestaid-threshold-reset"/);
    expect(text(html)).toContain('Threshold (set in this browser) 70.0%');
    expect(text(html)).toMatch(/the model&#x27;s clinical threshold is 0\.4\./);
  });

  it('labels the threshold controls for assistive technology', () => {
    const html = render(base);
    expect(html).toMatch(/type="range"[^>]*aria-label="Clinical threshold slider"/);
    expect(html).toMatch(/<label for="([^"]+)-value"[^>]*>Threshold \(0 to 1\)<\/label><input id="\1-value" type="number"/);
  });

  it('shows an image the gate refuses as "Not analyzed: <reason>": no score, no decision, no heatmap, nothing to save', () => {
    const refusal = { code: 'non-frontal-view', reason: 'a LL view; the model reads frontal chest radiographs (ViewPosition PA or AP) only' };
    const html = render({
      ...base,
      analysis: { status: 'not-analyzed', target, refusal },
      archive: { status: 'idle' },
      images: [{ image: { ...target, label: 'CHEST LAT' }, status: 'not-analyzed', refusal, active: true }],
    });
    const shown = text(html);
    expect(html).toContain('data-cy="chestaid-not-analyzed" data-code="non-frontal-view"');
    expect(shown).toContain(`Not analyzed: ${refusal.reason}`);
    expect(shown).toContain(`CHEST LAT Not analyzed: ${refusal.reason}`);
    expect(shown).not.toMatch(/Risk score|threshold:|Below the clinical threshold|Above the clinical threshold/i);
    expect(html).not.toContain('data-cy="chestaid-result"');
    expect(html).not.toContain('data-cy="chestaid-heatmap');
    expect(html).not.toContain('data-cy="chestaid-save-pacs"');
  });

  it('shows a failure as an alert with the message', () => {
    const html = render({ ...base, analysis: { status: 'error', message: 'PhotometricInterpretation "RGB" is not supported' } });
    expect(html).toMatch(/role="alert"[^>]*>PhotometricInterpretation &quot;RGB&quot; is not supported/);
  });

  it('shows a refused manifest, with Analyze disabled', () => {
    const html = render({ ...base, model: { status: 'error', message: 'Model manifest /m.json: schema version 2.0.0 is not supported' }, threshold: null });
    expect(html).toMatch(/data-cy="chestaid-model-error"[^>]*>Model manifest \/m\.json: schema version 2\.0\.0/);
    expect(html).toMatch(/<button[^>]*disabled=""[^>]*data-cy="chestaid-analyze"/);
  });

  it('shows a progress bar while the model downloads', () => {
    const html = render({ ...base, analysis: { status: 'running', target }, runtime: { status: 'loading', loaded: 5, total: 10 } });
    expect(html).toMatch(/role="progressbar"[^>]*aria-valuenow="50"/);
  });

  it('offers the heatmap controls with a result, labelled as attention and not lesion location, each with a name', () => {
    expect(render(base)).not.toContain('data-cy="chestaid-heatmap"');
    const html = render({ ...base, analysis: { status: 'done', target, outcome } });
    expect(text(html)).toContain('Heatmap: model attention, not lesion location.');
    expect(text(html)).toContain('Show the heatmap (Shift+H)');
    expect(text(html)).toContain('low attention high attention');
    expect(html).toMatch(/<label for="([^"]+)-opacity"[^>]*>Opacity: 50%<\/label><input id="\1-opacity" type="range"/);
    expect(html).toMatch(/<label for="([^"]+)-layers"[^>]*>Layers<\/label><select id="\1-layers"/);
    expect(html).toMatch(/type="checkbox"[^>]*aria-keyshortcuts="Shift\+H"/);
  });

  it('lists the study\'s images with their results and offers Analyze all images with progress', () => {
    const image = { displaySetInstanceUID: 'ds', imageId: 'i', sopInstanceUID: '1', modality: 'CR', label: 'CHEST PA' };
    const html = render({
      ...base,
      images: [
        { image, status: 'done', outcome, active: true },
        { image: { ...image, sopInstanceUID: '2', label: 'CHEST PA, REPEAT' }, status: 'idle', active: false },
      ],
      batch: { running: true, done: 1, total: 2, cancelled: false },
    });
    expect(text(html)).toContain('CR/DX images in this study (2)');
    expect(text(html)).toContain('CHEST PA 61.0%, above threshold');
    expect(text(html)).toContain('CHEST PA, REPEAT not analyzed');
    expect(html).toMatch(/aria-current="true" aria-label="Show CHEST PA"/);
    expect(html).toMatch(/role="progressbar" aria-label="Analyze all images" aria-valuemin="0" aria-valuemax="2" aria-valuenow="1"/);
    expect(html).toContain('data-cy="chestaid-analyze-all-cancel"');
  });

  it('offers Save to PACS for a result, disabled with the reason when there is no PACS', () => {
    const html = render({ ...base, analysis: { status: 'done', target, outcome } });
    expect(html).toMatch(/<button[^>]*disabled=""[^>]*title="No PACS is configured: results stay in this browser."[^>]*data-cy="chestaid-save-pacs"/);
    expect(text(html)).toContain('No PACS is configured: results stay in this browser.');
  });

  it('offers a retry when the PACS could not be reached, and shows the PACS result of the image', () => {
    const html = render({
      ...base,
      analysis: { status: 'done', target, outcome },
      archive: { status: 'failed', kind: 'unreachable', message: 'PACS unreachable: /pacs' },
      archived: { verdict: 'verified', probability: 0.61, srSopInstanceUID: '2.25.7', observedAt: '2026-11-26T10:00:00Z', modelId: 'chestaid-demo', modelVersion: '1' },
    });
    expect(html).toMatch(/<button type="button"[^>]*data-cy="chestaid-save-pacs">Retry saving to PACS<\/button>/);
    expect(html).toMatch(/role="alert"[^>]*data-kind="unreachable"/);
    expect(text(html)).toContain('In the PACS: risk score 61.0%');
  });

  it('has nothing to save once the result is in the PACS', () => {
    const html = render({ ...base, analysis: { status: 'done', target, outcome }, archive: { status: 'already-saved', srSopInstanceUID: '2.25.7' } });
    expect(html).toMatch(/<button[^>]*disabled=""[^>]*data-cy="chestaid-save-pacs">Save to PACS<\/button>/);
    expect(html).toContain('data-sr="2.25.7"');
  });

  it('names the calibration version beside the score and in the image list', () => {
    const image = { displaySetInstanceUID: 'ds', imageId: 'i', sopInstanceUID: '1', modality: 'CR', label: 'CHEST PA' };
    const html = render({ ...base, analysis: { status: 'done', target, outcome }, images: [{ image, status: 'done', outcome, active: true }] });
    expect(html).toMatch(/data-cy="chestaid-score-calibration" data-version="3" data-identity="3">calibration v3 \(training, 2026-11-26\)</);
    expect(text(html)).toContain('CHEST PA 61.0%, above threshold · calibration v3');
    expect(text(html)).toContain('Calibrated by Platt scaling (calibration version 3): calibration v3 (training, 2026-11-26)');
  });

  it('never shows a stale result as a score: it says which version made it and to re-analyze', () => {
    const html = render({ ...base, analysis: { status: 'stale', target, outcome, calibrationVersion: '1' } });
    expect(html).not.toContain('data-cy="chestaid-score"');
    expect(html).not.toContain('data-cy="chestaid-feedback"');
    expect(text(html)).toContain('Computed under calibration v1, which is no longer active; re-analyze for a current score.');
    expect(html).not.toMatch(/<button[^>]*disabled=""[^>]*data-cy="chestaid-analyze"/);
  });

  it('offers the reader Pneumonia, Normal or Unsure with a comment after a result, and shows labels and conflicts', () => {
    const done = { ...base, analysis: { status: 'done' as const, target, outcome } };
    const record = () => Promise.resolve();
    expect(render(done)).not.toContain('data-cy="chestaid-feedback"');
    expect(render({ ...done, feedback: { ...base.feedback, available: true } })).not.toContain('data-cy="chestaid-feedback"');
    const mine = {
      id: 1, studyInstanceUID: 's', seriesInstanceUID: 'se', sopInstanceUID: '1', modelSha256: 'f'.repeat(64), calibrationVersion: '3',
      score: 0.61, logit: 0.45, decision: { above: true, threshold: 0.4 }, label: 'normal' as const, reader: 'Dr B', at: '2026-11-26T12:00:00.000Z',
    };
    const html = render(
      { ...done, feedback: { ...base.feedback, available: true, reader: 'Dr B', mine, others: [{ reader: 'Dr A', label: 'pneumonia', at: '2026-11-26T11:00:00.000Z' }], conflict: true } },
      { recordFeedback: record },
    );
    expect(text(html)).toContain('Pneumonia Normal Unsure');
    expect(html).toMatch(/role="radio" aria-checked="true"[^>]*data-cy="chestaid-feedback-normal"/);
    expect(html).toContain('data-cy="chestaid-feedback-comment"');
    expect(text(html)).toContain('Recorded by Dr B: Normal (11/26/2026, 12:00');
    expect(text(html)).toContain('Other readers: Dr A: Pneumonia');
    expect(text(html)).toContain('Readers disagree on this image');
    expect(text(html)).toContain('Change my reading');
  });

  it("says the clinical threshold is the site calibration's when one is active", () => {
    const site = {
      ...base,
      model: {
        status: 'ready' as const,
        info: { ...(base.model as { info: ModelInfo }).info, calibrationVersion: 'site-2', calibration: { version: 'site-2', source: 'site' as const, createdAt: '2026-11-26T12:00:00Z' } },
      },
    };
    expect(text(render(site))).toContain('The clinical threshold of this site&#x27;s calibration site-2.');
    expect(text(render(base))).toContain('The model&#x27;s clinical threshold, from its manifest.');
  });
});

describe('ChestAidPanel with a stored result (issue 18 item 5)', () => {
  const stored = {
    verdict: 'verified' as const,
    probability: 0.61,
    srSopInstanceUID: '7.7.7',
    observedAt: '2026-11-26T10:05:00.000Z',
    modelId: 'chestaid-demo',
    modelVersion: '0.1.0-synthetic',
    shown: { status: 'shown' as const, calibrationVersion: '3', map: { data: new Float32Array(4), width: 2, height: 2 }, mapSopInstanceUID: '7.7.8', mapProblem: null },
  };

  it('shows the stored score marked "stored result, <date>, model <version>", with the heatmap controls, and no progress', () => {
    const html = render({ ...base, analysis: { status: 'stored', target, stored }, archive: { status: 'already-saved', srSopInstanceUID: '7.7.7' }, archived: stored });
    expect(text(html)).toContain('Stored result, 11/26/2026, 10:05 AM UTC, model 0.1.0-synthetic');
    expect(html).toMatch(/data-cy="chestaid-stored-score" data-probability="0.61"/);
    expect(html).toContain('data-map="7.7.8"');
    expect(html).toContain('data-cy="chestaid-heatmap"');
    expect(html).not.toContain('data-cy="chestaid-progress"');
    expect(html).not.toContain('data-cy="chestaid-analyze" disabled');
  });

  it('says why the stored map is not drawn, and offers no heatmap controls then', () => {
    const noMap = { ...stored, shown: { ...stored.shown, map: null, mapSopInstanceUID: null, mapProblem: 'the PACS holds no heatmap map for this result (7.7.8)' } };
    const html = render({ ...base, analysis: { status: 'stored', target, stored: noMap }, archive: { status: 'idle' } });
    expect(text(html)).toContain('The stored heatmap is not drawn: the PACS holds no heatmap map for this result (7.7.8). Analyze draws a new one.');
    expect(html).not.toContain('data-cy="chestaid-heatmap"');
  });

  it('in Spanish: "Resultado almacenado" with the date through Intl', () => {
    setTranslator(catalogueTranslator('es-ES'));
    try {
      const html = render({ ...base, analysis: { status: 'stored', target, stored }, archive: { status: 'idle' } });
      expect(text(html)).toContain('Resultado almacenado, 26/11/2026, 10:05 UTC, modelo 0.1.0-synthetic');
    } finally {
      setTranslator(catalogueTranslator('en'));
    }
  });

  it('says a PACS result refused for this image is not shown, with the reason', () => {
    const refused = { ...stored, shown: { status: 'refused' as const, reason: 'the stored result was computed on image 1.2.9, not on the image shown (1)' } };
    const html = render({ ...base, archive: { status: 'already-saved', srSopInstanceUID: '7.7.7' }, archived: refused });
    expect(text(html)).toContain('The result in the PACS is not shown on this image: the stored result was computed on image 1.2.9, not on the image shown (1). Analyze scores it here.');
  });
});

describe('ChestAidPanel in Spanish', () => {
  afterEach(() => setTranslator(catalogueTranslator('en')));

  it('shows every section in Spanish, with no English value of the catalogue left', () => {
    setTranslator(catalogueTranslator('es-ES'));
    const mine = {
      id: 1, studyInstanceUID: 's', seriesInstanceUID: 'se', sopInstanceUID: '1', modelSha256: 'f'.repeat(64), calibrationVersion: '3',
      score: 0.61, logit: 0.45, decision: { above: true, threshold: 0.4 }, label: 'normal' as const, reader: 'Dr B', at: '2026-11-26T12:00:00.000Z',
    };
    const html = render(
      {
        ...base,
        threshold: { value: 0.7, clinical: 0.4, custom: true },
        analysis: { status: 'done', target, outcome },
        archive: { status: 'idle' },
        images: [{ image: { sopInstanceUID: '1', label: 'PA' }, status: 'done', outcome, active: true }] as unknown as ChestAidState['images'],
        feedback: { ...base.feedback, available: true, reader: 'Dr B', mine, others: [], conflict: true },
      },
      { recordFeedback: () => Promise.resolve() },
    );
    // Text and the attributes a screen reader reads.
    const shown = `${text(html)} ${[...html.matchAll(/(?:title|aria-label|aria-valuetext)="([^"]*)"/g)].map(m => m[1]).join(' ')}`.replace(/&#x27;/g, "'");
    // text() reads Intl's no-break space before % as a space.
    expect(shown).toContain('Score de riesgo (calibrado) 61,0 %');
    expect(shown).toContain('Por debajo del umbral clínico');
    expect(shown).toContain('Mapa de calor: atención del modelo, no localización de la lesión.');
    expect(shown).toContain('Registrada por Dr B: Normal (26/11/2026, 12:00 UTC)');
    const english = Object.keys(en)
      .filter(key => en[key as Key] !== es[key as Key])
      .flatMap(key => en[key as Key].split(/\{\{\w+\}\}/))
      .map(piece => piece.replace(/^[\s,.:;()·–-]+|[\s,.:;()·–-]+$/g, ''))
      .filter(piece => /[A-Za-z]{4,}/.test(piece) && !Object.values(es).some(value => value.includes(piece)));
    const left = english.filter(piece => new RegExp(`(^|[^A-Za-z])${piece.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^A-Za-z])`).test(shown));
    // The calibration label and the run's reason come from the state as given here (English fixtures).
    expect(left.filter(piece => !['calibration', 'training'].includes(piece))).toEqual([]);
  });
});
