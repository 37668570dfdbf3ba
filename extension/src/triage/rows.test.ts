import { rowsToShow, sameRows, type ShownRow } from './rows';

const rows = (spec: string): ShownRow[] =>
  spec.split(' ').map(item => {
    const [id, group] = item.split(':');
    return { id, group: group as ShownRow['group'] };
  });

describe('rowsToShow', () => {
  const shown = rows('a:scored b:unanalyzed c:unanalyzed');
  const next = rows('c:scored a:scored b:unanalyzed');

  it('shows the new order when the pointer is elsewhere', () => {
    expect(rowsToShow(shown, next, false)).toEqual(next);
  });

  it('keeps every row in place, under its shown heading, while the pointer is over the list', () => {
    expect(rowsToShow(shown, next, true)).toEqual(shown);
  });

  it('adds new studies at the end and drops gone ones while held', () => {
    expect(rowsToShow(shown, rows('d:unanalyzed a:scored c:scored'), true)).toEqual(rows('a:scored c:unanalyzed d:unanalyzed'));
  });

  it('compares rows by id and heading', () => {
    expect(sameRows(shown, rows('a:scored b:unanalyzed c:unanalyzed'))).toBe(true);
    expect(sameRows(shown, rows('a:scored b:unanalyzed c:scored'))).toBe(false);
    expect(sameRows(shown, rows('a:scored b:unanalyzed'))).toBe(false);
  });
});
