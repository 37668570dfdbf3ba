import type { PixelAttributes } from '../pixels';

/** A plain 12-bit MONOCHROME2 CR image's attributes, for tests; override what a test is about. */
export function crAttributes(overrides: Partial<PixelAttributes> = {}): PixelAttributes {
  return {
    rows: 1,
    columns: 4,
    samplesPerPixel: 1,
    photometricInterpretation: 'MONOCHROME2',
    bitsAllocated: 16,
    bitsStored: 12,
    pixelRepresentation: 0,
    modality: 'CR',
    ...overrides,
  };
}
