import { bytesToMapKey, compareBytes, copyBytes } from './bytes.js';
import { inBounds, type Bounds } from './range.js';

/** A buffered change to one key: the new value, or `null` for a delete. */
export interface Change {
  readonly key: Uint8Array;
  readonly value: Uint8Array | null;
}

const FIRST_CHUNK = 4 * 1024;
const MAX_CHUNK = 256 * 1024;
const OWN_CHUNK_ABOVE = 16 * 1024;

/**
 * Copies of the bytes a transaction was given, packed into chunks: one allocation per chunk instead of one per
 * record, so callers may reuse their buffers as soon as `put` returns. Chunks start at 4 KiB and double up to
 * 256 KiB, so a one-put transaction does not pay for zeroing a large chunk.
 */
export class ByteArena {
  private chunk = new Uint8Array(0);
  private used = 0;

  copy(bytes: Uint8Array): Uint8Array {
    const n = bytes.length;
    if (n > OWN_CHUNK_ABOVE) return copyBytes(bytes); // not slice(): on a Node Buffer that is a view
    if (this.used + n > this.chunk.length) {
      const next = Math.min(Math.max(this.chunk.length * 2, FIRST_CHUNK), MAX_CHUNK);
      this.chunk = new Uint8Array(Math.max(next, n));
      this.used = 0;
    }
    const out = this.chunk.subarray(this.used, this.used + n);
    out.set(bytes);
    this.used += n;
    return out;
  }
}

/**
 * The buffered changes of a write transaction to one store: a log in write order (apply it in order, the last
 * change of a key wins), indexed by key only once the transaction reads its own writes. The log is two parallel
 * arrays rather than one object per change: a put allocates nothing here.
 */
export class StoreChanges {
  /** The store was cleared before the changes in the log were made. */
  cleared = false;
  /** Keys of the log, in write order; a key may appear more than once. */
  keys: Uint8Array[] = [];
  /** Values of the log, `null` for a delete. */
  values: (Uint8Array | null)[] = [];
  private index: Map<string, number> | undefined;
  private sorted: Change[] | undefined;

  /** True when the store was neither cleared nor written. */
  get isEmpty(): boolean {
    return !this.cleared && this.keys.length === 0;
  }

  put(key: Uint8Array, value: Uint8Array): void {
    this.record(key, value);
  }

  delete(key: Uint8Array): void {
    this.record(key, null);
  }

  clear(): void {
    this.cleared = true;
    this.keys = [];
    this.values = [];
    this.index = undefined;
    this.sorted = undefined;
  }

  /** The latest buffered change of `key`, if any. */
  lookup(key: Uint8Array): Change | undefined {
    if (this.keys.length === 0) return undefined;
    const i = this.keyIndex().get(bytesToMapKey(key));
    return i === undefined ? undefined : { key: this.keys[i]!, value: this.values[i]! };
  }

  /** The latest change of every key, in ascending key order. */
  sortedChanges(): readonly Change[] {
    if (this.sorted === undefined) {
      const latest: Change[] = [];
      for (const i of this.keyIndex().values()) latest.push({ key: this.keys[i]!, value: this.values[i]! });
      this.sorted = latest.sort((a, b) => compareBytes(a.key, b.key));
    }
    return this.sorted;
  }

  /** Latest changes whose keys lie in `bounds`, in ascending key order. */
  inRange(bounds: Bounds): readonly Change[] {
    const sorted = this.sortedChanges();
    return bounds.lower === undefined && bounds.upper === undefined
      ? sorted
      : sorted.filter((change) => inBounds(change.key, bounds));
  }

  private record(key: Uint8Array, value: Uint8Array | null): void {
    this.keys.push(key);
    this.values.push(value);
    if (this.index !== undefined) this.index.set(bytesToMapKey(key), this.keys.length - 1);
    this.sorted = undefined;
  }

  private keyIndex(): Map<string, number> {
    if (this.index === undefined) {
      const index = new Map<string, number>();
      for (let i = 0; i < this.keys.length; i++) index.set(bytesToMapKey(this.keys[i]!), i);
      this.index = index;
    }
    return this.index;
  }
}

/** Options of a {@link ChangeSet}. */
export interface ChangeSetOptions {
  /** Give every value its own exact-size ArrayBuffer instead of packing values into shared chunks. */
  ownValueBuffers?: boolean;
}

/** Every buffered change of a write transaction, by store. Engines apply it in one native transaction. */
export class ChangeSet {
  readonly stores = new Map<string, StoreChanges>();
  private readonly arena = new ByteArena();
  private readonly ownValueBuffers: boolean;

  constructor(options: ChangeSetOptions = {}) {
    this.ownValueBuffers = options.ownValueBuffers === true;
  }

  /** A copy of a key the transaction was given (keys are small: they always share chunks). */
  copyKey(key: Uint8Array): Uint8Array {
    return this.arena.copy(key);
  }

  /** A copy of a value the transaction was given. */
  copyValue(value: Uint8Array): Uint8Array {
    return this.ownValueBuffers ? copyBytes(value) : this.arena.copy(value);
  }

  /** The changes of `store`, created on first use. */
  of(store: string): StoreChanges {
    let changes = this.stores.get(store);
    if (changes === undefined) {
      changes = new StoreChanges();
      this.stores.set(store, changes);
    }
    return changes;
  }

  /** True when nothing was written. */
  get isEmpty(): boolean {
    for (const changes of this.stores.values()) if (!changes.isEmpty) return false;
    return true;
  }
}
