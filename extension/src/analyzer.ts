/**
 * Analyze, end to end: the Cornerstone adapter's pixels -> the core's analyze() -> the inference
 * worker, as the Analyzer ChestAidService runs. Its dependencies are plain functions and a
 * structurally typed client, so tests pass fakes; index.ts binds the real ones.
 *
 * One inference client serves every analysis: it fetches the model once with progress, verifies
 * its sha256 and keeps it in the Cache API (inference/modelBytes.ts). It is created either by
 * prepare(), which the ChestAid mode asks for as it opens a study (preload on, the default: the
 * engine starts, loads and warms up while the viewer loads the images, so the first Analyze does
 * not wait for all of it), or by the first Analyze (preload off: a reader who never presses it
 * downloads nothing). Without preload the client is asked for the model only once the image has
 * been read and preprocessed, so a refused image costs no download.
 */
import { analyze as analyzeImage, type Classifier, type Manifest, messageOf } from '@chestaid/core';
import type { ImagePixels } from './adapters/cornerstonePixels';
import { resultKey, type BackendInfo, type InferenceClient, type InferenceConfig } from './inference';
import type { AnalysisOutcome, AnalysisTarget, Analyzer, RuntimeState } from './analysis/types';

/** The part of InferenceClient the analyzer uses. */
export type InferenceClientLike = Pick<InferenceClient, 'EVENTS' | 'init' | 'analyze' | 'subscribe' | 'dispose'> & {
  readonly config: Pick<InferenceConfig, 'sha256'>;
};

export interface AnalyzerDeps {
  /** The Cornerstone adapter, bound to window.cornerstone. */
  readonly readPixels: (imageId: string) => Promise<ImagePixels>;
  /** The worker's configuration for a manifest (inferenceConfigFor with the host's URLs). */
  readonly configFor: (manifest: Manifest) => InferenceConfig;
  /** Makes the one client (createInferenceClient in the browser). */
  readonly createClient: (config: InferenceConfig) => InferenceClientLike;
  /** Where download progress and the backend are reported (ChestAidService.setRuntime). */
  readonly onRuntime: (runtime: RuntimeState) => void;
  /** Whether prepare() loads the model before the first Analyze (ChestAidConfig.preloadModel). */
  readonly preload?: boolean;
  readonly now?: () => number;
}

export interface ChestAidAnalyzer extends Analyzer {
  prepare(manifest: Manifest): void;
  /** Stops the worker; the next analysis starts a new one. */
  dispose(): void;
}


export function createAnalyzer({ readPixels, configFor, createClient, onRuntime, preload = false, now = () => performance.now() }: AnalyzerDeps): ChestAidAnalyzer {
  let client: InferenceClientLike | null = null;
  let subscription: { unsubscribe: () => void } | null = null;

  /** The one client, or a new one when the manifest names other model bytes. */
  function clientFor(manifest: Manifest): InferenceClientLike {
    const config = configFor(manifest);
    if (client && client.config.sha256.toLowerCase() === config.sha256.toLowerCase()) return client;
    dispose();
    const created = createClient(config);
    subscription = created.subscribe(created.EVENTS.PROGRESS, ({ loaded, total }) => {
      if (client === created) onRuntime({ status: 'loading', loaded, total });
    });
    client = created;
    return created;
  }

  function dispose(): void {
    subscription?.unsubscribe();
    subscription = null;
    client?.dispose();
    client = null;
  }

  /** Loads the model (once) and reports how; failures become the runtime's error too. */
  async function ready(current: InferenceClientLike) {
    try {
      const info = await current.init();
      if (client === current) onRuntime({ status: 'ready', backend: info.backend, threads: info.threads, reason: info.reason });
      return info;
    } catch (error) {
      if (client === current) onRuntime({ status: 'error', message: messageOf(error) });
      throw error;
    }
  }

  async function analyze(target: AnalysisTarget, manifest: Manifest): Promise<AnalysisOutcome> {
    const started = now();
    const image = await readPixels(target.imageId);
    const current = clientFor(manifest);
    const key = resultKey(image.sopInstanceUID, current.config.sha256);
    const ran: { info?: BackendInfo; loadMs: number; runMs: number } = { loadMs: 0, runMs: 0 };
    const classifier: Classifier = {
      async run(input, dims) {
        const loadStart = now();
        // Both at once: the worker queues the request while the model loads, and runs it as the
        // session's first run, rather than receiving it only after a round trip to this thread.
        // The input is a fresh tensor from analyze(): transferred to the worker, not copied.
        const pending = current.analyze({ key, input, dims, slot: target.viewportId });
        try {
          ran.info = await ready(current);
        } catch (error) {
          pending.catch(() => undefined); // it fails with the load, which is the error to report
          throw error;
        }
        ran.loadMs = now() - loadStart;
        const result = await pending;
        ran.runMs = result.runMs;
        return result;
      },
    };
    const analysis = await analyzeImage(image.attributes, image.pixels, manifest, classifier);
    const { info, loadMs, runMs } = ran;
    if (!info) throw new Error('the analysis finished without running the model');
    return {
      key,
      analysis,
      run: { backend: info.backend, threads: info.threads, reason: info.reason, totalMs: now() - started - loadMs, runMs },
    };
  }

  function prepare(manifest: Manifest): void {
    if (!preload) return;
    let current: InferenceClientLike;
    try {
      current = clientFor(manifest);
    } catch (error) {
      // A configuration the worker cannot take: Analyze will say so again, with the image.
      onRuntime({ status: 'error', message: messageOf(error) });
      return;
    }
    // ready() reports the outcome (loading, ready with the backend, or the error) to the panel.
    ready(current).catch(() => undefined);
  }

  return {
    modelSha256: manifest => configFor(manifest).sha256,
    analyze,
    prepare,
    dispose,
  };
}
