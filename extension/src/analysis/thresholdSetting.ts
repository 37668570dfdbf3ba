/**
 * The reader's operating point, kept per browser. The manifest's clinical threshold is the
 * default; a reader may move it, and the choice is stored under a key naming the exact model
 * bytes and calibration it was made for: a new model or a recalibration starts again from its own
 * clinical threshold instead of inheriting a number that meant something else.
 *
 * Storage is a structurally typed parameter (window.localStorage in the viewer, a Map in tests);
 * a browser that refuses storage (private mode, policy, quota) still gets a working threshold for
 * the session.
 */
import { checkThreshold, type Manifest } from '@chestaid/core';

export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export interface ThresholdState {
  /** The threshold decisions are made with. */
  readonly value: number;
  /** The manifest's clinical threshold. */
  readonly clinical: number;
  /** True when the reader moved it away from the clinical threshold. */
  readonly custom: boolean;
}

const PREFIX = 'chestaid:threshold';

/** The page's localStorage, or null where the browser blocks it. */
export function browserStorage(): StorageLike | null {
  try {
    return (globalThis as { localStorage?: StorageLike }).localStorage ?? null;
  } catch {
    // Reading localStorage itself throws where storage is blocked.
    return null;
  }
}

export function thresholdStorageKey(manifest: Manifest): string {
  return `${PREFIX}:${manifest.model.id}:${manifest.onnx.sha256.toLowerCase()}:calibration-${manifest.calibration.version}`;
}

function clinicalOf(manifest: Manifest): number {
  return manifest.thresholds.clinical.value;
}

function state(manifest: Manifest, value: number): ThresholdState {
  const clinical = clinicalOf(manifest);
  return { value, clinical, custom: value !== clinical };
}

/** The stored threshold for this model, or the clinical one when none (or a bad one) is stored. */
export function loadThreshold(storage: StorageLike | null, manifest: Manifest): ThresholdState {
  let stored: string | null = null;
  try {
    stored = storage?.getItem(thresholdStorageKey(manifest)) ?? null;
  } catch {
    // Storage blocked: the clinical threshold applies.
  }
  const value = stored === null || stored.trim() === '' ? Number.NaN : Number(stored);
  return state(manifest, value >= 0 && value <= 1 ? value : clinicalOf(manifest));
}

/** Stores a reader's threshold; throws InputError (naming it) for a value outside [0, 1]. */
export function saveThreshold(storage: StorageLike | null, manifest: Manifest, value: number): ThresholdState {
  checkThreshold(value);
  const key = thresholdStorageKey(manifest);
  try {
    if (value === clinicalOf(manifest)) storage?.removeItem(key);
    else storage?.setItem(key, String(value));
  } catch {
    // Not persisted; it still applies until the page is closed.
  }
  return state(manifest, value);
}

/** Back to the manifest's clinical threshold, forgetting the stored one. */
export function resetThreshold(storage: StorageLike | null, manifest: Manifest): ThresholdState {
  return saveThreshold(storage, manifest, clinicalOf(manifest));
}
