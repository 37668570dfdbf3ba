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
 * The codec runs in a worker thread of its own (CodecThread). A codec failure, including a
 * WebAssembly trap, and a decode that has not ended after the limits' `decodeMs`, is an
 * InputError naming the syntax: a bad image, never a crash or a hung worker.
 */
import { type DicomJson, InputError } from '@chestaid/core';
import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
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

/** How long one image may take to decode when the limits do not say. */
export const DEFAULT_DECODE_MS = 30_000;

/**
 * The codec's own work, as plain JavaScript for a thread of its own (the same source under jest
 * and in the built worker): compile the WebAssembly once, then transcode each file it is sent.
 */
export const CODEC_THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { NativeCodecs, Transcoder } = require(workerData.codecs);
const ready = NativeCodecs.initializeAsync({ webAssemblyModulePathOrUrl: workerData.wasm });
parentPort.on('message', async ({ part10, syntax }) => {
  try {
    await ready;
    const transcoder = new Transcoder(part10);
    transcoder.transcode(syntax);
    const out = transcoder.getDicomPart10();
    parentPort.postMessage({ ok: true, part10: out }, [out]);
  } catch (error) {
    const name = error && error.name && error.name !== 'Error' ? error.name + ': ' : '';
    // A trap may leave the module's heap half-written: the thread is not used again after one.
    const trap = error instanceof WebAssembly.RuntimeError;
    parentPort.postMessage({ ok: false, trap, reason: name + (error && error.message ? error.message : String(error)) });
  }
});
`;

type ThreadAnswer = { ok: true; part10: ArrayBuffer } | { ok: false; trap: boolean; reason: string };

/**
 * The codec in a worker thread, one image at a time. A codestream that sends the codec into a loop
 * costs a timeout, not the worker (its event loop, health endpoint and broker heartbeats stay
 * alive); the thread is then ended, which frees the WebAssembly memory, and the next image gets a
 * fresh one, as after a WebAssembly trap (which may leave the codec's heap half-written). A codec
 * that refused a codestream with an ordinary error keeps its thread.
 */
export class CodecThread {
  private thread: Worker | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly source = CODEC_THREAD_SOURCE) {}

  /** The file transcoded to `syntax`; rejects with the codec's reason, or on timeout. */
  transcode(part10: ArrayBuffer, syntax: string, timeoutMs: number): Promise<ArrayBuffer> {
    const run = this.queue.then(() => this.once(part10, syntax, timeoutMs));
    this.queue = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    const thread = this.thread;
    this.thread = null;
    await thread?.terminate();
  }

  private once(part10: ArrayBuffer, syntax: string, timeoutMs: number): Promise<ArrayBuffer> {
    const thread = (this.thread ??= this.start());
    return new Promise<ArrayBuffer>((resolve, reject) => {
      const done = (settle: () => void, keep: boolean) => {
        clearTimeout(timer);
        thread.off('message', onMessage);
        thread.off('error', onError);
        thread.off('exit', onExit);
        if (!keep) void this.discard(thread);
        settle();
      };
      const onMessage = (answer: ThreadAnswer) =>
        answer.ok ? done(() => resolve(answer.part10), true) : done(() => reject(new Error(answer.reason)), !answer.trap);
      const onError = (error: Error) => done(() => reject(error), false);
      const onExit = (code: number) => done(() => reject(new Error(`the codec thread ended (exit code ${code})`)), false);
      // The timer also keeps the process alive while the (unref'd) thread works.
      const timer = setTimeout(() => done(() => reject(new DecodeTimeout(timeoutMs)), false), timeoutMs);
      thread.on('message', onMessage);
      thread.once('error', onError);
      thread.once('exit', onExit);
      // A copy goes over: the caller keeps its bytes.
      const copy = part10.slice(0);
      thread.postMessage({ part10: copy, syntax }, [copy]);
    });
  }

  private start(): Worker {
    const codecs = require.resolve('dcmjs-codecs');
    // The wasm file by its resolved path, not the package's own lookup: found wherever node_modules is.
    const thread = new Worker(this.source, { eval: true, workerData: { codecs, wasm: join(dirname(codecs), 'dcmjs-native-codecs.wasm') } });
    thread.unref();
    return thread;
  }

  private async discard(thread: Worker): Promise<void> {
    if (this.thread === thread) this.thread = null;
    await thread.terminate().catch(() => undefined);
  }
}

class DecodeTimeout extends Error {
  constructor(readonly timeoutMs: number) {
    super(`decoding took longer than ${timeoutMs / 1000} s and was stopped`);
  }
}

const codec = new CodecThread();

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

  let decoded: ArrayBuffer;
  try {
    decoded = await codec.transcode(part10, EXPLICIT_VR_LITTLE_ENDIAN, limits.decodeMs ?? DEFAULT_DECODE_MS);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new InputError(`${where}: its ${name} pixel data could not be decoded (${reason}); the image is corrupt or a variant the codec does not read`);
  }
  return { part10: decoded, from: syntax, name };
}
