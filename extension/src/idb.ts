/**
 * What ChestAid's two IndexedDB databases (the triage results' "chestaid" and the site's
 * "chestaid-site") share: one connection opened on first use and given up when another page
 * upgrades or deletes the database, errors that name the store, and a promise for a
 * transaction's commit. Each store keeps its own schema, in the `upgrade` it passes.
 */

export interface IdbStoreLabel {
  /** Names the store in messages: "ChestAid's <label> store (IndexedDB) could not ...". */
  readonly label: string;
}

export function idbFailure({ label }: IdbStoreLabel, what: string, error: DOMException | null | undefined): Error {
  return new Error(`ChestAid's ${label} store (IndexedDB) could not ${what}: ${error?.message ?? 'unknown error'}`);
}

export interface CommitOptions {
  /** An error this code aborted the transaction for; it is reported in place of the transaction's own. */
  readonly abortReason?: () => Error | null;
  /**
   * 'reject': an error event on the transaction rejects at once. 'await-abort': the transaction
   * is aborted and the rejection comes from onabort. The event is marked handled so it does not
   * reach window.onerror, and because a handled request error does NOT abort a transaction by
   * itself (IndexedDB spec), the abort is explicit: otherwise the rest would commit without it.
   */
  readonly onError?: 'reject' | 'await-abort';
}

/** Resolves with `result()` once the transaction has committed; rejects if it fails. */
export function committed<T>(
  store: IdbStoreLabel,
  transaction: IDBTransaction,
  what: string,
  result: () => T,
  { abortReason = () => null, onError = 'reject' }: CommitOptions = {},
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    transaction.oncomplete = () => resolve(result());
    transaction.onerror =
      onError === 'reject'
        ? () => reject(idbFailure(store, what, transaction.error))
        : event => {
            event.preventDefault?.();
            try {
              transaction.abort();
            } catch {
              // Already aborting or finished: onabort reports it.
            }
          };
    transaction.onabort = () => reject(abortReason() ?? idbFailure(store, what, transaction.error ?? new DOMException('transaction aborted')));
  });
}

export interface IdbConnectionOptions extends IdbStoreLabel {
  readonly factory: IDBFactory;
  readonly name: string;
  readonly version: number;
  /** Creates what the database lacks; runs inside the version-change transaction. */
  readonly upgrade: (db: IDBDatabase) => void;
}

/** One connection per factory and name: opened on first use, retried after a failed open, reopened after a version change. */
export class IdbConnection {
  private database: Promise<IDBDatabase> | null = null;

  constructor(private readonly options: IdbConnectionOptions) {}

  open(): Promise<IDBDatabase> {
    if (this.database) return this.database;
    const { factory, name, version, upgrade } = this.options;
    const opening = new Promise<IDBDatabase>((resolve, reject) => {
      const request = factory.open(name, version);
      request.onupgradeneeded = () => upgrade(request.result);
      request.onsuccess = () => {
        const db = request.result;
        // Another page (or a test) wants to upgrade or delete the database: let it, and reopen
        // on the next call instead of blocking it forever.
        db.onversionchange = () => {
          db.close();
          if (this.database === opening) this.database = null;
        };
        resolve(db);
      };
      request.onerror = () => reject(idbFailure(this.options, 'open', request.error));
      request.onblocked = () => reject(new Error(`ChestAid's ${this.options.label} store (IndexedDB) is blocked by another tab holding an older version`));
    });
    this.database = opening;
    opening.catch(() => {
      if (this.database === opening) this.database = null;
    });
    return opening;
  }

  async close(): Promise<void> {
    const database = this.database;
    this.database = null;
    if (database) (await database.catch(() => null))?.close();
  }
}
