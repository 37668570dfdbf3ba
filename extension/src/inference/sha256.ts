/**
 * The model file's SHA-256, fed chunk by chunk as the download arrives (modelBytes.ts):
 * hash-wasm's, since SubtleCrypto only hashes a whole buffer at once. sha256.test.ts holds it to
 * node:crypto's digest.
 */
import { createSHA256 } from 'hash-wasm';
import type { Sha256Stream } from './modelBytes';

export async function sha256Stream(): Promise<Sha256Stream> {
  const hasher = await createSHA256();
  hasher.init();
  return {
    update: chunk => {
      hasher.update(chunk);
    },
    hex: () => hasher.digest('hex'),
  };
}
