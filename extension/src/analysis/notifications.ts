/**
 * Outcomes a reader must not miss, told through OHIF's notification service (a toast) as well as
 * in the panel: the answer to Save to PACS (saved, already there, not saved) and a result that has
 * gone stale (computed under a calibration no longer active). Only changes are told: a look-up
 * that finds the result already in the PACS, or the same stale result shown again, stays in the
 * panel.
 */
import { archiveText, staleText } from '../panels/format';
import { t } from '../i18n/translate';
import type { ChestAidState } from './types';

export interface Notification {
  readonly title: string;
  readonly message: string;
  readonly type: 'success' | 'info' | 'warning' | 'error';
  /** Milliseconds on screen: failures stay longer, to be read. */
  readonly duration: number;
}

/** OHIF's uiNotificationService, as far as ChestAid uses it. */
export interface UiNotifications {
  show(notification: Notification): unknown;
}

export interface NotificationSource {
  readonly EVENTS: { readonly STATE_CHANGED: string };
  getState(): ChestAidState;
  subscribe(event: string, listener: () => void): { unsubscribe: () => void };
}

const SHORT = 5000;
const LONG = 15000;

/** The answer to a save the reader asked for (saving -> saved, already there, failed); null otherwise. */
export function saveNotification(before: ChestAidState['archive'], after: ChestAidState['archive']): Notification | null {
  if (before.status !== 'saving' || after.status === 'saving') return null;
  const message = archiveText(after);
  switch (after.status) {
    case 'saved':
      return { title: t('notify.saved'), message, type: after.heatmapProblem ? 'warning' : 'success', duration: after.heatmapProblem ? LONG : SHORT };
    case 'already-saved':
      return { title: t('notify.alreadySaved'), message, type: 'info', duration: SHORT };
    case 'failed':
      return { title: t('notify.saveFailed'), message, type: 'error', duration: LONG };
    default:
      return null;
  }
}

/** The key of a stale result shown: the image and the calibration it was computed under. */
export function staleKey(analysis: ChestAidState['analysis']): string | null {
  return analysis.status === 'stale' ? `${analysis.target.sopInstanceUID}|${analysis.calibrationVersion}` : null;
}

/**
 * Shows OHIF notifications for `source`'s outcomes until unsubscribed. A stale result is told once
 * per image and calibration, however often the reader comes back to it.
 */
export function watchNotifications(source: NotificationSource, notifications: UiNotifications): { unsubscribe: () => void } {
  let before = source.getState();
  const staleTold = new Set<string>();
  return source.subscribe(source.EVENTS.STATE_CHANGED, () => {
    const after = source.getState();
    const saved = saveNotification(before.archive, after.archive);
    if (saved) notifications.show(saved);
    const key = staleKey(after.analysis);
    if (key && !staleTold.has(key) && after.analysis.status === 'stale') {
      staleTold.add(key);
      notifications.show({ title: t('notify.stale'), message: staleText(after.analysis.calibrationVersion), type: 'warning', duration: LONG });
    }
    before = after;
  });
}
