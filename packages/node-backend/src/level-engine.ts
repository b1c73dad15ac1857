import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { databaseKindAt } from './database-kind.js';
import {
  ClassicLevel,
  type BatchOperation,
  type IteratorOptions,
  type Snapshot as LevelSnapshot,
} from 'classic-level';
import {
  SnapshotEngine,
  defineSupports,
  StorageError,
  validateStoreNames,
  validateSnapshotEngineOptions,
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

/** Options of {@link LevelEngine.open}. */
export interface LevelEngineOptions extends SnapshotEngineOptions {
  /** Directory of the LevelDB database; created when missing. */
  location: string;
  /**
   * The stores to declare. Each is a sublevel made with default options (`!name!` key prefix), so a legacy
   * database's `nodes`, `edges` and `embeddings` sublevels open as they are. Names use ASCII `#`..`~` only.
   */
  stores: readonly string[];
}

type LevelDb = ClassicLevel<Uint8Array, Uint8Array>;
type Sublevel = ReturnType<typeof openSublevel>;

/** Sublevel with binary keys and values and the default `!` separator: the legacy layout. */
function openSublevel(db: LevelDb, name: string) {
  return db.sublevel<Uint8Array, Uint8Array>(name, { keyEncoding: 'view', valueEncoding: 'view' });
}

/**
 * A key outside every sublevel (sublevel keys start with `!`). `flush()` writes a synchronous delete of it: a
 * tombstone for a key that never exists, so no reader ever sees it, and compaction drops it.
 */
const FLUSH_MARK = Uint8Array.from([0xff, ...new TextEncoder().encode('tabstore:flush')]);
/** A key past FLUSH_MARK: compacting the empty range [key, key] flushes the memtable and touches no data. */
const FLUSH_COMPACT_KEY = Uint8Array.from([...FLUSH_MARK, 0xff]);
/** Sublevel names must be ASCII above `"` (the byte after the separator) and below DEL. */
const SUBLEVEL_NAME = /^[\x23-\x7e]+$/;
/** classic-level reads `limit` as an int32; larger limits are left to the JavaScript side of the iterator. */
const NATIVE_LIMIT_MAX = 0x7fffffff;
type LevelIteratorOptions = IteratorOptions<Uint8Array, Uint8Array>;
/**
 * Let an iterator buffer up to 1 MiB per native round trip (default 16 KiB). A classic-level option the sublevel
 * forwards to the root database's iterator, though the sublevel's types do not declare it.
 */
const WIDE_READS: LevelIteratorOptions = { highWaterMarkBytes: 1024 * 1024 };

/**
 * The legacy store's engine: a LevelDB directory opened with `classic-level`, one sublevel per store. Reads use
 * explicit LevelDB snapshots; a write transaction is committed as one atomic `batch` over all its stores.
 * LevelDB takes an exclusive lock on the directory: a second process (or engine) gets `LOCKED`.
 */
export class LevelEngine extends SnapshotEngine {
  readonly kind = 'level';
  readonly supports: EngineSupports = defineSupports({
    snapshots: true,
    foreignAwaits: true,
    zeroCopyReads: false,
    defaultDurability: 'relaxed',
    multiProcess: false,
    persistent: true,
  });
  /** The directory the database lives in. */
  readonly location: string;
  private readonly db: LevelDb;
  private readonly sublevels: ReadonlyMap<string, Sublevel>;

  private constructor(db: LevelDb, options: LevelEngineOptions) {
    super(options.stores, options);
    this.db = db;
    this.location = options.location;
    this.sublevels = new Map(this.stores.map((store) => [store, openSublevel(db, store)]));
  }

  /**
   * Opens (or creates) the database at `options.location`. Fails with `LOCKED` when another process has it open,
   * `CORRUPTED` when it is damaged, `INVALID_ARGUMENT` for a bad location or store name.
   */
  static async open(options: LevelEngineOptions): Promise<LevelEngine> {
    if (typeof options !== 'object' || options === null) {
      throw new StorageError('INVALID_ARGUMENT', 'LevelEngine.open takes { location, stores }.');
    }
    const { location, stores } = options;
    if (typeof location !== 'string' || location.length === 0) {
      throw new StorageError('INVALID_ARGUMENT', 'location must be the path of the LevelDB directory.');
    }
    // LevelDB would add its files beside an LMDB environment's (a path mixed up, say in a migration).
    if (databaseKindAt(location) === 'lmdb') {
      throw new StorageError('INVALID_ARGUMENT', `${location} holds an LMDB environment, not a LevelDB database: open it with LmdbEngine.`);
    }
    // Before classic-level creates the directory: bad names must leave nothing behind.
    const checked = validateStoreNames(stores);
    validateSnapshotEngineOptions(options);
    for (const store of checked) {
      if (!SUBLEVEL_NAME.test(store)) {
        throw new StorageError(
          'INVALID_ARGUMENT',
          `Store ${JSON.stringify(store)} cannot be a LevelDB sublevel name: use ASCII letters, digits and ` +
            'punctuation from "#" to "~" (no spaces, "!" or quotes).',
          { store },
        );
      }
    }
    let db: LevelDb;
    try {
      db = new ClassicLevel<Uint8Array, Uint8Array>(location, { keyEncoding: 'view', valueEncoding: 'view' });
      await db.open();
    } catch (error) {
      throw levelError(error, location);
    }
    try {
      const engine = new LevelEngine(db, { ...options, stores: checked });
      await Promise.all([...engine.sublevels.values()].map((sublevel) => sublevel.open()));
      return engine;
    } catch (error) {
      await db.close().catch(() => undefined);
      throw error instanceof StorageError ? error : levelError(error, location);
    }
  }

  /** One LevelDB snapshot covers the whole database: the stores (validated by the caller) need no map of their own. */
  protected openSnapshot(): Snapshot {
    return new LevelReadSnapshot(this.db.snapshot(), this.sublevels);
  }

  protected async applyChanges(changes: ChangeSet, durability: Durability): Promise<void> {
    const operations: BatchOperation<LevelDb, Uint8Array, Uint8Array>[] = [];
    for (const [store, storeChanges] of changes.stores) {
      const sublevel = this.sublevels.get(store)!;
      if (storeChanges.cleared) {
        // LevelDB has no range delete and db.clear() is not atomic: delete every current key in the same batch.
        // Writes are serialised and the lock is exclusive, so these are exactly the keys the transaction saw.
        // A batch applies in order, so the transaction's later puts of the same keys still win.
        const keys = await sublevel.keys(WIDE_READS).all();
        for (const key of keys) operations.push({ type: 'del', sublevel, key });
      }
      const { keys, values } = storeChanges;
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i]!;
        const value = values[i]!;
        operations.push(value === null ? { type: 'del', sublevel, key } : { type: 'put', sublevel, key, value });
      }
    }
    if (operations.length > 0) await this.db.batch(operations, { sync: durability === 'strict' });
  }

  /**
   * A synchronous write (a delete of a key no store uses) fsyncs LevelDB's write-ahead log, which makes every
   * earlier write in that log durable. A relaxed write may also sit in an older log that LevelDB rotated out
   * without syncing and has not yet turned into a (synced) table file; while such a log remains, a
   * `compactRange` over an empty key range forces the memtable into synced table files and waits for it.
   */
  protected async flushEngine(): Promise<void> {
    await this.db.del(FLUSH_MARK, { sync: true });
    if ((await this.logFileCount()) > 1) await this.db.compactRange(FLUSH_COMPACT_KEY, FLUSH_COMPACT_KEY, { keyEncoding: 'view' });
  }

  private async logFileCount(): Promise<number> {
    const names = await readdir(this.location);
    return names.filter((name) => name.endsWith('.log')).length;
  }

  protected async engineStats(): Promise<EngineStats> {
    const snapshot = this.openSnapshot();
    const counts: [string, number][] = [];
    try {
      for (const store of this.stores) counts.push([store, await snapshot.count(store, ALL)]);
    } finally {
      snapshot.release();
    }
    // fromEntries: a store may be named __proto__, which an assignment would not add as a property.
    return { entries: Object.fromEntries(counts), bytesOnDisk: await directorySize(this.location) };
  }

  protected async closeEngine(): Promise<void> {
    await this.db.close();
  }

  protected toStorageError(error: unknown, store?: string): StorageError {
    return levelError(error, this.location, store);
  }
}

const ALL: Bounds = { lower: undefined, lowerExclusive: false, upper: undefined, upperExclusive: false, empty: false };

/** A classic-level range: our bounds as gt/gte/lt/lte (the sublevel adds its prefix). */
function rangeOf(bounds: Bounds): { gt?: Uint8Array; gte?: Uint8Array; lt?: Uint8Array; lte?: Uint8Array } {
  const range: { gt?: Uint8Array; gte?: Uint8Array; lt?: Uint8Array; lte?: Uint8Array } = {};
  if (bounds.lower !== undefined) range[bounds.lowerExclusive ? 'gt' : 'gte'] = bounds.lower;
  if (bounds.upper !== undefined) range[bounds.upperExclusive ? 'lt' : 'lte'] = bounds.upper;
  return range;
}

/**
 * classic-level returns a fresh Buffer per key and value (its own memory, copied out of LevelDB): expose it as a
 * plain Uint8Array over the same memory, without a second copy. Keys are views past the sublevel prefix.
 */
function own(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * One explicit LevelDB snapshot; every read passes it. A read can take several calls (a count walks batches), and
 * LevelDB refuses every call once the snapshot is closed: release() closes it only after the reads under way.
 */
class LevelReadSnapshot implements Snapshot {
  private reading = 0;
  private released = false;

  constructor(
    private readonly snapshot: LevelSnapshot,
    private readonly sublevels: ReadonlyMap<string, Sublevel>,
  ) {}

  /** Runs one read, counted as under way until it settles. */
  private async reads<T>(read: () => Promise<T>): Promise<T> {
    this.reading++;
    try {
      return await read();
    } finally {
      if (--this.reading === 0 && this.released) this.close();
    }
  }

  get(store: string, key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.reads(async () => {
      const value = await this.sublevels.get(store)!.get(key, { snapshot: this.snapshot });
      return value === undefined ? undefined : own(value);
    });
  }

  getMany(store: string, keys: readonly Uint8Array[]): Promise<(Uint8Array | undefined)[]> {
    if (keys.length === 0) return Promise.resolve([]);
    return this.reads(async () => {
      const values = await this.sublevels.get(store)!.getMany(keys as Uint8Array[], { snapshot: this.snapshot });
      return values.map((value) => (value === undefined ? undefined : own(value)));
    });
  }

  private iteratorOptions(scan: NormalizedScan): LevelIteratorOptions {
    return {
      ...rangeOf(scan),
      reverse: scan.reverse,
      ...(scan.limit <= NATIVE_LIMIT_MAX ? { limit: scan.limit } : {}),
      snapshot: this.snapshot,
      ...WIDE_READS,
    };
  }

  scan(store: string, scan: NormalizedScan): Promise<Entry[]> {
    return this.reads(async () => {
      const entries = await this.sublevels.get(store)!.iterator(this.iteratorOptions(scan)).all();
      return entries.map(([key, value]) => ({ key: own(key), value: own(value) }));
    });
  }

  scanKeys(store: string, scan: NormalizedScan): Promise<Uint8Array[]> {
    return this.reads(async () => {
      const keys = await this.sublevels.get(store)!.keys(this.iteratorOptions(scan)).all();
      return keys.map(own);
    });
  }

  /** LevelDB has no count: walk the keys of the range in the snapshot, a batch at a time. */
  count(store: string, bounds: Bounds): Promise<number> {
    return this.reads(async () => {
      const options: LevelIteratorOptions = { ...rangeOf(bounds), snapshot: this.snapshot, ...WIDE_READS };
      const iterator = this.sublevels.get(store)!.keys(options);
      let total = 0;
      try {
        for (;;) {
          const batch = await iterator.nextv(1000);
          if (batch.length === 0) return total;
          total += batch.length;
        }
      } finally {
        await iterator.close();
      }
    });
  }

  release(): void {
    this.released = true;
    if (this.reading === 0) this.close();
  }

  private close(): void {
    // Closing only fails when the database is already closed, which has freed the snapshot with it: nothing is
    // lost, nothing to report.
    this.snapshot.close().catch(() => undefined);
  }
}

/** Total size of the files directly in `location` (LevelDB keeps a flat directory). */
async function directorySize(location: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(location, { withFileTypes: true })) {
    if (!entry.isFile()) continue;
    try {
      total += (await stat(join(location, entry.name))).size;
    } catch (error) {
      // Compaction may delete a file between readdir and stat.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return total;
}

const NOT_OPEN = new Set(['LEVEL_DATABASE_NOT_OPEN', 'LEVEL_SNAPSHOT_NOT_OPEN', 'LEVEL_ITERATOR_NOT_OPEN', 'LEVEL_BATCH_NOT_OPEN']);

/** The error and its chain of causes (classic-level nests the reason an open failed as `cause`). */
function causeChain(error: unknown): { code: string | undefined; message: string }[] {
  const chain: { code: string | undefined; message: string }[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current !== undefined && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    chain.push({
      code: typeof code === 'string' ? code : undefined,
      message: current instanceof Error ? current.message : String(current),
    });
    current = (current as { cause?: unknown }).cause;
  }
  return chain;
}

/** Maps a classic-level (or file system) error to a {@link StorageError}, keeping it as `cause`. */
function levelError(error: unknown, location: string, store?: string): StorageError {
  const chain = causeChain(error);
  const codes = chain.map((link) => link.code);
  const detail = chain.map((link) => link.message).join(': ');
  const where = JSON.stringify(location);
  const options = { cause: error, store };
  if (codes.includes('LEVEL_LOCKED')) {
    return new StorageError(
      'LOCKED',
      `Another process has the LevelDB database at ${where} open (LevelDB allows one process at a time); ` +
        `close it first (quit the other app or engine), then open it again. (${detail})`,
      options,
    );
  }
  // A MANIFEST that CURRENT names but that is gone is damage too (LevelDB reports it as an IO error).
  if (codes.includes('LEVEL_CORRUPTION') || /\bcorrupt/i.test(detail) || /MANIFEST-\d+: No such file/.test(detail)) {
    return new StorageError(
      'CORRUPTED',
      `The LevelDB database at ${where} is damaged (${detail}). Back up the directory; ClassicLevel.repair() ` +
        'can recover part of it.',
      options,
    );
  }
  if (codes.includes('ENOSPC') || /no space left on device/i.test(detail)) {
    return new StorageError('STORAGE_FULL', `The disk holding ${where} is full (${detail}); free some space.`, options);
  }
  if (chain.length === 1 && chain[0]!.code !== undefined && NOT_OPEN.has(chain[0]!.code)) {
    return new StorageError(
      'CLOSED',
      `The LevelDB database at ${where} is closed (${detail}); open a new engine to keep working.`,
      options,
    );
  }
  return new StorageError('IO', `LevelDB failure at ${where}: ${detail}`, options);
}
