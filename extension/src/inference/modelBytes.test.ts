import { cacheKey, loadModelBytes, reportCaching, type ModelBytesDeps, type Progress } from './modelBytes';
import { FakeCache, FakeCaches, fakeFetch, response, sha256, sha256Stream } from './testing/fakes';

const URL_ = 'https://viewer.example/models/chestaid-demo/model.onnx';
const MODEL = Uint8Array.from({ length: 37 }, (_, i) => (i * 7) % 256);
const SHA = sha256(MODEL);
const CACHE = 'chestaid-models-v1';

function deps(files: Record<string, Uint8Array> = { [URL_]: MODEL }, caches: FakeCaches | null = new FakeCaches()) {
  const { fetch, calls } = fakeFetch(files);
  let t = 0;
  const d: ModelBytesDeps = { fetch, sha256: sha256Stream, caches, makeResponse: bytes => ({ bytes }), now: () => (t += 5) };
  return { deps: d, calls, caches };
}

const source = { modelUrl: URL_, sha256: SHA, cacheName: CACHE };

describe('loadModelBytes', () => {
  it('downloads, verifies and reports progress up to the file size', async () => {
    const { deps: d } = deps();
    const progress: Progress[] = [];
    const loaded = await loadModelBytes(source, d, p => progress.push(p));
    expect(Array.from(loaded.bytes)).toEqual(Array.from(MODEL));
    expect(loaded.fromCache).toBe(false);
    expect(progress[0]).toEqual({ loaded: 0, total: MODEL.length });
    expect(progress[progress.length - 1]).toEqual({ loaded: MODEL.length, total: MODEL.length });
    expect(progress.length).toBeGreaterThan(3);
  });

  it('takes the total from the manifest when the server sends no Content-Length', async () => {
    const { deps: d } = deps();
    const noLength: ModelBytesDeps = { ...d, fetch: async () => response(MODEL, { contentLength: false }) };
    const progress: Progress[] = [];
    await loadModelBytes({ ...source, bytes: MODEL.length }, noLength, p => progress.push(p));
    expect(progress.every(p => p.total === MODEL.length)).toBe(true);
  });

  it('refuses bytes that do not hash to the manifest sha256, and caches nothing', async () => {
    const tampered = MODEL.slice();
    tampered[3] ^= 1;
    const { deps: d, caches } = deps({ [URL_]: tampered });
    await expect(loadModelBytes(source, d)).rejects.toThrow(
      `model file does not match the manifest (sha256 ${sha256(tampered)} for ${URL_}, the manifest says ${SHA}); refusing to run it`,
    );
    expect(caches?.stores.get(CACHE)?.entries.size ?? 0).toBe(0);
  });

  it('names the URL when the model file is missing', async () => {
    const { deps: d } = deps({});
    await expect(loadModelBytes(source, d)).rejects.toThrow(`model file not found: GET ${URL_} answered 404 Not Found`);
  });

  it('names the URL when the network fails', async () => {
    const { deps: d } = deps();
    const offline: ModelBytesDeps = { ...d, fetch: async () => Promise.reject(new TypeError('Failed to fetch')) };
    await expect(loadModelBytes(source, offline)).rejects.toThrow(`could not download the model from ${URL_}: Failed to fetch`);
  });

  it('serves the next load from the cache under a key that names the hash, without downloading', async () => {
    const { deps: d, calls, caches } = deps();
    await (await loadModelBytes(source, d)).keep?.();
    expect([...(caches?.stores.get(CACHE)?.entries.keys() ?? [])]).toEqual([cacheKey(URL_, SHA)]);
    expect(cacheKey(URL_, SHA)).toContain(SHA);

    const again = await loadModelBytes(source, d);
    expect(again.fromCache).toBe(true);
    expect(Array.from(again.bytes)).toEqual(Array.from(MODEL));
    expect(calls).toEqual([URL_]);
  });

  it('re-verifies a cache hit and downloads again when the entry is corrupt', async () => {
    const { deps: d, calls, caches } = deps();
    const cache = await caches!.open(CACHE);
    cache.entries.set(cacheKey(URL_, SHA), new Uint8Array(MODEL.length));
    const loaded = await loadModelBytes(source, d);
    await loaded.keep?.();
    expect(loaded.fromCache).toBe(false);
    expect(calls).toEqual([URL_]);
    expect(Array.from(cache.entries.get(cacheKey(URL_, SHA)) ?? [])).toEqual(Array.from(MODEL));
  });

  it('evicts the cached bytes of an older version of the same file', async () => {
    const { deps: d, caches } = deps();
    const cache = await caches!.open(CACHE);
    const oldKey = cacheKey(URL_, 'cd'.repeat(32));
    const otherModel = cacheKey('https://viewer.example/models/other/model.onnx', 'ef'.repeat(32));
    cache.entries.set(oldKey, new Uint8Array(3));
    cache.entries.set(otherModel, new Uint8Array(3));
    await (await loadModelBytes(source, d)).keep?.();
    expect([...cache.entries.keys()].sort()).toEqual([cacheKey(URL_, SHA), otherModel].sort());
  });

  it('works without the Cache API, and says so when storing fails', async () => {
    const { deps: noCache, calls } = deps(undefined, null);
    await loadModelBytes(source, noCache);
    await loadModelBytes(source, noCache);
    expect(calls).toHaveLength(2);

    const { deps: d } = deps();
    class FullCache extends FakeCache {
      override async put(): Promise<void> {
        throw new Error('QuotaExceededError');
      }
    }
    const full: ModelBytesDeps = { ...d, caches: { open: async () => new FullCache() } };
    const loaded = await loadModelBytes(source, full);
    const warnings: string[] = [];
    reportCaching(loaded, message => warnings.push(message));
    // The same store as reportCaching's: keep() stores once.
    await expect(loaded.keep?.()).resolves.toBe('verified model not cached: QuotaExceededError');
    expect(warnings).toEqual(['ChestAid: verified model not cached: QuotaExceededError; the next page load downloads the model again']);
  });

  it('says when the bytes are under way: once the download is requested, or the cache hit found', async () => {
    const { deps: d } = deps();
    const events: string[] = [];
    const traced: ModelBytesDeps = {
      ...d,
      fetch: url => {
        events.push('fetch');
        return d.fetch(url);
      },
    };
    await (await loadModelBytes(source, traced, () => undefined, () => events.push('under way'))).keep?.();
    await loadModelBytes(source, traced, () => undefined, () => events.push('under way'));
    expect(events).toEqual(['fetch', 'under way', 'under way']);
  });

  it('hands the verified bytes over before storing them, and stores them when asked without holding the caller', async () => {
    const { deps: d } = deps();
    let finishPut!: () => void;
    const putting = new Promise<void>(resolve => (finishPut = resolve));
    class SlowCache extends FakeCache {
      override async put(key: string, response: unknown): Promise<void> {
        await putting;
        return super.put(key, response);
      }
    }
    const cache = new SlowCache();
    const slow: ModelBytesDeps = { ...d, caches: { open: async () => cache } };
    const loaded = await loadModelBytes(source, slow);
    expect(loaded.fromCache).toBe(false);
    expect(cache.entries.size).toBe(0); // nothing wrapped or stored until the engine asks
    let stored = false;
    const storing = loaded.keep?.();
    void storing?.then(() => (stored = true));
    await Promise.resolve();
    expect(stored).toBe(false);
    finishPut();
    await expect(storing).resolves.toBeUndefined();
    expect((await loadModelBytes(source, slow)).fromCache).toBe(true);
  });
});
