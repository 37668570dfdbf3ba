import { CHEST_PROTOCOL_IDS, CHEST_VIEW, CHEST_VIEW_ATTRIBUTE, chestPriorProtocol, chestProtocol, chestView, getHangingProtocolModule, registerChestView } from './hangingProtocol';

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

describe('the chest hanging protocols', () => {
  it('are registered under their ids, with the custom attribute their rules read', () => {
    expect(getHangingProtocolModule()).toEqual([
      { name: chestPriorProtocol.id, protocol: chestPriorProtocol },
      { name: chestProtocol.id, protocol: chestProtocol },
    ]);
    expect(CHEST_PROTOCOL_IDS).toEqual([chestPriorProtocol.id, chestProtocol.id]);
    const added: [string, string, (d: object) => number][] = [];
    registerChestView({ addCustomAttribute: (id, name, callback) => added.push([id, name, callback]) });
    expect(added.map(([id]) => id)).toEqual([CHEST_VIEW_ATTRIBUTE]);
    expect(added[0][2]({ Modality: 'DX', instance: { ViewPosition: 'PA' } })).toBe(CHEST_VIEW.frontal);
  });

  it('with a prior, hangs the current study (index 0) and the prior (index 1) side by side, and outweighs the single one', () => {
    const { displaySetSelectors, stages, protocolMatchingRules } = chestPriorProtocol;
    const indexOf = (selector: { studyMatchingRules: { constraint: { equals: { value: number } } }[] }) => selector.studyMatchingRules[0].constraint.equals.value;
    expect([indexOf(displaySetSelectors.chestaidCurrent), indexOf(displaySetSelectors.chestaidPrior)]).toEqual([0, 1]);
    expect(stages[0].viewportStructure.properties).toEqual({ rows: 1, columns: 2 });
    expect(stages[0].viewports.map(v => v.displaySets[0].id)).toEqual(['chestaidCurrent', 'chestaidPrior']);
    expect(protocolMatchingRules[0]).toMatchObject({ from: 'prior', required: true, attribute: 'StudyInstanceUID' });
    expect(protocolMatchingRules[0].weight).toBeGreaterThan(chestProtocol.protocolMatchingRules[0].weight);
  });

  it('without one, hangs the current study alone; a viewport added by a layout change takes any chest image', () => {
    expect(chestProtocol.stages.map(stage => stage.viewports.map(v => v.displaySets[0].id))).toEqual([['chestaidCurrent']]);
    expect(chestProtocol.defaultViewport.displaySets).toEqual([{ id: 'chestaidAny', matchedDisplaySetsIndex: -1 }]);
    expect('studyMatchingRules' in chestProtocol.displaySetSelectors.chestaidAny).toBe(false);
  });
});
