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
 * an image being analyzed joins the run under way.
 *
 * The analysis itself is plugged in with setAnalyzer(): the shell does not know how pixels reach
 * the model (that is the onnxruntime and Cornerstone adapters' business).
 *
 * An OutcomeStore, when plugged in with setOutcomeStore(), keeps results beyond the page: every
 * finished analysis is saved there, and an image with no result in memory is looked up there
 * before anything is shown as missing, so a study scored by the triage batch (or before a reload)
 * opens with its result and without a second run.
 *
 * Calibration versions (issue 8): after the manifest, the active calibration is read from the
 * calibration store plugged in with setCalibrationStore() (the site's audit log) and applied
 * (core applyOverlay); the manifest the service hands out is that one. Every result carries the
 * calibration version it was computed under; one from another version is shown as stale, never
 * as current. accept/rollback go through the log and announce EVENTS.CALIBRATION_CHANGED.
 *
 * Feedback: the reader's ground truth for the active image goes to a FeedbackBook
 * (setFeedbackBook), with the logit and calibration version of the result it answers.
 */
import {
  type CalibrationHistory,
  calibrationLabel,
  calibrationOrigin,
  CalibrationVersions,
  type ChangeOptions,
  currentLabels,
  type FeedbackBook,
  type GroundTruth,
  type ImageIdentity,
  InputError,
  type Manifest,
  messageOf,
  type ModelIdentity,
  parseManifest,
  show,
} from '@chestaid/core';
import { resultKey, SupersededError } from '../inference';
import { checkModalities } from '../modalities';
import { loadThreshold, resetThreshold, saveThreshold, type StorageLike } from './thresholdSetting';
import type {
  AnalysisOutcome,
  AnalysisState,
  AnalysisTarget,
  Analyzer,
  ArchivedScore,
  ArchiveLookup,
  ArchiveSave,
  ArchiveState,
  CalibrationStoreFor,
  ChestAidState,
  FeedbackState,
  HeatmapSettings,
  ImageRow,
  ModelInfo,
  OutcomeStore,
  ResultArchive,
  RuntimeState,
  StudyImage,
} from './types';

export const EVENTS = Object.freeze({
  STATE_CHANGED: 'event::chestaid:stateChanged',
  /** The active calibration version changed (accept, rollback, reload): scores under the old one are stale. */
  CALIBRATION_CHANGED: 'event::chestaid:calibrationChanged',
});

export const DEFAULT_HEATMAP: HeatmapSettings = { visible: true, opacity: 0.5, layers: 'attention', outlineLevel: 0.5 };

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
  feedback: { reader: 'unknown', available: false, status: 'idle', mine: null, others: [], conflict: false, message: null },
};

/** The slot batch runs use in the inference client: they never supersede a viewport's Analyze. */
const BATCH_SLOT = 'chestaid-analyze-all';

/** Results kept for images analyzed earlier in the session (a few hundred bytes each). */
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
  /** The manifest as validated, before any site calibration. */
  private baseManifest: Manifest | null = null;
  private calibrationStoreFor: CalibrationStoreFor | null = null;
  private versions: CalibrationVersions | null = null;
  private feedbackBook: FeedbackBook | null = null;
  private reader = 'unknown';
  /** Bumped whenever the active image changes, so a late feedback read is dropped. */
  private feedbackTicket = 0;

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
    const promise = this.fetchJson(url)
      .then(parseManifest)
      .then(base => {
        if (this.manifestPromise === promise) this.baseManifest = base;
        return this.activeManifestFor(base).catch(error => {
          throw new Error(`calibration: ${messageOf(error)}`);
        });
      });
    this.manifestPromise = promise;
    promise.then(
      manifest => {
        if (this.manifestPromise === promise) this.useManifest(manifest);
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

  /**
   * Where the calibration log lives, per model sha256 (index.ts: the browser's IndexedDB or the
   * log served next to the model). Re-reads the active calibration when a manifest is loaded.
   */
  setCalibrationStore(storeFor: CalibrationStoreFor | null): Promise<void> {
    this.calibrationStoreFor = storeFor;
    return this.baseManifest ? this.reloadCalibration() : Promise.resolve();
  }

  /** The model's verified calibration log (what the admin page shows and builds its next change on). */
  async calibrationHistory(): Promise<CalibrationHistory> {
    return (await this.calibrationVersions()).history();
  }

  /** The model's versioned calibration, for the admin page (fits, next version, overlays). */
  async calibrationVersions(): Promise<CalibrationVersions> {
    await this.manifestPromise;
    if (!this.versions) throw new Error('no calibration log is configured: the manifest calibration is the only one');
    return this.versions;
  }

  /**
   * Accepts a site recalibration (an overlay for this model): appended to the audit log on the
   * head the admin reviewed, then made active. Throws ConflictError / CorruptLogError / InputError
   * with the reason; nothing changes then.
   */
  async acceptCalibration(overlay: unknown, options: ChangeOptions): Promise<void> {
    await (await this.calibrationVersions()).accept(overlay, options);
    await this.reloadCalibration();
  }

  /** Makes an earlier calibration version (or the manifest's own) active again, by a new log entry. */
  async rollbackTo(version: string, options: ChangeOptions): Promise<void> {
    await (await this.calibrationVersions()).rollbackTo(version, options);
    await this.reloadCalibration();
  }

  /**
   * Reads the active calibration again (after a change made here, by the CLI, or in another tab)
   * and applies it. A failure (corrupt log) blocks analysis with the reason, as at load.
   */
  async reloadCalibration(): Promise<void> {
    const base = this.baseManifest;
    if (!base) return;
    const url = this.manifestUrl;
    const promise = this.activeManifestFor(base).catch(error => {
      throw new Error(`calibration: ${messageOf(error)}`);
    });
    this.manifestPromise = promise;
    try {
      const manifest = await promise;
      if (this.manifestPromise === promise) this.useManifest(manifest);
    } catch (error) {
      if (this.manifestPromise === promise) {
        this.manifest = null;
        this.manifestPromise = null;
        this.update({ model: { status: 'error', message: `Model manifest ${url}: ${messageOf(error)}` }, threshold: null });
        this.refresh();
        this.announceCalibration();
      }
      throw error;
    }
  }

  /** The manifest to use for `base`: with the active site calibration applied, when a log has one. */
  private async activeManifestFor(base: Manifest): Promise<Manifest> {
    const sha = (this.analyzer?.modelSha256(base) ?? base.onnx.sha256).toLowerCase();
    const store = this.calibrationStoreFor?.(sha) ?? null;
    this.versions = store ? new CalibrationVersions({ store, manifest: base, modelSha256: sha }) : null;
    if (!this.versions) return base;
    return (await this.versions.manifestOf()).manifest;
  }

  private useManifest(manifest: Manifest): void {
    const changed = this.manifest !== null && this.manifest.calibration.version !== manifest.calibration.version;
    this.manifest = manifest;
    this.update({
      model: { status: 'ready', info: modelInfoOf(manifest) },
      threshold: loadThreshold(this.storage, manifest),
    });
    this.refresh();
    this.lookUpStored();
    this.loadFeedback();
    if (changed) this.announceCalibration();
  }

  private announceCalibration(): void {
    for (const listener of this.listeners.get(EVENTS.CALIBRATION_CHANGED) ?? []) listener(this.state);
  }

  /** Where the reader's ground truth is kept; null for none (the panel then offers none). */
  setFeedbackBook(book: FeedbackBook | null): void {
    this.feedbackBook = book;
    this.update({ feedback: { ...this.state.feedback, available: book !== null } });
    this.loadFeedback();
  }

  /** The feedback book the panel records into: the admin and monitoring pages read it (listFeedback, feedbackCohort). */
  getFeedbackBook(): FeedbackBook | null {
    return this.feedbackBook;
  }

  /** The manifest in use, with the active calibration applied; null until loaded (or when refused). */
  getManifest(): Manifest | null {
    return this.manifest;
  }

  /** The reader's name, as configured; stored with each feedback. */
  setReader(name: string | null | undefined): void {
    this.reader = typeof name === 'string' && name.trim() !== '' ? name.trim() : 'unknown';
    this.update({ feedback: { ...this.state.feedback, reader: this.reader } });
    this.loadFeedback();
  }

  /**
   * Records the reader's ground truth for the result on screen: the image, the model sha256, the
   * calibration version, the score, the logit and the decision shown. Only a current result can
   * be answered (a stale one is re-analyzed first). Changing one's label appends.
   */
  async recordFeedback(label: GroundTruth, comment?: string): Promise<void> {
    const { analysis, threshold } = this.state;
    const book = this.feedbackBook;
    const fail = (message: string) => this.update({ feedback: { ...this.state.feedback, status: 'error', message } });
    if (!book) return fail('Feedback cannot be recorded in this build of ChestAid (no feedback store).');
    if (analysis.status !== 'done' || !this.manifest || !this.analyzer) return fail('Feedback answers a current result: analyze the image first.');
    const { target, outcome } = analysis;
    const image = imageOf(target);
    if (!image) return fail('Feedback needs the study and series of the image, which the viewer did not give.');
    const value = threshold?.value ?? outcome.analysis.decision.threshold;
    const ticket = this.feedbackTicket;
    this.update({ feedback: { ...this.state.feedback, status: 'saving', message: null } });
    try {
      const { sinkError } = await book.record({
        ...image,
        modelSha256: this.analyzer.modelSha256(this.manifest),
        calibrationVersion: outcome.analysis.calibrationVersion,
        score: outcome.analysis.probability,
        logit: outcome.analysis.logit,
        decision: { above: outcome.analysis.probability >= value, threshold: value },
        label,
        ...(comment && comment.trim() ? { comment } : {}),
        reader: this.reader,
      });
      if (ticket !== this.feedbackTicket) return;
      await this.readFeedback(image, ticket, 'saved', sinkError ? `Saved here; not sent to the PACS: ${sinkError}` : null);
    } catch (error) {
      if (ticket === this.feedbackTicket) fail(`The feedback could not be saved: ${messageOf(error)}`);
    }
  }

  /** Reads the active image's feedback into the state. */
  private loadFeedback(): void {
    const ticket = ++this.feedbackTicket;
    const image = this.active ? imageOf(this.active) : null;
    const base = { ...this.state.feedback, reader: this.reader, available: this.feedbackBook !== null };
    if (!image || !this.feedbackBook) {
      this.update({ feedback: { ...base, status: 'idle', mine: null, others: [], conflict: false, message: null } });
      return;
    }
    this.update({ feedback: { ...base, status: 'loading', mine: null, others: [], conflict: false, message: null } });
    this.readFeedback(image, ticket, 'idle', null).catch(error => {
      if (ticket === this.feedbackTicket) {
        this.update({ feedback: { ...this.state.feedback, status: 'error', message: `Feedback could not be read: ${messageOf(error)}` } });
      }
    });
  }

  private async readFeedback(image: ImageIdentity, ticket: number, status: FeedbackState['status'], message: string | null): Promise<void> {
    const entries = await this.feedbackBook!.forImage(image);
    if (ticket !== this.feedbackTicket) return;
    const current = currentLabels(entries);
    const mine = current.find(e => e.reader === this.reader) ?? null;
    const others = current.filter(e => e.reader !== this.reader).map(e => ({ reader: e.reader, label: e.label, at: e.at }));
    const labels = new Set(current.map(e => e.label));
    this.update({
      feedback: {
        ...this.state.feedback,
        reader: this.reader,
        available: true,
        status,
        mine,
        others,
        conflict: labels.has('pneumonia') && labels.has('normal'),
        message,
      },
    });
  }

  setAnalyzer(analyzer: Analyzer | null): void {
    this.analyzer = analyzer;
    // The calibration log is per model bytes: an analyzer running another file needs its own.
    const base = this.baseManifest;
    if (base && this.versions && analyzer && analyzer.modelSha256(base).toLowerCase() !== this.versions.modelSha256) {
      this.reloadCalibration().catch(() => undefined);
    }
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
    let slot: string;
    try {
      key = this.keyOf(target, manifest, analyzer);
      slot = this.archiveSlot(key, manifest);
    } catch {
      return;
    }
    // Only a result under the active calibration: a stale one is not what the PACS should hold.
    const outcome = this.currentOutcome(key);
    const current = this.archiveStates.get(slot)?.status;
    if (!outcome || current === 'saving' || current === 'saved' || current === 'already-saved') return;
    this.archiveStates.set(slot, { status: 'saving' });
    this.refresh();
    let answer: ArchiveSave;
    try {
      answer = await archive.save(target, outcome, manifest, this.modelOf(manifest, analyzer));
    } catch (error) {
      answer = { status: 'failed', kind: 'error', message: messageOf(error) };
    }
    this.archiveStates.set(slot, answer);
    if (answer.status === 'saved' || answer.status === 'already-saved') {
      this.archivedScores.set(slot, {
        probability: outcome.analysis.probability,
        srSopInstanceUID: answer.srSopInstanceUID,
        observedAt: this.archivedScores.get(slot)?.observedAt ?? new Date().toISOString(),
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
    const imageChanged = this.active?.sopInstanceUID !== target?.sopInstanceUID;
    this.active = target;
    this.notice = null;
    this.refresh();
    this.lookUpStored();
    if (imageChanged) this.loadFeedback();
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
    const imageChanged = this.active?.sopInstanceUID !== target.sopInstanceUID;
    this.active = target;
    this.notice = null;
    if (imageChanged) this.loadFeedback();
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
    if (known || this.currentOutcome(key)) {
      this.refresh();
      return known ?? Promise.resolve();
    }
    this.failures.delete(key);
    const run = analyzer.analyze(target, manifest).then(
      analyzed => {
        // Stamped with the calibration it ran under: if the version changes while it runs, it is
        // shown as stale, never as current, and stored under the version that made it.
        const outcome = withCalibration(analyzed, manifest.calibration.version);
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
      return this.currentOutcome(resultKey(sopInstanceUID, this.analyzer.modelSha256(this.manifest)));
    } catch {
      return null;
    }
  }

  /** The result under `key` if it was computed under the active calibration version. */
  private currentOutcome(key: string): AnalysisOutcome | null {
    const outcome = this.results.get(key);
    return outcome && this.manifest && outcome.analysis.calibrationVersion === this.manifest.calibration.version ? outcome : null;
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

  /** Stops "Analyze all images" after the image being analyzed; finished results are kept. */
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
    if (this.currentOutcome(key) || this.running.has(key)) return;
    const model = this.modelOf(manifest, analyzer);
    const lookup = `${key}|${model.calibrationVersion}`;
    if (this.lookups.has(lookup)) return;
    this.lookups.add(lookup);
    const look = async () => {
      const outcome = await store.find(target, model);
      if (outcome) return withCalibration(outcome, model.calibrationVersion);
      // None under the active calibration: one under another is shown as stale rather than nothing.
      const older = this.results.has(key) ? null : ((await store.findOther?.(target, model)) ?? null);
      return older && withCalibration(older.outcome, older.calibrationVersion);
    };
    look()
      .then(
        outcome => {
          if (outcome && outcome.key === key && !this.currentOutcome(key)) {
            this.remember(outcome);
            this.refresh();
          }
        },
        error => console.warn('ChestAid: stored results could not be read', error),
      )
      .finally(() => this.lookups.delete(lookup));
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
      key = this.archiveSlot(this.keyOf(target, manifest, analyzer), manifest);
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
      key = this.archiveSlot(this.keyOf(target, this.manifest, this.analyzer), this.manifest);
    } catch {
      return { archive: { status: 'idle' }, archived: null };
    }
    return { archive: this.archiveStates.get(key) ?? { status: 'idle' }, archived: this.archivedScores.get(key) ?? null };
  }

  /** What the PACS keys a result by: the image and model (the result key) and the calibration version. */
  private archiveSlot(key: string, manifest: Manifest): string {
    return `${key}|${manifest.calibration.version}`;
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
      if (this.running.has(key)) return { image, status: 'running', active };
      if (outcome) return { image, status: this.currentOutcome(key) ? 'done' : 'stale', outcome, active };
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
    if (outcome && this.currentOutcome(key)) return { status: 'done', target, outcome };
    if (this.running.has(key)) return { status: 'running', target };
    if (outcome) return { status: 'stale', target, outcome, calibrationVersion: outcome.analysis.calibrationVersion };
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

/** The outcome with the calibration version it was computed under (the run's or the store key's). */
function withCalibration(outcome: AnalysisOutcome, calibrationVersion: string): AnalysisOutcome {
  if (outcome.analysis.calibrationVersion === calibrationVersion) return outcome;
  return { ...outcome, analysis: { ...outcome.analysis, calibrationVersion } };
}

function imageOf(target: AnalysisTarget): ImageIdentity | null {
  const { studyInstanceUID, seriesInstanceUID, sopInstanceUID } = target;
  return studyInstanceUID && seriesInstanceUID && sopInstanceUID ? { studyInstanceUID, seriesInstanceUID, sopInstanceUID } : null;
}

function modelInfoOf(manifest: Manifest): ModelInfo {
  const origin = calibrationOrigin(manifest);
  return {
    calibration: origin,
    calibrationLabel: calibrationLabel(origin),
    id: manifest.model.id,
    version: manifest.model.version,
    sha256: manifest.onnx.sha256,
    synthetic: manifest.data.synthetic === true,
    disclaimer: manifest.intended_use.disclaimer,
    calibrationMethod: manifest.calibration.selected,
    calibrationVersion: manifest.calibration.version,
  };
}
