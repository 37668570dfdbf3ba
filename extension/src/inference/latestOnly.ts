/**
 * Latest-only requests per slot (a viewport, the panel): when the reader moves to another image
 * before the model answers, the late answer must never be shown as the new image's result.
 *
 * Each slot holds at most one pending task. Starting a newer task in the slot rejects the older
 * one's promise at once with SupersededError (and cancels it), so a late answer has nobody left to
 * resolve; identity, not the key, decides which task is current, so even the same key asked twice
 * cannot cross answers.
 */

export class SupersededError extends Error {
  constructor(
    readonly slot: string,
    readonly key: string,
    readonly newerKey: string,
  ) {
    super(`request ${JSON.stringify(key)} in slot ${JSON.stringify(slot)} was superseded by ${JSON.stringify(newerKey)}`);
    this.name = 'SupersededError';
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

export interface Task<T> {
  /** What the result is about, e.g. resultKey(SOPInstanceUID, model sha256). */
  readonly key: string;
  readonly promise: Promise<T>;
  /** Called once when a newer task supersedes this one (e.g. tell the worker to drop it). */
  readonly cancel?: () => void;
}

interface Pending {
  readonly key: string;
  readonly supersede: (newerKey: string) => void;
}

export class LatestOnly {
  private readonly pending = new Map<string, Pending>();

  /** Settles like `task.promise` unless a newer task starts in `slot` first. */
  run<T>(slot: string, task: Task<T>): Promise<T> {
    this.pending.get(slot)?.supersede(task.key);
    return new Promise<T>((resolve, reject) => {
      const entry: Pending = {
        key: task.key,
        supersede: newerKey => {
          reject(new SupersededError(slot, task.key, newerKey));
          task.cancel?.();
        },
      };
      this.pending.set(slot, entry);
      const settle = (finish: () => void) => {
        if (this.pending.get(slot) !== entry) return;
        this.pending.delete(slot);
        finish();
      };
      task.promise.then(
        value => settle(() => resolve(value)),
        error => settle(() => reject(error)),
      );
    });
  }

  /** The key of the task pending in `slot`, or null. */
  pendingKey(slot: string): string | null {
    return this.pending.get(slot)?.key ?? null;
  }
}

/**
 * The key a result is stored under: the image and the exact model bytes that scored it, so a
 * result is never shown for another image or after the model file changed.
 */
export function resultKey(sopInstanceUID: string, modelSha256: string): string {
  if (!sopInstanceUID) throw new Error('resultKey needs a SOPInstanceUID');
  if (!/^[0-9a-f]{64}$/i.test(modelSha256)) {
    throw new Error(`resultKey needs the model's sha256 (64 hex digits), got ${JSON.stringify(modelSha256)}`);
  }
  return `${sopInstanceUID}@sha256:${modelSha256.toLowerCase()}`;
}
