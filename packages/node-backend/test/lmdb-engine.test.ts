import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LmdbEngine } from '@tabstore/node-backend';
import { testEngineConformance } from '@tabstore/sdk/testing';

testEngineConformance('LmdbEngine', async () => {
  const path = await mkdtemp(join(tmpdir(), 'tabstore-lmdb-'));
  return {
    open: (stores) => LmdbEngine.open({ path, stores }),
    destroy: () => rm(path, { recursive: true, force: true }),
  };
});
