import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { StorageError } from '@tabstore/sdk';

const META_MAGIC = 0xbeefc0de;
/** Offsets inside an LMDB meta page: page header (16 bytes), then mm_magic, ..., then the free DB's md_pad (page size). */
const MAGIC_OFFSET = 24;
const PAGE_SIZE_OFFSET = 48;

/**
 * The data file of the existing LMDB environment at `path`: `data.mdb` inside a directory, or `path` itself (lmdb-js's
 * single-file layout). Throws what `statSync` throws when nothing is at `path`.
 */
export function lmdbDataFile(path: string): string {
  return statSync(path).isDirectory() ? join(path, 'data.mdb') : path;
}

/**
 * Checks that an existing LMDB data file starts with two valid meta pages. lmdb-js crashes the whole process
 * (segmentation fault) when it opens a file that is not an LMDB environment, so this runs before every open and
 * turns such a file into a CORRUPTED error. A missing or empty file is fine: LMDB initialises it. (A file this check
 * cannot open is left to lmdb-js, whose own error is then reported.)
 */
export function assertLmdbDataFile(path: string): void {
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
    const header = Buffer.alloc(PAGE_SIZE_OFFSET + 4);
    const read = readSync(fd, header, 0, header.length, 0);
    const broken = (why: string): StorageError =>
      new StorageError(
        'CORRUPTED',
        `${file} is not a usable LMDB data file (${why}). It was left untouched: restore it from a backup, or move ` +
          'it away and let tabstore create a new environment.',
      );
    if (read < header.length || header.readUInt32LE(MAGIC_OFFSET) !== META_MAGIC) throw broken('first meta page has no LMDB magic');
    const pageSize = header.readUInt32LE(PAGE_SIZE_OFFSET);
    if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) throw broken(`page size ${pageSize}`);
    if (size < 2 * pageSize) throw broken(`file is ${size} bytes, shorter than its two meta pages`);
    const second = Buffer.alloc(4);
    readSync(fd, second, 0, 4, pageSize + MAGIC_OFFSET);
    if (second.readUInt32LE(0) !== META_MAGIC) throw broken('second meta page has no LMDB magic');
  } finally {
    closeSync(fd);
  }
}
