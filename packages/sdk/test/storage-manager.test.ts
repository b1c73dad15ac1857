import { describe, expect, it } from 'vitest';
import { MemoryEngine, MemoryVolume, StorageManager, STORAGE_STORES } from '@tabstore/sdk';
import { edge, embedding, expectStorageError, logEntry, message, testDatabaseCoordinator, testStorageManager } from '@tabstore/sdk/testing';

testStorageManager('MemoryEngine', () => {
  const volume = new MemoryVolume();
  return { open: (stores) => MemoryEngine.open({ stores, volume }) };
});

testDatabaseCoordinator('MemoryEngine', () => {
  const volume = new MemoryVolume();
  return { open: (stores) => MemoryEngine.open({ stores, volume }) };
});

describe('IndexManager options', () => {
  it('null options mean none, as undefined do; other non-objects are INVALID_ARGUMENT', async () => {
    const manager = new StorageManager(await MemoryEngine.open({ stores: [...STORAGE_STORES] }));
    await manager.insertNodes([message('m1', 'c', 1_700_000_000_000), logEntry('l1', 1_700_000_000_000, 'info')]);
    await manager.insertEdge(edge('e1', 'm1', 'l1', 'REPLY'));
    await manager.insertEmbedding(embedding('v', [1, 0]));
    const indexes = manager.indexes;
    const lookups: [string, (options: never) => Promise<unknown[]>, unknown[]][] = [
      ['findNodeIds', (o) => indexes.findNodeIds('Message', 'chatId', 'c', o), ['m1']],
      ['nodeIdsOfType', (o) => indexes.nodeIdsOfType('Message', o), ['m1']],
      ['nodeIdsInTime', (o) => indexes.nodeIdsInTime('Message', o), ['m1']],
      ['messageIdsOfChat', (o) => indexes.messageIdsOfChat('c', o), ['m1']],
      ['logIds', (o) => indexes.logIds(o), ['l1']],
      ['timeScan', (o) => indexes.timeScan(['t:Log'], o), ['l1']],
      ['edgeIds', (o) => indexes.edgeIds('m1', o), ['e1']],
      ['neighbourIds', (o) => indexes.neighbourIds('m1', o), ['l1']],
      ['edgeEntries', (o) => indexes.edgeEntries('m1', o), [expect.objectContaining({ edgeId: 'e1' })]],
      ['nearest', (o) => indexes.nearest([1, 0], 1, o), [expect.objectContaining({ id: 'v' })]],
    ];
    for (const [name, lookup, want] of lookups) {
      expect(await lookup(null as never), name).toEqual(want);
      const error = await expectStorageError(() => lookup('fast' as never), 'INVALID_ARGUMENT');
      expect(error.message, name).toMatch(/options/);
    }
  });
});
