import { afterEach, describe, expect, it, vi } from 'vitest';
import { StorageError } from '@tabstore/sdk';
import { expectStorageError, k, unhandledDuring } from '@tabstore/sdk/testing';
import { IndexedDbEngine, estimateStorage, idbError, requestPersistentStorage } from '@tabstore/web-backend';

let counter = 0;
const names: string[] = [];
const engines: IndexedDbEngine[] = [];
const raws: IDBDatabase[] = [];

function freshName(): string {
  const name = `tabstore-idb-${Date.now()}-${counter++}`;
  names.push(name);
  return name;
}

async function openEngine(name: string, stores: readonly string[] = ['a'], extra: Partial<Parameters<typeof IndexedDbEngine.open>[0]> = {}): Promise<IndexedDbEngine> {
  const engine = await IndexedDbEngine.open({ name, stores, ...extra });
  engines.push(engine);
  return engine;
}

/** A connection opened with the raw API, that ignores versionchange unless told otherwise. */
function openRaw(name: string, version?: number): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = version === undefined ? indexedDB.open(name) : indexedDB.open(name, version);
    request.onsuccess = () => {
      raws.push(request.result);
      resolve(request.result);
    };
    request.onerror = () => reject(request.error);
  });
}

function rawGet(db: IDBDatabase, store: string, key: Uint8Array): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const request = db.transaction(store).objectStore(store).get(key as Uint8Array<ArrayBuffer>);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

afterEach(async () => {
  vi.restoreAllMocks();
  for (const engine of engines.splice(0)) await engine.close();
  for (const db of raws.splice(0)) db.close();
  for (const name of names.splice(0)) await IndexedDbEngine.deleteDatabase(name);
});

describe('IndexedDbEngine: the foreign-await rule', () => {
  it('a write that awaits a timer after reading fails with TRANSACTION_INACTIVE and writes nothing', async () => {
    const engine = await openEngine(freshName());
    await engine.put('a', k(1), k(1));
    const error = await expectStorageError(
      engine.write(['a'], async (tx) => {
        await tx.put('a', k(2), k(2));
        const current = await tx.get('a', k(1));
        await sleep(20); // IndexedDB commits the transaction here
        await tx.put('a', k(1), k(current![0]! + 1));
      }),
      'TRANSACTION_INACTIVE',
    );
    expect(error.message).toContain('awaited something');
    expect(await engine.get('a', k(1))).toEqual(k(1));
    expect(await engine.get('a', k(2))).toBeUndefined();
  });

  it('reads after a foreign await inside a read transaction fail with TRANSACTION_INACTIVE', async () => {
    const engine = await openEngine(freshName());
    await engine.put('a', k(1), k(1));
    await expectStorageError(
      engine.read(['a'], async (tx) => {
        await tx.get('a', k(1));
        await sleep(20);
        return tx.get('a', k(1));
      }),
      'TRANSACTION_INACTIVE',
    );
  });

  it('a write that only buffers writes around a foreign await still commits them atomically', async () => {
    const engine = await openEngine(freshName());
    await engine.write(['a'], async (tx) => {
      await tx.put('a', k(1), k(1));
      await sleep(5);
      await tx.put('a', k(2), k(2));
    });
    expect(await engine.count('a')).toBe(2);
  });

  it('a read-modify-write that awaits only its own operations works, in parallel from many callers', async () => {
    const engine = await openEngine(freshName());
    await engine.put('a', k(0), k(0));
    await Promise.all(
      Array.from({ length: 20 }, () =>
        engine.write(['a'], async (tx) => {
          const v = (await tx.get('a', k(0)))![0]!;
          await tx.put('a', k(0), k(v + 1));
        }),
      ),
    );
    expect(await engine.get('a', k(0))).toEqual(k(20));
  });
});

describe('IndexedDbEngine: connections and versions', () => {
  it('engines that each add a different store at the same time all get their stores (one upgrade races another)', async () => {
    const name = freshName();
    await (await openEngine(name, ['a'])).close();
    // Ten at once: each round of upgrades has one winner, so the last needs nine rounds.
    const wanted = Array.from({ length: 10 }, (_, i) => ['a', `s${i}`]);
    const engines = await Promise.all(wanted.map((stores) => openEngine(name, stores)));
    for (const [i, engine] of engines.entries()) {
      const store = wanted[i]![1]!;
      await engine.put(store, k(i), k(i));
      expect(await engine.get(store, k(i))).toEqual(k(i));
    }
  });

  it('a second connection that adds a store makes the first close on versionchange, and the first reopens on next use', async () => {
    const name = freshName();
    const first = await openEngine(name, ['a']);
    await first.put('a', k(1), k(1));
    const changes: Array<{ oldVersion: number; newVersion: number | null }> = [];
    const reopened: number[] = [];
    first.on('versionchange', (event) => changes.push(event));
    first.on('reopen', (event) => reopened.push(event.version));

    const second = await openEngine(name, ['a', 'b']);
    expect(changes).toEqual([{ oldVersion: 1, newVersion: 2 }]);
    await second.put('b', k(2), k(2));
    await second.put('a', k(3), k(3));

    // The first engine reconnects (at the new version) instead of using its dead handle.
    expect(await first.get('a', k(3))).toEqual(k(3));
    expect(reopened).toEqual([2]);
    expect(await first.scanKeys('a')).toEqual([k(1), k(3)]);
  });

  it('a listener that throws neither hides the event from the others nor fails the operation; its error is reported', async () => {
    const name = freshName();
    const first = await openEngine(name, ['a']);
    await first.put('a', k(1), k(1));
    const reported: unknown[] = [];
    const original = (globalThis as { reportError?: (error: unknown) => void }).reportError;
    (globalThis as { reportError?: (error: unknown) => void }).reportError = (error) => void reported.push(error);
    try {
      const seen: string[] = [];
      first.on('versionchange', () => {
        throw new Error('versionchange listener');
      });
      first.on('versionchange', () => seen.push('versionchange'));
      first.on('reopen', () => {
        throw new Error('reopen listener');
      });
      first.on('reopen', () => seen.push('reopen'));
      await openEngine(name, ['a', 'b']); // upgrades: the first engine hears versionchange
      expect(await first.get('a', k(1))).toEqual(k(1)); // reconnects: reopen
      expect(seen).toEqual(['versionchange', 'reopen']);
      expect(reported.map((error) => (error as Error).message)).toEqual(['versionchange listener', 'reopen listener']);
    } finally {
      (globalThis as { reportError?: (error: unknown) => void }).reportError = original;
    }
  });

  it('flush, stats and reads called just before close() complete, and close() opens no new connection', async () => {
    const engine = await openEngine(freshName(), ['a']);
    await engine.put('a', k(1), k(1));
    const open = vi.spyOn(indexedDB, 'open');
    const flushing = engine.flush();
    const stats = engine.stats();
    const reading = engine.read(['a'], (tx) => tx.get('a', k(1)));
    const scanning = engine.scan('a');
    await engine.close();
    await expect(flushing).resolves.toBeUndefined();
    await expect(stats).resolves.toEqual({ entries: { a: 1 }, bytesOnDisk: undefined });
    await expect(reading).resolves.toEqual(k(1));
    await expect(scanning).resolves.toEqual([{ key: k(1), value: k(1) }]);
    expect(open).not.toHaveBeenCalled();
  });

  it('an open blocked by a connection that never closes fails with BLOCKED after the bounded wait', async () => {
    const name = freshName();
    await (await openEngine(name, ['a'])).close();
    const stubborn = await openRaw(name); // no onversionchange handler: it never closes
    const started = Date.now();
    const error = await expectStorageError(
      IndexedDbEngine.open({ name, stores: ['a', 'b'], blockedTimeoutMs: 300 }),
      'BLOCKED',
    );
    expect(Date.now() - started).toBeLessThan(5000);
    expect(error.message).toContain('Close the other tabs');
    stubborn.close();
    // Once the other connection is gone the upgrade goes through, and the late connection was not leaked.
    const engine = await openEngine(name, ['a', 'b']);
    await engine.put('b', k(1), k(1));
    expect(await engine.count('b')).toBe(1);
  });

  it('a delete blocked by a connection that never closes fails with BLOCKED after the bounded wait', async () => {
    const name = freshName();
    await (await openEngine(name, ['a'])).put('a', k(1), k(1));
    await engines.pop()!.close();
    const stubborn = await openRaw(name); // no onversionchange handler: it never closes
    const started = Date.now();
    const error = await expectStorageError(IndexedDbEngine.deleteDatabase(name, 300), 'BLOCKED');
    expect(Date.now() - started).toBeLessThan(5000);
    expect(error.message).toContain('blocked by a connection');
    stubborn.close();
  });

  it('blockedTimeoutMs: Infinity waits for the blocking connection to close; a negative or NaN one is INVALID_ARGUMENT', async () => {
    const name = freshName();
    await (await openEngine(name, ['a'])).close();
    const stubborn = await openRaw(name); // no onversionchange handler: it never closes by itself
    const opening = IndexedDbEngine.open({ name, stores: ['a', 'b'], blockedTimeoutMs: Infinity });
    const outcome = opening.then(
      (engine) => (engines.push(engine), 'opened'),
      (error: unknown) => error,
    );
    await sleep(300);
    stubborn.close();
    expect(await outcome).toBe('opened');
    // '300' compares as a number but would be joined to a start time as text: no timer, an endless wait.
    for (const blockedTimeoutMs of [-1, Number.NaN, '300', true] as number[]) {
      await expectStorageError(IndexedDbEngine.open({ name, stores: ['a'], blockedTimeoutMs }), 'INVALID_ARGUMENT');
      await expectStorageError(IndexedDbEngine.deleteDatabase(name, blockedTimeoutMs), 'INVALID_ARGUMENT');
    }
    await expectStorageError(IndexedDbEngine.deleteDatabase(name, null as never), 'INVALID_ARGUMENT');
  });

  it('an open or delete queued behind a blocked request fails with BLOCKED after the bounded wait instead of hanging', async () => {
    const name = freshName();
    await (await openEngine(name, ['a'])).close();
    const stubborn = await openRaw(name); // no onversionchange handler: it never closes
    // IndexedDB tells only the blocked request it is blocked; requests queued behind it hear nothing.
    const deadline = <T,>(promise: Promise<T>): Promise<T> =>
      Promise.race([promise, sleep(3000).then(() => Promise.reject(new Error('still pending after 3 s')))]);
    await expectStorageError(IndexedDbEngine.open({ name, stores: ['a', 'b'], blockedTimeoutMs: 200 }), 'BLOCKED');
    const deleting = await expectStorageError(deadline(IndexedDbEngine.deleteDatabase(name, 200)), 'BLOCKED');
    expect(deleting.message).toContain('Close the other tabs');
    await expectStorageError(deadline(IndexedDbEngine.open({ name, stores: ['a'], blockedTimeoutMs: 200 })), 'BLOCKED');
    stubborn.close();
    // The queued requests then go through in order (upgrade, delete), and the database opens afresh.
    const engine = await openEngine(name, ['a']);
    expect(await engine.count('a')).toBe(0);
  });

  it('opens started together behind one stubborn connection all fail with BLOCKED within the bounded wait', async () => {
    const name = freshName();
    await (await openEngine(name, ['a'])).close();
    const stubborn = await openRaw(name); // no onversionchange handler: it never closes
    const started = Date.now();
    const outcomes = await Promise.allSettled([
      IndexedDbEngine.open({ name, stores: ['a', 'b'], blockedTimeoutMs: 300 }),
      IndexedDbEngine.open({ name, stores: ['a', 'c'], blockedTimeoutMs: 300 }),
    ]);
    // The second hears nothing (it waits behind the first, which alone is told it is blocked): it fails once the
    // first is known to be stuck, not after the 30 s allowed to an open that is merely slow.
    expect(Date.now() - started).toBeLessThan(10_000);
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected');
      expect((outcome as PromiseRejectedResult).reason).toMatchObject({ code: 'BLOCKED' });
    }
    stubborn.close();
    const engine = await openEngine(name, ['a']);
    expect(await engine.count('a')).toBe(0);
  });

  it('an open queued behind another tab\'s blocked upgrade is not failed at blockedTimeoutMs (it may just be slow)', async () => {
    const name = freshName();
    await (await openEngine(name, ['a'])).close();
    const stubborn = await openRaw(name); // no onversionchange handler: it never closes
    // Another tab's upgrade, blocked by it: not ours, so our open behind it cannot tell blocked from slow.
    const upgrade = indexedDB.open(name, 5);
    upgrade.onupgradeneeded = () => upgrade.result.createObjectStore('b');
    const otherTab = new Promise<IDBDatabase>((resolve) => (upgrade.onsuccess = () => resolve(upgrade.result)));
    await sleep(50);
    let outcome = 'pending';
    const opening = IndexedDbEngine.open({ name, stores: ['a'], blockedTimeoutMs: 100 }).then(
      (engine) => ((outcome = 'opened'), engines.push(engine)),
      (error: unknown) => (outcome = `failed: ${(error as { code?: string }).code}`),
    );
    await sleep(600);
    expect(outcome).toBe('pending');
    stubborn.close();
    (await otherTab).close();
    await opening;
    expect(outcome).toBe('opened');
  });

  it('reopens after the database is deleted underneath and starts empty', async () => {
    const name = freshName();
    const engine = await openEngine(name, ['a', 'b']);
    await engine.put('a', k(1), k(1));
    const changes: Array<number | null> = [];
    engine.on('versionchange', (event) => changes.push(event.newVersion));
    await IndexedDbEngine.deleteDatabase(name, 2000);
    expect(changes).toEqual([null]);
    expect(await engine.get('a', k(1))).toBeUndefined();
    await engine.put('b', k(2), k(2));
    expect(await engine.get('b', k(2))).toEqual(k(2));
  });

  it('a store added by an upgrade keeps the data of the old stores', async () => {
    const name = freshName();
    const first = await openEngine(name, ['a']);
    await first.write(['a'], async (tx) => {
      for (let i = 0; i < 100; i++) await tx.put('a', k(i), k(i, i));
    });
    await first.close();
    const upgraded = await openEngine(name, ['a', 'b', 'c']);
    expect(await upgraded.count('a')).toBe(100);
    expect(await upgraded.get('a', k(42))).toEqual(k(42, 42));
    const raw = await openRaw(name);
    expect(raw.version).toBe(2);
    expect(Array.from(raw.objectStoreNames).sort()).toEqual(['a', 'b', 'c']);
  });

  it('reopening with the same stores does not upgrade', async () => {
    const name = freshName();
    await (await openEngine(name, ['a', 'b'])).close();
    await (await openEngine(name, ['b'])).close();
    expect((await openRaw(name)).version).toBe(1);
  });
});

describe('IndexedDbEngine: storage format and reads', () => {
  it('stores values as exact-size ArrayBuffers under binary keys, not as structured-clone objects', async () => {
    const name = freshName();
    const engine = await openEngine(name, ['a']);
    await engine.write(['a'], async (tx) => {
      for (let i = 0; i < 3; i++) await tx.put('a', k(i), new Uint8Array(100).fill(i));
    });
    const raw = await openRaw(name);
    const stored = await rawGet(raw, 'a', k(2));
    expect(stored).toBeInstanceOf(ArrayBuffer);
    expect((stored as ArrayBuffer).byteLength).toBe(100);
    expect(new Uint8Array(stored as ArrayBuffer)[99]).toBe(2);
  });

  it('a value that is not binary (written by other code) is reported as CORRUPTED, not mangled', async () => {
    const name = freshName();
    await (await openEngine(name, ['a'])).close();
    const raw = await openRaw(name);
    await new Promise<void>((resolve, reject) => {
      const tx = raw.transaction('a', 'readwrite');
      tx.objectStore('a').put({ legacy: true }, k(1) as Uint8Array<ArrayBuffer>);
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
    });
    raw.close();
    const engine = await openEngine(name, ['a']);
    await expectStorageError(engine.get('a', k(1)), 'CORRUPTED');
  });

  it('scans page through large ranges with a few requests, in both directions, honouring limits', async () => {
    const engine = await openEngine(freshName(), ['a'], { scanPageSize: 100 });
    await engine.write(['a'], async (tx) => {
      for (let i = 0; i < 1050; i++) await tx.put('a', k(i >> 8, i & 0xff), k(i & 0xff));
    });
    const all = await engine.scan('a');
    expect(all).toHaveLength(1050);
    expect(all[1049]!.key).toEqual(k(1049 >> 8, 1049 & 0xff));
    const reversed = await engine.scan('a', { reverse: true, limit: 250, lt: k(4) });
    expect(reversed).toHaveLength(250);
    expect(reversed[0]!.key).toEqual(k(3, 255));
    expect(reversed[249]!.key).toEqual(k(3, 6));
    expect(await engine.scanKeys('a', { gte: k(1), limit: 333 })).toHaveLength(333);
    expect(await engine.scanKeys('a', { reverse: true })).toHaveLength(1050);
  });

  it('scans page the same where the browser has no getAllRecords (getAll and cursor fallbacks)', async () => {
    const engine = await openEngine(freshName(), ['a'], { scanPageSize: 10 });
    await engine.write(['a'], async (tx) => {
      for (let i = 0; i < 105; i++) await tx.put('a', k(i), k(i, 7));
    });
    const cases = [
      {},
      { reverse: true },
      { reverse: true, limit: 33, lt: k(90) },
      { gt: k(10), limit: 47 },
      { gte: k(20), lte: k(59), reverse: true },
    ];
    const read = async (): Promise<unknown[]> => {
      const out: unknown[] = [];
      for (const options of cases) out.push(await engine.scan('a', options), await engine.scanKeys('a', options));
      return out;
    };
    const expected = await read();
    expect((expected[2] as unknown[]).length).toBe(105);
    const proto = IDBObjectStore.prototype as { getAllRecords?: unknown };
    const getAllRecords = Object.getOwnPropertyDescriptor(proto, 'getAllRecords');
    delete proto.getAllRecords;
    try {
      expect(typeof (IDBObjectStore.prototype as { getAllRecords?: unknown }).getAllRecords).toBe('undefined');
      expect(await read()).toEqual(expected);
    } finally {
      if (getAllRecords !== undefined) Object.defineProperty(proto, 'getAllRecords', getAllRecords);
    }
  });

  it('a long paged scan is one snapshot: a write queued meanwhile is not half-seen', async () => {
    const engine = await openEngine(freshName(), ['a'], { scanPageSize: 10 });
    await engine.write(['a'], async (tx) => {
      for (let i = 0; i < 200; i++) await tx.put('a', k(i), k(1));
    });
    const scanning = engine.scan('a'); // 200 entries in growing pages, one read transaction
    const writing = engine.write(['a'], async (tx) => {
      for (let i = 0; i < 200; i++) await tx.put('a', k(i), k(2));
      await tx.delete('a', k(150));
    });
    const [entries] = await Promise.all([scanning, writing]);
    expect(entries).toHaveLength(200);
    expect(new Set(entries.map((e) => e.value[0]))).toEqual(new Set([1]));
    expect(await engine.count('a')).toBe(199);
  });

  it('a scan whose range ends exactly at a page boundary stops there (in both directions)', async () => {
    const engine = await openEngine(freshName(), ['a'], { scanPageSize: 10 });
    await engine.write(['a'], async (tx) => {
      for (let i = 0; i < 40; i++) await tx.put('a', k(i), k(i));
    });
    expect(await engine.scan('a', { gte: k(0), lte: k(19) })).toHaveLength(20);
    expect(await engine.scan('a', { gte: k(20), lte: k(39), reverse: true })).toHaveLength(20);
    expect(await engine.scanKeys('a', { gt: k(9), lte: k(29) })).toHaveLength(20);
    expect(await engine.scan('a', { lte: k(9) })).toHaveLength(10);
  });

  it('a paged scan keeps its bounds as they were at the call when the caller reuses the buffers', async () => {
    const engine = await openEngine(freshName(), ['a'], { scanPageSize: 10 });
    await engine.write(['a'], async (tx) => {
      for (let i = 0; i < 300; i++) await tx.put('a', k(i >> 8, i & 0xff), k(1));
    });
    const lower = k(0, 5);
    const upper = k(1, 20);
    const forward = engine.scanKeys('a', { gte: lower, lt: upper });
    const backward = engine.scanKeys('a', { gte: lower, lt: upper, reverse: true });
    // The first page is requested at the call (80 keys); later ones after awaits, when these buffers say otherwise.
    lower.set([0, 0]);
    upper.set([1, 40]);
    const expected = Array.from({ length: 256 + 20 - 5 }, (_, i) => i + 5);
    const numbers = (keys: Uint8Array[]): number[] => keys.map((key) => (key[0]! << 8) | key[1]!);
    expect(numbers(await forward)).toEqual(expected);
    expect(numbers(await backward)).toEqual(expected.slice().reverse());
  });

  it('scanPageSize must be a whole number (a fractional one cut scans short); a huge one still scans everything', async () => {
    for (const scanPageSize of [1.5, Infinity, 0, Number.NaN]) {
      await expectStorageError(IndexedDbEngine.open({ name: freshName(), stores: ['a'], scanPageSize }), 'INVALID_ARGUMENT');
    }
    // Pages grow past what getAll* take as a count (an unsigned long): they stop growing there.
    const engine = await openEngine(freshName(), ['a'], { scanPageSize: 2 ** 31 });
    await engine.write(['a'], async (tx) => {
      for (let i = 0; i < 10; i++) await tx.put('a', k(i), k(i));
    });
    expect(await engine.scan('a')).toHaveLength(10);
    expect(await engine.scanKeys('a', { reverse: true })).toHaveLength(10);
    expect(await engine.scan('a', { limit: 5 })).toHaveLength(5);
  });

  it('flush is a strict write that removes nothing, even the record whose key is closest to its mark', async () => {
    const engine = await openEngine(freshName(), ['a']);
    const longest = new Uint8Array(engine.supports.maxKeySize).fill(0xff);
    await engine.put('a', longest, k(1));
    await engine.put('a', k(2), k(2), { durability: 'relaxed' });
    const spy = vi.spyOn(IDBDatabase.prototype, 'transaction');
    await engine.flush();
    const flushCall = spy.mock.calls.find((call) => call[1] === 'readwrite');
    expect((flushCall?.[2] as { durability?: string } | undefined)?.durability).toBe('strict');
    expect(await engine.get('a', longest)).toEqual(k(1));
    expect(await engine.count('a')).toBe(2);
  });

  it('a write whose request fails while it is being issued aborts: none of the requests issued before it commit', async () => {
    const engine = await openEngine(freshName(), ['a']);
    await engine.put('a', k(1), k(1));
    const put = IDBObjectStore.prototype.put;
    let calls = 0;
    vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(function (this: IDBObjectStore, ...args) {
      if (++calls === 2) throw new DOMException('refused by the test', 'DataError');
      return put.apply(this, args);
    });
    const error = await expectStorageError(
      engine.write(['a'], async (tx) => {
        await tx.delete('a', k(1));
        await tx.put('a', k(2), k(2));
        await tx.put('a', k(3), k(3));
      }),
      'INVALID_KEY',
    );
    expect(error.cause).toMatchObject({ name: 'DataError' });
    vi.restoreAllMocks();
    expect(await engine.scan('a')).toEqual([{ key: k(1), value: k(1) }]);
  });

  it('a single read or stats() whose transaction the browser aborts fails with IO, leaving no unhandled rejection', async () => {
    const engine = await openEngine(freshName(), ['a']);
    await engine.put('a', k(1), k(1));
    const unhandled = await unhandledDuring(async () => {
      // A request is issued, then the browser aborts its transaction (as it does when the connection goes away).
      for (const method of ['get', 'count'] as const) {
        const original = IDBObjectStore.prototype[method] as (...args: unknown[]) => IDBRequest;
        vi.spyOn(IDBObjectStore.prototype, method).mockImplementation(function (this: IDBObjectStore, ...args: unknown[]) {
          const request = original.apply(this, args);
          this.transaction.abort();
          return request;
        } as never);
      }
      await expectStorageError(engine.get('a', k(1)), 'IO');
      await expectStorageError(engine.stats(), 'IO');
    }, 50);
    expect(unhandled).toEqual([]);
  });

  it('a write transaction aborted under its callback (with an error) says so to later reads and to its commit', async () => {
    const engine = await openEngine(freshName(), ['a']);
    await engine.put('a', k(1), k(1));
    const spy = vi.spyOn(IDBDatabase.prototype, 'transaction');
    const seen: { after?: unknown } = {};
    const committed = await engine
      .write(['a'], async (tx) => {
        await tx.get('a', k(1)); // the readwrite transaction is open now
        // As when the browser aborts it: a request of the transaction fails and aborts it with that error.
        const raw = spy.mock.results.at(-1)!.value as IDBTransaction;
        const failing = raw.objectStore('a').add(new Uint8Array([9]), new Uint8Array([1]).buffer);
        failing.onerror = () => undefined; // not handled: the transaction aborts with ConstraintError
        await new Promise<void>((resolve) => raw.addEventListener('abort', () => resolve()));
        await tx.get('a', k(1)).catch((error: unknown) => (seen.after = error));
        await tx.put('a', k(2), k(2));
      })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    for (const error of [seen.after, committed]) {
      expect(error).toBeInstanceOf(StorageError);
      expect((error as StorageError).code).not.toBe('TRANSACTION_INACTIVE');
      expect((error as StorageError).message).toMatch(/aborted it, and nothing of it was written/);
      expect((error as StorageError).message).toContain('ConstraintError');
    }
    expect(await engine.get('a', k(2))).toBeUndefined();
    expect(await engine.get('a', k(1))).toEqual(k(1)); // what was stored before stays
  });

  it('a write transaction whose callback does not await its first read still commits in its one IndexedDB transaction', async () => {
    const engine = await openEngine(freshName(), ['a']);
    await engine.put('a', k(1), k(1));
    const spy = vi.spyOn(IDBDatabase.prototype, 'transaction');
    let read: Promise<Uint8Array | undefined> | undefined;
    await engine.write(['a'], (tx) => {
      read = tx.get('a', k(1)); // still opening the transaction when the callback returns and the commit starts
      return tx.put('a', k(2), k(2));
    });
    expect(await read).toEqual(k(1));
    expect(spy.mock.calls.filter((call) => call[1] === 'readwrite')).toHaveLength(1);
    expect(await engine.get('a', k(2))).toEqual(k(2));
  });

  it('reads of several requests the callback did not await (paged scans, counts over pending writes) finish before the commit', async () => {
    const engine = await openEngine(freshName(), ['a'], { scanPageSize: 2 });
    for (let i = 1; i <= 6; i++) await engine.put('a', k(i), k(i));
    let counted: Promise<number> | undefined;
    let scanned: Promise<Uint8Array[]> | undefined;
    let entries: Promise<{ key: Uint8Array }[]> | undefined;
    await engine.write(['a'], async (tx) => {
      await tx.put('a', k(7), k(7));
      counted = tx.count('a'); // a buffered change in range: the base count and a lookup of the change
      scanned = tx.scanKeys('a', { limit: 5 }); // three pages of two
      entries = tx.scan('a', { reverse: true });
      await tx.put('a', k(9), k(9));
    });
    expect(await counted).toBe(7);
    expect(await scanned).toEqual([1, 2, 3, 4, 5].map((i) => k(i)));
    expect((await entries)!.map((entry) => entry.key[0])).toEqual([7, 6, 5, 4, 3, 2, 1]);
    expect(await engine.count('a')).toBe(8);
  });

  it('a delete the callback did not await settles as on every engine when the callback then fails', async () => {
    const engine = await openEngine(freshName());
    await engine.put('a', k(1), k(1));
    let deleted: Promise<boolean> | undefined;
    const unhandled = await unhandledDuring(async () => {
      const failed = await engine
        .write(['a'], async (tx) => {
          await tx.get('a', k(1)); // the readwrite transaction is open now
          deleted = tx.delete('a', k(1)); // looks the key up: a request still running when the callback throws
          throw new Error('app error');
        })
        .catch((error: unknown) => error);
      expect((failed as Error).message).toBe('app error');
    }, 50);
    expect(unhandled).toEqual([]);
    expect(await deleted).toBe(true); // it existed; the failed transaction deleted nothing
    expect(await engine.get('a', k(1))).toEqual(k(1));
  });

  it('write transactions ask IndexedDB for the durability given, relaxed by default', async () => {
    const engine = await openEngine(freshName(), ['a']);
    const spy = vi.spyOn(IDBDatabase.prototype, 'transaction');
    await engine.put('a', k(1), k(1), { durability: 'strict' });
    await engine.put('a', k(2), k(2));
    const durabilities = spy.mock.calls
      .filter((call) => call[1] === 'readwrite')
      .map((call) => (call[2] as { durability?: string } | undefined)?.durability);
    expect(durabilities).toEqual(['strict', 'relaxed']);
  });
});

describe('IndexedDbEngine: errors and helpers', () => {
  it('maps IndexedDB exceptions to stable codes and keeps the cause', () => {
    const cases: Array<[string, string]> = [
      ['QuotaExceededError', 'STORAGE_FULL'],
      ['TransactionInactiveError', 'TRANSACTION_INACTIVE'],
      ['InvalidStateError', 'CLOSED'],
      ['NotFoundError', 'STORE_NOT_FOUND'],
      ['UnknownError', 'IO'],
    ];
    for (const [name, code] of cases) {
      const cause = new DOMException('native message', name);
      const error = idbError(cause, 'do something', 'a');
      expect(error).toBeInstanceOf(StorageError);
      expect(error.code).toBe(code);
      expect(error.cause).toBe(cause);
      expect(error.store).toBe('a');
      expect(error.message).toContain('native message');
    }
  });

  it('open and deleteDatabase without a name are rejected with INVALID_ARGUMENT', async () => {
    await expectStorageError(IndexedDbEngine.open({ name: '', stores: ['a'] }), 'INVALID_ARGUMENT');
    // IndexedDB itself would delete the databases named "undefined" and "null".
    for (const name of ['', undefined, null] as string[]) await expectStorageError(IndexedDbEngine.deleteDatabase(name), 'INVALID_ARGUMENT');
  });

  it('persist and estimate helpers answer without throwing', async () => {
    expect(typeof (await requestPersistentStorage())).toBe('boolean');
    const estimate = await estimateStorage();
    if (typeof navigator !== 'undefined' && navigator.storage?.estimate !== undefined) {
      expect(estimate.quota).toBeGreaterThan(0);
    } else {
      expect(estimate).toEqual({ usage: undefined, quota: undefined });
    }
  });
});
