import type { DicomJson, QidoPage, QidoQuery } from '@chestaid/core';
import { listStudies } from './studies';

const study = (i: number): DicomJson => ({ '0020000D': { vr: 'UI', Value: [`1.2.${i}`] } });
const ARCHIVE = Array.from({ length: 7 }, (_, i) => study(i));

/** A QIDO server over ARCHIVE that misbehaves as told; counts its pages. */
function server(fault: 'none' | 'ignores-offset' | 'ignores-limit' | 'caps-299' | 'caps-silently' | 'endless') {
  const calls: QidoQuery[] = [];
  return {
    calls,
    searchStudies: async () => [],
    async searchStudiesPage(query: QidoQuery = {}): Promise<QidoPage> {
      calls.push(query);
      const limit = Number(query.limit);
      const offset = Number(query.offset);
      switch (fault) {
        case 'none':
          return { matches: ARCHIVE.slice(offset, offset + limit), warnings: [] };
        case 'ignores-offset':
          return { matches: ARCHIVE.slice(0, limit), warnings: [] };
        case 'ignores-limit':
          return { matches: ARCHIVE.slice(offset), warnings: [] };
        case 'caps-299': {
          const matches = ARCHIVE.slice(offset, offset + Math.min(limit, 2));
          return { matches, warnings: offset + matches.length < ARCHIVE.length ? ['299 pacs: "There are more matches than the limit"'] : [] };
        }
        case 'caps-silently':
          return { matches: ARCHIVE.slice(offset, offset + Math.min(limit, 2)), warnings: [] };
        case 'endless':
          return { matches: [study(1000 + offset), study(2000 + offset), study(3000 + offset)], warnings: [] };
      }
    },
  };
}

describe('listStudies', () => {
  it('pages a well-behaved server to its end', async () => {
    const pacs = server('none');
    expect(await listStudies(pacs, { pageSize: 3, since: undefined })).toEqual({ studies: ARCHIVE, stopped: null });
    expect(pacs.calls.map(c => c.offset)).toEqual([0, 3, 6]);
  });

  it('stops on a page that adds nothing when the server ignores offset, instead of looping forever', async () => {
    const pacs = server('ignores-offset');
    const listing = await listStudies(pacs, { pageSize: 3, since: undefined });
    expect(listing.studies).toEqual(ARCHIVE.slice(0, 3));
    expect(listing.stopped).toMatch(/ignores offset/);
    expect(pacs.calls).toHaveLength(2);
  });

  it('takes a page longer than the limit as the whole answer', async () => {
    const pacs = server('ignores-limit');
    expect(await listStudies(pacs, { pageSize: 3, since: undefined })).toEqual({ studies: ARCHIVE, stopped: null });
    expect(pacs.calls).toHaveLength(1);
  });

  it('goes on after a page capped below the limit with Warning 299, from where that page ended', async () => {
    const pacs = server('caps-299');
    expect(await listStudies(pacs, { pageSize: 5, since: undefined })).toEqual({ studies: ARCHIVE, stopped: null });
    expect(pacs.calls.map(c => c.offset)).toEqual([0, 2, 4, 6]);
  });

  it('without the warning, a short page is the end (the fault the warning exists for)', async () => {
    expect((await listStudies(server('caps-silently'), { pageSize: 5, since: undefined })).studies).toHaveLength(2);
  });

  it('stops after its page cap on a server that never ends', async () => {
    const pacs = server('endless');
    const listing = await listStudies(pacs, { pageSize: 3, since: undefined, maxPages: 4 });
    expect(pacs.calls).toHaveLength(4);
    expect(listing.stopped).toMatch(/after 4 pages \(12 studies\)/);
  });
});
