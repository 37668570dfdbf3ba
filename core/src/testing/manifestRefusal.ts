/** The message of the ManifestError parseManifest refuses `json` with; throws when it accepts it or throws anything else. */
import { ManifestError } from '../errors';
import { parseManifest } from '../manifest';

export function manifestRefusal(json: unknown): string {
  try {
    parseManifest(json);
  } catch (error) {
    if (error instanceof ManifestError) return error.message;
    throw new Error(`expected a ManifestError, got ${String(error)}`);
  }
  throw new Error('expected a ManifestError; the manifest was accepted');
}
