import { IndexedDbEngine } from '@tabstore/web-backend';
import { testDatabaseCoordinator, testStorageManager, type EngineFixture } from '@tabstore/sdk/testing';

let counter = 0;

function idbFixture(): EngineFixture<IndexedDbEngine> {
  const name = `tabstore-storage-${Date.now()}-${counter++}`;
  return {
    open: (stores) => IndexedDbEngine.open({ name, stores }),
    destroy: () => IndexedDbEngine.deleteDatabase(name),
  };
}

testStorageManager('IndexedDbEngine', idbFixture);
testDatabaseCoordinator('IndexedDbEngine', idbFixture);
