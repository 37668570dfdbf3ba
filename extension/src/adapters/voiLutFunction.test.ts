import { installVoiLutFunctionFix, withListedVoiLutFunction, type MetaDataRegistry } from './voiLutFunction';

/** Cornerstone's registry, as it behaves: providers by descending priority, first defined answer wins. */
function registry(hostAnswer: (type: string, imageId: string) => unknown): MetaDataRegistry {
  const providers: { provider: (type: string, imageId: string) => unknown; priority: number }[] = [
    { provider: hostAnswer, priority: 0 },
  ];
  return {
    addProvider(provider, priority = 0) {
      providers.push({ provider, priority });
      providers.sort((a, b) => b.priority - a.priority);
    },
    get(type, imageId) {
      for (const { provider } of providers) {
        const answer = provider(type, imageId);
        if (answer !== undefined) return answer;
      }
      return undefined;
    },
  };
}

// What Cornerstone's loader does with the module (dicom-image-loader createImage).
const loaderReads = (module: { voiLUTFunction?: unknown }) =>
  ((module.voiLUTFunction as string[] | undefined)?.length && (module.voiLUTFunction as string[])[0]) || undefined;

describe('the VOI LUT function fix', () => {
  it('gives the loader "LINEAR", not "L", for a single value the DICOMweb source gives as a string', () => {
    const host = registry(type => (type === 'voiLutModule' ? { windowCenter: [2048], windowWidth: [4096], voiLUTFunction: 'LINEAR' } : undefined));
    expect(loaderReads(host.get('voiLutModule', 'wadors:x') as { voiLUTFunction?: unknown })).toBe('L');
    installVoiLutFunctionFix(host);
    const module = host.get('voiLutModule', 'wadors:x') as { voiLUTFunction?: unknown; windowCenter: number[] };
    expect(loaderReads(module)).toBe('LINEAR');
    expect(module.windowCenter).toEqual([2048]);
  });

  it('leaves lists, absent values, other modules and unknown images as the host answers them', () => {
    const listed = { voiLUTFunction: ['SIGMOID'] };
    const host = registry((type, imageId) => {
      if (imageId === 'unknown') return undefined;
      if (type === 'voiLutModule') return imageId === 'listed' ? listed : { windowCenter: [1] };
      return { rows: 2 };
    });
    installVoiLutFunctionFix(host);
    expect(host.get('voiLutModule', 'listed')).toBe(listed);
    expect(host.get('voiLutModule', 'plain')).toEqual({ windowCenter: [1] });
    expect(host.get('imagePixelModule', 'plain')).toEqual({ rows: 2 });
    expect(host.get('voiLutModule', 'unknown')).toBeUndefined();
  });

  it('installs once per registry', () => {
    const host = registry(() => ({ voiLUTFunction: 'LINEAR' }));
    expect(installVoiLutFunctionFix(host)).toBe(true);
    expect(installVoiLutFunctionFix(host)).toBe(false);
    expect(host.get('voiLutModule', 'x')).toEqual({ voiLUTFunction: ['LINEAR'] });
  });

  it('does not touch what is not an object', () => {
    expect(withListedVoiLutFunction(undefined)).toBeUndefined();
    expect(withListedVoiLutFunction('LINEAR')).toBe('LINEAR');
  });
});
