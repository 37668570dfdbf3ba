import { buttonsInSections, registerToolbar } from './toolbar';

const button = (id: string) => ({ id, uiType: 'ohif.toolButton' });

describe('registerToolbar', () => {
  it('registers the placed buttons only and fills each section, later lists winning', () => {
    const registered: unknown[] = [];
    const sections: [string, unknown][] = [];
    const resolved: Record<string, unknown> = {
      toolbarButtons: [button('Zoom'), button('SegmentLabelTool'), button('MoreTools'), button('ChestAidAnalyze')],
      toolbarSections: [
        { primary: ['Zoom', 'Layout'], MoreTools: ['SegmentLabelTool'] },
        { primary: ['Zoom', 'MoreTools', 'ChestAidAnalyze'], MoreTools: ['Zoom'] },
      ],
    };
    registerToolbar({
      toolbarService: { register: buttons => registered.push(...buttons), updateSection: (s, ids) => sections.push([s, ids]) },
      customizationService: { getCustomization: id => resolved[id] },
    });
    expect(registered).toEqual([button('Zoom'), button('MoreTools'), button('ChestAidAnalyze')]);
    expect(sections).toEqual([
      ['primary', ['Zoom', 'MoreTools', 'ChestAidAnalyze']],
      ['MoreTools', ['Zoom']],
    ]);
  });
});

describe('buttonsInSections', () => {
  it('keeps nothing when no section places a button', () => {
    expect(buttonsInSections([button('Zoom'), null], {})).toEqual([]);
  });
});
