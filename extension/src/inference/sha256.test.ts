import { createHash, randomBytes } from 'node:crypto';

import { sha256Stream } from './sha256';

describe('sha256Stream', () => {
  it("gives node:crypto's digest whatever the chunking, empty chunks and the empty input included", async () => {
    const data = new Uint8Array(randomBytes(1 << 20));
    for (const sizes of [[data.length], [1, 63, 64, 65, 4096, 100_000], [65_536], [7]]) {
      const stream = await sha256Stream();
      let offset = 0;
      for (let i = 0; offset < data.length; i++) {
        const size = sizes[i % sizes.length];
        stream.update(data.subarray(offset, offset + size));
        stream.update(new Uint8Array(0));
        offset += size;
      }
      expect(stream.hex()).toBe(createHash('sha256').update(data).digest('hex'));
    }
    expect((await sha256Stream()).hex()).toBe(createHash('sha256').digest('hex'));
  });

  it('gives independent streams', async () => {
    const [a, b] = await Promise.all([sha256Stream(), sha256Stream()]);
    a.update(Uint8Array.of(1, 2, 3));
    b.update(Uint8Array.of(4));
    expect(a.hex()).toBe(createHash('sha256').update(Uint8Array.of(1, 2, 3)).digest('hex'));
    expect(b.hex()).toBe(createHash('sha256').update(Uint8Array.of(4)).digest('hex'));
  });
});
