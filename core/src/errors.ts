/**
 * Errors the core throws. Each message names the offending value so that the OHIF glue can show
 * it to the reader as is; only the glue turns these into notifications (STYLE.md 14).
 */

/** An image, tensor or parameter the core cannot process (wrong modality, corrupt pixels...). */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
    // Keeps `instanceof` working when a consumer transpiles classes to ES5.
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/** A model manifest the viewer refuses: unknown schema major, schema violation, bad parameters. */
export class ManifestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ManifestError';
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/** A value as it should appear in a message: strings quoted, everything else as JSON would. */
export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : String(value);
  if (value === undefined) return 'undefined';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** What went wrong, in words, from whatever was thrown: an Error's message, anything else as text. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
