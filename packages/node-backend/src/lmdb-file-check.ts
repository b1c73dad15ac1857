import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { StorageError } from '@tabstore/sdk';

const META_MAGIC = 0xbeefc0de;
/** Offsets inside an LMDB meta page: page header (16 bytes), then mm_magic, ..., then the free DB's md_pad (page size). */
const MAGIC_OFFSET = 24;
const PAGE_SIZE_OFFSET = 48;
/** mm_last_pg and mm_txnid (64-bit): the last page the meta's snapshot uses, and the snapshot's transaction id. */
const LAST_PAGE_OFFSET = 144;
const TXNID_OFFSET = 152;
const META_READ = TXNID_OFFSET + 8;

/**
 * The data file of the existing LMDB environment at `path`: `data.mdb` inside a directory, or `path` itself (lmdb-js's
 * single-file layout). Throws what `statSync` throws when nothing is at `path`.
 */
export function lmdbDataFile(path: string): string {
  return statSync(path).isDirectory() ? join(path, 'data.mdb') : path;
}

/** The lock file lmdb-js uses beside the data file: `lock.mdb` in the directory, or `<path>-lock` for a single file. */
function lmdbLockFile(path: string): string {
  return statSync(path).isDirectory() ? join(path, 'lock.mdb') : `${path}-lock`;
}

function unusable(file: string, why: string): StorageError {
  return new StorageError(
    'CORRUPTED',
    `${file} is not a usable LMDB ${why}. It was left untouched: restore the environment from a backup, or move it ` +
      'away and let tabstore create a new one.',
  );
}

/**
 * Checks an existing LMDB environment before lmdb-js opens it, since lmdb-js crashes the whole process (segmentation
 * fault, bus error) on files it cannot use; such files become a CORRUPTED error here, and nothing is changed:
 * - the data file must start with two valid meta pages, and be long enough for the pages its newest meta page uses
 *   (a copy or restore cut short is not);
 * - the lock file, when there is one, must be a regular file.
 *
 * A missing or empty data file is fine: LMDB initialises it. (A file this check cannot open is left to lmdb-js,
 * whose own error is then reported.)
 */
export function assertLmdbDataFile(path: string): void {
  let lock: string;
  try {
    lock = lmdbLockFile(path);
  } catch {
    return; // nothing there yet
  }
  try {
    if (!statSync(lock).isFile()) throw unusable(lock, 'lock file (it is not a regular file)');
  } catch (error) {
    if (error instanceof StorageError) throw error;
    // No lock file yet: LMDB creates it.
  }
  let fd: number;
  let file: string;
  try {
    file = lmdbDataFile(path);
    fd = openSync(file, 'r');
  } catch {
    return; // nothing there yet
  }
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return;
    const broken = (why: string): StorageError => unusable(file, `data file (${why})`);
    const first = Buffer.alloc(META_READ);
    const read = readSync(fd, first, 0, first.length, 0);
    if (read < PAGE_SIZE_OFFSET + 4 || first.readUInt32LE(MAGIC_OFFSET) !== META_MAGIC) throw broken('first meta page has no LMDB magic');
    const pageSize = first.readUInt32LE(PAGE_SIZE_OFFSET);
    if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) throw broken(`page size ${pageSize}`);
    if (size < 2 * pageSize) throw broken(`file is ${size} bytes, shorter than its two meta pages`);
    const second = Buffer.alloc(META_READ);
    readSync(fd, second, 0, second.length, pageSize);
    if (second.readUInt32LE(MAGIC_OFFSET) !== META_MAGIC) throw broken('second meta page has no LMDB magic');
    // LMDB opens the snapshot of the meta page with the higher transaction id: every page up to its last one must be
    // in the file, or LMDB reads past the end of its memory map.
    const newest = second.readBigUInt64LE(TXNID_OFFSET) > first.readBigUInt64LE(TXNID_OFFSET) ? second : first;
    const pages = newest.readBigUInt64LE(LAST_PAGE_OFFSET) + 1n;
    if (pages * BigInt(pageSize) > BigInt(size)) {
      throw broken(`file is ${size} bytes, but its newest snapshot uses ${pages} pages of ${pageSize} bytes: it was cut short`);
    }
  } finally {
    closeSync(fd);
  }
}
