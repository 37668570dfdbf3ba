// The dev server (`npm start`) keeps the production server's limits: the checks of routes.mjs,
// against webpack-dev-server proxying a real Orthanc.
import { after, before, test } from 'node:test';

import { startViewer } from '../e2e/harness.mjs';
import { demoStudyFiles, loadDemoStudies, startOrthanc } from '../pacs/orthanc.mjs';
import { checkServer } from './routes.mjs';

let pacs;
let viewer;

before(async () => {
  pacs = await startOrthanc();
  await loadDemoStudies(pacs.client, demoStudyFiles().slice(0, -1));
  viewer = await startViewer({ env: { CHESTAID_DATA_SOURCE: 'pacs', CHESTAID_PACS_URL: pacs.url } });
});

after(async () => {
  await viewer?.stop();
  await pacs?.stop();
});

test('npm start: the shared checks of headers, listing, source maps, the model directory and the PACS proxy', { timeout: 120_000 }, async t => {
  await checkServer(t, viewer, pacs);
});
