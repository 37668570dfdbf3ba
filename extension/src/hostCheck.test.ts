import { hostProblem } from './hostCheck';

describe('hostProblem', () => {
  it('accepts the Cornerstone 5.6 namespaces the pinned viewer exposes', () => {
    expect(hostProblem({ cornerstone: { version: '5.6.8' }, cornerstoneTools: {} })).toBeNull();
  });

  it('names another Cornerstone version', () => {
    expect(hostProblem({ cornerstone: { version: '6.0.0' }, cornerstoneTools: {} })).toBe(
      'The viewer runs Cornerstone 6.0.0; this ChestAid build supports 5.6.x.',
    );
  });

  it('says so when the namespaces are missing', () => {
    expect(hostProblem({})).toMatch(/does not expose Cornerstone/);
  });
});
