import { describe, expect, it } from 'vitest';
import { StorageError } from '@tabstore/sdk';
import { lmdbError } from '../src/lmdb-errors.js';

describe('lmdbError', () => {
  // Messages as lmdb-js reports them: mdb_strerror's table for LMDB's codes, the OS's strerror for the rest.
  const cases: [string, string][] = [
    ['MDB_MAP_FULL: Environment mapsize limit reached', 'STORAGE_FULL'],
    ['ENOSPC: no space left on device, write', 'STORAGE_FULL'],
    ['File too large', 'STORAGE_FULL'],
    // A short write (LMDB's sign of a disk that filled up mid-commit) is EIO: IO, with advice about free space.
    ['Input/output error', 'IO'],
    ['MDB_READERS_FULL: Environment maxreaders limit reached', 'IO'],
    ['MDB_CORRUPTED: Located page was wrong type', 'CORRUPTED'],
    ['MDB_PAGE_NOTFOUND: Requested page not found', 'CORRUPTED'],
    ['MDB_INVALID: File is not an LMDB file', 'CORRUPTED'],
    ['MDB_BAD_CHECKSUM: Page checksum mismatch', 'CORRUPTED'],
    ['MDB_PANIC: Update of meta page failed or environment had fatal error', 'CORRUPTED'],
    ['Resource temporarily unavailable', 'LOCKED'],
    ['EBUSY: resource busy or locked, open', 'LOCKED'],
    // Mention "lock" without anything holding a lock: not LOCKED.
    ['MDB_BAD_RSLOT: Invalid reuse of reader locktable slot', 'IO'],
    ["MDB_LOCK_FAILURE: Failed to get robust semaphore, increase max semaphore count by running 'sudo sysctl kern.sysv.semume=200'", 'IO'],
    ["ENOENT: no such file or directory, open '/data/tabstore/data.mdb-lock'", 'IO'],
    ['Failed to unlock the write transaction', 'IO'],
    ['Can not read from a closed database', 'CLOSED'],
    ['something nobody expected', 'IO'],
  ];
  it.each(cases)('%s -> %s', (message, code) => {
    const cause = new Error(message);
    const error = lmdbError(cause, 'open the LMDB environment at /x', 'nodes');
    expect(error).toBeInstanceOf(StorageError);
    expect(error.code).toBe(code);
    expect(error.cause).toBe(cause);
    expect(error.store).toBe('nodes');
    expect(error.message).toContain(`Could not open the LMDB environment at /x: ${message}.`);
  });
});
