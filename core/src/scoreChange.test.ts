import { InputError } from './errors';
import { scoreChange, type ScoreOrigin } from './scoreChange';

const origin = (probability: number, change: Partial<ScoreOrigin> = {}): ScoreOrigin => ({
  probability,
  modelSha256: 'ab'.repeat(32),
  modelVersion: '0.1.0',
  calibrationVersion: `1+sha256:${'cd'.repeat(32)}`,
  ...change,
});

describe('scoreChange', () => {
  it('is current minus prior, both calibrated probabilities', () => {
    expect(scoreChange(origin(0.82), origin(0.31)).change).toBeCloseTo(0.51, 12);
    expect(scoreChange(origin(0.2), origin(0.65)).change).toBeCloseTo(-0.45, 12);
    expect(scoreChange(origin(0.4), origin(0.4))).toEqual({ change: 0, differences: [] });
  });

  it('says when the scores come from other model bytes (sha256 compared case-blind) or another calibration', () => {
    expect(scoreChange(origin(0.5), origin(0.5, { modelSha256: 'AB'.repeat(32) })).differences).toEqual([]);
    expect(scoreChange(origin(0.5), origin(0.5, { modelSha256: 'ef'.repeat(32) })).differences).toEqual(['model']);
    expect(scoreChange(origin(0.5), origin(0.5, { calibrationVersion: `site-1+sha256:${'00'.repeat(32)}` })).differences).toEqual(['calibration']);
    expect(scoreChange(origin(0.5), origin(0.5, { modelSha256: 'ef'.repeat(32), calibrationVersion: 'x' })).differences).toEqual(['model', 'calibration']);
  });

  it('refuses a score that is not a probability, naming which', () => {
    expect(() => scoreChange(origin(1.2), origin(0.5))).toThrow(new InputError('the current score must be a probability in [0, 1], got 1.2'));
    expect(() => scoreChange(origin(0.5), origin(Number.NaN))).toThrow(/^the prior score must be a probability in \[0, 1\], got NaN$/);
  });
});
