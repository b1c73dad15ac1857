import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { codecErrorOf } from './codec-error.js';
import { scaledRuns } from './fuzz-runs.js';
import { ByteWriter } from '../src/codec/byte-writer.js';
import { compareBytes } from '../src/engine/bytes.js';
import { isCodecError, type CodecError } from '../src/codec/errors.js';
import {
  decodeMetadata,
  encodeMetadata,
  MAX_METADATA_DEPTH,
  MetadataView,
  metadataView,
  writeMetadata,
  type JsonValue,
} from '../src/codec/metadata.js';

// --- helpers -----------------------------------------------------------------------------------------------------

/** Property runs: these values are larger than the record tests', so `npm run fuzz` scales them 10x, not 100x. */
const runs = (n: number): number => scaledRuns(n, 10);

/** Encodes into an owned copy (encodeMetadata returns a view into a shared chunk). */
const enc = (v: JsonValue): Uint8Array => encodeMetadata(v).slice();
const roundTrip = (v: JsonValue): JsonValue => decodeMetadata(enc(v));

/** An object with exactly these own entries, in this order (`__proto__` included, as an own property). */
function objectOf(entries: [string, JsonValue][]): { [key: string]: JsonValue } {
  const o: { [key: string]: JsonValue } = {};
  for (const [k, value] of entries) {
    Object.defineProperty(o, k, { value, writable: true, enumerable: true, configurable: true });
  }
  return o;
}

/**
 * Where `a` and `b` first differ ('' when they are the same JSON value): Object.is for numbers (so -0 is not 0), own
 * keys in the same order. (toStrictEqual compares `.constructor`, which is an own key in some of these objects.)
 */
function difference(a: unknown, b: unknown, path = '$'): string {
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
    return Object.is(a, b) ? '' : `${path}: ${String(a)} !== ${String(b)}`;
  }
  if (Array.isArray(a) !== Array.isArray(b)) return `${path}: array vs object`;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length || ka.some((k, i) => k !== kb[i])) {
    return `${path}: keys ${JSON.stringify(ka)} vs ${JSON.stringify(kb)}`;
  }
  for (const k of ka) {
    const at = `${path}[${JSON.stringify(k)}]`;
    const d = difference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], at);
    if (d !== '') return d;
  }
  return '';
}

function expectSame(actual: unknown, expected: unknown): void {
  expect(difference(actual, expected)).toBe('');
}

/** Asserts an exact round trip: deep equality with Object.is numbers (so -0), and the same key order. */
function expectRoundTrip(v: JsonValue): void {
  const back = roundTrip(v);
  expectSame(back, v);
  expect(JSON.stringify(back)).toBe(JSON.stringify(v));
}

/** Encodes a value that is not JSON (the cast is the point) and returns the error. */
const invalid = (v: unknown, path?: string): CodecError => {
  const w = new ByteWriter();
  w.begin();
  return codecErrorOf(() => writeMetadata(w, v as JsonValue, path));
};

// --- arbitraries ---------------------------------------------------------------------------------------------------

/** Any UTF-16 code unit sequence: lone surrogates, pairs, U+0000, U+FEFF, U+E000-U+FFFF. */
const codeUnits = fc.array(
  fc.oneof(
    fc.integer({ min: 0, max: 0x7f }),
    fc.integer({ min: 0, max: 0xffff }),
    fc.integer({ min: 0xd800, max: 0xdfff }),
    fc.constantFrom(0, 0xfeff, 0xe000, 0xffff, 0xd83d, 0xde00),
  ),
  { maxLength: 24 },
).map((units) => String.fromCharCode(...units));

const strings = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.string({ unit: 'grapheme' }),
  codeUnits,
  fc.string({ minLength: 60, maxLength: 400, unit: 'binary' }), // past the short-string paths
);

const keys = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', '', '\u0000', '😀', '\uE000',
      '\uFFFF', 'a', 'B', '0', '10', 'é'),
  },
  { weight: 3, arbitrary: fc.string({ maxLength: 8 }) },
  { weight: 2, arbitrary: codeUnits },
);

const numbers = fc.oneof(
  fc.integer(),
  fc.integer({ min: -200, max: 200 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(-0, 0, 63, 64, 127, 128, -128, -129, 32767, 32768, -32768, -32769, 2 ** 31 - 1, -(2 ** 31), 2 ** 31,
    2 ** 32, 2 ** 53 - 1, -(2 ** 53) + 1, 0.1, 0.7, 5e-324, Number.MAX_VALUE, -Number.MAX_VALUE),
);

const { value: jsonValues } = fc.letrec<{ value: JsonValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    numbers,
    strings,
    fc.array(tie('value'), { maxLength: 8 }),
    fc.uniqueArray(fc.tuple(keys, tie('value')), { selector: (e) => e[0], maxLength: 8 }).map(objectOf),
    // Now and then a wide object (past the insertion sort and the shape cache).
    fc.uniqueArray(fc.tuple(fc.string({ maxLength: 6, unit: 'binary' }), fc.oneof(numbers, strings)), {
      selector: (e) => e[0],
      minLength: 17,
      maxLength: 80,
    }).map(objectOf),
  ),
}));

const objects = fc.uniqueArray(fc.tuple(keys, jsonValues), { selector: (e) => e[0], maxLength: 40 }).map(objectOf);

// --- round trips -----------------------------------------------------------------------------------------------

describe('metadata round trip', () => {
  it('decodeMetadata(encodeMetadata(v)) is v for every JSON value (fc.jsonValue)', () => {
    fc.assert(fc.property(fc.jsonValue(), (v) => expectRoundTrip(v as JsonValue)));
  });

  it('MetadataView.fromJSON(v).toJSON() is v, over bytes of its own', () => {
    fc.assert(
      fc.property(jsonValues, (v) => {
        const view = MetadataView.fromJSON(v);
        expectSame(view.toJSON(), v);
        // Its own compact buffer: not the encoder's shared chunk, which later encodes write after.
        expect(view.offset).toBe(0);
        expect(view.bytes.byteLength).toBe(view.bytes.buffer.byteLength);
        expect(compareBytes(view.bytes, enc(v))).toBe(0); // toEqual on bytes costs 85% of this test's time
      }),
      { numRuns: runs(200) },
    );
    const error = codecErrorOf(() => MetadataView.fromJSON({ a: [1, undefined] } as unknown as JsonValue));
    expect(error.code).toBe('INVALID_INPUT');
    expect(error.path).toBe('a[1]');
  });

  it('round-trips unicode, lone surrogates, -0, extreme doubles, odd keys and wide objects exactly', () => {
    fc.assert(fc.property(jsonValues, expectRoundTrip), { numRuns: runs(300) });
  });

  it('round-trips nesting up to the depth cap', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: MAX_METADATA_DEPTH }), fc.boolean(), (depth, arrays) => {
        let v: JsonValue = 'leaf';
        for (let i = 0; i < depth; i++) v = arrays || i % 2 === 0 ? [v] : { k: v };
        expectRoundTrip(v);
      }),
      { numRuns: runs(20) },
    );
  });

  it('is deterministic and keeps insertion order (integer-like keys first, as JS enumerates)', () => {
    const v = { b: 1, a: [true, null], '10': 'x', '2': -0, z: { y: 1, x: 2 } };
    expect(enc(v)).toEqual(enc(v));
    const back = roundTrip(v) as Record<string, JsonValue>;
    expect(Object.keys(back)).toEqual(['2', '10', 'b', 'a', 'z']);
    expect(Object.keys(back.z as object)).toEqual(['y', 'x']);
    expect(Object.is(back['2'], -0)).toBe(true);
  });

  it('stores integers and short decimals compactly at their boundaries and every other number as an exact double', () => {
    const cases: [number, number][] = [
      [0, 1], [63, 1], [64, 2], [127, 2], [-1, 1], [-8, 1], [-9, 2], [-128, 2], [128, 3], [-129, 3], [32767, 3],
      [-32768, 3], [32768, 5], [-32769, 5], [2 ** 31 - 1, 5], [-(2 ** 31), 5],
      [2 ** 31, 9], [-(2 ** 31) - 1, 9], [2 ** 53 - 1, 9], [-(2 ** 53) + 1, 9], [-0, 9], [1e300, 9],
      [5e-324, 9], [Number.MAX_VALUE, 9],
      // m / 10^k with k <= 9: 3, 4 or 6 bytes when that division gives the very same double.
      [0.1, 3], [0.7, 3], [-2.5, 3], [12.7, 3], [19.99, 4], [-327.68, 4], [0.000123, 3], [0.000129, 4], [3.14159265, 6],
      [214748.3647, 6], [0.1 + 0.2, 9], [1 / 3, 9], [Math.PI, 9], [1e-10, 9], [214748364.8, 9], [2e8 + 0.5, 9],
    ];
    for (const [n, size] of cases) {
      const bytes = enc(n);
      expect(bytes.length, String(n)).toBe(size);
      expect(Object.is(decodeMetadata(bytes), n), String(n)).toBe(true);
      expect(Object.is(metadataView(bytes).asNumber(), n), String(n)).toBe(true);
    }
  });

  it('round-trips strings around every length-header boundary, in bytes not code units', () => {
    for (const len of [0, 1, 42, 43, 64, 65, 127, 128, 255, 256, 65535, 65536, 70000]) {
      for (const s of ['a'.repeat(len), 'é'.repeat(Math.ceil(len / 2)), '😀'.repeat(Math.ceil(len / 4))]) {
        expect(roundTrip(s) === s, `${s.length} units`).toBe(true);
      }
    }
    expect(enc('a'.repeat(127)).length).toBe(128); // one-byte header
    expect(enc('a'.repeat(128)).length).toBe(130); // u8 length
    expect(enc('a'.repeat(256)).length).toBe(259); // u16 length
    expect(enc('a'.repeat(65536)).length).toBe(65541); // u32 length
  });

  it('keeps a leading BOM, U+0000 and lone surrogates exactly (short and long strings)', () => {
    const odd = ['\uFEFF', '\uFEFFabc', `\uFEFF${'x'.repeat(100)}`, '\u0000', 'a\uD800', '\uDC00b',
      `${'y'.repeat(80)}\uD83D`, '\uDBFF\uDFFF', '\uD800\uD800\uDC00', '\uDC00\uD800'];
    for (const s of odd) {
      expect(roundTrip(s) === s, JSON.stringify(s)).toBe(true);
      expect(metadataView(enc(s)).asString() === s).toBe(true);
    }
  });

  it('keeps __proto__ and constructor as own keys without touching prototypes', () => {
    const v = objectOf([['__proto__', { polluted: true }], ['constructor', 'c'], ['toString', 1]]);
    const back = roundTrip(v) as Record<string, JsonValue>;
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(Object.getOwnPropertyNames(back)).toEqual(['__proto__', 'constructor', 'toString']);
    expect(Object.getOwnPropertyDescriptor(back, '__proto__')?.value).toEqual({ polluted: true });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const view = metadataView(enc(v));
    expect(view.get('__proto__')!.get('polluted')!.asBoolean()).toBe(true);
    expect(view.get('constructor')!.asString()).toBe('c');
    expect(view.get('hasOwnProperty')).toBeUndefined();
  });

  it('accepts null-prototype objects, objects from another realm and shared (acyclic) references', () => {
    const bare = Object.assign(Object.create(null) as Record<string, JsonValue>, { a: 1 });
    expect(roundTrip(bare)).toEqual({ a: 1 });
    expect(roundTrip(runInNewContext('({ a: [1, { b: "c" }] })') as JsonValue)).toEqual({ a: [1, { b: 'c' }] });
    const shared = { x: 1 };
    expect(roundTrip({ p: shared, q: [shared, shared] })).toEqual({ p: { x: 1 }, q: [{ x: 1 }, { x: 1 }] });
  });

  it('ignores enumerable properties inherited from a polluted Object.prototype, and symbol keys', () => {
    const proto = Object.prototype as Record<string, unknown>;
    proto.injected = 'nope';
    try {
      expect(roundTrip({ a: 1 })).toEqual({ a: 1 });
      expect(metadataView(enc({ a: 1 })).keys()).toEqual(['a']);
    } finally {
      delete proto.injected;
    }
    expect(roundTrip({ a: 1, [Symbol('s')]: 2 } as JsonValue)).toEqual({ a: 1 });
  });

  it('writes at a non-zero writer position, and survives the writer moving to a bigger chunk mid-value', () => {
    const value = { model: 'm', tags: ['a', 'b'], nested: { score: 0.5, big: 'x'.repeat(40_000) } };
    const w = new ByteWriter();
    w.begin();
    for (let i = 0; i < 30_000; i++) w.u8(0xee); // the record's own bytes before the field
    const offset = w.offset;
    writeMetadata(w, value);
    const length = w.offset - offset;
    w.u32(0xdeadbeef); // and after it
    const record = w.finish();
    expect(decodeMetadata(record, offset, length)).toEqual(value);
    const view = metadataView(record, offset, length);
    expect(view.offset).toBe(offset);
    expect(view.get('nested')!.get('score')!.asNumber()).toBe(0.5);
    expect(view.get('tags')!.at(1)!.asString()).toBe('b');
    // A view of the wrong extent is refused.
    expect(codecErrorOf(() => metadataView(record, offset, length + 1)).code).toBe('MALFORMED');
  });

  it('picks the narrowest header width whatever the writer guessed first', () => {
    // Arrays reserve a header by element count, objects a 1-byte one; the body moves when the guess was wrong.
    const arrays: [number, number][] = [
      [0, 0x20], [15, 0x2f], [16, 0x10], [64, 0x10], [65, 0x10], [126, 0x10], [127, 0x11], [300, 0x11], [0x3001, 0x11], [22_000, 0x12],
    ];
    for (const [n, tag] of arrays) {
      const list = Array.from({ length: n }, (_, i) => i % 60);
      const bytes = enc(list);
      expect(bytes[0], `${n} elements`).toBe(tag);
      expectRoundTrip(list);
      expectRoundTrip({ list, after: 'x' });
      if (n > 0) expect(metadataView(bytes).at(n - 1)!.asNumber()).toBe((n - 1) % 60);
    }
    for (const [n, tag, value] of [[40, 0x14, 1], [84, 0x15, 1], [400, 0x16, 'v'.repeat(200)]] as const) {
      const key = (i: number): string => String.fromCharCode(0x41 + (i % 26)) + i;
      const o = objectOf(Array.from({ length: n }, (_, i): [string, JsonValue] => [key(i), value]));
      expect(enc(o)[0], `${n} keys`).toBe(tag);
      expectRoundTrip(o);
    }
  });

  it('writes small containers with the count in the tag, and tables only where they help', () => {
    // Arrays of up to 15 elements: no table; at() skips the elements before the one asked for.
    expect(Array.from(enc([1, 'a', -1]))).toEqual([0x23, 6, 0x41, 0x81, 0x61, 0x1f]);
    const list = Array.from({ length: 15 }, (_, i) => (i % 2 === 0 ? i : { i }));
    list.forEach((v, i) => expect(metadataView(enc(list)).at(i)!.toJSON()).toEqual(v));
    // Objects of up to 2 entries: no table, get() compares both keys; 3 to 15 entries: a 1-byte sorted table.
    expect(Array.from(enc({ b: 1, a: 2 }))).toEqual([0x32, 8, 0x81, 0x62, 0x41, 0x81, 0x61, 0x42]);
    expect(metadataView(enc({ b: 1, a: 2 })).get('a')!.asNumber()).toBe(2);
    expect(metadataView(enc({ b: 1, a: 2 })).get('b')!.asNumber()).toBe(1);
    expect(metadataView(enc({ b: 1, a: 2 })).get('c')).toBeUndefined();
    expect(Array.from(enc({ c: 1, a: 2, b: 3 }))).toEqual([0x33, 14, 0x81, 0x63, 0x41, 0x81, 0x61, 0x42, 0x81, 0x62, 0x43, 5, 8, 2]);
    // A small count whose body does not fit a 1-byte size takes the large form.
    expect(enc(['x'.repeat(300)])[0]).toBe(0x11);
    expect(enc({ k: 'x'.repeat(250) })[0]).toBe(0x15);
    expectRoundTrip({ k: 'x'.repeat(250) });
  });

  it('sorts keys per object, even when similar key lists share a shape-cache slot', () => {
    const lists = [
      ['a', 'x', 'z'], ['a', 'y', 'z'], ['a', 'z', 'y'], ['a', 'b', 'm', 'z'], ['a', 'm', 'b', 'z'], ['a', 'x', 'z'],
    ];
    for (let round = 0; round < 3; round++) {
      for (const keys of lists) {
        const v = objectOf(keys.map((k, i) => [k, i]));
        const view = metadataView(enc(v));
        keys.forEach((k, i) => expect(view.get(k)!.asNumber()).toBe(i));
        expect(view.get('q')).toBeUndefined();
        expect(view.keys()).toEqual(keys);
      }
    }
  });

  it('writes large containers with 2- and 4-byte headers', () => {
    const wide = objectOf(Array.from({ length: 2000 }, (_, i): [string, JsonValue] => [`k${(i * 7919) % 2000}`, i]));
    const long = Array.from({ length: 70_000 }, (_, i) => i % 50);
    expectRoundTrip(wide);
    expectRoundTrip(long);
    expect(enc(long)[0]).toBe(0x12);
    const view = metadataView(enc(wide));
    expect(view.length).toBe(2000);
    for (let i = 0; i < 2000; i += 97) expect(view.get(`k${(i * 7919) % 2000}`)!.asNumber()).toBe(i);
    expect(metadataView(enc(long)).at(69_999)!.asNumber()).toBe(69_999 % 50);
  });
});

// --- lazy reads --------------------------------------------------------------------------------------------------

describe('MetadataView', () => {
  const sample = {
    model: 'all-MiniLM-L6-v2',
    tokens: 812,
    temperature: 0.7,
    tags: ['travel', 'plans', '2024'],
    source: { url: 'https://example.com/a', title: 'Example' },
    nested: { score: -1.5, deeper: { ok: true, none: null } },
    lang: 'en',
  };
  const view = metadataView(enc(sample));

  it('gets object members by key and array elements by index, in chains', () => {
    expect(view.type).toBe('object');
    expect(view.length).toBe(7);
    expect(view.get('nested')!.get('score')!.asNumber()).toBe(-1.5);
    expect(view.get('nested')!.get('deeper')!.get('ok')!.asBoolean()).toBe(true);
    expect(view.get('nested')!.get('deeper')!.get('none')!.isNull()).toBe(true);
    expect(view.get('source')!.get('url')!.asString()).toBe('https://example.com/a');
    expect(view.get('tags')!.at(0)!.asString()).toBe('travel');
    expect(view.get('tags')!.at(-1)!.asString()).toBe('2024');
    expect(view.get('tags')!.at(3)).toBeUndefined();
    expect(view.get('tags')!.at(-4)).toBeUndefined();
    expect(view.get('tags')!.at(0.5)).toBeUndefined();
    expect(view.get('tags')!.length).toBe(3);
    expect(view.get('missing')).toBeUndefined();
    expect(view.has('lang')).toBe(true);
    expect(view.has('Lang')).toBe(false);
    expect(view.get('source')!.toJSON()).toEqual(sample.source);
    expect(view.get('tags')!.value).toEqual(sample.tags);
    expect(view.keys()).toEqual(Object.keys(sample));
    expect(view.entries().map(([k, v]) => [k, v.toJSON()])).toEqual(Object.entries(sample));
    expect(JSON.stringify(view)).toBe(JSON.stringify(sample));
  });

  it('is lenient when navigating and strict in typed accessors', () => {
    expect(view.get('tokens')!.get('x')).toBeUndefined();
    expect(view.get('tokens')!.at(0)).toBeUndefined();
    expect(view.at(0)).toBeUndefined();
    expect(view.get('tags')!.get('0')).toBeUndefined();
    const types = Object.fromEntries(view.entries().map(([k, v]) => [k, v.type]));
    expect(types).toEqual({
      model: 'string', tokens: 'number', temperature: 'number', tags: 'array', source: 'object', nested: 'object',
      lang: 'string',
    });
    for (const [fn, expected] of [
      [() => view.get('tokens')!.asString(), 'a string'],
      [() => view.get('model')!.asNumber(), 'a number'],
      [() => view.get('tags')!.asBoolean(), 'a boolean'],
      [() => view.get('lang')!.length, 'an array or object'],
      [() => view.get('tags')!.keys(), 'an object'],
    ] as const) {
      const error = codecErrorOf(fn);
      expect(error.code).toBe('INVALID_INPUT');
      expect(error.message).toContain(`Expected ${expected}`);
    }
  });

  it('is not itself metadata to write: the error says to pass its toJSON()', () => {
    const error = invalid({ kept: metadataView(enc({ a: 1 })) }, 'Chat.metadata');
    expect(error.path).toBe('Chat.metadata.kept');
    expect(error.message).toContain('view.toJSON()');
  });

  it('knows its path inside the value, and its errors give it', () => {
    const view = metadataView(enc({ a: { 'odd key': [1, 'x'] }, b: [{ c: true }] }));
    expect(view.path).toBe('');
    expect(view.get('a')!.get('odd key')!.at(-1)!.path).toBe('a["odd key"][1]');
    expect(view.get('b')!.at(0)!.entries()[0]![1].path).toBe('b[0].c');
    expect(() => view.get('b')!.at(0)!.get('c')!.asString()).toThrow(
      expect.objectContaining({ code: 'INVALID_INPUT', path: 'b[0].c', message: 'Expected a string but the metadata value (at b[0].c) is a boolean' }),
    );
    expect(() => view.asString()).toThrow(expect.objectContaining({ path: '', message: 'Expected a string but the metadata value is an object' }));
    expect(metadataView(enc([1]), 0, undefined, 'Chat.metadata').at(0)!.path).toBe('Chat.metadata[0]');
  });

  it('finds every key of random objects by binary search, and no missing key', () => {
    fc.assert(
      fc.property(objects, keys, (v, probe) => {
        const view = metadataView(enc(v));
        const own = Object.keys(v);
        for (const k of own) expectSame(view.get(k)!.toJSON(), v[k]);
        expect(view.keys()).toEqual(own);
        expect(view.length).toBe(own.length);
        if (!Object.hasOwn(v, probe)) expect(view.get(probe)).toBeUndefined();
      }),
      { numRuns: runs(200) },
    );
  });

  it('orders keys by UTF-8 bytes (code points), not UTF-16 code units', () => {
    // '\uFF5E' < '\u{1F600}' in code points, but not in UTF-16 code units ('\uD83D' < '\uFF5E').
    const keys = ['\u{1F600}', '\uFF5E', '\uE000', 'a', '', '\uD800', '\uDBFF\uDFFF', '\u0000', 'é'];
    const v = objectOf(keys.map((k, i) => [k, i]));
    const bytes = enc(v);
    const view = metadataView(bytes);
    keys.forEach((k, i) => expect(view.get(k)!.asNumber(), JSON.stringify(k)).toBe(i));
    // The table (after the body, 1-byte offsets) lists the keys in byte order.
    const n = keys.length;
    const table = Array.from(bytes.subarray(bytes.length - n), (off) => {
      const len = bytes[off]! & 0x7f;
      return Array.from(bytes.subarray(off + 1, off + 1 + len));
    });
    const sorted = [...table].sort((a, b) => {
      for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
      return a.length - b.length;
    });
    expect(table).toEqual(sorted);
  });

  it('reads a value embedded anywhere in a bigger buffer', () => {
    fc.assert(
      fc.property(jsonValues, fc.uint8Array({ maxLength: 20 }), fc.uint8Array({ maxLength: 9 }), (v, before, after) => {
        const inner = enc(v);
        const record = new Uint8Array([...before, ...inner, ...after]);
        expectSame(decodeMetadata(record, before.length, inner.length), v);
        expectSame(metadataView(record, before.length, inner.length).toJSON(), v);
      }),
      { numRuns: runs(100) },
    );
  });
});

// --- validation ----------------------------------------------------------------------------------------------------

describe('metadata validation', () => {
  it('names the path of a non-finite number and says what to store instead', () => {
    const e = invalid({ tags: ['a', 'b', NaN] });
    expect(e.code).toBe('INVALID_INPUT');
    expect(e.path).toBe('tags[2]');
    expect(e.message).toContain('tags[2]');
    expect(e.message).toMatch(/finite number, null or a string/);
    expect(invalid({ nested: { score: Infinity } }).path).toBe('nested.score');
    expect(invalid({ nested: { score: -Infinity } }, 'metadata').path).toBe('metadata.nested.score');
    expect(invalid([0, [1, [2, NaN]]]).path).toBe('[1][1][1]');
    expect(invalid(NaN).path).toBe('');
    expect(invalid(NaN, 'metadata').path).toBe('metadata');
  });

  it('quotes keys that are not identifiers', () => {
    expect(invalid({ 'a b': { 'x.y': [undefined] } }).path).toBe('["a b"]["x.y"][0]');
    expect(invalid({ ok: { '': 1n } }, 'meta').path).toBe('meta.ok[""]');
  });

  const holey = new Array<number>(3);
  holey[0] = 1;
  holey[2] = 3;

  it.each([
    ['undefined', { a: undefined }, 'a', /leave the property out or store null/],
    ['a hole in an array', { a: holey }, 'a[1]', /undefined/],
    ['a function', { f: () => 1 }, 'f', /function/],
    ['a symbol', { s: Symbol('x') }, 's', /symbol/],
    ['a bigint', { n: 10n }, 'n', /String\(n\)/],
    ['a Date', { when: new Date(0) }, 'when', /toISOString/],
    ['a Map', { m: new Map() }, 'm', /Object\.fromEntries/],
    ['a Set', { s: new Set() }, 's', /\[\.\.\.set\]/],
    ['a typed array', { v: new Float32Array(2) }, 'v', /Float32Array.*Array\.from/],
    ['a class instance', { c: new (class Point { x = 1 })() }, 'c', /a Point is not a plain object/],
    ['a boxed string', { s: new String('x') }, 's', /valueOf/],
    ['an object with an Array prototype', { o: Object.create([]) as object }, 'o', /an Array is not a plain object/],
  ])('rejects %s with its path', (_name, value, path, message) => {
    const e = invalid(value);
    expect(e.code).toBe('INVALID_INPUT');
    expect(e.path).toBe(path);
    expect(e.message).toMatch(message);
  });

  it('rejects cycles where they close', () => {
    const a: Record<string, unknown> = { x: 1 };
    a.self = a;
    const e = invalid({ root: a });
    expect(e.path).toBe('root.self');
    expect(e.message).toMatch(/circular/);
    const list: unknown[] = [1];
    list.push({ back: list });
    expect(invalid(list).path).toBe('[1].back');
  });

  it('rejects nesting deeper than the cap', () => {
    let ok: JsonValue = 1;
    for (let i = 0; i < MAX_METADATA_DEPTH; i++) ok = [ok];
    expect(roundTrip(ok)).toEqual(ok);
    const e = invalid([ok]);
    expect(e.message).toMatch(/nested more than 256/);
    expect(e.path).toBe('[0]'.repeat(MAX_METADATA_DEPTH));
  });

  it('leaves the writer where it was and the encoder usable after an error', () => {
    const w = new ByteWriter();
    w.begin();
    w.u32(7);
    const before = w.pos;
    const bad = { a: 'x'.repeat(500), b: [1, 2, { c: NaN }] };
    expect(codecErrorOf(() => writeMetadata(w, bad, 'm')).path).toBe('m.b[2].c');
    expect(w.pos).toBe(before);
    writeMetadata(w, { ok: true });
    expect(decodeMetadata(w.finish(), 4)).toEqual({ ok: true });
    expectRoundTrip({ after: ['error'] });
  });

  it('passes errors of getters through, and refuses to be re-entered from one', () => {
    const boom = new Error('boom');
    const throwing = Object.defineProperty({}, 'x', { enumerable: true, get: () => { throw boom; } });
    expect(() => encodeMetadata(throwing as JsonValue)).toThrow(boom);
    const reentrant = Object.defineProperty({}, 'x', { enumerable: true, get: () => encodeMetadata(1) });
    expect(codecErrorOf(() => encodeMetadata(reentrant as JsonValue)).message).toMatch(/while writing metadata/);
    expectRoundTrip({ still: 'works' });
  });
});

// --- untrusted bytes -----------------------------------------------------------------------------------------------

/**
 * Reads everything reachable from `view` (up to `budget` nodes) and returns a transcript of what each read gave.
 * Every error must be CodecError('MALFORMED'); reads continue after one.
 */
function explore(view: MetadataView, budget = { left: 2000 }, out: string[] = []): string[] {
  const read = (what: string, fn: () => unknown): unknown => {
    try {
      const result = fn();
      const shown =
        result instanceof MetadataView ? `view(${result.type},${result.byteLength})` : JSON.stringify(result);
      out.push(`${what}=${shown}`);
      return result;
    } catch (error) {
      if (!isCodecError(error, 'MALFORMED')) throw error;
      out.push(`${what}!`);
      return undefined;
    }
  };
  if (--budget.left < 0) return out;
  const type = view.type;
  out.push(type);
  if (type === 'string') read('s', () => view.asString());
  else if (type === 'number') read('n', () => view.asNumber());
  else if (type === 'boolean') read('b', () => view.asBoolean());
  else if (type === 'array') {
    const n = read('length', () => view.length) as number;
    for (let i = 0; i < n && budget.left > 0; i++) {
      const element = read(`at(${i})`, () => view.at(i)) as MetadataView | undefined;
      if (element !== undefined) explore(element, budget, out);
    }
    read('at(-1)', () => view.at(-1));
  } else if (type === 'object') {
    read('length', () => view.length);
    read('keys', () => view.keys());
    const entries = (read('entries', () => view.entries()) ?? []) as [string, MetadataView][];
    for (const [key, child] of entries) {
      explore(child, budget, out);
      read(`get(${JSON.stringify(key)})`, () => view.get(key));
    }
    read('get(missing)', () => view.get('missing'));
  }
  read('toJSON', () => view.toJSON());
  return out;
}

function outcome(fn: () => unknown): string {
  try {
    return JSON.stringify(fn());
  } catch (error) {
    if (!isCodecError(error, 'MALFORMED')) throw error;
    return 'MALFORMED';
  }
}

/**
 * Decodes and explores `bytes` alone and as a region of buffers padded with different bytes. Only CodecError
 * (MALFORMED) may be thrown, and the results must be the same, which they would not be if anything were read
 * outside the region (a Uint8Array reads `undefined` past its end, the padding elsewhere).
 */
function checkUntrusted(bytes: Uint8Array): void {
  const alone = outcome(() => decodeMetadata(bytes));
  const transcript = outcome(() => explore(metadataView(bytes)));
  for (const fill of [0x00, 0x14, 0xff]) {
    const padded = new Uint8Array(bytes.length + 12).fill(fill);
    padded.set(bytes, 5);
    expect(outcome(() => decodeMetadata(padded, 5, bytes.length))).toBe(alone);
    expect(outcome(() => explore(metadataView(padded, 5, bytes.length)))).toBe(transcript);
  }
}

describe('metadata from untrusted bytes', () => {
  it('throws only CodecError(MALFORMED) on mutated, truncated or extended encodings', () => {
    const mutations = fc.oneof(
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }).map(
        (flips) => (b: Uint8Array) => {
          const c = b.slice();
          for (const [at, v] of flips) if (c.length > 0) c[at % c.length] = v;
          return c;
        },
      ),
      fc.nat().map((cut) => (b: Uint8Array) => b.slice(0, b.length === 0 ? 0 : cut % b.length)),
      fc.uint8Array({ minLength: 1, maxLength: 4 }).map((extra) => (b: Uint8Array) => new Uint8Array([...b, ...extra])),
    );
    fc.assert(
      fc.property(jsonValues, mutations, (v, mutate) => checkUntrusted(mutate(enc(v)))),
      { numRuns: runs(500) },
    );
  });

  it('throws only CodecError(MALFORMED) on random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), checkUntrusted), { numRuns: runs(500) });
    // Random bytes behind a valid container header, so they get past the first checks.
    fc.assert(
      fc.property(
        fc.constantFrom(0x10, 0x14),
        fc.integer({ min: 0, max: 8 }),
        fc.uint8Array({ maxLength: 60 }),
        (tag, count, body) => checkUntrusted(new Uint8Array([tag, body.length + 3, count, ...body])),
      ),
      { numRuns: runs(500) },
    );
    // The same behind a small container's header (count in the tag, one size byte).
    fc.assert(
      fc.property(
        fc.integer({ min: 0x20, max: 0x3f }),
        fc.uint8Array({ maxLength: 60 }),
        (tag, body) => checkUntrusted(new Uint8Array([tag, body.length + 2, ...body])),
      ),
      { numRuns: runs(500) },
    );
  });

  it.each([
    ['empty', []],
    ['an unknown tag', [0x0a]],
    ['a truncated int32', [0x05, 1, 2]],
    ['a truncated string', [0x85, 0x61]],
    ['trailing bytes', [0x00, 0x00]],
    ['a non-finite double', [0x06, 0, 0, 0, 0, 0, 0, 0xf8, 0x7f]],
    ['an overlong UTF-8 sequence', [0x82, 0xc0, 0x80]],
    ['a surrogate pair in CESU-8 form', [0x86, 0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80]],
    ['a code point past U+10FFFF', [0x84, 0xf4, 0x90, 0x80, 0x80]],
    ['a container larger than its region', [0x10, 0x09, 0x01, 0x40, 0x03]],
    ['a container claiming more entries than fit', [0x10, 0x05, 0x03, 0x40, 0x03]],
    ['an array whose table is not in element order', [0x10, 0x07, 0x02, 0x40, 0x41, 0x04, 0x03]],
    ['an object key that is not a string', [0x14, 0x06, 0x01, 0x40, 0x40, 0x03]],
  ])('rejects %s', (_name, bytes) => {
    const b = new Uint8Array(bytes);
    expect(codecErrorOf(() => decodeMetadata(b)).code).toBe('MALFORMED');
    checkUntrusted(b);
  });

  it('checks every table entry and key length that navigation follows', () => {
    // {"a": 1} is [0x14, 7, 1, 0x81, 0x61, 0x41, 3]; point its one table entry elsewhere.
    expect(metadataView(new Uint8Array([0x14, 7, 1, 0x81, 0x61, 0x41, 3])).get('a')!.asNumber()).toBe(1);
    for (const entry of [0, 1, 2, 6]) {
      const view = metadataView(new Uint8Array([0x14, 7, 1, 0x81, 0x61, 0x41, entry]));
      expect(codecErrorOf(() => view.get('a')).code, `entry ${entry}`).toBe('MALFORMED');
    }
    // A key whose length runs into the table.
    const longKey = metadataView(new Uint8Array([0x14, 7, 1, 0x83, 0x61, 0x41, 3]));
    expect(codecErrorOf(() => longKey.get('a')).code).toBe('MALFORMED');
    expect(codecErrorOf(() => longKey.keys()).code).toBe('MALFORMED');
    // [1] is [0x10, 5, 1, 0x41, 3]; an element offset pointing at the array itself, its header or its table.
    for (const element of [0, 1, 2, 4]) {
      const view = metadataView(new Uint8Array([0x10, 5, 1, 0x41, element]));
      expect(codecErrorOf(() => view.at(0)).code, `element ${element}`).toBe('MALFORMED');
    }
  });

  it('rejects regions outside the buffer', () => {
    const b = enc({ a: 1 });
    expect(codecErrorOf(() => metadataView(b, 1, b.length)).code).toBe('MALFORMED');
    expect(codecErrorOf(() => metadataView(b, -1)).code).toBe('MALFORMED');
    expect(codecErrorOf(() => decodeMetadata(b, 0.5, 2)).code).toBe('MALFORMED');
  });

  it('caps the nesting depth it materialises, while navigation stays possible', () => {
    const depth = 300;
    // The layout of nested one-element arrays, as the encoder writes them at a depth it accepts...
    expect(Array.from(enc([[[[1]]]]))).toEqual([0x21, 9, 0x21, 7, 0x21, 5, 0x21, 3, 0x41]);
    // ...and by hand, 300 deep, in the large form with 4-byte widths.
    const w = 4;
    const header = 1 + 2 * w;
    const deep = new Uint8Array(depth * (header + w) + 1);
    const dv = new DataView(deep.buffer);
    for (let i = 0; i < depth; i++) {
      const at = i * header;
      const size = (depth - i) * (header + w) + 1;
      deep[at] = 0x12;
      dv.setUint32(at + 1, size, true);
      dv.setUint32(at + 1 + w, 1, true);
      dv.setUint32(deep.length - (i + 1) * w, header, true);
    }
    deep[depth * header] = 0x41;
    const error = codecErrorOf(() => decodeMetadata(deep));
    expect(error.code).toBe('MALFORMED');
    expect(error.message).toMatch(/nested more than 256/);
    let view: MetadataView | undefined = metadataView(deep);
    for (let i = 0; i < depth; i++) view = view!.at(0);
    expect(view!.asNumber()).toBe(1);
    expect(metadataView(deep).at(0)!.at(0)!.type).toBe('array');
  });
});

describe('metadata misuse', () => {
  it('encodeMetadata called from a getter of the value being encoded is refused without damaging the outer bytes', () => {
    const value: Record<string, unknown> = { x: 'hello world', y: 1 };
    let nested: unknown;
    Object.defineProperty(value, 'z', {
      enumerable: true,
      get() {
        try {
          encodeMetadata({ q: 1 });
        } catch (error) {
          nested = error;
        }
        return 'zz';
      },
    });
    const bytes = encodeMetadata(value as never).slice();
    expect(decodeMetadata(bytes)).toEqual({ x: 'hello world', y: 1, z: 'zz' });
    expect((nested as CodecError).code).toBe('INVALID_INPUT');
    expect(decodeMetadata(encodeMetadata({ after: true }))).toEqual({ after: true });
  });

  it('bytes that are not a Uint8Array give CodecError INVALID_INPUT, not a TypeError', () => {
    for (const bytes of [null, undefined, 7, {}]) {
      expect(codecErrorOf(() => decodeMetadata(bytes as never)).code).toBe('INVALID_INPUT');
      expect(codecErrorOf(() => new MetadataView(bytes as never)).code).toBe('INVALID_INPUT');
      expect(codecErrorOf(() => metadataView(bytes as never)).code).toBe('INVALID_INPUT');
    }
  });
});
