/**
 * The integration tests' PACS: a real Orthanc (pacs/orthanc.mjs) on a free loopback port with its
 * storage in a fresh temporary directory, and a DicomWebClient from the Node build pointed at it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { demoStudyFiles, loadDemoStudies, startOrthanc as startOrthancProcess } from '../../pacs/orthanc.mjs';
import { requireBuilt } from '../../scripts/node-build.mjs';

export { demoStudyFiles, loadDemoStudies };

/** The DICOMweb client module of the Node build (compiled on demand). */
export const dicomweb = () => requireBuilt('@chestaid/core');

/**
 * Starts Orthanc for one test file. `stop()` also deletes its storage; `kill()` and `restart()`
 * keep it, as a crashed and restarted PACS would.
 */
export async function startOrthanc(options = {}) {
  const stateDir = options.storageDir ?? mkdtempSync(join(tmpdir(), 'chestaid-orthanc-'));
  const orthanc = await startOrthancProcess({ stateDir, port: options.port });
  const { DicomWebClient, NO_RETRY } = dicomweb();
  const stop = orthanc.stop.bind(orthanc);
  return Object.assign(orthanc, {
    storageDir: stateDir,
    /** A client with no retries, so a test sees each failure as it happens. */
    client: new DicomWebClient({ baseUrl: orthanc.dicomWebUrl, retry: options.retry ?? NO_RETRY }),
    async stop() {
      await stop();
      if (!options.storageDir) rmSync(stateDir, { recursive: true, force: true });
    },
  });
}
