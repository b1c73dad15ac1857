import { assertKey, assertKeys, assertValue, compareBytes, copyBytes } from './bytes.js';
import { ChangeSet, type Change } from './change-set.js';
import { StorageError, isStorageError, showArgument } from './errors.js';
import { copyBounds, normalizeRange, normalizeScan, type Bounds, type NormalizedScan } from './range.js';
import type {
  Durability,
  EngineStats,
  EngineSupports,
  Entry,
  KeyRange,
  ReadTransaction,
  ScanOptions,
  StorageEngine,
  WriteOptions,
  WriteTransaction,
} from './types.js';
import { WriteLock } from './write-lock.js';
import { DEFAULT_MAX_KEY_SIZE, DEFAULT_MAX_VALUE_SIZE } from './limits.js';
import { retryOnConflict } from './retry.js';
import { isWellFormed } from '../codec/unicode.js';

type MaybePromise<T> = T | Promise<T>;

/**
 * One consistent view of some stores, as an engine provides it to {@link SnapshotEngine}. Arguments are already
 * validated. Returned bytes must belong to the caller.
 */
export interface Snapshot {
  get(store: string, key: Uint8Array): MaybePromise<Uint8Array | undefined>;
  getMany(store: string, keys: readonly Uint8Array[]): MaybePromise<(Uint8Array | undefined)[]>;
  scan(store: string, scan: NormalizedScan): MaybePromise<Entry[]>;
  scanKeys(store: string, scan: NormalizedScan): MaybePromise<Uint8Array[]>;
  count(store: string, bounds: Bounds): MaybePromise<number>;
  /**
   * Ends the snapshot; called exactly once. It may be called while a read of the snapshot is still pending (a read
   * transaction that timed out, or a callback that did not await its reads): such a read must still finish or fail
   * cleanly.
   */
  release(): void;
}

/** The native side of one write transaction: where its reads go and how its buffered changes are committed. */
export interface WriteSession {
  /** Reads of the transaction (merged with its buffered writes by the caller). */
  readonly snapshot: Snapshot;
  /** Commits `changes` (which may be empty) atomically and ends the session. */
  commit(changes: ChangeSet): Promise<void>;
  /** Ends the session without writing anything. */
  abort(): void;
}

/** What a transaction needs from its engine. */
interface TxContext {
  readonly kind: string;
  readonly maxKeySize: number;
  validateRead(store: string, scope: ReadonlySet<string>): void;
  scanArgs(store: string, options: ScanOptions | undefined): NormalizedScan;
  rangeArgs(store: string, range: KeyRange | undefined): Bounds;
  valueArg(store: string, value: Uint8Array): void;
  run<T>(work: () => MaybePromise<T>, store: string): Promise<T>;
}

/** Options shared by every engine built on {@link SnapshotEngine}. */
export interface SnapshotEngineOptions {
  /**
   * A read transaction still open after this many milliseconds is ended (its later operations fail with
   * TRANSACTION_INACTIVE), so a forgotten reader cannot pin old data forever. Default 60 000; `Infinity` for none.
   */
  readTransactionTimeoutMs?: number;
}

const MAX_TIMER_MS = 2 ** 31 - 1;
/** One settled promise shared by every buffered write: a put allocates no promise of its own. */
const RESOLVED: Promise<void> = Promise.resolve();
const noop = (): void => undefined;

export { DEFAULT_MAX_KEY_SIZE, DEFAULT_MAX_VALUE_SIZE } from './limits.js';

/**
 * A frozen {@link EngineSupports}: the common size limits unless given, durability modes defaulting to both.
 */
export function defineSupports(
  supports: Omit<EngineSupports, 'maxKeySize' | 'maxValueSize' | 'durability'> &
    Partial<Pick<EngineSupports, 'maxKeySize' | 'maxValueSize' | 'durability'>>,
): EngineSupports {
  return Object.freeze({
    maxKeySize: DEFAULT_MAX_KEY_SIZE,
    maxValueSize: DEFAULT_MAX_VALUE_SIZE,
    ...supports,
    durability: Object.freeze([...(supports.durability ?? (['strict', 'relaxed'] as const))]),
  });
}

/**
 * The shared machinery of engines whose native transactions cannot span awaits (LMDB, LevelDB, IndexedDB, memory): argument
 * validation, lifecycle, snapshot read transactions, and write transactions that serialise, buffer their writes
 * (reads see them) and hand the buffered {@link ChangeSet} to the engine to apply in one native transaction.
 */
export abstract class SnapshotEngine implements StorageEngine {
  abstract readonly kind: string;
  abstract readonly supports: EngineSupports;
  readonly stores: readonly string[];
  private state: 'open' | 'closing' | 'closed' = 'open';
  private closing: Promise<void> | undefined;
  private readonly writeLock = new WriteLock();
  private readonly storeSet: ReadonlySet<string>;
  private readonly readTimeouts: ReadTimeouts;
  private contextCache: TxContext | undefined;

  protected constructor(stores: readonly string[], options: SnapshotEngineOptions = {}) {
    this.stores = Object.freeze(validateStoreNames(stores));
    this.storeSet = new Set(this.stores);
    this.readTimeouts = new ReadTimeouts(validateSnapshotEngineOptions(options).readTransactionTimeoutMs);
  }

  get status(): 'open' | 'closing' | 'closed' {
    return this.state;
  }

  /**
   * True when every buffered value must own an exact-size ArrayBuffer (IndexedDB clones a view's whole buffer);
   * otherwise values are packed into shared chunks.
   */
  protected readonly ownValueBuffers: boolean = false;

  /**
   * Starts the native side of a write transaction. The default reads from a snapshot opened at the first read
   * (writers are serialised, so it still shows exactly the last commit; a write that never reads opens none) and
   * commits through {@link applyChanges}. Engines whose reads and writes must share one native transaction override it.
   */
  protected beginWrite(stores: readonly string[], durability: Durability): WriteSession {
    const snapshot = new LazySnapshot(() => this.openWriteSnapshot(stores));
    return {
      snapshot,
      commit: async (changes) => {
        const read = snapshot.opened;
        snapshot.release();
        if (!changes.isEmpty) await this.applyChanges(changes, durability, read);
      },
      abort: () => snapshot.release(),
    };
  }

  /** Opens a snapshot of `stores` (already validated). */
  protected abstract openSnapshot(stores: readonly string[]): MaybePromise<Snapshot>;
  /**
   * Opens the snapshot a write transaction reads from (handed to {@link applyChanges} at commit): by default
   * {@link openSnapshot}; an engine that checks at commit what the snapshot saw records it here, so read-only
   * transactions do not pay for it.
   */
  protected openWriteSnapshot(stores: readonly string[]): MaybePromise<Snapshot> {
    return this.openSnapshot(stores);
  }
  /**
   * Applies `changes` atomically with the given durability. `read`: the snapshot the transaction read from, when it
   * read (released by then), for engines that check at commit that nothing outdated it.
   */
  protected abstract applyChanges(changes: ChangeSet, durability: Durability, read?: Snapshot): Promise<void>;
  /** Releases native resources; called once, after every write has settled. */
  protected abstract closeEngine(): Promise<void>;
  protected abstract engineStats(): Promise<EngineStats>;
  protected abstract flushEngine(): Promise<void>;
  /** Converts a native error into a {@link StorageError}. */
  protected abstract toStorageError(error: unknown, store?: string): StorageError;

  // ---- validation helpers for subclasses' fast paths ----

  protected assertOpen(): void {
    if (this.state !== 'open') {
      throw new StorageError('CLOSED', `The ${this.kind} engine is closed; open a new engine to keep working.`);
    }
  }

  protected assertStore(store: string, allowed: ReadonlySet<string> = this.storeSet): void {
    if (typeof store !== 'string' || !allowed.has(store)) {
      const declared = allowed === this.storeSet ? 'declared when the engine was opened' : 'named by this transaction';
      throw new StorageError(
        'STORE_NOT_FOUND',
        `Store ${showArgument(store)} is not ${declared} (${[...allowed].map((s) => JSON.stringify(s)).join(', ')}).`,
        { store: typeof store === 'string' ? store : undefined },
      );
    }
  }

  protected checkKey(store: string, key: Uint8Array): void {
    assertKey(key, this.supports.maxKeySize, store);
  }

  protected checkKeys(store: string, keys: readonly Uint8Array[]): void {
    assertKeys(keys, this.supports.maxKeySize, store);
  }

  private checkScope(stores: readonly string[]): ReadonlySet<string> {
    if (!Array.isArray(stores) || stores.length === 0) {
      throw new StorageError('INVALID_ARGUMENT', 'A transaction must name at least one store, as an array of names.');
    }
    for (const store of stores) this.assertStore(store);
    return new Set(stores);
  }

  /** Runs an engine call, converting what it throws into a StorageError. */
  protected async guard<T>(work: () => MaybePromise<T>, store?: string): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw isStorageError(error) ? error : this.toStorageError(error, store);
    }
  }

  // ---- transactions ----

  async read<T>(stores: readonly string[], fn: (tx: ReadTransaction) => Promise<T> | T): Promise<T> {
    this.assertOpen();
    checkCallback(fn, 'read');
    const scope = this.checkScope(stores);
    const snapshot = await this.guard(() => this.openSnapshot([...scope]));
    const tx = new SnapshotReadTransaction(this.context, snapshot, scope);
    this.readTimeouts.watch(tx);
    try {
      return await fn(tx);
    } finally {
      this.readTimeouts.unwatch(tx);
      tx.end('done');
    }
  }

  async write<T>(
    stores: readonly string[],
    fn: (tx: WriteTransaction) => Promise<T> | T,
    options?: WriteOptions,
  ): Promise<T> {
    this.assertOpen();
    checkCallback(fn, 'write');
    const scope = this.checkScope(stores);
    const durability = this.pickDurability(options?.durability);
    // A write accepted before close() still runs: close() waits for it.
    return this.writeLock.run(async () => {
      const session = this.beginWrite([...scope], durability);
      const changes = new ChangeSet({ ownValueBuffers: this.ownValueBuffers });
      const tx = new BufferedWriteTransaction(this.context, session.snapshot, scope, changes);
      let result: T;
      try {
        result = await fn(tx);
        if (tx.failure !== undefined) throw tx.failure;
      } catch (error) {
        tx.end();
        session.abort();
        throw error;
      }
      tx.end();
      await this.guard(() => session.commit(changes));
      return result;
    });
  }

  private pickDurability(asked: Durability | undefined): Durability {
    if (asked === undefined) return this.supports.defaultDurability;
    if (asked !== 'strict' && asked !== 'relaxed') {
      throw new StorageError('INVALID_ARGUMENT', `durability must be 'strict' or 'relaxed', got ${showArgument(asked)}.`);
    }
    return this.supports.durability.includes(asked) ? asked : 'strict';
  }

  // ---- single operations, each in its own transaction ----

  /**
   * Reads for one engine-level operation outside a transaction. No user code runs between its reads, so it needs
   * no time limit and no transaction object; engines whose single operations are consistent without a snapshot
   * (LMDB's current read transaction, one IndexedDB transaction) override this. Default: a snapshot.
   */
  protected openOperationReads(stores: readonly string[]): MaybePromise<Snapshot> {
    return this.openSnapshot(stores);
  }

  /** Runs one read operation: synchronous engines pay for one promise, not a chain of them. */
  private operation<T>(store: string, read: (reads: Snapshot) => MaybePromise<T>): Promise<T> {
    let opened: MaybePromise<Snapshot>;
    try {
      opened = this.openOperationReads([store]);
    } catch (error) {
      return Promise.reject(this.asStorageError(error, store));
    }
    // Reads that must wait for their snapshot go through a LazySnapshot, which copies their keys and bounds first:
    // the caller may reuse those buffers as soon as this returns.
    if (opened instanceof Promise) return this.readWith(new LazySnapshot(() => opened), read, store);
    return this.readWith(opened, read, store);
  }

  private readWith<T>(reads: Snapshot, read: (reads: Snapshot) => MaybePromise<T>, store: string): Promise<T> {
    let result: MaybePromise<T>;
    try {
      result = read(reads);
    } catch (error) {
      reads.release();
      return Promise.reject(this.asStorageError(error, store));
    }
    if (!(result instanceof Promise)) {
      reads.release();
      return Promise.resolve(result);
    }
    return result.then(
      (value) => {
        reads.release();
        return value;
      },
      (error: unknown) => {
        reads.release();
        return Promise.reject(this.asStorageError(error, store));
      },
    );
  }

  private asStorageError(error: unknown, store: string): StorageError {
    return isStorageError(error) ? error : this.toStorageError(error, store);
  }

  /** Rejects (never throws) with the validation error of a single operation's arguments. */
  private validated<T>(check: () => T): T | Promise<never> {
    try {
      return check();
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  get(store: string, key: Uint8Array): Promise<Uint8Array | undefined> {
    const invalid = this.validated(() => {
      this.assertOpen();
      this.assertStore(store);
      this.checkKey(store, key);
    });
    return invalid ?? this.operation(store, (reads) => reads.get(store, key));
  }

  getMany(store: string, keys: readonly Uint8Array[]): Promise<(Uint8Array | undefined)[]> {
    const invalid = this.validated(() => {
      this.assertOpen();
      this.assertStore(store);
      this.checkKeys(store, keys);
    });
    return invalid ?? this.operation(store, (reads) => reads.getMany(store, keys));
  }

  scan(store: string, options?: ScanOptions): Promise<Entry[]> {
    const scan = this.validated(() => this.operationScan(store, options));
    if (scan instanceof Promise) return scan;
    return scan === undefined ? Promise.resolve([]) : this.operation(store, (reads) => reads.scan(store, scan));
  }

  scanKeys(store: string, options?: ScanOptions): Promise<Uint8Array[]> {
    const scan = this.validated(() => this.operationScan(store, options));
    if (scan instanceof Promise) return scan;
    return scan === undefined ? Promise.resolve([]) : this.operation(store, (reads) => reads.scanKeys(store, scan));
  }

  count(store: string, range?: KeyRange): Promise<number> {
    const bounds = this.validated(() => {
      this.assertOpen();
      this.assertStore(store);
      return this.rangeArgs(store, range);
    });
    if (bounds instanceof Promise) return bounds;
    return bounds.empty ? Promise.resolve(0) : this.operation(store, (reads) => reads.count(store, bounds));
  }

  /** Validated scan options, or undefined when the scan can return nothing. */
  private operationScan(store: string, options: ScanOptions | undefined): NormalizedScan | undefined {
    this.assertOpen();
    this.assertStore(store);
    const scan = this.scanArgs(store, options);
    return scan.empty || scan.limit === 0 ? undefined : scan;
  }

  // The single writes take their bytes at the call, as the transactions' writes do: the write runs later (after the
  // writes queued before it), and the caller may reuse its buffers as soon as the call returns.

  put(store: string, key: Uint8Array, value: Uint8Array, options?: WriteOptions): Promise<void> {
    const invalid = this.validated(() => {
      this.assertOpen();
      this.assertStore(store);
      this.checkKey(store, key);
      this.valueArg(store, value);
    });
    if (invalid instanceof Promise) return invalid;
    const ownKey = copyBytes(key);
    const ownValue = copyBytes(value);
    // Our own transaction takes the copies as they are; one a subclass's write() wraps gets a plain put.
    return this.write(
      [store],
      (tx) => (tx instanceof BufferedWriteTransaction ? tx.putBytes(store, ownKey, ownValue, true) : tx.put(store, ownKey, ownValue)),
      options,
    );
  }

  delete(store: string, key: Uint8Array, options?: WriteOptions): Promise<boolean> {
    const invalid = this.validated(() => {
      this.assertOpen();
      this.assertStore(store);
      this.checkKey(store, key);
    });
    if (invalid instanceof Promise) return invalid;
    const ownKey = copyBytes(key);
    // Its existence read may be outdated by another process's commit (CONFLICT): the delete is run again, as it
    // reads nothing it could have acted on.
    return retryOnConflict(() => this.write([store], (tx) => tx.delete(store, ownKey), options));
  }

  clear(store: string, options?: WriteOptions): Promise<void> {
    return this.write([store], (tx) => tx.clear(store), options);
  }

  // ---- lifecycle ----

  async stats(): Promise<EngineStats> {
    this.assertOpen();
    return this.guard(() => this.engineStats());
  }

  /**
   * Runs in the write queue, as a barrier: after the writes queued before it, before those queued after it. close()
   * waits for the queue to be idle, so a flush started before it completes first.
   */
  async flush(): Promise<void> {
    this.assertOpen();
    return this.writeLock.run(() => this.guard(() => this.flushEngine()));
  }

  close(): Promise<void> {
    if (this.closing === undefined) {
      this.state = 'closing';
      this.closing = this.writeLock
        .idle()
        .then(() => this.guard(() => this.closeEngine()))
        .finally(() => {
          this.state = 'closed';
        });
    }
    return this.closing;
  }

  /**
   * What this engine's transactions use of it, kept off the engine's public API. Made on first use: subclasses
   * define `kind` and their frozen `supports` after the base constructor runs.
   */
  private get context(): TxContext {
    this.contextCache ??= {
      kind: this.kind,
      maxKeySize: this.supports.maxKeySize,
      validateRead: (store, scope) => this.validateRead(store, scope),
      scanArgs: (store, options) => this.scanArgs(store, options),
      rangeArgs: (store, range) => this.rangeArgs(store, range),
      valueArg: (store, value) => this.valueArg(store, value),
      run: (work, store) => this.guard(work, store),
    };
    return this.contextCache;
  }

  /** A transaction may finish while the engine closes; after close, nothing. */
  private validateRead(store: string, scope: ReadonlySet<string>): void {
    if (this.state === 'closed') this.assertOpen();
    this.assertStore(store, scope);
  }

  private scanArgs(store: string, options: ScanOptions | undefined): NormalizedScan {
    return normalizeScan(options, this.supports.maxKeySize, store);
  }

  private rangeArgs(store: string, range: KeyRange | undefined): Bounds {
    return normalizeRange(range, this.supports.maxKeySize, store);
  }

  private valueArg(store: string, value: Uint8Array): void {
    assertValue(value, this.supports.maxValueSize, store);
  }
}

/**
 * Ends read transactions that outlive the time limit, with one timer for all of them instead of a timer set and
 * cleared per transaction. Every transaction gets the same limit, so deadlines come in the order transactions start
 * (a Map keeps insertion order): the timer waits for the oldest deadline, ends what is due and waits for the next one; it
 * stops once nothing is watched when it fires.
 */
class ReadTimeouts {
  private readonly watched = new Map<SnapshotReadTransaction, number>();
  private timer: ReturnType<typeof setTimeout> | undefined;

  /** `limitMs` may be Infinity (or longer than setTimeout can wait, 2^31-1 ms): no limit. */
  constructor(private readonly limitMs: number) {}

  watch(tx: SnapshotReadTransaction): void {
    if (this.limitMs > MAX_TIMER_MS) return;
    this.watched.set(tx, performance.now() + this.limitMs);
    if (this.timer === undefined) this.arm(this.limitMs);
  }

  unwatch(tx: SnapshotReadTransaction): void {
    this.watched.delete(tx);
  }

  private arm(delayMs: number): void {
    this.timer = setTimeout(this.sweep, delayMs);
    (this.timer as { unref?: () => void }).unref?.();
  }

  private readonly sweep = (): void => {
    this.timer = undefined;
    const now = performance.now();
    for (const [tx, deadline] of this.watched) {
      if (deadline > now) return this.arm(deadline - now);
      this.watched.delete(tx);
      tx.end('timeout');
    }
  };
}

/**
 * A {@link Snapshot} opened on first use. Once open, reads go straight to it (a synchronous snapshot answers at call
 * time) and release() releases it at once, so a commit that follows the release finds the snapshot gone; a read
 * issued while it was still opening runs before a release that comes after it.
 */
export class LazySnapshot implements Snapshot {
  private opening: Promise<Snapshot> | undefined;
  private snapshot: Snapshot | undefined;
  /** Why a synchronous open failed: every later read fails with it too (none may open a later snapshot). */
  private failure: { error: unknown } | undefined;
  private released = false;
  /** Reads issued and not yet settled (see {@link settled}). */
  private readonly reading = new Set<Promise<unknown>>();

  constructor(private readonly open: () => MaybePromise<Snapshot>) {}

  /** The snapshot, once a read has opened it (undefined while none has, or while it is still opening). */
  get opened(): Snapshot | undefined {
    return this.snapshot;
  }

  /**
   * The snapshot when it is open, opening it on the first read: one the engine opens synchronously is used at once;
   * one that opens asynchronously is undefined until then (reads wait on {@link opening}). An open that failed is not
   * tried again: a retry could open a later snapshot than reads of the same transaction saw.
   */
  private now(): Snapshot | undefined {
    if (this.snapshot !== undefined || this.opening !== undefined) return this.snapshot;
    if (this.failure !== undefined) throw this.failure.error;
    let snapshot: MaybePromise<Snapshot>;
    try {
      snapshot = this.open();
    } catch (error) {
      this.failure = { error };
      throw error;
    }
    if (snapshot instanceof Promise) {
      this.opening = snapshot.then((opened) => (this.snapshot = opened));
      return undefined;
    }
    return (this.snapshot = snapshot);
  }

  /** `read`, counted until it settles. Its outcome still goes to the caller, who alone reports it. */
  private track<T>(read: MaybePromise<T>): MaybePromise<T> {
    if (!(read instanceof Promise)) return read;
    this.reading.add(read);
    const done = (): void => void this.reading.delete(read);
    read.then(done, done);
    return read;
  }

  // Until the snapshot is open, a read waits for it: its keys and bounds are copied first, since the caller may
  // reuse those buffers as soon as the call returns (e.g. several un-awaited reads through one scratch key).

  get(store: string, key: Uint8Array): MaybePromise<Uint8Array | undefined> {
    const open = this.now();
    if (open !== undefined) return this.track(open.get(store, key));
    const own = copyBytes(key);
    return this.track(this.opening!.then((snapshot) => snapshot.get(store, own)));
  }

  getMany(store: string, keys: readonly Uint8Array[]): MaybePromise<(Uint8Array | undefined)[]> {
    const open = this.now();
    if (open !== undefined) return this.track(open.getMany(store, keys));
    const own = keys.map(copyBytes);
    return this.track(this.opening!.then((snapshot) => snapshot.getMany(store, own)));
  }

  scan(store: string, scan: NormalizedScan): MaybePromise<Entry[]> {
    const open = this.now();
    if (open !== undefined) return this.track(open.scan(store, scan));
    const own = copyBounds(scan);
    return this.track(this.opening!.then((snapshot) => snapshot.scan(store, own)));
  }

  scanKeys(store: string, scan: NormalizedScan): MaybePromise<Uint8Array[]> {
    const open = this.now();
    if (open !== undefined) return this.track(open.scanKeys(store, scan));
    const own = copyBounds(scan);
    return this.track(this.opening!.then((snapshot) => snapshot.scanKeys(store, own)));
  }

  count(store: string, bounds: Bounds): MaybePromise<number> {
    const open = this.now();
    if (open !== undefined) return this.track(open.count(store, bounds));
    const own = copyBounds(bounds);
    return this.track(this.opening!.then((snapshot) => snapshot.count(store, own)));
  }

  /**
   * Resolves (never rejects) once the snapshot is open (or failed to open) and every read issued so far has settled,
   * reads of several requests (pages of a scan) included: a commit that awaits it writes after those reads, in the
   * same native transaction, and none of them finds the transaction finished.
   */
  async settled(): Promise<void> {
    await this.opening?.then(noop, noop);
    while (this.reading.size > 0) await Promise.allSettled([...this.reading]);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    if (this.snapshot !== undefined) this.snapshot.release();
    else {
      this.opening?.then(
        (snapshot) => snapshot.release(),
        () => undefined, // opening failed: the read that asked for it already reported the error
      );
    }
  }
}

/**
 * Checks the options every {@link SnapshotEngine} takes (INVALID_ARGUMENT otherwise) and returns them with defaults.
 * Engines call it before they create anything on disk, so rejected options leave nothing behind.
 */
export function validateSnapshotEngineOptions(options: SnapshotEngineOptions = {}): Required<SnapshotEngineOptions> {
  checkOptionsObject(options);
  const timeout = options.readTransactionTimeoutMs ?? 60_000;
  if (typeof timeout !== 'number' || !(timeout > 0)) {
    throw new StorageError('INVALID_ARGUMENT', `readTransactionTimeoutMs must be a positive number of milliseconds or Infinity, got ${showArgument(timeout)}.`);
  }
  return { readTransactionTimeoutMs: timeout };
}

/** Store names the engines keep for themselves start with this (refused for callers' stores on every engine). */
export const RESERVED_STORE_PREFIX = '\u0001';

/**
 * Checks the store names an engine is opened with (at least one; non-empty strings of at most 200 characters, without
 * U+0000 or lone surrogates, not starting with U+0001; no name twice) and returns a copy; INVALID_ARGUMENT otherwise. Engines call it before they create anything on disk.
 */
export function validateStoreNames(stores: readonly string[]): string[] {
  if (!Array.isArray(stores) || stores.length === 0) {
    throw new StorageError('INVALID_ARGUMENT', 'Declare at least one store when opening an engine, e.g. stores: ["nodes"].');
  }
  const seen = new Set<string>();
  for (const store of stores) {
    if (typeof store !== 'string' || store.length === 0 || store.length > 200) {
      throw new StorageError('INVALID_ARGUMENT', `Store names are non-empty strings of at most 200 characters, got ${showArgument(store)}.`);
    }
    // Databases cut names at U+0000 (LMDB) or replace lone surrogates (UTF-8): two such names would be one store.
    if (store.includes('\u0000') || !isWellFormed(store)) {
      throw new StorageError('INVALID_ARGUMENT', `Store name ${showArgument(store)} holds U+0000 or a lone UTF-16 surrogate, which some databases cannot keep apart from other names.`);
    }
    if (store.startsWith(RESERVED_STORE_PREFIX)) {
      throw new StorageError('INVALID_ARGUMENT', `Store name ${showArgument(store)} starts with U+0001: such names are the engines' own (LmdbEngine keeps its commit counter in one).`);
    }
    if (seen.has(store)) throw new StorageError('INVALID_ARGUMENT', `Store ${JSON.stringify(store)} is declared twice.`);
    seen.add(store);
  }
  return [...stores];
}

/** Throws INVALID_ARGUMENT unless `options` is an object (engines' `open` options). */
export function checkOptionsObject(options: unknown): void {
  if (typeof options !== 'object' || options === null) {
    throw new StorageError('INVALID_ARGUMENT', `Engine options must be an object such as { stores: ['nodes'] }, got ${showArgument(options)}.`);
  }
}

function checkCallback(fn: unknown, method: 'read' | 'write'): void {
  if (typeof fn !== 'function') {
    throw new StorageError('INVALID_ARGUMENT', `${method}() takes the stores and a function that uses the transaction, got ${showArgument(fn)}.`);
  }
}

function inactive(kind: string, reason: 'done' | 'timeout'): StorageError {
  return new StorageError(
    'TRANSACTION_INACTIVE',
    reason === 'timeout'
      ? `This ${kind} read transaction ran past its time limit and was ended so it stops pinning old data; ` +
          'read in shorter transactions or raise readTransactionTimeoutMs.'
      : `This ${kind} transaction has finished; use the transaction only inside its callback.`,
  );
}

class SnapshotReadTransaction implements ReadTransaction {
  private ended: 'done' | 'timeout' | undefined;

  constructor(
    protected readonly engine: TxContext,
    protected readonly snapshot: Snapshot,
    protected readonly scope: ReadonlySet<string>,
  ) {}

  end(reason: 'done' | 'timeout'): void {
    if (this.ended !== undefined) return;
    this.ended = reason;
    this.snapshot.release();
  }

  protected check(store: string): void {
    if (this.ended !== undefined) throw inactive(this.engine.kind, this.ended);
    this.engine.validateRead(store, this.scope);
  }

  async get(store: string, key: Uint8Array): Promise<Uint8Array | undefined> {
    this.check(store);
    assertKey(key, this.engine.maxKeySize, store);
    return this.engine.run(() => this.snapshot.get(store, key), store);
  }

  async getMany(store: string, keys: readonly Uint8Array[]): Promise<(Uint8Array | undefined)[]> {
    this.check(store);
    assertKeys(keys, this.engine.maxKeySize, store);
    return this.engine.run(() => this.snapshot.getMany(store, keys), store);
  }

  async scan(store: string, options?: ScanOptions): Promise<Entry[]> {
    this.check(store);
    const scan = this.engine.scanArgs(store, options);
    if (scan.empty || scan.limit === 0) return [];
    return this.engine.run(() => this.snapshot.scan(store, scan), store);
  }

  async scanKeys(store: string, options?: ScanOptions): Promise<Uint8Array[]> {
    this.check(store);
    const scan = this.engine.scanArgs(store, options);
    if (scan.empty || scan.limit === 0) return [];
    return this.engine.run(() => this.snapshot.scanKeys(store, scan), store);
  }

  async count(store: string, range?: KeyRange): Promise<number> {
    this.check(store);
    const bounds = this.engine.rangeArgs(store, range);
    if (bounds.empty) return 0;
    return this.engine.run(() => this.snapshot.count(store, bounds), store);
  }
}

/** A write transaction that buffers its writes in a {@link ChangeSet}; its reads merge the buffer over the snapshot. */
class BufferedWriteTransaction implements WriteTransaction {
  private ended = false;
  /** The first write that failed validation: the whole transaction fails with it, even if the caller caught it. */
  failure: unknown;

  constructor(
    private readonly engine: TxContext,
    private readonly snapshot: Snapshot,
    private readonly scope: ReadonlySet<string>,
    private readonly changes: ChangeSet,
  ) {}

  end(): void {
    this.ended = true;
  }

  private check(store: string): void {
    if (this.ended) throw inactive(this.engine.kind, 'done');
    this.engine.validateRead(store, this.scope);
  }

  /**
   * A rejected operation. While the callback runs, the whole transaction fails with the first such error (write()
   * rejects with it), so the operation's own promise is marked handled: an un-awaited put with a bad value is not
   * also an unhandled rejection. After the callback, nothing else reports it: the caller's promise is the only one.
   */
  private fail(error: unknown): Promise<never> {
    const rejected = Promise.reject(error as Error);
    if (!this.ended) {
      this.failure ??= error;
      rejected.catch(noop);
    }
    return rejected;
  }

  put(store: string, key: Uint8Array, value: Uint8Array): Promise<void> {
    return this.putBytes(store, key, value, false);
  }

  /**
   * put() of `key` and `value`, copied unless `owned` (bytes the caller copied for the transaction to keep: the
   * engine-level put, which takes its bytes at the call and reaches the transaction later).
   */
  putBytes(store: string, key: Uint8Array, value: Uint8Array, owned: boolean): Promise<void> {
    try {
      this.check(store);
      assertKey(key, this.engine.maxKeySize, store);
      this.engine.valueArg(store, value);
    } catch (error) {
      return this.fail(error);
    }
    this.changes.of(store).put(owned ? key : this.changes.copyKey(key), owned ? value : this.changes.copyValue(value));
    return RESOLVED;
  }

  delete(store: string, key: Uint8Array): Promise<boolean> {
    try {
      this.check(store);
      assertKey(key, this.engine.maxKeySize, store);
    } catch (error) {
      return this.fail(error);
    }
    const changes = this.changes.of(store);
    const pending = changes.lookup(key);
    const existedInChanges = pending === undefined ? undefined : pending.value !== null;
    const cleared = changes.cleared;
    // Recorded now, in call order: a put of the same key issued right after (without awaiting this) lands after it.
    const copy = this.changes.copyKey(key);
    changes.delete(copy);
    if (existedInChanges !== undefined) return Promise.resolve(existedInChanges);
    if (cleared) return Promise.resolve(false);
    // The snapshot is the state before this transaction, so reading it after recording the delete is still right.
    // It reads the copy: the caller may reuse its buffer before the snapshot read runs.
    // A failed read fails the transaction, as a refused write does: the caller saw this delete fail, so it must not
    // commit even when the callback catches the error.
    return this.engine.run(() => this.snapshot.get(store, copy), store).then(
      (value) => value !== undefined,
      (error: unknown) => this.fail(error),
    );
  }

  clear(store: string): Promise<void> {
    try {
      this.check(store);
    } catch (error) {
      return this.fail(error);
    }
    this.changes.of(store).clear();
    return RESOLVED;
  }

  async get(store: string, key: Uint8Array): Promise<Uint8Array | undefined> {
    this.check(store);
    assertKey(key, this.engine.maxKeySize, store);
    const changes = this.changes.stores.get(store);
    const pending = changes?.lookup(key);
    if (pending !== undefined) return pending.value === null ? undefined : copyBytes(pending.value);
    if (changes?.cleared === true) return undefined;
    return this.engine.run(() => this.snapshot.get(store, key), store);
  }

  async getMany(store: string, keys: readonly Uint8Array[]): Promise<(Uint8Array | undefined)[]> {
    this.check(store);
    assertKeys(keys, this.engine.maxKeySize, store);
    const changes = this.changes.stores.get(store);
    if (changes === undefined) return this.engine.run(() => this.snapshot.getMany(store, keys), store);
    // Resolved against the buffer now, in call order: writes issued after this call (not awaited) must not show.
    const pending = keys.map((key) => changes.lookup(key));
    const unbuffered = changes.cleared ? [] : keys.filter((_, i) => pending[i] === undefined);
    const base = unbuffered.length === 0 ? [] : await this.engine.run(() => this.snapshot.getMany(store, unbuffered), store);
    let next = 0;
    return pending.map((change) => {
      if (change === undefined) return base[next++];
      return change.value === null ? undefined : copyBytes(change.value);
    });
  }

  scan(store: string, options?: ScanOptions): Promise<Entry[]> {
    return this.mergedScan(
      store,
      options,
      (scan) => this.snapshot.scan(store, scan),
      (entry) => entry.key,
      (key, value) => ({ key: copyBytes(key), value: copyBytes(value) }),
    );
  }

  scanKeys(store: string, options?: ScanOptions): Promise<Uint8Array[]> {
    return this.mergedScan(
      store,
      options,
      (scan) => this.snapshot.scanKeys(store, scan),
      (key) => key,
      (key) => copyBytes(key),
    );
  }

  /**
   * A scan of the snapshot merged with the buffered changes in range. The changes are taken at call time (writes
   * issued after it do not show), and the snapshot read is of the same kind as the result: keys only for scanKeys.
   */
  private async mergedScan<T>(
    store: string,
    options: ScanOptions | undefined,
    read: (scan: NormalizedScan) => MaybePromise<T[]>,
    keyOf: (item: T) => Uint8Array,
    fromChange: (key: Uint8Array, value: Uint8Array) => T,
  ): Promise<T[]> {
    this.check(store);
    const scan = this.engine.scanArgs(store, options);
    if (scan.empty || scan.limit === 0) return [];
    const changes = this.changes.stores.get(store);
    if (changes === undefined) return this.engine.run(() => read(scan), store);
    const pending = changes.inRange(scan);
    if (changes.cleared) return merge([], keyOf, pending, fromChange, scan.reverse, scan.limit);
    // Each buffered key can hide or replace at most one snapshot entry, so this many snapshot entries suffice.
    const base = await this.engine.run(() => read({ ...scan, limit: scan.limit + pending.length }), store);
    return pending.length === 0 ? base : merge(base, keyOf, pending, fromChange, scan.reverse, scan.limit);
  }

  async count(store: string, range?: KeyRange): Promise<number> {
    this.check(store);
    const bounds = this.engine.rangeArgs(store, range);
    if (bounds.empty) return 0;
    const changes = this.changes.stores.get(store);
    if (changes === undefined) return this.engine.run(() => this.snapshot.count(store, bounds), store);
    const pending = changes.inRange(bounds);
    if (changes.cleared) return pending.filter((change) => change.value !== null).length;
    if (pending.length === 0) return this.engine.run(() => this.snapshot.count(store, bounds), store);
    // Both reads are issued at once: a callback that does not await this count may end the transaction (releasing
    // the snapshot) while the first is still running, and a read issued after that would find no snapshot.
    const [base, existing] = await this.engine.run(
      () =>
        Promise.all([
          this.snapshot.count(store, bounds),
          this.snapshot.getMany(
            store,
            pending.map((change) => change.key),
          ),
        ]),
      store,
    );
    let total = base;
    pending.forEach((change, i) => {
      const inBase = existing[i] !== undefined;
      if (change.value === null && inBase) total--;
      else if (change.value !== null && !inBase) total++;
    });
    return total;
  }
}

/**
 * Merges snapshot items (entries or keys, in scan order) with buffered changes (ascending), the changes winning, up
 * to `limit`.
 */
function merge<T>(
  base: readonly T[],
  keyOf: (item: T) => Uint8Array,
  pending: readonly Change[],
  fromChange: (key: Uint8Array, value: Uint8Array) => T,
  reverse: boolean,
  limit: number,
): T[] {
  const changes = reverse ? [...pending].reverse() : pending;
  const direction = reverse ? -1 : 1;
  const out: T[] = [];
  let i = 0;
  let j = 0;
  while (out.length < limit && (i < base.length || j < changes.length)) {
    const b = base[i];
    const c = changes[j];
    const order = i === base.length ? 1 : c === undefined ? -1 : compareBytes(keyOf(b!), c.key) * direction;
    if (order < 0) {
      out.push(b!);
      i++;
      continue;
    }
    if (order === 0) i++;
    j++;
    if (c!.value !== null) out.push(fromChange(c!.key, c!.value));
  }
  return out;
}
