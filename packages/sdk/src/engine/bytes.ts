import { StorageError, showArgument } from './errors.js';

/** Compares two byte strings the way every engine orders keys: bytewise, a prefix before its extensions. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const length = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < length; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** True when both byte strings hold the same bytes. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** True when `bytes` starts with `prefix`. */
export function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

/**
 * The smallest key greater than every key that starts with `prefix`, or `undefined` when there is none (the prefix
 * is empty or all 0xFF bytes: then every key at or above the prefix starts with it).
 */
export function prefixUpperBound(prefix: Uint8Array): Uint8Array | undefined {
  let end = prefix.length;
  while (end > 0 && prefix[end - 1] === 0xff) end--;
  if (end === 0) return undefined;
  const bound = copyBytes(prefix.subarray(0, end));
  bound[end - 1]! += 1;
  return bound;
}

/** A string that is equal for equal byte strings (one UTF-16 unit per byte): a Map key for bytes. */
export function bytesToMapKey(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 4096) {
    s += String.fromCharCode.apply(null, bytes.subarray(i, i + 4096) as unknown as number[]);
  }
  return s;
}

/**
 * A fresh copy that owns its own `ArrayBuffer`. Use it, never `bytes.slice()`, for bytes a caller or an engine gave:
 * on a Node `Buffer`, `slice()` is a view of the same memory.
 */
export function copyBytes(bytes: Uint8Array): Uint8Array {
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return copy;
}

const HAS_DETACHED = 'detached' in ArrayBuffer.prototype;

/** True when the array's buffer has been transferred or otherwise detached. */
export function isDetached(bytes: Uint8Array): boolean {
  if (bytes.byteLength !== 0) return false;
  const buffer = bytes.buffer as ArrayBuffer & { detached?: boolean };
  if (HAS_DETACHED) return buffer.detached === true;
  try {
    // Constructing a view over a detached buffer throws; over an empty live one it does not.
    new Uint8Array(buffer, 0, 0);
    return false;
  } catch {
    return true;
  }
}


/** Throws INVALID_KEY or KEY_TOO_LARGE unless `key` is a usable key. */
export function assertKey(key: unknown, maxKeySize: number, store?: string, what = 'key'): asserts key is Uint8Array {
  if (!(key instanceof Uint8Array)) {
    throw new StorageError(
      'INVALID_KEY',
      `The ${what} must be a Uint8Array, got ${showArgument(key)}. Encode strings and numbers to bytes first ` +
        `(for example with new TextEncoder().encode(text)).`,
      { store },
    );
  }
  if (key.length === 0) {
    throw new StorageError(
      'INVALID_KEY',
      isDetached(key)
        ? `The ${what}'s buffer is detached (it was transferred); pass a live copy.`
        : `The ${what} is empty; keys must hold at least one byte.`,
      { store },
    );
  }
  if (key.length > maxKeySize) {
    throw new StorageError(
      'KEY_TOO_LARGE',
      `The ${what} is ${key.length} bytes; this engine accepts at most ${maxKeySize}. Store long identifiers in ` +
        `the value and key the record by a hash or a shorter id.`,
      { store },
    );
  }
}

/** Throws INVALID_VALUE or VALUE_TOO_LARGE unless `value` is a storable value. */
export function assertValue(value: unknown, maxValueSize: number, store?: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new StorageError(
      'INVALID_VALUE',
      `A value must be a Uint8Array, got ${showArgument(value)}. Encode records to bytes first (see the record codec).`,
      { store },
    );
  }
  if (value.length === 0 && isDetached(value)) {
    throw new StorageError('INVALID_VALUE', `The value's buffer is detached (it was transferred); pass a live copy.`, {
      store,
    });
  }
  if (value.length > maxValueSize) {
    throw new StorageError(
      'VALUE_TOO_LARGE',
      `The value is ${value.length} bytes; this engine accepts at most ${maxValueSize}. Split large blobs into ` +
        `chunks under several keys.`,
      { store },
    );
  }
}

/** Throws INVALID_ARGUMENT unless `keys` is an array, and INVALID_KEY / KEY_TOO_LARGE for any unusable key in it. */
export function assertKeys(keys: unknown, maxKeySize: number, store?: string): asserts keys is readonly Uint8Array[] {
  if (!Array.isArray(keys)) throw new StorageError('INVALID_ARGUMENT', 'getMany takes an array of keys.', { store });
  for (const key of keys) assertKey(key, maxKeySize, store);
}
