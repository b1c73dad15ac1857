import { bytesToMapKey, compareBytes } from './bytes.js';
import { inBounds, type Bounds } from './range.js';

/** A buffered change to one key: the new value, or `null` for a delete. */
export interface Change {
  readonly key: Uint8Array;
  readonly value: Uint8Array | null;
}

/** The buffered changes of a write transaction to one store. */
export class StoreChanges {
  /** The store was cleared before the changes in `changes` were made. */
  cleared = false;
  /** Latest change per key, in the order keys were first changed. */
  readonly changes = new Map<string, Change>();
  private sorted: Change[] | undefined;

  put(key: Uint8Array, value: Uint8Array): void {
    this.changes.set(bytesToMapKey(key), { key, value });
    this.sorted = undefined;
  }

  delete(key: Uint8Array): void {
    this.changes.set(bytesToMapKey(key), { key, value: null });
    this.sorted = undefined;
  }

  clear(): void {
    this.cleared = true;
    this.changes.clear();
    this.sorted = undefined;
  }

  /** The buffered change of `key`, if any. */
  lookup(key: Uint8Array): Change | undefined {
    return this.changes.size === 0 ? undefined : this.changes.get(bytesToMapKey(key));
  }

  /** Every change, in ascending key order. */
  sortedChanges(): readonly Change[] {
    this.sorted ??= [...this.changes.values()].sort((a, b) => compareBytes(a.key, b.key));
    return this.sorted;
  }

  /** Changes whose keys lie in `bounds`, in ascending key order. */
  inRange(bounds: Bounds): readonly Change[] {
    const sorted = this.sortedChanges();
    return bounds.lower === undefined && bounds.upper === undefined
      ? sorted
      : sorted.filter((change) => inBounds(change.key, bounds));
  }
}

/** Every buffered change of a write transaction, by store. Engines apply it in one native transaction. */
export class ChangeSet {
  readonly stores = new Map<string, StoreChanges>();

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
    for (const changes of this.stores.values()) if (changes.cleared || changes.changes.size > 0) return false;
    return true;
  }
}
