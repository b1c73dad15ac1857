import { describe, expect, it } from 'vitest';
import { decodeRecord, defineRecord, detectFormat, encodeKey, encodeNode, encodeRecord, fieldReader, newId, readHeader, t, toLegacyNode, viewRecord, type Node } from '@tabstore/sdk';

/** Regression tests for bugs found in a review of the codec and the model. */

describe('record strings', () => {
  const Text = defineRecord({ name: 'Text', typeId: 950, version: 1, fields: { text: t.string(), list: t.stringList() } });

  it('keep a leading U+FEFF (byte order mark) whatever else the string holds', () => {
    // U+FFFD sends the decoder to its strict path; U+FEFF first must not be taken for a BOM and dropped.
    for (const s of ['\uFEFF\uFFFD', '\uFEFF', `\uFEFF${'é'.repeat(40)}`, `\uFEFF\uFFFD${'x'.repeat(100)}`]) {
      const bytes = encodeRecord(Text, { text: s, list: [s, 'a'] }).slice();
      expect(decodeRecord(Text, bytes)).toEqual({ text: s, list: [s, 'a'] });
      expect(viewRecord(Text, bytes).text).toBe(s);
      expect(viewRecord(Text, bytes).list).toEqual([s, 'a']);
    }
  });
});

describe('record bytes fields', () => {
  const Blob = defineRecord({ name: 'Blob', typeId: 951, version: 1, fields: { blob: t.bytes(), vector: t.float32Vector() } });

  it('decodeRecord and toObject copy large byte strings out of a Node Buffer too (Buffer#slice is a view)', () => {
    for (const size of [100, 20_000]) {
      const value = { blob: new Uint8Array(size).fill(7), vector: new Float32Array(size).fill(1.5) };
      const record = Buffer.from(encodeRecord(Blob, value));
      const decoded = decodeRecord(Blob, record);
      const materialised = viewRecord(Blob, record).toObject();
      record.fill(0);
      for (const out of [decoded, materialised]) {
        expect(out.blob.length).toBe(size);
        expect(out.blob.every((x) => x === 7)).toBe(true);
        expect(out.blob.buffer).not.toBe(record.buffer);
        expect(Buffer.isBuffer(out.blob)).toBe(false);
        expect(out.vector.every((x) => x === 1.5)).toBe(true);
      }
    }
  });
});

describe('enum fields', () => {
  it('an enum has 1 to 256 values (its index is one byte): more are refused when declared, not written modulo 256', () => {
    const values = Array.from({ length: 257 }, (_, i) => `v${i}`) as unknown as [string, ...string[]];
    expect(() => t.enumOf(values)).toThrow(/256/);
    expect(() => t.enumOf([] as unknown as [string])).toThrow(TypeError);
    const max = Array.from({ length: 256 }, (_, i) => `v${i}`) as unknown as [string, ...string[]];
    const E = defineRecord({ name: 'E', typeId: 952, version: 1, fields: { e: t.enumOf(max) } });
    expect(decodeRecord(E, encodeRecord(E, { e: 'v255' })).e).toBe('v255');
  });
});

describe('schema field names', () => {
  it('a field may not take the name of a record view member (its view class could not be built)', () => {
    for (const name of ['toObject', 'schemaVersion']) {
      expect(() => defineRecord({ name: 'Clash', typeId: 953, version: 1, fields: { [name]: t.string() } }), name).toThrow(
        new RegExp(`Clash: .*${name}`),
      );
    }
    // `type` stays allowed: the field then is the view's `type`.
    const Typed = defineRecord({ name: 'Typed', typeId: 954, version: 1, fields: { type: t.string() } });
    expect(viewRecord(Typed, encodeRecord(Typed, { type: 'x' })).type).toBe('x');
  });
});

describe('fieldReader input', () => {
  it('fieldReader, viewRecord and decodeRecord refuse what is not a Uint8Array with CodecError INVALID_INPUT', () => {
    const S = defineRecord({ name: 'Scalars', typeId: 955, version: 1, fields: { n: t.int32(), at: t.safeInt(), x: t.float64(), s: t.string() } });
    const record = encodeRecord(S, { n: 5, at: 6, x: 7, s: 's' });
    for (const name of ['n', 'at', 'x', 's'] as const) {
      const read = fieldReader(S, name);
      for (const input of [null, undefined, 'text', Array.from(record)]) {
        expect(() => read(input as unknown as Uint8Array), `${name} ${String(input)}`).toThrow(
          expect.objectContaining({ name: 'CodecError', code: 'INVALID_INPUT' }),
        );
      }
    }
    for (const input of [null, undefined, 'text', Array.from(record)]) {
      const invalid = expect.objectContaining({ name: 'CodecError', code: 'INVALID_INPUT' });
      expect(() => viewRecord(S, input as unknown as Uint8Array), String(input)).toThrow(invalid);
      expect(() => decodeRecord(S, input as unknown as Uint8Array), String(input)).toThrow(invalid);
    }
  });
});

describe('newId', () => {
  it('a fractional time (performance.timeOrigin + performance.now()) gives a well-formed id of its millisecond', () => {
    const id = newId(1_700_000_000_000.75);
    expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    const base32 = (n: number): string => Array.from({ length: 10 }, (_, i) => '0123456789ABCDEFGHJKMNPQRSTVWXYZ'[Math.floor(n / 32 ** (9 - i)) % 32]).join('');
    expect(id.slice(0, 10)).toBe(base32(1_700_000_000_000));
  });

  it('a time that 10 base32 digits cannot hold is refused, not written as "undefined"', () => {
    for (const now of [-1, Number.NaN, Number.POSITIVE_INFINITY, 32 ** 10]) expect(() => newId(now), String(now)).toThrow(RangeError);
  });
});

describe('errors inside nested tables', () => {
  it('name the field from the outer record, as encode errors do (not just Inner.s, which two tables share)', () => {
    const Inner = defineRecord({ name: 'Inner', typeId: 956, version: 1, fields: { s: t.string(), n: t.int32() } });
    const Mid = defineRecord({ name: 'Mid', typeId: 957, version: 1, fields: { leaf: t.table(Inner) } });
    const Outer = defineRecord({ name: 'Outer', typeId: 958, version: 1, fields: { a: t.table(Inner), b: t.table(Inner), c: t.table(Mid) } });
    const text = 'x'.repeat(40);
    // One non-ASCII string ('ä'), so that decodeRecord validates UTF-8: in Node, an all-ASCII record's strings are
    // read as Latin-1 without validation (ascii-text.test.ts).
    const value = { a: { s: '\u00e4', n: 1 }, b: { s: text, n: 2 }, c: { leaf: { s: 'c', n: 3 } } };
    expect(() => encodeRecord(Outer, { ...value, b: { s: 5 as unknown as string, n: 2 } })).toThrow(expect.objectContaining({ path: 'Outer.b.s' }));
    const bytes = encodeRecord(Outer, { ...value, c: { leaf: { s: text, n: 3 } } }).slice();
    const damage = (from: number): Uint8Array => {
      const copy = bytes.slice();
      copy[Buffer.from(copy).indexOf(Buffer.from(text), from) + 3] = 0xff;
      return copy;
    };
    const inB = damage(0);
    const inLeaf = damage(Buffer.from(bytes).indexOf(Buffer.from(text)) + 1);
    for (const [damaged, path] of [
      [inB, 'Outer.b.s'],
      [inLeaf, 'Outer.c.leaf.s'],
    ] as const) {
      const malformed = expect.objectContaining({ code: 'MALFORMED', path, message: expect.stringContaining(path.slice(0, path.lastIndexOf('.'))) });
      expect(() => decodeRecord(Outer, damaged)).toThrow(malformed);
      expect(() => viewRecord(Outer, damaged).toObject()).toThrow(malformed);
    }
    expect(() => viewRecord(Outer, inB).b).toThrow(expect.objectContaining({ path: 'Outer.b.s' }));
    expect(viewRecord(Outer, inB).a).toEqual(value.a);
  });
});

describe('enum evolution', () => {
  it('a value added by a newer schema version is reported as such to an older reader, not only as damaged bytes', () => {
    const V1 = defineRecord({ name: 'Job', typeId: 959, version: 1, fields: { state: t.enumOf(['queued', 'done']) } });
    const V2 = defineRecord({ name: 'Job', typeId: 959, version: 2, fields: { state: t.enumOf(['queued', 'done', 'failed']) } });
    const bytes = encodeRecord(V2, { state: 'failed' }).slice();
    expect(decodeRecord(V1, encodeRecord(V2, { state: 'done' }))).toEqual({ state: 'done' });
    const unknownValue = expect.objectContaining({
      code: 'MALFORMED',
      path: 'Job.state',
      message: expect.stringMatching(/enum index 2 .*2 values.*newer schema version/),
    });
    expect(() => decodeRecord(V1, bytes)).toThrow(unknownValue);
    expect(() => viewRecord(V1, bytes).state).toThrow(unknownValue);
    expect(() => fieldReader(V1, 'state')(bytes)).toThrow(unknownValue);
  });
});

describe('legacy JSON writer', () => {
  it('reports a cycle in a JSON field as a circular reference at the first repeat, as binary metadata does', () => {
    const metadata: Record<string, unknown> = { a: 1 };
    metadata.self = metadata;
    const node = { type: 'Entity', id: 'e', label: 'l', entityType: 'X', metadata } as unknown as Node;
    expect(() => toLegacyNode(node)).toThrow(
      expect.objectContaining({ code: 'INVALID_INPUT', path: 'Entity.metadata.self', message: expect.stringContaining('circular') }),
    );
    expect(() => encodeNode(node)).toThrow(expect.objectContaining({ path: 'Entity.metadata.self', message: expect.stringContaining('circular') }));
    // A value that appears twice without containing itself is no cycle.
    const shared = { x: [1] };
    const text = new TextDecoder().decode(toLegacyNode({ ...node, metadata: { a: shared, b: shared, c: [shared, shared] } } as unknown as Node));
    expect(JSON.parse(text).Entity.metadata).toEqual({ a: shared, b: shared, c: [shared, shared] });
  });
});

describe('a second review', () => {
  const Inner = defineRecord({ name: 'Inner', typeId: 960, version: 1, fields: { s: t.string() } });
  const Outer = defineRecord({ name: 'Outer', typeId: 961, version: 1, fields: { a: t.string(), b: t.bytes(), c: t.string() } });

  it('an encode started from a getter of the value being encoded corrupts neither record', () => {
    let inner: Uint8Array | undefined;
    const value = {
      a: 'first field',
      get b(): Uint8Array {
        inner = encodeRecord(Inner, { s: 'x'.repeat(50) });
        return inner;
      },
      c: 'last field',
    };
    const outer = encodeRecord(Outer, value).slice();
    expect(decodeRecord(Inner, inner!)).toEqual({ s: 'x'.repeat(50) });
    const decoded = decodeRecord(Outer, outer);
    expect([decoded.a, decoded.c]).toEqual(['first field', 'last field']);
    expect(decodeRecord(Inner, decoded.b)).toEqual({ s: 'x'.repeat(50) });
    // and the shared writer still works afterwards
    expect(decodeRecord(Outer, encodeRecord(Outer, { a: 'p', b: new Uint8Array(2), c: 'q' }))).toMatchObject({ a: 'p', c: 'q' });
  });

  it('a field named __proto__ is refused when the schema is declared', () => {
    const fields = JSON.parse('{"__proto__": 0}') as Record<string, unknown>;
    fields['__proto__'] = t.string();
    expect(() => defineRecord({ name: 'P', typeId: 962, version: 1, fields: fields as { x: ReturnType<typeof t.string> } })).toThrow(/__proto__/);
  });

  it('defineRecord refuses field declarations that would store or read wrongly, saying what to do', () => {
    const declare = (fields: object, name = 'D') => () => defineRecord({ name, typeId: 963, version: 1, fields: fields as { a: ReturnType<typeof t.string> } });
    // Array-index names are listed first by JavaScript: appending '1' after '5' would change the storage order.
    expect(declare({ b: t.string(), 5: t.safeInt() })).toThrow(/cannot be named 5.*f5/);
    expect(declare({ b: t.string(), '0': t.safeInt() })).toThrow(/cannot be named 0/);
    // Inherited members would be read for an absent optional field.
    for (const inherited of ['toString', 'constructor', 'valueOf', 'hasOwnProperty']) {
      expect(declare({ id: t.string(), [inherited]: t.optional(t.string()) })).toThrow(new RegExp(`cannot be named ${inherited}, which every object inherits`));
    }
    expect(declare({ a: t.string(), [Symbol('s')]: t.string() })).toThrow(/not symbols/);
    expect(declare({ a: t.string })).toThrow(/D\.a: not a field kind.*t\.string\(\), not t\.string/);
    expect(declare({ a: { kind: 'text', optional: false } })).toThrow(/not a field kind/);
    expect(declare({ a: { kind: 'table', optional: false, schema: { name: 'fake' } } })).toThrow(/schema made by defineRecord/);
    expect(declare(null as unknown as object)).toThrow(/fields must be an object/);
    expect(declare({ a: t.string() }, '')).toThrow(/needs a name/);
    // Names that only look risky are fine: no view member or inherited property has them.
    const Fine = defineRecord({ name: 'Fine', typeId: 964, version: 1, fields: { then: t.string(), length: t.safeInt(), f5: t.bool() } });
    expect(decodeRecord(Fine, encodeRecord(Fine, { then: 'x', length: 3, f5: true }))).toEqual({ then: 'x', length: 3, f5: true });
  });

  it('readHeader refuses a region outside the buffer and detectFormat a non-Uint8Array, with CodecError INVALID_INPUT', () => {
    const bytes = encodeRecord(Inner, { s: 'a' }).slice();
    expect(readHeader(bytes).typeId).toBe(960);
    for (const [start, length] of [[0, bytes.length + 1], [-1, 8], [1.5, 8], [bytes.length, 8]] as const) {
      expect(() => readHeader(bytes, start, length)).toThrow(expect.objectContaining({ name: 'CodecError', code: 'INVALID_INPUT' }) as Error);
    }
    expect(() => detectFormat(null as never)).toThrow(expect.objectContaining({ name: 'CodecError', code: 'INVALID_INPUT' }) as Error);
  });
});

describe('damaged bytes: every reader agrees (a differential review)', () => {
  it('scalar fields end where the next present field starts: swapped offsets fail in every reader', () => {
    const S = defineRecord({ name: 'Swap', typeId: 4242, version: 1, fields: { a: t.int32(), b: t.int32(), x: t.float64(), y: t.float64(), n: t.safeInt(), m: t.int32() } });
    const bytes = encodeRecord(S, { a: 1, b: 2, x: 1.5, y: 2.5, n: 1_700_000_000_000, m: 3 }).slice();
    const dv = new DataView(bytes.buffer);
    const offsets = [8, 10, 12, 14, 16, 18].map((o) => dv.getUint16(o, true));
    // a and b, then x and y, swap places in the table; n's region now ends before its varint does.
    dv.setUint16(8, offsets[1]!, true);
    dv.setUint16(10, offsets[0]!, true);
    dv.setUint16(12, offsets[3]!, true);
    dv.setUint16(14, offsets[2]!, true);
    dv.setUint16(18, offsets[4]! + 2, true);
    expect(() => decodeRecord(S, bytes)).toThrow(expect.objectContaining({ code: 'MALFORMED' }));
    for (const name of ['a', 'x', 'n'] as const) {
      expect(() => fieldReader(S, name)(bytes)).toThrow(expect.objectContaining({ code: 'MALFORMED' }));
      expect(() => viewRecord(S, bytes)[name]).toThrow(expect.objectContaining({ code: 'MALFORMED' }));
    }
  });

});

describe('a user journey through the README', () => {
  it('JSON.stringify of a record view gives the record, not "{}"; a field cannot be named toJSON', () => {
    const S = defineRecord({ name: 'Json', typeId: 4244, version: 1, fields: { n: t.int32(), s: t.string() } });
    const view = viewRecord(S, encodeRecord(S, { n: 7, s: 'x' }).slice());
    expect(JSON.parse(JSON.stringify(view))).toEqual({ n: 7, s: 'x' });
    expect(() => defineRecord({ name: 'Bad', typeId: 4245, version: 1, fields: { toJSON: t.int32() } })).toThrow(TypeError);
  });

  it('a key part that is undefined is named so in the message', () => {
    expect(() => encodeKey(['a', undefined as never])).toThrow(/Key part 1 is undefined/);
  });
});
