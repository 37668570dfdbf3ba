import { createHash } from 'node:crypto';

import { owns, parseShard, shardOf } from './shard';

const uids = Array.from({ length: 200 }, (_, i) => `2.25.${1000 + i * 7919}`);

describe('shards', () => {
  it('give every study to exactly one of n workers', () => {
    for (const n of [1, 2, 3, 5]) {
      for (const uid of uids) {
        const owners = Array.from({ length: n }, (_, i) => i).filter(i => owns({ index: i, count: n }, uid));
        expect(owners).toEqual([shardOf(uid, n)]);
      }
    }
  });

  it('hash the UID the documented way (first 32 bits of its SHA-256, big-endian), so any language can compute it', () => {
    const uid = '2.25.181953783047590150888959702673563793179';
    expect(shardOf(uid, 7)).toBe(createHash('sha256').update(uid).digest().readUInt32BE(0) % 7);
  });

  it('spread studies roughly evenly', () => {
    const sizes = [0, 0, 0];
    for (const uid of uids) sizes[shardOf(uid, 3)]++;
    for (const size of sizes) expect(size).toBeGreaterThan(40);
  });

  it('are given as i/n, and a bad one is named', () => {
    expect(parseShard('1/3')).toEqual({ index: 1, count: 3 });
    expect(() => parseShard('3/3')).toThrow(/--shard 3\/3: need n >= 1 and 0 <= i < n/);
    expect(() => parseShard('one of three')).toThrow(/--shard must look like i\/n .*"one of three"/);
  });
});
