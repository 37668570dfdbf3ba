/**
 * ChestAid's state in the viewer: the model the manifest describes, whether the open study is one
 * ChestAid reads, the image on screen, the analyses made and the reader's threshold. It lives
 * here, not in the panel, because OHIF unmounts panels (collapse, tab switch) and the panel is an
 * island of our own React: the panel renders what this service announces (EVENTS.STATE_CHANGED)
 * and asks it to act.
 *
 * Results are keyed by what they are about, resultKey(SOPInstanceUID, model sha256), and only the
 * result whose key is the active image's is ever shown: an answer that arrives after the reader
 * moved to another image is kept for that image and never shown on this one; a second Analyze of
 * an image being analysed joins the run under way.
 *
 * The analysis itself is plugged in with setAnalyzer(): the shell does not know how pixels reach
 * the model (that is the onnxruntime and Cornerstone adapters' business).
 *
 * An OutcomeStore, when plugged in with setOutcomeStore(), keeps results beyond the page: every
 * finished analysis is saved there, and an image with no result in memory is looked up there
 * before anything is shown as missing, so a study scored by the triage batch (or before a reload)
 * opens with its result and without a second run.
 */
import { InputError, parseManifest, type Analysis, type Manifest, type ModelIdentity } from '../core';
import { show } from '../core/errors';
import { resultKey, SupersededError } from '../inference';
import { checkModalities, type Applicability } from '../modalities';
import { loadThreshold, resetThreshold, saveThreshold, type StorageLike, type ThresholdState } from './thresholdSetting';

export const EVENTS = Object.freeze({
  STATE_CHANGED: 'event::chestaid:stateChanged',
});

/** What Analyze runs on: the image shown in the active viewport. */
export interface AnalysisTarget {
  readonly viewportId: string;
  readonly displaySetInstanceUID: string;
  readonly imageId: string;
  readonly sopInstanceUID: string;
  readonly modality: string;
  /** The image's study and series, when known: stored results are keyed by them too. */
  readonly studyInstanceUID?: string;
  readonly seriesInstanceUID?: string;
}

/**
 * Where finished analyses outlive the page (the triage result store, see triage/outcomeStore.ts).
 * Results are stored under the image, the model bytes and the calibration version.
 */
export interface OutcomeStore {
  /** The stored outcome of this image under this model and calibration, or null. */
  find(target: AnalysisTarget, model: ModelIdentity): Promise<AnalysisOutcome | null>;
  save(target: AnalysisTarget, outcome: AnalysisOutcome, model: ModelIdentity): Promise<void>;
}

/**
 * Where results are shared with every reader: the PACS, as DICOM SR (pacs/archive.ts). The
 * service knows nothing of DICOM; the archive answers in plain terms and never throws.
 */
export interface ResultArchive {
  /** Why this image's result cannot go to the archive (no PACS; a study from another source), or null. */
  unavailableReason(target: AnalysisTarget): string | null;
  /** The archived result of this image under this model and calibration, or null. */
  find(target: AnalysisTarget, model: ModelIdentity): Promise<ArchiveLookup>;
  /** Archives the result, once: a result already there is reported, not written again. */
  save(target: AnalysisTarget, outcome: AnalysisOutcome, manifest: Manifest, model: ModelIdentity): Promise<ArchiveSave>;
}

/** A result found in the archive. */
export interface ArchivedScore {
  readonly probability: number;
  readonly srSopInstanceUID: string;
  readonly observedAt: string;
  readonly modelId: string;
  readonly modelVersion: string;
}

export type ArchiveFailure = { readonly status: 'failed'; readonly kind: 'unreachable' | 'refused' | 'error'; readonly message: string };

export type ArchiveLookup = { readonly status: 'found'; readonly score: ArchivedScore } | { readonly status: 'absent' } | ArchiveFailure;

export type ArchiveSave =
  | { readonly status: 'saved'; readonly srSopInstanceUID: string; readonly heatmapProblem: string | null }
  | { readonly status: 'already-saved'; readonly srSopInstanceUID: string }
  | ArchiveFailure;

/** "Save to PACS" for the image on screen. */
export type ArchiveState =
  | { readonly status: 'unavailable'; readonly reason: string }
  | { readonly status: 'idle' | 'checking' | 'saving' }
  | ArchiveSave;

/** How an analysis ran. */
export interface RunInfo {
  readonly backend: string;
  readonly threads: number;
  /** Why this backend; for wasm it says why WebGPU was not used. */
  readonly reason: string;
  /** From pixels to result (preprocessing, transfer, the model run), model loading excluded. */
  readonly totalMs: number;
  /** The model run alone, inside the worker. */
  readonly runMs: number;
}

export interface AnalysisOutcome {
  /** resultKey(SOPInstanceUID of the pixels analysed, sha256 of the model that scored them). */
  readonly key: string;
  readonly analysis: Analysis;
  readonly run: RunInfo;
}

export interface Analyzer {
  /** The sha256 of the ONNX file this analyzer scores with under `manifest`: the key's second half. */
  modelSha256(manifest: Manifest): string;
  analyze(target: AnalysisTarget, manifest: Manifest): Promise<AnalysisOutcome>;
}

export interface ModelInfo {
  readonly id: string;
  readonly version: string;
  readonly sha256: string;
  readonly synthetic: boolean;
  readonly disclaimer: string;
  readonly calibrationMethod: Manifest['calibration']['selected'];
  readonly calibrationVersion: string;
}

export type ModelState =
  | { readonly status: 'loading' }
  | { readonly status: 'ready'; readonly info: ModelInfo }
  | { readonly status: 'error'; readonly message: string };

/** The inference runtime: model download, then the backend it runs on. */
export type RuntimeState =
  | { readonly status: 'idle' }
  | { readonly status: 'loading'; readonly loaded: number; readonly total: number | null }
  | { readonly status: 'ready'; readonly backend: string; readonly threads: number; readonly reason: string }
  | { readonly status: 'error'; readonly message: string };

/**
 * How the Grad-CAM layer is drawn, for every viewport: each viewport shows the layer of its own
 * image's result, and only that.
 */
export interface HeatmapSettings {
  readonly visible: boolean;
  /** Opacity of the attention map, in [0, 1]. */
  readonly opacity: number;
  /** The attention map, the outline of the region at or above `outlineLevel`, or both. */
  readonly layers: 'attention' | 'outline' | 'both';
  /** Attention level (0, 1] the outline encloses. */
  readonly outlineLevel: number;
}

export const DEFAULT_HEATMAP: HeatmapSettings = { visible: true, opacity: 0.5, layers: 'attention', outlineLevel: 0.5 };

/** A CR/DX image of the open study, as the panel lists it. */
export interface StudyImage {
  readonly displaySetInstanceUID: string;
  readonly imageId: string;
  readonly sopInstanceUID: string;
  readonly modality: string;
  /** How a reader tells the images apart: series description and instance number. */
  readonly label: string;
  readonly studyInstanceUID?: string;
  readonly seriesInstanceUID?: string;
}

/** One row of the panel's image list: the image and where its analysis stands. */
export interface ImageRow {
  readonly image: StudyImage;
  readonly status: 'idle' | 'running' | 'done' | 'error';
  readonly outcome?: AnalysisOutcome;
  readonly message?: string;
  /** Whether it is the image in the active viewport. */
  readonly active: boolean;
}

/** "Analyze all images": where the run stands (null when none has run in this study). */
export interface BatchState {
  readonly running: boolean;
  readonly done: number;
  readonly total: number;
  readonly cancelled: boolean;
}

/** The analysis of the active image, if any. */
export type AnalysisState =
  | { readonly status: 'idle' }
  | { readonly status: 'running'; readonly target: AnalysisTarget }
  | { readonly status: 'done'; readonly target: AnalysisTarget; readonly outcome: AnalysisOutcome }
  | { readonly status: 'error'; readonly message: string };

export interface ChestAidState {
  readonly model: ModelState;
  /** null until a study's display sets are known. */
  readonly study: Applicability | null;
  readonly analysis: AnalysisState;
  readonly runtime: RuntimeState;
  /** null until the manifest is loaded. */
  readonly threshold: ThresholdState | null;
  /** Set when the host viewer breaks an assumption checked at run time (see hostCheck.ts). */
  readonly hostProblem: string | null;
  readonly heatmap: HeatmapSettings;
  /** The study's CR/DX images with their results; empty until the study's display sets are known. */
  readonly images: readonly ImageRow[];
  readonly batch: BatchState | null;
  /** Save to PACS for the active image. */
  readonly archive: ArchiveState;
  /** The active image's result as the PACS holds it (any reader's), or null. */
  readonly archived: ArchivedScore | null;
}

const INITIAL_STATE: ChestAidState = {
  model: { status: 'loading' },
  study: null,
  analysis: { status: 'idle' },
  runtime: { status: 'idle' },
  threshold: null,
  hostProblem: null,
  heatmap: DEFAULT_HEATMAP,
  images: [],
  batch: null,
  archive: { status: 'unavailable', reason: 'No PACS is configured: results stay in this browser.' },
  archived: null,
};

/** The slot batch runs use in the inference client: they never supersede a viewport's Analyze. */
const BATCH_SLOT = 'chestaid-analyze-all';

/** Results kept for images analysed earlier in the session (a few hundred bytes each). */
const MAX_RESULTS = 200;

type Listener = (state: ChestAidState) => void;

export interface ChestAidServiceDeps {
  /** Fetches and parses JSON; tests pass a fake. */
  readonly fetchJson?: (url: string) => Promise<unknown>;
  /** Where the reader's threshold is kept; window.localStorage by default, null for none. */
  readonly storage?: StorageLike | null;
}

async function fetchJsonOverHttp(url: string): Promise<unknown> {
  const response = await fetch(url);
  if (!response.ok) {
    throw new Error(`GET ${url} answered ${response.status} ${response.statusText}`);
  }
  return response.json();
}

function browserStorage(): StorageLike | null {
  try {
    return (globalThis as { localStorage?: StorageLike }).localStorage ?? null;
  } catch {
    // Reading localStorage itself throws where storage is blocked.
    return null;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function sameImage(a: AnalysisTarget | null, b: AnalysisTarget | null): boolean {
  return (
    a === b ||
    (a !== null && b !== null && a.viewportId === b.viewportId && a.imageId === b.imageId && a.sopInstanceUID === b.sopInstanceUID)
  );
}

export class ChestAidService {
  static readonly REGISTRATION = {
    name: 'chestAidService',
    create: (): ChestAidService => new ChestAidService(),
  };

  readonly EVENTS = EVENTS;

  private state: ChestAidState = INITIAL_STATE;
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly fetchJson: (url: string) => Promise<unknown>;
  private readonly storage: StorageLike | null;
  private manifestPromise: Promise<Manifest> | null = null;
  private manifestUrl: string | null = null;
  private manifest: Manifest | null = null;
  private analyzer: Analyzer | null = null;
  private outcomeStore: OutcomeStore | null = null;
  /** Keys being looked up in the outcome store. */
  private readonly lookups = new Set<string>();

  /** The image on screen in the active viewport. */
  private active: AnalysisTarget | null = null;
  /** A refusal about the request rather than an image (blocked study, no image...). */
  private notice: string | null = null;
  private readonly results = new Map<string, AnalysisOutcome>();
  private readonly running = new Map<string, Promise<void>>();
  private readonly failures = new Map<string, string>();
  private studyImages: readonly StudyImage[] = [];
  private batchRun: { cancelled: boolean } | null = null;
  private archive: ResultArchive | null = null;
  /** Per result key: what Save to PACS did or found, and what the archive holds. */
  private readonly archiveStates = new Map<string, ArchiveState>();
  private readonly archivedScores = new Map<string, ArchivedScore>();
  private readonly archiveLookups = new Set<string>();

  constructor({ fetchJson = fetchJsonOverHttp, storage = browserStorage() }: ChestAidServiceDeps = {}) {
    this.fetchJson = fetchJson;
    this.storage = storage;
  }

  getState = (): ChestAidState => this.state;

  /** OHIF's pub-sub shape, so the service reads like the host's own services. */
  subscribe(event: string, listener: Listener): { unsubscribe: () => void } {
    const set = this.listeners.get(event) ?? new Set<Listener>();
    set.add(listener);
    this.listeners.set(event, set);
    return { unsubscribe: () => set.delete(listener) };
  }

  /** Loads and validates the manifest once per URL; later calls share the first promise. */
  loadManifest(url: string): Promise<Manifest> {
    if (this.manifestPromise && this.manifestUrl === url) {
      return this.manifestPromise;
    }
    this.manifestUrl = url;
    this.manifest = null;
    this.update({ model: { status: 'loading' }, threshold: null });
    const promise = this.fetchJson(url).then(parseManifest);
    this.manifestPromise = promise;
    promise.then(
      manifest => {
        if (this.manifestPromise === promise) {
          this.manifest = manifest;
          this.update({
            model: { status: 'ready', info: modelInfoOf(manifest) },
            threshold: loadThreshold(this.storage, manifest),
          });
          this.refresh();
          this.lookUpStored();
        }
      },
      error => {
        if (this.manifestPromise === promise) {
          this.manifestPromise = null;
          this.update({ model: { status: 'error', message: `Model manifest ${url}: ${messageOf(error)}` } });
        }
      },
    );
    return promise;
  }

  setAnalyzer(analyzer: Analyzer | null): void {
    this.analyzer = analyzer;
    this.refresh();
    this.lookUpStored();
  }

  /** The analyzer in use: the triage batch runs the same one (one worker, one model download). */
  getAnalyzer(): Analyzer | null {
    return this.analyzer;
  }

  /** Where results are saved and looked up beyond this page; null for memory only. */
  setOutcomeStore(store: OutcomeStore | null): void {
    this.outcomeStore = store;
    this.lookUpStored();
  }

  /** Where results are shared with other readers (the PACS); null for none. */
  setArchive(archive: ResultArchive | null): void {
    this.archive = archive;
    this.archiveStates.clear();
    this.archivedScores.clear();
    this.refresh();
    this.lookUpStored();
  }

  /**
   * Save to PACS: archives the result shown for the active image (only that image's, computed on
   * it). Resolves when the PACS has answered; the outcome is announced in `state.archive`. A
   * failure leaves the result where it was (memory and the browser store): nothing is lost, and
   * saving again retries.
   */
  async saveToPacs(): Promise<void> {
    const { active: target, manifest, analyzer, archive } = this;
    if (!target || !manifest || !analyzer) return;
    const reason = archive ? archive.unavailableReason(target) : 'No PACS is configured: results stay in this browser.';
    if (!archive || reason) return;
    let key: string;
    try {
      key = this.keyOf(target, manifest, analyzer);
    } catch {
      return;
    }
    const outcome = this.results.get(key);
    const current = this.archiveStates.get(key)?.status;
    if (!outcome || current === 'saving' || current === 'saved' || current === 'already-saved') return;
    this.archiveStates.set(key, { status: 'saving' });
    this.refresh();
    let answer: ArchiveSave;
    try {
      answer = await archive.save(target, outcome, manifest, this.modelOf(manifest, analyzer));
    } catch (error) {
      answer = { status: 'failed', kind: 'error', message: messageOf(error) };
    }
    this.archiveStates.set(key, answer);
    if (answer.status === 'saved' || answer.status === 'already-saved') {
      this.archivedScores.set(key, {
        probability: outcome.analysis.probability,
        srSopInstanceUID: answer.srSopInstanceUID,
        observedAt: this.archivedScores.get(key)?.observedAt ?? new Date().toISOString(),
        modelId: outcome.analysis.modelId,
        modelVersion: outcome.analysis.modelVersion,
      });
    }
    this.refresh();
  }

  setStudyModalities(modalities: readonly string[]): void {
    this.notice = null;
    this.update({ study: checkModalities(modalities) });
    this.refresh();
  }

  setHostProblem(problem: string | null): void {
    this.update({ hostProblem: problem });
  }

  /** The inference runtime's progress and backend, as the analyzer reports them. */
  setRuntime(runtime: RuntimeState): void {
    this.update({ runtime });
  }

  /**
   * The image now on screen in the active viewport (null: none). The panel then shows that
   * image's result, run or failure, or nothing: never another image's.
   */
  setActiveImage(target: AnalysisTarget | null): void {
    if (sameImage(target, this.active)) return;
    this.active = target;
    this.notice = null;
    this.refresh();
    this.lookUpStored();
  }

  /** Why Analyze cannot run now, or null when it can. */
  blocker(): string | null {
    const { model } = this.state;
    const blocked = blockedReason(this.state);
    if (blocked) return blocked;
    if (model.status === 'error') return model.message;
    if (model.status === 'loading') return 'Loading the model manifest...';
    if (!this.analyzer) return 'No analyzer is configured in this build of ChestAid.';
    return null;
  }

  /**
   * Scores `target`, which becomes the active image. Resolves when its analysis has settled (or
   * at once when it is known already); the outcome is announced through the state, not returned.
   */
  analyze(target: AnalysisTarget): Promise<void> {
    this.active = target;
    this.notice = null;
    return this.run(target);
  }

  /** Runs `target`'s analysis (or joins the one under way) without making it the active image. */
  private run(target: AnalysisTarget): Promise<void> {
    const blocked = this.blocker();
    const manifest = this.manifest;
    const analyzer = this.analyzer;
    if (blocked || !manifest || !analyzer) {
      return Promise.resolve(this.fail(blocked ?? 'Loading the model manifest...'));
    }
    let key: string;
    try {
      key = this.keyOf(target, manifest, analyzer);
    } catch (error) {
      return Promise.resolve(this.fail(messageOf(error)));
    }
    const known = this.running.get(key);
    if (known || this.results.has(key)) {
      this.refresh();
      return known ?? Promise.resolve();
    }
    this.failures.delete(key);
    const run = analyzer.analyze(target, manifest).then(
      outcome => {
        this.remember(outcome);
        if (outcome.key !== key) {
          this.failures.set(key, `The pixels read for this image belong to another image (${outcome.key}); the result is not shown.`);
        } else {
          this.save(target, outcome, manifest, analyzer);
        }
      },
      error => {
        // Superseded: a newer request in the same viewport replaced it; nobody waits for it.
        if (!(error instanceof SupersededError)) this.failures.set(key, messageOf(error));
      },
    );
    const settled = run.finally(() => {
      this.running.delete(key);
      this.refresh();
    });
    this.running.set(key, settled);
    this.refresh();
    return settled;
  }

  /**
   * The result for an image (by SOPInstanceUID) under the current model, or null. The heatmap layer
   * draws from this, so a viewport only ever shows the layer of the image it displays.
   */
  outcomeForImage(sopInstanceUID: string): AnalysisOutcome | null {
    if (!this.manifest || !this.analyzer) return null;
    try {
      return this.results.get(resultKey(sopInstanceUID, this.analyzer.modelSha256(this.manifest))) ?? null;
    } catch {
      return null;
    }
  }

  /** The open study's CR/DX images, in the order the panel lists them. */
  setStudyImages(images: readonly StudyImage[]): void {
    this.studyImages = images;
    this.refresh();
  }

  /**
   * "Analyze all images": scores the study's CR/DX images one after the other, skipping those
   * already scored under this model, with progress in `state.batch`. One at a time, so the
   * reader's own Analyze is never starved and the worker holds one tensor at a time.
   */
  async analyzeAll(): Promise<void> {
    if (this.batchRun) return;
    const blocked = this.blocker();
    if (blocked) {
      this.fail(blocked);
      return;
    }
    const run = { cancelled: false };
    this.batchRun = run;
    const images = this.studyImages;
    let done = 0;
    const report = (running: boolean) =>
      this.update({ batch: { running, done, total: images.length, cancelled: run.cancelled } });
    report(true);
    try {
      for (const image of images) {
        if (run.cancelled) break;
        await this.run({ ...image, viewportId: BATCH_SLOT });
        done++;
        report(true);
      }
    } finally {
      this.batchRun = null;
      report(false);
      this.refresh();
    }
  }

  /** Stops "Analyze all images" after the image being analysed; finished results are kept. */
  cancelAnalyzeAll(): void {
    if (!this.batchRun) return;
    this.batchRun.cancelled = true;
    const { batch } = this.state;
    if (batch) this.update({ batch: { ...batch, cancelled: true } });
  }

  /** Changes how the heatmap layer is drawn (every viewport). */
  setHeatmap(patch: Partial<HeatmapSettings>): void {
    const next = { ...this.state.heatmap, ...patch };
    if (!(next.opacity >= 0 && next.opacity <= 1)) throw new InputError(`heatmap opacity must lie in [0, 1], got ${show(next.opacity)}`);
    if (!(next.outlineLevel > 0 && next.outlineLevel <= 1)) {
      throw new InputError(`outline level must lie in (0, 1], got ${show(next.outlineLevel)}`);
    }
    if (!['attention', 'outline', 'both'].includes(next.layers)) throw new InputError(`unknown heatmap layers ${show(next.layers)}`);
    this.update({ heatmap: next });
  }

  toggleHeatmap(): void {
    this.setHeatmap({ visible: !this.state.heatmap.visible });
  }

  /** Reports a failure found outside analyze() (e.g. no image in the active viewport). */
  fail(message: string): void {
    this.notice = message;
    this.refresh();
  }

  /** Moves the operating point; throws InputError for a value outside [0, 1]. */
  setThreshold(value: number): void {
    if (!this.manifest) return;
    this.update({ threshold: saveThreshold(this.storage, this.manifest, value) });
  }

  /** Back to the manifest's clinical threshold. */
  resetThreshold(): void {
    if (!this.manifest) return;
    this.update({ threshold: resetThreshold(this.storage, this.manifest) });
  }

  /** Called by OHIF for every service when a mode exits: forget the study, keep the model and results. */
  onModeExit(): void {
    this.active = null;
    this.notice = null;
    this.studyImages = [];
    this.cancelAnalyzeAll();
    this.update({ study: null, batch: null });
    this.refresh();
  }

  private keyOf(target: Pick<AnalysisTarget, 'sopInstanceUID'>, manifest: Manifest, analyzer: Analyzer): string {
    return resultKey(target.sopInstanceUID, analyzer.modelSha256(manifest));
  }

  private modelOf(manifest: Manifest, analyzer: Analyzer): ModelIdentity {
    return { modelSha256: analyzer.modelSha256(manifest), calibrationVersion: manifest.calibration.version };
  }

  /** Keeps a finished analysis in the outcome store; a store failure costs the copy, not the result. */
  private save(target: AnalysisTarget, outcome: AnalysisOutcome, manifest: Manifest, analyzer: Analyzer): void {
    this.outcomeStore?.save(target, outcome, this.modelOf(manifest, analyzer)).catch(error => {
      console.warn('ChestAid: the result could not be stored for later', error);
    });
  }

  /**
   * Looks the active image up in the outcome store when nothing is known of it in memory. The
   * answer is kept under its own key, so one that arrives after the reader moved on is shown only
   * if they come back to that image.
   */
  private lookUpStored(): void {
    this.lookUpArchived();
    const { active: target, manifest, analyzer, outcomeStore: store } = this;
    if (!target || !manifest || !analyzer || !store) return;
    let key: string;
    try {
      key = this.keyOf(target, manifest, analyzer);
    } catch {
      return;
    }
    if (this.results.has(key) || this.running.has(key) || this.lookups.has(key)) return;
    this.lookups.add(key);
    store
      .find(target, this.modelOf(manifest, analyzer))
      .then(
        outcome => {
          if (outcome && outcome.key === key && !this.results.has(key)) {
            this.remember(outcome);
            this.refresh();
          }
        },
        error => console.warn('ChestAid: stored results could not be read', error),
      )
      .finally(() => this.lookups.delete(key));
  }

  /**
   * Asks the archive (once per image and model, again after a failure) whether another reader or
   * the triage worker has stored a result for the active image, so the panel can show it and
   * Save to PACS knows there is nothing to write.
   */
  private lookUpArchived(): void {
    const { active: target, manifest, analyzer, archive } = this;
    if (!target || !manifest || !analyzer || !archive || archive.unavailableReason(target)) return;
    let key: string;
    try {
      key = this.keyOf(target, manifest, analyzer);
    } catch {
      return;
    }
    if (this.archivedScores.has(key) || this.archiveLookups.has(key) || this.archiveStates.has(key)) return;
    this.archiveLookups.add(key);
    this.archiveStates.set(key, { status: 'checking' });
    this.refresh();
    archive
      .find(target, this.modelOf(manifest, analyzer))
      .catch((error): ArchiveLookup => ({ status: 'failed', kind: 'error', message: messageOf(error) }))
      .then(found => {
        // A save that started meanwhile has the last word.
        const saving = this.archiveStates.get(key)?.status === 'saving';
        if (found.status === 'found') {
          this.archivedScores.set(key, found.score);
          if (!saving) this.archiveStates.set(key, { status: 'already-saved', srSopInstanceUID: found.score.srSopInstanceUID });
        } else if (!saving) {
          // A failed look-up is not worth an alarm before the reader asks to save: saving checks again.
          this.archiveStates.delete(key);
        }
      })
      .finally(() => {
        this.archiveLookups.delete(key);
        this.refresh();
      });
  }

  private remember(outcome: AnalysisOutcome): void {
    this.results.delete(outcome.key);
    this.results.set(outcome.key, outcome);
    if (this.results.size > MAX_RESULTS) {
      this.results.delete(this.results.keys().next().value as string);
    }
  }

  /** Derives what the panel shows for the active image. */
  private refresh(): void {
    this.update({ analysis: this.analysisOfActive(), images: this.imageRows(), ...this.archiveOfActive() });
  }

  private archiveOfActive(): Pick<ChestAidState, 'archive' | 'archived'> {
    const target = this.active;
    if (!this.archive) return { archive: INITIAL_STATE.archive, archived: null };
    if (!target) return { archive: { status: 'idle' }, archived: null };
    const reason = this.archive.unavailableReason(target);
    if (reason) return { archive: { status: 'unavailable', reason }, archived: null };
    if (!this.manifest || !this.analyzer) return { archive: { status: 'idle' }, archived: null };
    let key: string;
    try {
      key = this.keyOf(target, this.manifest, this.analyzer);
    } catch {
      return { archive: { status: 'idle' }, archived: null };
    }
    return { archive: this.archiveStates.get(key) ?? { status: 'idle' }, archived: this.archivedScores.get(key) ?? null };
  }

  private imageRows(): ImageRow[] {
    const manifest = this.manifest;
    const analyzer = this.analyzer;
    return this.studyImages.map(image => {
      const active = this.active?.sopInstanceUID === image.sopInstanceUID;
      if (!manifest || !analyzer) return { image, status: 'idle', active };
      let key: string;
      try {
        key = this.keyOf(image, manifest, analyzer);
      } catch {
        return { image, status: 'idle', active };
      }
      const outcome = this.results.get(key);
      if (outcome) return { image, status: 'done', outcome, active };
      if (this.running.has(key)) return { image, status: 'running', active };
      const message = this.failures.get(key);
      return message ? { image, status: 'error', message, active } : { image, status: 'idle', active };
    });
  }

  private analysisOfActive(): AnalysisState {
    if (this.notice) return { status: 'error', message: this.notice };
    const target = this.active;
    if (!target || !this.manifest || !this.analyzer) return { status: 'idle' };
    let key: string;
    try {
      key = this.keyOf(target, this.manifest, this.analyzer);
    } catch {
      return { status: 'idle' };
    }
    const outcome = this.results.get(key);
    if (outcome) return { status: 'done', target, outcome };
    if (this.running.has(key)) return { status: 'running', target };
    const failure = this.failures.get(key);
    if (failure) return { status: 'error', message: failure };
    return { status: 'idle' };
  }

  private update(patch: Partial<ChestAidState>): void {
    this.state = { ...this.state, ...patch };
    for (const listener of this.listeners.get(EVENTS.STATE_CHANGED) ?? []) {
      listener(this.state);
    }
  }
}

/** Why Analyze is unavailable whatever the model does: the host viewer or the open study. */
export function blockedReason({ hostProblem, study }: ChestAidState): string | null {
  return hostProblem ?? (study && !study.valid ? study.description : null);
}

function modelInfoOf(manifest: Manifest): ModelInfo {
  return {
    id: manifest.model.id,
    version: manifest.model.version,
    sha256: manifest.onnx.sha256,
    synthetic: manifest.data.synthetic === true,
    disclaimer: manifest.intended_use.disclaimer,
    calibrationMethod: manifest.calibration.selected,
    calibrationVersion: manifest.calibration.version,
  };
}
