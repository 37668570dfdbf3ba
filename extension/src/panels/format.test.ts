import type { Analysis } from '@chestaid/core';
import { DEFAULT_HEATMAP } from '../analysis/heatmapSetting';
import type { AnalysisOutcome, ChestAidState } from '../analysis/types';
import {
  batchText,
  comparisonText,
  calibrationText,
  captureCaption,
  imageRowText,
  decisionText,
  downloadText,
  fallbackText,
  modelText,
  parseThreshold,
  runText,
  scoreAndThreshold,
  staleText,
  statusText,
  thresholdInputText,
  archiveText,
  archivedText,
  versionName,
} from './format';

const ready: ChestAidState = {
  model: {
    status: 'ready',
    info: {
      id: 'chestaid-demo',
      version: '0.1.0',
      sha256: '985f147528c4b2abf44d71e08a31ac7a3562e5ce6438d87daf67d70c33a76660',
      synthetic: true,
      disclaimer: '',
      calibrationMethod: 'temperature',
      calibrationVersion: '1',
      calibration: { version: '1', source: 'training', createdAt: '2026-11-26T07:51:11+00:00' },
      calibrationLabel: 'calibration v1 (training, 2026-11-26)',
    },
  },
  study: { valid: true, description: 'ChestAid reads the CR images of this study' },
  analysis: { status: 'idle' },
  runtime: { status: 'idle' },
  threshold: { value: 0.5, clinical: 0.5, custom: false },
  hostProblem: null,
  heatmap: DEFAULT_HEATMAP,
  images: [],
  batch: null,
  archive: { status: 'unavailable', reason: 'No PACS is configured: results stay in this browser.' },
  archived: null,
  feedback: { reader: 'unknown', available: false, status: 'idle', mine: null, others: [], conflict: false, message: null },
};
const target = { viewportId: 'default', displaySetInstanceUID: 'ds', imageId: 'i', sopInstanceUID: '1', modality: 'CR' };
const run = { backend: 'wasm', threads: 2, reason: 'no WebGPU adapter (navigator.gpu is absent): using wasm, 2 threads', totalMs: 183.4, runMs: 120 };

function done(probability: number, threshold = 0.5): ChestAidState {
  const analysis = { probability, decision: { threshold: 0.5 } } as unknown as Analysis;
  return {
    ...ready,
    threshold: { value: threshold, clinical: 0.5, custom: threshold !== 0.5 },
    analysis: { status: 'done', target, outcome: { key: 'k', analysis, run } },
  };
}

describe('scoreAndThreshold', () => {
  it('shows percentages with one decimal', () => {
    expect(scoreAndThreshold(0.734, 0.2)).toEqual({ score: '73.4%', threshold: '20.0%' });
  });

  it('adds decimals until a score and a threshold that differ look different', () => {
    expect(scoreAndThreshold(0.49891, 0.49849)).toEqual({ score: '49.9%', threshold: '49.8%' });
    expect(scoreAndThreshold(0.498441, 0.498495)).toEqual({ score: '49.84%', threshold: '49.85%' });
    expect(scoreAndThreshold(0.4984951, 0.4984949)).toEqual({ score: '49.850%', threshold: '49.849%' });
    expect(scoreAndThreshold(0.5, 0.5)).toEqual({ score: '50.0%', threshold: '50.0%' });
  });
});

describe('panel text', () => {
  it('states the decision in the clinical words', () => {
    expect(decisionText({ above: true })).toBe('Above the clinical threshold: read first');
    expect(decisionText({ above: false })).toBe('Below the clinical threshold');
  });

  it('names the model, its file and its calibration', () => {
    const info = ready.model.status === 'ready' ? ready.model.info : null;
    expect(modelText(info!)).toBe('Model chestaid-demo 0.1.0 (sha256 985f147528c4…)');
    expect(calibrationText(info!)).toBe('Calibrated by temperature scaling (calibration version 1)');
    expect(calibrationText({ calibrationMethod: 'isotonic', calibrationVersion: '2' })).toBe(
      'Calibrated by isotonic regression (calibration version 2)',
    );
    expect(calibrationText({ calibrationMethod: 'none', calibrationVersion: '2' })).toBe(
      'No calibrator: the sigmoid of the logit (calibration version 2)',
    );
  });

  it('says where the model ran and how long the analysis took', () => {
    expect(runText(run)).toBe('wasm, 2 threads · 183 ms');
    expect(runText({ backend: 'wasm', threads: 1, totalMs: 12_345 })).toBe('wasm, 1 thread · 12.3 s');
    expect(runText({ backend: 'webgpu', threads: 4, totalMs: 40 })).toBe('WebGPU · 40 ms');
  });

  it('says why WebGPU was not used, and nothing when it was', () => {
    expect(fallbackText(run)).toBe('WebGPU not used: no WebGPU adapter (navigator.gpu is absent)');
    expect(
      fallbackText({ backend: 'wasm', reason: 'WebGPU on google swiftshader failed its self-check against wasm (logit off by 0.6): using wasm, 1 thread (page not cross-origin isolated)' }),
    ).toBe('WebGPU not used: WebGPU on google swiftshader failed its self-check against wasm (logit off by 0.6)');
    expect(fallbackText({ backend: 'webgpu', reason: 'WebGPU on x: self-check passed' })).toBeNull();
    // TensorFlow.js names its threads inside its reason: the run line says how many, translated.
    expect(
      fallbackText({ backend: 'wasm', reason: 'TensorFlow.js (first run here): TensorFlow.js 4.22.0 wasm backend (XNNPACK; SIMD, 2 threads); self-check against the manifest passed' }),
    ).toBe('WebGPU not used: TensorFlow.js (first run here): TensorFlow.js 4.22.0 wasm backend (XNNPACK; SIMD); self-check against the manifest passed');
  });

  it('shows the model download in megabytes', () => {
    expect(downloadText(12_345_678, 28_218_829)).toBe('Downloading the model: 12.3 of 28.2 MB (43%)');
    expect(downloadText(5_000_000, null)).toBe('Downloading the model: 5.0 MB');
    expect(downloadText(28_218_829, 28_218_829)).toBe('Model downloaded (28.2 MB): checking its hash and starting it...');
  });

  it('reads a typed threshold, or says what is wrong with it', () => {
    expect(parseThreshold(' 0.25 ')).toEqual({ value: 0.25 });
    expect(parseThreshold('1')).toEqual({ value: 1 });
    expect(parseThreshold('1.2')).toEqual({ problem: 'The threshold must be a number from 0 to 1; got "1.2".' });
    expect(parseThreshold('')).toHaveProperty('problem');
    expect(thresholdInputText(0.49849513962562636)).toBe('0.4985');
  });
});

describe('statusText', () => {
  it('invites the reader to analyze when nothing blocks it', () => {
    expect(statusText(ready)).toBe('Press Analyze to score the image in the active viewport.');
  });

  it('shows the calibrated risk as a percentage with the decision at the reader\'s threshold', () => {
    expect(statusText(done(0.734))).toBe('Risk score 73.4%: above the clinical threshold: read first.');
    expect(statusText(done(0.734, 0.8))).toBe('Risk score 73.4%: below the clinical threshold.');
  });

  it('shows the download, then that the model runs', () => {
    const running: ChestAidState = { ...ready, analysis: { status: 'running', target } };
    expect(statusText({ ...running, runtime: { status: 'loading', loaded: 1_000_000, total: 2_000_000 } })).toBe(
      'Downloading the model: 1.0 of 2.0 MB (50%)',
    );
    expect(statusText({ ...running, runtime: { status: 'ready', backend: 'wasm', threads: 2, reason: '' } })).toBe('Running the model...');
  });

  it('does not invite an analysis the study cannot have', () => {
    const ct = { ...ready, study: { valid: false, description: 'this study has CT' } };
    expect(statusText(ct)).toBe('Analyze is unavailable here.');
  });

  it('shows an analysis failure as its message', () => {
    expect(statusText({ ...ready, analysis: { status: 'error', message: 'NumberOfFrames 3 is not supported; expected a single frame' } })).toBe(
      'NumberOfFrames 3 is not supported; expected a single frame',
    );
  });

  it('starts a lower-case adapter message as a sentence', () => {
    expect(statusText({ ...ready, analysis: { status: 'error', message: 'model file not found: GET /m.onnx answered 404' } })).toBe(
      'Model file not found: GET /m.onnx answered 404',
    );
  });

  it('says Analyze is unavailable when the manifest failed', () => {
    const broken: ChestAidState = { ...ready, model: { status: 'error', message: 'Model manifest /m.json: bad' } };
    expect(statusText(broken)).toBe('Analyze is unavailable: the model could not be loaded.');
  });
});

describe('heatmap, image list and capture words', () => {
  const outcome = { analysis: { probability: 0.873 } } as unknown as AnalysisOutcome;
  const info = { id: 'chestaid-demo', version: '0.1.0', calibrationMethod: 'isotonic' as const, calibrationVersion: '1', synthetic: true };

  it('captions an export with score, threshold, model, calibration and what it is not', () => {
    expect(captureCaption(outcome, 0.75, info)).toEqual([
      'ChestAid risk score 87.3% (calibrated), threshold 75.0%: above the clinical threshold: read first.',
      'Model chestaid-demo 0.1.0, calibrated by isotonic regression (calibration version 1). Trained on synthetic data: not for clinical use.',
      'Heatmap: model attention, not lesion location. Decision support, not a diagnosis.',
    ]);
    expect(captureCaption(outcome, 0.9, { ...info, synthetic: false })[1]).toBe('Model chestaid-demo 0.1.0, calibrated by isotonic regression (calibration version 1).');
  });

  it('describes each image row under the threshold in force', () => {
    expect(imageRowText({ status: 'done', outcome }, 0.75)).toBe('87.3%, above threshold');
    expect(imageRowText({ status: 'done', outcome }, 0.9)).toBe('87.3%, below threshold');
    expect(imageRowText({ status: 'idle' }, 0.75)).toBe('not analyzed');
    expect(imageRowText({ status: 'running' }, 0.75)).toBe('analyzing...');
    expect(imageRowText({ status: 'error', message: 'corrupt pixel data' }, 0.75)).toBe('failed: corrupt pixel data');
  });

  it('counts the batch while it runs, when it stops and when it ends', () => {
    expect(batchText({ running: true, done: 1, total: 3, cancelled: false })).toBe('Analyzing all images: 1 of 3 images done');
    expect(batchText({ running: true, done: 1, total: 3, cancelled: true })).toBe('Stopping after the current image (1 of 3 images done)...');
    expect(batchText({ running: false, done: 1, total: 3, cancelled: true })).toBe('Stopped: 1 of 3 images analyzed.');
    expect(batchText({ running: false, done: 1, total: 1, cancelled: false })).toBe('Analyzed 1 of 1 image.');
  });
});

describe('Save to PACS, in words', () => {
  it('names the SR it wrote, or the one already there', () => {
    expect(archiveText({ status: 'saved', srSopInstanceUID: '2.25.9', heatmapProblem: null })).toBe('Saved to the PACS as DICOM SR 2.25.9.');
    expect(archiveText({ status: 'already-saved', srSopInstanceUID: '2.25.9' })).toBe('Already in the PACS (DICOM SR 2.25.9): nothing new was written.');
  });

  it('says a heatmap the PACS refused was not stored although the score was', () => {
    expect(archiveText({ status: 'saved', srSopInstanceUID: '2.25.9', heatmapProblem: 'The PACS refused the result (HTTP 409).' })).toBe(
      'Saved to the PACS as DICOM SR 2.25.9. The heatmap was not stored: The PACS refused the result (HTTP 409).',
    );
  });

  it('says the result is kept when the PACS is down or refuses it', () => {
    expect(archiveText({ status: 'failed', kind: 'unreachable', message: 'PACS unreachable: /pacs' })).toBe(
      'The PACS cannot be reached; the result is kept in this browser. Try again when it is back. (PACS unreachable: /pacs)',
    );
    expect(archiveText({ status: 'failed', kind: 'refused', message: 'the PACS refused the result (HTTP 409): 1.2: failure reason 272.' })).toBe(
      'The PACS refused the result; it is kept in this browser. The PACS refused the result (HTTP 409): 1.2: failure reason 272.',
    );
  });

  it('shows a stored result with its model and time, to the minute in UTC', () => {
    const score = { verdict: 'verified' as const, probability: 0.734, srSopInstanceUID: '2.25.9', observedAt: '2026-11-26T10:05:59.123Z', modelId: 'chestaid-demo', modelVersion: '0.1.0' };
    expect(archivedText(score, 0.5)).toBe('In the PACS: risk score 73.4% (model chestaid-demo 0.1.0, 11/26/2026, 10:05 AM UTC)');
  });

  it('shows an unverified or conflicting stored result with its reason and never its number', () => {
    const score = { probability: 0.011, srSopInstanceUID: '2.25.9', observedAt: '1900-01-01T00:00:00.000Z', modelId: 'chestaid-demo', modelVersion: '0.1.0' };
    const unverified = archivedText({ ...score, verdict: 'unverified', reason: 'decision "below" contradicts score 0.9 against threshold 0.5 ("above")' }, 0.5);
    expect(unverified).toBe('Unverified result in the PACS, not a score: decision "below" contradicts score 0.9 against threshold 0.5 ("above").');
    const conflict = archivedText({ ...score, verdict: 'conflict', reason: '2 verified ChestAid results of this image disagree' }, 0.5);
    expect(conflict).toBe('Conflicting results in the PACS, no score shown: 2 verified ChestAid results of this image disagree.');
    for (const shown of [unverified, conflict]) expect(shown).not.toContain('1.1%');
  });
});

describe('calibration versions in words', () => {
  it('names training versions with a v and site versions as they are', () => {
    expect(versionName('1')).toBe('v1');
    expect(versionName('site-3')).toBe('site-3');
  });

  it('says a stale result is from another calibration and asks for a re-analysis, in the status line and the image list', () => {
    const outcome = { key: 'k', analysis: { probability: 0.9, calibrationVersion: 'site-1' } as unknown as Analysis, run: { backend: 'wasm', threads: 1, reason: '', totalMs: 1, runMs: 1 } };
    const target = { viewportId: 'v', displaySetInstanceUID: 'd', imageId: 'i', sopInstanceUID: '1', modality: 'CR' };
    expect(statusText({ ...ready, analysis: { status: 'stale', target, outcome, calibrationVersion: 'site-1' } })).toBe(staleText('site-1'));
    expect(staleText('1')).toBe('Computed under calibration v1, which is no longer active; re-analyze for a current score.');
    expect(imageRowText({ status: 'stale', outcome }, 0.5)).toBe('stale: calibration site-1; re-analyze');
  });
});

describe('comparisonText: the change since the prior', () => {
  const image = (sop: string, studyDate: string) => ({ displaySetInstanceUID: sop, imageId: sop, sopInstanceUID: sop, modality: 'CR', label: 'PA', studyDate });
  const score = (probability: number, calibrationVersion = 'c1', modelSha256 = 'ab') => ({ probability, modelSha256, modelVersion: '0.1.0', calibrationVersion });

  it('says the change in percentage points with both scores and the prior\'s date', () => {
    const text = comparisonText({
      current: { image: image('1', '20261104'), score: score(0.82), source: 'stored' },
      prior: { image: image('2', '20260305'), score: score(0.31), source: 'analysis' },
      change: { change: 0.51, differences: [] },
    });
    expect(text).toEqual({ line: 'Change since the prior study (03/05/2026): +51.0 percentage points (31.0% → 82.0%)', note: null });
  });

  it('says which study still needs Analyze', () => {
    expect(comparisonText({ current: { image: image('1', '20261104'), score: null, source: null }, prior: { image: image('2', '20260305'), score: score(0.3), source: 'stored' }, change: null }).line).toBe(
      'The current study (11/04/2026) is not scored yet: Analyze it to see the change since the prior.',
    );
    expect(comparisonText({ current: { image: image('1', '20261104'), score: score(0.3), source: 'stored' }, prior: { image: image('2', '20260305'), score: null, source: null }, change: null }).line).toBe(
      'The prior study (03/05/2026) is not scored yet: select its viewport and Analyze it to see the change.',
    );
  });

  it('notes scores from different model or calibration versions', () => {
    const pair = (differences: ('model' | 'calibration')[]) =>
      comparisonText({ current: { image: image('1', '20261104'), score: score(0.5), source: 'analysis' }, prior: { image: image('2', '20260305'), score: score(0.6), source: 'stored' }, change: { change: -0.1, differences } });
    expect(pair(['calibration']).note).toBe('The two scores come from different calibration versions: the change mixes them; compare with care.');
    expect(pair(['model', 'calibration']).note).toBe('The two scores come from different model and calibration versions: the change mixes them; compare with care.');
    expect(pair(['model']).line).toMatch(/: −10\.0 percentage points|: -10\.0 percentage points/);
  });
});
