import { decimal, etaText, methodName, percent, withInterval } from './format';

describe('calibration page words', () => {
  it('shows unknown values as a dash, never as 0', () => {
    expect(percent(null)).toBe('–');
    expect(decimal(Number.NaN)).toBe('–');
    expect(percent(0)).toBe('0.0 %');
  });

  it('gives a threshold with its bootstrap interval, or alone when a bound is unknown', () => {
    expect(withInterval(0.62, 0.55, 0.7)).toBe('62.0 % (95 % CI 55.0 % to 70.0 %)');
    expect(withInterval(0.62, null, 0.7)).toBe('62.0 %');
  });

  it('names methods and time left in words', () => {
    expect(methodName('platt')).toBe('Platt scaling');
    expect(methodName('other')).toBe('other');
    expect(etaText(12_400)).toBe('about 12 s left');
    expect(etaText(150_000)).toBe('about 3 min left');
  });
});
