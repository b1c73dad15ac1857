import { deleteDB, openDB, type IDBPDatabase } from 'idb';
import { StorageError, showArgument } from '@tabstore/sdk';
import { idbError } from './idb-errors.js';

/** The longest delay setTimeout can wait (2^31-1 ms). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Throws INVALID_ARGUMENT unless `ms` is a number of milliseconds, 0 or more (Infinity: wait as long as it takes). */
export function checkBlockedTimeout(ms: number): void {
  // typeof first: '300' >= 0 holds, and '300' would later be joined to a start time as text (no timer at all).
  if (typeof ms !== 'number' || !(ms >= 0)) {
    throw new StorageError('INVALID_ARGUMENT', `blockedTimeoutMs must be 0 or more milliseconds, or Infinity, got ${showArgument(ms)}.`);
  }
}

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
 * connection blocks fails with BLOCKED `blockedTimeoutMs` after IndexedDB says so, and one queued behind a blocked
 * request (which hears nothing) after `blockedTimeoutMs` when that request is ours, else after 30 s, instead of
 * hanging; if it succeeds later, that late connection is closed at once. An open the browser aborts while it runs
 * (AbortError: clearing site data cuts even a connection still being opened) is tried again, up to
 * {@link CUT_OPEN_RETRIES_MS}.length times, before it fails with IO.
 */
export async function openWithStores(
  name: string,
  stores: readonly string[],
  blockedTimeoutMs: number,
  handlers: ConnectionHandlers,
): Promise<IDBPDatabase> {
  // Tabs adding stores at once each upgrade one version further; every round one of them wins, so the last of n needs
  // up to n-1 rounds. Only a round in which the database's version did not move counts against the limit.
  let stalled = 0;
  let lastVersion = -1;
  for (let round = 0; round < MAX_UPGRADE_ROUNDS && stalled < MAX_STALLED_ROUNDS; round++) {
    let db = await retryingCuts(() => openBounded(name, undefined, stores, blockedTimeoutMs, handlers));
    if (db.version > lastVersion) lastVersion = db.version;
    else stalled++;
    const missing = stores.filter((store) => !db.objectStoreNames.contains(store));
    if (missing.length === 0) return db;
    const version = db.version + 1;
    db.close();
    try {
      db = await retryingCuts(() => openBounded(name, version, stores, blockedTimeoutMs, handlers));
    } catch (error) {
      // Another tab upgraded past this version first: read the new version and try again.
      if (causeName(error) === 'VersionError') continue;
      throw error;
    }
    // Another tab may have upgraded to this very version first, with its own stores: then no upgrade ran here.
    if (stores.every((store) => db.objectStoreNames.contains(store))) return db;
    db.close();
  }
  throw new StorageError('IO', `Could not open IndexedDB database ${JSON.stringify(name)}: other tabs kept upgrading it.`);
}

/** Rounds of upgrades by other tabs an open waits through: in all, and without the version moving. */
const MAX_UPGRADE_ROUNDS = 200;
const MAX_STALLED_ROUNDS = 5;

/**
 * Pauses before each new try of an open the browser aborted. Chromium aborts every open that runs while it clears
 * the site's data; the clear takes a few milliseconds, so these cover it many times over.
 */
const CUT_OPEN_RETRIES_MS = [10, 40, 100, 250];

/** The name of the browser's error behind a failed open (`AbortError`, `VersionError`...), if any. */
function causeName(error: unknown): string | undefined {
  const cause = error instanceof StorageError ? error.cause : undefined;
  return cause instanceof Error || cause instanceof DOMException ? cause.name : undefined;
}

/** `open()`, tried again after the pauses of CUT_OPEN_RETRIES_MS while the browser aborts it. */
async function retryingCuts(open: () => Promise<IDBPDatabase>): Promise<IDBPDatabase> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await open();
    } catch (error) {
      const pause = CUT_OPEN_RETRIES_MS[attempt];
      if (pause === undefined || causeName(error) !== 'AbortError') throw error;
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}

function openBounded(
  name: string,
  version: number | undefined,
  stores: readonly string[],
  blockedTimeoutMs: number,
  handlers: ConnectionHandlers,
): Promise<IDBPDatabase> {
  return boundedWhileBlocked(
    name,
    (blocked, proceeding) =>
      openDB(name, version, {
        upgrade(db, _oldVersion, _newVersion, transaction) {
          // The open request reports a failed upgrade itself; the upgrade transaction's own `done` (which idb makes
          // for every transaction) would otherwise reject unhandled, as when clearing site data aborts it.
          transaction.done.catch(() => undefined);
          proceeding();
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
    (ms) => queued(`Opening IndexedDB database ${JSON.stringify(name)}`, ms),
    (error) => idbError(error, `open IndexedDB database ${JSON.stringify(name)}`),
    (db) => db.close(), // the caller was already told BLOCKED
  );
}

/**
 * Deletes `name`. Fails with BLOCKED when a connection that stays open blocks it (bounded as an open is, see
 * {@link openWithStores}); IndexedDB cannot cancel the request, so the database is still deleted once that connection
 * closes.
 */
export function deleteDatabase(name: string, blockedTimeoutMs: number): Promise<void> {
  return boundedWhileBlocked(
    name,
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
    (ms) => queued(`Deleting IndexedDB database ${JSON.stringify(name)}`, ms),
    (error) => idbError(error, `delete IndexedDB database ${JSON.stringify(name)}`),
  );
}

/** The BLOCKED error of a request that never heard back: it waits behind another connection's blocked request. */
function queued(action: string, ms: number): StorageError {
  return new StorageError(
    'BLOCKED',
    `${action} did not finish within ${ms} ms: it waits behind an upgrade or deletion of the database ` +
      'asked for elsewhere (another tab or worker, or an earlier call that failed with BLOCKED), which a connection ' +
      'that stays open is blocking. Close the other tabs of this app (or make them close their connection on ' +
      'versionchange) and retry.',
  );
}

/**
 * Databases with a request of ours that failed with BLOCKED and is still queued: IndexedDB tells requests queued
 * behind it nothing, so theirs are bounded by `blockedTimeoutMs` from the start.
 */
const stuck = new Map<string, number>();

/**
 * Requests of each database that have heard nothing yet and wait on the longer {@link STALLED_MS} bound: when a
 * request of ours for the same database fails with BLOCKED, these are queued behind it too, so each is re-armed
 * with `blockedTimeoutMs` from its own start.
 */
const silent = new Map<string, Set<() => void>>();

/**
 * How long a request that hears nothing at all (no `blocked` event, no upgrade) may take before it is reported as
 * queued behind another tab's blocked request. Longer than `blockedTimeoutMs`: an open can be slow without being
 * blocked (a large database recovering at browser start).
 */
const STALLED_MS = 30_000;

/**
 * Runs an open or delete request of database `name` that other connections can block. It settles as the request
 * does, except that it fails with the error IndexedDB's `blocked` event gave (`blocked(error)`) when the request is
 * still pending `blockedTimeoutMs` after that event, and with `stalled(ms)` when it heard nothing for `ms`: the
 * request is queued behind another connection's upgrade or delete that is itself blocked (IndexedDB tells only that
 * one); `ms` is `blockedTimeoutMs` when that one is ours, else at least {@link STALLED_MS}. Once an upgrade starts
 * (`proceeding()`) nothing blocks the request any more and it is left to finish. A result that arrives after the
 * failure goes to `late`. A request that cannot even start (or fails) rejects with `failure(error)`.
 */
function boundedWhileBlocked<T>(
  name: string,
  start: (blocked: (error: StorageError) => void, proceeding: () => void) => Promise<T>,
  blockedTimeoutMs: number,
  stalled: (ms: number) => StorageError,
  failure: (error: unknown) => StorageError,
  late?: (result: T) => void,
): Promise<T> {
  return new Promise((resolve, reject) => {
    let settled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const startedAt = Date.now();
    const waiting = silent.get(name) ?? new Set<() => void>();
    const heard = (): void => {
      waiting.delete(rearm);
      if (waiting.size === 0 && silent.get(name) === waiting) silent.delete(name);
    };
    const giveUp = (error: StorageError): void => {
      if (settled) return;
      settled = true;
      heard();
      // The request stays queued: requests made after this one hear nothing until it goes through, and those made
      // before it that heard nothing yet wait behind it too.
      stuck.set(name, (stuck.get(name) ?? 0) + 1);
      for (const other of [...(silent.get(name) ?? [])]) other();
      reject(error);
    };
    // setTimeout fires at once for a delay it cannot hold: past that (Infinity included) there is no limit.
    const arm = (ms: number, error: () => StorageError): void => {
      clearTimeout(timer);
      timer = ms > MAX_TIMER_MS ? undefined : setTimeout(() => giveUp(error()), ms);
    };
    const stalledFor = (): StorageError => stalled(Math.max(blockedTimeoutMs, Date.now() - startedAt));
    const rearm = (): void => {
      heard();
      arm(Math.max(0, startedAt + blockedTimeoutMs - Date.now()), stalledFor);
    };
    const stallMs = stuck.has(name) ? blockedTimeoutMs : Math.max(blockedTimeoutMs, STALLED_MS);
    arm(stallMs, stalledFor);
    if (stallMs > blockedTimeoutMs) {
      waiting.add(rearm);
      silent.set(name, waiting);
    }
    const blocked = (error: StorageError): void => {
      heard();
      arm(blockedTimeoutMs, () => error);
    };
    const proceeding = (): void => {
      heard();
      clearTimeout(timer);
    };
    const done = (): void => {
      heard();
      clearTimeout(timer);
      if (!settled) return;
      const left = (stuck.get(name) ?? 1) - 1;
      if (left > 0) stuck.set(name, left);
      else stuck.delete(name);
    };
    let request: Promise<T>;
    try {
      request = start(blocked, proceeding);
    } catch (error) {
      heard();
      clearTimeout(timer);
      settled = true;
      reject(failure(error));
      return;
    }
    request.then(
      (result) => {
        done();
        if (settled) {
          late?.(result);
          return;
        }
        settled = true;
        resolve(result);
      },
      (error: unknown) => {
        done();
        if (settled) return;
        settled = true;
        reject(failure(error));
      },
    );
  });
}
