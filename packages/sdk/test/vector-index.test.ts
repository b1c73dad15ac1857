/**
 * Vector index cases too large for the shared storage suite (which every engine runs): MemoryEngine only, since
 * what they check is the index's own bookkeeping.
 */
import { describe, expect, it } from 'vitest';
import { MemoryEngine, StorageManager, STORAGE_STORES, encodeKey, type EmbeddingId } from '@tabstore/sdk';
import { embedding, expectStorageError, randomVectors } from '@tabstore/sdk/testing';
import { decodeState, encodeState, type VectorIndexState } from '../src/storage/vector-block.js';

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

describe('vector index: review fixes', () => {
  const open = async () => {
    const engine = await MemoryEngine.open({ stores: [...STORAGE_STORES] });
    return { engine, m: new StorageManager(engine) };
  };
  const stateKey = encodeKey(['', 'm']);

  it('a vector of more than 65 536 dimensions is refused at write, so the index stays readable', async () => {
    const { m } = await open();
    const error = await expectStorageError(() => m.insertEmbedding(embedding('a', new Float32Array(65_537).fill(1))), 'INVALID_ARGUMENT');
    expect(error.message).toMatch(/65536/);
    expect(await m.getEmbedding('a')).toBeUndefined();
    await m.insertEmbedding(embedding('b', new Float32Array(65_536).fill(1))); // the largest that fits
    expect((await m.searchSimilar(new Float32Array(65_536).fill(1), 1)).map((match) => match.id)).toEqual(['b']);
  });

  it('scores clamped to 1 tie, and ties fall to the id on both scoring paths', async () => {
    const { m } = await open();
    const base = [0.3, -1.7, 2.9, 0.11, 5.5];
    // Float32 rounding makes both dot products slightly different values just over 1.
    await m.insertEmbeddings([embedding('b', base.map((x) => x * 39 * 0.37)), embedding('a', base.map((x) => x * 40 * 0.37))]);
    expect((await m.searchSimilar(base, 2)).map((match) => [match.id, match.score])).toEqual([
      ['a', 1],
      ['b', 1],
    ]);
    expect((await m.searchSimilar(base, 1))[0]!.id).toBe('a');
    expect((await m.searchSimilar(base, 1, { candidates: ['b', 'a'] }))[0]!.id).toBe('a');
  });

  it('a stored state that is JSON null is CORRUPTED, not a TypeError, and rebuild repairs it', async () => {
    expect(() => decodeState(new TextEncoder().encode('null'))).toThrow(expect.objectContaining({ code: 'CORRUPTED' }));
    const { engine, m } = await open();
    await m.insertEmbedding(embedding('a', [1, 0]));
    await engine.put('vectors', stateKey, new TextEncoder().encode('null'));
    await expectStorageError(() => new StorageManager(engine).searchSimilar([1, 0], 1), 'CORRUPTED');
    await expectStorageError(() => m.insertEmbedding(embedding('b', [0, 1])), 'CORRUPTED');
    const report = await m.indexes.verify();
    expect(report.ok).toBe(false);
    expect(report.extra).toContainEqual({ store: 'vectors', key: ['', 'm'], bytes: stateKey });
    await m.indexes.rebuild();
    expect((await m.indexes.verify()).ok).toBe(true);
    expect((await m.searchSimilar([1, 0], 1))[0]!.id).toBe('a');
  });

  it('verify reports a state that does not match the blocks; a writer never overwrites a block; rebuild repairs it', async () => {
    const damages: Record<string, (state: VectorIndexState) => VectorIndexState> = {
      'no blocks': (s) => ({ ...s, blocks: 0, smallFrom: 0 }),
      'smallFrom past blocks': (s) => ({ ...s, smallFrom: s.blocks + 1 }),
      'other dimensions': (s) => ({ ...s, dimensions: 3, capacity: 4096 }),
      'wrong capacity': (s) => ({ ...s, capacity: s.capacity + 1 }),
      'wrong live count': (s) => ({ ...s, live: s.live + 1 }),
    };
    for (const [name, damage] of Object.entries(damages)) {
      const { engine, m } = await open();
      await m.insertEmbeddings([embedding('a', [1, 0]), embedding('b', [0, 1])]);
      const state = decodeState((await engine.get('vectors', stateKey))!);
      await engine.put('vectors', stateKey, encodeState(damage(state)));
      const report = await m.indexes.verify();
      expect(report.ok, name).toBe(false);
      expect(report.extra, name).toEqual([{ store: 'vectors', key: ['', 'm'], bytes: stateKey }]);
      expect(report.missing, name).toEqual([]);
      await m.indexes.rebuild();
      expect((await m.indexes.verify()).ok, name).toBe(true);
    }
    const { engine, m } = await open();
    await m.insertEmbeddings([embedding('a', [1, 0]), embedding('b', [0, 1])]);
    await engine.put('vectors', stateKey, encodeState({ ...decodeState((await engine.get('vectors', stateKey))!), blocks: 0, smallFrom: 0 }));
    await expectStorageError(() => m.insertEmbedding(embedding('c', [1, 1])), 'CORRUPTED');
    expect((await m.searchSimilar([1, 1], 5)).map((match) => match.id)).toEqual(['a', 'b']);
    // Without a state, stored blocks are damage too: the state is reported missing, and no new block 0 is made.
    await engine.delete('vectors', stateKey);
    const report = await m.indexes.verify();
    expect(report.missing).toEqual([{ store: 'vectors', key: ['', 'm'], bytes: stateKey }]);
    await expectStorageError(() => m.insertEmbedding(embedding('c', [1, 1])), 'CORRUPTED');
    await m.indexes.rebuild();
    await m.insertEmbedding(embedding('c', [1, 1]));
    expect((await m.searchSimilar([1, 1], 5)).map((match) => match.id)).toEqual(['c', 'a', 'b']);
    expect((await m.indexes.verify()).ok).toBe(true);
  });

  it('an insert call that fails on a damaged slot reference commits none of its vectors', async () => {
    const { engine, m } = await open();
    await m.insertEmbedding(embedding('a', [1, 0]));
    await engine.put('vectors', encodeKey(['', 's', 'x']), new Uint8Array([9, 0, 0, 0, 0, 0])); // block 9: missing
    let failed: unknown;
    await m.write(async (w) => {
      await w.insertEmbeddings([embedding('new', [0, 1]), embedding('x', [1, 1])]).catch((error: unknown) => (failed = error));
    });
    expect(failed).toMatchObject({ code: 'CORRUPTED' });
    expect(await m.getEmbedding('new')).toBeUndefined();
    expect((await m.searchSimilar([0, 1], 5)).map((match) => match.id)).toEqual(['a']);
    expect(await engine.get('vectors', encodeKey(['', 's', 'new']))).toBeUndefined();
  });

  it('an insert call that fails on a damaged block it would append to or merge changes no vector', async () => {
    // 4096 dimensions: 3 vectors per small block. 4 vectors: block 1 is the tail; 48: a full run, merged by the next.
    for (const [count, damaged] of [
      [4, 1],
      [48, 5],
    ] as const) {
      const { engine, m } = await open();
      const vectors = randomVectors(count + 1, 4096, count);
      const ids = vectors.map((_, i) => `v${String(i).padStart(2, '0')}`);
      await m.insertEmbeddings(ids.slice(0, count).map((id, i) => embedding(id, vectors[i]!)));
      const key = encodeKey(['', 'b', damaged]);
      const bytes = (await engine.get('vectors', key))!;
      await engine.put('vectors', key, Uint8Array.of(1, 2, 3));
      let failed: unknown;
      await m.write(async (w) => {
        // An update of a vector in an intact block, then a new vector, which reads the damaged block.
        const update = embedding(ids[0]!, vectors[count]!);
        await w.insertEmbeddings([update, embedding(ids[count]!, vectors[count]!)]).catch((error: unknown) => (failed = error));
      });
      expect(failed, `${count}`).toMatchObject({ code: 'CORRUPTED' });
      await engine.put('vectors', key, bytes);
      expect((await m.indexes.verify()).ok, `${count}`).toBe(true);
      expect((await m.searchSimilar(vectors[0]!, count + 1)).map((match) => match.id).sort(), `${count}`).toEqual(ids.slice(0, count));
    }
  });

  it('a delete that fails on a damaged slot reference keeps the embedding record', async () => {
    const { engine, m } = await open();
    await m.insertEmbeddings([embedding('a', [1, 0]), embedding('b', [0, 1])]);
    await engine.put('vectors', encodeKey(['', 's', 'b']), new Uint8Array([9, 0, 0, 0, 0, 0]));
    let failed: unknown;
    await m.write(async (w) => {
      await w.deleteEmbedding('b').catch((error: unknown) => (failed = error));
    });
    expect(failed).toMatchObject({ code: 'CORRUPTED' });
    expect((await m.getEmbedding('b'))?.id).toBe('b');
  });

  it('a slot reference to a slot holding another id is CORRUPTED, and that other vector is kept', async () => {
    const { engine, m } = await open();
    await m.insertEmbeddings([embedding('a', [1, 0]), embedding('b', [0, 1])]);
    await engine.put('vectors', encodeKey(['', 's', 'b']), (await engine.get('vectors', encodeKey(['', 's', 'a'])))!);
    await expectStorageError(() => m.insertEmbedding(embedding('b', [1, 1])), 'CORRUPTED');
    await expectStorageError(() => m.deleteEmbedding('b'), 'CORRUPTED');
    expect((await m.searchSimilar([1, 0], 1)).map((match) => [match.id, match.score])).toEqual([['a', 1]]);
  });

  it('a rejected call into an empty index does not fix its dimensions', async () => {
    const { m } = await open();
    await m.write(async (w) => {
      await expectStorageError(() => w.insertEmbeddings([embedding('a', [1, 0, 0]), embedding('b', [1, 0])]), 'INVALID_ARGUMENT');
      await w.insertEmbedding(embedding('c', [0, 1]));
    });
    expect((await m.searchSimilar([0, 1], 5)).map((match) => match.id)).toEqual(['c']);
  });

  it('vector elements that are not numbers (bigint, Symbol, string) are INVALID_ARGUMENT naming the index', async () => {
    const { m } = await open();
    for (const bad of [2n, Symbol('x'), '2']) {
      const error = await expectStorageError(() => m.insertEmbedding({ ...embedding('a', [0]), vector: [1, bad] as never }), 'INVALID_ARGUMENT');
      expect(error.message).toMatch(/index 1/);
      expect((await expectStorageError(() => m.searchSimilar([1, bad] as never, 1), 'INVALID_ARGUMENT')).message).toMatch(/index 1/);
    }
  });
});
