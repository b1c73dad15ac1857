import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareBytes } from '@tabstore/sdk';
import { CodecError } from '../src/codec/errors.js';
import { codecErrorOf } from './codec-error.js';
import {
  compareKeyTuples,
  decodeKey,
  encodeKey,
  keyPrefix,
  tupleScan,
  type KeyPart,
  type KeyTuple,
} from '../src/codec/keys.js';

/** Long fuzzing: `FUZZ_RUNS=100000 npx vitest run ...` runs every property that many times. */
const RUNS = Number(process.env.FUZZ_RUNS ?? 1000);

// ---- arbitraries ------------------------------------------------------------------------------------------------

/** Characters at the edges of the UTF-8 length classes, U+0000 and astral characters. */
const edgeChar = fc.constantFrom(
  '\u0000',
  '\u0001',
  'a',
  '\u007f',
  '\u0080',
  '\u00ff',
  '\u07ff',
  '\u0800',
  '\ud7ff',
  '\ue000',
  '\ufeff',
  '\uffff',
  '\u{10000}',
  '\u{1f600}',
  '\u{10ffff}',
);
const keyString = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.string({ unit: edgeChar, maxLength: 6 }),
  fc.string({ unit: fc.oneof(edgeChar, fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })), maxLength: 4 }),
  // Long enough for the native (TextEncoder / TextDecoder) paths, with and without U+0000.
  fc.string({ unit: 'binary', minLength: 40, maxLength: 120 }),
  fc.string({ unit: edgeChar, minLength: 40, maxLength: 80 }),
);

const edgeNumber = fc.constantFrom(
  0,
  -0,
  1,
  -1,
  0.5,
  -0.5,
  2,
  2.5,
  3,
  Infinity,
  -Infinity,
  Number.MIN_VALUE,
  -Number.MIN_VALUE,
  Number.MAX_VALUE,
  -Number.MAX_VALUE,
  Number.MAX_SAFE_INTEGER,
  Number.MIN_SAFE_INTEGER,
  Number.MAX_SAFE_INTEGER + 1,
  Number.EPSILON,
  1e-300,
  -1e300,
  2 ** -1074 * 3,
);
const keyNumber = fc.oneof(
  fc.double({ noNaN: true }),
  fc.integer(),
  fc.integer({ min: -3, max: 3 }),
  fc.maxSafeInteger(),
  edgeNumber,
  fc.integer({ min: -20, max: 20 }).map((n) => n / 4),
);

const edgeByte = fc.constantFrom(0x00, 0x01, 0xfe, 0xff);
const keyBytes = fc.oneof(
  fc.uint8Array({ maxLength: 8 }),
  fc.array(edgeByte, { maxLength: 6 }).map((a) => Uint8Array.from(a)),
  fc.array(fc.oneof(edgeByte, fc.integer({ min: 0, max: 255 })), { minLength: 40, maxLength: 100 }).map((a) =>
    Uint8Array.from(a),
  ),
);

const keyPart: fc.Arbitrary<KeyPart> = fc.oneof(fc.boolean(), keyNumber, keyString, keyBytes);
const keyTuple: fc.Arbitrary<KeyPart[]> = fc.array(keyPart, { maxLength: 5 });

/** Parts from a small domain, so random tuples often share parts and the comparison goes deep. */
const smallPart: fc.Arbitrary<KeyPart> = fc.oneof(
  fc.boolean(),
  fc.constantFrom(-1, -0, 0, 0.5, 1, Infinity),
  fc.constantFrom('', 'a', 'a\u0000', 'a\u0001', 'ab', '\uffff', '\u{10000}'),
  fc.constantFrom(new Uint8Array([]), new Uint8Array([0]), new Uint8Array([0, 0]), new Uint8Array([0xff])),
);
const smallTuple = fc.array(smallPart, { maxLength: 4 });

/** Two tuples that often share a prefix. */
const tuplePair: fc.Arbitrary<[KeyPart[], KeyPart[]]> = fc.oneof(
  fc.tuple(keyTuple, keyTuple),
  fc.tuple(smallTuple, smallTuple),
  fc.tuple(keyTuple, keyTuple, keyTuple).map(([p, a, b]): [KeyPart[], KeyPart[]] => [
    [...p, ...a],
    [...p, ...b],
  ]),
  fc.tuple(keyTuple, smallTuple, smallTuple).map(([p, a, b]): [KeyPart[], KeyPart[]] => [
    [...p, ...a],
    [...p, ...b],
  ]),
);

// ---- helpers ----------------------------------------------------------------------------------------------------

const sign = (n: number): number => (n < 0 ? -1 : n > 0 ? 1 : 0);
/** What a tuple decodes back to: -0 becomes 0. */
const normalised = (t: KeyTuple): KeyPart[] => t.map((p) => (Object.is(p, -0) ? 0 : p));
const startsWith = (bytes: Uint8Array, prefix: Uint8Array): boolean =>
  bytes.length >= prefix.length && compareBytes(bytes.subarray(0, prefix.length), prefix) === 0;
const concat = (...arrays: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(arrays.reduce((n, a) => n + a.length, 0));
  let offset = 0;
  for (const a of arrays) {
    out.set(a, offset);
    offset += a.length;
  }
  return out;
};
const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);

/**
 * True when decoding `input` either throws a MALFORMED CodecError or gives a tuple whose encoding is `input` again
 * (decoding accepts canonical encodings only). Plain checks, not `expect`: this runs thousands of times per test.
 */
function decodesStrictly(input: Uint8Array): boolean {
  let decoded: KeyPart[];
  try {
    decoded = decodeKey(input);
  } catch (error) {
    if (error instanceof CodecError && error.code === 'MALFORMED') return true;
    throw error;
  }
  return compareBytes(encodeKey(decoded), input) === 0;
}

function expectCodecError(f: () => unknown, code: string, message?: RegExp, path?: string): void {
  const error = codecErrorOf(f);
  expect(error.code).toBe(code);
  if (message) expect(error.message).toMatch(message);
  if (path !== undefined) expect(error.path).toBe(path);
}

// ---- properties -------------------------------------------------------------------------------------------------

describe('key codec properties', () => {
  it('round-trips every tuple (-0 comes back as 0)', () => {
    fc.assert(
      fc.property(keyTuple, (t) => {
        expect(decodeKey(encodeKey(t))).toEqual(normalised(t));
      }),
      { numRuns: RUNS * 2 },
    );
  });

  it('orders encoded bytes exactly as compareKeyTuples orders the tuples', () => {
    fc.assert(
      fc.property(tuplePair, ([a, b]) => {
        const byBytes = sign(compareBytes(encodeKey(a), encodeKey(b)));
        expect(byBytes).toBe(sign(compareKeyTuples(a, b)));
        expect(sign(compareKeyTuples(b, a))).toBe(0 - byBytes);
      }),
      { numRuns: RUNS * 3 },
    );
  });

  it("makes a tuple's encoding a prefix of every longer tuple's that starts with it (and concatenation)", () => {
    fc.assert(
      fc.property(keyTuple, keyTuple, (t, more) => {
        const whole = encodeKey([...t, ...more]);
        expect(startsWith(whole, encodeKey(t))).toBe(true);
        expect(startsWith(whole, keyPrefix(t))).toBe(true);
        expect(whole).toEqual(concat(encodeKey(t), encodeKey(more)));
      }),
      { numRuns: RUNS },
    );
  });

  it('tupleScan(encodeKey(t)) holds exactly the keys of the tuples that start with t', () => {
    const startsWithTuple = (u: KeyTuple, t: KeyTuple): boolean =>
      u.length >= t.length && compareKeyTuples(u.slice(0, t.length), t) === 0;
    const inScan = (key: Uint8Array, scan: { prefix: Uint8Array; lt?: Uint8Array }): boolean =>
      startsWith(key, scan.prefix) && (scan.lt === undefined || compareBytes(key, scan.lt) < 0);
    fc.assert(
      fc.property(tuplePair, ([t, u]) => {
        expect(inScan(encodeKey(u), tupleScan(encodeKey(t)))).toBe(startsWithTuple(u, t));
      }),
      { numRuns: RUNS * 3 },
    );
    // The case a byte prefix gets wrong: a string or byte string that goes on with a zero.
    const scan = tupleScan(encodeKey(['c']));
    expect(startsWith(encodeKey(['c\u0000x']), scan.prefix)).toBe(true);
    expect(inScan(encodeKey(['c\u0000x']), scan)).toBe(false);
    expect(inScan(encodeKey(['c', '\u0000x']), scan)).toBe(true);
    expect(inScan(encodeKey([new Uint8Array([1, 0])]), tupleScan(encodeKey([new Uint8Array([1])])))).toBe(false);
  });

  it('sorts arrays of tuples the same way by bytes and by compareKeyTuples', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(keyTuple, smallTuple), { maxLength: 30 }), (tuples) => {
        const byBytes = tuples.map(encodeKey).sort(compareBytes);
        const byTuples = [...tuples].sort(compareKeyTuples).map(encodeKey);
        expect(byBytes).toEqual(byTuples);
      }),
      { numRuns: RUNS / 2 },
    );
  });

  it('decodes random bytes strictly: MALFORMED or a canonical encoding, nothing else', () => {
    const tagOrNoise = fc.oneof(
      fc.constantFrom(0x00, 0x02, 0x03, 0x10, 0x20, 0x30, 0xff),
      fc.integer({ min: 0, max: 255 }),
    );
    fc.assert(
      fc.property(fc.array(tagOrNoise, { maxLength: 40 }), (values) => decodesStrictly(Uint8Array.from(values))),
      { numRuns: RUNS * 2 },
    );
  });

  it('accepts exactly the UTF-8 that a fatal TextDecoder accepts, with the same result', () => {
    const oracle = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
    // Valid characters mixed with near-misses: a lead byte (or a byte UTF-8 never uses) followed by 0-3 bytes at the
    // edges of the continuation ranges (overlongs, surrogates, > U+10FFFF, truncated sequences). No 0x00 (the end).
    const validChar = fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }).filter((c) => c !== '\u0000');
    const nearMiss = fc.tuple(
      fc.constantFrom(0x80, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf4, 0xf5, 0xff),
      fc.array(fc.constantFrom(0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0), { maxLength: 3 }),
    );
    const chunk = fc.oneof(
      validChar.map((c) => Array.from(new TextEncoder().encode(c))),
      nearMiss.map(([lead, rest]) => [lead, ...rest]),
    );
    const payloads = fc.oneof(fc.array(chunk, { maxLength: 4 }), fc.array(chunk, { minLength: 10, maxLength: 30 }));
    fc.assert(
      fc.property(payloads.map((chunks) => chunks.flat()), (payload) => {
        let expected: string | undefined;
        try {
          expected = oracle.decode(Uint8Array.from(payload));
        } catch {
          expected = undefined;
        }
        let actual: string | undefined;
        try {
          actual = decodeKey(Uint8Array.from([0x20, ...payload, 0x00]))[0] as string;
        } catch (error) {
          if (!(error instanceof CodecError && error.code === 'MALFORMED')) throw error;
          actual = undefined;
        }
        return actual === expected;
      }),
      { numRuns: RUNS * 3 },
    );
  });

  it('decodes mutated and truncated encodings strictly', () => {
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), value: fc.constant(0) }),
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(), value: fc.constant(0) }),
    );
    fc.assert(
      fc.property(keyTuple, fc.array(mutation, { minLength: 1, maxLength: 3 }), (t, mutations) => {
        const values = Array.from(encodeKey(t));
        for (const { kind, at, value } of mutations) {
          const i = values.length === 0 ? 0 : at % (values.length + (kind === 'insert' ? 1 : 0));
          if (kind === 'set' && values.length > 0) values[i] = value;
          else if (kind === 'insert') values.splice(i, 0, value);
          else if (kind === 'delete') values.splice(i, 1);
          else if (kind === 'truncate') values.length = Math.min(values.length, i);
        }
        return decodesStrictly(Uint8Array.from(values));
      }),
      { numRuns: RUNS * 2 },
    );
  });

  it('decodes every prefix of an encoding strictly', () => {
    fc.assert(
      fc.property(keyTuple, (t) => {
        const encoded = encodeKey(t);
        for (let n = 0; n <= encoded.length; n++) if (!decodesStrictly(encoded.subarray(0, n))) return false;
        return true;
      }),
      { numRuns: RUNS / 2 },
    );
  });
});

// ---- examples ---------------------------------------------------------------------------------------------------

describe('key codec examples', () => {
  it('pins the byte format (it is stored on disk)', () => {
    expect(encodeKey([])).toEqual(bytes());
    expect(encodeKey([false, true])).toEqual(bytes(0x02, 0x03));
    expect(encodeKey([1])).toEqual(bytes(0x10, 0xbf, 0xf0, 0, 0, 0, 0, 0, 0));
    expect(encodeKey([-1])).toEqual(bytes(0x10, 0x40, 0x0f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff));
    expect(encodeKey([0])).toEqual(bytes(0x10, 0x80, 0, 0, 0, 0, 0, 0, 0));
    expect(encodeKey([-0])).toEqual(encodeKey([0]));
    expect(encodeKey(['a\u0000b', ''])).toEqual(bytes(0x20, 0x61, 0x00, 0xff, 0x62, 0x00, 0x20, 0x00));
    expect(encodeKey(['é😀'])).toEqual(bytes(0x20, 0xc3, 0xa9, 0xf0, 0x9f, 0x98, 0x80, 0x00));
    expect(encodeKey([bytes(0, 1, 0xff)])).toEqual(bytes(0x30, 0x00, 0xff, 0x01, 0xff, 0x00));
  });

  it('encodes a typical index key and scans it by prefix', () => {
    const key = encodeKey(['Message.chatId', 'chat_123', 'msg_456']);
    expect(decodeKey(key)).toEqual(['Message.chatId', 'chat_123', 'msg_456']);
    expect(startsWith(key, keyPrefix(['Message.chatId', 'chat_123']))).toBe(true);
    // 'chat_12' is a string prefix of 'chat_123' but not the same part: its key is no prefix.
    expect(startsWith(key, keyPrefix(['Message.chatId', 'chat_12']))).toBe(false);
  });

  it('orders numbers numerically, integers and fractions alike', () => {
    const ordered = [-Infinity, -Number.MAX_VALUE, -1.5, -1, -0.5, -Number.MIN_VALUE, 0, Number.MIN_VALUE, 1e-300,
      1, 2, 2.5, 3, 2 ** 53 - 1, 2 ** 53, Number.MAX_VALUE, Infinity];
    for (let i = 1; i < ordered.length; i++) {
      const a = [ordered[i - 1]!];
      const b = [ordered[i]!];
      expect(compareKeyTuples(a, b)).toBe(-1);
      expect(compareBytes(encodeKey(a), encodeKey(b))).toBeLessThan(0);
    }
    for (const n of ordered) expect(decodeKey(encodeKey([n]))).toEqual([n]);
  });

  it('treats -0 as 0: equal keys, decoded as 0', () => {
    expect(compareKeyTuples([-0], [0])).toBe(0);
    expect(encodeKey([-0])).toEqual(encodeKey([0]));
    expect(Object.is(decodeKey(encodeKey([-0]))[0], 0)).toBe(true);
  });

  it('round-trips safe integers exactly', () => {
    for (const n of [Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 2 ** 31, -(2 ** 31) - 1, 123456789012345]) {
      expect(decodeKey(encodeKey([n]))).toEqual([n]);
    }
  });

  it('rejects NaN with INVALID_INPUT', () => {
    expectCodecError(() => encodeKey(['a', NaN]), 'INVALID_INPUT', /NaN cannot be a key part/, '[1]');
    expectCodecError(() => compareKeyTuples([NaN], [1]), 'INVALID_INPUT', /NaN cannot be a key part/);
  });

  it('keeps U+0000 inside strings ordered and round-tripping', () => {
    const ordered = ['', '\u0000', '\u0000\u0000', '\u0000\u0001', '\u0001', 'a', 'a\u0000', 'a\u0000b', 'a\u0001'];
    for (let i = 1; i < ordered.length; i++) {
      const a = [ordered[i - 1]!, 'z'];
      const b = [ordered[i]!];
      expect(compareKeyTuples(a, b)).toBe(-1);
      expect(compareBytes(encodeKey(a), encodeKey(b))).toBeLessThan(0);
    }
    const long = `${'x'.repeat(60)}\u0000${'y'.repeat(60)}`;
    for (const s of [...ordered, long]) expect(decodeKey(encodeKey([s, 1]))).toEqual([s, 1]);
  });

  it('orders strings by code point: astral characters after U+FFFF', () => {
    expect('\uffff' < '\u{10000}').toBe(false); // JavaScript's own (UTF-16) order gets this wrong
    expect(compareKeyTuples(['\uffff'], ['\u{10000}'])).toBe(-1);
    expect(compareBytes(encodeKey(['\uffff']), encodeKey(['\u{10000}']))).toBeLessThan(0);
    expect(compareKeyTuples(['\ue000'], ['\u{1f600}'])).toBe(-1);
    expect(compareKeyTuples(['\u{10000}'], ['\u{10ffff}'])).toBe(-1);
    expect(decodeKey(encodeKey(['\u{10ffff}\u{1f600}']))).toEqual(['\u{10ffff}\u{1f600}']);
  });

  it('keeps a leading byte order mark (short and long strings)', () => {
    for (const s of ['\ufeff', '\ufeffabc', `\ufeff${'a'.repeat(80)}`]) expect(decodeKey(encodeKey([s]))).toEqual([s]);
  });

  it('rejects lone surrogates with INVALID_INPUT', () => {
    const lone = ['\ud800', '\udc00', 'a\ud800', 'a\ud800b', '\udc00\ud800', '\ud83d', `${'x'.repeat(60)}\udfff`];
    for (const s of lone) {
      expectCodecError(() => encodeKey([1, s]), 'INVALID_INPUT', /lone surrogate/, '[1]');
      expectCodecError(() => compareKeyTuples([1, s], [1, 'a']), 'INVALID_INPUT', /lone surrogate/);
    }
  });

  it('orders types: false < true < numbers < strings < bytes', () => {
    const ordered: KeyTuple[] = [
      [],
      [false],
      [false, -Infinity],
      [true],
      [-Infinity],
      [0, false],
      [0, ''],
      [Infinity],
      [''],
      ['', false],
      ['\u{10ffff}'],
      [new Uint8Array()],
      [new Uint8Array([0])],
      [new Uint8Array([0]), false],
      [new Uint8Array([0, 0])],
      [new Uint8Array([1])],
      [new Uint8Array([0xff])],
    ];
    for (let i = 1; i < ordered.length; i++) {
      const a = ordered[i - 1]!;
      const b = ordered[i]!;
      expect(compareKeyTuples(a, b)).toBe(-1);
      expect(compareBytes(encodeKey(a), encodeKey(b))).toBeLessThan(0);
      expect(decodeKey(encodeKey(b))).toEqual(b);
    }
  });

  it('encodes the empty tuple as empty bytes, a prefix of every key', () => {
    expect(encodeKey([]).length).toBe(0);
    expect(decodeKey(new Uint8Array())).toEqual([]);
    expect(compareKeyTuples([], [])).toBe(0);
    expect(compareKeyTuples([], [false])).toBe(-1);
  });

  it('rejects parts of other types with INVALID_INPUT and a path', () => {
    const invalid: unknown[] = [
      undefined,
      null,
      {},
      [],
      1n,
      new Date(0),
      new Uint16Array(2),
      new DataView(new ArrayBuffer(1)),
      Symbol('s'),
    ];
    for (const part of invalid) {
      const tuple = ['a', part] as unknown as KeyTuple;
      expectCodecError(() => encodeKey(tuple), 'INVALID_INPUT', /key parts must be/, '[1]');
      expectCodecError(() => compareKeyTuples(tuple, ['b']), 'INVALID_INPUT');
      expectCodecError(() => compareKeyTuples(['a'], tuple), 'INVALID_INPUT');
    }
    expectCodecError(() => encodeKey('abc' as unknown as KeyTuple), 'INVALID_INPUT', /array of key parts/);
    expectCodecError(() => decodeKey([1, 2] as unknown as Uint8Array), 'INVALID_INPUT', /Uint8Array/);
  });

  it('throws MALFORMED for bytes encodeKey never produces', () => {
    const nonCanonical = [
      bytes(0x01), // unknown tag
      bytes(0xff),
      bytes(0x02, 0x00),
      bytes(0x10, 0x80, 0, 0), // truncated number
      bytes(0x10, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), // -0
      bytes(0x10, 0xff, 0xf8, 0, 0, 0, 0, 0, 0), // NaN
      bytes(0x10, 0x00, 0x07, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), // negative NaN
      bytes(0x20, 0x61), // unterminated string
      bytes(0x20, 0x61, 0x00, 0xff), // ends in an escaped zero
      bytes(0x20, 0xc0, 0x80, 0x00), // overlong U+0000
      bytes(0x20, 0xe0, 0x80, 0x80, 0x00), // overlong
      bytes(0x20, 0xed, 0xa0, 0x80, 0x00), // encoded surrogate
      bytes(0x20, 0xf4, 0x90, 0x80, 0x80, 0x00), // above U+10FFFF
      bytes(0x20, 0xc3, 0x00), // truncated sequence before the terminator
      bytes(0x20, 0xc3, 0x00, 0xff, 0x00), // a lead byte followed by an escaped zero
      bytes(0x20, 0xff, 0x00), // a stray 0xFF
      bytes(0x20, 0x80, 0x00), // a stray continuation byte
      bytes(0x20, ...new Array<number>(60).fill(0x61), 0xed, 0xa0, 0x80, 0x00), // long (native) path
      bytes(0x20, ...new Array<number>(60).fill(0x61), 0x00, 0xff, 0xc0, 0x80, 0x00), // long, with an escape
      bytes(0x30, 0x01), // unterminated bytes
      bytes(0x30, 0x00, 0xff), // ends in an escaped zero
    ];
    for (const input of nonCanonical) expectCodecError(() => decodeKey(input), 'MALFORMED', /Malformed key/);
  });

  it('decodes views at an offset and Buffers, returning byte parts that own their memory', () => {
    const encoded = encodeKey(['a', new Uint8Array([1, 0, 2]), new Uint8Array(80).fill(7)]);
    const backing = new Uint8Array(encoded.length + 10);
    backing.set(encoded, 5);
    const view = backing.subarray(5, 5 + encoded.length);
    const decoded = decodeKey(view);
    expect(decoded).toEqual(['a', new Uint8Array([1, 0, 2]), new Uint8Array(80).fill(7)]);
    backing.fill(9);
    expect(decoded[2]).toEqual(new Uint8Array(80).fill(7));
    // Buffer.prototype.slice makes a view, not a copy: decoded parts must still be plain Uint8Arrays of their own.
    const buffer = Buffer.from(encoded);
    const fromBuffer = decodeKey(buffer);
    expect(fromBuffer).toEqual(['a', new Uint8Array([1, 0, 2]), new Uint8Array(80).fill(7)]);
    expect(Object.getPrototypeOf(fromBuffer[1])).toBe(Uint8Array.prototype);
    expect(Object.getPrototypeOf(fromBuffer[2])).toBe(Uint8Array.prototype);
    buffer.fill(9);
    expect(fromBuffer[1]).toEqual(new Uint8Array([1, 0, 2]));
    expect(fromBuffer[2]).toEqual(new Uint8Array(80).fill(7));
  });

  it('returns keys that own their bytes, across scratch growth', () => {
    const first = encodeKey(['first', 1]);
    const huge = encodeKey(['h'.repeat(100_000), new Uint8Array(100_000).fill(3)]);
    const second = encodeKey(['second', 2]);
    expect(decodeKey(first)).toEqual(['first', 1]);
    expect(decodeKey(second)).toEqual(['second', 2]);
    expect(huge.length).toBe(1 + 100_000 + 1 + 1 + 100_000 + 1);
    expect(first.byteLength).toBe(first.buffer.byteLength);
  });
});

describe('encodeKey re-entered from a part getter', () => {
  it('a key encoded inside a getter of another key being encoded leaves both keys right', () => {
    for (const innerPart of ['zzzzzzzzzz', 'z'.repeat(300)]) {
      // short: written over the outer key's bytes in a shared buffer; long: the shared buffer grows meanwhile
      const tuple = ['aaaa', 'b'];
      let inner: Uint8Array | undefined;
      Object.defineProperty(tuple, 1, {
        enumerable: true,
        get() {
          inner = encodeKey([innerPart]);
          return 'b';
        },
      });
      expect(decodeKey(encodeKey(tuple))).toEqual(['aaaa', 'b']);
      expect(decodeKey(inner!)).toEqual([innerPart]);
      expect(decodeKey(encodeKey(['after', 1]))).toEqual(['after', 1]);
    }
  });
});
