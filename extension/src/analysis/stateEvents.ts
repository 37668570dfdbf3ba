/**
 * ChestAidService's state as the panel reads it, and who hears it change: OHIF's pub-sub shape
 * (subscribe(event, listener) → { unsubscribe }), so the service reads like the host's own
 * services. The service derives the state; this only holds it and announces each change.
 */
import { noArchive } from './archiveLink';
import { NO_FEEDBACK } from './feedbackLink';
import { DEFAULT_HEATMAP } from './heatmapSetting';
import type { ChestAidState } from './types';

export const EVENTS = Object.freeze({
  STATE_CHANGED: 'event::chestaid:stateChanged',
  /** The active calibration version changed (accept, rollback, reload): scores under the old one are stale. */
  CALIBRATION_CHANGED: 'event::chestaid:calibrationChanged',
});

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
  archive: noArchive(),
  archived: null,
  feedback: NO_FEEDBACK,
};

export type Listener = (state: ChestAidState) => void;

export class StateEvents {
  private current: ChestAidState = INITIAL_STATE;
  private readonly listeners = new Map<string, Set<Listener>>();

  get state(): ChestAidState {
    return this.current;
  }

  subscribe(event: string, listener: Listener): { unsubscribe: () => void } {
    const set = this.listeners.get(event) ?? new Set<Listener>();
    set.add(listener);
    this.listeners.set(event, set);
    return { unsubscribe: () => set.delete(listener) };
  }

  /** Applies `patch` and announces EVENTS.STATE_CHANGED. */
  update(patch: Partial<ChestAidState>): void {
    this.current = { ...this.current, ...patch };
    this.announce(EVENTS.STATE_CHANGED);
  }

  announce(event: string): void {
    for (const listener of this.listeners.get(event) ?? []) listener(this.current);
  }
}
