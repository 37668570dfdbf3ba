/**
 * Asks the browser to keep ChestAid's storage (IndexedDB: results, the readers' feedback and its
 * outbox, the browser calibration log) under storage pressure, once at startup. Without it the
 * storage is "best-effort": the browser may evict it, and reading-room VDI desktops often discard
 * it at logoff. The answer is shown in the panel when it is not 'persistent'.
 */
import type { StoragePersistence } from './analysis/types';

/** navigator.storage (StorageManager) as this uses it. */
export interface StorageManagerLike {
  persisted?(): Promise<boolean>;
  persist?(): Promise<boolean>;
}

/** Checks persisted() first (a granted profile is not asked again), then asks persist(). Never rejects. */
export async function askPersistentStorage(storage: StorageManagerLike | null | undefined): Promise<StoragePersistence> {
  if (!storage || typeof storage.persisted !== 'function' || typeof storage.persist !== 'function') return 'unavailable';
  try {
    if (await storage.persisted()) return 'persistent';
    return (await storage.persist()) ? 'persistent' : 'best-effort';
  } catch {
    return 'unavailable';
  }
}
