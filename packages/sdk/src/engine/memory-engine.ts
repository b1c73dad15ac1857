import { compareBytes, copyBytes } from './bytes.js';
import type { ChangeSet } from './change-set.js';
import { StorageError } from './errors.js';
import type { Bounds, NormalizedScan } from './range.js';
import {
  DEFAULT_MAX_KEY_SIZE,
  DEFAULT_MAX_VALUE_SIZE,
  SnapshotEngine,
  type Snapshot,
  type SnapshotEngineOptions,
} from './snapshot-engine.js';
import type { EngineStats, EngineSupports, Entry } from './types.js';

/**
 * Where a {@link MemoryEngine} keeps its data. Pass the same volume to a new engine to "reopen" it; by default every
 * engine gets its own. Stores are sorted arrays that are never changed once published, so a snapshot is just the
 * arrays it saw (a commit costs time linear in the store's size).
 */
export class MemoryVolume {
  /** @internal */
  readonly stores = new Map<string, readonly Entry[]>();
  /** @internal */
  openedBy: MemoryEngine | undefined;
}

/** Options of {@link MemoryEngine.open}. */
export interface MemoryEngineOptions extends SnapshotEngineOptions {
  /** The stores to declare. */
  stores: readonly string[];
  /** Keep data here; a later engine opened on the same volume sees it. */
  volume?: MemoryVolume;
}

/** The reference engine: everything in memory, the same semantics as the real engines. Good for tests. */
export class MemoryEngine extends SnapshotEngine {
  readonly kind = 'memory';
  readonly supports: EngineSupports = Object.freeze({
    snapshots: true,
    foreignAwaits: true,
    zeroCopyReads: false,
    durability: Object.freeze(['strict', 'relaxed'] as const),
    defaultDurability: 'strict',
    multiProcess: false,
    persistent: false,
    maxKeySize: DEFAULT_MAX_KEY_SIZE,
    maxValueSize: DEFAULT_MAX_VALUE_SIZE,
  });
  private readonly volume: MemoryVolume;

  private constructor(options: MemoryEngineOptions) {
    super(options.stores, options);
    this.volume = options.volume ?? new MemoryVolume();
    if (this.volume.openedBy !== undefined && this.volume.openedBy.status !== 'closed') {
      throw new StorageError('LOCKED', 'This memory volume is already open in another MemoryEngine; close that one first.');
    }
    this.volume.openedBy = this;
    for (const store of this.stores) if (!this.volume.stores.has(store)) this.volume.stores.set(store, []);
  }

  /** Opens an in-memory engine with the given stores. */
  static async open(options: MemoryEngineOptions): Promise<MemoryEngine> {
    return new MemoryEngine(options);
  }

  protected openSnapshot(stores: readonly string[]): Snapshot {
    const seen = new Map<string, readonly Entry[]>();
    for (const store of stores) seen.set(store, this.volume.stores.get(store)!);
    return new MemorySnapshot(seen);
  }

  protected async applyChanges(changes: ChangeSet): Promise<void> {
    const next = new Map<string, readonly Entry[]>();
    for (const [store, storeChanges] of changes.stores) {
      const base = storeChanges.cleared ? [] : this.volume.stores.get(store)!;
      const pending = storeChanges.sortedChanges();
      const merged: Entry[] = [];
      let i = 0;
      for (const change of pending) {
        while (i < base.length && compareBytes(base[i]!.key, change.key) < 0) merged.push(base[i++]!);
        if (i < base.length && compareBytes(base[i]!.key, change.key) === 0) i++;
        if (change.value !== null) merged.push({ key: copyBytes(change.key), value: copyBytes(change.value) });
      }
      while (i < base.length) merged.push(base[i++]!);
      next.set(store, merged);
    }
    // Publish every store at once: no reader can see half a commit.
    for (const [store, entries] of next) this.volume.stores.set(store, entries);
  }

  protected async engineStats(): Promise<EngineStats> {
    const entries: Record<string, number> = {};
    for (const store of this.stores) entries[store] = this.volume.stores.get(store)!.length;
    return { entries, bytesOnDisk: undefined };
  }

  protected async flushEngine(): Promise<void> {}

  protected async closeEngine(): Promise<void> {
    if (this.volume.openedBy === this) this.volume.openedBy = undefined;
  }

  protected toStorageError(error: unknown, store?: string): StorageError {
    return new StorageError('IO', `Memory engine failure: ${String(error)}`, { cause: error, store });
  }
}

/** Index of the first entry whose key is >= `key` (or > `key` when `after`). */
function lowerIndex(entries: readonly Entry[], key: Uint8Array, after: boolean): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareBytes(entries[mid]!.key, key);
    if (c < 0 || (after && c === 0)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** [start, end) indexes of the entries within `bounds`. */
function span(entries: readonly Entry[], bounds: Bounds): [number, number] {
  const start = bounds.lower === undefined ? 0 : lowerIndex(entries, bounds.lower, bounds.lowerExclusive);
  const end = bounds.upper === undefined ? entries.length : lowerIndex(entries, bounds.upper, !bounds.upperExclusive);
  return [start, Math.max(start, end)];
}

class MemorySnapshot implements Snapshot {
  constructor(private readonly seen: ReadonlyMap<string, readonly Entry[]>) {}

  get(store: string, key: Uint8Array): Uint8Array | undefined {
    const entries = this.seen.get(store)!;
    const i = lowerIndex(entries, key, false);
    const entry = entries[i];
    return entry !== undefined && compareBytes(entry.key, key) === 0 ? copyBytes(entry.value) : undefined;
  }

  getMany(store: string, keys: readonly Uint8Array[]): (Uint8Array | undefined)[] {
    return keys.map((key) => this.get(store, key));
  }

  private slice(store: string, scan: NormalizedScan): readonly Entry[] {
    const entries = this.seen.get(store)!;
    const [start, end] = span(entries, scan);
    const count = Math.min(end - start, scan.limit);
    return scan.reverse ? entries.slice(end - count, end).reverse() : entries.slice(start, start + count);
  }

  scan(store: string, scan: NormalizedScan): Entry[] {
    return this.slice(store, scan).map((entry) => ({ key: copyBytes(entry.key), value: copyBytes(entry.value) }));
  }

  scanKeys(store: string, scan: NormalizedScan): Uint8Array[] {
    return this.slice(store, scan).map((entry) => copyBytes(entry.key));
  }

  count(store: string, bounds: Bounds): number {
    const [start, end] = span(this.seen.get(store)!, bounds);
    return end - start;
  }

  release(): void {}
}
