import { StorageError, type StorageErrorCode } from '@tabstore/sdk';

/**
 * lmdb-js failures by message: LMDB's own (`MDB_*: ...`, from mdb_strerror) and the OS errors it passes through.
 * Patterns name whole error codes or OS phrases, never a bare word: "lock" alone also matched MDB_BAD_RSLOT ("reader
 * locktable slot"), MDB_LOCK_FAILURE (semaphores) and any path ending in `-lock`, none of which is a held lock.
 */
const LMDB_CODES: ReadonlyArray<[RegExp, StorageErrorCode, string]> = [
  [
    /MDB_MAP_FULL|ENOSPC|No space left|\bEFBIG\b|File too large/i,
    'STORAGE_FULL',
    'The disk (or the LMDB map, or the largest file allowed) is full: free space and retry.',
  ],
  // LMDB reports a short write as EIO ("short write, filesystem full?"): the usual sign of a disk that just filled up.
  [
    /\bEIO\b|Input\/output error/i,
    'IO',
    'LMDB reports a write the disk cut short (usually a full disk) as an I/O error: free space and retry; if the disk ' +
      'has room, check it for errors.',
  ],
  [/MDB_READERS_FULL/i, 'IO', 'Too many readers hold the database: end long read transactions or raise maxReaders.'],
  [
    /MDB_CORRUPTED|MDB_PAGE_NOTFOUND|MDB_INVALID|MDB_VERSION_MISMATCH|MDB_BAD_CHECKSUM|MDB_PANIC|Invalid argument.*data\.mdb/i,
    'CORRUPTED',
    'The LMDB files are damaged or not an LMDB environment: restore from a backup or migrate again.',
  ],
  [
    /\bEAGAIN\b|\bEWOULDBLOCK\b|\bEBUSY\b|Resource temporarily unavailable|Device or resource busy/i,
    'LOCKED',
    'Another process holds an exclusive lock on the environment.',
  ],
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
