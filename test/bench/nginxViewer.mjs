/**
 * The viewer as a hospital serves it, for the benchmark's viewer rows: Debian's nginx with
 * deploy/nginx's configuration serving a stock OHIF with a site's own app-config.js and the build
 * installed (test/deploy/viewerRoot.mjs: `npm run build`, or CHESTAID_TEST_DIST), its PACS a real
 * Orthanc loaded with the demo studies. No login: the token check is one loopback request per PACS
 * call and the model and runtime files do not pass through it.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { startNginx } from '../deploy/nginxServer.mjs';
import { assembleViewerRoot } from '../deploy/viewerRoot.mjs';
import { demoStudyFiles, loadDemoStudies, startOrthanc } from '../pacs/orthanc.mjs';

const value = (json, tag) => json[tag]?.Value?.[0];

/** @returns {Promise<{ url: string, images: { study: string, sop: string }[], stop: () => Promise<void> }>} */
export async function startNginxViewer() {
  const prefix = mkdtempSync(join(tmpdir(), 'chestaid-bench-nginx-'));
  // Started by root, nginx's workers run as nobody: they must be able to read the viewer.
  chmodSync(prefix, 0o755);
  const root = join(prefix, 'viewer');
  mkdirSync(root);
  let pacs = null;
  let nginx = null;
  const stop = async () => {
    await nginx?.stop();
    await pacs?.stop();
    rmSync(prefix, { recursive: true, force: true });
  };
  try {
    assembleViewerRoot(root, { buildDir: join(prefix, 'build') });
    pacs = await startOrthanc();
    await loadDemoStudies(pacs.client, demoStudyFiles());
    nginx = await startNginx({ prefix, root, pacs: `127.0.0.1:${pacs.port}` });
    const images = [];
    for (const study of await pacs.client.searchStudies({ ModalitiesInStudy: 'CR', includefield: ['00080061'] })) {
      const uid = value(study, '0020000D');
      const [first] = await pacs.client.searchInstances(uid, undefined, {});
      if (first) images.push({ study: uid, sop: value(first, '00080018') });
    }
    return { url: nginx.url, images, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
