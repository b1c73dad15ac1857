import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Which engine's database the directory `dir` holds, by the file only that engine writes there (`data.mdb` for LMDB,
 * `CURRENT` for LevelDB); undefined when it holds neither or both. Lets each engine refuse the other's database
 * instead of adding its own files beside it (a path mixed up, say in a migration).
 */
export function databaseKindAt(dir: string): 'lmdb' | 'level' | undefined {
  const lmdb = existsSync(join(dir, 'data.mdb'));
  const level = existsSync(join(dir, 'CURRENT'));
  return lmdb === level ? undefined : lmdb ? 'lmdb' : 'level';
}
