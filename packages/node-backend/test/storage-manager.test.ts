import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LevelEngine, LmdbEngine } from '@tabstore/node-backend';
import { testDatabaseCoordinator, testStorageManager, type EngineFixture } from '@tabstore/sdk/testing';

async function lmdbFixture(): Promise<EngineFixture<LmdbEngine>> {
  const path = await mkdtemp(join(tmpdir(), 'tabstore-storage-lmdb-'));
  return {
    open: (stores) => LmdbEngine.open({ path, stores }),
    destroy: () => rm(path, { recursive: true, force: true }),
  };
}

async function levelFixture(): Promise<EngineFixture<LevelEngine>> {
  const dir = await mkdtemp(join(tmpdir(), 'tabstore-storage-level-'));
  return {
    open: (stores) => LevelEngine.open({ location: join(dir, 'db'), stores }),
    destroy: () => rm(dir, { recursive: true, force: true }),
  };
}

testStorageManager('LmdbEngine', lmdbFixture);
testDatabaseCoordinator('LmdbEngine', lmdbFixture);
testStorageManager('LevelEngine', levelFixture);
testDatabaseCoordinator('LevelEngine', levelFixture);
