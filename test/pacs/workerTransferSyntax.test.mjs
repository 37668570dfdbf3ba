// Compressed radiographs (issue 17): the same image stored as JPEG Lossless, JPEG-LS, RLE
// (compressed by DCMTK's dcmcjpeg, dcmcjpls and dcmcrle) and JPEG 2000 Lossless (by dcmjs-codecs'
// OpenJPEG encoder: DCMTK writes no JPEG 2000), each as its own study, gets the same score from
// the worker as the uncompressed original (1e-3), whoever decodes it:
// - straight to Orthanc, the worker asks for Explicit VR Little Endian and Orthanc transcodes the
//   first three; Debian's Orthanc has no JPEG 2000 codec without its GDCM plugin, stores the image
//   anyway and answers 500 to the transcoding request, so the worker asks for it as stored and
//   decodes it itself (dcmjs-codecs, worker/src/decompress.ts): the log says so;
// - through a proxy that answers 406 to any transfer syntax but `*` (a PACS that cannot
//   transcode), the worker decodes all four itself.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import dcmjs from 'dcmjs';
import dcmjsCodecs from 'dcmjs-codecs';

import { faultyProxy } from './faultyProxy.mjs';
import { startOrthanc } from './orthanc.mjs';
import { bytesOf, of, resultSrs, ROOT, runWorker } from './workerHarness.mjs';

const ORIGINAL = join(ROOT, 'test', 'demo-studies', 'dicom', 'study-01.dcm');
const JPEG_2000 = '1.2.840.10008.1.2.4.90';

/** `input` compressed to JPEG 2000 Lossless by dcmjs-codecs, written to `output`. */
async function jpeg2000(input, output) {
  await dcmjsCodecs.NativeCodecs.initializeAsync();
  const transcoder = new dcmjsCodecs.Transcoder(bytesOf(input));
  transcoder.transcode(JPEG_2000);
  writeFileSync(output, Buffer.from(transcoder.getDicomPart10()));
}

const dcmtk = tool => (input, output) => execFileSync(tool, [input, output]);

const CODECS = [
  { name: 'JPEG Lossless', tool: 'dcmcjpeg', syntax: '1.2.840.10008.1.2.4.70', make: dcmtk('dcmcjpeg') },
  { name: 'JPEG-LS Lossless', tool: 'dcmcjpls', syntax: '1.2.840.10008.1.2.4.80', make: dcmtk('dcmcjpls') },
  { name: 'RLE Lossless', tool: 'dcmcrle', syntax: '1.2.840.10008.1.2.5', make: dcmtk('dcmcrle') },
  { name: 'JPEG 2000 Lossless', tool: 'openjpeg', syntax: JPEG_2000, make: jpeg2000 },
];

/** Each codec's copy of the original, under new UIDs, compressed into `temp`. */
async function compressedCopies(temp) {
  const { DicomMessage, DicomMetaDictionary } = dcmjs.data;
  const variants = [];
  for (const codec of CODECS) {
    const message = DicomMessage.readFile(bytesOf(ORIGINAL));
    const ds = DicomMetaDictionary.naturalizeDataset(message.dict);
    ds.StudyInstanceUID = DicomMetaDictionary.uid();
    ds.SeriesInstanceUID = DicomMetaDictionary.uid();
    ds.SOPInstanceUID = DicomMetaDictionary.uid();
    message.dict = DicomMetaDictionary.denaturalizeDataset(ds);
    message.meta['00020003'].Value = [ds.SOPInstanceUID];
    const plain = join(temp, `${codec.tool}-in.dcm`);
    const packed = join(temp, `${codec.tool}.dcm`);
    writeFileSync(plain, Buffer.from(message.write()));
    await codec.make(plain, packed);
    const stored = DicomMessage.readFile(bytesOf(packed));
    assert.equal(stored.meta['00020010'].Value[0], codec.syntax, `${codec.tool} wrote ${codec.name}`);
    variants.push({ ...codec, sop: ds.SOPInstanceUID, file: packed });
  }
  return variants;
}

const originalSop = () => dcmjs.data.DicomMessage.readFile(bytesOf(ORIGINAL)).dict['00080018'].Value[0];

/** Every variant's result score is the original's within 1e-3. */
async function assertSameScores(client, variants) {
  const scores = new Map((await resultSrs(client)).map(({ content }) => [content.source.sopInstanceUID, content.score]));
  const original = scores.get(originalSop());
  assert.equal(typeof original, 'number');
  for (const variant of variants) {
    const score = scores.get(variant.sop);
    assert.ok(typeof score === 'number', `${variant.name}: no result`);
    assert.ok(Math.abs(score - original) <= 1e-3, `${variant.name}: ${score} against ${original}`);
  }
}

/** The syntax each scored image was decoded from by the worker itself (undefined: the PACS transcoded it). */
const decodedLocally = events => new Map(of(events, 'scored').map(e => [e.sop, e.decodedLocally]));

describe('compressed radiographs', () => {
  const temp = mkdtempSync(join(tmpdir(), 'chestaid-syntax-'));
  let pacs;
  let variants;
  before(async () => {
    variants = await compressedCopies(temp);
    pacs = await startOrthanc();
    await pacs.client.store([ORIGINAL, ...variants.map(v => v.file)].map(bytesOf));
  });
  after(async () => {
    await pacs?.stop();
    rmSync(temp, { recursive: true, force: true });
  });

  test('score as the uncompressed original (1e-3): Orthanc transcodes JPEG Lossless, JPEG-LS and RLE, the worker decodes the JPEG 2000 Orthanc cannot', { timeout: 300_000 }, async () => {
    const { code, events, stderr } = await runWorker(['--pacs', pacs.dicomWebUrl, '--once', '--threads', '1']);
    assert.equal(code, 0, stderr);
    assert.deepEqual(of(events, 'failed'), []);
    await assertSameScores(pacs.client, variants);
    const local = decodedLocally(events);
    for (const variant of variants) {
      assert.equal(local.get(variant.sop), variant.syntax === JPEG_2000 ? JPEG_2000 : undefined, `${variant.name}: decoded by ${local.get(variant.sop) ? 'the worker' : 'Orthanc'}`);
    }
    const j2k = variants.find(v => v.syntax === JPEG_2000);
    assert.deepEqual(
      of(events, 'not-transcoded').map(e => [e.sop, e.status]),
      [[j2k.sop, 500]],
      'the one image Orthanc could not transcode was asked for as stored',
    );
  });
});

describe('compressed radiographs from a PACS that does not transcode (406)', () => {
  const temp = mkdtempSync(join(tmpdir(), 'chestaid-syntax-'));
  let pacs;
  let proxy;
  let variants;
  before(async () => {
    variants = await compressedCopies(temp);
    pacs = await startOrthanc();
    await pacs.client.store([ORIGINAL, ...variants.map(v => v.file)].map(bytesOf));
    proxy = await faultyProxy(pacs.url, () => 'no-transcoding');
  });
  after(async () => {
    proxy?.closeAllConnections();
    proxy?.close();
    await pacs?.stop();
    rmSync(temp, { recursive: true, force: true });
  });

  test('JPEG Lossless, JPEG-LS, RLE and JPEG 2000 images are decoded by the worker and score as the uncompressed original (1e-3)', { timeout: 300_000 }, async () => {
    const url = `http://127.0.0.1:${proxy.address().port}/dicom-web`;
    const { code, events, stderr } = await runWorker(['--pacs', url, '--once', '--threads', '1']);
    assert.equal(code, 0, stderr);
    assert.deepEqual(of(events, 'failed'), []);
    await assertSameScores(pacs.client, variants);
    const local = decodedLocally(events);
    for (const variant of variants) assert.equal(local.get(variant.sop), variant.syntax, `${variant.name}: decoded by the worker`);
    assert.equal(local.get(originalSop()), undefined, 'the uncompressed original needs no decoding');
    assert.equal(of(events, 'not-transcoded').length, variants.length + 1, 'every image was refused transcoding, then asked for as stored');
    assert.ok(of(events, 'not-transcoded').every(e => e.status === 406));
  });
});
