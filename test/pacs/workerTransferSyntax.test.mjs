// Compressed radiographs (issue 17): the same image stored as JPEG Lossless, JPEG-LS and RLE
// (compressed by DCMTK's dcmcjpeg, dcmcjpls and dcmcrle), each as its own study, gets the same
// score from the worker as the uncompressed original (1e-3): the worker asks Orthanc for Explicit
// VR Little Endian and Orthanc transcodes. JPEG 2000 is not here: DCMTK cannot write it and
// Orthanc reads it only with its GDCM plugin, which Debian packages separately.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import dcmjs from 'dcmjs';

import { startOrthanc } from './orthanc.mjs';
import { bytesOf, of, resultSrs, ROOT, runWorker } from './workerHarness.mjs';

const ORIGINAL = join(ROOT, 'test', 'demo-studies', 'dicom', 'study-01.dcm');
const CODECS = [
  { name: 'JPEG Lossless', tool: 'dcmcjpeg', syntax: '1.2.840.10008.1.2.4.70' },
  { name: 'JPEG-LS Lossless', tool: 'dcmcjpls', syntax: '1.2.840.10008.1.2.4.80' },
  { name: 'RLE Lossless', tool: 'dcmcrle', syntax: '1.2.840.10008.1.2.5' },
];

describe('compressed radiographs', () => {
  const temp = mkdtempSync(join(tmpdir(), 'chestaid-syntax-'));
  let pacs;
  const variants = [];
  before(async () => {
    const { DicomMessage, DicomMetaDictionary } = dcmjs.data;
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
      execFileSync(codec.tool, [plain, packed]);
      const stored = DicomMessage.readFile(bytesOf(packed));
      assert.equal(stored.meta['00020010'].Value[0], codec.syntax, `${codec.tool} wrote ${codec.name}`);
      variants.push({ ...codec, sop: ds.SOPInstanceUID, file: packed });
    }
    pacs = await startOrthanc();
    await pacs.client.store([ORIGINAL, ...variants.map(v => v.file)].map(bytesOf));
  });
  after(async () => {
    await pacs?.stop();
    rmSync(temp, { recursive: true, force: true });
  });

  test('JPEG Lossless, JPEG-LS and RLE images score as the uncompressed original (1e-3): Orthanc transcodes on request', { timeout: 300_000 }, async () => {
    const { code, events, stderr } = await runWorker(['--pacs', pacs.dicomWebUrl, '--once', '--threads', '1']);
    assert.equal(code, 0, stderr);
    assert.deepEqual(of(events, 'failed'), []);
    const scores = new Map((await resultSrs(pacs.client)).map(({ content }) => [content.source.sopInstanceUID, content.score]));
    const originalSop = dcmjs.data.DicomMessage.readFile(bytesOf(ORIGINAL)).dict['00080018'].Value[0];
    const original = scores.get(originalSop);
    assert.equal(typeof original, 'number');
    for (const variant of variants) {
      const score = scores.get(variant.sop);
      assert.ok(typeof score === 'number', `${variant.name}: no result`);
      assert.ok(Math.abs(score - original) <= 1e-3, `${variant.name}: ${score} against ${original}`);
    }
  });
});
