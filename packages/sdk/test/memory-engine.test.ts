import { describe, expect, it } from 'vitest';
import { copyBounds, LazySnapshot, MemoryEngine, MemoryVolume, StorageError, validateSnapshotEngineOptions, type Snapshot } from '@tabstore/sdk';
import { decodeBlock, encodeBlock } from '../src/storage/vector-block.js';
import { k, testEngineConformance } from '@tabstore/sdk/testing';

testEngineConformance('MemoryEngine', () => {
  const volume = new MemoryVolume();
  return { open: (stores) => MemoryEngine.open({ stores, volume }) };
});

describe('MemoryEngine commits', () => {
  const fill = async (engine: MemoryEngine, n: number): Promise<void> => {
    await engine.write(['a'], async (tx) => {
      for (let i = 0; i < n; i++) await tx.put('a', k(i >> 8, i & 0xff), k(1));
    });
  };

  it('a small commit into a large store never changes what an open snapshot sees', async () => {
    const engine = await MemoryEngine.open({ stores: ['a'] });
    await fill(engine, 1000);
    await engine.read(['a'], async (tx) => {
      // Few enough changes to be applied in place if nothing held the array.
      await engine.write(['a'], async (w) => {
        await w.put('a', k(0, 5), k(2));
        await w.delete('a', k(0, 6));
        await w.put('a', k(9, 9, 9), k(3));
      });
      expect(await tx.count('a')).toBe(1000);
      expect(await tx.get('a', k(0, 5))).toEqual(k(1));
      expect(await tx.get('a', k(0, 6))).toEqual(k(1));
      expect(await tx.get('a', k(9, 9, 9))).toBeUndefined();
    });
    expect(await engine.get('a', k(0, 5))).toEqual(k(2));
    expect(await engine.count('a')).toBe(1000);
  });

  it('commits applied in place keep the store sorted and exact', async () => {
    const engine = await MemoryEngine.open({ stores: ['a'] });
    await fill(engine, 1000);
    for (let i = 0; i < 50; i++) {
      await engine.put('a', k(1, i, 0x80), k(4));
      await engine.delete('a', k(2, i));
    }
    const keys = (await engine.scanKeys('a')).map((key) => Array.from(key).join('.'));
    const expected = [...keys].sort((x, y) => {
      const a = x.split('.').map(Number);
      const b = y.split('.').map(Number);
      for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
      return a.length - b.length;
    });
    expect(keys).toEqual(expected);
    expect(await engine.count('a')).toBe(1000);
    expect(await engine.get('a', k(1, 7, 0x80))).toEqual(k(4));
    expect(await engine.get('a', k(2, 7))).toBeUndefined();
  });

  it('a read-modify-write commits in place: its own snapshot is released before the commit', async () => {
    const volume = new MemoryVolume();
    const engine = await MemoryEngine.open({ stores: ['a'], volume });
    await fill(engine, 1000);
    const entries = volume.stores.get('a')!.entries;
    await engine.write(['a'], async (tx) => {
      const value = (await tx.get('a', k(0, 5)))!;
      await tx.put('a', k(0, 5), k(value[0]! + 1));
      await tx.scan('a', { limit: 2 });
    });
    // The same array, changed in place: not a copy of the whole store made because a released snapshot still pinned it.
    expect(volume.stores.get('a')!.entries).toBe(entries);
    expect(volume.stores.get('a')!.pins).toBe(0);
    expect(await engine.get('a', k(0, 5))).toEqual(k(2));
    expect(await engine.count('a')).toBe(1000);
  });

  it('readTransactionTimeoutMs: Infinity means no limit, nonsense is rejected', async () => {
    const engine = await MemoryEngine.open({ stores: ['a'], readTransactionTimeoutMs: Infinity });
    await engine.put('a', k(1), k(1));
    expect(
      await engine.read(['a'], async (tx) => {
        await new Promise((resolve) => setTimeout(resolve, 10));
        return tx.get('a', k(1));
      }),
    ).toEqual(k(1));
    await expect(MemoryEngine.open({ stores: ['a'], readTransactionTimeoutMs: Number.NaN })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(MemoryEngine.open({ stores: ['a'], readTransactionTimeoutMs: 0 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    // A string or a boolean compares as a number (true > 0), but would make string deadlines or a 1 ms limit.
    for (const nonsense of ['100', true]) {
      await expect(MemoryEngine.open({ stores: ['a'], readTransactionTimeoutMs: nonsense as unknown as number })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
    }
  });

  it('engine.delete runs again when its transaction fails with CONFLICT (another process outdated its read)', async () => {
    const engine = await MemoryEngine.open({ stores: ['a'] });
    await engine.put('a', k(1), k(1));
    const write = engine.write.bind(engine);
    let attempts = 0;
    engine.write = ((...args: Parameters<typeof write>) =>
      ++attempts < 3 ? Promise.reject(new StorageError('CONFLICT', 'outdated')) : write(...args)) as typeof engine.write;
    expect(await engine.delete('a', k(1))).toBe(true);
    expect(attempts).toBe(3);
    expect(await engine.get('a', k(1))).toBeUndefined();
    // Other errors are not retried.
    engine.write = (() => Promise.reject(new StorageError('IO', 'disk'))) as typeof engine.write;
    await expect(engine.delete('a', k(1))).rejects.toMatchObject({ code: 'IO' });
  });

  it('missing or non-object options are INVALID_ARGUMENT, not a TypeError', async () => {
    for (const options of [undefined, null, 'a']) {
      await expect(MemoryEngine.open(options as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
    expect(() => validateSnapshotEngineOptions(null as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    await expect(MemoryEngine.open({ stores: [1n as never] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('1n') });
  });

  it('each read transaction gets the whole time limit from its own start, however they overlap', async () => {
    const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
    const engine = await MemoryEngine.open({ stores: ['a'], readTransactionTimeoutMs: 100 });
    await engine.put('a', k(1), k(1));
    await engine.read(['a'], (tx) => tx.get('a', k(1)));
    await sleep(60);
    // Started 60 ms after the first one: still open when the first one's limit passes.
    const late = engine.read(['a'], async (tx) => {
      await sleep(60);
      return tx.get('a', k(1));
    });
    const slow = engine.read(['a'], async (tx) => {
      await sleep(250);
      return tx.get('a', k(1));
    });
    expect(await late).toEqual(k(1));
    await expect(slow).rejects.toMatchObject({ code: 'TRANSACTION_INACTIVE' });
    await engine.close();
  });

  it('one volume is open in one engine at a time', async () => {
    const volume = new MemoryVolume();
    const first = await MemoryEngine.open({ stores: ['a'], volume });
    await expect(MemoryEngine.open({ stores: ['a'], volume })).rejects.toMatchObject({ code: 'LOCKED' });
    await first.close();
    const second = await MemoryEngine.open({ stores: ['a'], volume });
    expect(second.status).toBe('open');
  });
});

describe('Node Buffers given to the SDK are copied, not viewed (Buffer#slice is a view of the same memory)', () => {
  // The engine cases (a large value, a prefix, scan bounds) are in the conformance suite, for every engine.
  it('an unaligned vector block in a Buffer decodes to its own floats, not the Buffer pool\'s start', () => {
    const block = encodeBlock({ dimensions: 2, vectors: Float32Array.of(0.5, -1, 2, 3), ids: ['a', 'b'] });
    const pool = Buffer.alloc(block.length + 1, 0x7f);
    pool.set(block, 1);
    expect(Array.from(decodeBlock(pool.subarray(1)).vectors)).toEqual([0.5, -1, 2, 3]);
    expect(Array.from(decodeBlock(pool.subarray(1), 4).vectors.subarray(0, 4))).toEqual([0.5, -1, 2, 3]);
  });

  it('copyBounds gives bounds that no later change to the caller\'s Buffers reaches', () => {
    const lower = Buffer.from([1, 2]);
    const upper = Buffer.from([3, 4]);
    const copy = copyBounds({ lower, upper, lowerExclusive: false, upperExclusive: true, empty: false });
    lower.fill(0);
    upper.fill(0);
    expect(copy.lower).toEqual(new Uint8Array([1, 2]));
    expect(copy.upper).toEqual(new Uint8Array([3, 4]));
    expect(copy.upperExclusive).toBe(true);
  });
});

describe('LazySnapshot', () => {
  it('a snapshot that failed to open synchronously is not opened again by a later read of the transaction', () => {
    const failure = new Error('readers table full');
    let opens = 0;
    const later: Snapshot = {
      get: () => k(9),
      getMany: (_, keys) => keys.map(() => k(9)),
      scan: () => [],
      scanKeys: () => [],
      count: () => 1,
      release: () => undefined,
    };
    const snapshot = new LazySnapshot(() => {
      opens++;
      if (opens === 1) throw failure;
      return later; // a retry would read a later state than the transaction's first read was meant to
    });
    expect(() => snapshot.get('a', k(1))).toThrow(failure);
    expect(() => snapshot.get('a', k(1))).toThrow(failure);
    expect(() => snapshot.count('a', { lower: undefined, lowerExclusive: false, upper: undefined, upperExclusive: false, empty: false })).toThrow(failure);
    expect(opens).toBe(1);
    snapshot.release();
  });
});

describe('single writes through a write() that wraps its transactions', () => {
  it('engine.put and engine.delete work when write() hands the callback a wrapper (a logging subclass, say)', async () => {
    const engine = await MemoryEngine.open({ stores: ['a'] });
    const plain = engine.write.bind(engine);
    const logged: string[] = [];
    engine.write = (stores, fn, options) =>
      plain(
        stores,
        (tx) =>
          fn({
            ...tx,
            get: (store, key) => tx.get(store, key),
            put: (store, key, value) => (logged.push('put'), tx.put(store, key, value)),
            delete: (store, key) => (logged.push('delete'), tx.delete(store, key)),
          } as typeof tx),
        options,
      );
    await engine.put('a', k(1), k(2));
    expect(await engine.get('a', k(1))).toEqual(k(2));
    expect(await engine.delete('a', k(1))).toBe(true);
    expect(logged).toEqual(['put', 'delete']);
    await engine.close();
  });
});
