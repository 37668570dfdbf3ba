import type { Analysis } from '../core';
import type { ChestAidState } from '../services/ChestAidService';
import { statusText } from './ChestAidPanel';

const ready: ChestAidState = {
  model: { status: 'ready', info: { id: 'chestaid-demo', version: '0.1.0', synthetic: true, disclaimer: '' } },
  study: { valid: true, description: 'ChestAid reads the CR images of this study' },
  analysis: { status: 'idle' },
  hostProblem: null,
};
const target = { viewportId: 'default', displaySetInstanceUID: 'ds', imageId: 'i', modality: 'CR' };

describe('statusText', () => {
  it('invites the reader to analyze when nothing blocks it', () => {
    expect(statusText(ready)).toBe('Press Analyze to score the image in the active viewport.');
  });

  it('shows the calibrated risk as a percentage with the decision', () => {
    const analysis = { probability: 0.734, decision: { label: 'above the clinical threshold: read first' } } as unknown as Analysis;
    expect(statusText({ ...ready, analysis: { status: 'done', target, analysis } })).toBe(
      'Risk score 73 %: above the clinical threshold: read first.',
    );
  });

  it('does not invite an analysis the study cannot have', () => {
    const ct = { ...ready, study: { valid: false, description: 'this study has CT' } };
    expect(statusText(ct)).toBe('Analyze is unavailable here.');
  });

  it('shows a manifest failure until an analysis is attempted', () => {
    const broken: ChestAidState = { ...ready, model: { status: 'error', message: 'Model manifest /m.json: bad' } };
    expect(statusText(broken)).toBe('Model manifest /m.json: bad');
  });
});
