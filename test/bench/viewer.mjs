/**
 * Click-to-result and click-to-heatmap in the real viewer, driven through the ChestAid panel's
 * Analyze button, served two ways in the same run, round by round: the dev server (`npm start`,
 * test/e2e/harness.mjs; demo studies as DICOM JSON) and the production server (nginx serving a
 * site's OHIF with the build installed, its PACS a real Orthanc: nginxViewer.mjs):
 *
 *   cold          a fresh browser context (empty HTTP cache and Cache API): the first Analyze
 *                 downloads onnxruntime-web and the model, creates the session and runs it;
 *   warm-cached   a new page in that context: the model comes from the Cache API;
 *   warm          a further Analyze on the same page, of ANOTHER image (ChestAidService returns
 *                 a known image's result without running the model again).
 *
 * The ChestAid mode starts loading the model as it opens a study (preloadModel, on by default),
 * and the bench clicks as soon as the image is on screen and Analyze is offered: the earliest a
 * reader could, so click-to-result, cold, is what remains of the load then plus the run. Beside
 * it, open-to-result, cold: from the page's navigation to the result, the whole wait.
 *
 * Times are taken inside the page: performance.now() at the button's click() and a
 * MutationObserver that sees [data-cy="chestaid-result"] appear in the panel, then the viewport
 * element marked `data-chestaid-heatmap="<SOPInstanceUID shown>"` by the heatmap layer. A build
 * without the layer never marks it: that is reported, not waited for.
 */
import { launchChromium, startViewer } from '../e2e/harness.mjs';
import { startNginxViewer } from './nginxViewer.mjs';

const PANEL = '[data-cy="chestaid-panel"]';
const BANNER_CONFIRM = '[data-cy="confirm-and-hide-button"]';

/** The dev server with the demo studies; its radiographs as { study, sop }. */
async function startDevViewer() {
  const viewer = await startViewer();
  const studies = (await (await fetch(`${viewer.url}/chestaid/demo/studies.json`)).json()).studies.filter(s => s.Modalities === 'CR');
  const images = studies.map(s => ({ study: s.StudyInstanceUID, sop: s.series[0].instances[0].metadata.SOPInstanceUID }));
  return { url: viewer.url, images, stop: viewer.stop };
}

/** The ways the viewer is served, measured in this order within each round. */
export const SERVERS = Object.freeze({ 'dev server': startDevViewer, nginx: startNginxViewer });

/**
 * @param {{ runs: number, warmPerPage: number, heatmapTimeoutMs: number, servers?: string[], log?: (line: string) => void }} options
 * @returns {Promise<Record<string, { samples: Record<string, number[]>, heatmap: Record<string, number[]>, runMs: Record<string, number[]>, heatmapSeen: boolean, notes: string[] }>>}
 *   per server name
 */
export async function measureViewer({ runs, warmPerPage, heatmapTimeoutMs, servers = Object.keys(SERVERS), log = () => {} }) {
  const served = {};
  const browser = await launchChromium();
  try {
    for (const name of servers) served[name] = { server: await SERVERS[name](), ...emptyMeasures() };
    for (const [name, { server }] of Object.entries(served)) {
      if (server.images.length < warmPerPage + 2) throw new Error(`the viewer (${name}) lists ${server.images.length} radiographs; ${warmPerPage + 2} are needed`);
    }
    for (let round = 0; round < runs; round++) {
      // Interleaved: this host's timings drift for minutes at a time, so compare within a round.
      for (const measures of Object.values(served)) await measureRound(browser, measures, round, { warmPerPage, heatmapTimeoutMs });
      log(`viewer round ${round + 1}/${runs} (${Object.keys(served).join(', ')})`);
    }
  } finally {
    await browser.close();
    for (const { server } of Object.values(served)) await server.stop();
  }
  return Object.fromEntries(
    Object.entries(served).map(([name, { samples, openToResult, heatmap, runMs }]) => {
      const heatmapSeen = Object.values(heatmap).some(list => list.length > 0);
      const notes = heatmapSeen ? [] : [`${name}: no element was marked data-chestaid-heatmap within ${heatmapTimeoutMs} ms of a result: no heatmap layer in this build`];
      return [name, { samples, openToResult, heatmap, runMs, heatmapSeen, notes }];
    }),
  );
}

function emptyMeasures() {
  return {
    samples: { cold: [], 'warm-cached': [], warm: [] },
    /** Cold only: navigation start to the result (the page's own clock starts at navigation). */
    openToResult: [],
    heatmap: { cold: [], 'warm-cached': [], warm: [] },
    runMs: { cold: [], 'warm-cached': [], warm: [] },
    // Once an analysis has shown no heatmap, a build without the layer is likely: later waits are
    // short, so 60 analyses do not each wait the full timeout for nothing.
    heatmapWait: null,
  };
}

/** One round on one server: cold in a fresh context, warm-cached in a new page of it, then warm. */
async function measureRound(browser, measures, round, { warmPerPage, heatmapTimeoutMs }) {
  const { server } = measures;
  const wait = () => measures.heatmapWait ?? heatmapTimeoutMs;
  const record = (kind, measured) => {
    measures.samples[kind].push(measured.resultMs);
    measures.runMs[kind].push(measured.runMs);
    if (measured.heatmapMs !== null) measures.heatmap[kind].push(measured.heatmapMs);
    else if (!Object.values(measures.heatmap).some(list => list.length > 0)) measures.heatmapWait = Math.min(wait(), 250);
  };
  // Another set of images each round, so no page ever re-analyses a known image.
  const pick = Array.from({ length: warmPerPage + 2 }, (_, i) => server.images[(round * (warmPerPage + 2) + i) % server.images.length]);
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  await context.addInitScript(defineShownSop);
  try {
    const first = await openViewer(context, server.url, [pick[0]]);
    const cold = await analyzeShown(first.page, first.shown.sop, wait());
    record('cold', cold);
    measures.openToResult.push(cold.clickAt + cold.resultMs);
    await first.page.close();
    const second = await openViewer(context, server.url, pick.slice(1));
    record('warm-cached', await analyzeShown(second.page, second.shown.sop, wait()));
    for (const image of pick.slice(1).filter(i => i !== second.shown)) {
      await show(second.page, image);
      record('warm', await analyzeShown(second.page, image.sop, wait()));
    }
  } finally {
    await context.close();
  }
}

/**
 * Added to every page of a context: `window.chestaidBenchShownSop()`, the SOP Instance UID of the
 * image in the first viewport, or null before one is shown (from the image's metadata: the dev
 * server's and the PACS's image ids differ). An init script, since the CSP forbids eval.
 */
function defineShownSop() {
  window.chestaidBenchShownSop = () => {
    const viewport = window.cornerstone?.getEnabledElements?.()[0]?.viewport;
    const imageId = viewport?.getCornerstoneImage?.() ? viewport.getCurrentImageId() : null;
    return imageId ? (window.cornerstone.metaData.get('instance', imageId)?.SOPInstanceUID ?? null) : null;
  };
}

/** A page of the ChestAid mode with these studies, ready to Analyze the one the hanging protocol shows. */
async function openViewer(context, url, images) {
  const page = await context.newPage();
  page.setDefaultTimeout(120_000);
  // OHIF's "investigational use" banner comes back on some loads; it does not block a click()
  // made from inside the page, but it would cover screenshots and Playwright's own actions.
  await page.addLocatorHandler(page.locator(BANNER_CONFIRM), confirm => confirm.click());
  await page.goto(`${url}/chestaid?StudyInstanceUIDs=${images.map(i => i.study).join(',')}`);
  const shownId = await (await page.waitForFunction(() => window.chestaidBenchShownSop())).jsonValue();
  const shown = images.find(i => i.sop === shownId);
  if (!shown) throw new Error(`the viewer shows ${shownId}, none of the images asked for`);
  await waitShown(page, shown);
  return { page, shown };
}

/** Puts an image in the active viewport, as dropping its series there would. */
async function show(page, image) {
  await page.evaluate(sop => {
    const { displaySetService, viewportGridService } = window.services;
    const displaySet = displaySetService.getActiveDisplaySets().find(ds => ds.images?.some(i => i.SOPInstanceUID === sop));
    const { activeViewportId } = viewportGridService.getState();
    viewportGridService.setDisplaySetsForViewport({ viewportId: activeViewportId, displaySetInstanceUIDs: [displaySet.displaySetInstanceUID] });
  }, image.sop);
  await waitShown(page, image);
}

/** The image is on screen and the panel offers Analyze for it, with no result shown yet. */
async function waitShown(page, image) {
  await page.waitForFunction(
    ({ sop, panel }) => {
      const button = document.querySelector(`${panel} [data-cy="chestaid-analyze"]`);
      return window.chestaidBenchShownSop() === sop && button && !button.disabled && !document.querySelector(`${panel} [data-cy="chestaid-result"]`);
    },
    { sop: image.sop, panel: PANEL },
  );
}

/** Clicks Analyze; resolves with click-to-result, click-to-heatmap (or null) and the worker's run. */
async function analyzeShown(page, sop, heatmapTimeoutMs) {
  const measured = await page.evaluate(
    ({ panel, sop, heatmapTimeoutMs }) =>
      new Promise((resolve, reject) => {
        const root = document.querySelector(panel);
        const heatmapSelector = `[data-chestaid-heatmap="${CSS.escape(sop)}"]`;
        let resultMs = null;
        let heatmapMs = null;
        let timer = null;
        const finish = () => {
          observer.disconnect();
          clearTimeout(timer);
          resolve({ resultMs, heatmapMs, clickAt: t0 });
        };
        const check = () => {
          const now = performance.now() - t0;
          const alert = root.querySelector('[data-cy="chestaid-status"][role="alert"]');
          if (alert) {
            observer.disconnect();
            reject(new Error(`Analyze failed: ${alert.textContent}`));
            return;
          }
          if (resultMs === null && root.querySelector('[data-cy="chestaid-result"]')) {
            resultMs = now;
            timer = setTimeout(finish, heatmapTimeoutMs);
          }
          if (heatmapMs === null && document.querySelector(heatmapSelector)) heatmapMs = now;
          if (resultMs !== null && heatmapMs !== null) finish();
        };
        const observer = new MutationObserver(check);
        observer.observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-chestaid-heatmap', 'role'] });
        const t0 = performance.now();
        root.querySelector('[data-cy="chestaid-analyze"]').click();
        check();
      }),
    { panel: PANEL, sop, heatmapTimeoutMs },
  );
  const runMs = await page.evaluate(() => window.services.chestAidService.getState().analysis.outcome?.run.runMs ?? null);
  return { ...measured, runMs };
}
