/**
 * Compressed Part 10 files decoded in the worker (decompress.ts through decodePart10): each
 * lossless syntax made from a demo study gives back its stored values exactly. The compressed
 * files are made here: JPEG Lossless, JPEG-LS and RLE by DCMTK (dcmcjpeg, dcmcjpls, dcmcrle, as a
 * PACS or modality writes them; skipped, saying so, where DCMTK is not installed), JPEG 2000 by
 * dcmjs-codecs' own OpenJPEG encoder (DCMTK writes no JPEG 2000), and the broken files from the
 * codec's own encoders, so the error paths need no external tool.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { InputError } from '@chestaid/core';
import { NativeCodecs, Transcoder } from 'dcmjs-codecs';
import { dcmjs } from './dcmjs';
import { DEFAULT_LIMITS } from './imageLimits';
import { CODEC_THREAD_SOURCE, CodecThread } from './decompress';
import { decodePart10, readPart10 } from './part10';

const DEMO = resolve(__dirname, '../../test/demo-studies/dicom/study-01.dcm');

const temp = mkdtempSync(join(tmpdir(), 'chestaid-codecs-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

function arrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

/** The demo CR, optionally with header attributes replaced, as Part 10 bytes (Explicit VR Little Endian). */
function original(overrides: Record<string, unknown> = {}): ArrayBuffer {
  const message = dcmjs.data.DicomMessage.readFile(arrayBuffer(readFileSync(DEMO)));
  const ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(message.dict);
  const dict = new dcmjs.data.DicomDict(message.meta);
  dict.dict = dcmjs.data.DicomMetaDictionary.denaturalizeDataset({ ...ds, ...overrides });
  return dict.write();
}

let made = 0;
/** `bytes` compressed by a DCMTK tool, as a file would arrive from a modality. */
function dcmtk(tool: string, bytes: ArrayBuffer): ArrayBuffer {
  const input = join(temp, `in-${++made}.dcm`);
  const output = join(temp, `out-${made}.dcm`);
  writeFileSync(input, Buffer.from(bytes));
  execFileSync(tool, [input, output]);
  return arrayBuffer(readFileSync(output));
}

/** `bytes` compressed to `syntax` by the codec package's own encoders. */
async function encoded(bytes: ArrayBuffer, syntax: string): Promise<ArrayBuffer> {
  await NativeCodecs.initializeAsync();
  const transcoder = new Transcoder(bytes.slice(0));
  transcoder.transcode(syntax);
  return transcoder.getDicomPart10();
}

const JPEG_LOSSLESS = '1.2.840.10008.1.2.4.70';
const JPEG_LS = '1.2.840.10008.1.2.4.80';
const RLE = '1.2.840.10008.1.2.5';
const JPEG_2000 = '1.2.840.10008.1.2.4.90';

const dcmtkMissing = ['dcmcjpeg', 'dcmcjpls', 'dcmcrle'].some(tool => spawnSync(tool, ['--version']).error !== undefined);

type Maker = { name: string; syntax: string; make: (b: ArrayBuffer) => ArrayBuffer | Promise<ArrayBuffer> };
const MAKERS: Maker[] = [
  ...(dcmtkMissing
    ? []
    : [
        { name: 'JPEG Lossless (dcmcjpeg)', syntax: JPEG_LOSSLESS, make: (b: ArrayBuffer) => dcmtk('dcmcjpeg', b) },
        { name: 'JPEG-LS Lossless (dcmcjpls)', syntax: JPEG_LS, make: (b: ArrayBuffer) => dcmtk('dcmcjpls', b) },
        { name: 'RLE Lossless (dcmcrle)', syntax: RLE, make: (b: ArrayBuffer) => dcmtk('dcmcrle', b) },
      ]),
  { name: 'JPEG 2000 Lossless (OpenJPEG)', syntax: JPEG_2000, make: b => encoded(b, JPEG_2000) },
];

function syntaxOf(bytes: ArrayBuffer): string {
  return String(dcmjs.data.DicomMessage.readFile(bytes).meta['00020010']?.Value?.[0]);
}

/** Bytes with the first occurrence of `from` overwritten by `to`, after `after` bytes. */
function patched(bytes: ArrayBuffer, from: number[], to: number[], after = 0): ArrayBuffer {
  const copy = new Uint8Array(bytes.slice(0));
  const at = Buffer.from(copy).indexOf(Buffer.from(from), after);
  expect(at).toBeGreaterThan(0);
  copy.set(to, at);
  return copy.buffer;
}

/** Where the pixel data's first fragment starts (after the Basic Offset Table item). */
function pixelDataAt(bytes: ArrayBuffer): number {
  return Buffer.from(bytes).lastIndexOf(Buffer.from([0xe0, 0x7f, 0x10, 0x00]));
}

if (dcmtkMissing) {
  describe.skip('decodePart10 on JPEG Lossless, JPEG-LS and RLE files DCMTK writes (skipped: dcmcjpeg, dcmcjpls or dcmcrle is not installed; apt-get install dcmtk)', () => {
    it('decodes them to the stored values of the uncompressed original', () => undefined);
  });
}

describe('decodePart10', () => {
  const plain = readPart10(original(), 'original');

  it.each(MAKERS)('$name: decodes to the stored values of the uncompressed original, with its header', async ({ syntax, make }) => {
    const compressed = await make(original());
    expect(syntaxOf(compressed)).toBe(syntax);
    const image = await decodePart10(compressed, 'compressed');
    expect(image.decodedFrom).toBe(syntax);
    expect(image.transferSyntaxUID).toBe(syntax);
    expect(image.attributes).toEqual(plain.attributes);
    expect(image.attributes).toMatchObject({ bitsAllocated: 16, bitsStored: 12, photometricInterpretation: 'MONOCHROME2' });
    expect(image.pixels).toBeInstanceOf(Uint16Array);
    expect(image.pixels).toEqual(plain.pixels);
    expect(image.sopInstanceUID).toBe(plain.sopInstanceUID);
  });

  it.each(MAKERS)('$name: keeps MONOCHROME1 and 8-bit stored values as they are', async ({ make }) => {
    const values = plain.pixels as Uint16Array;
    const eight = Uint8Array.from(values, v => v >> 4);
    const source = original({ PhotometricInterpretation: 'MONOCHROME1', BitsAllocated: 8, BitsStored: 8, HighBit: 7, WindowCenter: 128, WindowWidth: 256, PixelData: [eight.buffer], _vrMap: { PixelData: 'OB' } });
    const image = await decodePart10(await make(source), 'monochrome1');
    expect(image.attributes).toMatchObject({ photometricInterpretation: 'MONOCHROME1', bitsAllocated: 8, bitsStored: 8 });
    expect(image.pixels).toBeInstanceOf(Uint8Array);
    expect(image.pixels).toEqual(eight);
  });

  it('decodes a frame whose codestream is split over several fragments, its frame header across two', async () => {
    const message = dcmjs.data.DicomMessage.readFile(await encoded(original(), JPEG_2000));
    const pixelData = message.dict['7FE00010'] as { Value: ArrayBuffer[] };
    const whole = pixelData.Value[0];
    pixelData.Value = [whole.slice(0, 6), whole.slice(6, 5000), whole.slice(5000)];
    const split = new dcmjs.data.DicomDict(message.meta);
    split.dict = message.dict;
    expect((await decodePart10(split.write(), 'split.dcm')).pixels).toEqual(plain.pixels);
  });

  it('reads an uncompressed file as readPart10 does, without decoding', async () => {
    const image = await decodePart10(original(), 'plain');
    expect(image.decodedFrom).toBeUndefined();
    expect(image.pixels).toEqual(plain.pixels);
  });

  it('refuses a truncated JPEG-LS codestream as a bad image, and decodes the next one', async () => {
    const compressed = await encoded(original(), JPEG_LS);
    // Cut the only fragment short, keeping the item lengths consistent, so dcmjs still reads the file.
    const message = dcmjs.data.DicomMessage.readFile(compressed);
    const pixelData = message.dict['7FE00010'] as { Value: ArrayBuffer[] };
    pixelData.Value = [pixelData.Value[0].slice(0, 2000)];
    const broken = new dcmjs.data.DicomDict(message.meta);
    broken.dict = message.dict;
    const error = await decodePart10(broken.write(), 'cut.dcm').catch(e => e);
    expect(error).toBeInstanceOf(InputError);
    expect(error.message).toMatch(/cut.dcm: its JPEG-LS Lossless pixel data could not be decoded/);
    // The codec's failure left nothing behind that stops the next image.
    expect((await decodePart10(compressed, 'next')).pixels).toEqual(plain.pixels);
  });

  it('refuses a JPEG Lossless codestream with a broken marker as a bad image', async () => {
    const compressed = await encoded(original(), JPEG_LOSSLESS);
    // The first DHT marker (FF C4) after the pixel data starts becomes one no decoder knows.
    const broken = patched(compressed, [0xff, 0xc4], [0xff, 0x4f], pixelDataAt(compressed));
    await expect(decodePart10(broken, 'marker.dcm')).rejects.toThrow(/marker.dcm: its JPEG Lossless SV1 pixel data (could not be decoded|has no readable frame header)/);
  });

  it.each([JPEG_LOSSLESS, JPEG_LS, RLE, JPEG_2000])('%s with random bytes overwritten either decodes or is a bad image, never another error', async syntax => {
    const compressed = new Uint8Array(await encoded(original(), syntax));
    const from = pixelDataAt(compressed.buffer as ArrayBuffer) + 16;
    let seed = 17;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    for (let i = 0; i < 15; i++) {
      const copy = compressed.slice();
      for (let k = 0; k < 1 + Math.floor(random() * 8); k++) copy[from + Math.floor(random() * Math.min(4000, copy.length - from))] = Math.floor(random() * 256);
      const outcome = await decodePart10(copy.buffer, 'fuzzed.dcm').then(
        image => image.pixels.length,
        (error: unknown) => error,
      );
      if (typeof outcome !== 'number') expect(outcome).toBeInstanceOf(InputError);
      else expect(outcome).toBe(326 * 296);
    }
    // A codec that traps (CharLS does on each of these) costs a fresh thread: up to 15 here.
  }, 60_000);

  it('refuses a JPEG 2000 codestream whose size is not its header’s, before decoding it', async () => {
    const compressed = await encoded(original(), JPEG_2000);
    const at = pixelDataAt(compressed);
    const copy = new Uint8Array(compressed.slice(0));
    const soc = Buffer.from(copy).indexOf(Buffer.from([0xff, 0x4f, 0xff, 0x51]), at);
    // Xsiz, the image width in the SIZ marker: 60000 columns would be 60000 x 326 x 2 bytes decoded.
    new DataView(copy.buffer).setUint32(soc + 4 + 4, 60000);
    await expect(decodePart10(copy.buffer, 'wide.dcm')).rejects.toThrow(/wide.dcm: its JPEG 2000 Lossless codestream is 60000 x 326 x 1, its header says 296 x 326 x 1 \(corrupt image; not decoded\)/);
  });

  it('refuses a compressed image over the worker’s limits from its header, before decoding it', async () => {
    const compressed = await encoded(original(), JPEG_LS);
    await expect(decodePart10(compressed, 'big.dcm', { ...DEFAULT_LIMITS, maxPixels: 1000 })).rejects.toThrow(/big.dcm is 296 x 326 pixels, over the worker's limit of 1000/);
  });

  it('still refuses a transfer syntax it has no codec for, naming it', async () => {
    const compressed = await encoded(original(), RLE);
    // Explicit VR Big Endian's UID has the RLE UID's length, so the file meta stays well formed.
    const broken = patched(compressed, [...Buffer.from('1.2.840.10008.1.2.5\0')], [...Buffer.from('1.2.840.10008.1.2.2\0')]);
    await expect(decodePart10(broken, 'big-endian.dcm')).rejects.toThrow(
      /big-endian.dcm uses transfer syntax 1.2.840.10008.1.2.2 \(Explicit VR Big Endian\), which the worker cannot decode; it reads uncompressed little-endian pixel data and decodes RLE Lossless, /,
    );
  });
});

describe('the codec thread', () => {
  // The real thread's code, but a file sent with the syntax 'hang' sends it into a loop that never
  // ends: what a codestream that traps a codec in a loop would do.
  const HANGS = CODEC_THREAD_SOURCE.replace('await ready;', "await ready;\n    if (syntax === 'hang') for (;;) {}");

  test('a decode that does not end is stopped after its time, and the next image gets a fresh thread', async () => {
    expect(HANGS).not.toBe(CODEC_THREAD_SOURCE);
    const thread = new CodecThread(HANGS);
    try {
      const j2k = await encoded(original(), JPEG_2000);
      const started = Date.now();
      await expect(thread.transcode(j2k, 'hang', 1500)).rejects.toThrow(/took longer than 1.5 s/);
      expect(Date.now() - started).toBeLessThan(15_000);
      const decoded = await thread.transcode(j2k, '1.2.840.10008.1.2.1', 30_000);
      expect(syntaxOf(decoded)).toBe('1.2.840.10008.1.2.1');
      expect(readPart10(decoded).pixels).toEqual(readPart10(original()).pixels);
    } finally {
      await thread.close();
    }
  }, 60_000);

  test('decodePart10 gives a decode the limits\' decodeMs, and one that takes longer is a bad image', async () => {
    const tiny = { ...DEFAULT_LIMITS, decodeMs: 1 };
    await expect(decodePart10(await encoded(original(), JPEG_2000), 'a slow image', tiny)).rejects.toThrow(
      new InputError('a slow image: its JPEG 2000 Lossless pixel data could not be decoded (decoding took longer than 0.001 s and was stopped); the image is corrupt or a variant the codec does not read'),
    );
  }, 60_000);
});
