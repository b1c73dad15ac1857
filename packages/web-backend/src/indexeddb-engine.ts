import { unwrap, wrap, type IDBPDatabase, type IDBPObjectStore, type IDBPTransaction } from 'idb';
import {
  DEFAULT_MAX_KEY_SIZE,
  LazySnapshot,
  SnapshotEngine,
  compareBytes,
  copyBounds,
  StorageError,
  showArgument,
  defineSupports,
  type Bounds,
  type ChangeSet,
  type Durability,
  type EngineStats,
  type EngineSupports,
  type Entry,
  type NormalizedScan,
  type Snapshot,
  type SnapshotEngineOptions,
  type WriteSession,
} from '@tabstore/sdk';
import { checkBlockedTimeout, deleteDatabase, openWithStores } from './connection.js';
import { idbError } from './idb-errors.js';

/** Options of {@link IndexedDbEngine.open}. */
export interface IndexedDbEngineOptions extends SnapshotEngineOptions {
  /** Name of the IndexedDB database (one database per engine). */
  name: string;
  /** The stores to declare: one object store each. Missing ones are added by a version upgrade. */
  stores: readonly string[];
  /**
   * How long an open may wait for other tabs to release an older version before it fails with BLOCKED. Default 5000;
   * `Infinity` waits as long as it takes. An open queued behind another tab's blocked upgrade hears nothing from
   * IndexedDB: it fails after at least 30 s (after this long when the blocked request is this page's own).
   */
  blockedTimeoutMs?: number;
  /** Entries fetched per request by scans. Default 500. */
  scanPageSize?: number;
}

/** Events of an {@link IndexedDbEngine}. */
export interface IndexedDbEngineEvents {
  /** Another tab or worker asked to upgrade or delete the database: this engine closed its connection and reopens on next use. */
  versionchange: { oldVersion: number; newVersion: number | null };
  /** The browser closed the connection abnormally; the engine reopens on next use. */
  terminated: Record<string, never>;
  /** The engine opened a new connection after losing the previous one. */
  reopen: { version: number };
}

type Listener<K extends keyof IndexedDbEngineEvents> = (event: IndexedDbEngineEvents[K]) => void;
type Tx = IDBPTransaction<unknown, string[], 'readonly' | 'readwrite'>;
type Store = IDBPObjectStore<unknown, string[], string, 'readonly' | 'readwrite'>;

interface IdbRecord {
  key: IDBValidKey;
  value: unknown;
}
/** The options form of getAll* (IndexedDB 3.0), where the browser has it (together with getAllRecords). */
interface GetAllOptions {
  query?: IDBKeyRange | null;
  count?: number;
  direction?: IDBCursorDirection;
}
type RawStore = IDBObjectStore & {
  getAllRecords?(options: GetAllOptions): IDBRequest<IdbRecord[]>;
  getAllKeys(options: GetAllOptions): IDBRequest<IDBValidKey[]>;
};

type WriteTx = IDBPTransaction<unknown, string[], 'readwrite'>;

/**
 * The key flush() deletes: one byte longer than any key `put` accepts, so no stored record can ever have it and
 * the delete never removes data.
 */
const FLUSH_MARK = new Uint8Array(DEFAULT_MAX_KEY_SIZE + 1).fill(0xff) as Uint8Array<ArrayBuffer>;

/** The largest count IndexedDB's getAll* accept (an unsigned long); a larger one throws a TypeError. */
const MAX_COUNT = 2 ** 32 - 1;

/**
 * A key for IndexedDB, which copies exactly the view's bytes; it refuses views of a resizable or shared buffer
 * (shared WebAssembly memory, say), so those are copied into a plain one first.
 */
function idbKey(key: Uint8Array): IDBValidKey {
  const buffer = key.buffer as ArrayBufferLike & { resizable?: boolean };
  return (buffer instanceof ArrayBuffer && buffer.resizable !== true ? key : key.slice()) as Uint8Array<ArrayBuffer>;
}

/** A stored key (an ArrayBuffer) as bytes. */
function keyBytes(key: IDBValidKey, store: string): Uint8Array {
  if (key instanceof ArrayBuffer) return new Uint8Array(key);
  if (ArrayBuffer.isView(key)) return new Uint8Array(key.buffer, key.byteOffset, key.byteLength);
  throw new StorageError(
    'CORRUPTED',
    `Store ${JSON.stringify(store)} holds a key that is not binary (${typeof key}): it was not written by tabstore.`,
    { store },
  );
}

/** A stored value as bytes the caller owns (IndexedDB hands out a fresh clone every time). */
function valueBytes(value: unknown, store: string): Uint8Array {
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (value instanceof Uint8Array) return value;
  throw new StorageError(
    'CORRUPTED',
    `Store ${JSON.stringify(store)} holds a value that is not binary (${typeof value}): it was not written by tabstore. ` +
      'Read it with the legacy IndexedDB reader instead.',
    { store },
  );
}

/** The exact bytes of a value as an ArrayBuffer to store (a view's whole buffer would be cloned otherwise). */
function storable(value: Uint8Array): ArrayBuffer {
  if (value.byteOffset === 0 && value.byteLength === value.buffer.byteLength && value.buffer instanceof ArrayBuffer) {
    return value.buffer;
  }
  return value.slice().buffer;
}

/** An IDBKeyRange for bounds, or undefined for the whole store. */
function keyRange(bounds: Bounds): IDBKeyRange | undefined {
  const { lower, upper } = bounds;
  if (lower !== undefined && upper !== undefined) {
    return IDBKeyRange.bound(idbKey(lower), idbKey(upper), bounds.lowerExclusive, bounds.upperExclusive);
  }
  if (lower !== undefined) return IDBKeyRange.lowerBound(idbKey(lower), bounds.lowerExclusive);
  if (upper !== undefined) return IDBKeyRange.upperBound(idbKey(upper), bounds.upperExclusive);
  return undefined;
}

/**
 * The bounds of the rest of a scan after `last` (exclusive), in the scan's direction; `empty` when `last` was the
 * range's final key (IDBKeyRange.bound rejects a range like (last, last]).
 */
function after(bounds: Bounds, last: Uint8Array, reverse: boolean): Bounds {
  if (reverse) {
    const empty = bounds.lower !== undefined && compareBytes(bounds.lower, last) >= 0;
    return { ...bounds, upper: last, upperExclusive: true, empty };
  }
  const empty = bounds.upper !== undefined && compareBytes(last, bounds.upper) >= 0;
  return { ...bounds, lower: last, lowerExclusive: true, empty };
}

/** Reads in one IndexedDB transaction. Scans fetch pages of entries per request, never one cursor step per record. */
class IdbSnapshot implements Snapshot {
  constructor(
    private readonly tx: Tx,
    private readonly pageSize: number,
  ) {}

  /**
   * The object store; once the transaction has ended (objectStore() throws InvalidStateError then),
   * TRANSACTION_INACTIVE when IndexedDB committed it (the callback awaited elsewhere), or the abort's error when the
   * browser aborted it.
   */
  private store(name: string): Store {
    try {
      return this.tx.objectStore(name);
    } catch (error) {
      const errorName = (error as Error).name;
      if (errorName === 'InvalidStateError' || errorName === 'TransactionInactiveError') throw endedError(this.tx, 'read');
      throw error;
    }
  }

  async get(store: string, key: Uint8Array): Promise<Uint8Array | undefined> {
    const value: unknown = await this.store(store).get(idbKey(key));
    return value === undefined ? undefined : valueBytes(value, store);
  }

  async getMany(store: string, keys: readonly Uint8Array[]): Promise<(Uint8Array | undefined)[]> {
    const s = this.store(store);
    const values: unknown[] = await Promise.all(keys.map((key) => s.get(idbKey(key))));
    return values.map((value) => (value === undefined ? undefined : valueBytes(value, store)));
  }

  async scan(store: string, scan: NormalizedScan): Promise<Entry[]> {
    const s = this.store(store);
    const raw = unwrap(s) as RawStore;
    const direction = scan.reverse ? 'prev' : 'next';
    const toEntry = (key: IDBValidKey, value: unknown): Entry => ({ key: keyBytes(key, store), value: valueBytes(value, store) });
    return this.paged(scan, (entry) => entry.key, async (query, count) => {
      if (typeof raw.getAllRecords === 'function') {
        const records = await wrap(raw.getAllRecords({ query, count, direction }));
        return records.map((record) => toEntry(record.key, record.value));
      }
      if (!scan.reverse) {
        const [keys, values] = await Promise.all([s.getAllKeys(query, count), s.getAll(query, count)]);
        return keys.map((key, i) => toEntry(key, values[i]));
      }
      // No getAllRecords, hence no reverse getAll: a 'prev' cursor, one step per record (the only way).
      const page: Entry[] = [];
      for (let cursor = await s.openCursor(query, 'prev'); cursor !== null && page.length < count; cursor = await cursor.continue()) {
        page.push(toEntry(cursor.key, cursor.value));
      }
      return page;
    });
  }

  async scanKeys(store: string, scan: NormalizedScan): Promise<Uint8Array[]> {
    const s = this.store(store);
    const raw = unwrap(s) as RawStore;
    const direction = scan.reverse ? 'prev' : 'next';
    return this.paged(scan, (key) => key, async (query, count) => {
      let keys: IDBValidKey[];
      // Browsers with getAllRecords also take getAllKeys options, direction included.
      if (typeof raw.getAllRecords === 'function') keys = await wrap(raw.getAllKeys({ query, count, direction }));
      else if (!scan.reverse) keys = await s.getAllKeys(query, count);
      else {
        keys = [];
        for (let cursor = await s.openKeyCursor(query, 'prev'); cursor !== null && keys.length < count; cursor = await cursor.continue()) {
          keys.push(cursor.key);
        }
      }
      return keys.map((key) => keyBytes(key, store));
    });
  }

  /**
   * Reads a scan in pages: `fetch` returns up to `count` items of `query` in the scan's direction, `keyOf` gives an
   * item's key. A scan without a limit returns everything anyway, so it starts with large pages; a limited one starts
   * small. Pages then double (up to 32 pages' worth), so a long scan needs few requests.
   */
  private async paged<T>(
    scan: NormalizedScan,
    keyOf: (item: T) => Uint8Array,
    fetch: (query: IDBKeyRange | null, count: number) => Promise<T[]>,
  ): Promise<T[]> {
    const out: T[] = [];
    // Later pages are read after awaits: by then the caller may have reused the bound keys' buffers.
    let bounds: Bounds = copyBounds(scan);
    let pageSize = Math.min(scan.limit === Infinity ? this.pageSize * 8 : this.pageSize, MAX_COUNT);
    while (out.length < scan.limit) {
      const count = Math.min(pageSize, scan.limit - out.length);
      pageSize = Math.min(pageSize * 2, this.pageSize * 32, MAX_COUNT);
      const page = await fetch(keyRange(bounds) ?? null, count);
      for (const item of page) out.push(item);
      if (page.length < count) break;
      bounds = after(bounds, keyOf(page[page.length - 1]!), scan.reverse);
      if (bounds.empty) break;
    }
    return out;
  }

  async count(store: string, bounds: Bounds): Promise<number> {
    return this.store(store).count(keyRange(bounds) ?? null);
  }

  release(): void {
    // IndexedDB commits a transaction by itself once no request is pending.
  }
}

/**
 * The engine for browsers: pages, Electron renderers and MV3 extension service workers. One IndexedDB database per
 * engine, one object store per store, out-of-line binary keys, values stored as ArrayBuffers.
 *
 * A write transaction is one `readwrite` IndexedDB transaction. Its writes are buffered while the callback runs and
 * issued when it returns, in the same IndexedDB transaction as its reads. If the callback awaited something else
 * and IndexedDB committed meanwhile, the write fails with TRANSACTION_INACTIVE and nothing is written.
 * Default durability is `relaxed` (Chromium's default); pass `{ durability: 'strict' }` for an fsync per commit.
 */
export class IndexedDbEngine extends SnapshotEngine {
  readonly kind = 'indexeddb';
  readonly supports: EngineSupports = defineSupports({
    snapshots: true,
    foreignAwaits: false,
    zeroCopyReads: false,
    defaultDurability: 'relaxed',
    multiProcess: true,
    persistent: true,
  });
  /** The IndexedDB database name. */
  readonly name: string;
  protected override readonly ownValueBuffers = true;
  private db: IDBPDatabase | undefined;
  private connecting: Promise<IDBPDatabase> | undefined;
  /** Set once the first connection opened: later connections are reopens (and emit `reopen`). */
  private everConnected = false;
  private readonly blockedTimeoutMs: number;
  private readonly pageSize: number;
  private readonly listeners = new Map<keyof IndexedDbEngineEvents, Set<(event: never) => void>>();

  private constructor(options: IndexedDbEngineOptions) {
    super(options.stores, options);
    this.name = options.name;
    this.blockedTimeoutMs = options.blockedTimeoutMs ?? 5000;
    checkBlockedTimeout(this.blockedTimeoutMs);
    this.pageSize = options.scanPageSize ?? 500;
    // A fractional size would make IndexedDB return fewer entries than asked for (it truncates the count), which
    // reads as the end of the range.
    if (!Number.isInteger(this.pageSize) || this.pageSize < 1) {
      throw new StorageError('INVALID_ARGUMENT', `scanPageSize must be a whole number of at least 1, got ${showArgument(this.pageSize)}.`);
    }
  }

  /**
   * Opens (creating or upgrading as needed) the database `options.name`. Fails with BLOCKED when other tabs keep
   * an older version open past `blockedTimeoutMs`, with IO when IndexedDB is unavailable.
   */
  static async open(options: IndexedDbEngineOptions): Promise<IndexedDbEngine> {
    if (typeof indexedDB === 'undefined') {
      throw new StorageError('IO', 'IndexedDB is not available in this environment (use LmdbEngine in Node).');
    }
    checkDatabaseName(options?.name, 'IndexedDbEngine.open needs { name, stores }: name is the database name');
    const engine = new IndexedDbEngine(options);
    await engine.connection();
    return engine;
  }

  /**
   * Deletes a database (after closing engines on it). Fails with BLOCKED if it is still blocked `blockedTimeoutMs`
   * after the call by a connection that stays open (the delete still happens once that connection closes).
   */
  static async deleteDatabase(name: string, blockedTimeoutMs = 5000): Promise<void> {
    // IndexedDB would turn undefined into the name "undefined" and delete that database.
    checkDatabaseName(name, 'IndexedDbEngine.deleteDatabase needs the database name');
    checkBlockedTimeout(blockedTimeoutMs);
    return deleteDatabase(name, blockedTimeoutMs);
  }

  /** Subscribes to an engine event; returns the function that unsubscribes. */
  on<K extends keyof IndexedDbEngineEvents>(event: K, listener: Listener<K>): () => void {
    let set = this.listeners.get(event);
    if (set === undefined) this.listeners.set(event, (set = new Set()));
    set.add(listener as (event: never) => void);
    return () => set.delete(listener as (event: never) => void);
  }

  /**
   * Calls every listener of `event`. One that throws neither keeps the event from the others nor fails the engine
   * operation under way: its error goes to the global error handler (`reportError`), as a DOM event listener's does.
   */
  private emit<K extends keyof IndexedDbEngineEvents>(event: K, payload: IndexedDbEngineEvents[K]): void {
    for (const listener of [...(this.listeners.get(event) ?? [])]) {
      try {
        (listener as Listener<K>)(payload);
      } catch (error) {
        reportListenerError(error);
      }
    }
  }

  /** The open connection, reconnecting when the previous one was lost. */
  private connection(): Promise<IDBPDatabase> {
    if (this.db !== undefined) return Promise.resolve(this.db);
    const reconnecting = this.connecting === undefined && this.everConnected;
    this.connecting ??= openWithStores(this.name, this.stores, this.blockedTimeoutMs, {
      versionChange: (oldVersion, newVersion) => {
        this.db = undefined;
        this.emit('versionchange', { oldVersion, newVersion });
      },
      terminated: () => {
        this.db = undefined;
        this.emit('terminated', {});
      },
    }).then(
      (db) => {
        this.connecting = undefined;
        this.everConnected = true;
        if (this.status === 'closed') {
          db.close();
          throw new StorageError('CLOSED', 'The indexeddb engine was closed while it reconnected.');
        }
        this.db = db;
        if (reconnecting) this.emit('reopen', { version: db.version });
        return db;
      },
      (error: unknown) => {
        this.connecting = undefined;
        throw error;
      },
    );
    return this.connecting;
  }

  /** A transaction on the open connection without waiting, or undefined when there is none (or it just closed). */
  private transactionNow(stores: readonly string[], mode: 'readonly' | 'readwrite'): Tx | undefined {
    if (this.db === undefined) return undefined;
    try {
      return handled(this.db.transaction([...stores], mode) as Tx);
    } catch {
      return undefined; // closed without an event: transaction() reconnects
    }
  }

  /**
   * A transaction on the current connection; a connection closed under us is replaced once. With a connection open
   * the transaction is created at the call, not after an await: an operation called before close() then gets its
   * transaction before close() closes the connection, and completes.
   */
  private async transaction(stores: readonly string[], mode: 'readonly' | 'readwrite', durability?: Durability): Promise<Tx> {
    const options = durability === undefined ? undefined : { durability };
    for (let attempt = 0; ; attempt++) {
      const db = this.db ?? (await this.connection());
      try {
        return handled(db.transaction([...stores], mode, options) as Tx);
      } catch (error) {
        if ((error as Error).name !== 'InvalidStateError' || attempt > 0) throw idbError(error, 'start a transaction');
        if (this.db === db) this.db = undefined; // closed without an event: reconnect
      }
    }
  }

  /**
   * One operation outside a transaction: one readonly transaction, taken without waiting when the connection is
   * open.
   */
  protected override openOperationReads(stores: readonly string[]): Snapshot | Promise<Snapshot> {
    const tx = this.transactionNow(stores, 'readonly');
    if (tx !== undefined) return new IdbSnapshot(tx, this.pageSize);
    return this.transaction(stores, 'readonly').then((created) => new IdbSnapshot(created, this.pageSize));
  }

  protected async openSnapshot(stores: readonly string[]): Promise<Snapshot> {
    return new IdbSnapshot(await this.transaction(stores, 'readonly'), this.pageSize);
  }

  /**
   * Reads and writes of one write transaction share one readwrite IndexedDB transaction: opened at the first read
   * (so the reads are isolated from other tabs' writers until the commit), or at the commit when there were none.
   */
  protected override beginWrite(stores: readonly string[], durability: Durability): WriteSession {
    let tx: Tx | undefined;
    // One IndexedDB transaction per session: the first read opens it, or the commit when there was no read.
    let opening: Promise<Tx> | undefined;
    const open = (): Promise<Tx> => (opening ??= this.transaction(stores, 'readwrite', durability).then((opened) => (tx = opened)));
    const snapshot = new LazySnapshot(async () => new IdbSnapshot(await open(), this.pageSize));
    return {
      snapshot,
      commit: async (changes) => {
        snapshot.release(); // like every engine's write session (the IndexedDB transaction itself stays open)
        if (changes.isEmpty) return;
        // Reads the callback issued without awaiting them run first, in the same transaction, before the writes.
        await snapshot.settled();
        // A transaction that already ended is found by writeChanges (objectStore() throws InvalidStateError).
        await this.writeChanges(tx ?? (await open()), changes);
      },
      abort: () => {
        // Nothing to undo: writes are issued at commit, so the IndexedDB transaction holds only reads. It is left to
        // finish them and end with nothing written, so reads the callback did not await settle as on every engine
        // (aborting it failed them, with no one to report it to).
        snapshot.release();
      },
    };
  }

  protected async applyChanges(changes: ChangeSet, durability: Durability): Promise<void> {
    await this.writeChanges(await this.transaction([...changes.stores.keys()], 'readwrite', durability), changes);
  }

  /** Issues every change as requests of `tx` (synchronously, while it is active) and waits for the commit. */
  private async writeChanges(readwrite: Tx, changes: ChangeSet): Promise<void> {
    const tx = readwrite as WriteTx;
    const requests: Promise<unknown>[] = [];
    try {
      for (const [name, storeChanges] of changes.stores) {
        const store = tx.objectStore(name);
        if (storeChanges.cleared) requests.push(store.clear());
        const { keys, values } = storeChanges;
        for (let i = 0; i < keys.length; i++) {
          const value = values[i]!;
          requests.push(value === null ? store.delete(idbKey(keys[i]!)) : store.put(storable(value), idbKey(keys[i]!)));
        }
      }
      (tx as unknown as { commit?: () => void }).commit?.();
    } catch (error) {
      // Requests issued before the failure would commit on their own: abort, so the transaction writes all or nothing.
      // Their rejections (AbortError) are expected now; the failure reported is the one that stopped the issuing.
      for (const request of requests) request.catch(() => undefined);
      try {
        tx.abort();
      } catch {
        // Already finished (IndexedDB committed under a foreign await): nothing was issued into it.
      }
      const name = (error as Error).name;
      if (name === 'TransactionInactiveError' || name === 'InvalidStateError') throw endedError(tx, 'write');
      throw idbError(error, 'write to IndexedDB');
    }
    await this.commitOf(tx, requests, 'commit an IndexedDB transaction');
  }

  /**
   * Waits for `tx` to commit. The transaction's outcome decides, not its requests: when the browser aborts a
   * committing transaction (its connection cut), Chromium never settles the requests. A failing request aborts the
   * transaction, and its error (which names the cause) arrives before the abort: that one is reported, not the
   * transaction's AbortError.
   */
  private async commitOf(tx: Tx, requests: readonly Promise<unknown>[], action: string): Promise<void> {
    let requestError: unknown;
    const failed = (error: unknown): void => {
      requestError ??= error;
    };
    for (const request of requests) request.catch(failed);
    try {
      await this.committed(tx);
    } catch (error) {
      throw idbError(requestError ?? error, action);
    }
  }

  /**
   * Settles as `tx` commits or aborts, or rejects when the browser closes its connection first: Chromium then may
   * never report a transaction that was waiting or committing.
   */
  private committed(tx: Tx): Promise<void> {
    // One close listener per commit, removed as the commit settles: nothing outlives it on the connection.
    const db = unwrap(tx).db;
    return new Promise<void>((resolve, reject) => {
      const onClose = (event: Event): void => reject(connectionLostError(event));
      db.addEventListener('close', onClose, { once: true });
      tx.done.then(resolve, reject).finally(() => db.removeEventListener('close', onClose));
    });
  }

  protected async engineStats(): Promise<EngineStats> {
    const tx = await this.transaction(this.stores, 'readonly'); // an abort is reported by the counts
    const counts = await Promise.all(this.stores.map((store) => tx.objectStore(store).count()));
    return { entries: Object.fromEntries(this.stores.map((store, i) => [store, counts[i]!])), bytesOnDisk: undefined };
  }

  /**
   * A strict commit that writes something: the delete of a key no record can have (see FLUSH_MARK), which changes no data but
   * makes the backend sync its log, and with it every relaxed commit before. (An empty transaction may never reach
   * the backend at all.)
   */
  protected async flushEngine(): Promise<void> {
    const tx = (await this.transaction([this.stores[0]!], 'readwrite', 'strict')) as WriteTx;
    await this.commitOf(tx, [tx.objectStore(this.stores[0]!).delete(FLUSH_MARK)], 'flush IndexedDB');
  }

  protected async closeEngine(): Promise<void> {
    const db = this.db ?? (await this.connecting?.catch(() => undefined));
    this.db = undefined;
    db?.close();
  }

  protected toStorageError(error: unknown, store?: string): StorageError {
    return idbError(error, 'complete an IndexedDB operation', store);
  }
}

/**
 * `tx`, its `done` promise (which idb makes for every transaction) handled: a transaction the browser aborts must
 * leave no unhandled rejection. Whoever waits on `done` (commits, flushes) still sees the abort; otherwise the aborted
 * requests report it.
 */
function handled(tx: Tx): Tx {
  tx.done.catch(() => undefined);
  return tx;
}

/** The error of a commit whose connection the browser closed before IndexedDB reported the outcome. */
function connectionLostError(closed: Event): StorageError {
  return new StorageError(
    'IO',
    'The browser closed the IndexedDB connection (site data cleared, the database deleted from disk, or a browser ' +
      'failure) before this commit was confirmed: it was most likely not written. The engine reconnects on next use; ' +
      'retry the write.',
    { cause: closed },
  );
}

/**
 * Why an operation cannot use `tx` any more: the browser aborted it (its `error`, e.g. the connection cut or the
 * quota hit: nothing of it is written), or IndexedDB committed it under a callback that awaited something else.
 */
function endedError(tx: Tx, attempt: 'read' | 'write'): StorageError {
  const abort = (tx as unknown as { error?: DOMException | null }).error;
  if (abort === null || abort === undefined) return foreignAwaitError(attempt);
  return idbError(abort, `${attempt} in this transaction: the browser aborted it, and nothing of it was written (retry the whole transaction)`);
}

/** The error of a transaction IndexedDB committed while its callback was waiting for something else. */
function foreignAwaitError(attempt: 'read' | 'write' = 'write'): StorageError {
  return new StorageError(
    'TRANSACTION_INACTIVE',
    'IndexedDB committed this transaction before its callback finished, because the callback awaited something ' +
      "other than the transaction's own operations (a fetch, a timer, another engine call). " +
      (attempt === 'write' ? 'Nothing was written. ' : 'This read cannot run in it any more. ') +
      'Do that work before or after the transaction, and inside the callback await only tx.get/put/scan/...',
  );
}

/** INVALID_ARGUMENT unless `name` is a non-empty string (`what` says which call needs it). */
function checkDatabaseName(name: unknown, what: string): asserts name is string {
  if (typeof name !== 'string' || name.length === 0) {
    throw new StorageError('INVALID_ARGUMENT', `${what}, got ${name === '' ? 'an empty string' : showArgument(name)}.`);
  }
}

/** Hands a listener's error to the host's global error handler, where uncaught errors go. */
function reportListenerError(error: unknown): void {
  const report = (globalThis as { reportError?: (error: unknown) => void }).reportError;
  if (typeof report === 'function') report(error);
  else
    queueMicrotask(() => {
      throw error;
    });
}
