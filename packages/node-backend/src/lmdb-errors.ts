import { StorageError, type StorageErrorCode } from '@tabstore/sdk';

const LMDB_CODES: ReadonlyArray<[RegExp, StorageErrorCode, string]> = [
  [/MDB_MAP_FULL|ENOSPC|No space left/i, 'STORAGE_FULL', 'The disk (or the LMDB map) is full: free space and retry.'],
  [/MDB_READERS_FULL/i, 'IO', 'Too many readers hold the database: end long read transactions or raise maxReaders.'],
  [
    /MDB_CORRUPTED|MDB_PAGE_NOTFOUND|MDB_INVALID|MDB_VERSION_MISMATCH|Invalid argument.*data\.mdb/i,
    'CORRUPTED',
    'The LMDB files are damaged or not an LMDB environment: restore from a backup or migrate again.',
  ],
  [/EAGAIN|Resource temporarily unavailable|EWOULDBLOCK|lock/i, 'LOCKED', 'Another process holds an exclusive lock on the environment.'],
  [/closed database|Can not (read|renew).*closed/i, 'CLOSED', 'The environment is closed: open a new engine.'],
];

/** Converts an lmdb-js failure into a {@link StorageError}, keeping the original as `cause`. */
export function lmdbError(error: unknown, action: string, store?: string): StorageError {
  const message = error instanceof Error ? error.message : String(error);
  for (const [pattern, code, advice] of LMDB_CODES) {
    if (pattern.test(message)) {
      return new StorageError(code, `Could not ${action}: ${message}. ${advice}`, { cause: error, store });
    }
  }
  return new StorageError('IO', `Could not ${action}: ${message}.`, { cause: error, store });
}
