import { realpathSync, statSync, type Stats } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { open, type Database, type RangeOptions, type RootDatabase, type Transaction } from 'lmdb';
import {
  SnapshotEngine,
  defineSupports,
  StorageError,
  RESERVED_STORE_PREFIX,
  showArgument,
  validateStoreNames,
  validateSnapshotEngineOptions,
  viewedBytes,
  type BorrowingReader,
  type Bounds,
  type ChangeSet,
  type Durability,
  type EngineStats,
  type EngineSupports,
  type Entry,
  type NormalizedScan,
  type Snapshot,
  type SnapshotEngineOptions,
} from '@tabstore/sdk';
import { databaseKindAt } from './database-kind.js';
import { lmdbError } from './lmdb-errors.js';
import { assertLmdbDataFile, lmdbDataFile } from './lmdb-file-check.js';

/** Options of {@link LmdbEngine.open}. */
export interface LmdbEngineOptions extends SnapshotEngineOptions {
  /**
   * Directory of the LMDB environment (created if missing). An existing regular file is opened as lmdb-js's
   * single-file layout; its `data.mdb` inside a directory is refused (open the directory).
   */
  path: string;
  /** The stores to declare: one LMDB named database each. */
  stores: readonly string[];
  /**
   * Initial map size in bytes, 1 to 2^40. The map grows by itself as the data grows; this only sets where it starts.
   */
  mapSize?: number;
  /** Most processes and threads reading at once, 1 to 65535. Default 126. */
  maxReaders?: number;
}

type BinaryDb = Database<Uint8Array, Uint8Array>;
/** lmdb-js's read buffer: `getBinaryFast` takes read options at run time although its typings omit them. */
type FastGet = (key: Uint8Array, options?: { transaction: Transaction }) => Buffer | undefined;

let readBuffer: ArrayBufferLike | undefined;
let readBufferView: Uint8Array = new Uint8Array(0);

/**
 * Bytes the caller owns, copied out of lmdb-js's reused read buffer into a plain Uint8Array. That buffer is a 16 MiB
 * Buffer carrying an own `length` property with the value's size: copy exactly `length` bytes from its offset (a
 * bare slice() would copy 16 MiB, and a Buffer result would make `slice()` a view for the caller).
 */
function own(bytes: Buffer | undefined): Uint8Array | undefined {
  if (bytes === undefined) return undefined;
  if (bytes.buffer !== readBuffer) {
    readBuffer = bytes.buffer;
    readBufferView = new Uint8Array(readBuffer);
  }
  return readBufferView.slice(bytes.byteOffset, bytes.byteOffset + bytes.length);
}

/**
 * borrow() callbacks under way. lmdb-js reads every value of every environment in the process through one buffer
 * (getBinaryFast's), so a read while a borrowed view is in use would overwrite what the view shows: such reads fail.
 */
let lending = 0;

function assertNotLending(): void {
  if (lending > 0) {
    throw new StorageError(
      'INVALID_ARGUMENT',
      'This LMDB read was made inside a borrow() callback, where it would overwrite the borrowed bytes (lmdb-js reads ' +
        'every value through one shared buffer). Copy what you need from the borrowed value (value.slice(), ' +
        'decodeRecord) and read after the callback returns.',
    );
  }
}

/**
 * Environments an LmdbEngine of this thread has open, by {@link environmentKey}. A second engine on one would not
 * queue its writes behind the first's (read-modify-write transactions of the two would lose updates), so it is refused.
 */
const openEnvironments = new Set<string>();

/**
 * The environment at `path`: the real path of its longest existing part (symbolic links followed before `..` is
 * applied, as the file system does), then the rest as written. Once the environment exists this is its real path;
 * {@link LmdbEngine.open} keys it again then, since a path through a directory it created may alias another.
 */
function environmentKey(path: string): string {
  const rest: string[] = [];
  for (let head = path; ; ) {
    try {
      return join(realpathSync.native(head), ...rest);
    } catch (error) {
      const parent = dirname(head);
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || parent === head) return resolve(path);
      rest.unshift(basename(head));
      head = parent;
    }
  }
}

/**
 * The database beside the stores that counts the environment's commits (see LmdbEngine's applyChanges): a name no
 * store takes (every engine refuses store names with the reserved prefix).
 */
const COMMITS_DB = `${RESERVED_STORE_PREFIX}tabstore:commits`;
const COMMITS_KEY = Uint8Array.of(0);

/**
 * The counter after `stamp` (its stored bytes): the count plus one, or 1 when the bytes are not a count below 2^53
 * (damaged, or at the end), so every commit changes the stored bytes.
 */
function nextCount(stamp: string): Buffer {
  const stored = Buffer.from(stamp, 'latin1');
  const count = stored.length === 8 ? stored.readDoubleLE(0) : 0;
  const next = Buffer.alloc(8);
  next.writeDoubleLE(Number.isSafeInteger(count + 1) && count >= 0 ? count + 1 : 1);
  return next;
}

/** The largest initial map size taken (lmdb-js crashes the process on some far larger ones). */
const MAX_MAP_SIZE = 2 ** 40;
const MAX_READERS = 65535;

/** INVALID_ARGUMENT for a `mapSize` or `maxReaders` lmdb-js would misread, reject late or crash on. */
function checkLmdbOptions(options: LmdbEngineOptions): void {
  const { mapSize, maxReaders } = options;
  if (mapSize !== undefined && !(Number.isSafeInteger(mapSize) && mapSize >= 1 && mapSize <= MAX_MAP_SIZE)) {
    throw new StorageError('INVALID_ARGUMENT', `mapSize must be a whole number of bytes from 1 to 2^40, got ${showArgument(mapSize)}.`);
  }
  if (maxReaders !== undefined && !(Number.isInteger(maxReaders) && maxReaders >= 1 && maxReaders <= MAX_READERS)) {
    throw new StorageError('INVALID_ARGUMENT', `maxReaders must be a whole number from 1 to ${MAX_READERS}, got ${showArgument(maxReaders)}.`);
  }
}

/**
 * Whether `path` is an existing single-file environment (a regular file). A `data.mdb` is refused: it is the data
 * file of the environment in its directory, and lmdb-js would open it beside that environment's lock file, not
 * through it, so two openers would not see each other's locks.
 */
function isSingleFile(path: string): boolean {
  let stats: Stats;
  try {
    stats = statSync(path);
  } catch {
    return false; // created as a directory
  }
  if (stats.isDirectory()) {
    // LMDB would add its files beside a LevelDB database's (a path mixed up, say in a migration).
    if (databaseKindAt(path) === 'level') {
      throw new StorageError('INVALID_ARGUMENT', `${path} holds a LevelDB database, not an LMDB environment: open it with LevelEngine.`);
    }
    return false;
  }
  if (!stats.isFile()) throw new StorageError('INVALID_ARGUMENT', `${path} is neither a directory nor a file: path must be the LMDB environment's directory.`);
  if (basename(path) === 'data.mdb') {
    throw new StorageError(
      'INVALID_ARGUMENT',
      `${path} is the data file of the LMDB environment in ${dirname(path)}: open that directory instead.`,
    );
  }
  return true;
}

/** A plain view of exactly the bytes of `bytes` (a Buffer from lmdb-js), without copying. */
function view(bytes: Buffer): Uint8Array;
function view(bytes: Buffer | undefined): Uint8Array | undefined;
function view(bytes: Buffer | undefined): Uint8Array | undefined {
  return bytes === undefined ? undefined : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}

/** The longest key lmdb-js takes, in a range bound too (a longer one fails its read). */
const LMDB_MAX_KEY_SIZE = 1978;

/**
 * Bounds lmdb-js takes for `bounds`, which may be one byte longer than any key (or any length, from a prefix): a
 * longer bound B becomes its first LMDB_MAX_KEY_SIZE bytes T, inclusive as an upper bound and exclusive as a lower
 * one. Exact, since no key is longer than T: a key is below B exactly when it is at most T, above B when above T.
 */
function lmdbBounds(bounds: Bounds): Bounds {
  const { lower, upper } = bounds;
  const longLower = lower !== undefined && lower.length > LMDB_MAX_KEY_SIZE;
  const longUpper = upper !== undefined && upper.length > LMDB_MAX_KEY_SIZE;
  if (!longLower && !longUpper) return bounds;
  return {
    lower: longLower ? lower.subarray(0, LMDB_MAX_KEY_SIZE) : lower,
    lowerExclusive: longLower ? true : bounds.lowerExclusive,
    upper: longUpper ? upper.subarray(0, LMDB_MAX_KEY_SIZE) : upper,
    upperExclusive: longUpper ? false : bounds.upperExclusive,
    empty: bounds.empty,
  };
}

/** lmdb-js range options for normalised bounds (in reverse, `start` is the upper end). */
function rangeOptions(normalized: Bounds, reverse: boolean, limit: number, transaction?: Transaction): RangeOptions {
  const bounds = lmdbBounds(normalized);
  const options: RangeOptions = reverse
    ? {
        start: bounds.upper,
        exclusiveStart: bounds.upperExclusive,
        end: bounds.lower,
        inclusiveEnd: !bounds.lowerExclusive,
        reverse: true,
      }
    : {
        start: bounds.lower,
        exclusiveStart: bounds.lowerExclusive,
        end: bounds.upper,
        inclusiveEnd: !bounds.upperExclusive,
      };
  if (limit !== Infinity) options.limit = limit;
  if (transaction !== undefined) options.transaction = transaction;
  return options;
}

function ignore(): void {}

/**
 * What a borrow() callback must not return: the view (or another view of its memory: a subarray, a record view, a
 * MetadataView), which LMDB reuses once the callback returns, or a promise, whose continuation would run after that. Both are caught here rather than read
 * wrong bytes later.
 */
function checkBorrowResult(result: unknown, value: Uint8Array | undefined): void {
  if (result instanceof Promise) {
    // The caller gets the error below; the promise's own outcome belongs to code that misused the view.
    result.catch(ignore);
    throw new StorageError(
      'INVALID_ARGUMENT',
      'borrow() takes a synchronous callback: the view is valid only until the callback returns. Read what you need before any await, or use get().',
    );
  }
  if (value !== undefined && holdsBorrowed(result, value.buffer)) {
    throw new StorageError(
      'INVALID_ARGUMENT',
      'borrow() callback returned the borrowed memory (a typed array, a record view or a MetadataView over it, its ' +
        'ArrayBuffer, or an object or array holding one), which LMDB reuses once the callback returns: return a copy ' +
        '(value.slice()) or values read from it (decodeRecord, view.toObject(), metadata.toJSON()).',
    );
  }
}

/**
 * Whether `result` is the lent `buffer` or a view over it, or a plain object or array holding one among its own
 * values (one level deep: the common `{ value }` and `[key, value]` wrappers; deeper nesting is the caller's charge).
 */
function holdsBorrowed(result: unknown, buffer: ArrayBufferLike): boolean {
  const lent = (x: unknown): boolean => x === buffer || viewedBytes(x)?.buffer === buffer;
  if (lent(result)) return true;
  if (typeof result !== 'object' || result === null || ArrayBuffer.isView(result)) return false;
  // Own data properties only: a getter would run after the loan ended.
  for (const key of Object.keys(result)) {
    const property = Object.getOwnPropertyDescriptor(result, key);
    if (property !== undefined && 'value' in property && lent(property.value)) return true;
  }
  return false;
}

/**
 * The error of a failed LMDB commit. lmdb-js rejects the commit with a bare "Commit failed (see commitError for
 * details)" whose `commitError` is a promise rejected with the reason (e.g. EIO for a short write on a full disk);
 * nothing else handles that promise, so it is read here, which also keeps it from crashing Node as unhandled.
 */
async function commitFailure(error: unknown): Promise<StorageError> {
  const detail = (error as { commitError?: unknown } | null)?.commitError;
  if (!(detail instanceof Promise)) return lmdbError(error, 'commit an LMDB write transaction');
  const reason: unknown = await detail.then(
    () => error,
    (cause: unknown) => cause,
  );
  return lmdbError(reason, 'commit an LMDB write transaction');
}

/** Whether the engine has started closing its environment: shared by the engine and every {@link LmdbReads}. */
interface EnvState {
  closed: boolean;
}

function environmentClosed(): StorageError {
  return new StorageError(
    'CLOSED',
    'The LMDB environment was closed while this read transaction was open; open a new engine to keep working.',
  );
}

/**
 * Reads over lmdb-js, in an explicit read transaction or in lmdb-js's current one (renewed every event turn). A read
 * transaction may outlive the environment (close() does not wait for readers): once the engine closes, its reads fail
 * with CLOSED before reaching lmdb-js, whose transactions the closing environment has ended.
 */
class LmdbReads implements Snapshot {
  private readonly options: { transaction: Transaction } | undefined;

  constructor(
    private readonly dbs: ReadonlyMap<string, BinaryDb>,
    private readonly env: EnvState,
    private readonly transaction?: Transaction,
    /** The environment's commit counter as this snapshot sees it (see LmdbEngine.applyChanges). */
    readonly stamp?: string,
  ) {
    this.options = transaction === undefined ? undefined : { transaction };
  }

  get(store: string, key: Uint8Array): Uint8Array | undefined {
    if (this.env.closed) throw environmentClosed();
    assertNotLending();
    const db = this.dbs.get(store)!;
    return own((db.getBinaryFast as FastGet).call(db, key, this.options));
  }

  getMany(store: string, keys: readonly Uint8Array[]): (Uint8Array | undefined)[] {
    if (this.env.closed) throw environmentClosed();
    assertNotLending();
    const db = this.dbs.get(store)!;
    const get = db.getBinaryFast as FastGet;
    return keys.map((key) => own(get.call(db, key, this.options)));
  }

  scan(store: string, scan: NormalizedScan): Entry[] {
    if (this.env.closed) throw environmentClosed();
    assertNotLending();
    const out: Entry[] = [];
    // lmdb-js returns a fresh Buffer for every range key and value: re-view them as plain Uint8Arrays, no copy.
    const range = (this.dbs.get(store) as unknown as Database<Buffer, Buffer>).getRange(
      rangeOptions(scan, scan.reverse, scan.limit, this.transaction),
    );
    for (const { key, value } of range) out.push({ key: view(key), value: view(value) });
    return out;
  }

  scanKeys(store: string, scan: NormalizedScan): Uint8Array[] {
    if (this.env.closed) throw environmentClosed();
    const keys = (this.dbs.get(store) as unknown as Database<Buffer, Buffer>).getKeys(
      rangeOptions(scan, scan.reverse, scan.limit, this.transaction),
    );
    const out: Uint8Array[] = [];
    for (const key of keys) out.push(view(key));
    return out;
  }

  count(store: string, bounds: Bounds): number {
    if (this.env.closed) throw environmentClosed();
    return this.dbs.get(store)!.getCount(rangeOptions(bounds, false, Infinity, this.transaction));
  }

  release(): void {
    try {
      this.transaction?.done();
    } catch (error) {
      // Closing the environment ended its transactions: lmdb-js then refuses to end this one again.
      if (!this.env.closed) throw lmdbError(error, 'end an LMDB read transaction');
    }
  }
}

/**
 * The engine for Node and the Electron main process: one LMDB environment, one named database per store, binary
 * keys and values. Reads are synchronous memory-mapped lookups; a read transaction is an LMDB read snapshot (MVCC:
 * readers never block the writer, in this or other processes). Writes are buffered by {@link SnapshotEngine} and
 * committed in one LMDB write transaction; commits are durable (fsync) unless a write asks for `relaxed`.
 */
export class LmdbEngine extends SnapshotEngine implements BorrowingReader {
  readonly kind = 'lmdb';
  readonly supports: EngineSupports = defineSupports({
    snapshots: true,
    foreignAwaits: true,
    zeroCopyReads: true,
    defaultDurability: 'strict',
    multiProcess: true,
    persistent: true,
  });
  /** Directory of the environment. */
  readonly path: string;
  private readonly root: RootDatabase;
  private readonly dbs: Map<string, BinaryDb>;
  /** The environment's commit counter (see {@link applyChanges}). */
  private readonly commits: BinaryDb;
  private readonly reads: LmdbReads;
  private readonly env: EnvState = { closed: false };
  /** The environment's data file (the environment exists once open, as a directory or a single file). */
  private readonly dataFile: string;

  private constructor(
    options: LmdbEngineOptions,
    root: RootDatabase,
    dbs: Map<string, BinaryDb>,
    commits: BinaryDb,
    private readonly environment: string,
  ) {
    super(options.stores, options);
    this.path = options.path;
    this.root = root;
    this.dbs = dbs;
    this.commits = commits;
    this.reads = new LmdbReads(dbs, this.env);
    this.dataFile = lmdbDataFile(options.path);
  }

  /** Opens (creating if needed) the environment at `options.path`. Fails with LOCKED, CORRUPTED or IO. */
  static async open(options: LmdbEngineOptions): Promise<LmdbEngine> {
    if (typeof options !== 'object' || options === null) {
      throw new StorageError('INVALID_ARGUMENT', 'LmdbEngine.open takes { path, stores }.');
    }
    // lmdb-js opens a temporary environment, deleted on close, when it gets no path: never what a caller wants.
    if (typeof options.path !== 'string' || options.path.length === 0) {
      throw new StorageError('INVALID_ARGUMENT', 'path must be the path of the LMDB environment (a directory).');
    }
    // Before lmdb-js creates the environment's files: bad names must leave nothing behind. The checked copy is what
    // every later step uses, so the databases opened are exactly the names checked.
    const stores = validateStoreNames(options.stores);
    validateSnapshotEngineOptions(options);
    checkLmdbOptions(options);
    const noSubdir = isSingleFile(options.path);
    let environment = environmentKey(options.path);
    if (openEnvironments.has(environment)) {
      throw new StorageError(
        'LOCKED',
        `Another LmdbEngine of this process has the LMDB environment at ${options.path} open. Share that engine (two ` +
          "engines on one environment would not queue their writes behind each other's), or close it first.",
      );
    }
    openEnvironments.add(environment);
    let root: RootDatabase | undefined;
    try {
      assertLmdbDataFile(options.path);
      root = open({
        path: options.path,
        // Explicit: lmdb-js would take any path with an extension (`store.v2`) for a single file.
        noSubdir,
        maxDbs: Math.max(32, stores.length * 2),
        maxReaders: options.maxReaders ?? 126,
        separateFlushed: true,
        // Every write here is an explicit batch or transaction. lmdb-js's default implicit batch per event turn
        // adds nothing, and when its commit fails it rejects a promise of its own that nothing can handle.
        eventTurnBatching: false,
        ...(options.mapSize === undefined ? {} : { mapSize: options.mapSize }),
      });
      // lmdb-js clears reader slots of dead processes when it opens; do it again explicitly, it is cheap.
      root.readerCheck();
      // The environment exists now: its real path is exact even where the path went through directories created
      // just now (a later open through another alias of them must find it). Nothing awaited since the check.
      const real = environmentKey(options.path);
      if (real !== environment) {
        openEnvironments.delete(environment);
        environment = real;
        openEnvironments.add(environment);
      }
      const dbs = new Map<string, BinaryDb>();
      const binary = (name: string): BinaryDb =>
        root!.openDB<Uint8Array, Uint8Array>({ name, encoding: 'binary', keyEncoding: 'binary', cache: false });
      for (const store of stores) dbs.set(store, binary(store));
      return new LmdbEngine({ ...options, stores }, root, dbs, binary(COMMITS_DB), environment);
    } catch (error) {
      openEnvironments.delete(environment);
      await root?.close().catch(() => undefined);
      throw error instanceof StorageError ? error : lmdbError(error, `open the LMDB environment at ${options.path}`);
    }
  }

  /** One operation outside a transaction reads in lmdb-js's current read transaction (renewed every event turn). */
  protected override openOperationReads(): Snapshot {
    return this.reads;
  }

  /**
   * Calls `use` with a view of the value inside LMDB's read buffer: no copy. The view is valid only until `use`
   * returns; value reads (get, getMany, scan, borrow) of any LmdbEngine inside `use` fail with INVALID_ARGUMENT, since
   * they would overwrite it (key scans and counts read no values and are allowed).
   */
  borrow<R>(store: string, key: Uint8Array, use: (value: Uint8Array | undefined) => R): R {
    this.check(store, key);
    assertNotLending();
    let value: Uint8Array | undefined;
    try {
      value = view(this.dbs.get(store)!.getBinaryFast(key));
    } catch (error) {
      throw this.toStorageError(error, store);
    }
    let result: R;
    lending++;
    try {
      result = use(value);
    } finally {
      lending--;
    }
    checkBorrowResult(result, value);
    return result;
  }

  /** Clears reader slots left by processes that died; returns how many were cleared. */
  clearStaleReaders(): number {
    this.assertOpen();
    return this.root.readerCheck();
  }

  /** The LMDB reader table (one line per reader: pid, thread, transaction id), for diagnostics. */
  readerList(): string {
    this.assertOpen();
    return this.root.readerList();
  }

  private check(store: string, key: Uint8Array): void {
    this.assertOpen();
    this.assertStore(store);
    this.checkKey(store, key);
  }

  // ---- SnapshotEngine ----

  protected openSnapshot(): Snapshot {
    return new LmdbReads(this.dbs, this.env, this.root.useReadTransaction());
  }

  /** A snapshot with the commit counter it sees, which {@link applyChanges} compares at commit. */
  protected override openWriteSnapshot(): Snapshot {
    const transaction = this.root.useReadTransaction();
    try {
      return new LmdbReads(this.dbs, this.env, transaction, this.commitStamp(transaction));
    } catch (error) {
      transaction.done();
      throw error;
    }
  }

  /**
   * The environment's commit counter as stored (its bytes, '' before the first counted commit), in `transaction` or
   * (inside a write transaction's callback) in that one. Compared as bytes, so even a damaged counter tells commits
   * apart (see {@link nextCount}).
   */
  private commitStamp(transaction?: Transaction): string {
    assertNotLending(); // it reads through lmdb-js's shared buffer, which a borrowed view shows
    const db = this.commits;
    const bytes = (db.getBinaryFast as FastGet).call(db, COMMITS_KEY, transaction === undefined ? undefined : { transaction });
    return bytes === undefined ? '' : bytes.toString('latin1');
  }

  /**
   * Commits `changes` in one LMDB write transaction, counted in the environment's commit counter. Writers of this
   * engine are serialised, but a writer in another process is not held off: a transaction that read (`read`, its
   * snapshot) compares the counter its snapshot saw with the one inside the write transaction, and another
   * process's commit in between fails it with CONFLICT before it writes anything (what it read may be stale: a
   * read-modify-write would lose that process's update).
   */
  protected async applyChanges(changes: ChangeSet, durability: Durability, read?: Snapshot): Promise<void> {
    const readAt = read instanceof LmdbReads ? read.stamp : undefined;
    let conflict: StorageError | undefined;
    const apply = (): void => {
      const stamp = this.commitStamp();
      if (readAt !== undefined && stamp !== readAt) {
        conflict = new StorageError(
          'CONFLICT',
          'Another process committed to this LMDB environment after this write transaction read from it, so what it ' +
            'read may be out of date. Nothing was written: run the transaction again.',
        );
        throw conflict;
      }
      for (const [store, storeChanges] of changes.stores) {
        const db = this.dbs.get(store)!;
        if (storeChanges.cleared) db.clearSync();
        const { keys, values } = storeChanges;
        for (let i = 0; i < keys.length; i++) {
          const value = values[i]!;
          void (value === null ? db.remove(keys[i]!) : db.put(keys[i]!, value));
        }
      }
      void this.commits.put(COMMITS_KEY, nextCount(stamp));
    };
    try {
      // A transaction callback, not batch(): the count must be read inside the write transaction. A child transaction:
      // lmdb-js commits what a plain callback wrote before it threw, where a child one is rolled back.
      await this.root.childTransaction(apply);
    } catch (error) {
      if (conflict !== undefined && error === conflict) throw conflict;
      throw await this.afterFailedCommit(await commitFailure(error));
    }
    if (durability === 'strict') await this.root.flushed;
  }

  /**
   * lmdb-js never settles the flush promise of a failed commit, and `flushed` and `close()` wait on the latest one:
   * without this, flush() and close() would hang forever after, e.g., a full disk. An empty transaction (which LMDB
   * commits without writing a page, so it succeeds on a full disk too) gives them a settled one to wait on.
   * Returns the error to report: `failure`, or, when that transaction fails too, one that keeps both causes.
   */
  private async afterFailedCommit(failure: StorageError): Promise<StorageError> {
    try {
      await this.root.transaction(() => undefined);
      return failure;
    } catch (error) {
      // lmdb-js's flush promise is unsettled again, so flush() and close() of this engine may never finish.
      const second = lmdbError(error, 'recover from it');
      return new StorageError(
        // The graver of the two: damage reported by the second failure outranks the first one's code.
        second.code === 'CORRUPTED' ? second.code : failure.code,
        `${failure.message} ${second.message} Stop using this engine: flush() and close() may not finish, so restart ` +
          'the process to open the environment again.',
        { cause: new AggregateError([failure.cause, error], 'the commit failed, then the empty transaction meant to recover from it'), store: failure.store },
      );
    }
  }

  protected async engineStats(): Promise<EngineStats> {
    // fromEntries: a store may be named __proto__, which an assignment would not add as a property.
    const entries = Object.fromEntries([...this.dbs].map(([store, db]) => [store, db.getCount()]));
    // The data file exists while the environment is open: a failure to stat it is an I/O error, not an unknown size.
    return { entries, bytesOnDisk: statSync(this.dataFile).size };
  }

  protected async flushEngine(): Promise<void> {
    await this.root.flushed;
  }

  protected async closeEngine(): Promise<void> {
    this.env.closed = true;
    try {
      await this.root.close();
    } finally {
      openEnvironments.delete(this.environment);
    }
  }

  protected toStorageError(error: unknown, store?: string): StorageError {
    return lmdbError(error, 'complete an LMDB operation', store);
  }
}
