/**
 * The run-time half of scripts/check-ohif-host.mjs: ChestAid reaches Cornerstone only through the
 * namespace the host puts on window. Returns a sentence naming what differs, or null.
 */
export const EXPECTED_CORNERSTONE = /^5\.6\./;

export function hostProblem(host: { cornerstone?: { version?: unknown }; cornerstoneTools?: unknown }): string | null {
  if (!host.cornerstone || !host.cornerstoneTools) {
    return 'The viewer does not expose Cornerstone (window.cornerstone, window.cornerstoneTools); ChestAid cannot read images.';
  }
  const version = String(host.cornerstone.version ?? 'unknown');
  if (!EXPECTED_CORNERSTONE.test(version)) {
    return `The viewer runs Cornerstone ${version}; this ChestAid build supports 5.6.x.`;
  }
  return null;
}
