import { compareBytes, copyBytes } from './bytes.js';
import type { Change, ChangeSet } from './change-set.js';
import { StorageError } from './errors.js';
import type { Bounds, NormalizedScan } from './range.js';
import {
  SnapshotEngine,
  checkOptionsObject,
  defineSupports,
  type Snapshot,
  type SnapshotEngineOptions,
} from './snapshot-engine.js';
import type { EngineStats, EngineSupports, Entry } from './types.js';

/** One store's sorted entries and the number of open snapshots that hold this very array. */
interface StoreState {
  readonly entries: Entry[];
  pins: number;
}

/**
 * Where a {@link MemoryEngine} keeps its data. Pass the same volume to a new engine to "reopen" it; by default every
 * engine gets its own. Each store is a sorted array. A snapshot pins the arrays it saw; a commit changes an unpinned
 * array in place and replaces a pinned one with a changed copy (copy-on-write), so snapshots never see a change.
 */
export class MemoryVolume {
  /** @internal */
  readonly stores = new Map<string, StoreState>();
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
  readonly supports: EngineSupports = defineSupports({
    snapshots: true,
    foreignAwaits: true,
    zeroCopyReads: false,
    defaultDurability: 'strict',
    multiProcess: false,
    persistent: false,
  });
  private readonly volume: MemoryVolume;

  private constructor(options: MemoryEngineOptions) {
    super(options.stores, options);
    this.volume = options.volume ?? new MemoryVolume();
    if (this.volume.openedBy !== undefined && this.volume.openedBy.status !== 'closed') {
      throw new StorageError('LOCKED', 'This memory volume is already open in another MemoryEngine; close that one first.');
    }
    this.volume.openedBy = this;
    for (const store of this.stores) if (!this.volume.stores.has(store)) this.volume.stores.set(store, { entries: [], pins: 0 });
  }

  /** Opens an in-memory engine with the given stores. */
  static async open(options: MemoryEngineOptions): Promise<MemoryEngine> {
    checkOptionsObject(options);
    return new MemoryEngine(options);
  }

  protected openSnapshot(stores: readonly string[]): Snapshot {
    const seen = new Map<string, StoreState>();
    for (const store of stores) {
      const state = this.volume.stores.get(store)!;
      state.pins++;
      seen.set(store, state);
    }
    return new MemorySnapshot(seen);
  }

  protected async applyChanges(changes: ChangeSet): Promise<void> {
    // Compute every new array first, then publish them together: no reader sees half a commit.
    const next = new Map<string, StoreState>();
    for (const [store, storeChanges] of changes.stores) {
      const state = this.volume.stores.get(store)!;
      const base = storeChanges.cleared ? [] : state.entries;
      const pending = storeChanges.sortedChanges();
      // Each in-place insert or delete moves the tail of the array; past a few changes one merge is cheaper.
      const inPlace = state.pins === 0 && !storeChanges.cleared && pending.length <= IN_PLACE_MAX_CHANGES;
      next.set(store, inPlace ? applyInPlace(state, pending) : { entries: merge(base, pending), pins: 0 });
    }
    for (const [store, state] of next) this.volume.stores.set(store, state);
  }

  protected async engineStats(): Promise<EngineStats> {
    // fromEntries: a store may be named __proto__, which an assignment would not add as a property.
    const entries = Object.fromEntries(this.stores.map((store) => [store, this.volume.stores.get(store)!.entries.length]));
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

const IN_PLACE_MAX_CHANGES = 16;

const own = (change: Change): Entry => ({ key: copyBytes(change.key), value: copyBytes(change.value!) });

/** A new sorted array: `base` with the sorted `pending` changes applied. */
function merge(base: readonly Entry[], pending: readonly Change[]): Entry[] {
  const merged: Entry[] = [];
  let i = 0;
  for (const change of pending) {
    while (i < base.length && compareBytes(base[i]!.key, change.key) < 0) merged.push(base[i++]!);
    if (i < base.length && compareBytes(base[i]!.key, change.key) === 0) i++;
    if (change.value !== null) merged.push(own(change));
  }
  while (i < base.length) merged.push(base[i++]!);
  return merged;
}

/** Applies a few changes to an array no snapshot holds, by binary search and splice. */
function applyInPlace(state: StoreState, pending: readonly Change[]): StoreState {
  const entries = state.entries;
  for (const change of pending) {
    const i = lowerIndex(entries, change.key, false);
    const found = i < entries.length && compareBytes(entries[i]!.key, change.key) === 0;
    if (change.value === null) {
      if (found) entries.splice(i, 1);
    } else if (found) {
      entries[i] = own(change);
    } else {
      entries.splice(i, 0, own(change));
    }
  }
  return state;
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
  private released = false;

  constructor(private readonly seen: ReadonlyMap<string, StoreState>) {}

  private entries(store: string): readonly Entry[] {
    return this.seen.get(store)!.entries;
  }

  get(store: string, key: Uint8Array): Uint8Array | undefined {
    const entries = this.entries(store);
    const i = lowerIndex(entries, key, false);
    const entry = entries[i];
    return entry !== undefined && compareBytes(entry.key, key) === 0 ? copyBytes(entry.value) : undefined;
  }

  getMany(store: string, keys: readonly Uint8Array[]): (Uint8Array | undefined)[] {
    return keys.map((key) => this.get(store, key));
  }

  private slice(store: string, scan: NormalizedScan): readonly Entry[] {
    const entries = this.entries(store);
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
    const [start, end] = span(this.entries(store), bounds);
    return end - start;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    for (const state of this.seen.values()) state.pins--;
  }
}
