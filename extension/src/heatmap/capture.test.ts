import { wrapText } from './capture';

describe('wrapText', () => {
  const measure = (text: string) => text.length; // one unit a character

  it('breaks a caption at word boundaries to fit the width, keeping every word', () => {
    expect(wrapText('Decision support, not a diagnosis.', 16, measure)).toEqual(['Decision', 'support, not a', 'diagnosis.']);
  });

  it('keeps a word longer than the width whole on its own line', () => {
    expect(wrapText('sha256 0e5a23a2c2f0e619182f07607a625dbc end', 10, measure)).toEqual(['sha256', '0e5a23a2c2f0e619182f07607a625dbc', 'end']);
  });

  it('gives one line for a short caption and none for an empty one', () => {
    expect(wrapText('Heatmap', 80, measure)).toEqual(['Heatmap']);
    expect(wrapText('  ', 80, measure)).toEqual([]);
  });
});
