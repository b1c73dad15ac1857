import { MemoryEngine, MemoryVolume } from '@tabstore/sdk';
import { testDatabaseCoordinator, testStorageManager } from '@tabstore/sdk/testing';

testStorageManager('MemoryEngine', () => {
  const volume = new MemoryVolume();
  return { open: (stores) => MemoryEngine.open({ stores, volume }) };
});

testDatabaseCoordinator('MemoryEngine', () => {
  const volume = new MemoryVolume();
  return { open: (stores) => MemoryEngine.open({ stores, volume }) };
});
