/**
 * ChestAid's state in the viewer: the model the manifest describes, whether the open study is one
 * ChestAid reads, and the last analysis. It lives here, not in the panel, because OHIF unmounts
 * panels (collapse, tab switch) and the panel is an island of our own React: the panel renders
 * what this service announces (EVENTS.STATE_CHANGED) and asks it to act.
 *
 * The analysis itself is plugged in with setAnalyzer(): the shell does not know how pixels reach
 * the model (that is the onnxruntime and Cornerstone adapters' business).
 */
import { parseManifest, type Analysis, type Manifest } from '../core';
import { checkModalities, type Applicability } from '../modalities';

export const EVENTS = Object.freeze({
  STATE_CHANGED: 'event::chestaid:stateChanged',
});

/** What Analyze runs on: the image shown in the active viewport. */
export interface AnalysisTarget {
  readonly viewportId: string;
  readonly displaySetInstanceUID: string;
  readonly imageId: string;
  readonly modality: string;
}

export type Analyzer = (target: AnalysisTarget, manifest: Manifest) => Promise<Analysis>;

export interface ModelInfo {
  readonly id: string;
  readonly version: string;
  readonly synthetic: boolean;
  readonly disclaimer: string;
}

export type ModelState =
  | { readonly status: 'loading' }
  | { readonly status: 'ready'; readonly info: ModelInfo }
  | { readonly status: 'error'; readonly message: string };

export type AnalysisState =
  | { readonly status: 'idle' }
  | { readonly status: 'running'; readonly target: AnalysisTarget }
  | { readonly status: 'done'; readonly target: AnalysisTarget; readonly analysis: Analysis }
  | { readonly status: 'error'; readonly message: string };

export interface ChestAidState {
  readonly model: ModelState;
  /** null until a study's display sets are known. */
  readonly study: Applicability | null;
  readonly analysis: AnalysisState;
  /** Set when the host viewer breaks an assumption checked at run time (see hostCheck.ts). */
  readonly hostProblem: string | null;
}

const INITIAL_STATE: ChestAidState = {
  model: { status: 'loading' },
  study: null,
  analysis: { status: 'idle' },
  hostProblem: null,
};

type Listener = (state: ChestAidState) => void;

export interface ChestAidServiceDeps {
  /** Fetches and parses JSON; tests pass a fake. */
  readonly fetchJson?: (url: string) => Promise<unknown>;
}

async function fetchJsonOverHttp(url: string): Promise<unknown> {
  const response = await fetch(url);
  if (!response.ok) {
    throw new Error(`GET ${url} answered ${response.status} ${response.statusText}`);
  }
  return response.json();
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
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
  private manifestPromise: Promise<Manifest> | null = null;
  private manifestUrl: string | null = null;
  private analyzer: Analyzer | null = null;

  constructor({ fetchJson = fetchJsonOverHttp }: ChestAidServiceDeps = {}) {
    this.fetchJson = fetchJson;
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
    this.update({ model: { status: 'loading' } });
    const promise = this.fetchJson(url).then(parseManifest);
    this.manifestPromise = promise;
    promise.then(
      manifest => {
        if (this.manifestPromise === promise) {
          this.update({ model: { status: 'ready', info: modelInfoOf(manifest) } });
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
  }

  setStudyModalities(modalities: readonly string[]): void {
    this.update({ study: checkModalities(modalities), analysis: { status: 'idle' } });
  }

  setHostProblem(problem: string | null): void {
    this.update({ hostProblem: problem });
  }

  /** Why Analyze cannot run now, or null when it can. */
  blocker(): string | null {
    const { model, analysis } = this.state;
    const blocked = blockedReason(this.state);
    if (blocked) return blocked;
    if (model.status === 'error') return model.message;
    if (model.status === 'loading') return 'Loading the model manifest...';
    if (analysis.status === 'running') return 'An analysis is already running.';
    if (!this.analyzer) return 'No analyzer is configured in this build of ChestAid.';
    return null;
  }

  async analyze(target: AnalysisTarget): Promise<void> {
    const blocked = this.blocker();
    if (blocked) {
      this.update({ analysis: { status: 'error', message: blocked } });
      return;
    }
    const analyzer = this.analyzer as Analyzer;
    this.update({ analysis: { status: 'running', target } });
    try {
      const manifest = await (this.manifestPromise as Promise<Manifest>);
      const analysis = await analyzer(target, manifest);
      this.update({ analysis: { status: 'done', target, analysis } });
    } catch (error) {
      this.update({ analysis: { status: 'error', message: messageOf(error) } });
    }
  }

  /** Reports a failure found outside analyze() (e.g. no image in the active viewport). */
  fail(message: string): void {
    this.update({ analysis: { status: 'error', message } });
  }

  /** Called by OHIF for every service when a mode exits: forget the study, keep the model. */
  onModeExit(): void {
    this.update({ study: null, analysis: { status: 'idle' } });
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
    synthetic: manifest.data.synthetic === true,
    disclaimer: manifest.intended_use.disclaimer,
  };
}
