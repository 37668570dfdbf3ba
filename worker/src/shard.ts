/**
 * Sharding several workers over one PACS without a lock: worker i of n takes the studies whose
 * StudyInstanceUID hashes to i mod n. Every worker computes the same partition from the UID
 * alone, so no two workers ever own one study, and no coordination (or shared state) is needed.
 * The price: a worker that is down leaves its shard unscored until it (or a replacement with the
 * same --shard) comes back; see the README for the lease alternative.
 *
 * The hash is the first 32 bits of SHA-256 of the UID's ASCII text, big-endian: stable across
 * processes, machines and languages (Python: int.from_bytes(sha256(uid).digest()[:4], 'big')).
 */
import { createHash } from 'node:crypto';

export interface Shard {
  readonly index: number;
  readonly count: number;
}

export const WHOLE: Shard = Object.freeze({ index: 0, count: 1 });

export function parseShard(text: string): Shard {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!match) throw new Error(`--shard must look like i/n (e.g. 0/3), got ${JSON.stringify(text)}`);
  const index = Number(match[1]);
  const count = Number(match[2]);
  if (count < 1 || index >= count) {
    throw new Error(`--shard ${text}: need n >= 1 and 0 <= i < n`);
  }
  return { index, count };
}

export function shardOf(studyInstanceUID: string, count: number): number {
  const digest = createHash('sha256').update(studyInstanceUID, 'ascii').digest();
  return digest.readUInt32BE(0) % count;
}

export function owns(shard: Shard, studyInstanceUID: string): boolean {
  return shard.count === 1 || shardOf(studyInstanceUID, shard.count) === shard.index;
}
