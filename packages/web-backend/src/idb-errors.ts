import { StorageError, type StorageErrorCode } from '@tabstore/sdk';

const BY_NAME: Readonly<Record<string, [StorageErrorCode, string]>> = {
  QuotaExceededError: ['STORAGE_FULL', 'The browser storage quota is full: free space (or ask for persistent storage) and retry.'],
  TransactionInactiveError: [
    'TRANSACTION_INACTIVE',
    'The IndexedDB transaction had already committed. Inside a transaction callback await only the ' +
      "transaction's own operations: IndexedDB commits as soon as the callback waits for anything else.",
  ],
  InvalidStateError: ['CLOSED', 'The IndexedDB connection was closed.'],
  NotFoundError: ['STORE_NOT_FOUND', 'The object store does not exist in this database.'],
  DataError: ['INVALID_KEY', 'IndexedDB rejected the key or range.'],
  DataCloneError: ['INVALID_VALUE', 'IndexedDB could not store the value.'],
  VersionError: ['IO', 'The database has a newer version than the one asked for; reopen the engine.'],
  UnknownError: ['IO', 'The browser reported an internal IndexedDB failure (often a disk or profile problem).'],
  AbortError: ['IO', 'The IndexedDB transaction was aborted.'],
};

/** Converts a DOMException or other failure from IndexedDB into a {@link StorageError}, keeping it as `cause`. */
export function idbError(error: unknown, action: string, store?: string): StorageError {
  if (error instanceof StorageError) return error;
  const name = error instanceof Error || (typeof DOMException !== 'undefined' && error instanceof DOMException)
    ? (error as Error).name
    : '';
  const message = error instanceof Error ? error.message : String(error);
  // A transaction aborted because of a quota error reports AbortError on the transaction and the quota error on
  // the request; look at the cause too.
  const causeName = (error as { cause?: { name?: string } } | null)?.cause?.name;
  const [code, advice] = BY_NAME[name] ?? (causeName !== undefined ? BY_NAME[causeName] : undefined) ?? ['IO', ''];
  // Browsers end their messages with a period: drop it, as the advice follows after one.
  const native = [name, message.replace(/\.$/, '')].filter((part) => part.length > 0).join(': ');
  return new StorageError(code, `Could not ${action}: ${native || 'unknown failure'}. ${advice}`.trim(), {
    cause: error,
    store,
  });
}
