import { deleteDB, openDB, type IDBPDatabase } from 'idb';
import { StorageError } from '@tabstore/sdk';
import { idbError } from './idb-errors.js';

/** What a connection reports to its engine while it is open. */
export interface ConnectionHandlers {
  /** Another connection wants to upgrade or delete the database; this one has already been closed. */
  versionChange(oldVersion: number, newVersion: number | null): void;
  /** The browser closed the connection abnormally (database deleted from disk, storage cleared, crash). */
  terminated(): void;
}

/**
 * Opens `name` so that every store in `stores` exists: at its current version when it has them, otherwise one
 * version higher, creating the missing stores (existing stores and their data are kept). An open that another
 * connection blocks fails with BLOCKED after `blockedTimeoutMs` instead of hanging; if it succeeds later, that late
 * connection is closed at once.
 */
export async function openWithStores(
  name: string,
  stores: readonly string[],
  blockedTimeoutMs: number,
  handlers: ConnectionHandlers,
): Promise<IDBPDatabase> {
  for (let attempt = 0; attempt < 5; attempt++) {
    let db = await openBounded(name, undefined, stores, blockedTimeoutMs, handlers);
    const missing = stores.filter((store) => !db.objectStoreNames.contains(store));
    if (missing.length === 0) return db;
    const version = db.version + 1;
    db.close();
    try {
      db = await openBounded(name, version, stores, blockedTimeoutMs, handlers);
      return db;
    } catch (error) {
      // Another tab upgraded first: read the new version and try again.
      if ((error as StorageError).cause instanceof Error && ((error as StorageError).cause as Error).name === 'VersionError') continue;
      throw error;
    }
  }
  throw new StorageError('IO', `Could not open IndexedDB database ${JSON.stringify(name)}: other tabs kept upgrading it.`);
}

function openBounded(
  name: string,
  version: number | undefined,
  stores: readonly string[],
  blockedTimeoutMs: number,
  handlers: ConnectionHandlers,
): Promise<IDBPDatabase> {
  return boundedWhileBlocked(
    (blocked) =>
      openDB(name, version, {
        upgrade(db) {
          for (const store of stores) if (!db.objectStoreNames.contains(store)) db.createObjectStore(store);
        },
        blocked(currentVersion, blockedVersion) {
          blocked(
            new StorageError(
              'BLOCKED',
              `Opening IndexedDB database ${JSON.stringify(name)} at version ${String(blockedVersion)} is blocked by ` +
                `another tab or worker that keeps version ${currentVersion} open. Close the other tabs of this app ` +
                '(or make them close their connection on versionchange) and retry.',
            ),
          );
        },
        blocking(currentVersion, blockedVersion, event) {
          (event.target as IDBDatabase).close();
          handlers.versionChange(currentVersion, blockedVersion);
        },
        terminated() {
          handlers.terminated();
        },
      }),
    blockedTimeoutMs,
    (error) => idbError(error, `open IndexedDB database ${JSON.stringify(name)}`),
    (db) => db.close(), // the caller was already told BLOCKED
  );
}

/**
 * Deletes `name`. Fails with BLOCKED when another connection keeps it open `blockedTimeoutMs` after IndexedDB reported
 * the delete blocked; IndexedDB cannot cancel the request, so the database is still deleted once that connection closes.
 */
export function deleteDatabase(name: string, blockedTimeoutMs: number): Promise<void> {
  return boundedWhileBlocked(
    (blocked) =>
      deleteDB(name, {
        blocked: () =>
          blocked(
            new StorageError(
              'BLOCKED',
              `Deleting IndexedDB database ${JSON.stringify(name)} is blocked by a connection that stays open; ` +
                'close it (the delete goes through once it is closed).',
            ),
          ),
      }),
    blockedTimeoutMs,
    (error) => idbError(error, `delete IndexedDB database ${JSON.stringify(name)}`),
  );
}

/**
 * Runs an open or delete request that other connections can block. It settles as the request does, except that once
 * IndexedDB reports it blocked (`blocked(error)`), it fails with that error if the request is still pending
 * `blockedTimeoutMs` later; a result that arrives after that goes to `late`. A request that cannot even start (or
 * fails) rejects with `failure(error)`.
 */
function boundedWhileBlocked<T>(
  start: (blocked: (error: StorageError) => void) => Promise<T>,
  blockedTimeoutMs: number,
  failure: (error: unknown) => StorageError,
  late?: (result: T) => void,
): Promise<T> {
  return new Promise((resolve, reject) => {
    let settled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const blocked = (error: StorageError): void => {
      timer ??= setTimeout(() => {
        if (settled) return;
        settled = true;
        reject(error);
      }, blockedTimeoutMs);
    };
    let request: Promise<T>;
    try {
      request = start(blocked);
    } catch (error) {
      reject(failure(error));
      return;
    }
    request.then(
      (result) => {
        clearTimeout(timer);
        if (settled) {
          late?.(result);
          return;
        }
        settled = true;
        resolve(result);
      },
      (error: unknown) => {
        clearTimeout(timer);
        if (settled) return;
        settled = true;
        reject(failure(error));
      },
    );
  });
}
