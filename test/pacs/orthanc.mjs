/**
 * The integration tests' PACS: a real Orthanc (pacs/orthanc.mjs) on a free loopback port with its
 * storage in a fresh temporary directory, and a DicomWebClient from the Node build pointed at it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { basicAuthorization, demoStudyFiles, loadDemoStudies, startOrthanc as startOrthancProcess } from '../../pacs/orthanc.mjs';
import { requireBuilt } from '../../scripts/node-build.mjs';

export { demoStudyFiles, loadDemoStudies };

/** The DICOMweb client module of the Node build (compiled on demand). */
export const dicomweb = () => requireBuilt('@chestaid/core');

/**
 * Starts Orthanc for one test file. `stop()` also deletes its storage; `kill()` and `restart()`
 * keep it, as a crashed and restarted PACS would. `users` ({ name: password }) turns HTTP Basic
 * authentication on; `client` then sends the first user's credentials.
 */
export async function startOrthanc(options = {}) {
  const stateDir = options.storageDir ?? mkdtempSync(join(tmpdir(), 'chestaid-orthanc-'));
  const orthanc = await startOrthancProcess({ stateDir, port: options.port, users: options.users });
  const { DicomWebClient, NO_RETRY } = dicomweb();
  const authorization = basicAuthorization(options.users);
  const fetchWithAuth = authorization ? (input, init) => fetch(input, { ...init, headers: { ...init?.headers, Authorization: authorization } }) : undefined;
  const stop = orthanc.stop.bind(orthanc);
  return Object.assign(orthanc, {
    storageDir: stateDir,
    /** A client with no retries, so a test sees each failure as it happens. */
    client: new DicomWebClient({ baseUrl: orthanc.dicomWebUrl, retry: options.retry ?? NO_RETRY, fetch: fetchWithAuth }),
    async stop() {
      await stop();
      if (!options.storageDir) rmSync(stateDir, { recursive: true, force: true });
    },
  });
}
