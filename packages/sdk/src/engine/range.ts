import { assertKey, compareBytes, copyBytes, isDetached, prefixUpperBound } from './bytes.js';
import { StorageError, showArgument } from './errors.js';
import type { KeyRange, ScanOptions } from './types.js';

/** A validated key range with one lower and one upper bound, each inclusive or exclusive. */
export interface Bounds {
  readonly lower: Uint8Array | undefined;
  readonly lowerExclusive: boolean;
  readonly upper: Uint8Array | undefined;
  readonly upperExclusive: boolean;
  /** The bounds admit no key at all. */
  readonly empty: boolean;
}

/** Validated {@link ScanOptions}. */
export interface NormalizedScan extends Bounds {
  readonly reverse: boolean;
  /** `Infinity` when there is no limit. */
  readonly limit: number;
}

const UNBOUNDED: Bounds = {
  lower: undefined,
  lowerExclusive: false,
  upper: undefined,
  upperExclusive: false,
  empty: false,
};

function isBuffer(value: object): boolean {
  return value instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && value instanceof SharedArrayBuffer);
}

/** Validates a {@link KeyRange} and folds `prefix` into the bounds. Throws INVALID_KEY or INVALID_ARGUMENT. */
export function normalizeRange(range: KeyRange | undefined, maxKeySize: number, store?: string): Bounds {
  if (range === undefined) return UNBOUNDED;
  if (typeof range !== 'object' || range === null || ArrayBuffer.isView(range) || Array.isArray(range) || isBuffer(range)) {
    // Bytes or a list given where the options go would otherwise read as "no bounds": the whole store.
    throw new StorageError('INVALID_ARGUMENT', `Range options must be an object such as { gte, lt, prefix }, got ${showArgument(range)}.`, {
      store,
    });
  }
  if (range.gt !== undefined && range.gte !== undefined) {
    throw new StorageError('INVALID_ARGUMENT', 'Give either gt or gte, not both.', { store });
  }
  if (range.lt !== undefined && range.lte !== undefined) {
    throw new StorageError('INVALID_ARGUMENT', 'Give either lt or lte, not both.', { store });
  }
  // Bounds may be one byte longer than a key could be (a bound past every key of maximal length).
  const boundLimit = maxKeySize + 1;
  let lower: Uint8Array | undefined;
  let lowerExclusive = false;
  let upper: Uint8Array | undefined;
  let upperExclusive = false;
  if (range.gt !== undefined) {
    assertKey(range.gt, boundLimit, store, 'gt bound');
    lower = range.gt;
    lowerExclusive = true;
  } else if (range.gte !== undefined) {
    assertKey(range.gte, boundLimit, store, 'gte bound');
    lower = range.gte;
  }
  if (range.lt !== undefined) {
    assertKey(range.lt, boundLimit, store, 'lt bound');
    upper = range.lt;
    upperExclusive = true;
  } else if (range.lte !== undefined) {
    assertKey(range.lte, boundLimit, store, 'lte bound');
    upper = range.lte;
  }
  if (range.prefix !== undefined) {
    if (!(range.prefix instanceof Uint8Array)) {
      throw new StorageError('INVALID_KEY', 'The prefix must be a Uint8Array.', { store });
    }
    const prefix = range.prefix;
    // A detached prefix has length 0, and an empty prefix matches every key.
    if (isDetached(prefix)) throw new StorageError('INVALID_KEY', "The prefix's buffer is detached (it was transferred); pass a live copy.", { store });
    if (prefix.length > 0) {
      if (lower === undefined || compareBytes(prefix, lower) > 0) {
        lower = prefix;
        lowerExclusive = false;
      }
      const end = prefixUpperBound(prefix);
      if (end !== undefined && (upper === undefined || compareBytes(end, upper) <= 0)) {
        upper = end;
        upperExclusive = true;
      }
    }
  }
  let empty = false;
  if (lower !== undefined && upper !== undefined) {
    const c = compareBytes(lower, upper);
    empty = c > 0 || (c === 0 && (lowerExclusive || upperExclusive));
  }
  return { lower, lowerExclusive, upper, upperExclusive, empty };
}

/** Validates {@link ScanOptions}. Throws INVALID_KEY or INVALID_ARGUMENT. */
export function normalizeScan(options: ScanOptions | undefined, maxKeySize: number, store?: string): NormalizedScan {
  const bounds = normalizeRange(options, maxKeySize, store);
  const limit = options?.limit;
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) {
    throw new StorageError('INVALID_ARGUMENT', `limit must be a non-negative integer, got ${showArgument(limit)}.`, {
      store,
    });
  }
  const reverse = options?.reverse;
  if (reverse !== undefined && typeof reverse !== 'boolean') {
    throw new StorageError('INVALID_ARGUMENT', `reverse must be true or false, got ${showArgument(reverse)}.`, { store });
  }
  return { ...bounds, reverse: reverse === true, limit: limit ?? Infinity };
}

/**
 * `bounds` with its own copies of the lower and upper keys: what a read that runs later (after an await) keeps, since
 * callers may reuse their key buffers as soon as a call returns.
 */
export function copyBounds<B extends Bounds>(bounds: B): B {
  // copyBytes, not slice(): slice() of a Node Buffer is a view of the same memory.
  return {
    ...bounds,
    lower: bounds.lower === undefined ? undefined : copyBytes(bounds.lower),
    upper: bounds.upper === undefined ? undefined : copyBytes(bounds.upper),
  };
}

/** True when `key` lies within `bounds`. */
export function inBounds(key: Uint8Array, bounds: Bounds): boolean {
  if (bounds.lower !== undefined) {
    const c = compareBytes(key, bounds.lower);
    if (c < 0 || (c === 0 && bounds.lowerExclusive)) return false;
  }
  if (bounds.upper !== undefined) {
    const c = compareBytes(key, bounds.upper);
    if (c > 0 || (c === 0 && bounds.upperExclusive)) return false;
  }
  return true;
}
