import { describe, expect, it } from 'vitest';
import { DatabaseCoordinator, isStorageError, MAX_CONFLICT_ATTEMPTS, MemoryEngine, MemoryVolume, retryOnConflict, StorageError, StorageManager, STORAGE_STORES } from '@tabstore/sdk';
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

describe('CONFLICT (another process outdated what a transaction read)', () => {
  /** Makes the engine's next `failures` write transactions fail with CONFLICT, after running their callbacks. */
  function conflicting(engine: MemoryEngine, failures: number): { attempts: () => number } {
    const write = engine.write.bind(engine);
    let attempts = 0;
    engine.write = (async (stores: readonly string[], fn: Parameters<typeof write>[1], options?: Parameters<typeof write>[2]) => {
      attempts++;
      if (attempts > failures) return write(stores, fn, options);
      // The callback runs against a transaction that is then rolled back, as a conflicting commit is.
      await write(stores, async (tx) => {
        await fn(tx);
        throw new StorageError('CONFLICT', 'Another process committed meanwhile.');
      }, options).catch((error: unknown) => {
        if (!isStorageError(error, 'CONFLICT')) throw error;
      });
      throw new StorageError('CONFLICT', 'Another process committed meanwhile.');
    }) as typeof engine.write;
    return { attempts: () => attempts };
  }

  it("the manager's own calls run again, and commit once", async () => {
    const engine = await MemoryEngine.open({ stores: [...STORAGE_STORES] });
    const manager = new StorageManager(engine);
    const { attempts } = conflicting(engine, 2);
    await manager.insertNode(message('m1', 'c1', 1000));
    expect(attempts()).toBe(3);
    expect((await manager.getNode('m1'))?.id).toBe('m1');
    expect(await manager.messagesOfChat('c1')).toHaveLength(1);
    expect((await manager.indexes.verify()).ok).toBe(true);
  });

  it('batch() and indexes.rebuild() are the manager\'s own calls: they run again too', async () => {
    const engine = await MemoryEngine.open({ stores: [...STORAGE_STORES] });
    const manager = new StorageManager(engine);
    let counter = conflicting(engine, 1);
    await manager.batch({ nodes: [message('m1', 'c1', 1000)] });
    expect(counter.attempts()).toBe(2);
    counter = conflicting(engine, 2);
    expect(await manager.indexes.rebuild()).toMatchObject({ vectors: 0 });
    expect(counter.attempts()).toBe(3);
    expect((await manager.indexes.verify()).ok).toBe(true);
  });

  it(`retryOnConflict gives up after ${MAX_CONFLICT_ATTEMPTS} attempts and reports the CONFLICT`, async () => {
    let attempts = 0;
    const always = (): Promise<never> => {
      attempts++;
      return Promise.reject(new StorageError('CONFLICT', 'Another process committed meanwhile.'));
    };
    await expectStorageError(retryOnConflict(always), 'CONFLICT');
    expect(attempts).toBe(MAX_CONFLICT_ATTEMPTS);
    attempts = 0;
    await expectStorageError(retryOnConflict(() => (attempts++, Promise.reject(new StorageError('IO', 'The disk failed meanwhile.')))), 'IO');
    expect(attempts).toBe(1);
  });

  it("the coordinator's calls run again too", async () => {
    const engine = await MemoryEngine.open({ stores: [...STORAGE_STORES] });
    const coordinator = new DatabaseCoordinator(engine);
    const { attempts } = conflicting(engine, 1);
    await coordinator.insertNode(message('m1', 'c1', Date.now()));
    expect(attempts()).toBe(2);
    expect((await coordinator.getNode('m1'))?.id).toBe('m1');
  });

  it('a callback of the caller is not run again by write(); retryOnConflict runs it again when it is safe to', async () => {
    const engine = await MemoryEngine.open({ stores: [...STORAGE_STORES] });
    const manager = new StorageManager(engine);
    conflicting(engine, 1);
    await expectStorageError(manager.write((w) => w.insertNode(message('m1', 'c1', 1000))), 'CONFLICT');
    expect(await manager.getNode('m1')).toBeUndefined();
    conflicting(engine, 1);
    let runs = 0;
    await retryOnConflict(() =>
      manager.write(async (w) => {
        runs++;
        await w.insertNode(message('m2', 'c1', 1000));
      }),
    );
    expect(runs).toBe(2);
    expect((await manager.getNode('m2'))?.id).toBe('m2');
  });
});

describe('reads (a model-based review)', () => {
  it("coordinator.messagesOfChat breaks timestamp ties in key order, so a limited page is the start of the whole list", async () => {
    const coordinator = new DatabaseCoordinator(await MemoryEngine.open({ stores: [...STORAGE_STORES] }));
    const t = Date.now();
    // JS < puts U+FFFF after U+10000's surrogates; keys (UTF-8) put it before.
    await coordinator.insertNode(message('\uFFFF', 'chat', t));
    await coordinator.insertNode(message('\u{10000}', 'chat', t));
    const all = (await coordinator.messagesOfChat('chat')).map((m) => m.id);
    const inTier = (await coordinator.manager({ database: 'Conversations', tier: 'Active' }).messagesOfChat('chat')).map((m) => m.id);
    expect(all).toEqual(['\uFFFF', '\u{10000}']);
    expect(all).toEqual(inTier);
    expect((await coordinator.messagesOfChat('chat', { limit: 1 })).map((m) => m.id)).toEqual(all.slice(0, 1));
    expect((await coordinator.messagesOfChat('chat', { reverse: true, limit: 1 })).map((m) => m.id)).toEqual([...all].reverse().slice(0, 1));
  });

  it('lookups by strings no key can hold (lone surrogates), a non-id cursor or an unknown log level are INVALID_ARGUMENT', async () => {
    const m = new StorageManager(await MemoryEngine.open({ stores: [...STORAGE_STORES] }));
    await m.insertNodes([message('m1', 'c', 1), logEntry('l1', 1, 'info')]);
    await m.insertEdge(edge('e1', 'm1', 'l1', 'A'));
    for (const call of [
      () => m.nodesWithIdPrefix('\uD83D'),
      () => m.findNodes('Message', 'sender', 'x\uD800'),
      () => m.edgesOf('m1', { edgeType: 'A\uDC00' }),
      () => m.neighbours('m1', { edgeType: 'A\uDC00' }),
      () => m.nodesOfType('Message', { after: '\uD800' }),
      () => m.nodesOfType('Message', { after: 5 as never }),
      () => m.nodesOfType('Message', { after: 'a'.repeat(2000) }),
      () => m.logs({ level: '\uD800' as never }),
      () => m.logs({ level: 5 as never }),
      () => m.logs({ level: 'verbose' as never }),
    ]) {
      await expectStorageError(call(), 'INVALID_ARGUMENT');
    }
    // Arguments JSON.stringify or String() cannot show are typed errors too.
    const noPrototype = Object.create(null) as never;
    await expectStorageError(m.edgesOf('m1', { direction: 1n as never }), 'INVALID_ARGUMENT');
    await expectStorageError(m.searchSimilar([1, 0], noPrototype), 'INVALID_ARGUMENT');
    const coordinator = new DatabaseCoordinator(await MemoryEngine.open({ stores: [...STORAGE_STORES] }));
    await expectStorageError(coordinator.runLifecycle(noPrototype), 'INVALID_ARGUMENT');
    await expectStorageError(coordinator.runLifecycle(Date.now(), { batchSize: noPrototype }), 'INVALID_ARGUMENT');
    expect(() => new StorageManager(m.engine, { vectorDimensions: noPrototype })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    await expectStorageError(m.indexes.findNodeIds('Message', 'sender', 'x', { limit: noPrototype }), 'INVALID_ARGUMENT');
    await expectStorageError(coordinator.runLifecycle(Date.now(), { maxBatches: noPrototype }), 'INVALID_ARGUMENT');
    await expectStorageError(coordinator.searchSimilar([1, 0], 1, { tiers: [1n as never] }), 'INVALID_ARGUMENT');
    await expectStorageError(coordinator.moveNode('m1', { database: 1n as never, tier: 'Active' }), 'INVALID_ARGUMENT');
    await expectStorageError(coordinator.moveNode('m1', { database: 'Conversations', tier: 'Active', quarter: 1n as never }), 'INVALID_ARGUMENT');
    expect((await m.nodesOfType('Message', { after: 'a' })).map((n) => n.id)).toEqual(['m1']);
    expect((await m.logs({ level: 'info' })).map((n) => n.id)).toEqual(['l1']);
  });
});

describe('tiers against DOMAIN.md', () => {
  const DAY = 86_400_000;
  const open = async (): Promise<DatabaseCoordinator> => new DatabaseCoordinator(await MemoryEngine.open({ stores: [...STORAGE_STORES] }));

  it('a record exactly 30 (90) days old is due: "once 30 days old"', async () => {
    const c = await open();
    const now = Date.now();
    await c.insertNode(message('m30', 'c', now - 30 * DAY));
    await c.insertNode(message('m29', 'c', now - 30 * DAY + 1));
    await c.insertNode(message('m90', 'c', now - 90 * DAY));
    const report = await c.runLifecycle(now);
    expect(report).toMatchObject({ toRecent: 2, toArchive: 1, done: true });
    expect((await c.locateNode('m30'))?.tier).toBe('Recent');
    expect((await c.locateNode('m29'))?.tier).toBe('Active');
    expect((await c.locateNode('m90'))?.tier).toBe('Archive');
  });

  it('an update that makes an archived record young again brings it back to Active, with its embedding', async () => {
    const c = await open();
    const now = Date.now();
    await c.insertEmbedding(embedding('e1', [1, 0]));
    await c.insertNode({ ...message('m1', 'c', now - 200 * DAY), embeddingId: 'e1' } as never);
    await c.runLifecycle(now);
    expect((await c.locateNode('m1'))?.tier).toBe('Archive');
    expect((await c.locateEmbedding('e1'))?.tier).toBe('Archive');
    expect(await c.insertNode({ ...message('m1', 'c', now), embeddingId: 'e1' } as never)).toEqual({ database: 'Conversations', tier: 'Active' });
    expect((await c.locateEmbedding('e1'))?.tier).toBe('Active');
    // An update that keeps it old keeps it where it is.
    await c.insertNode(message('m2', 'c', now - 200 * DAY));
    await c.runLifecycle(now);
    expect((await c.insertNode(message('m2', 'c', now - 150 * DAY)))?.tier).toBe('Archive');
    expect((await c.insertNode(message('m2', 'c', now - 40 * DAY)))?.tier).toBe('Recent');
  });
});

describe('paging by time with a cursor', () => {
  it('messagesOfChat pages with after: { time, id } neither skip nor repeat messages that share a millisecond', async () => {
    const engine = await MemoryEngine.open({ stores: [...STORAGE_STORES] });
    const manager = new StorageManager(engine);
    const coordinator = new DatabaseCoordinator(await MemoryEngine.open({ stores: [...STORAGE_STORES] }));
    const now = Date.now();
    const messages = [message('m0', 'c', now - 5), ...['m1', 'm2', 'm3', 'm4'].map((id) => message(id, 'c', now)), message('m5', 'c', now + 5)];
    await manager.insertNodes(messages);
    for (const m of messages) await coordinator.insertNode(m);
    for (const reader of [manager, coordinator]) {
      for (const reverse of [false, true]) {
        const seen: string[] = [];
        let after: { time: number; id: string } | undefined;
        for (let page = 0; page < 10; page++) {
          const got = await reader.messagesOfChat('c', { reverse, limit: 2, after });
          if (got.length === 0) break;
          seen.push(...got.map((m) => m.id));
          after = { time: got.at(-1)!.timestamp, id: got.at(-1)!.id };
        }
        const all = (await reader.messagesOfChat('c', { reverse })).map((m) => m.id);
        expect(all).toHaveLength(6);
        expect(seen).toEqual(all);
      }
    }
    // The cursor and from/to together: the tighter bound wins.
    expect((await manager.messagesOfChat('c', { from: now + 1, after: { time: now - 5, id: 'm0' } })).map((m) => m.id)).toEqual(['m5']);
    await expectStorageError(manager.messagesOfChat('c', { after: { time: now, id: '' } }), 'INVALID_ARGUMENT');
    await expectStorageError(manager.messagesOfChat('c', { after: { time: Number.NaN, id: 'm1' } }), 'INVALID_ARGUMENT');
  });
});

describe('an id is one node', () => {
  it('StorageManager refuses a node of another type under an existing id, as the coordinator does, and writes nothing', async () => {
    const manager = new StorageManager(await MemoryEngine.open({ stores: [...STORAGE_STORES] }));
    await manager.insertNode(message('same', 'c', 1));
    const error = await expectStorageError(manager.insertNode({ ...logEntry('same', 2, 'info') }), 'INVALID_ARGUMENT');
    expect(error.message).toContain('exists as a Message');
    expect((await manager.getNode('same'))?.type).toBe('Message');
    await expectStorageError(manager.insertNodes([logEntry('twice', 1, 'info'), message('twice', 'c', 1)]), 'INVALID_ARGUMENT');
    expect(await manager.getNode('twice')).toBeUndefined();
    expect((await manager.indexes.verify()).ok).toBe(true);
    // Replacing with the same type still works.
    await manager.insertNode(message('same', 'c', 5));
    expect((await manager.getNode('same')) as { timestamp?: number }).toMatchObject({ timestamp: 5 });
  });
});

describe('from a k-NN match to its node', () => {
  it('coordinator.nodesOfEmbedding finds the nodes of an embedding in whichever tier they live', async () => {
    const coordinator = new DatabaseCoordinator(await MemoryEngine.open({ stores: [...STORAGE_STORES] }));
    const now = Date.now();
    await coordinator.insertEmbedding(embedding('e1', [1, 0]));
    await coordinator.insertNode({ ...message('m-old', 'c', now - 200 * 86_400_000), embeddingId: 'e1' } as never);
    await coordinator.insertNode({ ...message('m-new', 'c', now), embeddingId: 'e1' } as never);
    await coordinator.runLifecycle(now);
    const [best] = await coordinator.searchSimilar([1, 0], 1);
    expect(best!.id).toBe('e1');
    const nodes = await coordinator.nodesOfEmbedding(best!.id);
    expect(nodes.map((n) => [n.id, n.location.tier]).sort()).toEqual([['m-new', 'Active'], ['m-old', 'Archive']]);
    expect(await coordinator.nodesOfEmbedding('nothing')).toEqual([]);
  });
});

describe('self-loops in the graph index', () => {
  it('edgeIds and edgeEntries list an edge from a node to itself once, so no caller has to dedupe', async () => {
    const m = new StorageManager(await MemoryEngine.open({ stores: [...STORAGE_STORES] }));
    await m.insertNodes([message('m1', 'c', 1), message('m2', 'c', 2)]);
    await m.insertEdges([edge('loop', 'm1', 'm1', 'SELF'), edge('e2', 'm2', 'm1', 'REPLY')]);
    expect(await m.indexes.edgeIds('m1')).toEqual(['loop', 'e2']);
    expect(await m.indexes.edgeIds('m1', { direction: 'in' })).toEqual(['e2', 'loop']); // by edge type
    expect(await m.indexes.edgeIds('m1', { direction: 'out' })).toEqual(['loop']);
    expect((await m.edgesOf('m1')).map((e) => e.id)).toEqual(['loop', 'e2']);
  });
});
