import { chooseThreads, describeWasm, findAdapter } from './backend';
import { SWIFTSHADER, fakeGpu } from './testing/fakes';

describe('chooseThreads', () => {
  it.each([
    [2, 2],
    [4, 4],
    [16, 4],
    [1, 1],
    [undefined, 1],
  ])('uses min(4, %s cores) -> %s threads when cross-origin isolated', (cores, threads) => {
    expect(chooseThreads({ crossOriginIsolated: true, hardwareConcurrency: cores }).threads).toBe(threads);
  });

  it('uses 1 thread and says why when the page is not cross-origin isolated', () => {
    const choice = chooseThreads({ crossOriginIsolated: false, hardwareConcurrency: 8 });
    expect(describeWasm(choice)).toBe('using wasm, 1 thread (page not cross-origin isolated)');
  });

  it('honours a configured count, but cannot give threads without isolation', () => {
    expect(chooseThreads({ crossOriginIsolated: true, hardwareConcurrency: 2 }, 1)).toEqual({ threads: 1, note: ' (set by configuration)' });
    expect(chooseThreads({ crossOriginIsolated: false }, 2).threads).toBe(1);
    expect(() => chooseThreads({ crossOriginIsolated: true }, 0)).toThrow('numThreads must be a positive integer, got 0');
  });

  it('describes the 2-core default as the reader sees it', () => {
    expect(describeWasm(chooseThreads({ crossOriginIsolated: true, hardwareConcurrency: 2 }))).toBe('using wasm, 2 threads');
  });
});

describe('findAdapter', () => {
  it('reports the adapter, fallback flag included', async () => {
    await expect(findAdapter(fakeGpu(SWIFTSHADER), 'auto')).resolves.toEqual({
      adapter: { isFallbackAdapter: true, vendor: 'google', architecture: 'swiftshader', description: '' },
    });
  });

  it('reads the fallback flag where older browsers keep it', async () => {
    const lookup = await findAdapter(fakeGpu({ isFallbackAdapter: true }), 'auto');
    expect(lookup.adapter?.isFallbackAdapter).toBe(true);
  });

  it.each([
    ['no navigator.gpu', null, 'auto', 'no WebGPU adapter (navigator.gpu is absent)'],
    ['a null adapter', fakeGpu(null), 'auto', 'no WebGPU adapter'],
    ['a failing requestAdapter', { requestAdapter: () => Promise.reject(new Error('GPU process crashed')) }, 'auto', 'no WebGPU adapter (requestAdapter failed: GPU process crashed)'],
    ['WebGPU turned off', fakeGpu(SWIFTSHADER), 'wasm', 'WebGPU turned off by configuration'],
  ] as const)('gives a reason for %s', async (_case, gpu, mode, reason) => {
    await expect(findAdapter(gpu, mode)).resolves.toEqual({ adapter: null, reason });
  });
});
