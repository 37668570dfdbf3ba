/**
 * The page's memory over consecutive analyses, in a browser of its own: the page's JS heap, the
 * inference worker's wasm memory and the renderers' resident memory, sampled after each analysis,
 * with the trend of each (stats.mjs).
 */
import { readdirSync, readFileSync } from 'node:fs';

import { log } from './context.mjs';
import { launchChromium, openPage } from './harness.mjs';
import { trend } from './stats.mjs';
import { readStudy, toBase64 } from './study.mjs';

// An exact V8 heap size in performance.memory (it is bucketed otherwise), and gc() for the page
// and the worker, so each sample is what is retained rather than wherever the collectors'
// sawtooth happens to be (the worker's garbage is mostly transferred 0.6 MB input tensors).
const MEMORY_ARGS = ['--enable-precise-memory-info', '--js-flags=--expose-gc'];

export async function memoryRun(bench, server, results) {
  const { opts, manifest, MODEL_URL, MANIFEST_URL, MEMORY_RUNS } = bench;
  log(`memory: ${MEMORY_RUNS} consecutive analyses in a browser of their own...`);
  // Its own browser, so its one page is the only renderer process whose size is read.
  const browser = await launchChromium({ args: MEMORY_ARGS });
  const { page, errors } = await openPage(browser, server.url);
  page.on('crash', () => errors.push('the page crashed'));
  try {
    const study = readStudy(opts.study);
    await page.evaluate(([i, m, a, p]) => chestaidTest.preprocessSetup(i, m, a, p), ['demo', MANIFEST_URL, study.attributes, toBase64(study.pixels)]);
    const config = { modelUrl: MODEL_URL, sha256: manifest.onnx.sha256, bytes: manifest.onnx.bytes, backend: 'wasm', cacheName: null };
    await page.evaluate(([c]) => chestaidTest.start('mem', c), [config]);
    const series = { heapBytes: [], wasmMemoryBytes: [], rendererRssBytes: [] };
    const sample = async () => {
      // stats() collects the worker's garbage first, heap() the page's.
      series.wasmMemoryBytes.push((await page.evaluate(() => chestaidTest.stats('mem'))).wasmMemoryBytes);
      series.heapBytes.push(await page.evaluate(() => chestaidTest.heap()));
      series.rendererRssBytes.push(rendererRss());
    };
    await sample();
    for (let i = 0; i < MEMORY_RUNS; i++) {
      // A different key each time: the same image analyzed again, as a new analysis.
      await page.evaluate(n => chestaidTest.analyzeOnce('mem', 'demo', `memory-${n}`), i);
      await sample();
    }
    // The first sample is before any analysis (the session's own start-up allocations).
    results.memory = { analyses: MEMORY_RUNS, series, trends: Object.fromEntries(Object.entries(series).map(([k, v]) => [k, trend(v.slice(1))])) };
  } catch (error) {
    throw new Error(`memory run: ${error.message}; page errors: ${errors.join('; ') || 'none'}`);
  } finally {
    await browser.close();
  }
}

/**
 * Resident memory of this process's Chromium renderers (the page, its workers, their wasm
 * memory), from /proc; null where /proc is not there.
 */
function rendererRss() {
  let entries;
  try {
    entries = readdirSync('/proc').filter(name => /^\d+$/.test(name));
  } catch {
    return null;
  }
  const parent = new Map();
  for (const pid of entries) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      parent.set(Number(pid), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const ours = pid => {
    for (let p = pid, hops = 0; p > 1 && hops < 32; p = parent.get(p) ?? 0, hops++) if (p === process.pid) return true;
    return false;
  };
  let total = 0;
  for (const pid of parent.keys()) {
    if (!ours(pid)) continue;
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--type=renderer')) continue;
      const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (kb) total += Number(kb[1]) * 1024;
    } catch {
      // gone meanwhile
    }
  }
  return total;
}
