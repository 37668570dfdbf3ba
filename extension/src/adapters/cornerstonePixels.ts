/**
 * The Cornerstone adapter: the pixels of one displayed image and the attributes the core's
 * toUnitGrey needs, read through the host's `window.cornerstone` namespace (Cornerstone 5.6 in
 * the pinned OHIF dist). Cornerstone is a structurally typed parameter, so tests pass fakes
 * (STYLE.md 11).
 *
 * Pre-scaling: Cornerstone's DICOM image loader applies RescaleSlope/RescaleIntercept while
 * decoding (image.preScale.scaled, Int16/Float32 output), so its pixels are modality values, not
 * stored values. The adapter says so (modalityLutApplied) with the parameters the loader used, and
 * the core undoes them instead of applying them a second time. The pixel array is handed over as
 * the loader holds it: never copied here.
 */
import { type ImageAttributes, InputError, type StoredPixels } from '@chestaid/core';

export interface ScalingParametersLike {
  readonly rescaleSlope?: number;
  readonly rescaleIntercept?: number;
}

export interface CornerstoneImageLike {
  getPixelData(): unknown;
  readonly preScale?: { readonly scaled?: boolean; readonly scalingParameters?: ScalingParametersLike };
}

/** The part of `window.cornerstone` the adapter uses. */
export interface CornerstoneLike {
  readonly cache: { getImage(imageId: string): CornerstoneImageLike | undefined };
  readonly imageLoader: { loadAndCacheImage(imageId: string): Promise<CornerstoneImageLike> };
  readonly metaData: { get(type: string, imageId: string): unknown };
}

export interface ImagePixels {
  readonly imageId: string;
  readonly sopInstanceUID: string;
  readonly attributes: ImageAttributes;
  /** The loader's own array (not a copy); modality values when attributes.modalityLutApplied. */
  readonly pixels: StoredPixels;
}

type Module = Record<string, unknown>;

const TYPED_ARRAYS = [Uint8Array, Int8Array, Uint16Array, Int16Array, Uint32Array, Int32Array, Float32Array, Float64Array];

function moduleOf(cornerstone: CornerstoneLike, type: string, imageId: string): Module {
  const value = cornerstone.metaData.get(type, imageId);
  return typeof value === 'object' && value !== null ? (value as Module) : {};
}

/** Metadata providers hand numbers over as numbers or numeric strings. */
function numberOrUndefined(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  return undefined;
}

function numbers(value: unknown): number | number[] | undefined {
  if (Array.isArray(value)) {
    const list = value.map(numberOrUndefined).filter((v): v is number => v !== undefined);
    return list.length > 0 ? list : undefined;
  }
  return numberOrUndefined(value);
}

/** The loader reads a multi-valued string as a list; the first value is the default presentation. */
function firstString(value: unknown): string | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  return typeof first === 'string' ? first : undefined;
}

function firstOf(value: unknown): unknown {
  return Array.isArray(value) ? value[0] : value;
}

function nonEmpty(value: unknown): boolean {
  return Array.isArray(value) ? value.length > 0 : value !== undefined && value !== null;
}

/** Cornerstone's DICOM loader rejects a failed fetch with the XMLHttpRequest itself. */
function describeRequest(value: unknown): string | null {
  const request = value as { status?: unknown; statusText?: unknown; readyState?: unknown } | null;
  if (typeof request?.status !== 'number' || typeof request.readyState !== 'number') return null;
  if (request.status === 0) return 'the request got no answer (network error or blocked)';
  const text = typeof request.statusText === 'string' && request.statusText ? ` ${request.statusText}` : '';
  return `the server answered ${request.status}${text}`;
}

function describeFailure(error: unknown): string {
  if (error instanceof Error) return error.message;
  // Cornerstone rejects with plain objects ({ error, request... }) as often as with Errors.
  const inner = (error as { error?: unknown } | null)?.error;
  if (inner instanceof Error) return inner.message;
  if (typeof inner === 'string') return inner;
  const request = describeRequest(error) ?? describeRequest((error as { request?: unknown } | null)?.request);
  if (request) return request;
  return typeof error === 'string' ? error : 'unknown error';
}

async function imageOf(cornerstone: CornerstoneLike, imageId: string): Promise<CornerstoneImageLike> {
  const cached = cornerstone.cache.getImage(imageId);
  if (cached) return cached;
  try {
    return await cornerstone.imageLoader.loadAndCacheImage(imageId);
  } catch (error) {
    throw new InputError(`the image ${imageId} could not be loaded: ${describeFailure(error)}`);
  }
}

function pixelsOf(image: CornerstoneImageLike, imageId: string): StoredPixels {
  let data: unknown;
  try {
    data = image.getPixelData();
  } catch (error) {
    throw new InputError(`the image ${imageId} has no readable pixel data: ${describeFailure(error)}`);
  }
  if (data === undefined || data === null) {
    throw new InputError(`the image ${imageId} has no pixel data`);
  }
  if (!TYPED_ARRAYS.some(Type => data instanceof Type)) {
    const name = (data as { constructor?: { name?: string } }).constructor?.name ?? typeof data;
    throw new InputError(`the image ${imageId} holds its pixels as ${name}; expected a typed array of grey values`);
  }
  return data as StoredPixels;
}

/**
 * Reads the image `imageId` from Cornerstone's cache, or loads it into the cache when it is not
 * there (an image scrolled past and evicted). Throws InputError when the image or its attributes
 * cannot be read; whether they are acceptable is the core's decision.
 */
export async function readImagePixels(cornerstone: CornerstoneLike, imageId: string): Promise<ImagePixels> {
  const image = await imageOf(cornerstone, imageId);
  const pixelModule = moduleOf(cornerstone, 'imagePixelModule', imageId);
  if (Object.keys(pixelModule).length === 0) {
    throw new InputError(`the image ${imageId} has no image pixel module (rows, columns, bits): its header is missing or corrupt`);
  }
  const modalityLut = moduleOf(cornerstone, 'modalityLutModule', imageId);
  const voiLut = moduleOf(cornerstone, 'voiLutModule', imageId);
  const series = moduleOf(cornerstone, 'generalSeriesModule', imageId);
  const sopCommon = moduleOf(cornerstone, 'sopCommonModule', imageId);
  const multiframe = moduleOf(cornerstone, 'multiframeModule', imageId);

  const sopInstanceUID = sopCommon.sopInstanceUID;
  if (typeof sopInstanceUID !== 'string' || sopInstanceUID === '') {
    throw new InputError(`the image ${imageId} has no SOPInstanceUID`);
  }

  let rescaleSlope = numberOrUndefined(modalityLut.rescaleSlope);
  let rescaleIntercept = numberOrUndefined(modalityLut.rescaleIntercept);
  const scaled = image.preScale?.scaled === true;
  if (scaled) {
    // What the loader applied is what must be undone; it read the same header, so a difference
    // means the pixels and the attributes disagree, and no answer would be trustworthy.
    const applied = image.preScale?.scalingParameters ?? {};
    const slope = numberOrUndefined(applied.rescaleSlope) ?? 1;
    const intercept = numberOrUndefined(applied.rescaleIntercept) ?? 0;
    if ((rescaleSlope ?? 1) !== slope || (rescaleIntercept ?? 0) !== intercept) {
      throw new InputError(
        `the image ${imageId} was decoded with RescaleSlope ${slope} and RescaleIntercept ${intercept}, ` +
          `but its header says ${rescaleSlope ?? 1} and ${rescaleIntercept ?? 0}`,
      );
    }
    rescaleSlope = slope;
    rescaleIntercept = intercept;
  }

  // The naturalised instance OHIF's metadata provider keeps (dcmjs keywords): the attributes no
  // Cornerstone module carries (ViewPosition, PresentationIntentType, PixelPaddingValue...).
  const instance = moduleOf(cornerstone, 'instance', imageId);
  const tag = (keyword: string) => firstString(instance[keyword])?.trim();
  const attributes: ImageAttributes = {
    rows: numberOrUndefined(pixelModule.rows) as number,
    columns: numberOrUndefined(pixelModule.columns) as number,
    samplesPerPixel: numberOrUndefined(pixelModule.samplesPerPixel) as number,
    photometricInterpretation: firstString(pixelModule.photometricInterpretation) as string,
    bitsAllocated: numberOrUndefined(pixelModule.bitsAllocated) as number,
    bitsStored: numberOrUndefined(pixelModule.bitsStored) as number,
    pixelRepresentation: numberOrUndefined(pixelModule.pixelRepresentation) as number,
    rescaleSlope,
    rescaleIntercept,
    windowCenter: numbers(voiLut.windowCenter),
    windowWidth: numbers(voiLut.windowWidth),
    voiLutFunction: firstString(voiLut.voiLUTFunction),
    numberOfFrames: numberOrUndefined(multiframe.NumberOfFrames ?? multiframe.numberOfFrames),
    modality: firstString(series.modality),
    hasModalityLutSequence: nonEmpty(modalityLut.modalityLUTSequence),
    hasVoiLutSequence: nonEmpty(voiLut.voiLUTSequence),
    modalityLutApplied: scaled,
    highBit: numberOrUndefined(pixelModule.highBit ?? instance.HighBit),
    pixelPaddingValue: numberOrUndefined(firstOf(instance.PixelPaddingValue)),
    pixelPaddingRangeLimit: numberOrUndefined(firstOf(instance.PixelPaddingRangeLimit)),
    viewPosition: tag('ViewPosition'),
    bodyPartExamined: tag('BodyPartExamined'),
    presentationIntentType: tag('PresentationIntentType'),
    patientAge: tag('PatientAge'),
    patientBirthDate: tag('PatientBirthDate'),
    studyDate: tag('StudyDate'),
  };
  return { imageId, sopInstanceUID, attributes, pixels: pixelsOf(image, imageId) };
}

/** The instance an image belongs to, from Cornerstone's metadata (undefined when unknown). */
export function sopInstanceUIDOf(cornerstone: Pick<CornerstoneLike, 'metaData'>, imageId: string): string | undefined {
  const uid = (cornerstone.metaData.get('sopCommonModule', imageId) as { sopInstanceUID?: unknown } | undefined)?.sopInstanceUID;
  return typeof uid === 'string' && uid !== '' ? uid : undefined;
}
