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
 * an image being analyzed joins the run under way (sessionResults.ts).
 *
 * What it works with arrives through configure(), in one typed ChestAidDeps. The analysis itself
 * is the analyzer's: the shell does not know how pixels reach the model (that is the onnxruntime
 * and Cornerstone adapters' business). The rest is done by collaborators, each in its own file:
 * the manifest in use (activeManifest.ts) with the site's calibration versions
 * (siteCalibrationLink.ts), the OutcomeStore that keeps results beyond the page
 * (outcomeStoreLink.ts), the PACS archive (archiveLink.ts), the readers' feedback
 * (feedbackLink.ts), "Analyze all images" (analyzeAll.ts), an image's result key under the model
 * (scoredImage.ts) and the state with who hears it change (stateEvents.ts).
 *
 * Calibration versions (issue 8): every result carries the calibration version it was computed
 * under; one from another version is shown as stale, never as current. accept/rollback go through
 * the site's log and announce EVENTS.CALIBRATION_CHANGED.
 */
import {
  type CalibrationHistory,
  type SiteCalibrationLog,
  type ChangeOptions,
  type FeedbackBook,
  type GroundTruth,
  type Manifest,
  messageOf,
  type OutboxSummary,
  scoreChange,
  type VerifyContext,
} from '@chestaid/core';
import { checkModalities } from '../modalities';
import { ActiveManifest, modelInfoOf } from './activeManifest';
import { AnalyzeAll } from './analyzeAll';
import { ArchiveLink } from './archiveLink';
import { FeedbackLink } from './feedbackLink';
import { changedHeatmap } from './heatmapSetting';
import { OutcomeStoreLink } from './outcomeStoreLink';
import { keyOrNull, sameImage, scoredImage, scoredOrNull } from './scoredImage';
import { SessionResults } from './sessionResults';
import { SiteCalibrationLink } from './siteCalibrationLink';
import { EVENTS, StateEvents, type Listener } from './stateEvents';
import { browserStorage, loadThreshold, resetThreshold, saveThreshold, type StorageLike } from './thresholdSetting';
import type { AnalysisOutcome, AnalysisState, AnalysisTarget, Analyzer, ChestAidDeps, ChestAidState, HeatmapSettings, HeatmapSource } from './types';
import type { ComparedImage, PriorComparison, RuntimeState, ScoredImage, StoragePersistence, StudyImage } from './types';
import { t } from '../i18n/translate';

export { EVENTS };

/** The slot batch runs use in the inference client: they never supersede a viewport's Analyze. */
const BATCH_SLOT = 'chestaid-analyze-all';
/** The viewport named in archive look-ups of the study's images (the archive keys them by image, not viewport). */
const STUDY_SLOT = 'chestaid-study';

/** How the service reaches the page; tests pass fakes. */
export interface ChestAidServiceOptions {
  /** Fetches and parses JSON (the manifest); over HTTP by default. */
  readonly fetchJson?: (url: string) => Promise<unknown>;
  /** Where the reader's threshold is kept; window.localStorage by default, null for none. */
  readonly storage?: StorageLike | null;
}

export class ChestAidService {
  static readonly REGISTRATION = {
    name: 'chestAidService',
    create: (): ChestAidService => new ChestAidService(),
  };

  readonly EVENTS = EVENTS;

  private readonly events = new StateEvents();
  private readonly storage: StorageLike | null;
  private readonly model: ActiveManifest;
  private analyzer: Analyzer | null = null;
  /** The ONNX file the site runs (configure's modelFile); null: the manifest's own. */
  private modelFile: string | null = null;
  private readonly results = new SessionResults(
    () => this.manifest?.calibration.version ?? null,
    () => this.refresh(),
  );
  private readonly stored = new OutcomeStoreLink();
  private readonly calibration = new SiteCalibrationLink();
  private readonly archive = new ArchiveLink(() => this.refresh());
  private readonly feedback = new FeedbackLink(feedback => this.update({ feedback }));

  /** The image on screen in the active viewport. */
  private active: AnalysisTarget | null = null;
  /** A refusal about the request rather than an image (blocked study, no image...). */
  private notice: string | null = null;
  private studyImages: readonly StudyImage[] = [];
  private readonly batch = new AnalyzeAll(batch => this.update({ batch }));

  constructor({ fetchJson, storage = browserStorage() }: ChestAidServiceOptions = {}) {
    this.storage = storage;
    this.model = new ActiveManifest({
      fetchJson,
      calibration: this.calibration,
      modelSha256: base => this.modelSha256(base),
      modelFile: () => this.modelFile,
      listener: {
        loading: () => this.update({ model: { status: 'loading' }, threshold: null }),
        ready: (manifest, versionChanged) => this.useManifest(manifest, versionChanged),
        failed: message => this.update({ model: { status: 'error', message } }),
        lost: message => {
          this.update({ model: { status: 'error', message }, threshold: null });
          this.refresh();
          this.announceCalibration();
        },
      },
    });
  }

  /** The manifest in use, with the active calibration applied; null until loaded (or when refused). */
  private get manifest(): Manifest | null {
    return this.model.current;
  }

  /** The sha256 of the model bytes the analyzer runs under `base` (the manifest's own without one). */
  private modelSha256(base: Manifest): string {
    return this.analyzer?.modelSha256(base) ?? base.onnx.sha256;
  }

  getState = (): ChestAidState => this.events.state;

  /**
   * The analyses under way, by result key. The e2e tests wait on it for a run that finishes off
   * screen (test/e2e/viewer.test.mjs); the panel reads the state instead.
   */
  get running(): ReadonlyMap<string, Promise<void>> {
    return this.results.inFlight;
  }

  /** OHIF's pub-sub shape, so the service reads like the host's own services. */
  subscribe(event: string, listener: Listener): { unsubscribe: () => void } {
    return this.events.subscribe(event, listener);
  }

  /**
   * Hands the service what it works with (ChestAidDeps: analyzer, outcome store, archive,
   * calibration log, feedback book, reader). The order of the fields does not matter: all are taken
   * first, then the active calibration is read again once if the log changed or the analyzer runs
   * other model bytes than it was read for, then the image on screen is looked up again.
   *
   * Callable more than once on purpose: each call names only what it changes (left out: kept;
   * null: none), and the end state is the same as if all had come in one call. The viewer
   * configures once at registration (analysis/wire.ts); tests swap a store or the reader.
   *
   * Resolves once the calibration is applied. It never rejects: a log that cannot be read blocks
   * analysis with the reason in `state.model`, as at load.
   */
  configure(deps: ChestAidDeps): Promise<void> {
    const { analyzer, outcomeStore, archive, calibrationStoreFor, feedbackBook, reader, modelFile } = deps;
    if (analyzer !== undefined) this.analyzer = analyzer;
    // Another file is another model (its sha256, an int8 variant's own calibration): loaded again.
    const url = this.model.loadedUrl;
    if (modelFile !== undefined && modelFile !== this.modelFile) {
      this.modelFile = modelFile;
      // The load reports a refusal (an unknown file) in state.model.
      if (url !== null) this.model.load(url, true).catch(() => undefined);
    }
    if (outcomeStore !== undefined) this.stored.use(outcomeStore);
    if (archive !== undefined) this.archive.use(archive);
    if (calibrationStoreFor !== undefined) this.calibration.use(calibrationStoreFor);
    if (feedbackBook !== undefined || reader !== undefined) {
      this.feedback.use({ book: feedbackBook, reader });
      this.feedback.load(this.active);
    }
    const base = this.model.validated;
    // The calibration log is per model bytes: an analyzer running another file needs its own.
    const otherBytes = base !== null && analyzer !== undefined && this.calibration.readForOther(this.modelSha256(base));
    const recalibrate = base !== null && (calibrationStoreFor !== undefined || otherBytes);
    this.refresh();
    this.lookUpStored();
    return recalibrate ? this.reloadCalibration().catch(() => undefined) : Promise.resolve();
  }

  /**
   * Starts loading the model before any Analyze (the ChestAid mode asks as it opens: the study's
   * images load meanwhile). Waits only for the manifest's validation, not for the site
   * calibration (the model's bytes do not depend on it), then hands the validated manifest to the
   * analyzer's prepare(). Nothing happens when the manifest is refused, or without an analyzer
   * that prepares.
   */
  async prepareModel(): Promise<void> {
    let base: Manifest;
    try {
      const validation = this.model.validatedAttempt;
      if (!validation) return;
      base = await validation;
    } catch {
      return; // the load reports it, in state.model
    }
    this.analyzer?.prepare?.(base);
  }

  /** Loads and validates the manifest once per URL; later calls share the first promise. */
  loadManifest(url: string): Promise<Manifest> {
    return this.model.load(url);
  }

  /** The model's verified calibration log (what the admin page shows and builds its next change on). */
  async calibrationHistory(): Promise<CalibrationHistory> {
    return (await this.siteCalibrationLog()).history();
  }

  /** The model's versioned calibration, for the admin page (fits, next version, overlays). */
  async siteCalibrationLog(): Promise<SiteCalibrationLog> {
    await this.model.attempt;
    return this.calibration.inUse();
  }

  /**
   * Accepts a site recalibration (an overlay for this model): appended to the audit log on the
   * head the admin reviewed, then made active. Throws ConflictError / CorruptLogError / InputError
   * with the reason; nothing changes then.
   */
  async acceptCalibration(overlay: unknown, options: ChangeOptions): Promise<void> {
    await (await this.siteCalibrationLog()).accept(overlay, options);
    await this.reloadCalibration();
  }

  /** Makes an earlier calibration version (or the manifest's own) active again, by a new log entry. */
  async rollbackTo(version: string, options: ChangeOptions): Promise<void> {
    await (await this.siteCalibrationLog()).rollbackTo(version, options);
    await this.reloadCalibration();
  }

  /**
   * Reads the active calibration again (after a change made here, by the CLI, or in another tab)
   * and applies it. A failure (corrupt log) blocks analysis with the reason, as at load.
   */
  reloadCalibration(): Promise<void> {
    return this.model.reload();
  }

  private useManifest(manifest: Manifest, versionChanged: boolean): void {
    this.update({
      model: { status: 'ready', info: modelInfoOf(manifest) },
      threshold: loadThreshold(this.storage, manifest),
    });
    this.refresh();
    this.lookUpStored();
    this.feedback.load(this.active);
    if (versionChanged) this.announceCalibration();
  }

  private announceCalibration(): void {
    this.events.announce(EVENTS.CALIBRATION_CHANGED);
  }

  /** The feedback book the panel records into: the admin and monitoring pages read it (listFeedback, feedbackCohort). */
  getFeedbackBook(): FeedbackBook | null {
    return this.feedback.getBook();
  }

  /** The manifest in use, with the active calibration applied; null until loaded (or when refused). */
  getManifest(): Manifest | null {
    return this.manifest;
  }

  /**
   * Records the reader's ground truth for the result on screen: the image, the model sha256, the
   * calibration version, the score, the logit and the decision shown. Only a current result can
   * be answered (a stale one is re-analyzed first). Changing one's label appends.
   */
  recordFeedback(label: GroundTruth, comment?: string): Promise<void> {
    const { analysis, threshold } = this.events.state;
    const image = analysis.status === 'done' ? this.scored(analysis.target) : null;
    const answered =
      analysis.status === 'done' && image
        ? { target: analysis.target, outcome: analysis.outcome, modelSha256: image.model.modelSha256, threshold: threshold?.value ?? null }
        : null;
    return this.feedback.record(label, comment, answered);
  }

  /** Sends the readings the PACS refused again, after their reason was dealt with (Save to PACS...). */
  resendFeedback(): Promise<void> {
    return this.feedback.resend();
  }

  /** The feedback outbox's state (analysis/wire.ts follows it): the panel's line, and the delivery of the label on show. */
  setOutbox(outbox: OutboxSummary): void {
    this.update({ outbox });
    this.feedback.deliveryChanged();
  }

  /** What the browser answered when asked to keep ChestAid's storage (navigator.storage.persist). */
  setStorage(storage: StoragePersistence): void {
    this.update({ storage });
  }

  /** The analyzer in use: the triage batch runs the same one (one worker, one model download). */
  getAnalyzer(): Analyzer | null {
    return this.analyzer;
  }

  /**
   * What the PACS's ChestAid SRs are verified against (core verifyResult): the model bytes this
   * viewer runs, the manifest's device UID and the calibrations this site holds. Waits for the
   * manifest being loaded (the worklist reads the PACS as the page opens); null when there is no
   * model: every SR is then unverified, never shown as a score.
   */
  async verifyContext(): Promise<VerifyContext | null> {
    try {
      await this.model.attempt;
    } catch {
      return null;
    }
    const manifest = this.manifest;
    const analyzer = this.analyzer;
    const deviceUID = manifest?.model.device_uid;
    if (!manifest || !analyzer || !deviceUID) return null;
    return {
      modelSha256: analyzer.modelSha256(manifest),
      deviceUID,
      calibrationOf: identity => this.calibration.calibrationOf(identity, manifest),
    };
  }

  /**
   * Save to PACS: archives the result shown for the active image (only that image's, computed on
   * it, under the active calibration). Resolves when the PACS has answered; the outcome is
   * announced in `state.archive`. A failure leaves the result where it was (memory and the browser
   * store): nothing is lost, and saving again retries.
   */
  saveToPacs(): Promise<void> {
    const image = this.scored(this.active);
    return this.archive.save(image, image && this.results.current(image.key));
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
    if (imageChanged) this.feedback.load(target);
  }

  /** Why Analyze cannot run now, or null when it can. */
  blocker(): string | null {
    const { model } = this.events.state;
    const blocked = blockedReason(this.events.state);
    if (blocked) return blocked;
    if (model.status === 'error') return model.message;
    if (model.status === 'loading') return t('panel.loadingManifest');
    if (!this.analyzer) return t('panel.noAnalyzer');
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
    if (imageChanged) this.feedback.load(target);
    return this.run(target);
  }

  /** Runs `target`'s analysis (or joins the one under way) without making it the active image. */
  private run(target: AnalysisTarget): Promise<void> {
    const blocked = this.blocker();
    const manifest = this.manifest;
    const analyzer = this.analyzer;
    if (blocked || !manifest || !analyzer) {
      return Promise.resolve(this.fail(blocked ?? t('panel.loadingManifest')));
    }
    let image: ScoredImage;
    try {
      image = scoredImage(target, manifest, analyzer);
    } catch (error) {
      return Promise.resolve(this.fail(messageOf(error)));
    }
    return this.results.run(
      image,
      () => analyzer.analyze(target, manifest),
      outcome => this.stored.save(image, outcome),
      refusal => this.stored.saveRefusal(image, refusal),
    );
  }

  /**
   * The result for an image (by SOPInstanceUID) under the current model, or null. The heatmap layer
   * draws from this, so a viewport only ever shows the layer of the image it displays.
   */
  outcomeForImage(sopInstanceUID: string): AnalysisOutcome | null {
    const key = this.keyOf(sopInstanceUID);
    return key === null ? null : this.results.current(key);
  }

  /**
   * What the heatmap layer of an image (by SOPInstanceUID) draws: the map of its result under the
   * current model in this session, else the verified map of its stored result in the PACS (the
   * model does not run for it), else null.
   */
  heatmapForImage(sopInstanceUID: string): HeatmapSource | null {
    const outcome = this.outcomeForImage(sopInstanceUID);
    if (outcome) return { key: outcome.key, cam: outcome.analysis.cam };
    const stored = this.archive.storedFor(this.keyOf(sopInstanceUID), this.manifest?.calibration.version);
    const map = stored?.shown.map;
    return map ? { key: `stored|${stored.shown.mapSopInstanceUID}`, cam: map } : null;
  }

  /**
   * The open study's CR/DX images, in the order the panel lists them. Each is looked up in the
   * archive, so an image shown in any viewport draws its stored result's map, not only the active one.
   */
  setStudyImages(images: readonly StudyImage[]): void {
    this.studyImages = images;
    this.refresh();
    for (const image of images) this.archive.lookUp(this.scored({ ...image, viewportId: STUDY_SLOT }));
  }

  /**
   * "Analyze all images": scores the study's CR/DX images one after the other, skipping those
   * already scored under this model, with progress in `state.batch`.
   */
  async analyzeAll(): Promise<void> {
    if (this.batch.running) return;
    const blocked = this.blocker();
    if (blocked) return this.fail(blocked);
    await this.batch.over(this.studyImages, image => this.run({ ...image, viewportId: BATCH_SLOT })).finally(() => this.refresh());
  }

  /** Stops "Analyze all images" after the image being analyzed; finished results are kept. */
  cancelAnalyzeAll(): void {
    this.batch.cancel();
  }

  /** Changes how the heatmap layer is drawn (every viewport); throws InputError for a value out of range. */
  setHeatmap(patch: Partial<HeatmapSettings>): void {
    this.update({ heatmap: changedHeatmap(this.events.state.heatmap, patch) });
  }

  toggleHeatmap(): void {
    this.setHeatmap({ visible: !this.events.state.heatmap.visible });
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

  private scored(target: AnalysisTarget | null): ScoredImage | null {
    return scoredOrNull(target, this.manifest, this.analyzer);
  }

  private keyOf(sopInstanceUID: string): string | null {
    return keyOrNull(sopInstanceUID, this.manifest, this.analyzer);
  }

  /**
   * Looks the active image up where results outlive the page (the outcome store) and in the
   * archive, when nothing is known of it in memory. An answer is kept under its own key, so one
   * that arrives after the reader moved on is shown only if they come back to that image.
   */
  private lookUpStored(): void {
    const image = this.scored(this.active);
    this.archive.lookUp(image);
    if (!image || this.results.current(image.key) || this.results.isRunning(image.key)) return;
    const { key } = image;
    this.stored.lookUp(
      image,
      () => this.results.has(key),
      outcome => {
        if (outcome.key === key && !this.results.current(key)) {
          this.results.remember(outcome);
          this.refresh();
        }
      },
    );
  }

  /** Where the analysis of the active image stands: this session's, else a verified stored result. */
  private analysisOf(image: ScoredImage | null): AnalysisState {
    const analysis = this.results.analysisOf(image);
    const stored = analysis.status === 'idle' && image ? this.archive.storedOf(image) : null;
    return stored && image ? { status: 'stored', target: image.target, stored } : analysis;
  }

  /** Derives what the panel shows for the active image. */
  private refresh(): void {
    const image = this.scored(this.active);
    this.update({
      analysis: this.notice ? { status: 'error', message: this.notice } : this.analysisOf(image),
      images: this.studyImages.map(row => this.results.rowOf(row, this.keyOf(row.sopInstanceUID), this.active?.sopInstanceUID === row.sopInstanceUID)),
      ...this.archive.stateOf(this.active, image),
      comparison: this.comparison(),
    });
  }

  /**
   * The current study's first CR/DX image beside the prior's, when the open images come from two
   * or more studies: the latest study is the current one, the one dated just before it the prior.
   */
  private comparison(): PriorComparison | null {
    const firstOfStudy = new Map<string, StudyImage>();
    for (const image of this.studyImages) {
      if (image.studyInstanceUID && image.studyDate && !firstOfStudy.has(image.studyInstanceUID)) firstOfStudy.set(image.studyInstanceUID, image);
    }
    const [current, prior] = [...firstOfStudy.values()].sort((a, b) => ((a.studyDate ?? '') < (b.studyDate ?? '') ? 1 : -1));
    if (!current || !prior || current.studyDate === prior.studyDate) return null;
    const compared = (image: StudyImage): ComparedImage => {
      const manifest = this.manifest;
      const analyzer = this.analyzer;
      const key = this.keyOf(image.sopInstanceUID);
      if (!manifest || !analyzer || key === null) return { image, score: null, source: null };
      const modelSha256 = analyzer.modelSha256(manifest);
      const outcome = this.results.current(key);
      if (outcome) {
        const { probability, modelVersion, calibrationVersion } = outcome.analysis;
        return { image, score: { probability, modelSha256, modelVersion, calibrationVersion }, source: 'analysis' };
      }
      // A verified stored result is of these model bytes (verifyResult) and of the calibration it names.
      const stored = this.archive.storedFor(key, manifest.calibration.version);
      if (stored) {
        return { image, score: { probability: stored.probability, modelSha256, modelVersion: stored.modelVersion, calibrationVersion: stored.shown.calibrationVersion }, source: 'stored' };
      }
      return { image, score: null, source: null };
    };
    const a = compared(current);
    const b = compared(prior);
    return { current: a, prior: b, change: a.score && b.score ? scoreChange(a.score, b.score) : null };
  }

  private update(patch: Partial<ChestAidState>): void {
    this.events.update(patch);
  }
}

/** Why Analyze is unavailable whatever the model does: the host viewer or the open study. */
export function blockedReason({ hostProblem, study }: ChestAidState): string | null {
  return hostProblem ?? (study && !study.valid ? study.description : null);
}
