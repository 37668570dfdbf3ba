/**
 * Click-to-result and click-to-heatmap in the real viewer (`npm start`, test/e2e/harness.mjs),
 * driven through the ChestAid panel's Analyze button:
 *
 *   cold          a fresh browser context (empty HTTP cache and Cache API): the first Analyze
 *                 downloads onnxruntime-web and the model, creates the session and runs it;
 *   warm-cached   a new page in that context: the model comes from the Cache API;
 *   warm          a further Analyze on the same page, of ANOTHER image (ChestAidService returns
 *                 a known image's result without running the model again).
 *
 * Times are taken inside the page: performance.now() at the button's click() and a
 * MutationObserver that sees [data-cy="chestaid-result"] appear in the panel, then the viewport
 * element marked `data-chestaid-heatmap="<SOPInstanceUID shown>"` by the heatmap layer. A build
 * without the layer never marks it: that is reported, not waited for.
 */
import { launchChromium, startViewer } from '../e2e/harness.mjs';

const PANEL = '[data-cy="chestaid-panel"]';
const BANNER_CONFIRM = '[data-cy="confirm-and-hide-button"]';

/**
 * @param {{ runs: number, warmPerPage: number, heatmapTimeoutMs: number, log?: (line: string) => void }} options
 * @returns {Promise<{ samples: Record<string, number[]>, runMs: Record<string, number[]>, heatmapSeen: boolean, notes: string[] }>}
 */
export async function measureViewer({ runs, warmPerPage, heatmapTimeoutMs, log = () => {} }) {
  const viewer = await startViewer();
  const browser = await launchChromium();
  const samples = { cold: [], 'warm-cached': [], warm: [] };
  const heatmap = { cold: [], 'warm-cached': [], warm: [] };
  const runMs = { cold: [], 'warm-cached': [], warm: [] };
  const notes = [];
  // Once an analysis has shown no heatmap, a build without the layer is likely: later waits are
  // short, so 60 analyses do not each wait the full timeout for nothing.
  let heatmapWait = heatmapTimeoutMs;
  try {
    const studies = (await (await fetch(`${viewer.url}/chestaid/demo/studies.json`)).json()).studies.filter(s => s.Modalities === 'CR');
    const images = studies.map(s => ({ study: s.StudyInstanceUID, sop: s.series[0].instances[0].metadata.SOPInstanceUID, imageId: s.series[0].instances[0].url }));
    if (images.length < warmPerPage + 2) throw new Error(`the viewer lists ${images.length} radiographs; ${warmPerPage + 2} are needed`);
    for (let round = 0; round < runs; round++) {
      // Another set of images each round, so no page ever re-analyses a known image.
      const pick = Array.from({ length: warmPerPage + 2 }, (_, i) => images[(round * (warmPerPage + 2) + i) % images.length]);
      const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
      try {
        const first = await openViewer(context, viewer.url, [pick[0]]);
        record('cold', await analyzeShown(first.page, first.shown.sop, heatmapWait));
        await first.page.close();
        const second = await openViewer(context, viewer.url, pick.slice(1));
        record('warm-cached', await analyzeShown(second.page, second.shown.sop, heatmapWait));
        for (const image of pick.slice(1).filter(i => i !== second.shown)) {
          await show(second.page, image);
          record('warm', await analyzeShown(second.page, image.sop, heatmapWait));
        }
      } finally {
        await context.close();
      }
      log(`viewer round ${round + 1}/${runs}`);
    }
  } finally {
    await browser.close();
    await viewer.stop();
  }
  const heatmapSeen = Object.values(heatmap).some(list => list.length > 0);
  if (!heatmapSeen) notes.push(`no element was marked data-chestaid-heatmap within ${heatmapTimeoutMs} ms of a result: no heatmap layer in this build`);
  return { samples, heatmap, runMs, heatmapSeen, notes };

  function record(kind, measured) {
    samples[kind].push(measured.resultMs);
    runMs[kind].push(measured.runMs);
    if (measured.heatmapMs !== null) heatmap[kind].push(measured.heatmapMs);
    else if (!Object.values(heatmap).some(list => list.length > 0)) heatmapWait = Math.min(heatmapWait, 250);
  }
}

/** A page of the ChestAid mode with these studies, ready to Analyze the one the hanging protocol shows. */
async function openViewer(context, url, images) {
  const page = await context.newPage();
  page.setDefaultTimeout(120_000);
  // OHIF's "investigational use" banner comes back on some loads; it does not block a click()
  // made from inside the page, but it would cover screenshots and Playwright's own actions.
  await page.addLocatorHandler(page.locator(BANNER_CONFIRM), confirm => confirm.click());
  await page.goto(`${url}/chestaid?StudyInstanceUIDs=${images.map(i => i.study).join(',')}`);
  const shownId = await (
    await page.waitForFunction(() => window.cornerstone?.getEnabledElements?.()[0]?.viewport?.getCornerstoneImage?.()?.imageId)
  ).jsonValue();
  const shown = images.find(i => i.imageId === shownId);
  if (!shown) throw new Error(`the viewer shows ${shownId}, none of the studies asked for`);
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
    ({ imageId, panel }) => {
      const shown = window.cornerstone?.getEnabledElements?.()[0]?.viewport?.getCornerstoneImage?.();
      const button = document.querySelector(`${panel} [data-cy="chestaid-analyze"]`);
      return shown?.imageId === imageId && button && !button.disabled && !document.querySelector(`${panel} [data-cy="chestaid-result"]`);
    },
    { imageId: image.imageId, panel: PANEL },
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
          resolve({ resultMs, heatmapMs });
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
