import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { open } from 'lmdb';
import { LmdbEngine } from '@tabstore/node-backend';
import { encodeNode, nodeId, nodeView, StorageError, type NodeViewOf } from '@tabstore/sdk';
import { expectStorageError, k, utf8 } from '@tabstore/sdk/testing';
import { runFixture, spawnFixture, waitForLine } from './child.js';
import { counterValue, incrementCounter } from './fixtures/counter.js';

let dir: string;
const opened: LmdbEngine[] = [];
const openEngine = async (options: Partial<Parameters<typeof LmdbEngine.open>[0]> = {}): Promise<LmdbEngine> => {
  const engine = await LmdbEngine.open({ path: join(dir, 'env'), stores: ['records'], ...options });
  opened.push(engine);
  return engine;
};

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tabstore-lmdb-x-'));
});
afterEach(async () => {
  for (const engine of opened.splice(0)) await engine.close();
  await rm(dir, { recursive: true, force: true });
});

describe('LmdbEngine across processes', () => {
  it('reads what a child process wrote before it exited', async () => {
    await runFixture('lmdb-child.ts', ['write', join(dir, 'env'), '1000']);
    const engine = await openEngine();
    expect(await engine.count('records')).toBe(1000);
    expect(await engine.get('records', utf8('rec:00999'))).toEqual(utf8('value 999'));
    const entries = await engine.scan('records', { prefix: utf8('rec:0000') });
    expect(entries.map((e) => new TextDecoder().decode(e.value))).toEqual(
      Array.from({ length: 10 }, (_, i) => `value ${i}`),
    );
  });

  it('two processes read the same environment at once and agree', async () => {
    const engine = await openEngine();
    await engine.write(['records'], async (tx) => {
      for (let i = 0; i < 2000; i++) await tx.put('records', utf8(`rec:${String(i).padStart(5, '0')}`), utf8(`value ${i}`));
    });
    // Both children read while this process holds the environment open (and reads too).
    const readers = [runFixture('lmdb-child.ts', ['read', engine.path]), runFixture('lmdb-child.ts', ['read', engine.path])];
    const mine = await engine.scan('records');
    const results = (await Promise.all(readers)).map((out) => JSON.parse(out) as { count: number; checksum: number; pid: number });
    let checksum = 0;
    for (const { value } of mine) for (const byte of value) checksum = (checksum * 31 + byte) >>> 0;
    expect(results.map((r) => r.count)).toEqual([2000, 2000]);
    expect(results.map((r) => r.checksum)).toEqual([checksum, checksum]);
    expect(results[0]!.pid).not.toBe(results[1]!.pid);
  });

  it('read-modify-writes in two processes lose no update: a transaction whose reads another process outdated fails with CONFLICT and writes nothing', async () => {
    const engine = await openEngine({ stores: ['records', 'other'] });
    const times = 500;
    const child = spawnFixture('lmdb-child.ts', ['increment', engine.path, String(times)]);
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    await waitForLine(child, 'ready');
    await incrementCounter(engine, times); // while the child increments too
    expect(await exited).toBe(0);
    expect(out).toMatch(/"conflicts":\d+/);
    await new Promise((resolve) => setTimeout(resolve, 5)); // lmdb-js renews its read snapshot on the next turn
    expect(await counterValue(engine)).toBe(2 * times);
  });

  it('a commit that fails part-way writes nothing of itself (lmdb-js keeps what a plain transaction callback wrote)', async () => {
    const engine = await openEngine();
    const db = (engine as unknown as { dbs: Map<string, { put: (...args: unknown[]) => unknown }> }).dbs.get('records')!;
    const put = db.put.bind(db);
    let puts = 0;
    db.put = (...args: unknown[]) => {
      if (++puts === 3) throw new Error('EIO: i/o error');
      return put(...args);
    };
    try {
      await expectStorageError(
        engine.write(['records'], async (tx) => {
          for (let i = 1; i <= 3; i++) await tx.put('records', k(i), k(i));
        }),
        'IO',
      );
    } finally {
      delete (db as { put?: unknown }).put;
    }
    expect(await engine.count('records')).toBe(0);
    await engine.put('records', k(9), k(9));
    expect(await engine.count('records')).toBe(1);
  });

  it('a read transaction opened inside borrow() leaves the borrowed bytes as they are', async () => {
    const engine = await openEngine();
    await engine.put('records', k(1), new Uint8Array(16).fill(7));
    await engine.put('records', k(2), k(2));
    const seen = engine.borrow('records', k(1), (value) => {
      void engine.read(['records'], () => 1);
      return [...value!];
    });
    expect(seen).toEqual(Array.from({ length: 16 }, () => 7));
  });

  it('a damaged commit counter (NaN, Infinity) neither fails every write with CONFLICT nor stops counting', async () => {
    const path = join(dir, 'env');
    const first = await LmdbEngine.open({ path, stores: ['records'] });
    await first.put('records', k(1), k(1));
    await first.close();
    for (const damaged of [Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      const raw = open({ path, maxDbs: 32 });
      const counter = raw.openDB({ name: '\u0001tabstore:commits', encoding: 'binary', keyEncoding: 'binary' });
      const bytes = Buffer.alloc(8);
      bytes.writeDoubleLE(damaged);
      await counter.put(Uint8Array.of(0), bytes);
      const stored = counter.getBinary(Uint8Array.of(0));
      await raw.close();
      expect(stored).toEqual(bytes);
      const engine = await LmdbEngine.open({ path, stores: ['records'] });
      // A read-modify-write commits, and the counter moves on from the damaged value.
      await engine.write(['records'], async (tx) => {
        const value = (await tx.get('records', k(1)))!;
        await tx.put('records', k(1), Uint8Array.of(value[0]! + 1));
      });
      expect(await engine.delete('records', k(9))).toBe(false);
      await engine.close();
      const check = open({ path, maxDbs: 32 });
      const after = check.openDB({ name: '\u0001tabstore:commits', encoding: 'binary', keyEncoding: 'binary' }).getBinary(Uint8Array.of(0))!;
      await check.close();
      expect(Buffer.from(after).readDoubleLE(0)).toBe(2);
    }
  });

  it('sees commits a child process makes while this engine is open', async () => {
    const engine = await openEngine();
    expect(await engine.count('records')).toBe(0);
    await runFixture('lmdb-child.ts', ['write', engine.path, '50']);
    await new Promise((resolve) => setTimeout(resolve, 5)); // lmdb-js renews its read snapshot on the next turn
    expect(await engine.count('records')).toBe(50);
  });

  it('clears the reader slot of a process that died holding a read transaction', async () => {
    const path = join(dir, 'env');
    await (await openEngine()).put('records', k(1), k(1));
    const child = spawnFixture('lmdb-child.ts', ['hold-reader', path]);
    const line = await waitForLine(child, 'ready');
    const pid = line.split(' ')[1]!;
    const holder = opened[0]!;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(holder.readerList()).toContain(pid);
    const exited = new Promise((resolve) => child.on('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    // The dead reader's slot is still in the table until someone checks; opening an engine clears it.
    await holder.close();
    const engine = await openEngine();
    expect(engine.readerList()).not.toContain(pid);
    expect(engine.clearStaleReaders()).toBe(0);
  });
});

describe('LmdbEngine specifics', () => {
  it('grows the map instead of failing when the data outgrows the initial map size', async () => {
    const engine = await openEngine({ mapSize: 1024 * 1024 });
    const value = new Uint8Array(64 * 1024).fill(7);
    for (let batch = 0; batch < 4; batch++) {
      await engine.write(['records'], async (tx) => {
        for (let i = 0; i < 100; i++) await tx.put('records', utf8(`b${batch}:${i}`), value);
      });
    }
    expect(await engine.count('records')).toBe(400);
    const stats = await engine.stats();
    expect(stats.bytesOnDisk).toBeGreaterThan(400 * 64 * 1024);
    expect(await engine.get('records', utf8('b3:99'))).toEqual(value);
  });

  it('stats report a data file they cannot stat as IO, not as an unknown size', async () => {
    const engine = await openEngine();
    await engine.put('records', k(1), k(1));
    await rm(join(engine.path, 'data.mdb')); // the map stays valid: only the name is gone
    const error = await expectStorageError(engine.stats(), 'IO');
    expect(error.cause).toMatchObject({ code: 'ENOENT' });
  });

  it('ends a read transaction that outlives its time limit, so it stops pinning old pages', async () => {
    const engine = await openEngine({ readTransactionTimeoutMs: 50 });
    await engine.put('records', k(1), k(1));
    const error = await expectStorageError(
      engine.read(['records'], async (tx) => {
        await tx.get('records', k(1));
        await new Promise((resolve) => setTimeout(resolve, 120));
        return tx.get('records', k(1));
      }),
      'TRANSACTION_INACTIVE',
    );
    expect(error.message).toContain('time limit');
    // Writers were never blocked and later readers see the newest data.
    await engine.put('records', k(1), k(2));
    expect(await engine.get('records', k(1))).toEqual(k(2));
  });

  it('a second engine on an environment this process has open is refused with LOCKED, also through a symlink', async () => {
    const first = await openEngine();
    await first.put('records', k(1), k(1));
    await symlink(join(dir, 'env'), join(dir, 'link'));
    for (const path of [join(dir, 'env'), join(dir, 'link'), `${join(dir, 'env')}/`]) {
      await expect(LmdbEngine.open({ path, stores: ['records'] })).rejects.toMatchObject({
        code: 'LOCKED',
        message: expect.stringContaining('Share that engine'),
      });
    }
    expect(await first.get('records', k(1))).toEqual(k(1)); // the refused opens changed nothing
    await first.close();
    const again = await openEngine({ path: join(dir, 'link') });
    expect(await again.get('records', k(1))).toEqual(k(1));
  });

  it('LOCKED also through aliases of directories the first open created, and through a symlink followed by ..', async () => {
    await mkdir(join(dir, 'real', 'sub'), { recursive: true });
    await symlink(join(dir, 'real'), join(dir, 'link'));
    await symlink(join(dir, 'real', 'sub'), join(dir, 'deep'));
    // 'link/a' does not exist yet: the first open creates real/a through the link.
    const first = await LmdbEngine.open({ path: join(dir, 'link', 'a', 'env'), stores: ['records'] });
    // 'deep/..' is real/ on disk (the link is followed first), not dir/ as a lexical resolve would make it.
    const second = await LmdbEngine.open({ path: join(dir, 'real', 'env'), stores: ['records'] });
    const aliases = [join(dir, 'real', 'a', 'env'), `${join(dir, 'deep')}/../a/env`];
    for (const path of aliases) await expectStorageError(LmdbEngine.open({ path, stores: ['records'] }), 'LOCKED');
    await expectStorageError(LmdbEngine.open({ path: `${join(dir, 'deep')}/../env`, stores: ['records'] }), 'LOCKED');
    await first.close();
    await second.close();
    const again = await LmdbEngine.open({ path: aliases[0]!, stores: ['records'] });
    await again.close();
  });

  it('borrow hands out a view of exactly the value, inside LMDB memory', async () => {
    const engine = await openEngine();
    await engine.put('records', k(1), new Uint8Array(1200).fill(3));
    const seen = engine.borrow('records', k(1), (value) => ({
      length: value!.length,
      byteLength: value!.byteLength,
      plain: value!.constructor === Uint8Array,
      shared: value!.buffer.byteLength > value!.byteLength,
      last: value![1199],
    }));
    expect(seen).toEqual({ length: 1200, byteLength: 1200, plain: true, shared: true, last: 3 });
  });

  it('a delete whose existence read fails (inside a borrow callback) fails its transaction, even when caught', async () => {
    const engine = await openEngine();
    await engine.put('records', k(1), k(1));
    await engine.put('records', k(2), k(2));
    const writing = engine.write(['records'], async (tx) => {
      let deleting: Promise<boolean> | undefined;
      engine.borrow('records', k(1), () => {
        deleting = tx.delete('records', k(2));
      });
      await expectStorageError(deleting!, 'INVALID_ARGUMENT');
    });
    await expectStorageError(writing, 'INVALID_ARGUMENT');
    expect(await engine.get('records', k(2))).toEqual(k(2));
  });

  it('borrow refuses the borrowed ArrayBuffer and objects or arrays holding the view, which later reads overwrite', async () => {
    const engine = await openEngine();
    await engine.put('records', k(1), k(1, 1, 1));
    const refused: unknown[] = [];
    for (const wrap of [
      (value: Uint8Array) => value.buffer,
      (value: Uint8Array) => ({ value }),
      (value: Uint8Array) => [k(9), value],
      (value: Uint8Array) => ({ buffer: value.buffer, offset: value.byteOffset }),
    ]) {
      refused.push(await expectStorageError(() => engine.borrow('records', k(1), (value) => wrap(value!)), 'INVALID_ARGUMENT'));
    }
    expect(refused).toHaveLength(4);
    // A getter of the result is not run: it would read the view after the loan ended.
    let getterRuns = 0;
    engine.borrow('records', k(1), (value) => ({
      get late() {
        getterRuns++;
        return value;
      },
    }));
    expect(getterRuns).toBe(0);
    // Copies and what was read from the view are fine, wrapped or not.
    expect(engine.borrow('records', k(1), (value) => ({ value: value!.slice(), first: value![0] }))).toEqual({ value: k(1, 1, 1), first: 1 });
  });

  it('borrow refuses a callback that returns the view or a promise, with INVALID_ARGUMENT', async () => {
    const engine = await openEngine();
    await engine.put('records', k(1), new Uint8Array(1200).fill(3));
    expect(() => engine.borrow('records', k(1), (value) => value)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }) as Error);
    expect(() => engine.borrow('records', k(1), (value) => value!.subarray(10))).toThrow(/return a copy/);
    expect(() => engine.borrow('records', k(1), async (value) => value![0])).toThrow(/synchronous callback/);
    expect(engine.borrow('records', k(1), (value) => value!.slice(0, 2))).toEqual(new Uint8Array([3, 3]));
    expect(engine.borrow('records', k(9), (value) => value)).toBeUndefined();
  });

  it('reads inside a borrow callback, which would overwrite the borrowed bytes, fail with INVALID_ARGUMENT', async () => {
    const engine = await openEngine();
    const other = await openEngine({ path: join(dir, 'other') }); // lmdb-js reads every environment through one buffer
    await engine.put('records', k(1), k(1, 1, 1, 1));
    await engine.put('records', k(2), k(2, 2));
    await other.put('records', k(3), k(3, 3, 3));
    const inside: Array<() => unknown> = [
      () => engine.borrow('records', k(2), (v) => v?.slice()),
      () => other.borrow('records', k(3), (v) => v?.slice()),
    ];
    for (const read of inside) {
      const seen = engine.borrow('records', k(1), (value) => {
        let error: unknown;
        try {
          read();
        } catch (caught) {
          error = caught;
        }
        return { bytes: Array.from(value!), error };
      });
      expect(seen.bytes).toEqual([1, 1, 1, 1]);
      expect(seen.error).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('inside a borrow() callback') });
    }
    const asynchronous: Array<() => Promise<unknown>> = [
      () => engine.get('records', k(2)),
      () => engine.getMany('records', [k(2)]),
      () => engine.scan('records'),
      () => other.get('records', k(3)),
    ];
    for (const read of asynchronous) {
      let pending: Promise<unknown> | undefined;
      const bytes = engine.borrow('records', k(1), (value) => {
        pending = read();
        return Array.from(value!);
      });
      expect(bytes).toEqual([1, 1, 1, 1]);
      await expect(pending).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
    // Key scans and counts read no values: they work inside the callback and leave the borrowed bytes as they were.
    let keysAndCount: Promise<unknown> | undefined;
    const untouched = engine.borrow('records', k(1), (value) => {
      keysAndCount = Promise.all([engine.scanKeys('records'), engine.count('records'), other.scanKeys('records')]);
      return Array.from(value!);
    });
    expect(untouched).toEqual([1, 1, 1, 1]);
    expect(await keysAndCount).toEqual([[k(1), k(2)], 2, [k(3)]]);
    // After the callback, reads work again, and a callback that threw does not leave borrowing on.
    expect(() => engine.borrow('records', k(1), () => {
      throw new Error('boom');
    })).toThrow('boom');
    expect(await engine.get('records', k(2))).toEqual(k(2, 2));
    expect(engine.borrow('records', k(2), (v) => v?.slice())).toEqual(k(2, 2));
  });

  it('borrow refuses a record view or a metadata view of the borrowed record, and takes what was read from them', async () => {
    const engine = await openEngine();
    const message = encodeNode({
      type: 'Message', id: nodeId('msg_1'), chatId: nodeId('chat_1'), sender: 'user', timestamp: 1, textContent: 'hi',
      attachmentIds: [], metadata: { tokens: 12, source: 'first' },
    });
    await engine.put('records', k(1), message);
    const refused = expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('MetadataView') });
    expect(() => engine.borrow('records', k(1), (value) => nodeView(value!))).toThrow(refused);
    expect(() => engine.borrow('records', k(1), (value) => (nodeView(value!) as NodeViewOf<'Message'>).metadata)).toThrow(refused);
    expect(() => engine.borrow('records', k(1), (value) => (nodeView(value!) as NodeViewOf<'Message'>).metadata.get('source'))).toThrow(refused);
    expect(engine.borrow('records', k(1), (value) => (nodeView(value!) as NodeViewOf<'Message'>).metadata.toJSON())).toEqual({ tokens: 12, source: 'first' });
    // A view over a copy is the caller's own.
    const own = engine.borrow('records', k(1), (value) => nodeView(value!.slice()) as NodeViewOf<'Message'>);
    expect(own.metadata.get('tokens')!.toJSON()).toBe(12);
  });

  it('get returns plain Uint8Arrays that own exactly their bytes', async () => {
    const engine = await openEngine();
    await engine.put('records', k(1), k(1, 2, 3));
    const value = (await engine.get('records', k(1)))!;
    expect(value.constructor).toBe(Uint8Array);
    expect(value.buffer.byteLength).toBe(3);
    const [entry] = await engine.scan('records');
    expect(entry!.value.constructor).toBe(Uint8Array);
    expect(entry!.key.constructor).toBe(Uint8Array);
  });

  it('opening a file that is not an LMDB environment fails with CORRUPTED and leaves the file alone', async () => {
    const path = join(dir, 'broken');
    await rm(path, { recursive: true, force: true });
    const { mkdir, readFile } = await import('node:fs/promises');
    await mkdir(path);
    const garbage = new Uint8Array(64 * 1024).fill(0x41);
    await writeFile(join(path, 'data.mdb'), garbage);
    const error = await expectStorageError(LmdbEngine.open({ path, stores: ['records'] }), 'CORRUPTED');
    expect(error.message).toContain(join(path, 'data.mdb'));
    expect(new Uint8Array(await readFile(join(path, 'data.mdb')))).toEqual(garbage);
  });
});

describe('LmdbEngine when a commit fails (a file size limit stands in for a full disk)', () => {
  for (const mode of ['fill', 'fill-clear']) {
    it.skipIf(process.platform === 'win32')(
      `${mode}: the failed transaction writes nothing, reports lmdb-js's real cause, leaves no unhandled rejection, and the engine still flushes and closes`,
      async () => {
        const out = await runFixture('lmdb-child.ts', [mode, join(dir, 'env')], { fileSizeLimitKiB: 2048 });
        const { failure, before, after, flushed, closed, unhandled } = JSON.parse(out) as {
          failure?: { code: string; message: string; cause: string };
          before: number[];
          after: number[];
          flushed: string;
          closed: string;
          unhandled: string[];
        };
        expect(failure).toBeDefined();
        expect(unhandled).toEqual([]);
        expect({ flushed, closed }).toEqual({ flushed: 'ok', closed: 'ok' });
        expect(after).toEqual(before);
        expect(['IO', 'STORAGE_FULL']).toContain(failure!.code);
        // lmdb-js only says "Commit failed (see commitError for details)": the reason is in that promise.
        expect(failure!.message).not.toContain('see commitError');
        expect(failure!.message).toMatch(/Input\/output error|File too large|No space left/);
        expect(failure!.message).toMatch(/disk.*full|free.*space/i);
      },
    );
  }
});

describe('LmdbEngine when the recovery after a failed commit fails too', () => {
  it('reports both causes, the graver code, and says flush() and close() may not finish', async () => {
    const engine = await openEngine();
    // Stand-ins for lmdb-js failing the commit's transaction and then the empty transaction that settles its flush (own
    // properties over the prototype's methods: deleting them afterwards lets afterEach close the engine for real).
    const root = (engine as unknown as { root: { childTransaction: unknown; transaction: unknown } }).root;
    const commit = new Error('EIO: i/o error');
    const recovery = new Error('MDB_PANIC: environment in a fatal state');
    root.childTransaction = () => Promise.reject(commit);
    root.transaction = () => Promise.reject(recovery);
    try {
      const failure = await engine.put('records', k(1), k(1)).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(StorageError);
      const error = failure as StorageError;
      // EIO alone is IO; MDB_PANIC, LMDB's fatal state, is CORRUPTED, and the report takes the graver.
      expect(error.code).toBe('CORRUPTED');
      expect(error.message).toContain('EIO');
      expect(error.message).toContain('Could not recover from it: MDB_PANIC');
      expect(error.message).toMatch(/close\(\) may not finish/);
      expect(error.cause).toBeInstanceOf(AggregateError);
      expect((error.cause as AggregateError).errors).toEqual([commit, recovery]);
    } finally {
      delete root.childTransaction;
      delete root.transaction;
    }
  });
});

describe('LmdbEngine closing under a read transaction', () => {
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

  it('a read transaction still open when the engine closes ends cleanly: its result stands, later reads fail with CLOSED', async () => {
    const engine = await openEngine();
    await engine.put('records', k(1), k(1));
    const result = await engine.read(['records'], async (tx) => {
      await tx.get('records', k(1));
      await sleep(20); // lmdb-js has moved on to a newer read transaction: this one is an older snapshot now
      await engine.close();
      await expectStorageError(tx.get('records', k(1)), 'CLOSED');
      return 'kept';
    });
    expect(result).toBe('kept');
  });

  for (const aged of [false, true]) {
    it(`every read issued while close() runs succeeds or fails with CLOSED (${aged ? 'older' : 'current'} snapshot)`, async () => {
      const engine = await openEngine();
      await engine.put('records', k(1), k(1));
      const outcomes = await engine.read(['records'], async (tx) => {
        await tx.get('records', k(1));
        if (aged) await sleep(20);
        let done = false;
        const closing = engine.close().then(() => (done = true));
        const seen = new Set<string>();
        // One read per microtask: some land after LMDB closed the environment but before close() resolved.
        for (let i = 0; i < 100 && !done; i++) {
          await Promise.resolve();
          seen.add(
            await tx.count('records').then(
              (n) => `count ${n}`,
              (error: unknown) => (error instanceof StorageError ? error.code : `untyped ${String(error)}`),
            ),
          );
        }
        await closing;
        return [...seen].sort();
      });
      expect(outcomes).toContain('CLOSED');
      expect(outcomes.filter((outcome) => outcome !== 'CLOSED' && outcome !== 'count 1')).toEqual([]);
    });
  }
});

describe('LmdbEngine.open arguments', () => {
  it('a missing or empty path fails with INVALID_ARGUMENT instead of opening a temporary environment', async () => {
    for (const path of [undefined, '', 42]) {
      const opening = LmdbEngine.open({ path, stores: ['records'] } as unknown as Parameters<typeof LmdbEngine.open>[0]);
      const engine = await opening.catch(() => undefined);
      if (engine !== undefined) opened.push(engine);
      await expectStorageError(opening, 'INVALID_ARGUMENT');
    }
  });

  it('missing or bad store names and options fail with INVALID_ARGUMENT before any file is created', async () => {
    const path = join(dir, 'env');
    for (const stores of [undefined, [], ['a', 'a'], [''], [7]]) {
      await expectStorageError(
        LmdbEngine.open({ path, stores } as unknown as Parameters<typeof LmdbEngine.open>[0]),
        'INVALID_ARGUMENT',
      );
      expect(existsSync(path)).toBe(false);
    }
    for (const readTransactionTimeoutMs of ['100', 0, Number.NaN]) {
      await expectStorageError(LmdbEngine.open({ path, stores: ['a'], readTransactionTimeoutMs: readTransactionTimeoutMs as number }), 'INVALID_ARGUMENT');
      expect(existsSync(path)).toBe(false);
    }
    // lmdb-js crashed the process (SIGSEGV) on map sizes from about 2^47, and took NaN, strings and -1 readers.
    for (const mapSize of [2 ** 47, 1e20, -1, 0, Number.NaN, 1.5, '1000000']) {
      await expectStorageError(LmdbEngine.open({ path, stores: ['a'], mapSize: mapSize as number }), 'INVALID_ARGUMENT');
      expect(existsSync(path)).toBe(false);
    }
    for (const maxReaders of [0, -1, 1.5, 'x', 70_000]) {
      await expectStorageError(LmdbEngine.open({ path, stores: ['a'], maxReaders: maxReaders as number }), 'INVALID_ARGUMENT');
      expect(existsSync(path)).toBe(false);
    }
  });

  it('store names LMDB would merge (cut at U+0000, lone surrogates replaced) are refused: one could clear the other', async () => {
    const path = join(dir, 'env');
    for (const stores of [['notes', 'notes\u0000archive'], ['a\uD800'], ['\uDBFF']]) {
      await expectStorageError(LmdbEngine.open({ path, stores }), 'INVALID_ARGUMENT');
      expect(existsSync(path)).toBe(false);
    }
  });

  it('a path with an extension is a directory like any other; an existing single-file environment still opens', async () => {
    const versioned = join(dir, 'store.v2');
    await mkdir(versioned);
    const engine = await LmdbEngine.open({ path: versioned, stores: ['records'] });
    opened.push(engine);
    await engine.put('records', k(1), k(1));
    expect((await readdir(dir)).sort()).toEqual(['store.v2']);
    expect((await readdir(versioned)).sort()).toEqual(['data.mdb', 'lock.mdb']);
    const created = await LmdbEngine.open({ path: join(dir, 'new.lmdb'), stores: ['records'] });
    opened.push(created);
    expect((await stat(join(dir, 'new.lmdb'))).isDirectory()).toBe(true);
    // lmdb-js's own single-file layout (made here through lmdb-js directly) keeps opening as one.
    const single = join(dir, 'single.db');
    const raw = open({ path: single, noSubdir: true });
    await raw.put('x', 'y');
    await raw.close();
    const fromFile = await LmdbEngine.open({ path: single, stores: ['records'] });
    opened.push(fromFile);
    expect((await stat(single)).isFile()).toBe(true);
  });

  it('a LevelDB database is refused with INVALID_ARGUMENT and left as it was', async () => {
    const level = join(dir, 'level');
    await mkdir(level);
    await writeFile(join(level, 'CURRENT'), 'MANIFEST-000001\n');
    const error = await expectStorageError(LmdbEngine.open({ path: level, stores: ['records'] }), 'INVALID_ARGUMENT');
    expect(error.message).toContain('LevelEngine');
    expect(await readdir(level)).toEqual(['CURRENT']);
  });

  it("an environment's data.mdb is refused: opened as a file it would not share the environment's lock", async () => {
    const engine = await openEngine();
    await engine.put('records', k(1), k(1));
    const error = await expectStorageError(LmdbEngine.open({ path: join(dir, 'env', 'data.mdb'), stores: ['records'] }), 'INVALID_ARGUMENT');
    expect(error.message).toContain('open that directory instead');
  });
});

describe('LmdbEngine refuses files that would crash lmdb-js', () => {
  for (const [name, bytes] of [
    ['a short file', new Uint8Array(20).fill(1)],
    ['a valid first meta page and a broken second one', (() => {
      const b = new Uint8Array(8192);
      new DataView(b.buffer).setUint32(24, 0xbeefc0de, true);
      new DataView(b.buffer).setUint32(48, 4096, true);
      return b;
    })()],
  ] as const) {
    it(`${name} gives CORRUPTED`, async () => {
      const path = join(dir, 'broken');
      const { mkdir } = await import('node:fs/promises');
      await mkdir(path);
      await writeFile(join(path, 'data.mdb'), bytes);
      const error = await expectStorageError(LmdbEngine.open({ path, stores: ['records'] }), 'CORRUPTED');
      expect(error.message).toContain('left untouched');
    });
  }

  it('a data file cut short (a copy or restore that stopped) gives CORRUPTED instead of a bus error', async () => {
    const path = join(dir, 'env');
    const engine = await LmdbEngine.open({ path, stores: ['records'] });
    await engine.write(['records'], async (tx) => {
      for (let i = 0; i < 2000; i++) await tx.put('records', k(i >> 8, i & 0xff), new Uint8Array(1000).fill(i & 0xff));
    });
    await engine.close();
    const size = (await stat(join(path, 'data.mdb'))).size;
    await truncate(join(path, 'data.mdb'), size - 4096);
    const error = await expectStorageError(LmdbEngine.open({ path, stores: ['records'] }), 'CORRUPTED');
    expect(error.message).toContain('cut short');
    expect((await stat(join(path, 'data.mdb'))).size).toBe(size - 4096);
  });

  it('a lock file that is not a regular file gives CORRUPTED instead of a segmentation fault', async () => {
    const path = join(dir, 'env');
    const engine = await LmdbEngine.open({ path, stores: ['records'] });
    await engine.close();
    await rm(join(path, 'lock.mdb'));
    await mkdir(join(path, 'lock.mdb'));
    const error = await expectStorageError(LmdbEngine.open({ path, stores: ['records'] }), 'CORRUPTED');
    expect(error.message).toContain('lock file');
  });

  it('an empty data file is initialised normally', async () => {
    const path = join(dir, 'empty');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(path);
    await writeFile(join(path, 'data.mdb'), new Uint8Array(0));
    const engine = await LmdbEngine.open({ path, stores: ['records'] });
    opened.push(engine);
    await engine.put('records', k(1), k(1));
    expect(await engine.count('records')).toBe(1);
  });
});
