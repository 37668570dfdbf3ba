/**
 * The model's bytes, verified: downloaded with progress, hashed as they arrive (SHA-256 fed chunk
 * by chunk: what is left after the last byte is one block, where hashing the whole file after the
 * download took 0.1-0.3 s in the viewer) and compared with the manifest's sha256 before anything
 * else sees them, then kept in the Cache API under a
 * key that names the hash, so the next page load skips the download (and re-verifies). The bytes
 * are handed over as soon as they are verified; the engine has them written to the Cache API
 * (about half a second for the 27 MB demo model in a fresh browser profile) once it has started.
 *
 * The browser objects are structurally typed parameters; tests pass fakes (STYLE.md 11).
 */
import { messageOf } from '@chestaid/core';
import { ModelBytesError } from './protocol';

export interface BodyReaderLike {
  read(): Promise<{ done: boolean; value?: Uint8Array }>;
}

export interface ResponseLike {
  readonly ok: boolean;
  readonly status: number;
  readonly statusText: string;
  readonly headers: { get(name: string): string | null };
  readonly body: { getReader(): BodyReaderLike } | null;
  arrayBuffer(): Promise<ArrayBuffer>;
}

export interface CacheLike {
  match(key: string): Promise<ResponseLike | undefined>;
  put(key: string, response: unknown): Promise<void>;
  delete(key: string): Promise<boolean>;
  keys(): Promise<readonly { readonly url: string }[]>;
}

/** SHA-256 fed chunk by chunk. */
export interface Sha256Stream {
  update(chunk: Uint8Array): void;
  /** The digest of everything fed, as lowercase hex. */
  hex(): string;
}

export interface ModelBytesDeps {
  readonly fetch: (url: string) => Promise<ResponseLike>;
  /** A new SHA-256 stream (hash-wasm's in the browser: ./sha256.ts; node:crypto's in tests). */
  readonly sha256: () => Promise<Sha256Stream>;
  /** null where the Cache API is missing (e.g. an insecure context). */
  readonly caches: { open(name: string): Promise<CacheLike> } | null;
  /** Wraps bytes in a Response for Cache.put. */
  readonly makeResponse: (bytes: Uint8Array) => unknown;
  readonly now: () => number;
}

export interface ModelSource {
  readonly modelUrl: string;
  readonly sha256: string;
  readonly bytes?: number;
  readonly cacheName: string | null;
}

export interface Progress {
  readonly loaded: number;
  readonly total: number | null;
}

export interface LoadedModel {
  readonly bytes: Uint8Array;
  readonly fromCache: boolean;
  readonly downloadMs: number;
  /** From the last byte to the hash's verdict (the hashing itself goes on during the download). */
  readonly verifyMs: number;
  /**
   * After a download into a cache: stores the bytes, and settles once they are stored, with a
   * problem (quota...) or undefined; never rejects. Absent when there is nothing to store. The
   * engine calls it (through reportCaching) once its model runs or has failed: a Response copies
   * the bytes it wraps, 0.1-0.15 s for the demo model, which the first Analyze should not wait for.
   */
  readonly keep?: () => Promise<string | undefined>;
}

const CACHE_PARAM = 'chestaid-sha256';

/** The Cache API key: the model URL with the expected hash in it (fragments are ignored by caches). */
export function cacheKey(modelUrl: string, sha256: string): string {
  const url = new URL(modelUrl);
  url.searchParams.set(CACHE_PARAM, sha256.toLowerCase());
  return url.href;
}

function baseOf(key: string): string {
  const url = new URL(key);
  url.searchParams.delete(CACHE_PARAM);
  return url.href;
}

/**
 * `onUnderWay` is called once the bytes are on their way (the download requested, or the cache
 * hit found), so a caller may hold back CPU-heavy work that would delay the request.
 */
export async function loadModelBytes(
  source: ModelSource,
  deps: ModelBytesDeps,
  onProgress: (progress: Progress) => void = () => {},
  onUnderWay: () => void = () => {},
): Promise<LoadedModel> {
  const expected = source.sha256.toLowerCase();
  const key = cacheKey(source.modelUrl, expected);
  const cache = await openCache(source.cacheName, deps);

  if (cache) {
    const hit = await cache.match(key).catch(() => undefined);
    if (hit) {
      onUnderWay();
      const start = deps.now();
      const hash = await deps.sha256();
      const bytes = await readHashed(hit, hash, null, () => {});
      const downloadMs = deps.now() - start;
      const verifyStart = deps.now();
      const actual = hash.hex();
      const verifyMs = deps.now() - verifyStart;
      if (actual === expected) {
        onProgress({ loaded: bytes.length, total: bytes.length });
        return { bytes, fromCache: true, downloadMs, verifyMs };
      }
      // A corrupt entry is dropped and the file downloaded again, never trusted.
      await cache.delete(key).catch(() => false);
    }
  }

  const start = deps.now();
  const { bytes, hash } = await download(source, deps, onProgress, onUnderWay);
  const downloadMs = deps.now() - start;
  const verifyStart = deps.now();
  const actual = hash.hex();
  const verifyMs = deps.now() - verifyStart;
  if (actual !== expected) {
    throw new ModelBytesError(
      `model file does not match the manifest (sha256 ${actual} for ${source.modelUrl}, the manifest says ${expected}); refusing to run it`,
    );
  }
  if (!cache) return { bytes, fromCache: false, downloadMs, verifyMs };
  // Stored when the engine says (LoadedModel.keep): the next page load's gain, not this one's.
  let stored: Promise<string | undefined> | null = null;
  return { bytes, fromCache: false, downloadMs, verifyMs, keep: () => (stored ??= store(cache, key, bytes, deps)) };
}

async function openCache(name: string | null, deps: ModelBytesDeps): Promise<CacheLike | null> {
  if (!name || !deps.caches) return null;
  try {
    return await deps.caches.open(name);
  } catch {
    // Storage can be blocked (private mode, quota, policy); caching is an optimisation only.
    return null;
  }
}

async function download(source: ModelSource, deps: ModelBytesDeps, onProgress: (p: Progress) => void, onUnderWay: () => void): Promise<{ bytes: Uint8Array; hash: Sha256Stream }> {
  let response: ResponseLike;
  // Made while the request is under way (hash-wasm compiles its module).
  const hashing = deps.sha256();
  hashing.catch(() => undefined); // a failed request is the error to report
  try {
    const requested = deps.fetch(source.modelUrl);
    onUnderWay();
    response = await requested;
  } catch (error) {
    throw new ModelBytesError(`could not download the model from ${source.modelUrl}: ${messageOf(error)}`);
  }
  if (response.status === 404) {
    throw new ModelBytesError(`model file not found: GET ${source.modelUrl} answered 404 ${response.statusText}`.trim());
  }
  if (!response.ok) {
    throw new ModelBytesError(`could not download the model: GET ${source.modelUrl} answered ${response.status} ${response.statusText}`.trim());
  }
  const length = Number(response.headers.get('content-length'));
  const total = Number.isFinite(length) && length > 0 ? length : source.bytes ?? null;
  const hash = await hashing;
  return { bytes: await readHashed(response, hash, total, onProgress), hash };
}

/** A response's body, read chunk by chunk and fed to `hash` as it comes. */
async function readHashed(response: ResponseLike, hash: Sha256Stream, total: number | null, onProgress: (p: Progress) => void): Promise<Uint8Array> {
  if (!response.body) {
    const bytes = new Uint8Array(await response.arrayBuffer());
    hash.update(bytes);
    onProgress({ loaded: bytes.length, total: total ?? bytes.length });
    return bytes;
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  onProgress({ loaded, total });
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (!value) continue;
    hash.update(value);
    chunks.push(value);
    loaded += value.length;
    onProgress({ loaded, total });
  }
  if (chunks.length === 1) return chunks[0];
  const bytes = new Uint8Array(loaded);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes;
}

/** Stores the verified bytes and evicts other versions of the same file; returns a problem or undefined. */
async function store(cache: CacheLike, key: string, bytes: Uint8Array, deps: ModelBytesDeps): Promise<string | undefined> {
  try {
    // Wrapped before anything else (a Response copies its body), whatever is done with `bytes` next.
    const response = deps.makeResponse(bytes);
    const base = baseOf(key);
    for (const request of await cache.keys()) {
      if (request.url !== key && baseOf(request.url) === base) await cache.delete(request.url);
    }
    await cache.put(key, response);
    return undefined;
  } catch (error) {
    return `verified model not cached: ${messageOf(error)}`;
  }
}

/** Stores the verified bytes (LoadedModel.keep) and says in the worker's console when they could not be kept (the next load downloads them again). */
export function reportCaching(loaded: LoadedModel, warn: (message: string) => void = message => console.warn(message)): void {
  void loaded.keep?.().then(problem => {
    if (problem) warn(`ChestAid: ${problem}; the next page load downloads the model again`);
  });
}
