/**
 * Compressed pixel data -> Explicit VR Little Endian, in process, for when the PACS hands back an
 * image as stored (it could not or would not transcode; scoreImage.ts asks it to first).
 *
 * The codecs are dcmjs-codecs (MIT; a WebAssembly build of DCMTK, OpenJPEG, CharLS, OpenJPH and
 * libjxl with a dcmjs-based transcoder): one package for RLE, JPEG Lossless, JPEG-LS and
 * JPEG 2000, decoded by the same libraries a PACS uses. It parses with its own dcmjs (0.50),
 * so only bytes cross between it and the worker's dcmjs: it gets the Part 10 file and returns one.
 *
 * What the codecs cannot be trusted with is checked here first: the image's size from its header
 * against the worker's limits (imageLimits.ts), before a byte is decoded, and the size the
 * codestream itself announces (a JPEG or JPEG 2000 decoder allocates what its codestream says,
 * not what the DICOM header says). After decoding, the result must have the header's geometry.
 * A codec failure, including a WebAssembly trap, is an InputError naming the syntax: a bad
 * image, never a crash.
 */
import { type DicomJson, InputError } from '@chestaid/core';
import { NativeCodecs, Transcoder } from 'dcmjs-codecs';
import { dirname, join } from 'node:path';
import { checkBeforeFetch, type ImageLimits } from './imageLimits';

/** Compressed syntaxes the worker decodes itself, with their names for logs and messages. */
export const DECODED_TRANSFER_SYNTAXES: Readonly<Record<string, string>> = {
  '1.2.840.10008.1.2.5': 'RLE Lossless',
  '1.2.840.10008.1.2.4.50': 'JPEG Baseline',
  '1.2.840.10008.1.2.4.70': 'JPEG Lossless SV1',
  '1.2.840.10008.1.2.4.80': 'JPEG-LS Lossless',
  '1.2.840.10008.1.2.4.81': 'JPEG-LS Near-Lossless',
  '1.2.840.10008.1.2.4.90': 'JPEG 2000 Lossless',
  '1.2.840.10008.1.2.4.91': 'JPEG 2000',
  '1.2.840.10008.1.2.4.201': 'HTJ2K Lossless',
  '1.2.840.10008.1.2.4.202': 'HTJ2K Lossless RPCL',
  '1.2.840.10008.1.2.4.203': 'HTJ2K',
};

const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';

let ready: Promise<void> | undefined;

/**
 * Compiles the codecs' WebAssembly once, on the first compressed image. The wasm
 * file is named by its resolved path, not left to the package's own lookup, so the worker finds it
 * wherever node_modules is.
 */
function initCodecs(): Promise<void> {
  ready ??= NativeCodecs.initializeAsync({
    webAssemblyModulePathOrUrl: join(dirname(require.resolve('dcmjs-codecs')), 'dcmjs-native-codecs.wasm'),
  }).catch(error => {
    ready = undefined;
    throw error;
  });
  return ready;
}

const HEADER = { Rows: '00280010', Columns: '00280011', SamplesPerPixel: '00280002', BitsAllocated: '00280100', PixelData: '7FE00010' } as const;

function headerNumber(dict: DicomJson, tag: string): number | undefined {
  const raw = dict[tag]?.Value?.[0];
  return raw === undefined || raw === null || raw === '' ? undefined : Number(raw);
}

interface CodestreamSize {
  readonly rows: number;
  readonly columns: number;
  readonly components: number;
}

/**
 * The size a JPEG (SOFn) or JPEG-LS (SOF55) codestream announces: the markers from SOI up to the
 * frame header, each segment skipped by its length. Undefined when no frame header is found in it.
 */
function jpegSize(bytes: Uint8Array): CodestreamSize | undefined {
  if (bytes[0] !== 0xff || bytes[1] !== 0xd8) return undefined;
  let at = 2;
  while (at + 4 <= bytes.length) {
    if (bytes[at] !== 0xff) return undefined;
    const marker = bytes[at + 1];
    if (marker === 0xff) {
      at++;
      continue;
    }
    const length = (bytes[at + 2] << 8) | bytes[at + 3];
    const isFrame = (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) || marker === 0xf7;
    if (isFrame) {
      if (at + 10 > bytes.length) return undefined;
      return { rows: (bytes[at + 5] << 8) | bytes[at + 6], columns: (bytes[at + 7] << 8) | bytes[at + 8], components: bytes[at + 9] };
    }
    at += 2 + length;
  }
  return undefined;
}

/**
 * The size a JPEG 2000 codestream's SIZ marker announces (image area less its offset). DICOM
 * holds the bare codestream (SOC then SIZ); a JP2 wrapper some writers add is looked into for its
 * SOC + SIZ within the first kilobytes.
 */
function j2kSize(bytes: Uint8Array): CodestreamSize | undefined {
  const limit = Math.min(bytes.length - 2, 64 * 1024);
  for (let at = 0; at < limit; at++) {
    if (bytes[at] === 0xff && bytes[at + 1] === 0x4f && bytes[at + 2] === 0xff && bytes[at + 3] === 0x51) {
      const siz = at + 4;
      if (siz + 38 > bytes.length) return undefined;
      const view = new DataView(bytes.buffer, bytes.byteOffset + siz);
      // Lsiz, Rsiz, then Xsiz, Ysiz, XOsiz, YOsiz, four tile fields, Csiz (ISO 15444-1 A.5.1).
      const columns = view.getUint32(4) - view.getUint32(12);
      const rows = view.getUint32(8) - view.getUint32(16);
      return { rows, columns, components: view.getUint16(36) };
    }
  }
  return undefined;
}

function codestreamSize(syntax: string, fragment: Uint8Array): CodestreamSize | undefined {
  if (syntax.startsWith('1.2.840.10008.1.2.4.9') || syntax.startsWith('1.2.840.10008.1.2.4.20')) return j2kSize(fragment);
  if (syntax.startsWith('1.2.840.10008.1.2.4.')) return jpegSize(fragment);
  return undefined; // RLE: the decoder sizes its output from the DICOM header, checked already.
}

/** The start of the first frame's codestream, which a writer may split over several fragments. */
function codestreamHead(fragments: readonly ArrayBuffer[], bytes = 64 * 1024): Uint8Array {
  const parts: Uint8Array[] = [];
  let length = 0;
  for (const fragment of fragments) {
    if (length >= bytes) break;
    parts.push(new Uint8Array(fragment, 0, Math.min(fragment.byteLength, bytes - length)));
    length += parts[parts.length - 1].byteLength;
  }
  const head = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    head.set(part, at);
    at += part.byteLength;
  }
  return head;
}

export interface Decompressed {
  /** The same instance in Explicit VR Little Endian. */
  readonly part10: ArrayBuffer;
  /** The syntax it was stored in, and its name. */
  readonly from: string;
  readonly name: string;
}

/**
 * Decodes a compressed instance to Explicit VR Little Endian. `dict` is its header as dcmjs read
 * it (DICOM JSON form, pixel data still encapsulated). Throws InputError for an unsupported
 * syntax, an image over the limits, a codestream whose size differs from its header's, or a
 * codestream the codec cannot decode.
 */
export async function decompress(part10: ArrayBuffer, syntax: string, dict: DicomJson, limits: ImageLimits, where: string): Promise<Decompressed> {
  const name = DECODED_TRANSFER_SYNTAXES[syntax];
  if (!name) throw new InputError(`${where} uses transfer syntax ${syntax}, which the worker cannot decode`);
  // Rows x columns x samples x frames x bits from the header, before anything is decoded.
  checkBeforeFetch(dict, limits, where);
  const rows = headerNumber(dict, HEADER.Rows) as number;
  const columns = headerNumber(dict, HEADER.Columns) as number;
  const samples = headerNumber(dict, HEADER.SamplesPerPixel) ?? 1;
  const bitsAllocated = headerNumber(dict, HEADER.BitsAllocated) as number;
  if (bitsAllocated !== 8 && bitsAllocated !== 16) {
    throw new InputError(`${where} is ${name} with BitsAllocated ${bitsAllocated}; the worker decodes 8- and 16-bit compressed images only`);
  }
  const fragments = (dict[HEADER.PixelData]?.Value ?? []) as unknown[];
  if (!fragments.every(f => f instanceof ArrayBuffer) || !fragments.some(f => (f as ArrayBuffer).byteLength > 0)) {
    throw new InputError(`${where} is ${name} with no pixel data fragments (corrupt image)`);
  }
  const announced = codestreamSize(syntax, codestreamHead(fragments as ArrayBuffer[]));
  if (announced === undefined && syntax !== '1.2.840.10008.1.2.5') {
    throw new InputError(`${where}: its ${name} pixel data has no readable frame header (corrupt image)`);
  }
  if (announced && (announced.rows !== rows || announced.columns !== columns || announced.components !== samples)) {
    throw new InputError(
      `${where}: its ${name} codestream is ${announced.columns} x ${announced.rows} x ${announced.components}, ` +
        `its header says ${columns} x ${rows} x ${samples} (corrupt image; not decoded)`,
    );
  }

  await initCodecs();
  let decoded: ArrayBuffer;
  try {
    const transcoder = new Transcoder(part10);
    transcoder.transcode(EXPLICIT_VR_LITTLE_ENDIAN);
    decoded = transcoder.getDicomPart10();
  } catch (error) {
    // A codec that threw out of the WebAssembly may have left its memory behind: start afresh.
    ready = undefined;
    const reason = error instanceof Error ? `${error.name === 'Error' ? '' : `${error.name}: `}${error.message}` : String(error);
    throw new InputError(`${where}: its ${name} pixel data could not be decoded (${reason}); the image is corrupt or a variant the codec does not read`);
  }
  return { part10: decoded, from: syntax, name };
}
