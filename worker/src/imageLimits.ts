/**
 * No poison image: what an image may cost, checked from its WADO-RS metadata before a pixel is
 * fetched, and the byte cap the fetch then reads under. A huge or multi-frame image used to be
 * buffered whole before anything looked at its size, and could run the worker out of memory on
 * every retry; now it is refused from a few kilobytes of JSON, and an image whose metadata lies
 * is cut off at the cap. Both are image failures no retry can fix (permanent, dead-lettered).
 *
 * The cap is the pixel data the metadata announces (rows x columns x samples x frames x bits)
 * plus room for the header, so a compressed image (smaller) always fits and a lie cannot cost
 * more than the limits allow.
 */
import { type DicomJson, InputError } from '@chestaid/core';

export interface ImageLimits {
  /** Frames per image: the model reads one. */
  readonly maxFrames: number;
  /** Rows x columns. */
  readonly maxPixels: number;
  /** Bytes allowed above the announced pixel data, for the header (and a compressed frame's framing). */
  readonly headerBytes: number;
  /** How long a compressed image may take to decode (decompress.ts's thread) before it is given up as corrupt; default 30 s. */
  readonly decodeMs?: number;
}

/** A 43 x 43 cm detector at 100 um is about 4300 x 4300; twice that in each dimension is refused. */
export const DEFAULT_LIMITS: ImageLimits = Object.freeze({ maxFrames: 1, maxPixels: 8600 * 8600, headerBytes: 4 * 1024 * 1024 });

const TAGS = {
  Rows: '00280010',
  Columns: '00280011',
  SamplesPerPixel: '00280002',
  BitsAllocated: '00280100',
  NumberOfFrames: '00280008',
} as const;

function count(metadata: DicomJson, name: keyof typeof TAGS, where: string, { required = true } = {}): number | undefined {
  const raw = metadata[TAGS[name]]?.Value?.[0];
  if (raw === undefined || raw === null || raw === '') {
    if (required) throw new InputError(`${where} has no ${name} in its metadata: not an image the worker can read`);
    return undefined;
  }
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new InputError(`${where} has ${name} ${JSON.stringify(raw)} in its metadata: not a positive integer`);
  return n;
}

/**
 * Checks the image's metadata against the limits; returns the byte cap for its fetch. Throws
 * InputError (permanent: the image is what it is) naming the attribute and the limit.
 */
export function checkBeforeFetch(metadata: DicomJson, limits: ImageLimits, where: string): number {
  const rows = count(metadata, 'Rows', where) as number;
  const columns = count(metadata, 'Columns', where) as number;
  const samples = count(metadata, 'SamplesPerPixel', where, { required: false }) ?? 1;
  const bits = count(metadata, 'BitsAllocated', where) as number;
  const frames = count(metadata, 'NumberOfFrames', where, { required: false }) ?? 1;
  if (frames > limits.maxFrames) throw new InputError(`${where} has ${frames} frames; the worker reads images of at most ${limits.maxFrames} (refused before fetching its pixels)`);
  if (rows * columns > limits.maxPixels) {
    throw new InputError(`${where} is ${columns} x ${rows} pixels, over the worker's limit of ${limits.maxPixels} (refused before fetching its pixels)`);
  }
  if (bits > 32 || samples > 4) throw new InputError(`${where} has BitsAllocated ${bits} and SamplesPerPixel ${samples}; the worker reads at most 32 bits and 4 samples`);
  return Math.ceil((rows * columns * samples * frames * bits) / 8) + limits.headerBytes;
}
