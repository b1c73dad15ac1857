/**
 * Stable error codes of the engine contract. Every failure an engine reports is a {@link StorageError}
 * with one of these codes; the engine's own error (if any) is kept as `cause`.
 */
export type StorageErrorCode =
  /** The engine (or the database under it) has been closed. Open a new engine. */
  | 'CLOSED'
  /** A key is not a non-empty `Uint8Array`, or a range bound is not one. */
  | 'INVALID_KEY'
  /** A value is not a `Uint8Array`, or its buffer is detached. */
  | 'INVALID_VALUE'
  /** An option or argument other than a key or value is malformed (a negative limit, two lower bounds, ...). */
  | 'INVALID_ARGUMENT'
  /** The store was not declared when the engine was opened, or not named by the transaction. */
  | 'STORE_NOT_FOUND'
  /** A transaction was used after it finished, or (IndexedDB) after it auto-committed. */
  | 'TRANSACTION_INACTIVE'
  /** The key is longer than `supports.maxKeySize`. */
  | 'KEY_TOO_LARGE'
  /** The value is longer than `supports.maxValueSize`. */
  | 'VALUE_TOO_LARGE'
  /** The disk, the map or the browser quota is full. */
  | 'STORAGE_FULL'
  /** Another process holds the database. */
  | 'LOCKED'
  /** The stored data is damaged. */
  | 'CORRUPTED'
  /** Opening the database was blocked by another connection that did not close in time. */
  | 'BLOCKED'
  /**
   * Another process committed to the database after this write transaction read from it (LMDB, whose writers in
   * other processes are not held off). Nothing was written: run the transaction again.
   */
  | 'CONFLICT'
  /** Any other input/output failure of the underlying database. */
  | 'IO';

/** Options accepted by the {@link StorageError} constructor. */
export interface StorageErrorOptions {
  /** The engine's original error. */
  cause?: unknown;
  /** The store the failing operation addressed, when there is one. */
  store?: string;
}

/** The one error type engines throw. Switch on `code`, never on the message. */
export class StorageError extends Error {
  override readonly name = 'StorageError';
  /** What went wrong, stable across versions: switch on it. */
  readonly code: StorageErrorCode;
  /** The store the failed operation was on, when it was on one. */
  readonly store: string | undefined;

  constructor(code: StorageErrorCode, message: string, options: StorageErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.store = options.store;
  }
}

/** True when `error` is a {@link StorageError}, optionally with the given code. */
export function isStorageError(error: unknown, code?: StorageErrorCode): error is StorageError {
  return error instanceof StorageError && (code === undefined || error.code === code);
}

/**
 * A caller's argument as error messages show it, without ever throwing: a string quoted, a number, boolean, bigint or
 * undefined as written, and anything else by its kind (`an object`, `an array`, `a function`, or its class: `a
 * Uint8Array`, `an ArrayBuffer`, `a Date`). `JSON.stringify` and `String` both throw on some values (a bigint, an
 * object without a prototype).
 */
export function showArgument(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
    case 'boolean':
    case 'undefined':
      return String(value);
    case 'bigint':
      return `${value}n`;
    case 'symbol':
      return value.toString();
    case 'function':
      return 'a function';
  }
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  const kind = Object.prototype.toString.call(value).slice(8, -1);
  if (kind === 'Object') return 'an object';
  return `${/^[AEIOU]/.test(kind) ? 'an' : 'a'} ${kind}`;
}
