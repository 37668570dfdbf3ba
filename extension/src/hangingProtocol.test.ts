import { CHEST_VIEW, CHEST_VIEW_ATTRIBUTE, chestPriorProtocol, chestView, getHangingProtocolModule, registerChestView } from './hangingProtocol';

describe('chestView', () => {
  it('rates a frontal CR/DX view above another CR/DX view, and anything else at none', () => {
    expect(chestView({ Modality: 'CR', instance: { ViewPosition: 'PA' } })).toBe(CHEST_VIEW.frontal);
    expect(chestView({ Modality: 'dx', instances: [{ ViewPosition: 'AP' }] })).toBe(CHEST_VIEW.frontal);
    expect(chestView({ Modality: 'CR', instance: {} })).toBe(CHEST_VIEW.frontal);
    expect(chestView({ Modality: 'CR', instance: { ViewPosition: 'LL' } })).toBe(CHEST_VIEW.other);
    expect(chestView({ Modality: 'CT', instance: { ViewPosition: 'PA' } })).toBe(CHEST_VIEW.none);
    expect(chestView(undefined)).toBe(CHEST_VIEW.none);
  });
});

describe('the chest hanging protocol', () => {
  it('is registered under its id, with the custom attribute its rules read', () => {
    expect(getHangingProtocolModule()).toEqual([{ name: chestPriorProtocol.id, protocol: chestPriorProtocol }]);
    const added: [string, string, (d: object) => number][] = [];
    registerChestView({ addCustomAttribute: (id, name, callback) => added.push([id, name, callback]) });
    expect(added.map(([id]) => id)).toEqual([CHEST_VIEW_ATTRIBUTE]);
    expect(added[0][2]({ Modality: 'DX', instance: { ViewPosition: 'PA' } })).toBe(CHEST_VIEW.frontal);
  });

  it('hangs the current study (index 0) first and the prior (index 1) beside it when both match, else the current alone', () => {
    const { displaySetSelectors, stages } = chestPriorProtocol;
    const indexOf = (selector: { studyMatchingRules: { constraint: { equals: { value: number } } }[] }) => selector.studyMatchingRules[0].constraint.equals.value;
    expect([indexOf(displaySetSelectors.chestaidCurrent), indexOf(displaySetSelectors.chestaidPrior)]).toEqual([0, 1]);
    expect(stages[0].viewportStructure.properties).toEqual({ rows: 1, columns: 2 });
    expect(stages[0].viewports.map(v => v.displaySets[0].id)).toEqual(['chestaidCurrent', 'chestaidPrior']);
    expect(stages[0].stageActivation).toEqual({ passive: { displaySetSelectorsMatched: ['chestaidPrior'] }, enabled: { minViewportsMatched: 2 } });
    expect(stages[1].viewports.map(v => v.displaySets[0].id)).toEqual(['chestaidCurrent']);
  });
});
