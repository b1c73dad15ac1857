/**
 * The engine contract: ordered byte keys -> byte values in named stores, snapshot reads and atomic write
 * transactions. Every tabstore engine (MemoryEngine, LmdbEngine, IndexedDbEngine, LevelEngine) implements it and
 * passes the same conformance suite (`@tabstore/sdk/testing`).
 *
 * Byte ownership:
 * - Bytes an engine returns (`get`, `getMany`, `scan`, `scanKeys`) belong to the caller: they stay valid and
 *   unchanged for as long as the caller holds them, and changing them does not change the store.
 * - Bytes passed to `put` and `delete` (of the engine or of a transaction), and the keys and bounds of reads, are
 *   copied when the method is called: the caller may reuse its buffers at once, before the promise settles.
 * - Where `supports.zeroCopyReads` is true the engine also offers {@link BorrowingReader.borrow}: a view over the
 *   engine's own memory, valid only inside the callback.
 */

/** A stored key and its value. */
export interface Entry {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

/** Bounds of an ordered scan. Keys compare bytewise (lexicographically, shorter prefix first). */
export interface KeyRange {
  /** Keys strictly greater than this. */
  gt?: Uint8Array;
  /** Keys greater than or equal to this. */
  gte?: Uint8Array;
  /** Keys strictly less than this. */
  lt?: Uint8Array;
  /** Keys less than or equal to this. */
  lte?: Uint8Array;
  /** Only keys that start with these bytes (combines with the other bounds). */
  prefix?: Uint8Array;
}

/** A {@link KeyRange} plus direction and a maximum count. */
export interface ScanOptions extends KeyRange {
  /** Descending key order. */
  reverse?: boolean;
  /** At most this many entries (a non-negative integer). */
  limit?: number;
}

/**
 * `strict`: the commit is on disk when the write resolves. `relaxed`: it is visible to readers and survives a crash
 * of the process, but may be lost if the machine loses power before the next `flush()`.
 */
export type Durability = 'strict' | 'relaxed';

/** Options of a write transaction. */
export interface WriteOptions {
  /** Defaults to `supports.defaultDurability`. Engines that cannot honour a mode use the stricter one. */
  durability?: Durability;
}

/** What an engine can do. A frozen object, read by callers and by the conformance suite to switch tests on. */
export interface EngineSupports {
  /** A read transaction sees one consistent snapshot of every store, however long it lives. */
  readonly snapshots: boolean;
  /**
   * A transaction callback may await promises other than the transaction's own operations. False for IndexedDB,
   * which commits a transaction as soon as its callback waits on anything else.
   */
  readonly foreignAwaits: boolean;
  /** The engine offers `borrow()`: zero-copy views valid inside a callback. */
  readonly zeroCopyReads: boolean;
  /** Durability modes honoured as asked; others fall back to the stricter mode. */
  readonly durability: readonly Durability[];
  /** The durability a write gets when it does not ask. */
  readonly defaultDurability: Durability;
  /** Several processes may open the same database at once. */
  readonly multiProcess: boolean;
  /** Data survives `close()` and a new engine on the same location sees it. */
  readonly persistent: boolean;
  /** Longest accepted key, in bytes. */
  readonly maxKeySize: number;
  /** Longest accepted value, in bytes. */
  readonly maxValueSize: number;
}

/** Figures returned by {@link StorageEngine.stats}. */
export interface EngineStats {
  /** Entries per store. */
  readonly entries: Readonly<Record<string, number>>;
  /** Size of the database on disk, when the engine has one. */
  readonly bytesOnDisk: number | undefined;
}

/**
 * Reads, as offered by an engine and by its transactions. Keys and scan bounds are taken when the call is made: the
 * caller may reuse their buffers at once, even before the returned promise settles.
 */
export interface Reader {
  /** The value of `key`, or `undefined` when it is absent. */
  get(store: string, key: Uint8Array): Promise<Uint8Array | undefined>;
  /** The values of `keys`, in the same order, `undefined` where absent. */
  getMany(store: string, keys: readonly Uint8Array[]): Promise<(Uint8Array | undefined)[]>;
  /** Entries in key order (descending when `reverse`). */
  scan(store: string, options?: ScanOptions): Promise<Entry[]>;
  /** Keys only, in key order: cheaper than `scan` where the engine can skip values. */
  scanKeys(store: string, options?: ScanOptions): Promise<Uint8Array[]>;
  /** Number of entries in the range (the whole store without one). */
  count(store: string, range?: KeyRange): Promise<number>;
}

/** Zero-copy reads, offered where `supports.zeroCopyReads`. */
export interface BorrowingReader {
  /**
   * Calls `use` with a view of the stored value (or `undefined`), synchronously, and returns what it returns. The
   * view is only valid inside `use`: copy what must outlive it.
   */
  borrow<R>(store: string, key: Uint8Array, use: (value: Uint8Array | undefined) => R): R;
}

/** Writes inside a write transaction. */
export interface Writer {
  /** Inserts or replaces. */
  put(store: string, key: Uint8Array, value: Uint8Array): Promise<void>;
  /** Removes the key; resolves to whether it existed. */
  delete(store: string, key: Uint8Array): Promise<boolean>;
  /** Removes every entry of the store. */
  clear(store: string): Promise<void>;
}

/** A read transaction: one snapshot of the stores it names (see `supports.snapshots`). */
export type ReadTransaction = Reader;

/** A write transaction: atomic, and its reads see its own writes. */
export interface WriteTransaction extends Reader, Writer {}

/**
 * An ordered key-value engine with named stores. Single operations on the engine run in their own transaction.
 *
 * Beyond the signatures, every engine (and the conformance suite, `@tabstore/sdk/testing`) holds to this: keys and
 * values handed in are taken at the call and those handed out belong to the caller; a zero-length value is present;
 * a refused write (a bad key or value) fails its whole transaction, even when the callback caught it; `close()` ends
 * a read transaction under way (its later reads fail with CLOSED); data survives `close()` and a reopen of the same
 * location, which may name more stores; keys of at least 511 bytes and values of at least 4 MiB are accepted.
 */
export interface StorageEngine extends Reader {
  /** The engine's kind, e.g. `"lmdb"`. */
  readonly kind: string;
  /** What this engine can do. */
  readonly supports: EngineSupports;
  /** The stores declared when the engine was opened. */
  readonly stores: readonly string[];
  /** `open` until `close()` is called. */
  readonly status: 'open' | 'closing' | 'closed';

  /**
   * Runs `fn` in a read transaction over `stores` and resolves to its result. The transaction ends when `fn`
   * settles; using it afterwards fails with TRANSACTION_INACTIVE.
   */
  read<T>(stores: readonly string[], fn: (tx: ReadTransaction) => Promise<T> | T): Promise<T>;
  /**
   * Runs `fn` in an atomic write transaction over `stores`. If `fn` throws or rejects, nothing is written and the
   * error is rethrown as it is. Portable callbacks await only the transaction's own operations (IndexedDB commits
   * as soon as the callback awaits anything else). Write transactions on one engine never interleave, so inside
   * `fn` write through `tx` only: the engine's own `write`, `put`, `delete`, `clear`, `flush` and `close` wait for
   * `fn` to finish, and awaiting one of them there never settles. Where `supports.multiProcess` is true, writers in
   * other processes may commit meanwhile: a transaction that read and was outdated by one fails with CONFLICT before
   * it writes anything (LMDB; IndexedDB queues writers across tabs instead), so run it again. The engine's own
   * `delete` does that by itself.
   */
  write<T>(
    stores: readonly string[],
    fn: (tx: WriteTransaction) => Promise<T> | T,
    options?: WriteOptions,
  ): Promise<T>;

  /** `write([store], tx => tx.put(...))`. */
  put(store: string, key: Uint8Array, value: Uint8Array, options?: WriteOptions): Promise<void>;
  /** `write([store], tx => tx.delete(...))`. */
  delete(store: string, key: Uint8Array, options?: WriteOptions): Promise<boolean>;
  /** `write([store], tx => tx.clear(...))`. */
  clear(store: string, options?: WriteOptions): Promise<void>;

  /** Entries per store and bytes on disk. */
  stats(): Promise<EngineStats>;
  /** A durability barrier: resolves once every write that resolved before the call is on disk. */
  flush(): Promise<void>;
  /** Waits for running writes, then releases the database. Idempotent. */
  close(): Promise<void>;
}
