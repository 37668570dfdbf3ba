/**
 * A fix for the host, needed to read radiographs from a DICOMweb PACS.
 *
 * Cornerstone 5.6.8's image loader (in OHIF 3.13.2) reads the VOI LUT function as
 * `voiLutModule.voiLUTFunction[0]`, expecting a list. OHIF's DICOMweb data source gives a
 * single-valued VOILUTFunction (0028,1056) as a plain string, so "LINEAR" becomes "L", and
 * rendering throws "Invalid VOI LUT function": the radiograph stays black. Most CR/DX images
 * carry VOILUTFunction, so every such image from a PACS is affected, in every mode.
 *
 * The provider below sits ahead of the host's for `voiLutModule` only. It asks the host's
 * providers for the module and hands it on with that one value as a one-element list; anything
 * already a list, or absent, passes unchanged.
 */

/** The part of Cornerstone's metadata registry the fix uses. */
export interface MetaDataRegistry {
  get(type: string, imageId: string): unknown;
  addProvider(provider: (type: string, imageId: string) => unknown, priority?: number): void;
}

/** Ahead of OHIF's providers (which register with priorities up to a few thousand). */
export const VOI_LUT_FIX_PRIORITY = 100_000;

const installed = new WeakSet<object>();

/** The module with a string voiLUTFunction turned into a one-element list; others unchanged. */
export function withListedVoiLutFunction(module: unknown): unknown {
  if (!module || typeof module !== 'object') return module;
  const fn = (module as { voiLUTFunction?: unknown }).voiLUTFunction;
  return typeof fn === 'string' ? { ...module, voiLUTFunction: [fn] } : module;
}

/** Installs the fix once per registry; returns false when it was already installed. */
export function installVoiLutFunctionFix(metaData: MetaDataRegistry): boolean {
  if (installed.has(metaData)) return false;
  installed.add(metaData);
  let asking = false;
  metaData.addProvider((type, imageId) => {
    // While it asks the registry itself, the provider steps aside, so the host's answer comes back.
    if (type !== 'voiLutModule' || asking) return undefined;
    asking = true;
    try {
      return withListedVoiLutFunction(metaData.get(type, imageId));
    } finally {
      asking = false;
    }
  }, VOI_LUT_FIX_PRIORITY);
  return true;
}
