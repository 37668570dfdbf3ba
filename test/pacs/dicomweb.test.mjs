// The DICOMweb client against a real Orthanc: STOW-RS, QIDO-RS, WADO-RS, refusals, an unreachable
// server, and retry across a PACS restart.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { demoStudyFiles, dicomweb, loadDemoStudies, startOrthanc } from './orthanc.mjs';

const { DicomWebClient, PacsUnreachable, StowError, stringValue } = dicomweb();
let pacs;

before(async () => {
  pacs = await startOrthanc();
});
after(async () => {
  await pacs?.stop();
});

const bytesOf = file => {
  const b = readFileSync(file);
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
};

test('the demo studies go in through STOW-RS and come back through QIDO-RS and WADO-RS unchanged', async () => {
  const files = demoStudyFiles();
  const stored = await loadDemoStudies(pacs.client, files);
  assert.equal(stored.length, files.length);

  const crStudies = await pacs.client.searchStudies({ ModalitiesInStudy: 'CR' });
  const ctStudies = await pacs.client.searchStudies({ ModalitiesInStudy: 'CT' });
  assert.ok(crStudies.length >= 24, `CR studies: ${crStudies.length}`);
  assert.equal(ctStudies.length, 1);

  const original = readFileSync(files[0]);
  const { DicomMessage, DicomMetaDictionary } = (await import('dcmjs')).default.data;
  const dataset = DicomMetaDictionary.naturalizeDataset(DicomMessage.readFile(bytesOf(files[0])).dict);
  const back = await pacs.client.retrieveInstance(dataset.StudyInstanceUID, dataset.SeriesInstanceUID, dataset.SOPInstanceUID);
  const roundTripped = DicomMetaDictionary.naturalizeDataset(DicomMessage.readFile(back).dict);
  assert.equal(roundTripped.SOPInstanceUID, dataset.SOPInstanceUID);
  assert.deepEqual(new Uint8Array(roundTripped.PixelData[0]), new Uint8Array(dataset.PixelData[0]));
  assert.ok(original.byteLength > 0);

  const metadata = await pacs.client.retrieveInstanceMetadata(dataset.StudyInstanceUID, dataset.SeriesInstanceUID, dataset.SOPInstanceUID);
  assert.equal(stringValue(metadata, '00080060'), dataset.Modality);
});

test('a query that matches nothing gives an empty list', async () => {
  assert.deepEqual(await pacs.client.searchStudies({ PatientID: 'NO-SUCH-PATIENT' }), []);
});

test('a STOW of bytes that are not DICOM is refused with the reason, and stores nothing', async () => {
  const before = (await pacs.client.searchStudies()).length;
  await assert.rejects(pacs.client.store([new TextEncoder().encode('not a DICOM file').buffer]), error => {
    assert.ok(error instanceof StowError, error.message);
    assert.ok(error.status >= 400);
    return true;
  });
  assert.equal((await pacs.client.searchStudies()).length, before);
});

test('an unreachable PACS is reported as such, naming the URL', async () => {
  const client = new DicomWebClient({ baseUrl: 'http://127.0.0.1:9/dicom-web', retry: { retries: 0, baseDelayMs: 0, maxDelayMs: 0, jitter: 0 } });
  await assert.rejects(client.searchStudies(), error => error instanceof PacsUnreachable && error.message.includes('127.0.0.1:9'));
});

test('a request retried with backoff succeeds once the PACS is back after a crash', async () => {
  const retries = [];
  const client = new DicomWebClient({
    baseUrl: pacs.dicomWebUrl,
    retry: { retries: 30, baseDelayMs: 100, maxDelayMs: 400, jitter: 0.5 },
    retryHooks: { onRetry: (error, attempt) => retries.push(`${attempt}: ${error.name}`) },
  });
  await pacs.kill();
  const restarted = new Promise(resolve => setTimeout(() => resolve(pacs.restart()), 600));
  const studies = await client.searchStudies({ ModalitiesInStudy: 'CR' });
  await restarted;
  assert.ok(retries.length >= 1, 'the first attempt should have failed while the PACS was down');
  assert.ok(studies.length >= 24, 'the storage survived the crash');
});
