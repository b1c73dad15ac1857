import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { StorageError, type StorageErrorCode } from '@tabstore/sdk';
import { expectStorageError, k, testEngineConformance, utf8, type EngineFixture } from '@tabstore/sdk/testing';
import { LevelEngine } from '../src/level-engine.js';

/** A fresh LevelDB directory per fixture, removed by `destroy`. */
async function levelFixture(): Promise<EngineFixture<LevelEngine>> {
  const dir = await mkdtemp(join(tmpdir(), 'tabstore-level-'));
  const location = join(dir, 'db');
  return {
    open: (stores) => LevelEngine.open({ location, stores }),
    destroy: () => rm(dir, { recursive: true, force: true }),
  };
}

testEngineConformance('LevelEngine', levelFixture);

const text = new TextDecoder();
/** The (operations, options) of each `db.batch` call a spy saw (its type only knows the chained overload). */
const batchCalls = (spy: { mock: { calls: unknown[] } }): [unknown, unknown][] => spy.mock.calls as [unknown, unknown][];
const LEGACY_STORES = ['nodes', 'edges', 'embeddings'] as const;

describe('LevelEngine', () => {
  let dir: string;
  let location: string;
  const engines: LevelEngine[] = [];
  const open = async (stores: readonly string[] = ['a', 'b'], readTransactionTimeoutMs?: number): Promise<LevelEngine> => {
    const engine = await LevelEngine.open({ location, stores, readTransactionTimeoutMs });
    engines.push(engine);
    return engine;
  };
  /** Lists every key of the whole database with classic-level's own API (as latin1 strings). */
  const rawKeys = async (): Promise<string[]> => {
    const raw = new ClassicLevel<Uint8Array, Uint8Array>(location, { keyEncoding: 'view', valueEncoding: 'view' });
    try {
      return (await raw.keys().all()).map((key) => Buffer.from(key).toString('latin1'));
    } finally {
      await raw.close();
    }
  };
  const logFiles = async (): Promise<string[]> => (await readdir(location)).filter((name) => name.endsWith('.log'));

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tabstore-level-'));
    location = join(dir, 'db');
  });

  afterEach(async () => {
    vi.restoreAllMocks();
    for (const engine of engines.splice(0)) await engine.close();
    await rm(dir, { recursive: true, force: true });
  });

  describe('legacy databases', () => {
    const message = JSON.stringify({
      Message: {
        id: 'msg_1',
        chat_id: 'chat_1',
        sender: 'user',
        timestamp: 1700000000000,
        text_content: 'h\u00e9llo \u{1F44B}',
        attachment_ids: [],
        embedding_id: null,
        metadata: {},
      },
    });
    const chat = JSON.stringify({ Chat: { id: 'chat_1', title: 'T', topic: 'x', created_at: 1, updated_at: 2, message_ids: ['msg_1'], summary_ids: [], metadata: {} } });
    const entity = JSON.stringify({ Entity: { id: 'ent_\u00fc\u{1F600}', label: 'Ada', entity_type: 'PERSON', metadata: {} } });
    const edge = JSON.stringify({ id: 'edge_1', from_node: 'chat_1', to_node: 'msg_1', edge_type: 'CONTAINS_MESSAGE', created_at: 3, metadata: { confidence: 0.95 } });
    const embedding = JSON.stringify({ id: 'embed_001', vector: [0.1, -0.2, 0.3], model: 'all-MiniLM-L6-v2' });

    /** Writes a database the way the legacy app did: default sublevels, utf8 keys, JSON text values. */
    const writeLegacy = async (): Promise<void> => {
      const db = new ClassicLevel(location);
      const nodes = db.sublevel('nodes');
      await nodes.put('msg_1', message);
      await nodes.put('chat_1', chat);
      await nodes.put('ent_\u00fc\u{1F600}', entity);
      await db.sublevel('edges').put('edge_1', edge);
      await db.sublevel('embeddings').put('embed_001', embedding);
      await db.sublevel('structural_index').put('type:Message:msg_1', '');
      await db.sublevel('graph_outgoing').put('chat_1:CONTAINS_MESSAGE:edge_1', '');
      await db.put('schema_version', '1');
      await db.close();
    };

    it('reads the records of nodes, edges and embeddings: key = id bytes, value = the exact JSON bytes', async () => {
      await writeLegacy();
      const engine = await open(LEGACY_STORES);
      const nodes = await engine.scan('nodes');
      expect(nodes.map((entry) => text.decode(entry.key))).toEqual(['chat_1', 'ent_\u00fc\u{1F600}', 'msg_1']);
      expect(nodes.map((entry) => entry.value)).toEqual([utf8(chat), utf8(entity), utf8(message)]);
      const value = (await engine.get('nodes', utf8('msg_1')))!;
      expect(value).toEqual(utf8(message));
      expect(JSON.parse(text.decode(value))).toMatchObject({ Message: { chat_id: 'chat_1', timestamp: 1700000000000 } });
      expect(await engine.getMany('edges', [utf8('edge_1'), utf8('nope')])).toEqual([utf8(edge), undefined]);
      expect(await engine.get('embeddings', utf8('embed_001'))).toEqual(utf8(embedding));
    });

    it('ignores the old index sublevels and root keys', async () => {
      await writeLegacy();
      const engine = await open(LEGACY_STORES);
      expect((await engine.stats()).entries).toEqual({ nodes: 3, edges: 1, embeddings: 1 });
      expect(await engine.count('nodes')).toBe(3);
      expect(await engine.scanKeys('edges', { reverse: true })).toEqual([utf8('edge_1')]);
    });

    it('writes the legacy layout: the old API reads what the engine wrote, and clear touches one sublevel only', async () => {
      await writeLegacy();
      const engine = await open(LEGACY_STORES);
      await engine.put('nodes', utf8('msg_2'), utf8('{"Message":{"id":"msg_2"}}'));
      await engine.clear('edges');
      await engine.close();
      const db = new ClassicLevel(location);
      expect(await db.sublevel('nodes').get('msg_2')).toBe('{"Message":{"id":"msg_2"}}');
      expect(await db.get('!nodes!msg_2')).toBe('{"Message":{"id":"msg_2"}}');
      expect(await db.sublevel('edges').keys().all()).toEqual([]);
      expect(await db.sublevel('structural_index').get('type:Message:msg_1')).toBe('');
      expect(await db.sublevel('graph_outgoing').keys().all()).toEqual(['chat_1:CONTAINS_MESSAGE:edge_1']);
      expect(await db.get('schema_version')).toBe('1');
      await db.close();
    });

    it('keeps stores whose names share a prefix apart', async () => {
      const engine = await open(['a', 'ab']);
      await engine.put('a', k(0xff), k(1));
      await engine.put('ab', k(0x00), k(2));
      expect(await engine.scan('a')).toEqual([{ key: k(0xff), value: k(1) }]);
      await engine.clear('a');
      expect(await engine.scan('ab')).toEqual([{ key: k(0x00), value: k(2) }]);
    });
  });

  describe('opening and errors', () => {
    let holder: ChildProcess | undefined;

    afterEach(async () => {
      if (holder !== undefined && holder.exitCode === null && holder.signalCode === null) {
        const exited = new Promise((resolve) => holder!.once('exit', resolve));
        holder.kill();
        await exited;
      }
      holder = undefined;
    });

    /** Starts a child process that opens `location` with classic-level and resolves once it says it is open. */
    const holdInAnotherProcess = async (): Promise<void> => {
      const script = [
        'const { ClassicLevel } = require(process.argv[1]);',
        'const db = new ClassicLevel(process.argv[2]);',
        "db.open().then(() => process.stdout.write('open\\n'), (e) => { console.error(e); process.exit(2); });",
        "process.stdin.on('end', () => process.exit(0)).resume();",
      ].join('\n');
      const classicLevel = createRequire(import.meta.url).resolve('classic-level');
      const child = spawn(process.execPath, ['-e', script, classicLevel, location], { stdio: ['pipe', 'pipe', 'pipe'] });
      holder = child;
      let stderr = '';
      child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the holder process did not open the database: ${stderr}`)), 15_000);
        child.stdout!.on('data', (chunk: Buffer) => {
          if (chunk.toString().includes('open')) {
            clearTimeout(timer);
            resolve();
          }
        });
        child.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`the holder process exited with ${code}: ${stderr}`));
        });
      });
    };

    it('a database open in another process fails with LOCKED, and opens once that process is gone', async () => {
      await holdInAnotherProcess();
      const error = await expectStorageError(LevelEngine.open({ location, stores: ['a'] }), 'LOCKED');
      expect(error.message).toMatch(/another process has the LevelDB database/i);
      expect(error.message).toMatch(/close it first/i);
      expect(error.cause).toMatchObject({ code: 'LEVEL_DATABASE_NOT_OPEN', cause: { code: 'LEVEL_LOCKED' } });
      const exited = new Promise((resolve) => holder!.once('exit', resolve));
      holder!.kill();
      await exited;
      const engine = await open(['a']);
      expect(await engine.count('a')).toBe(0);
    });

    it('a second engine on the same directory in this process fails with LOCKED', async () => {
      const first = await open(['a']);
      await expectStorageError(LevelEngine.open({ location, stores: ['a'] }), 'LOCKED');
      await first.put('a', k(1), k(1));
      await first.close();
      expect(await (await open(['a'])).get('a', k(1))).toEqual(k(1));
    });

    it('a damaged database fails with CORRUPTED', async () => {
      await (await open(['a'])).close();
      await writeFile(join(location, 'CURRENT'), 'MANIFEST-000999'); // LevelDB wants a trailing newline
      const error = await expectStorageError(LevelEngine.open({ location, stores: ['a'] }), 'CORRUPTED');
      expect(error.cause).toMatchObject({ cause: { code: 'LEVEL_CORRUPTION' } });
    });

    it('a database whose MANIFEST is gone fails with CORRUPTED (repair() rebuilds it), not IO', async () => {
      const engine = await open(['a']);
      await engine.put('a', k(1), k(1));
      await engine.close();
      for (const name of await readdir(location)) if (name.startsWith('MANIFEST-')) await rm(join(location, name));
      const error = await expectStorageError(LevelEngine.open({ location, stores: ['a'] }), 'CORRUPTED');
      expect(error.message).toContain('repair()');
    });

    it('an LMDB environment is refused with INVALID_ARGUMENT and left as it was', async () => {
      await mkdir(location);
      await writeFile(join(location, 'data.mdb'), new Uint8Array(0));
      const error = await expectStorageError(LevelEngine.open({ location, stores: ['a'] }), 'INVALID_ARGUMENT');
      expect(error.message).toContain('LmdbEngine');
      expect(await readdir(location)).toEqual(['data.mdb']);
    });

    it('a location that cannot be a directory fails with IO', async () => {
      await writeFile(join(dir, 'file'), 'x');
      await expectStorageError(LevelEngine.open({ location: join(dir, 'file', 'db'), stores: ['a'] }), 'IO');
    });

    it('bad options fail with INVALID_ARGUMENT and leave the database unlocked', async () => {
      await expectStorageError(LevelEngine.open({ location: '', stores: ['a'] }), 'INVALID_ARGUMENT');
      await expectStorageError(LevelEngine.open({ location, stores: ['has space'] }), 'INVALID_ARGUMENT');
      await expectStorageError(LevelEngine.open({ location, stores: ['a!b'] }), 'INVALID_ARGUMENT');
      await expectStorageError(LevelEngine.open({ location, stores: ['a', 'a'] }), 'INVALID_ARGUMENT');
      await expectStorageError(LevelEngine.open({ location, stores: [] }), 'INVALID_ARGUMENT');
      // Refused before classic-level creates anything.
      const fresh = join(dir, 'never-created');
      for (const stores of [[], ['a', 'a'], [''], ['a!b']]) {
        await expectStorageError(LevelEngine.open({ location: fresh, stores }), 'INVALID_ARGUMENT');
        expect(existsSync(fresh)).toBe(false);
      }
      for (const readTransactionTimeoutMs of ['100', 0, Number.NaN]) {
        await expectStorageError(LevelEngine.open({ location: fresh, stores: ['a'], readTransactionTimeoutMs: readTransactionTimeoutMs as number }), 'INVALID_ARGUMENT');
        expect(existsSync(fresh)).toBe(false);
      }
      const engine = await open(['a']);
      expect(engine.stores).toEqual(['a']);
    });

    it('maps classic-level error codes, keeping the original error as cause', async () => {
      const engine = await open(['a']);
      const map = (error: unknown): StorageError =>
        (engine as unknown as { toStorageError(e: unknown): StorageError }).toStorageError(error);
      const coded = (code: string, message = code, cause?: unknown): Error =>
        Object.assign(new Error(message, cause === undefined ? undefined : { cause }), { code });
      const cases: [unknown, StorageErrorCode][] = [
        [coded('LEVEL_DATABASE_NOT_OPEN', 'Database failed to open', coded('LEVEL_LOCKED', 'IO error: lock x/LOCK')), 'LOCKED'],
        [coded('LEVEL_LOCKED'), 'LOCKED'],
        [coded('LEVEL_CORRUPTION', 'Corruption: bad block'), 'CORRUPTED'],
        [coded('LEVEL_DATABASE_NOT_OPEN', 'Database failed to open', coded('LEVEL_CORRUPTION')), 'CORRUPTED'],
        [coded('LEVEL_DATABASE_NOT_OPEN', 'Database is not open'), 'CLOSED'],
        [coded('LEVEL_SNAPSHOT_NOT_OPEN'), 'CLOSED'],
        [coded('LEVEL_ITERATOR_NOT_OPEN'), 'CLOSED'],
        [coded('LEVEL_IO_ERROR', 'IO error: x/000005.log: No space left on device'), 'STORAGE_FULL'],
        [coded('ENOSPC', 'ENOSPC: no space left on device, write'), 'STORAGE_FULL'],
        [coded('LEVEL_DATABASE_NOT_OPEN', 'Database failed to open', coded('EACCES')), 'IO'],
        [coded('LEVEL_IO_ERROR', 'IO error: x: Permission denied'), 'IO'],
        [new TypeError('odd'), 'IO'],
      ];
      for (const [original, code] of cases) {
        const mapped = map(original);
        expect(mapped, String(original)).toBeInstanceOf(StorageError);
        expect([String(original), mapped.code]).toEqual([String(original), code]);
        expect(mapped.cause).toBe(original);
      }
    });
  });

  describe('reads', () => {
    it('returned keys and values are plain Uint8Arrays, not Buffers', async () => {
      const engine = await open();
      await engine.put('a', k(1, 2), k(3, 4));
      const [entry] = await engine.scan('a');
      const values = [entry!.key, entry!.value, (await engine.get('a', k(1, 2)))!, ...(await engine.scanKeys('a'))];
      for (const bytes of values) expect(Object.getPrototypeOf(bytes)).toBe(Uint8Array.prototype);
      expect((await engine.getMany('a', [k(1, 2)]))[0]!.constructor).toBe(Uint8Array);
    });

    it('a read transaction holds one snapshot across stores while other writes commit', async () => {
      const engine = await open();
      await engine.put('a', k(1), k(1));
      const seen = await engine.read(['a', 'b'], async (tx) => {
        await engine.write(['a', 'b'], async (w) => {
          await w.clear('a');
          await w.put('b', k(2), k(2));
        });
        return [await tx.scan('a'), await tx.count('b'), await tx.getMany('b', [k(2)])];
      });
      expect(seen).toEqual([[{ key: k(1), value: k(1) }], 0, [undefined]]);
      expect(await engine.count('a')).toBe(0);
    });

    it('readTransactionTimeoutMs ends a read transaction that runs too long', async () => {
      const engine = await open(['a'], 30);
      await expectStorageError(
        engine.read(['a'], async (tx) => {
          await new Promise((resolve) => setTimeout(resolve, 120));
          return tx.get('a', k(1));
        }),
        'TRANSACTION_INACTIVE',
      );
    });
  });

  describe('writes and durability', () => {
    it('defaults to relaxed durability and advertises the level manifest', async () => {
      const engine = await open();
      expect(engine.kind).toBe('level');
      expect(engine.supports).toMatchObject({
        snapshots: true,
        foreignAwaits: true,
        zeroCopyReads: false,
        durability: ['strict', 'relaxed'],
        defaultDurability: 'relaxed',
        multiProcess: false,
        persistent: true,
      });
      expect(Object.isFrozen(engine.supports.durability)).toBe(true);
    });

    it('commits a transaction as one batch, synchronous only for strict durability', async () => {
      const batch = vi.spyOn(ClassicLevel.prototype, 'batch');
      const engine = await open();
      await engine.write(['a', 'b'], async (tx) => {
        await tx.put('a', k(1), k(1));
        await tx.put('b', k(2), k(2));
      });
      await engine.put('a', k(3), k(3), { durability: 'strict' });
      await engine.put('a', k(4), k(4), { durability: 'relaxed' });
      expect(batchCalls(batch)).toEqual([
        [expect.arrayContaining([expect.objectContaining({ key: k(1) }), expect.objectContaining({ key: k(2) })]), { sync: false }],
        [[expect.objectContaining({ type: 'put', key: k(3) })], { sync: true }],
        [[expect.objectContaining({ type: 'put', key: k(4) })], { sync: false }],
      ]);
    });

    it('clear is part of the same atomic batch as the other writes of its transaction', async () => {
      const engine = await open();
      await engine.write(['a'], async (tx) => {
        for (let i = 0; i < 5; i++) await tx.put('a', k(i), k(i));
      });
      const batch = vi.spyOn(ClassicLevel.prototype, 'batch');
      const clear = vi.spyOn(ClassicLevel.prototype, 'clear');
      await engine.write(['a', 'b'], async (tx) => {
        await tx.clear('a');
        await tx.put('a', k(2), k(0x22));
        await tx.put('b', k(9), k(9));
      });
      expect(clear).not.toHaveBeenCalled();
      expect(batch).toHaveBeenCalledTimes(1);
      const operations = batchCalls(batch)[0]![0] as { type: string; key: Uint8Array }[];
      // The clear's deletes come first; the batch applies in order, so the later put of key 2 wins.
      expect(operations.map((op) => `${op.type} ${Array.from(op.key).join('.')}`)).toEqual([
        'del 0',
        'del 1',
        'del 2',
        'del 3',
        'del 4',
        'put 2',
        'put 9',
      ]);
      expect(await engine.scan('a')).toEqual([{ key: k(2), value: k(0x22) }]);
      expect(await engine.get('b', k(9))).toEqual(k(9));
    });

    it('a failed batch leaves every store as it was', async () => {
      const engine = await open();
      await engine.put('a', k(1), k(1));
      vi.spyOn(ClassicLevel.prototype, 'batch').mockRejectedValueOnce(
        Object.assign(new Error('IO error: x/000005.log: No space left on device'), { code: 'LEVEL_IO_ERROR' }),
      );
      await expectStorageError(
        engine.write(['a', 'b'], async (tx) => {
          await tx.clear('a');
          await tx.put('b', k(1), k(1));
        }),
        'STORAGE_FULL',
      );
      expect(await engine.get('a', k(1))).toEqual(k(1));
      expect(await engine.count('b')).toBe(0);
    });

    it('flush is a synchronous write that leaves no trace in the data', async () => {
      const del = vi.spyOn(ClassicLevel.prototype, 'del');
      const engine = await open();
      await engine.put('a', k(1), k(1));
      await engine.flush();
      expect(del).toHaveBeenCalledTimes(1);
      expect(del.mock.calls[0]![1]).toEqual({ sync: true });
      await engine.close();
      expect(await rawKeys()).toEqual(['!a!\x01']);
    });

    it('flush after LevelDB rotated its log leaves no unsynced old log behind, and the data survives', async () => {
      const engine = await open();
      // More than the 4 MiB write buffer: the next write rotates the log; the old one holds this value unsynced.
      const big = new Uint8Array(6 * 1024 * 1024).map((_, i) => (i * 7) & 0xff);
      await engine.put('a', k(1), big, { durability: 'relaxed' });
      await engine.put('a', k(2), k(2), { durability: 'relaxed' });
      await engine.flush();
      expect(await logFiles()).toHaveLength(1);
      await engine.close();
      const reopened = await open();
      expect(Buffer.compare(Buffer.from((await reopened.get('a', k(1)))!), Buffer.from(big))).toBe(0);
      expect(await reopened.get('a', k(2))).toEqual(k(2));
    });

    it('stats count bytes on disk from the files in the directory', async () => {
      const engine = await open();
      const before = (await engine.stats()).bytesOnDisk!;
      await engine.put('a', k(1), new Uint8Array(100_000).fill(7));
      const after = (await engine.stats()).bytesOnDisk!;
      expect(before).toBeGreaterThan(0);
      expect(after - before).toBeGreaterThanOrEqual(100_000);
    });
  });
});
