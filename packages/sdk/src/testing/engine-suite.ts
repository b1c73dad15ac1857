import { afterEach, beforeEach, describe, expect, it, type TestContext } from 'vitest';
import { compareBytes } from '../engine/bytes.js';
import { checkAgainstModel } from './model-check.js';
import { StorageError, type StorageErrorCode } from '../engine/errors.js';
import type { Entry, ReadTransaction, ScanOptions, StorageEngine } from '../engine/types.js';

/**
 * How the conformance suite gets engines. One fixture is one location (a directory, a database name, a memory
 * volume); `open` may be called again after the engine was closed and must then see the committed data.
 */
export interface EngineFixture<E extends StorageEngine = StorageEngine> {
  /** Opens (or reopens) the engine at this fixture's location, declaring `stores`. */
  open(stores: readonly string[]): Promise<E>;
  /** Removes what the fixture created. Called after the test, once the engine is closed. */
  destroy?(): Promise<void>;
}

/** Stores every test engine declares. */
export const SUITE_STORES = ['a', 'b'] as const;

/** Bytes from numbers: `k(1, 2)` is `Uint8Array [1, 2]`. */
export const k = (...bytes: number[]): Uint8Array => Uint8Array.from(bytes);
const text = new TextEncoder();
/** UTF-8 bytes of a string. */
export const utf8 = (s: string): Uint8Array => text.encode(s);
const hex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
const keysOf = (entries: readonly Entry[]): string[] => entries.map((e) => hex(e.key));
const hexes = (keys: readonly Uint8Array[]): string[] => keys.map(hex);

/**
 * The unhandled promise rejections while `work` runs and `settleMs` after it (in Node and in browsers, where they
 * are kept from reaching the console).
 */
export async function unhandledDuring(work: () => Promise<void>, settleMs = 20): Promise<unknown[]> {
  const unhandled: unknown[] = [];
  const onNode = (reason: unknown): void => void unhandled.push(reason);
  const onBrowser = (event: PromiseRejectionEvent): void => {
    unhandled.push(event.reason);
    event.preventDefault();
  };
  const proc = (globalThis as { process?: { on(e: string, f: unknown): void; off(e: string, f: unknown): void } }).process;
  proc?.on('unhandledRejection', onNode);
  globalThis.addEventListener?.('unhandledrejection', onBrowser);
  try {
    await work();
    await new Promise((resolve) => setTimeout(resolve, settleMs));
  } finally {
    proc?.off('unhandledRejection', onNode);
    globalThis.removeEventListener?.('unhandledrejection', onBrowser);
  }
  return unhandled;
}

/** Resolves with the StorageError that `work` fails with, and checks its code. */
export async function expectStorageError(
  work: (() => unknown) | Promise<unknown>,
  code: StorageErrorCode,
): Promise<StorageError> {
  let caught: unknown;
  try {
    await (typeof work === 'function' ? work() : work);
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected a StorageError ${code}`).toBeInstanceOf(StorageError);
  const error = caught as StorageError;
  expect(error.code).toBe(code);
  expect(error.message.length).toBeGreaterThan(10);
  return error;
}

function detachedBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  structuredClone(bytes.buffer, { transfer: [bytes.buffer] });
  return bytes;
}

/**
 * Runs the engine conformance suite: every engine calls this once from a Vitest file.
 *
 * ```ts
 * testEngineConformance('LmdbEngine', () => lmdbFixture());
 * ```
 * Optional behaviour is switched on and off by the engine's `supports` manifest.
 */
export function testEngineConformance<E extends StorageEngine>(
  name: string,
  createFixture: () => EngineFixture<E> | Promise<EngineFixture<E>>,
): void {
  describe(`${name} conformance`, () => {
    let fixture: EngineFixture<E>;
    let engine: E;
    const opened: E[] = [];

    const reopen = async (): Promise<E> => {
      await engine.close();
      engine = await fixture.open(SUITE_STORES);
      opened.push(engine);
      return engine;
    };
    const fill = async (store: string, keys: readonly Uint8Array[]): Promise<void> => {
      await engine.write([store], async (tx) => {
        for (const key of keys) await tx.put(store, key, k(...key, 0xee));
      });
    };
    /** Keys 0x10..0x19, and 0x20 0x00..0x04, used by the range tests. */
    const RANGE_KEYS = [...Array.from({ length: 10 }, (_, i) => k(0x10 + i)), ...Array.from({ length: 5 }, (_, i) => k(0x20, i))];
    const rangeHex = (from: number, to: number): string[] => RANGE_KEYS.slice(from, to).map(hex);

    beforeEach(async () => {
      fixture = await createFixture();
      engine = await fixture.open(SUITE_STORES);
      opened.push(engine);
    });

    afterEach(async () => {
      for (const e of opened.splice(0)) await e.close();
      await fixture.destroy?.();
    });

    describe('basic reads and writes', () => {
      it('get of a missing key resolves to undefined', async () => {
        expect(await engine.get('a', k(1))).toBeUndefined();
      });

      it('put then get returns the same bytes', async () => {
        await engine.put('a', k(1), k(9, 8, 7));
        expect(await engine.get('a', k(1))).toEqual(k(9, 8, 7));
      });

      it('put replaces an existing value', async () => {
        await engine.put('a', k(1), k(1));
        await engine.put('a', k(1), k(2, 2));
        expect(await engine.get('a', k(1))).toEqual(k(2, 2));
        expect(await engine.count('a')).toBe(1);
      });

      it('delete reports true for an existing key and removes it', async () => {
        await engine.put('a', k(1), k(1));
        expect(await engine.delete('a', k(1))).toBe(true);
        expect(await engine.get('a', k(1))).toBeUndefined();
      });

      it('delete reports false for a missing key', async () => {
        expect(await engine.delete('a', k(5))).toBe(false);
      });

      it('stores are separate namespaces', async () => {
        await engine.put('a', k(1), k(0xa));
        await engine.put('b', k(1), k(0xb));
        expect(await engine.get('a', k(1))).toEqual(k(0xa));
        expect(await engine.get('b', k(1))).toEqual(k(0xb));
        await engine.delete('a', k(1));
        expect(await engine.get('b', k(1))).toEqual(k(0xb));
      });

      it('getMany returns values in the order asked, undefined where absent, duplicates allowed', async () => {
        await fill('a', [k(1), k(3)]);
        const values = await engine.getMany('a', [k(3), k(2), k(1), k(3)]);
        expect(values).toEqual([k(3, 0xee), undefined, k(1, 0xee), k(3, 0xee)]);
        expect(await engine.getMany('a', [])).toEqual([]);
      });

      it('a returned value belongs to the caller: changing it does not change the store', async () => {
        await engine.put('a', k(1), k(1, 2, 3));
        const value = (await engine.get('a', k(1)))!;
        value[0] = 99;
        const [scanned] = await engine.scan('a');
        scanned!.value[1] = 99;
        scanned!.key[0] = 99;
        expect(await engine.get('a', k(1))).toEqual(k(1, 2, 3));
        expect(value).toEqual(k(99, 2, 3));
      });

      it('keys and values from getMany, scanKeys and transactions belong to the caller too', async () => {
        await engine.put('a', k(1), k(1, 2, 3));
        const spoil = (bytes: Uint8Array | undefined): void => void bytes?.fill(99);
        // Every read a reader has; each result is changed in place.
        const spoilEveryRead = async (reader: ReadTransaction | StorageEngine): Promise<void> => {
          spoil(await reader.get('a', k(1)));
          (await reader.getMany('a', [k(1)])).forEach(spoil);
          for (const entry of await reader.scan('a')) [entry.value, entry.key].forEach(spoil);
          (await reader.scanKeys('a')).forEach(spoil);
        };
        await spoilEveryRead(engine);
        await engine.read(['a'], spoilEveryRead);
        await engine.write(['a'], async (tx) => {
          await spoilEveryRead(tx);
          expect(await tx.get('a', k(1))).toEqual(k(1, 2, 3));
        });
        expect(await engine.scan('a')).toEqual([{ key: k(1), value: k(1, 2, 3) }]);
      });

      it('a zero-length value is present: get, getMany, scan, count and transactions see it', async () => {
        await engine.put('a', k(1), new Uint8Array(0));
        expect(await engine.get('a', k(1))).toEqual(new Uint8Array(0));
        expect(await engine.getMany('a', [k(1), k(2)])).toEqual([new Uint8Array(0), undefined]);
        expect(await engine.scan('a')).toEqual([{ key: k(1), value: new Uint8Array(0) }]);
        expect(await engine.count('a')).toBe(1);
        await engine.write(['a'], async (tx) => {
          await tx.put('a', k(2), new Uint8Array(0));
          expect(await tx.getMany('a', [k(1), k(2)])).toEqual([new Uint8Array(0), new Uint8Array(0)]);
          expect(await tx.count('a')).toBe(2);
          expect(await tx.delete('a', k(1))).toBe(true);
        });
        expect(await engine.scanKeys('a')).toEqual([k(2)]);
      });

      it('changing a value after its write resolved does not change the store', async () => {
        const value = k(1, 2, 3);
        await engine.put('a', k(1), value);
        value.fill(0);
        expect(await engine.get('a', k(1))).toEqual(k(1, 2, 3));
      });

      // Node's Buffer is a Uint8Array whose slice() is a view of the same memory: an engine that copies arguments
      // with slice() keeps the caller's memory. (Skipped where there is no Buffer.)
      const NodeBuffer = (globalThis as { Buffer?: { from(bytes: Uint8Array): Uint8Array; alloc(n: number, fill: number): Uint8Array } }).Buffer;
      it.skipIf(NodeBuffer === undefined)('Buffer arguments are copied: a large value, a prefix and scan bounds keep what they were at the call', async () => {
        const value = NodeBuffer!.alloc(20 * 1024, 7); // above the change set's shared-chunk size: copied on its own
        await engine.write(['a'], async (tx) => {
          await tx.put('a', k(1), value);
          value.fill(9);
        });
        expect(await engine.get('a', k(1))).toEqual(new Uint8Array(20 * 1024).fill(7));
        await engine.put('a', k(2, 1), k(5));
        const prefix = NodeBuffer!.from(k(2));
        expect((await engine.scan('a', { prefix })).map((e) => e.value)).toEqual([k(5)]);
        expect(await engine.count('a', { prefix })).toBe(1);
        expect(prefix).toEqual(NodeBuffer!.from(k(2))); // its upper bound (2 + 1) is a copy
        const gte = NodeBuffer!.from(k(2));
        const scanning = engine.scan('a', { gte });
        gte.fill(0xff);
        expect((await scanning).map((e) => e.value)).toEqual([k(5)]);
      });

      it('a zero-length value is stored and is distinct from absence', async () => {
        await engine.put('a', k(1), new Uint8Array(0));
        const value = await engine.get('a', k(1));
        expect(value).toBeInstanceOf(Uint8Array);
        expect(value!.length).toBe(0);
        expect(await engine.count('a')).toBe(1);
      });

      it('a 4 MiB value round-trips byte for byte', async () => {
        const big = new Uint8Array(4 * 1024 * 1024);
        for (let i = 0; i < big.length; i += 4093) big[i] = (i * 31) & 0xff;
        big[big.length - 1] = 0x5a;
        await engine.put('a', k(1), big);
        const back = (await engine.get('a', k(1)))!;
        expect(back.length).toBe(big.length);
        expect(back[big.length - 1]).toBe(0x5a);
        expect(compareBytes(back, big)).toBe(0);
      });

      it('values holding every byte value round-trip', async () => {
        const all = Uint8Array.from({ length: 256 }, (_, i) => i);
        await engine.put('a', k(0), all);
        expect(await engine.get('a', k(0))).toEqual(all);
      });

      it('a value given as a subarray stores only its own bytes', async () => {
        const backing = k(1, 2, 3, 4, 5, 6);
        await engine.put('a', k(1), backing.subarray(2, 4));
        expect(await engine.get('a', k(1))).toEqual(k(3, 4));
      });

      it('clear empties one store and leaves the others', async () => {
        await fill('a', [k(1), k(2)]);
        await fill('b', [k(1)]);
        await engine.clear('a');
        expect(await engine.count('a')).toBe(0);
        expect(await engine.scan('a')).toEqual([]);
        expect(await engine.count('b')).toBe(1);
      });

      it('count counts a whole store', async () => {
        expect(await engine.count('a')).toBe(0);
        await fill('a', [k(1), k(2), k(3)]);
        expect(await engine.count('a')).toBe(3);
      });
    });

    describe('key order', () => {
      it('orders keys bytewise, 0x00 first and 0xFF last', async () => {
        const keys = [k(0xff), k(0x00), k(0x7f), k(0x80), k(0x01), k(0xfe)];
        await fill('a', keys);
        expect(hexes(await engine.scanKeys('a'))).toEqual(['00', '01', '7f', '80', 'fe', 'ff']);
      });

      it('a key sorts before every longer key it is a prefix of', async () => {
        const keys = [k(1, 1), k(1, 0, 0), k(1), k(1, 0), k(0, 0xff, 0xff), k(1, 0xff), k(2)];
        await fill('a', keys);
        expect(hexes(await engine.scanKeys('a'))).toEqual(['00ffff', '01', '0100', '010000', '0101', '01ff', '02']);
      });

      it('keys containing 0x00 and 0xFF bytes are distinct and exact', async () => {
        const keys = [k(0, 0), k(0), k(0, 0, 0), k(0xff), k(0xff, 0xff), k(0xff, 0)];
        await fill('a', keys);
        expect(await engine.count('a')).toBe(6);
        for (const key of keys) expect(await engine.get('a', key)).toEqual(k(...key, 0xee));
      });

      it('a 1-byte key works everywhere', async () => {
        await engine.put('a', k(7), k(1));
        expect(await engine.get('a', k(7))).toEqual(k(1));
        expect(keysOf(await engine.scan('a', { prefix: k(7) }))).toEqual(['07']);
        expect(await engine.delete('a', k(7))).toBe(true);
      });

      it('a key of exactly maxKeySize bytes is accepted', async () => {
        const key = new Uint8Array(engine.supports.maxKeySize).fill(0xab);
        await engine.put('a', key, k(1));
        expect(await engine.get('a', key)).toEqual(k(1));
        expect((await engine.scanKeys('a'))[0]).toEqual(key);
      });

      it('UTF-8 keys sort by bytes, not by UTF-16 code units', async () => {
        // U+FF61 is 0xEF 0xBD 0xA1 in UTF-8; U+1F600 is 0xF0 ...: bytewise U+FF61 < U+1F600 (UTF-16 says otherwise).
        await fill('a', [utf8('\u{1F600}'), utf8('\uFF61'), utf8('z'), utf8('\u00e9')]);
        const got = (await engine.scanKeys('a')).map((key) => new TextDecoder().decode(key));
        expect(got).toEqual(['z', '\u00e9', '\uFF61', '\u{1F600}']);
      });

      it('keys come back in the order they sort, whatever order they were written in', async () => {
        const keys = Array.from({ length: 300 }, (_, i) => k((i * 97) % 256, (i * 31) % 7));
        await fill('a', keys);
        const scanned = await engine.scanKeys('a');
        for (let i = 1; i < scanned.length; i++) expect(compareBytes(scanned[i - 1]!, scanned[i]!)).toBeLessThan(0);
        const unique = new Set(keys.map(hex));
        expect(scanned.length).toBe(unique.size);
      });
    });

    describe('ranges', () => {
      beforeEach(async () => {
        await fill('a', RANGE_KEYS);
      });

      it('gte', async () => {
        expect(keysOf(await engine.scan('a', { gte: k(0x18) }))).toEqual(rangeHex(8, 15));
      });

      it('gt', async () => {
        expect(keysOf(await engine.scan('a', { gt: k(0x18) }))).toEqual(rangeHex(9, 15));
      });

      it('lte', async () => {
        expect(keysOf(await engine.scan('a', { lte: k(0x12) }))).toEqual(rangeHex(0, 3));
      });

      it('lt', async () => {
        expect(keysOf(await engine.scan('a', { lt: k(0x12) }))).toEqual(rangeHex(0, 2));
      });

      it('gte with lt', async () => {
        expect(keysOf(await engine.scan('a', { gte: k(0x12), lt: k(0x15) }))).toEqual(rangeHex(2, 5));
      });

      it('gt with lte', async () => {
        expect(keysOf(await engine.scan('a', { gt: k(0x12), lte: k(0x15) }))).toEqual(rangeHex(3, 6));
      });

      it('gte with lte', async () => {
        expect(keysOf(await engine.scan('a', { gte: k(0x12), lte: k(0x15) }))).toEqual(rangeHex(2, 6));
      });

      it('gt with lt', async () => {
        expect(keysOf(await engine.scan('a', { gt: k(0x12), lt: k(0x15) }))).toEqual(rangeHex(3, 5));
      });

      it('bounds that are not stored keys', async () => {
        expect(keysOf(await engine.scan('a', { gt: k(0x12, 0x00), lt: k(0x14, 0x00) }))).toEqual(rangeHex(3, 5));
        expect(keysOf(await engine.scan('a', { gte: k(0x00), lte: k(0x0f) }))).toEqual([]);
      });

      it('prefix selects exactly the keys that start with it', async () => {
        expect(keysOf(await engine.scan('a', { prefix: k(0x20) }))).toEqual(rangeHex(10, 15));
        expect(keysOf(await engine.scan('a', { prefix: k(0x20, 0x03) }))).toEqual(rangeHex(13, 14));
        expect(await engine.scan('a', { prefix: k(0x30) })).toEqual([]);
      });

      it('prefix whose last bytes are 0xFF', async () => {
        await fill('b', [k(1, 0xff), k(1, 0xff, 0), k(1, 0xff, 0xff), k(2), k(1, 0xfe, 0xff)]);
        expect(keysOf(await engine.scan('b', { prefix: k(1, 0xff) }))).toEqual(['01ff', '01ff00', '01ffff']);
        await fill('b', [k(0xff), k(0xff, 0xff, 1), k(0xfe, 0xff)]);
        expect(keysOf(await engine.scan('b', { prefix: k(0xff, 0xff) }))).toEqual(['ffff01']);
        expect(keysOf(await engine.scan('b', { prefix: k(0xff) }))).toEqual(['ff', 'ffff01']);
      });

      it('prefix combined with gt and lt narrows further', async () => {
        expect(keysOf(await engine.scan('a', { prefix: k(0x20), gt: k(0x20, 0x01), lt: k(0x20, 0x04) }))).toEqual(
          rangeHex(12, 14),
        );
        expect(keysOf(await engine.scan('a', { prefix: k(0x20), gte: k(0x10), lte: k(0x30) }))).toEqual(rangeHex(10, 15));
        expect(await engine.scan('a', { prefix: k(0x20), lt: k(0x20) })).toEqual([]);
      });

      it('reverse returns descending order', async () => {
        expect(keysOf(await engine.scan('a', { reverse: true }))).toEqual(rangeHex(0, 15).reverse());
        expect(keysOf(await engine.scan('a', { gt: k(0x12), lte: k(0x15), reverse: true }))).toEqual(
          rangeHex(3, 6).reverse(),
        );
      });

      it('reverse with limit returns the last keys of the range', async () => {
        expect(keysOf(await engine.scan('a', { lt: k(0x20), reverse: true, limit: 3 }))).toEqual(['19', '18', '17']);
        expect(keysOf(await engine.scan('a', { prefix: k(0x20), reverse: true, limit: 2 }))).toEqual(['2004', '2003']);
      });

      it('limit returns the first keys of the range', async () => {
        expect(keysOf(await engine.scan('a', { gte: k(0x15), limit: 2 }))).toEqual(rangeHex(5, 7));
        expect(keysOf(await engine.scan('a', { limit: 100 }))).toEqual(rangeHex(0, 15));
      });

      it('limit 0 returns nothing', async () => {
        expect(await engine.scan('a', { limit: 0 })).toEqual([]);
        expect(await engine.scanKeys('a', { limit: 0 })).toEqual([]);
      });

      it('an inverted or empty range returns nothing', async () => {
        expect(await engine.scan('a', { gte: k(0x15), lt: k(0x12) })).toEqual([]);
        expect(await engine.scan('a', { gt: k(0x15), lt: k(0x15) })).toEqual([]);
        expect(await engine.scan('a', { gte: k(0x15), lte: k(0x15), reverse: true })).toHaveLength(1);
        expect(await engine.count('a', { gt: k(0x15), lte: k(0x15) })).toBe(0);
      });

      it('scan returns the values with their keys', async () => {
        const entries = await engine.scan('a', { gte: k(0x20, 0x01), limit: 2 });
        expect(entries).toEqual([
          { key: k(0x20, 1), value: k(0x20, 1, 0xee) },
          { key: k(0x20, 2), value: k(0x20, 2, 0xee) },
        ]);
      });

      it('scanKeys matches the keys of scan for the same options', async () => {
        for (const options of [{}, { prefix: k(0x20) }, { gt: k(0x11), lt: k(0x20, 2), reverse: true, limit: 5 }]) {
          expect(hexes(await engine.scanKeys('a', options))).toEqual(keysOf(await engine.scan('a', options)));
        }
      });

      it('count honours every bound', async () => {
        expect(await engine.count('a', { gte: k(0x12), lt: k(0x15) })).toBe(3);
        expect(await engine.count('a', { prefix: k(0x20) })).toBe(5);
        expect(await engine.count('a', { gt: k(0x19) })).toBe(5);
        expect(await engine.count('a', { lte: k(0x10) })).toBe(1);
      });

      it('scanning an empty store returns nothing in every mode', async () => {
        expect(await engine.scan('b')).toEqual([]);
        expect(await engine.scan('b', { reverse: true, limit: 5 })).toEqual([]);
        expect(await engine.scanKeys('b', { prefix: k(1) })).toEqual([]);
        expect(await engine.count('b')).toBe(0);
      });
    });

    describe('write transactions', () => {
      it('operations issued without awaiting apply in call order (delete then put of one key, and back)', async () => {
        await fill('a', [k(1), k(2)]);
        const existed = await engine.write(['a'], async (tx) => {
          const results = [tx.delete('a', k(1)), tx.put('a', k(1), k(7)), tx.put('a', k(2), k(8)), tx.delete('a', k(2)), tx.delete('a', k(3))];
          const settled = await Promise.all(results);
          return [settled[0], settled[3], settled[4]];
        });
        expect(existed).toEqual([true, true, false]);
        expect(await engine.get('a', k(1))).toEqual(k(7));
        expect(await engine.get('a', k(2))).toBeUndefined();
      });

      it('a bad put the callback did not await fails the transaction once, with no unhandled rejection besides', async () => {
        await fill('a', [k(1)]);
        const unhandled = await unhandledDuring(async () => {
          const failed = await engine
            .write(['a'], (tx) => {
              void tx.put('a', k(1), k(2));
              void tx.put('a', k(2), 'not bytes' as unknown as Uint8Array);
            })
            .catch((error: unknown) => error);
          expect(failed).toBeInstanceOf(StorageError);
          expect((failed as StorageError).code).toBe('INVALID_VALUE');
        });
        expect(unhandled).toEqual([]);
        expect(await engine.get('a', k(1))).toEqual(k(1, 0xee));
        expect(await engine.get('a', k(2))).toBeUndefined();
      });

      it('a count the callback did not await, over thousands of keys and the pending writes, still gets its answer', async () => {
        const many = Array.from({ length: 2500 }, (_, i) => k(0x40, i >> 8, i & 0xff));
        await engine.write(['a'], async (tx) => {
          for (const key of many) void tx.put('a', key, key);
        });
        let plain: Promise<number> | undefined;
        let merged: Promise<number> | undefined;
        await engine.read(['a'], (tx) => {
          plain = tx.count('a');
        });
        await engine.write(['a'], (tx) => {
          void tx.put('a', k(0x41), k(1));
          void tx.delete('a', many[0]!);
          merged = tx.count('a');
        });
        expect(await plain).toBe(2500);
        expect(await merged).toBe(2500);
        expect(await engine.count('a')).toBe(2500);
      });

      it('random sequences of operations and transactions agree with a model of the contract', async () => {
        await checkAgainstModel(engine, { stores: SUITE_STORES, seed: 1, sequences: 8, steps: 40 });
      });

      it('a read the callback did not await still gets its answer, and the writes commit', async () => {
        await fill('a', [k(1)]);
        let pending: Promise<Uint8Array | undefined> | undefined;
        await engine.write(['a'], (tx) => {
          pending = tx.get('a', k(1)); // the first operation: an engine may still be opening its transaction
          void tx.put('a', k(1), k(9));
          return tx.put('a', k(2), k(2));
        });
        expect(await pending).toEqual(k(1, 0xee));
        expect(await engine.get('a', k(1))).toEqual(k(9));
        expect(await engine.get('a', k(2))).toEqual(k(2));
      });

      it('reads issued without awaiting see the writes issued before them and none issued after', async () => {
        await fill('a', [k(1), k(2)]);
        await engine.write(['a'], async (tx) => {
          void tx.put('a', k(2), k(0x22));
          const before = [
            tx.get('a', k(1)),
            tx.getMany('a', [k(1), k(2), k(3)]),
            tx.scan('a'),
            tx.scanKeys('a'),
            tx.count('a'),
          ] as const;
          void tx.put('a', k(1), k(0x11));
          void tx.put('a', k(3), k(3));
          void tx.delete('a', k(2));
          const after = [tx.get('a', k(1)), tx.getMany('a', [k(1), k(2), k(3)]), tx.scan('a'), tx.count('a')] as const;
          void tx.clear('a');
          const cleared = [tx.get('a', k(3)), tx.getMany('a', [k(1), k(3)]), tx.scanKeys('a'), tx.count('a')] as const;
          const [get, getMany, scan, scanKeys, count] = await Promise.all(before);
          expect(get).toEqual(k(1, 0xee));
          expect(getMany).toEqual([k(1, 0xee), k(0x22), undefined]);
          expect(scan).toEqual([
            { key: k(1), value: k(1, 0xee) },
            { key: k(2), value: k(0x22) },
          ]);
          expect(hexes(scanKeys)).toEqual(['01', '02']);
          expect(count).toBe(2);
          const [getAfter, getManyAfter, scanAfter, countAfter] = await Promise.all(after);
          expect(getAfter).toEqual(k(0x11));
          expect(getManyAfter).toEqual([k(0x11), undefined, k(3)]);
          expect(scanAfter).toEqual([
            { key: k(1), value: k(0x11) },
            { key: k(3), value: k(3) },
          ]);
          expect(countAfter).toBe(2);
          expect(await Promise.all(cleared)).toEqual([undefined, [undefined, undefined], [], 0]);
        });
        expect(await engine.count('a')).toBe(0);
      });

      it('a delete reports on the key it was given even when the caller reuses the buffer right away', async () => {
        await fill('a', [k(1)]);
        const existed = await engine.write(['a'], async (tx) => {
          const scratch = k(1);
          const first = tx.delete('a', scratch);
          scratch[0] = 5;
          const second = tx.delete('a', scratch);
          return Promise.all([first, second]);
        });
        expect(existed).toEqual([true, false]);
        expect(await engine.count('a')).toBe(0);
      });

      it('reads use their keys and bounds as they were at the call, even when the caller reuses the buffers at once', async () => {
        await fill('a', [k(1), k(2), k(3), k(4)]);
        // Un-awaited reads, then the buffers change: the first reads of a transaction (or a single read outside
        // one) may run only once its snapshot is open, and later pages of a scan are read after the first.
        const reads = async (tx: Pick<ReadTransaction, 'get' | 'getMany' | 'scan' | 'scanKeys' | 'count'>): Promise<unknown[]> => {
          const key = k(1);
          const keys = [k(2), k(3)];
          const lower = k(2);
          const upper = k(4);
          const results = Promise.all([
            tx.get('a', key),
            tx.getMany('a', keys),
            tx.scan('a', { gte: lower, lt: upper }),
            tx.scanKeys('a', { gte: lower, lt: upper, reverse: true }),
            tx.count('a', { gte: lower, lt: upper }),
          ]);
          key[0] = 9;
          keys[0]![0] = 9;
          keys[1]![0] = 9;
          lower[0] = 0;
          upper[0] = 9;
          return results;
        };
        const expected = [k(1, 0xee), [k(2, 0xee), k(3, 0xee)], [{ key: k(2), value: k(2, 0xee) }, { key: k(3), value: k(3, 0xee) }], [k(3), k(2)], 2];
        expect(await engine.read(['a'], reads)).toEqual(expected);
        expect(await engine.write(['a'], reads)).toEqual(expected);
        expect(await reads(engine)).toEqual(expected);
      });

      it('commits writes to several stores together', async () => {
        await engine.write(['a', 'b'], async (tx) => {
          await tx.put('a', k(1), k(1));
          await tx.put('b', k(2), k(2));
        });
        expect(await engine.get('a', k(1))).toEqual(k(1));
        expect(await engine.get('b', k(2))).toEqual(k(2));
      });

      it('a throw leaves every store unchanged and rethrows the same error', async () => {
        await fill('a', [k(1), k(2)]);
        await fill('b', [k(1)]);
        const boom = new Error('boom');
        const failing = engine.write(['a', 'b'], async (tx) => {
          await tx.put('a', k(3), k(3));
          await tx.delete('a', k(1));
          await tx.clear('b');
          await tx.put('b', k(9), k(9));
          throw boom;
        });
        await expect(failing).rejects.toBe(boom);
        expect(keysOf(await engine.scan('a'))).toEqual(['01', '02']);
        expect(keysOf(await engine.scan('b'))).toEqual(['01']);
      });

      it('a synchronous throw in the callback also writes nothing', async () => {
        await expect(
          engine.write(['a'], (tx) => {
            void tx.put('a', k(1), k(1));
            throw new TypeError('sync');
          }),
        ).rejects.toThrow(TypeError);
        expect(await engine.count('a')).toBe(0);
      });

      it('resolves to the value the callback returns', async () => {
        expect(await engine.write(['a'], async (tx) => (await tx.delete('a', k(1))) || 'absent')).toBe('absent');
        expect(await engine.read(['a'], () => 42)).toBe(42);
      });

      it('a rejected write inside the callback fails the whole transaction even when caught', async () => {
        await expect(
          engine.write(['a'], async (tx) => {
            await tx.put('a', k(1), k(1));
            await tx.put('a', 'oops' as unknown as Uint8Array, k(2)).catch(() => undefined);
          }),
        ).rejects.toMatchObject({ code: 'INVALID_KEY' });
        expect(await engine.get('a', k(1))).toBeUndefined();
      });

      it('reads inside a write see its own puts and deletes', async () => {
        await fill('a', [k(1), k(2)]);
        await engine.write(['a'], async (tx) => {
          await tx.put('a', k(3), k(3));
          await tx.delete('a', k(1));
          await tx.put('a', k(2), k(0x22));
          expect(await tx.get('a', k(3))).toEqual(k(3));
          expect(await tx.get('a', k(1))).toBeUndefined();
          expect(await tx.get('a', k(2))).toEqual(k(0x22));
          expect(await tx.getMany('a', [k(1), k(2), k(3), k(4)])).toEqual([undefined, k(0x22), k(3), undefined]);
        });
      });

      it('scans inside a write merge its writes in key order, with limit and reverse', async () => {
        await fill('a', [k(1), k(3), k(5), k(7)]);
        await engine.write(['a'], async (tx) => {
          await tx.put('a', k(4), k(4));
          await tx.delete('a', k(3));
          await tx.put('a', k(5), k(0x55));
          await tx.put('a', k(0), k(0));
          expect(keysOf(await tx.scan('a'))).toEqual(['00', '01', '04', '05', '07']);
          expect((await tx.scan('a', { gte: k(5), limit: 1 }))[0]!.value).toEqual(k(0x55));
          expect(keysOf(await tx.scan('a', { reverse: true, limit: 3 }))).toEqual(['07', '05', '04']);
          expect(keysOf(await tx.scan('a', { gt: k(1), lt: k(7) }))).toEqual(['04', '05']);
          expect(hexes(await tx.scanKeys('a', { limit: 2 }))).toEqual(['00', '01']);
          expect(await tx.count('a')).toBe(5);
          expect(await tx.count('a', { gte: k(3), lte: k(5) })).toBe(2);
        });
      });

      it('scanKeys inside a write matches the keys of scan for the same options', async () => {
        await fill('a', [k(1), k(3), k(5), k(7), k(9)]);
        await engine.write(['a'], async (tx) => {
          await tx.put('a', k(4), k(4));
          await tx.delete('a', k(3));
          await tx.put('a', k(9), k(0x99));
          await tx.delete('a', k(8));
          const cases = [{}, { reverse: true }, { gt: k(1), lte: k(9), limit: 3 }, { lt: k(9), reverse: true, limit: 2 }];
          for (const options of cases) {
            expect(hexes(await tx.scanKeys('a', options))).toEqual(keysOf(await tx.scan('a', options)));
          }
          expect(hexes(await tx.scanKeys('a', { reverse: true, limit: 3 }))).toEqual(['09', '07', '05']);
        });
      });

      it('delete inside a write reports existence including the transaction own writes', async () => {
        await fill('a', [k(1)]);
        await engine.write(['a'], async (tx) => {
          expect(await tx.delete('a', k(1))).toBe(true);
          expect(await tx.delete('a', k(1))).toBe(false);
          await tx.put('a', k(2), k(2));
          expect(await tx.delete('a', k(2))).toBe(true);
          expect(await tx.delete('a', k(3))).toBe(false);
        });
        expect(await engine.count('a')).toBe(0);
      });

      it('clear inside a write, then puts: only the new puts remain', async () => {
        await fill('a', [k(1), k(2)]);
        await engine.write(['a'], async (tx) => {
          await tx.put('a', k(5), k(5));
          await tx.clear('a');
          expect(await tx.count('a')).toBe(0);
          expect(await tx.get('a', k(1))).toBeUndefined();
          await tx.put('a', k(3), k(3));
          expect(keysOf(await tx.scan('a'))).toEqual(['03']);
        });
        expect(keysOf(await engine.scan('a'))).toEqual(['03']);
      });

      it('put copies its key and value: one scratch buffer reused for every put is safe', async () => {
        const scratchKey = new Uint8Array(2);
        const scratchValue = new Uint8Array(3);
        await engine.write(['a'], async (tx) => {
          for (let i = 0; i < 5; i++) {
            scratchKey.set([0x40, i]);
            scratchValue.set([i, i, i]);
            await tx.put('a', scratchKey, scratchValue);
          }
          scratchKey.set([0x40, 1]);
          await tx.delete('a', scratchKey);
          scratchKey.fill(0);
          scratchValue.fill(0xff);
        });
        expect(await engine.scan('a')).toEqual([0, 2, 3, 4].map((i) => ({ key: k(0x40, i), value: k(i, i, i) })));
      });

      it('single puts and deletes take their bytes at the call: buffers reused before they settle are safe', async () => {
        await fill('a', [k(9)]);
        const key = k(1);
        const value = k(42);
        const writes: Promise<unknown>[] = [engine.put('a', key, value)];
        key[0] = 2;
        value[0] = 99;
        writes.push(engine.put('a', key, value));
        const scratch = k(9);
        writes.push(engine.delete('a', scratch));
        scratch[0] = 1; // the delete is of key 9, not of key 1
        key.fill(0);
        value.fill(0);
        await Promise.all(writes);
        expect(await engine.scan('a')).toEqual([
          { key: k(1), value: k(42) },
          { key: k(2), value: k(99) },
        ]);
      });

      it('the last write to a key in a transaction wins', async () => {
        await engine.write(['a'], async (tx) => {
          await tx.put('a', k(1), k(1));
          await tx.delete('a', k(1));
          await tx.put('a', k(1), k(3));
          await tx.put('a', k(2), k(2));
          await tx.delete('a', k(2));
        });
        expect(await engine.scan('a')).toEqual([{ key: k(1), value: k(3) }]);
      });

      it('a transaction cannot touch a store it did not name', async () => {
        await expectStorageError(
          engine.write(['a'], (tx) => tx.put('b', k(1), k(1))),
          'STORE_NOT_FOUND',
        );
        await expectStorageError(
          engine.read(['a'], (tx) => tx.get('b', k(1))),
          'STORE_NOT_FOUND',
        );
        expect(await engine.count('b')).toBe(0);
      });

      it('a transaction used after its callback finished fails with TRANSACTION_INACTIVE', async () => {
        let kept: Parameters<Parameters<E['write']>[1]>[0] | undefined;
        await engine.write(['a'], (tx) => {
          kept = tx;
        });
        await expectStorageError(() => kept!.put('a', k(1), k(1)), 'TRANSACTION_INACTIVE');
        await expectStorageError(() => kept!.get('a', k(1)), 'TRANSACTION_INACTIVE');
        let reader: Parameters<Parameters<E['read']>[1]>[0] | undefined;
        await engine.read(['a'], (tx) => {
          reader = tx;
        });
        await expectStorageError(() => reader!.scan('a'), 'TRANSACTION_INACTIVE');
        expect(await engine.count('a')).toBe(0);
      });

      it('a transaction must name at least one store', async () => {
        await expectStorageError(() => engine.write([], () => undefined), 'INVALID_ARGUMENT');
        await expectStorageError(() => engine.read([], () => undefined), 'INVALID_ARGUMENT');
      });

      it('write accepts strict and relaxed durability and rejects anything else', async () => {
        await engine.put('a', k(1), k(1), { durability: 'strict' });
        await engine.put('a', k(2), k(2), { durability: 'relaxed' });
        expect(await engine.count('a')).toBe(2);
        await expectStorageError(
          () => engine.write(['a'], () => undefined, { durability: 'eventually' as 'strict' }),
          'INVALID_ARGUMENT',
        );
        expect(engine.supports.durability).toContain(engine.supports.defaultDurability);
      });

      it('an empty write transaction commits nothing and succeeds', async () => {
        expect(await engine.write(['a', 'b'], () => 'ok')).toBe('ok');
        expect(await engine.count('a')).toBe(0);
      });
    });

    describe('isolation and concurrency', () => {
      it('50 parallel read-modify-write transactions on one counter end at exactly 50', async () => {
        const key = utf8('counter');
        await engine.put('a', key, k(0));
        await Promise.all(
          Array.from({ length: 50 }, () =>
            engine.write(['a'], async (tx) => {
              const current = (await tx.get('a', key))![0]!;
              await tx.put('a', key, k(current + 1));
            }),
          ),
        );
        expect(await engine.get('a', key)).toEqual(k(50));
      });

      it('a read transaction sees one snapshot while a write commits', async (ctx: TestContext) => {
        if (!engine.supports.snapshots || !engine.supports.foreignAwaits) return ctx.skip();
        await fill('a', [k(1), k(2)]);
        await fill('b', [k(1)]);
        await engine.read(['a', 'b'], async (tx) => {
          expect(await tx.get('a', k(1))).toEqual(k(1, 0xee));
          await engine.write(['a', 'b'], async (w) => {
            await w.put('a', k(1), k(0x99));
            await w.put('a', k(3), k(3));
            await w.delete('b', k(1));
          });
          expect(await engine.get('a', k(1))).toEqual(k(0x99));
          expect(await tx.get('a', k(1))).toEqual(k(1, 0xee));
          expect(keysOf(await tx.scan('a'))).toEqual(['01', '02']);
          expect(await tx.count('a')).toBe(2);
          expect(await tx.get('b', k(1))).toEqual(k(1, 0xee));
        });
      });

      it("a read transaction's own reads of every kind keep its snapshot while a write commits (no foreign awaits)", async (ctx: TestContext) => {
        if (!engine.supports.snapshots) return ctx.skip();
        await fill('a', [k(1), k(2)]);
        let writeDone: Promise<void> | undefined;
        const answers = await engine.read(['a'], async (tx) => {
          const first = await tx.get('a', k(1));
          writeDone = engine.write(['a'], async (w) => {
            await w.put('a', k(1), k(0x77));
            await w.put('a', k(3), k(3));
          });
          // Only the transaction's own operations are awaited: the write commits somewhere among them.
          const seen: unknown[] = [first];
          for (let i = 0; i < 20; i++) {
            seen.push(await tx.get('a', k(1)), await tx.count('a'), keysOf(await tx.scan('a')), (await tx.scanKeys('a')).length);
          }
          return seen;
        });
        await writeDone;
        expect(answers[0]).toEqual(k(1, 0xee));
        for (let i = 0; i < 20; i++) expect(answers.slice(1 + 4 * i, 5 + 4 * i)).toEqual([k(1, 0xee), 2, ['01', '02'], 2]);
        expect(await engine.count('a')).toBe(3);
      });

      it('a reader that started before a write does not see it, even without foreign awaits', async () => {
        await fill('a', [k(1)]);
        let writeDone: Promise<void> | undefined;
        const seen = await engine.read(['a'], async (tx) => {
          const before = await tx.get('a', k(1));
          writeDone = engine.put('a', k(1), k(0x77));
          const after = await tx.get('a', k(1));
          return [before, after];
        });
        await writeDone;
        expect(seen).toEqual([k(1, 0xee), k(1, 0xee)]);
        expect(await engine.get('a', k(1))).toEqual(k(0x77));
      });

      it('uncommitted writes are invisible outside their transaction', async (ctx: TestContext) => {
        if (!engine.supports.foreignAwaits) return ctx.skip();
        await engine.write(['a'], async (tx) => {
          await tx.put('a', k(1), k(1));
          expect(await engine.get('a', k(1))).toBeUndefined();
          expect(await engine.count('a')).toBe(0);
        });
        expect(await engine.get('a', k(1))).toEqual(k(1));
      });

      it('reads in parallel with writes always see whole transactions', async () => {
        const pair = [utf8('x'), utf8('y')];
        await engine.write(['a'], async (tx) => {
          for (const key of pair) await tx.put('a', key, k(0));
        });
        const writes = Array.from({ length: 20 }, (_, i) =>
          engine.write(['a'], async (tx) => {
            for (const key of pair) await tx.put('a', key, k(i + 1));
          }),
        );
        const reads = Array.from({ length: 20 }, () => engine.getMany('a', pair));
        const views = await Promise.all(reads);
        await Promise.all(writes);
        for (const [x, y] of views) expect(x).toEqual(y);
        expect(await engine.getMany('a', pair)).toEqual([k(20), k(20)]);
      });

      it('scans of many keys and reads across stores in parallel with writes see whole transactions', async () => {
        const keys = Array.from({ length: 60 }, (_, i) => k(i));
        const rewrite = (version: number) =>
          engine.write(['a', 'b'], async (tx) => {
            for (const key of keys) await tx.put('a', key, k(version));
            await tx.put('b', k(0), k(version));
          });
        await rewrite(0);
        const writes = Array.from({ length: 10 }, (_, i) => rewrite(i + 1));
        const views = Array.from({ length: 10 }, () =>
          Promise.all([
            engine.scan('a'),
            engine.read(['a', 'b'], async (tx) => [await tx.scan('a', { reverse: true }), await tx.get('b', k(0))] as const),
          ]),
        );
        for (const [scanned, [reversed, other]] of await Promise.all(views)) {
          expect(new Set(scanned.map((entry) => entry.value[0])).size).toBe(1); // one version across the whole scan
          expect(scanned).toHaveLength(60);
          const versions = new Set(reversed.map((entry) => entry.value[0]));
          expect(versions.size).toBe(1);
          expect([...versions][0]).toBe(other![0]); // the two stores agree: the commit is not torn between them
        }
        await Promise.all(writes);
        expect(await engine.get('b', k(0))).toEqual(k(10));
      });

      it('a failed transaction does not block the ones queued behind it', async () => {
        const failed = engine.write(['a'], async (tx) => {
          await tx.put('a', k(1), k(1));
          throw new Error('first fails');
        });
        const next = engine.put('a', k(2), k(2));
        await expect(failed).rejects.toThrow('first fails');
        await next;
        expect(keysOf(await engine.scan('a'))).toEqual(['02']);
      });
    });

    describe('volume', () => {
      it('20k keys written in one transaction come back sorted and counted', async () => {
        const n = 20_000;
        const order = Array.from({ length: n }, (_, i) => (i * 7919) % n);
        const key = (i: number): Uint8Array => utf8(`key:${String(i).padStart(6, '0')}`);
        await engine.write(['a'], async (tx) => {
          for (const i of order) await tx.put('a', key(i), utf8(`value ${i}`));
        });
        expect(await engine.count('a')).toBe(n);
        const entries = await engine.scan('a');
        expect(entries).toHaveLength(n);
        for (let i = 0; i < n; i += 997) {
          expect(entries[i]!.key).toEqual(key(i));
          expect(entries[i]!.value).toEqual(utf8(`value ${i}`));
        }
        expect(entries[n - 1]!.key).toEqual(key(n - 1));
        expect(keysOf(await engine.scan('a', { reverse: true, limit: 1 }))).toEqual([hex(key(n - 1))]);
        expect(await engine.count('a', { gte: key(1000), lt: key(2000) })).toBe(1000);
      });

      it('stats report the entries of every store', async () => {
        await fill('a', [k(1), k(2), k(3)]);
        await fill('b', [k(1)]);
        const stats = await engine.stats();
        expect(stats.entries).toEqual({ a: 3, b: 1 });
        if (engine.supports.persistent && stats.bytesOnDisk !== undefined) expect(stats.bytesOnDisk).toBeGreaterThan(0);
      });

      it('a store named __proto__ is a store like any other, in stats too', async () => {
        await engine.close();
        engine = await fixture.open([...SUITE_STORES, '__proto__']);
        opened.push(engine);
        await engine.put('__proto__', k(1), k(2));
        expect(await engine.get('__proto__', k(1))).toEqual(k(2));
        const { entries } = await engine.stats();
        expect(Object.hasOwn(entries, '__proto__')).toBe(true);
        expect(Object.entries(entries)).toEqual(expect.arrayContaining([['__proto__', 1], ['a', 0], ['b', 0]]));
      });
    });

    describe('lifecycle', () => {
      it('every operation after close fails with CLOSED', async () => {
        await engine.close();
        expect(engine.status).toBe('closed');
        await expectStorageError(() => engine.get('a', k(1)), 'CLOSED');
        await expectStorageError(() => engine.put('a', k(1), k(1)), 'CLOSED');
        await expectStorageError(() => engine.scan('a'), 'CLOSED');
        await expectStorageError(() => engine.write(['a'], () => undefined), 'CLOSED');
        await expectStorageError(() => engine.read(['a'], () => undefined), 'CLOSED');
        await expectStorageError(() => engine.stats(), 'CLOSED');
      });

      it('close twice is fine', async () => {
        await engine.close();
        await engine.close();
        expect(engine.status).toBe('closed');
      });

      it('close waits for a running write to commit', async () => {
        const writing = engine.write(['a'], async (tx) => {
          await tx.put('a', k(1), k(1));
          await tx.get('a', k(1));
          await tx.put('a', k(2), k(2));
        });
        await engine.close();
        await writing;
        await reopen();
        expect(keysOf(await engine.scan('a'))).toEqual(['01', '02']);
      });

      it('reads of a transaction racing close() each return the value or fail with CLOSED', async () => {
        await fill('a', [k(1)]);
        const outcomes: unknown[] = [];
        const reading = engine.read(['a'], async (tx) => {
          // One read per turn (micro and macro) while close() runs, on a snapshot that ages meanwhile.
          for (let i = 0; i < 40; i++) {
            await tx.get('a', k(1)).then(
              (value) => outcomes.push(value),
              (error: unknown) => outcomes.push(error),
            );
            if (i % 4 === 3) await new Promise((resolve) => setTimeout(resolve, 0));
          }
          return 'done';
        });
        await new Promise((resolve) => setTimeout(resolve, 0));
        await engine.close();
        expect(await reading).toBe('done');
        expect(outcomes).toHaveLength(40);
        for (const outcome of outcomes) {
          if (outcome instanceof Uint8Array) expect(outcome).toEqual(k(1, 0xee));
          else expect(outcome).toMatchObject({ name: 'StorageError', code: 'CLOSED' });
        }
        expect(outcomes.at(-1)).toMatchObject({ code: 'CLOSED' });
      });

      it('a flush started before close() completes, and close() waits for it', async () => {
        await engine.put('a', k(1), k(1), { durability: 'relaxed' });
        const flushing = engine.flush();
        const closing = engine.close();
        await expect(flushing).resolves.toBeUndefined();
        await closing;
        await reopen();
        expect(await engine.get('a', k(1))).toEqual(k(1));
      });

      it('a reopened engine sees committed data', async () => {
        await fill('a', [k(1), k(2)]);
        await engine.delete('a', k(2));
        await reopen();
        expect(keysOf(await engine.scan('a'))).toEqual(['01']);
        expect(await engine.get('a', k(1))).toEqual(k(1, 0xee));
      });

      it('flush resolves and the data is there after reopening', async () => {
        await engine.put('a', k(1), k(1), { durability: 'relaxed' });
        await engine.flush();
        await reopen();
        expect(await engine.get('a', k(1))).toEqual(k(1));
      });

      it('a store declared later starts empty and the old stores keep their data', async () => {
        await fill('a', [k(1)]);
        await engine.close();
        engine = await fixture.open(['a', 'b', 'c']);
        opened.push(engine);
        expect(await engine.count('c')).toBe(0);
        await engine.put('c', k(1), k(1));
        expect(await engine.get('a', k(1))).toEqual(k(1, 0xee));
        expect(engine.stores).toEqual(['a', 'b', 'c']);
      });

      it('the supports manifest is frozen and complete', () => {
        const s = engine.supports;
        expect(Object.isFrozen(s)).toBe(true);
        for (const flag of ['snapshots', 'foreignAwaits', 'zeroCopyReads', 'multiProcess', 'persistent'] as const) {
          expect(typeof s[flag]).toBe('boolean');
        }
        expect(s.maxKeySize).toBeGreaterThanOrEqual(511);
        expect(s.maxValueSize).toBeGreaterThanOrEqual(4 * 1024 * 1024);
        expect(engine.stores).toEqual(['a', 'b']);
        expect(engine.kind.length).toBeGreaterThan(0);
      });

      it('borrow gives a view valid inside the callback, where zero-copy reads exist', async (ctx: TestContext) => {
        if (!engine.supports.zeroCopyReads) return ctx.skip();
        const borrowing = engine as unknown as {
          borrow<R>(store: string, key: Uint8Array, use: (v: Uint8Array | undefined) => R): R;
        };
        await engine.put('a', k(1), k(4, 5, 6));
        expect(borrowing.borrow('a', k(1), (v) => (v === undefined ? undefined : Array.from(v)))).toEqual([4, 5, 6]);
        expect(borrowing.borrow('a', k(2), (v) => v)).toBeUndefined();
        expect(() => borrowing.borrow('c', k(1), (v) => v)).toThrow(StorageError);
      });
    });

    describe('bad input', () => {
      it('a string key is rejected with INVALID_KEY', async () => {
        await expectStorageError(() => engine.put('a', 'key' as unknown as Uint8Array, k(1)), 'INVALID_KEY');
        await expectStorageError(() => engine.get('a', 'key' as unknown as Uint8Array), 'INVALID_KEY');
      });

      it('a number, null or plain array key is rejected with INVALID_KEY', async () => {
        await expectStorageError(() => engine.put('a', 42 as unknown as Uint8Array, k(1)), 'INVALID_KEY');
        await expectStorageError(() => engine.get('a', null as unknown as Uint8Array), 'INVALID_KEY');
        await expectStorageError(() => engine.delete('a', [1, 2] as unknown as Uint8Array), 'INVALID_KEY');
      });

      it('an empty key is rejected with INVALID_KEY', async () => {
        await expectStorageError(() => engine.put('a', new Uint8Array(0), k(1)), 'INVALID_KEY');
        await expectStorageError(() => engine.getMany('a', [k(1), new Uint8Array(0)]), 'INVALID_KEY');
      });

      it('a detached key or value is rejected', async () => {
        await expectStorageError(() => engine.put('a', detachedBytes(4), k(1)), 'INVALID_KEY');
        await expectStorageError(() => engine.put('a', k(1), detachedBytes(4)), 'INVALID_VALUE');
        expect(await engine.count('a')).toBe(0);
      });

      it('a value that is not a Uint8Array is rejected with INVALID_VALUE', async () => {
        await expectStorageError(() => engine.put('a', k(1), 'text' as unknown as Uint8Array), 'INVALID_VALUE');
        await expectStorageError(() => engine.put('a', k(1), new ArrayBuffer(2) as unknown as Uint8Array), 'INVALID_VALUE');
        await expectStorageError(() => engine.put('a', k(1), undefined as unknown as Uint8Array), 'INVALID_VALUE');
      });

      it('an unknown store is rejected with STORE_NOT_FOUND by every operation', async () => {
        const error = await expectStorageError(() => engine.get('nope', k(1)), 'STORE_NOT_FOUND');
        expect(error.message).toContain('nope');
        await expectStorageError(() => engine.put('nope', k(1), k(1)), 'STORE_NOT_FOUND');
        await expectStorageError(() => engine.scan('nope'), 'STORE_NOT_FOUND');
        await expectStorageError(() => engine.count('nope'), 'STORE_NOT_FOUND');
        await expectStorageError(() => engine.clear('nope'), 'STORE_NOT_FOUND');
        await expectStorageError(() => engine.write(['a', 'nope'], () => undefined), 'STORE_NOT_FOUND');
      });

      it('a key longer than maxKeySize is rejected with KEY_TOO_LARGE and nothing is written', async () => {
        const key = new Uint8Array(engine.supports.maxKeySize + 1).fill(1);
        await expectStorageError(() => engine.put('a', key, k(1)), 'KEY_TOO_LARGE');
        expect(await engine.count('a')).toBe(0);
      });

      it('a value longer than maxValueSize is rejected with VALUE_TOO_LARGE', async (ctx: TestContext) => {
        if (engine.supports.maxValueSize > 256 * 1024 * 1024) return ctx.skip();
        await engine.put('a', k(1), k(1));
        const value = new Uint8Array(engine.supports.maxValueSize + 1);
        await expectStorageError(() => engine.put('a', k(1), value), 'VALUE_TOO_LARGE');
        expect(await engine.get('a', k(1))).toEqual(k(1));
      });

      it('bounds and prefixes one byte longer than the longest key select exactly the keys around them', async () => {
        const max = engine.supports.maxKeySize;
        const longest = (fill: number, last: number): Uint8Array => {
          const key = new Uint8Array(max).fill(fill);
          key[max - 1] = last;
          return key;
        };
        // Keys around the bound B = [0x10 x max, 0x00]: below it the longest key with B's first max bytes (its
        // prefix T) and smaller ones, above it a key that differs inside T.
        const t = longest(0x10, 0x10);
        const keys = [k(0x0f), longest(0x10, 0x0f), t, longest(0x10, 0x11), k(0x11)];
        await fill('a', keys);
        const bound = new Uint8Array(max + 1).fill(0x10);
        bound[max] = 0;
        const below = [k(0x0f), longest(0x10, 0x0f), t];
        const above = [longest(0x10, 0x11), k(0x11)];
        const scanned = async (range: ScanOptions): Promise<string[]> => keysOf(await engine.scan('a', range));
        for (const reverse of [false, true]) {
          const order = (list: readonly Uint8Array[]): string[] => (reverse ? hexes(list).reverse() : hexes(list));
          expect(await scanned({ lt: bound, reverse })).toEqual(order(below));
          expect(await scanned({ lte: bound, reverse })).toEqual(order(below));
          expect(await scanned({ gt: bound, reverse })).toEqual(order(above));
          expect(await scanned({ gte: bound, reverse })).toEqual(order(above));
          expect(await scanned({ prefix: bound, reverse })).toEqual([]);
          expect(hexes(await engine.scanKeys('a', { gte: k(0x0f), lt: bound, reverse }))).toEqual(order(below));
        }
        expect(await engine.count('a', { lt: bound })).toBe(3);
        expect(await engine.count('a', { gt: bound })).toBe(2);
        expect(await engine.count('a', { prefix: bound })).toBe(0);
        expect(await engine.count('a', { prefix: t.subarray(0, max - 1) })).toBe(3);
      });

      it('keys and values in resizable buffers work in every read and write', async () => {
        const Resizable = ArrayBuffer as unknown as new (length: number, options: { maxByteLength: number }) => ArrayBuffer;
        const resizable = (...bytes: number[]): Uint8Array => {
          const view = new Uint8Array(new Resizable(bytes.length, { maxByteLength: 64 }));
          view.set(bytes);
          return view;
        };
        const key = resizable(1, 2, 3);
        await engine.put('a', key, resizable(9, 9));
        expect(await engine.get('a', key)).toEqual(k(9, 9));
        expect(await engine.getMany('a', [key, resizable(5)])).toEqual([k(9, 9), undefined]);
        expect(await engine.count('a', { gte: resizable(1), lte: key })).toBe(1);
        expect(keysOf(await engine.scan('a', { prefix: resizable(1, 2) }))).toEqual(['010203']);
        expect(await engine.read(['a'], (tx) => tx.get('a', key))).toEqual(k(9, 9));
        expect(await engine.write(['a'], async (tx) => [await tx.get('a', key), await tx.delete('a', key)])).toEqual([k(9, 9), true]);
        expect(await engine.count('a')).toBe(0);
      });

      it('malformed scan options are rejected with INVALID_ARGUMENT or INVALID_KEY', async () => {
        await expectStorageError(() => engine.scan('a', { limit: -1 }), 'INVALID_ARGUMENT');
        await expectStorageError(() => engine.scan('a', { limit: 1.5 }), 'INVALID_ARGUMENT');
        await expectStorageError(() => engine.scan('a', { gt: k(1), gte: k(1) }), 'INVALID_ARGUMENT');
        await expectStorageError(() => engine.scan('a', { lt: 'z' as unknown as Uint8Array }), 'INVALID_KEY');
        await expectStorageError(() => engine.count('a', { prefix: 7 as unknown as Uint8Array }), 'INVALID_KEY');
        // Each of these once read as "no bounds" and scanned the whole store.
        await fill('a', [k(1), k(2)]);
        await expectStorageError(() => engine.scanKeys('a', { prefix: detachedBytes(1) }), 'INVALID_KEY');
        await expectStorageError(() => engine.count('a', { prefix: detachedBytes(1) }), 'INVALID_KEY');
        await expectStorageError(() => engine.scan('a', k(1) as never), 'INVALID_ARGUMENT');
        await expectStorageError(() => engine.scan('a', k(1).buffer as never), 'INVALID_ARGUMENT');
        await expectStorageError(() => engine.count('a', [k(2)] as never), 'INVALID_ARGUMENT');
        await expectStorageError(() => engine.scan('a', { reverse: 'true' as never }), 'INVALID_ARGUMENT');
      });

      it('store names with U+0000 or a lone surrogate (databases would merge them with others) or the engines\' U+0001 prefix are refused', async () => {
        for (const stores of [['a', 'a\u0000b'], ['x\uD800'], ['\u0001tabstore:commits']]) {
          const opening = fixture.open(stores);
          const stray = await opening.catch(() => undefined);
          if (stray !== undefined) opened.push(stray);
          await expectStorageError(opening, 'INVALID_ARGUMENT');
        }
      });

      it('arguments that JSON.stringify or String() cannot show still fail with typed errors', async () => {
        const noPrototype = Object.create(null) as never;
        await expectStorageError(() => engine.get(1n as never, k(1)), 'STORE_NOT_FOUND');
        await expectStorageError(() => engine.read([1n as never], () => undefined), 'STORE_NOT_FOUND');
        await expectStorageError(() => engine.write(['a'], (tx) => tx.put(1n as never, k(1), k(1))), 'STORE_NOT_FOUND');
        await expectStorageError(() => engine.scan('a', { limit: noPrototype }), 'INVALID_ARGUMENT');
        await expectStorageError(() => engine.put('a', k(1), k(1), { durability: noPrototype }), 'INVALID_ARGUMENT');
        await expectStorageError(() => engine.write(['a'], undefined as never), 'INVALID_ARGUMENT');
        await expectStorageError(() => engine.read(['a'], 'tx' as never), 'INVALID_ARGUMENT');
        expect(await engine.count('a')).toBe(0);
      });

      it('bad input inside a transaction leaves stored data intact', async () => {
        await fill('a', [k(1)]);
        await expectStorageError(
          engine.write(['a'], async (tx) => {
            await tx.delete('a', k(1));
            await tx.put('a', k(2), 'bad' as unknown as Uint8Array);
          }),
          'INVALID_VALUE',
        );
        expect(keysOf(await engine.scan('a'))).toEqual(['01']);
      });
    });
  });
}
