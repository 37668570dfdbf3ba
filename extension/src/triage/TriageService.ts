/**
 * The triage worklist's state in the viewer: the study list, the stored results of its studies,
 * the model they are judged against, and the "Analyze all" batch. An OHIF-style service (named
 * EVENTS, getState/subscribe) because both the study list's risk column and the triage page show
 * it, and OHIF unmounts both freely; a batch keeps running while the reader opens a study.
 *
 * The batch runs the panel's own Analyzer (one inference client, one model download), writes to
 * the same ResultStore the panel writes to, and is resumable: an unfinished batch is recorded in
 * the store and picked up by resume() after a reload (the triage page calls it when it opens).
 */
import {
  type Manifest,
  messageOf,
  type ModelIdentity,
  orderByDate,
  sameModel,
  type StudyStatus,
  studyStatus,
  type TriageEntry,
} from '@chestaid/core';
import type { AnalysisOutcome, AnalysisTarget, Analyzer, ResultArchive } from '../analysis/types';
import { runBatch, type BatchProgress, type BatchSummary, type ImageToScore } from './batch';
import { cacheShared, type SharedResults } from './pacsRecords';
import { keyText, type ResultStore, type StoredResult } from './resultStore';
import { readsStudy, type StudyCatalog, type StudySummary } from './studyCatalog';
import { checkModalities } from '../modalities';
import { t } from '../i18n/translate';

export const TRIAGE_EVENTS = Object.freeze({
  STATE_CHANGED: 'event::chestaid:triage:stateChanged',
});

/** The slot the batch's analyses run in: never a viewport's, so it never supersedes the panel's. */
export const BATCH_SLOT = 'chestaid-triage-batch';

export type TriageModelState =
  | { readonly status: 'loading' }
  | { readonly status: 'ready'; readonly identity: ModelIdentity }
  | { readonly status: 'error'; readonly message: string };

export type StudyListState =
  | { readonly status: 'idle' | 'loading' }
  | { readonly status: 'ready'; readonly studies: readonly StudySummary[] }
  | { readonly status: 'error'; readonly message: string };

export type BatchState =
  | { readonly status: 'idle' }
  | { readonly status: 'running'; readonly progress: BatchProgress; readonly resumed: boolean }
  | { readonly status: 'finished' | 'cancelled'; readonly summary: BatchSummary; readonly resumed: boolean }
  | { readonly status: 'nothing-to-do' }
  | { readonly status: 'error'; readonly message: string };

export type StudyProblem = { readonly kind: 'failed' | 'not-applicable'; readonly reason: string };

export type TriageOrder = 'risk' | 'date';

/**
 * "Save results to the PACS" during Analyze all: off unless the reader ticks it (a batch writes
 * into every study of the list, which a site may want to leave to its triage worker), and only
 * offered while the list comes from the PACS.
 */
export interface BatchArchiving {
  readonly enabled: boolean;
  readonly saved: number;
  readonly alreadySaved: number;
  readonly failed: number;
  /** The last failure, in words; the results stay in this browser. */
  readonly lastProblem: string | null;
}

/** Reading the PACS's shared results: off (no PACS for this list), or the last read's outcome. */
export type SharedState =
  | { readonly status: 'off' | 'reading' | 'ready' }
  | { readonly status: 'error'; readonly message: string };

export interface TriageState {
  readonly model: TriageModelState;
  readonly list: StudyListState;
  /** Stored results by study, for the studies whose results have been read. */
  readonly records: ReadonlyMap<string, readonly StoredResult[]>;
  /** Study-level findings of this session's runs (series not listed, no CR/DX image). */
  readonly problems: ReadonlyMap<string, StudyProblem>;
  readonly batch: BatchState;
  /** The triage page's order, kept here so that it survives the page being unmounted. */
  readonly order: TriageOrder;
  readonly shared: SharedState;
  readonly archiving: BatchArchiving;
}

export interface TriageDeps {
  readonly store: ResultStore;
  readonly catalog: StudyCatalog;
  /**
   * The PACS's ChestAid results, when the list comes from the PACS (null or absent: none). Read
   * after the browser store for the same studies, merged in, and cached in the store.
   */
  readonly shared?: () => SharedResults | null;
  /** Where the batch saves its results when asked to (the panel's PACS archive); null: nowhere. */
  readonly archive?: () => ResultArchive | null;
  /** The manifest ChestAidService loaded (its promise, shared). */
  readonly manifest: () => Promise<Manifest>;
  /** The panel's analyzer: same pipeline, same inference worker. */
  readonly analyzer: Analyzer;
  readonly now?: () => number;
  readonly clock?: () => number;
  /** Lets the page paint between studies; a macrotask in the browser. */
  readonly pause?: () => Promise<void>;
}

type Listener = (state: TriageState) => void;


const INITIAL: TriageState = {
  model: { status: 'loading' },
  list: { status: 'idle' },
  records: new Map(),
  problems: new Map(),
  batch: { status: 'idle' },
  order: 'risk',
  shared: { status: 'off' },
  archiving: { enabled: false, saved: 0, alreadySaved: 0, failed: 0, lastProblem: null },
};

/**
 * A study's status, or null while it cannot be told yet (model or stored results not read).
 * `modalities` is the study list's, used for studies without any result.
 */
export function statusIn(state: TriageState, studyInstanceUID: string, modalities: string | undefined): StudyStatus | null {
  if (state.model.status !== 'ready') return null;
  const records = state.records.get(studyInstanceUID);
  if (!records) return null;
  const applicability = checkModalities(modalities);
  return studyStatus(
    {
      records,
      applicable: readsStudy(modalities),
      notApplicableReason: applicability.valid ? undefined : applicability.description,
      problem: state.problems.get(studyInstanceUID) ?? null,
    },
    state.model.identity,
  );
}

/** Every listed study with its status, in list order; null until all can be told. */
export function entriesIn(state: TriageState): (TriageEntry & { readonly study: StudySummary })[] | null {
  if (state.list.status !== 'ready') return null;
  const entries: (TriageEntry & { readonly study: StudySummary })[] = [];
  for (const study of state.list.studies) {
    const status = statusIn(state, study.studyInstanceUID, study.modalities);
    if (!status) return null;
    entries.push({ studyInstanceUID: study.studyInstanceUID, date: study.date, time: study.time, status, study });
  }
  return entries;
}

export class TriageService {
  static readonly REGISTRATION = {
    name: 'chestAidTriageService',
    create: (): TriageService => new TriageService(),
  };

  readonly EVENTS = TRIAGE_EVENTS;

  private state: TriageState = INITIAL;
  private readonly listeners = new Set<Listener>();
  private deps: TriageDeps | null = null;
  private storeSubscription: { unsubscribe: () => void } | null = null;
  private modelPromise: Promise<{ manifest: Manifest; identity: ModelIdentity }> | null = null;
  private listPromise: Promise<void> | null = null;
  /** Studies whose results are read or being read. */
  private readonly requested = new Set<string>();
  private pendingReads: string[] = [];
  private controller: AbortController | null = null;

  getState = (): TriageState => this.state;

  subscribe(event: string, listener: Listener): { unsubscribe: () => void } {
    if (event !== TRIAGE_EVENTS.STATE_CHANGED) return { unsubscribe: () => undefined };
    this.listeners.add(listener);
    return { unsubscribe: () => this.listeners.delete(listener) };
  }

  /** Plugs in the store, the data source and the analyzer (index.ts, at registration). */
  configure(deps: TriageDeps): void {
    this.storeSubscription?.unsubscribe();
    this.deps = deps;
    // Records written by the batch or the panel; those of studies nobody watches are read when asked for.
    this.storeSubscription = deps.store.subscribe(record => {
      if (this.requested.has(record.studyInstanceUID)) this.merge([record]);
    });
  }

  /** The model results are judged against: the manifest ChestAidService loaded. */
  model(): Promise<{ manifest: Manifest; identity: ModelIdentity }> {
    const deps = this.need();
    if (!this.modelPromise) {
      const attempt = deps.manifest().then(manifest => {
        const identity = { modelSha256: deps.analyzer.modelSha256(manifest).toLowerCase(), calibrationVersion: manifest.calibration.version };
        return { manifest, identity };
      });
      this.modelPromise = attempt;
      attempt.then(
        ({ identity }) => {
          // A calibration change may have replaced this attempt meanwhile: only the latest speaks.
          if (this.modelPromise === attempt) this.update({ model: { status: 'ready', identity } });
        },
        error => {
          if (this.modelPromise === attempt) this.modelPromise = null;
          this.update({ model: { status: 'error', message: t('model.manifestUnreadable', { cause: messageOf(error) }) } });
        },
      );
    }
    return this.modelPromise;
  }

  /**
   * The model or its calibration changed (ChestAidService's CALIBRATION_CHANGED): results are
   * judged against the new identity from now on, so scores under the old version show as stale.
   * A batch under way finishes under the manifest it started with; its results are stored under
   * that version and are stale too.
   */
  modelChanged(): void {
    this.modelPromise = null;
    this.update({ model: { status: 'loading' } });
    this.model().catch(() => undefined);
  }

  /**
   * Reads the stored results of these studies (once each), so their status can be shown. Reads
   * asked for in one turn of the event loop share one transaction: the study list's cells each
   * ask for their own row.
   */
  watch(studyUIDs: readonly string[]): void {
    const fresh = studyUIDs.filter(uid => uid && !this.requested.has(uid));
    if (fresh.length === 0) return;
    this.model().catch(() => undefined);
    fresh.forEach(uid => this.requested.add(uid));
    const first = this.pendingReads.length === 0;
    this.pendingReads.push(...fresh);
    if (!first) return;
    queueMicrotask(() => {
      const batch = this.pendingReads;
      this.pendingReads = [];
      const deps = this.need();
      deps.store.forStudies(batch).then(
        async found => {
          // The PACS's results are merged in with the browser's, not after them: a study's
          // status is told once, so the list does not jump when the PACS answers.
          const shared = await this.readShared(batch);
          this.merge([...batch.flatMap(uid => found.get(uid) ?? []), ...shared], batch);
        },
        error => {
          batch.forEach(uid => this.requested.delete(uid));
          console.warn('ChestAid: stored triage results could not be read', error);
        },
      );
    });
  }

  /**
   * The PACS's results of these studies, as records; none when the PACS cannot be read (the
   * browser's own results are then shown alone, with the reason in `state.shared`).
   */
  private async readShared(studyUIDs: readonly string[]): Promise<StoredResult[]> {
    const deps = this.need();
    const shared = deps.shared?.() ?? null;
    if (!shared) {
      if (this.state.shared.status !== 'off') this.update({ shared: { status: 'off' } });
      return [];
    }
    this.update({ shared: { status: 'reading' } });
    try {
      const found = await shared.forStudies(studyUIDs);
      const records = studyUIDs.flatMap(uid => found.get(uid) ?? []);
      this.update({ shared: { status: 'ready' } });
      cacheShared(deps.store, records).catch(error => console.warn('ChestAid: PACS results could not be cached in this browser', error));
      return records;
    } catch (error) {
      this.update({
        shared: { status: 'error', message: t('triage.sharedFailed', { message: messageOf(error) }) },
      });
      return [];
    }
  }

  /** Reads the PACS's results of the listed studies again (another reader may have stored some). */
  refreshShared(): void {
    if (this.state.list.status !== 'ready') return;
    this.readShared(this.state.list.studies.map(s => s.studyInstanceUID)).then(records => this.merge(records));
  }

  /** Lists the studies through the data source (once; again after a failure) and reads their results. */
  loadStudies(): Promise<void> {
    if (this.listPromise) return this.listPromise;
    const deps = this.need();
    this.update({ list: { status: 'loading' } });
    const attempt = deps.catalog.studies().then(
      studies => {
        this.update({ list: { status: 'ready', studies } });
        this.watch(studies.map(s => s.studyInstanceUID));
      },
      error => {
        this.listPromise = null;
        this.update({ list: { status: 'error', message: t('triage.listFailed', { message: messageOf(error) }) } });
      },
    );
    this.listPromise = attempt;
    return attempt;
  }

  /**
   * The triage page opened: list the studies again (new ones arrive all day), read their results,
   * resume an unfinished batch.
   */
  async open(): Promise<void> {
    const listed = this.state.list.status === 'ready';
    if (this.state.list.status !== 'loading') this.listPromise = null;
    await Promise.all([this.loadStudies(), this.model().catch(() => undefined)]);
    // Studies read before are not read again by watch(): ask the PACS what other readers stored since.
    if (listed) this.refreshShared();
    await this.resume();
  }

  /** Whether Analyze all can save its results to the PACS now (the list comes from the PACS). */
  canArchive(): boolean {
    return (this.deps?.archive?.() ?? null) !== null;
  }

  /** Ticks or unticks "Save results to the PACS" for the next batches. */
  setArchiving(enabled: boolean): void {
    this.update({ archiving: { ...this.state.archiving, enabled } });
  }

  setOrder(order: TriageOrder): void {
    if (order !== this.state.order) this.update({ order });
  }

  /**
   * Analyses every CR/DX study of the list without a current score (unanalyzed, stale, failed),
   * but those refused under the current model (the same image is refused again), in the usual order (newest first). Resolves when the batch ends; failures end up in the state.
   */
  async analyzeAll(): Promise<void> {
    await this.exclusively(async controller => {
      const { identity } = await this.model();
      await this.loadStudies();
      const entries = entriesIn(this.state);
      if (!entries) throw new Error('the study list and its stored results are not read yet');
      const plan = orderByDate(entries)
        .filter(entry => !['scored', 'refused', 'not-applicable'].includes(entry.status.kind))
        .map(entry => entry.studyInstanceUID);
      if (plan.length === 0) {
        this.update({ batch: { status: 'nothing-to-do' } });
        return;
      }
      const deps = this.need();
      await deps.store.saveBatch({ studyUIDs: plan, model: identity, startedAt: (deps.clock ?? Date.now)() });
      await this.run(plan, false, controller);
    });
  }

  /** Resumes a batch a reload interrupted; a batch made for another model is dropped. */
  async resume(): Promise<void> {
    await this.exclusively(async controller => {
      const { store } = this.need();
      const marker = await store.loadBatch();
      if (!marker) return;
      const { identity } = await this.model();
      if (!sameModel(marker.model, identity)) {
        await store.clearBatch();
        return;
      }
      await this.run(marker.studyUIDs, true, controller);
    });
  }

  /** Stops the batch after the image under way; what was scored stays. */
  cancel(): void {
    this.controller?.abort();
  }

  /** Whether a batch is starting or running. */
  busy(): boolean {
    return this.controller !== null;
  }

  /** Runs `task` unless a batch is already under way (one batch at a time, however often clicked). */
  private async exclusively(task: (controller: AbortController) => Promise<void>): Promise<void> {
    if (this.controller) return;
    const controller = new AbortController();
    this.controller = controller;
    try {
      await task(controller);
    } catch (error) {
      this.update({ batch: { status: 'error', message: t('triage.batchFailed', { message: messageOf(error) }) } });
    } finally {
      if (this.controller === controller) this.controller = null;
    }
  }

  private async run(plan: readonly string[], resumed: boolean, controller: AbortController): Promise<void> {
    const deps = this.need();
    const { manifest, identity } = await this.model();
    this.watch(plan);
    const now = deps.now ?? (() => performance.now());
    this.update({
      batch: {
        status: 'running',
        resumed,
        progress: { total: plan.length, done: 0, analyzed: 0, alreadyScored: 0, failed: 0, current: null, startedAt: now(), elapsedMs: 0, etaMs: null },
      },
    });
    const target = (image: ImageToScore) => ({
      viewportId: BATCH_SLOT,
      displaySetInstanceUID: image.seriesInstanceUID,
      imageId: image.imageId,
      sopInstanceUID: image.sopInstanceUID,
      modality: image.modality,
      studyInstanceUID: image.studyInstanceUID,
      seriesInstanceUID: image.seriesInstanceUID,
    });
    const archive = this.state.archiving.enabled ? (deps.archive?.() ?? null) : null;
    if (archive) this.update({ archiving: { ...this.state.archiving, saved: 0, alreadySaved: 0, failed: 0, lastProblem: null } });
    const analyze = async (image: ImageToScore): Promise<AnalysisOutcome> => {
      const outcome = await deps.analyzer.analyze(target(image), manifest);
      if (archive) await this.archive(archive, target(image), outcome, manifest, identity);
      return outcome;
    };
    const summary = await runBatch(
      plan,
      {
        store: deps.store,
        model: identity,
        imagesOf: uid => deps.catalog.imagesOf(uid),
        analyze,
        now,
        clock: deps.clock,
        pause: deps.pause,
      },
      {
        signal: controller.signal,
        onProgress: progress => this.update({ batch: { status: 'running', progress, resumed } }),
        onStudy: run => {
          const problems = new Map(this.state.problems);
          if (run.kind === 'failed' || run.kind === 'not-applicable') problems.set(run.studyInstanceUID, { kind: run.kind, reason: run.reason });
          else problems.delete(run.studyInstanceUID);
          this.update({ problems });
        },
      },
    );
    // Finished, or cancelled by the reader: either way nothing is left to resume.
    await deps.store.clearBatch();
    this.update({ batch: { status: summary.cancelled ? 'cancelled' : 'finished', summary, resumed } });
  }

  /**
   * Saves one batch result to the PACS. A failure is counted and named, never fails the image: its
   * score is kept in this browser either way.
   */
  private async archive(archive: ResultArchive, target: AnalysisTarget, outcome: AnalysisOutcome, manifest: Manifest, identity: ModelIdentity): Promise<void> {
    const reason = archive.unavailableReason(target);
    const answer = reason ? ({ status: 'failed', message: reason } as const) : await archive.save(target, outcome, manifest, identity);
    const now = this.state.archiving;
    if (answer.status === 'saved') this.update({ archiving: { ...now, saved: now.saved + 1 } });
    else if (answer.status === 'already-saved') this.update({ archiving: { ...now, alreadySaved: now.alreadySaved + 1 } });
    else this.update({ archiving: { ...now, failed: now.failed + 1, lastProblem: answer.message } });
  }

  /** Adds written or read records to the state, replacing those under the same key. */
  private merge(records: readonly StoredResult[], readStudies: readonly string[] = []): void {
    const next = new Map(this.state.records);
    for (const uid of readStudies) if (!next.has(uid)) next.set(uid, []);
    for (const record of records) {
      const key = keyText(record);
      // A score this browser computed is the truth for its key; an unverified SR does not replace it.
      if (record.status === 'unverified' && (next.get(record.studyInstanceUID) ?? []).some(r => keyText(r) === key && r.status === 'scored')) continue;
      const list = (next.get(record.studyInstanceUID) ?? []).filter(r => keyText(r) !== key);
      next.set(record.studyInstanceUID, [...list, record]);
    }
    this.update({ records: next });
  }

  private need(): TriageDeps {
    if (!this.deps) throw new Error('ChestAid triage is not configured (no store, data source or analyzer)');
    return this.deps;
  }

  private update(patch: Partial<TriageState>): void {
    this.state = { ...this.state, ...patch };
    for (const listener of [...this.listeners]) listener(this.state);
  }
}
