/**
 * Vector index cases too large for the shared storage suite (which every engine runs): MemoryEngine only, since
 * what they check is the index's own bookkeeping.
 */
import { describe, expect, it } from 'vitest';
import { MemoryEngine, StorageManager, STORAGE_STORES, type EmbeddingId } from '@tabstore/sdk';
import { embedding, randomVectors } from '@tabstore/sdk/testing';

describe('vector index: short vectors', () => {
  it('a merge of more than 65 536 two-dimensional vectors keeps every slot reference distinct', async () => {
    // 16 full small blocks of 6144 two-dimensional slots merge once the next vector comes: 98 305 vectors, more
    // slots than a slot reference's 16-bit number holds in one block.
    const n = 98_305;
    const manager = new StorageManager(await MemoryEngine.open({ stores: [...STORAGE_STORES] }));
    const id = (i: number) => `e${i}` as EmbeddingId;
    await manager.insertEmbeddings(Array.from({ length: n }, (_, i) => ({ id: id(i), vector: Float32Array.of(1, i), model: 'm' })));
    await manager.insertEmbedding({ id: id(65_536), vector: Float32Array.of(0, -1), model: 'm' }); // an update
    expect((await manager.deleteEmbedding(id(70_000)))?.id).toBe(id(70_000));
    const all = await manager.searchSimilar([1, 0], n + 10);
    const seen = new Map<string, number>();
    for (const match of all) seen.set(match.id, (seen.get(match.id) ?? 0) + 1);
    expect(all).toHaveLength(n - 1);
    expect([...seen.values()].every((times) => times === 1)).toBe(true);
    expect(seen.has(id(0))).toBe(true);
    expect(seen.has(id(70_000))).toBe(false);
    expect(all.at(-1)!.id).toBe(id(65_536)); // [0, -1] is the farthest from [1, 0]
    expect((await manager.indexes.verify()).ok).toBe(true);
  });
});

describe('vector index: ties', () => {
  it('equal vectors score exactly the same wherever they are stored, so ties fall to the id', async () => {
    const manager = new StorageManager(await MemoryEngine.open({ stores: [...STORAGE_STORES] }));
    const [vector, query] = randomVectors(2, 37, 1);
    // Nine copies: slots 0-7 are scored eight at a time, slot 8 on its own; 'a' lands in slot 8.
    const ids = ['b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'a'];
    await manager.insertEmbeddings(ids.map((id) => embedding(id, vector!)));
    const all = await manager.searchSimilar(query!, 9);
    expect(new Set(all.map((match) => match.score)).size).toBe(1);
    expect(all.map((match) => match.id)).toEqual([...ids].sort());
    const some = await manager.searchSimilar(query!, 3, { candidates: ['i', 'a', 'e'] });
    expect(some.map((match) => [match.id, match.score])).toEqual(['a', 'e', 'i'].map((id) => [id, all[0]!.score]));
  });
});

describe('vector index: the warm cache', () => {
  it('a k-NN in a snapshot never sees a commit whose cache update lands while it runs', async () => {
    const engine = await MemoryEngine.open({ stores: [...STORAGE_STORES] });
    const manager = new StorageManager(engine);
    await manager.insertEmbeddings([embedding('a', [1, 0, 0]), embedding('b', [0, 1, 0])]);
    const query = Float32Array.of(1, 1, 0);
    // Holds back the cache updates of commits, to release one at a chosen microtask turn of a running search.
    const vectors = manager.vectors;
    const apply = vectors.committed.bind(vectors);
    const held: Parameters<typeof apply>[0][] = [];
    vectors.committed = (changes) => void held.push(changes);
    for (let turns = 0; turns < 16; turns++) {
      const seen = await engine.read(STORAGE_STORES, async (tx) => {
        const before = await vectors.nearest(query, 10, undefined, tx); // opens the snapshot, warms the cache
        await manager.insertEmbedding(embedding(`new${turns}`, [1, 1, 0])); // commits; its cache update is held
        const searching = vectors.nearest(query, 10, undefined, tx);
        for (let i = 0; i < turns; i++) await Promise.resolve();
        for (const changes of held.splice(0)) apply(changes);
        return { before: before.map((m) => m.id), during: (await searching).map((m) => m.id) };
      });
      expect(seen.during).toEqual(seen.before);
    }
    expect((await manager.searchSimilar(query, 1))[0]!.id).toBe('new0');
  });
});
