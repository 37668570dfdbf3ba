import { rowsToShow, sameRows, type ShownRow } from './rows';

const rows = (spec: string): ShownRow[] =>
  spec.split(' ').map(item => {
    const [id, group] = item.split(':');
    return { id, group: group as ShownRow['group'] };
  });

describe('rowsToShow', () => {
  const shown = rows('a:scored b:unanalysed c:unanalysed');
  const next = rows('c:scored a:scored b:unanalysed');

  it('shows the new order when the pointer is elsewhere', () => {
    expect(rowsToShow(shown, next, false)).toEqual(next);
  });

  it('keeps every row in place, under its shown heading, while the pointer is over the list', () => {
    expect(rowsToShow(shown, next, true)).toEqual(shown);
  });

  it('adds new studies at the end and drops gone ones while held', () => {
    expect(rowsToShow(shown, rows('d:unanalysed a:scored c:scored'), true)).toEqual(rows('a:scored c:unanalysed d:unanalysed'));
  });

  it('compares rows by id and heading', () => {
    expect(sameRows(shown, rows('a:scored b:unanalysed c:unanalysed'))).toBe(true);
    expect(sameRows(shown, rows('a:scored b:unanalysed c:scored'))).toBe(false);
    expect(sameRows(shown, rows('a:scored b:unanalysed'))).toBe(false);
  });
});
