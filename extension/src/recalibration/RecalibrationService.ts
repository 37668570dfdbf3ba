/**
 * The recalibration admin page's state: the model and its calibration history, the labelled
 * cohort (the recorded feedback, or a CSV of images scored now with progress and cancel), the fit
 * (or the refusal with its reasons), and the change an admin makes (accept, roll back) with what
 * became of it. An OHIF-style service (named EVENTS, getState/subscribe), so the page can be
 * unmounted while a cohort is being scored.
 *
 * Framework-free: every collaborator is a parameter (the versions store, the feedback, the data
 * source, the analyzer, the fit itself), so tests pass real cores over memory stores.
 */
import {
  type AuditEntry,
  type CalibrationHistory,
  type CohortItem,
  ConflictError,
  CorruptLogError,
  feedbackCohort,
  type FeedbackEntry,
  type Manifest,
  messageOf,
  nextSiteVersion,
  overlayFromReport,
  parseImageCohortCsv,
  type RecalibrationOptions,
  type RecalibrationReport,
  withCalibrationIdentity,
} from '@chestaid/core';
import type { AnalysisOutcome } from '../analysis/types';
import type { CalibrationActor } from '../login/identity';
import type { BatchProgress, ImageToScore } from '../triage/batch';
import type { CatalogDataSource } from '../triage/studyCatalog';
import { resolveCohortImages, scoreCohort, type ScoredCase } from './cohortScoring';
import { t, tCount } from '../i18n/translate';

export const CALIBRATION_EVENTS = Object.freeze({ STATE_CHANGED: 'event::chestaid:calibration:stateChanged' });

/** The analyses of a cohort run in their own slot, never superseding the panel's. */
export const COHORT_SLOT = 'chestaid-calibration-cohort';

/** The versioned calibration of the model in use (core SiteCalibrationLog). */
export interface VersionsLike {
  readonly modelSha256: string;
  history(): Promise<CalibrationHistory>;
  manifestOf(version?: string): Promise<{ manifest: Manifest; history: CalibrationHistory }>;
  accept(overlay: unknown, options: { actor: string; expectedHead: CalibrationHistory['head'] }): Promise<AuditEntry>;
  rollbackTo(version: string, options: { actor: string; expectedHead: CalibrationHistory['head'] }): Promise<AuditEntry>;
}

export interface CalibrationDeps {
  /** The versions over the site's store, for the model the analyzer runs. */
  readonly versions: () => Promise<VersionsLike>;
  readonly analyze: (image: ImageToScore, manifest: Manifest) => Promise<AnalysisOutcome>;
  readonly dataSource: () => CatalogDataSource | undefined;
  readonly listFeedback: () => Promise<readonly FeedbackEntry[]>;
  readonly recalibrate: (cohort: readonly CohortItem[], options: RecalibrationOptions) => RecalibrationReport;
  /** Tells the viewer the active calibration changed (it reloads its manifest and marks old results stale). */
  readonly activated?: () => Promise<void> | void;
  readonly clock?: () => Date;
  readonly pause?: () => Promise<void>;
  /**
   * Who a change is recorded under, asked at each change (login/identity.ts): the logged-in
   * admin, or a refusal with its reason; left out (no login): the name typed on the page.
   */
  readonly actor?: () => CalibrationActor;
}

export type CohortSource = 'feedback' | 'csv';

export type ModelState =
  | { readonly status: 'loading' }
  | { readonly status: 'ready'; readonly active: Manifest; readonly history: CalibrationHistory; readonly modelSha256: string }
  | { readonly status: 'error'; readonly message: string };

export type CohortState =
  | { readonly status: 'idle' }
  | { readonly status: 'scoring'; readonly source: CohortSource; readonly progress: Pick<BatchProgress, 'done' | 'total' | 'etaMs'>; readonly images: number }
  | {
      readonly status: 'ready';
      readonly source: CohortSource;
      readonly cases: readonly ScoredCase[];
      /** Rows or feedback left out before the fit, with why. */
      readonly notes: readonly string[];
      readonly cancelled: boolean;
    }
  | { readonly status: 'error'; readonly message: string };

export type FitState =
  | { readonly status: 'idle' }
  | { readonly status: 'refused'; readonly reasons: readonly string[] }
  | { readonly status: 'ready'; readonly report: RecalibrationReport }
  | { readonly status: 'error'; readonly message: string };

export type ChangeState =
  | { readonly status: 'idle' | 'saving' }
  | { readonly status: 'done'; readonly entry: AuditEntry }
  | { readonly status: 'conflict'; readonly message: string }
  | { readonly status: 'error'; readonly message: string };

export interface RecalibrationState {
  readonly model: ModelState;
  readonly cohort: CohortState;
  readonly fit: FitState;
  readonly change: ChangeState;
}

const INITIAL: RecalibrationState = { model: { status: 'loading' }, cohort: { status: 'idle' }, fit: { status: 'idle' }, change: { status: 'idle' } };


type Listener = (state: RecalibrationState) => void;

export class RecalibrationService {
  static readonly REGISTRATION = {
    name: 'chestAidRecalibrationService',
    altName: 'ChestAidCalibrationService',
    create: () => new RecalibrationService(),
  };

  readonly EVENTS = CALIBRATION_EVENTS;
  private state: RecalibrationState = INITIAL;
  private readonly listeners = new Set<Listener>();
  private deps: CalibrationDeps | null = null;
  private abort: AbortController | null = null;
  private readonly initialized = new WeakSet<object>();

  getState = (): RecalibrationState => this.state;

  subscribe(event: string, listener: Listener): { unsubscribe: () => void } {
    if (event !== CALIBRATION_EVENTS.STATE_CHANGED) return { unsubscribe: () => undefined };
    this.listeners.add(listener);
    return { unsubscribe: () => this.listeners.delete(listener) };
  }

  configure(deps: CalibrationDeps): void {
    this.deps = deps;
  }

  private need(): CalibrationDeps {
    if (!this.deps) throw new Error('ChestAid calibration is not configured in this viewer');
    return this.deps;
  }

  private update(patch: Partial<RecalibrationState>): void {
    this.state = { ...this.state, ...patch };
    this.listeners.forEach(listener => listener(this.state));
  }

  /** Reads the model's calibration history and its active manifest; a conflict or error is cleared. */
  async open(): Promise<void> {
    this.update({ model: { status: 'loading' }, change: this.state.change.status === 'saving' ? this.state.change : { status: 'idle' } });
    try {
      const versions = await this.need().versions();
      const { manifest, history } = await versions.manifestOf();
      // Under its identity, as the panel's: a cohort scored here is stored under the same key.
      this.update({ model: { status: 'ready', active: await withCalibrationIdentity(manifest), history, modelSha256: versions.modelSha256 } });
    } catch (error) {
      const prefix = error instanceof CorruptLogError ? 'The calibration audit log is corrupt, nothing was changed: ' : 'Calibration history: ';
      this.update({ model: { status: 'error', message: `${prefix}${messageOf(error)}` } });
    }
  }

  private ready(): Extract<ModelState, { status: 'ready' }> {
    const { model } = this.state;
    if (model.status !== 'ready') throw new Error('the model and its calibration history are not read yet');
    return model;
  }

  /** What the monitoring page needs: the feedback, the active and the training manifests, the model. */
  async monitoringData(): Promise<{ entries: readonly FeedbackEntry[]; active: Manifest; base: Manifest; modelSha256: string }> {
    const deps = this.need();
    const versions = await deps.versions();
    const { manifest: active, history } = await versions.manifestOf();
    const { manifest: base } = await versions.manifestOf(history.baseVersion);
    return {
      entries: await deps.listFeedback(),
      active: await withCalibrationIdentity(active),
      base: await withCalibrationIdentity(base),
      modelSha256: versions.modelSha256,
    };
  }

  /** The recorded feedback as the cohort: each image's current definite label with the logit it was given. */
  async useFeedback(): Promise<void> {
    if (this.state.cohort.status === 'scoring') return;
    try {
      const model = this.ready();
      const cohort = feedbackCohort(await this.need().listFeedback(), model.modelSha256);
      const { otherModel, unsure, conflicting } = cohort.excluded;
      const notes = [
        otherModel && tCount('recal.leftOutOtherModel', otherModel),
        unsure && tCount('recal.leftOutUnsure', unsure),
        conflicting && tCount('recal.leftOutConflicting', conflicting),
      ].filter((n): n is string => typeof n === 'string');
      const cases = cohort.items.map(item => ({
        key: item.key,
        logit: item.logit,
        probability: item.score,
        label: item.label,
        modelSha256: cohort.modelSha256,
      }));
      this.update({ cohort: { status: 'ready', source: 'feedback', cases, notes, cancelled: false } });
      this.fit();
    } catch (error) {
      this.update({ cohort: { status: 'error', message: messageOf(error) }, fit: { status: 'idle' } });
    }
  }

  /** A CSV of images with labels: each image fetched from the data source and scored by the deployed model. */
  async useCsv(text: string): Promise<void> {
    if (this.state.cohort.status === 'scoring') return;
    const deps = this.need();
    this.update({ fit: { status: 'idle' }, change: { status: 'idle' } });
    try {
      const model = this.ready();
      const rows = parseImageCohortCsv(text);
      const source = deps.dataSource();
      if (!source) throw new Error('the viewer has no active data source to fetch the cohort\'s images from');
      this.update({ cohort: { status: 'scoring', source: 'csv', progress: { done: 0, total: 0, etaMs: null }, images: rows.length } });
      // A custom route is not wrapped in OHIF's data-source wrapper: initialize the source once, as it would.
      if (!this.initialized.has(source)) {
        await source.initialize?.({ params: {}, query: new URLSearchParams() });
        this.initialized.add(source);
      }
      const resolved = await resolveCohortImages(source, rows);
      this.abort = new AbortController();
      const scored = await scoreCohort(
        resolved,
        {
          analyze: deps.analyze,
          manifest: model.active,
          model: { modelSha256: model.modelSha256, calibrationVersion: model.active.calibration.version },
          pause: deps.pause,
        },
        {
          signal: this.abort.signal,
          onProgress: ({ done, total, etaMs }) => this.update({ cohort: { status: 'scoring', source: 'csv', progress: { done, total, etaMs }, images: rows.length } }),
        },
      );
      this.update({ cohort: { status: 'ready', source: 'csv', cases: scored.cases, notes: scored.failures, cancelled: scored.cancelled } });
      if (!scored.cancelled) this.fit();
    } catch (error) {
      this.update({ cohort: { status: 'error', message: messageOf(error) } });
    } finally {
      this.abort = null;
    }
  }

  /** Stops scoring after the image under way; nothing is fitted on a partial cohort. */
  cancel(): void {
    this.abort?.abort();
  }

  /** Fits on the cohort in hand against the active calibration and threshold. */
  fit(): void {
    const { cohort } = this.state;
    if (cohort.status !== 'ready') return;
    try {
      const model = this.ready();
      const report = this.need().recalibrate(
        cohort.cases.map(({ key, logit, label, modelSha256 }) => ({ key, logit, label, modelSha256 })),
        // The threshold is chosen for the minimum target sensitivity in force: one below it is refused at accept.
        {
          current: model.active.calibration,
          currentThreshold: model.active.thresholds.clinical.value,
          modelSha256: model.modelSha256,
          targetSensitivity: model.history.minTargetSensitivity,
        },
      );
      this.update({ fit: { status: 'ready', report } });
    } catch (error) {
      const reasons = (error as { reasons?: unknown }).reasons;
      if (Array.isArray(reasons)) this.update({ fit: { status: 'refused', reasons: reasons.map(String) } });
      else this.update({ fit: { status: 'error', message: messageOf(error) } });
    }
  }

  /** Who a change would be recorded under now: the logged-in admin, a refusal, or the name typed (no login). */
  actor(): CalibrationActor {
    return this.deps?.actor?.() ?? { kind: 'typed' };
  }

  /**
   * The name a change is recorded under: the logged-in admin's (what was typed is not used), or
   * `typed` without a login. Null, with the reason in `change`, when nobody may make it.
   */
  private actorName(typed: string | undefined): string | null {
    const actor = this.actor();
    if (actor.kind === 'login') return actor.name;
    const reason = actor.kind === 'refused' ? actor.reason : typed === undefined || typed.trim() === '' ? t('recal.nameNeeded') : null;
    if (reason) {
      this.update({ change: { status: 'error', message: t('recal.nothingWritten', { reason }) } });
      return null;
    }
    return (typed as string).trim();
  }

  /** Makes the fitted calibration the active version, in the audit log under the actor (`typed`: the name given on the page, without a login). */
  async accept(typed?: string): Promise<void> {
    const { fit, cohort } = this.state;
    if (fit.status !== 'ready' || cohort.status !== 'ready') return;
    if (this.state.change.status === 'saving') return;
    const actor = this.actorName(typed);
    if (actor === null) return;
    await this.change(async (versions, model) => {
      const overlay = await overlayFromReport(fit.report, {
        manifest: model.active,
        modelSha256: model.modelSha256,
        version: nextSiteVersion(model.history.versions),
        previousVersion: model.history.active,
        actor,
        at: (this.deps?.clock ?? (() => new Date()))().toISOString(),
        source: cohort.source,
      });
      return versions.accept(JSON.parse(JSON.stringify(overlay)), { actor, expectedHead: model.history.head });
    });
  }

  /** Makes an earlier version active again (a new 'rollback' entry; nothing is removed). */
  async rollback(version: string, typed?: string): Promise<void> {
    if (this.state.change.status === 'saving') return;
    const actor = this.actorName(typed);
    if (actor === null) return;
    await this.change((versions, model) => versions.rollbackTo(version, { actor, expectedHead: model.history.head }));
  }

  private async change(run: (versions: VersionsLike, model: Extract<ModelState, { status: 'ready' }>) => Promise<AuditEntry>): Promise<void> {
    if (this.state.change.status === 'saving') return;
    this.update({ change: { status: 'saving' } });
    try {
      const model = this.ready();
      const versions = await this.need().versions();
      const entry = await run(versions, model);
      await this.need().activated?.();
      await this.open();
      // The fit was made against the version that was active; after a change it no longer is.
      this.update({ change: { status: 'done', entry }, fit: { status: 'idle' } });
    } catch (error) {
      if (error instanceof ConflictError) {
        this.update({
          change: {
            status: 'conflict',
            message: t('recal.conflict', { message: messageOf(error) }),
          },
        });
      } else this.update({ change: { status: 'error', message: messageOf(error) } });
    }
  }
}

