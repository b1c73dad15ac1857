import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CodecError,
  MetadataView,
  decodeRecord,
  defineRecord,
  detectFormat,
  fieldReader,
  viewedBytes,
  FORMAT_VERSION,
  encodeRecord,
  t,
  verifyRecord,
  viewRecord,
  type RecordOf,
} from '@tabstore/sdk';

import { codecErrorOf } from './codec-error.js';
import { FUZZ_TIMEOUT, RUNS } from './fuzz-runs.js';

const Inner = defineRecord({
  name: 'Inner',
  typeId: 901,
  version: 1,
  fields: { score: t.float64(), tags: t.stringList(), note: t.optional(t.string()) },
});

const Everything = defineRecord({
  name: 'Everything',
  typeId: 900,
  version: 1,
  fields: {
    id: t.id(),
    flag: t.bool(),
    small: t.int32(),
    count: t.uint32(),
    ratio: t.float64(),
    size: t.safeInt(),
    text: t.string(),
    list: t.stringList(),
    blob: t.bytes(),
    vector: t.float32Vector(),
    level: t.enumOf(['low', 'mid', 'high']),
    inner: t.table(Inner),
    meta: t.metadata(),
    maybe: t.optional(t.string()),
    maybeInner: t.optional(t.table(Inner)),
  },
});
type Everything = RecordOf<typeof Everything>;

const sample = (): Everything => ({
  id: 'rec_1',
  flag: true,
  small: -123456,
  count: 4_000_000_000,
  ratio: Math.PI,
  size: 2 ** 53 - 1,
  text: 'h\u00e9llo \u{1F30D} \u0000 end',
  list: ['a', '', '\u{1F600}', 'long '.repeat(20)],
  blob: Uint8Array.from([0, 1, 254, 255]),
  vector: Float32Array.from({ length: 384 }, (_, i) => Math.sin(i)),
  level: 'high',
  inner: { score: -0.5, tags: ['x', 'y'], note: 'n' },
  meta: { model: 'm', nested: { a: [1, 2, { b: null }] }, flag: false },
  maybe: undefined,
  maybeInner: { score: 1, tags: [] },
});

describe('record codec: round trips', () => {
  it('every field kind round-trips through encode, view and decode', () => {
    const value = sample();
    const bytes = encodeRecord(Everything, value);
    const decoded = decodeRecord(Everything, bytes);
    const { maybe: _maybe, ...expected } = value;
    expect(decoded).toEqual(expected);
    expect('maybe' in decoded).toBe(false);
    const view = viewRecord(Everything, bytes);
    expect(view.text).toBe(value.text);
    expect(view.size).toBe(2 ** 53 - 1);
    expect(view.count).toBe(4_000_000_000);
    expect(view.list).toEqual(value.list);
    expect(view.inner).toEqual(value.inner);
    expect(view.maybe).toBeUndefined();
    expect(view.type).toBe('Everything');
    expect(view.toObject()).toEqual(expected);
  });

  it('every field kind can be optional: absent reads as undefined and present values (empty ones too) come back', () => {
    const Optionals = defineRecord({
      name: 'Optionals',
      typeId: 956,
      version: 1,
      fields: {
        bool: t.optional(t.bool()),
        int32: t.optional(t.int32()),
        uint32: t.optional(t.uint32()),
        float64: t.optional(t.float64()),
        safeInt: t.optional(t.safeInt()),
        string: t.optional(t.string()),
        stringList: t.optional(t.stringList()),
        bytes: t.optional(t.bytes()),
        vector: t.optional(t.float32Vector()),
        level: t.optional(t.enumOf(['low', 'high'])),
        inner: t.optional(t.table(Inner)),
        meta: t.optional(t.metadata()),
      },
    });
    type Optionals = RecordOf<typeof Optionals>;
    const names = Optionals.fieldNames;
    const empty: Required<Optionals> = {
      bool: false,
      int32: 0,
      uint32: 0,
      float64: -0,
      safeInt: -0,
      string: '',
      stringList: [],
      bytes: new Uint8Array(0),
      vector: new Float32Array(0),
      level: 'low',
      inner: { score: 0, tags: [] },
      meta: null,
    };
    const full: Required<Optionals> = {
      bool: true,
      int32: -7,
      uint32: 2 ** 32 - 1,
      float64: 0.1,
      safeInt: -(2 ** 53 - 1),
      string: 'é😀',
      stringList: ['', 'x'],
      bytes: Uint8Array.of(0, 255),
      vector: Float32Array.of(1.5, -2),
      level: 'high',
      inner: { score: 1, tags: ['t'], note: 'n' },
      meta: { a: [1] },
    };
    const readers = names.map((name) => fieldReader(Optionals, name));
    // Every field absent, every field present (empty values, then full ones), and each field alone.
    const values: Optionals[] = [{}, empty, full, ...names.map((name) => ({ [name]: full[name] }) as Optionals)];
    for (const value of values) {
      const bytes = encodeRecord(Optionals, value).slice();
      const label = JSON.stringify(Object.keys(value));
      expect(decodeRecord(Optionals, bytes), label).toStrictEqual(value);
      const view = viewRecord(Optionals, bytes);
      expect(view.toObject(), label).toStrictEqual(value);
      names.forEach((name, i) => {
        const expected = value[name];
        const viewed = name === 'meta' ? view.meta?.toJSON() : view[name];
        expect(viewed === undefined, `${label} ${name} in view`).toBe(expected === undefined);
        expect(viewed, `${label} ${name} in view`).toEqual(expected);
        expect(readers[i]!(bytes), `${label} ${name} by fieldReader`).toEqual(expected);
        if (typeof expected === 'number') expect(Object.is(viewed, expected), `${label} ${name} keeps -0`).toBe(true);
      });
    }
  });

  it('a record that outgrows its chunk while a field is written keeps every length right', () => {
    // Fill most of the writer's 64 KiB chunk, so the next record has to move mid-way through its big fields.
    for (let i = 0; i < 7; i++) encodeRecord(Everything, { ...sample(), text: 'f'.repeat(8000) });
    const big = {
      ...sample(),
      text: 'é'.repeat(30_000),
      list: Array.from({ length: 200 }, (_, i) => `item ${i} `.repeat(20)),
      meta: { notes: 'n'.repeat(20_000), more: Array.from({ length: 500 }, (_, i) => ({ i })) },
    };
    for (let round = 0; round < 5; round++) {
      const bytes = encodeRecord(Everything, big);
      const decoded = decodeRecord(Everything, bytes);
      expect(decoded.text).toBe(big.text);
      expect(decoded.list).toEqual(big.list);
      expect(decoded.meta).toEqual(big.meta);
    }
  });

  it('a field that starts past 64 KiB switches the record to a wide (u32) field table', () => {
    const small = encodeRecord(Everything, sample());
    expect(small[6]! & 2).toBe(0);
    const value = { ...sample(), text: 'x'.repeat(70_000), list: ['after', 'the text'] };
    const bytes = encodeRecord(Everything, value).slice();
    expect(bytes[6]! & 2).toBe(2);
    const { maybe: _maybe, ...expected } = value;
    expect(decodeRecord(Everything, bytes)).toEqual(expected);
    expect(viewRecord(Everything, bytes).vector.buffer).toBe(bytes.buffer);
    expect(viewRecord(Everything, bytes).meta.toJSON()).toEqual(value.meta);
  });

  it('safe integers are stored as short varints and keep their sign, -0 included', () => {
    const Ints = defineRecord({ name: 'Ints', typeId: 920, version: 1, fields: { n: t.safeInt() } });
    for (const n of [0, -0, 1, -1, 63, 64, -64, 2 ** 31, -(2 ** 31), 1_700_000_123_456, 2 ** 53 - 1, -(2 ** 53 - 1)]) {
      expect(Object.is(decodeRecord(Ints, encodeRecord(Ints, { n })).n, n), String(n)).toBe(true);
    }
    expect(encodeRecord(Ints, { n: 5 }).length).toBe(8 + 2 + 1);
  });

  it('every safe integer reads back the same through decode, view and fieldReader', () => {
    const Ints = defineRecord({ name: 'Ints', typeId: 920, version: 1, fields: { n: t.safeInt() } });
    const readN = fieldReader(Ints, 'n');
    const check = (n: number): void => {
      const bytes = encodeRecord(Ints, { n }).slice();
      expect(Object.is(decodeRecord(Ints, bytes).n, n), String(n)).toBe(true);
      expect(Object.is(viewRecord(Ints, bytes).n, n), String(n)).toBe(true);
      expect(Object.is(readN(bytes), n), String(n)).toBe(true);
    };
    // Around every varint length boundary (6 bits, then 7 per byte), on both sides of zero.
    for (let bits = 5; bits <= 53; bits++) {
      for (const m of [2 ** bits - 1, 2 ** bits, 2 ** bits + 1]) if (m <= Number.MAX_SAFE_INTEGER) [m, -m].forEach(check);
    }
    fc.assert(fc.property(fc.maxSafeInteger(), (n) => check(n)), { numRuns: RUNS });
  });

  it('records from earlier encodes are never overwritten by later ones', () => {
    const first = encodeRecord(Everything, sample());
    const copy = first.slice();
    for (let i = 0; i < 2000; i++) encodeRecord(Everything, { ...sample(), text: `other ${i}`.repeat(10) });
    expect(first).toEqual(copy);
  });

  it('a float32 vector is a view over the record bytes when aligned, a copy otherwise', () => {
    const bytes = encodeRecord(Everything, sample()).slice(); // own buffer, offset 0
    const vector = viewRecord(Everything, bytes).vector;
    expect(vector.buffer).toBe(bytes.buffer);
    expect(vector[1]).toBeCloseTo(Math.sin(1), 6);
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const unaligned = shifted.subarray(1);
    const copied = viewRecord(Everything, unaligned).vector;
    expect(copied.buffer).not.toBe(unaligned.buffer);
    expect(Array.from(copied)).toEqual(Array.from(vector));
    // toObject always copies: nothing refers to the record afterwards.
    expect(viewRecord(Everything, bytes).toObject().vector.buffer).not.toBe(bytes.buffer);
  });

  it('reading one field touches only its bytes: a damaged string does not stop a scalar read', () => {
    const bytes = encodeRecord(Everything, { ...sample(), text: 'x'.repeat(40) }).slice();
    const at = Buffer.from(bytes).indexOf(Buffer.from('x'.repeat(40)));
    bytes[at + 5] = 0xff; // invalid UTF-8 inside `text`
    const view = viewRecord(Everything, bytes);
    expect(view.size).toBe(2 ** 53 - 1);
    expect(view.ratio).toBe(Math.PI);
    expect(() => view.text).toThrow(CodecError);
    expect(() => view.toObject()).toThrow(/invalid UTF-8 \(at Everything\.text\)/);
  });

  it('a metadata field of a view is its binary value, read in place key by key', () => {
    const bytes = encodeRecord(Everything, sample()).slice();
    const view = viewRecord(Everything, bytes);
    const meta = view.meta;
    expect(meta).toBeInstanceOf(MetadataView);
    expect(meta.bytes).toBe(bytes); // over the record's own bytes: nothing copied, nothing decoded
    expect(meta.get('model')!.toJSON()).toBe('m');
    expect(meta.get('nested')!.get('a')!.toJSON()).toEqual([1, 2, { b: null }]);
    expect(meta.get('missing')).toBeUndefined();
    expect(meta.toJSON()).toEqual(sample().meta);
    expect(view.toObject().meta).toEqual(sample().meta); // toObject still decodes it
    expect(JSON.stringify(view.meta)).toBe(JSON.stringify(sample().meta));
  });

  it('errors from inside a view\'s metadata name the record field and the path within the value', () => {
    const bytes = encodeRecord(Everything, sample()).slice();
    const inner = viewRecord(Everything, bytes).meta.get('nested')!.get('a')!.at(2)!;
    expect(inner.path).toBe('Everything.meta.nested.a[2]');
    expect(() => inner.get('b')!.asNumber()).toThrow(
      expect.objectContaining({ code: 'INVALID_INPUT', path: 'Everything.meta.nested.a[2].b', message: expect.stringContaining('is null') }),
    );
    bytes[inner.get('b')!.offset] = 0x13; // not a tag
    const meta = viewRecord(Everything, bytes).meta; // the damage is inside: the field itself still opens
    expect(meta.get('model')!.toJSON()).toBe('m');
    const at = (path: string) => expect.objectContaining({ code: 'MALFORMED', path, message: expect.stringContaining(`(at ${path})`) });
    expect(() => meta.toJSON()).toThrow(at('Everything.meta'));
    expect(() => meta.get('nested')!.get('a')!.at(2)!.get('b')).toThrow(at('Everything.meta.nested.a[2]'));
    expect(() => meta.get('nested')!.get('a')!.at(2)!.entries()).toThrow(at('Everything.meta.nested.a[2]'));
    expect(() => decodeRecord(Everything, bytes)).toThrow(expect.objectContaining({ code: 'MALFORMED', path: 'Everything.meta' }));
  });

  it('an absent metadata field reads as undefined when optional and as the binary null when required', () => {
    const V1 = defineRecord({ name: 'MetaV1', typeId: 955, version: 1, fields: { id: t.string() } });
    const V2 = defineRecord({
      name: 'MetaV2',
      typeId: 955,
      version: 2,
      fields: { id: t.string(), meta: t.metadata(), maybe: t.optional(t.metadata()) },
    });
    const old = viewRecord(V2, encodeRecord(V1, { id: 'a' }));
    expect(old.meta.type).toBe('null');
    expect(old.meta.toJSON()).toBeNull();
    // Each read gets bytes of its own: changing them changes nothing another read sees.
    old.meta.bytes[0] = 0x02;
    expect(old.meta.toJSON()).toBeNull();
    expect(old.maybe).toBeUndefined();
    expect(old.toObject()).toEqual({ id: 'a', meta: null });
    const current = viewRecord(V2, encodeRecord(V2, { id: 'b', meta: { k: 1 }, maybe: [true] }));
    expect(current.meta.get('k')!.toJSON()).toBe(1);
    expect(current.maybe!.at(0)!.toJSON()).toBe(true);
  });

  it('a damaged metadata value fails MALFORMED at the field, when it is read', () => {
    const bytes = encodeRecord(Everything, sample()).slice();
    const view = viewRecord(Everything, bytes);
    const at = view.meta.offset;
    bytes[at] = 0x13; // not a tag
    const fresh = viewRecord(Everything, bytes); // opening checks the header and table only
    expect(() => fresh.meta).toThrow(expect.objectContaining({ code: 'MALFORMED', path: 'Everything.meta' }));
    expect(fresh.id).toBe(sample().id);
  });
});

describe('record codec: decoded values own their memory', () => {
  it('decoded vectors and bytes each have an ArrayBuffer of exactly their size, unshared', () => {
    const bytes = encodeRecord(Everything, sample()).slice();
    const secret = encodeRecord(Everything, { ...sample(), blob: new TextEncoder().encode('SECRET') }).slice();
    const decoded = decodeRecord(Everything, bytes);
    const other = decodeRecord(Everything, secret);
    const viewed = viewRecord(Everything, bytes).toObject();
    for (const value of [decoded, other, viewed]) {
      expect(value.vector.buffer.byteLength).toBe(384 * 4);
      expect(value.vector.byteOffset).toBe(0);
      expect(value.blob.buffer.byteLength).toBe(value.blob.length);
    }
    // A clone of one decoded value carries nothing of another record (what postMessage would send).
    const cloned = structuredClone(decoded);
    expect(new TextDecoder().decode(new Uint8Array(cloned.vector.buffer))).not.toContain('SECRET');
    expect(cloned.blob.buffer.byteLength).toBe(4);
  });

  it("a nested table read from a view or a field reader is a plain object with copies, not the record's memory", () => {
    const Leaf = defineRecord({ name: 'Leaf', typeId: 903, version: 1, fields: { v: t.float32Vector(), b: t.bytes() } });
    const Outer = defineRecord({ name: 'Outer', typeId: 904, version: 1, fields: { inner: t.table(Leaf) } });
    const bytes = encodeRecord(Outer, { inner: { v: Float32Array.of(1, 2), b: Uint8Array.of(7, 8) } }).slice();
    for (const inner of [viewRecord(Outer, bytes).inner, fieldReader(Outer, 'inner')(bytes)]) {
      expect(inner.v.buffer).not.toBe(bytes.buffer);
      expect(inner.b.buffer).not.toBe(bytes.buffer);
      expect(viewedBytes(inner)).toBeUndefined(); // nothing marks it as on loan, so it must not be
    }
    const kept = viewRecord(Outer, bytes).inner;
    bytes.fill(0);
    expect([...kept.v]).toEqual([1, 2]);
    expect([...kept.b]).toEqual([7, 8]);
  });

  it('a view whose bytes were transferred away fails with INVALID_INPUT instead of reading every field as absent', () => {
    const bytes = encodeRecord(Everything, sample()).slice();
    const view = viewRecord(Everything, bytes);
    expect(view.size).toBe(sample().size);
    structuredClone(bytes, { transfer: [bytes.buffer] });
    for (const read of [() => view.size, () => view.text, () => view.vector, () => view.inner, () => view.toObject()]) {
      expect(codecErrorOf(read).code).toBe('INVALID_INPUT');
    }
  });

  it('transferring a decoded value changes no other decoded value, and decoding goes on', () => {
    const bytes = encodeRecord(Everything, sample()).slice();
    const a = decodeRecord(Everything, bytes);
    const b = decodeRecord(Everything, bytes);
    structuredClone(a.vector, { transfer: [a.vector.buffer] });
    structuredClone(a.blob, { transfer: [a.blob.buffer as ArrayBuffer] });
    expect(a.vector.length).toBe(0); // transferred away
    expect(b.vector).toEqual(sample().vector);
    expect(b.blob).toEqual(sample().blob);
    for (let i = 0; i < 200; i++) expect(decodeRecord(Everything, bytes).vector[1]).toBe(sample().vector[1]);
  });
});

describe('record codec: validation', () => {
  const bad = (patch: Partial<Record<keyof Everything, unknown>>): CodecError => {
    try {
      encodeRecord(Everything, { ...sample(), ...patch } as Everything);
    } catch (error) {
      expect(error).toBeInstanceOf(CodecError);
      expect((error as CodecError).code).toBe('INVALID_INPUT');
      return error as CodecError;
    }
    throw new Error('expected a CodecError');
  };

  it('names the field path of every invalid value', () => {
    expect(bad({ text: 42 }).path).toBe('Everything.text');
    expect(bad({ id: '' }).message).toContain('must not be empty');
    expect(bad({ small: 2 ** 31 }).path).toBe('Everything.small');
    expect(bad({ count: -1 }).path).toBe('Everything.count');
    expect(bad({ size: 2 ** 53 }).message).toContain('safe integer');
    expect(bad({ level: 'extreme' }).message).toContain('"low", "mid", "high"');
    expect(bad({ level: 'extreme' }).message).toContain('got string "extreme"');
    expect(bad({ level: 'x'.repeat(100) }).message).toContain(`got string "${'x'.repeat(40)}"...`);
    expect(bad({ small: 'private words' }).message).toBe('Everything.small must be a 32-bit signed integer, got string.');
    expect(bad({ list: ['a', 'b', 7] }).path).toBe('Everything.list[2]');
    expect(bad({ vector: [1, 2] }).message).toContain('Float32Array');
    expect(bad({ inner: { score: 'high', tags: [] } }).path).toBe('Everything.inner.score');
    expect(bad({ flag: undefined }).message).toContain('required');
    expect(bad({ text: 'broken \uD800 surrogate' }).message).toContain('surrogate');
    expect(bad({ text: `${'long '.repeat(30)}\uDC00` }).path).toBe('Everything.text');
    expect(bad({ list: ['ok', 'x\uD800'] }).path).toBe('Everything.list[1]');
    expect(bad({ inner: { score: 1, tags: ['\uDFFF'] } }).path).toBe('Everything.inner.tags[0]');
    expect(bad({ meta: { when: new Date(0) } as never }).path).toContain('meta');
  });

  it('a failed encode leaves no partial record behind', () => {
    const before = encodeRecord(Everything, sample()).slice();
    expect(() => encodeRecord(Everything, { ...sample(), list: ['ok', 5 as unknown as string] })).toThrow(CodecError);
    expect(decodeRecord(Everything, encodeRecord(Everything, sample()))).toEqual(decodeRecord(Everything, before));
  });
});

describe('record codec: schema evolution', () => {
  const V1 = defineRecord({ name: 'Doc', typeId: 910, version: 1, fields: { id: t.id(), title: t.string(), at: t.safeInt() } });
  const V2 = defineRecord({
    name: 'Doc',
    typeId: 910,
    version: 2,
    fields: {
      id: t.id(),
      title: t.string(),
      at: t.safeInt(),
      tags: t.stringList(),
      score: t.float64(),
      summary: t.optional(t.string()),
      level: t.enumOf(['a', 'b']),
    },
  });

  it('a v1 record reads under v2: new fields get their defaults', () => {
    const bytes = encodeRecord(V1, { id: 'd1', title: 'old', at: 5 });
    const view = viewRecord(V2, bytes);
    expect(view.schemaVersion).toBe(1);
    expect(view.toObject()).toEqual({ id: 'd1', title: 'old', at: 5, tags: [], score: 0, level: 'a' });
    expect(view.summary).toBeUndefined();
  });

  it('a v2 record reads under v1: unknown fields are skipped', () => {
    const bytes = encodeRecord(V2, { id: 'd2', title: 'new', at: 9, tags: ['t'], score: 2.5, summary: 's', level: 'b' });
    const view = viewRecord(V1, bytes);
    expect(view.schemaVersion).toBe(2);
    expect(view.toObject()).toEqual({ id: 'd2', title: 'new', at: 9 });
    expect(decodeRecord(V1, bytes)).toEqual({ id: 'd2', title: 'new', at: 9 });
  });

  it('a record of another type is refused with UNKNOWN_TYPE', () => {
    const bytes = encodeRecord(V1, { id: 'd1', title: 'x', at: 1 });
    expect(() => viewRecord(Everything, bytes)).toThrow(expect.objectContaining({ code: 'UNKNOWN_TYPE' }));
  });
});

describe('record codec: integrity', () => {
  it('verifyRecord checks an optional checksum', () => {
    const plain = encodeRecord(Everything, sample());
    expect(verifyRecord(plain)).toBe(false);
    const summed = encodeRecord(Everything, sample(), { checksum: true }).slice();
    expect(verifyRecord(summed)).toBe(true);
    expect(decodeRecord(Everything, summed).text).toBe(sample().text);
    summed[40] = summed[40]! ^ 0x10;
    expect(() => verifyRecord(summed)).toThrow(expect.objectContaining({ code: 'CHECKSUM_MISMATCH' }));
  });

  it('detectFormat tells binary records from legacy JSON and anything else', () => {
    const enc = new TextEncoder();
    expect(detectFormat(encodeRecord(Everything, sample()))).toBe('binary');
    expect(detectFormat(enc.encode('{"Message":{}}'))).toBe('legacy-json');
    expect(detectFormat(enc.encode(' \n\t[1]'))).toBe('legacy-json');
    expect(detectFormat(Uint8Array.of(0xef, 0xbb, 0xbf, 0x7b))).toBe('legacy-json');
    expect(detectFormat(enc.encode('hello'))).toBe('unknown');
    expect(detectFormat(new Uint8Array(0))).toBe('unknown');
    // A record of a newer format is still a binary record: decoding says to upgrade rather than calling it junk.
    const newer = encodeRecord(Everything, sample()).slice();
    newer[1] = FORMAT_VERSION + 1;
    expect(detectFormat(newer)).toBe('binary');
    expect(() => decodeRecord(Everything, newer)).toThrow(
      expect.objectContaining({ code: 'MALFORMED', message: expect.stringContaining('upgrade @tabstore/sdk') }),
    );
    // Other data that starts with the marker byte stays unknown: a 55-byte metadata string, a msgpack 23-character string.
    expect(detectFormat(MetadataView.fromJSON('a'.repeat(55)).bytes)).toBe('unknown');
    expect(detectFormat(Uint8Array.of(0xb7, ...enc.encode('b'.repeat(23))))).toBe('unknown');
    const junk = Uint8Array.of(0xb7, 0x61, 0, 0, 0, 0, 0, 0);
    expect(() => decodeRecord(Everything, junk)).toThrow(expect.objectContaining({ code: 'MALFORMED', message: expect.stringContaining('damaged or not a tabstore record') }));
  });

  it('a damaged field offset is reported at the field path, by decodeRecord as by a view', () => {
    const valid = encodeRecord(Everything, sample()).slice();
    const slotOf = (name: keyof Everything): number => 8 + 2 * Everything.fieldNames.indexOf(name);
    const setSlot = (bytes: Uint8Array, name: keyof Everything, offset: number): void => {
      bytes[slotOf(name)] = offset & 0xff;
      bytes[slotOf(name) + 1] = offset >> 8;
    };
    const slot = (name: keyof Everything): number => valid[slotOf(name)]! | (valid[slotOf(name) + 1]! << 8);
    const errorOf = (read: () => unknown): CodecError => {
      try {
        read();
      } catch (error) {
        if (error instanceof CodecError) return error;
        throw error;
      }
      throw new Error('expected a CodecError');
    };
    // The first field starts past the end of the record.
    const outOfBounds = valid.slice();
    setSlot(outOfBounds, 'id', valid.length + 16);
    for (const read of [() => decodeRecord(Everything, outOfBounds), () => viewRecord(Everything, outOfBounds).id]) {
      const error = errorOf(read);
      expect(error.code).toBe('MALFORMED');
      expect(error.path).toBe('Everything.id');
      expect(error.message).toContain('field offset out of bounds');
    }
    // A field that starts after the next one.
    const outOfOrder = valid.slice();
    setSlot(outOfOrder, 'text', slot('list') + 1);
    for (const read of [() => decodeRecord(Everything, outOfOrder), () => viewRecord(Everything, outOfOrder).text]) {
      const error = errorOf(read);
      expect(error.code).toBe('MALFORMED');
      expect(error.path).toBe('Everything.text');
      expect(error.message).toContain('field offsets out of order');
    }
  });

  /**
   * Every way to read `bytes` as Everything, each on its own: what each gives, or the code and path of its
   * CodecError (any other error fails the test).
   */
  const FIELD_READERS = Everything.fieldNames.map((name) => fieldReader(Everything, name));
  function readEveryWay(bytes: Uint8Array): unknown[] {
    const attempts: (() => unknown)[] = [
      () => decodeRecord(Everything, bytes),
      () => verifyRecord(bytes),
      () => viewRecord(Everything, bytes).toObject(),
      () => viewRecord(Everything, bytes).meta.toJSON(),
      ...Everything.fieldNames
        .filter((name) => name !== 'meta')
        .map((name) => () => (viewRecord(Everything, bytes) as Record<string, unknown>)[name]),
      ...FIELD_READERS.map((read) => () => read(bytes)),
    ];
    return attempts.map((attempt) => {
      try {
        return attempt();
      } catch (error) {
        if (!(error instanceof CodecError)) throw error;
        return { code: error.code, path: error.path, message: error.message };
      }
    });
  }

  /**
   * Reads `bytes` every way, alone and again from inside a larger buffer of random bytes: the two must give the same
   * values and errors. Indexing past a Uint8Array's end gives undefined either way, but a read that reaches the
   * memory around it (a Float32Array or DataView over `bytes.buffer`) sees those bytes, or fails only alone.
   */
  function expectSameAloneAndEmbedded(bytes: Uint8Array, before: Uint8Array, after: Uint8Array): void {
    const alone = readEveryWay(bytes);
    const buffer = new Uint8Array(before.length + bytes.length + after.length);
    buffer.set(before);
    buffer.set(bytes, before.length);
    buffer.set(after, before.length + bytes.length);
    const embedded = readEveryWay(buffer.subarray(before.length, before.length + bytes.length));
    expect(embedded).toEqual(alone);
  }
  const padding = fc.uint8Array({ minLength: 1, maxLength: 16 });

  it('random bytes behind a valid Everything header read as values or a CodecError, the same inside a larger buffer', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffff }),
        fc.integer({ min: 0, max: 7 }),
        fc.integer({ min: 0, max: 20 }),
        fc.uint8Array({ maxLength: 400 }),
        padding,
        padding,
        (version, flags, count, body, before, after) => {
          const bytes = new Uint8Array(8 + body.length);
          bytes.set([0xb7, FORMAT_VERSION, 900 & 0xff, 900 >> 8, version & 0xff, version >> 8, flags, count]);
          bytes.set(body, 8);
          expectSameAloneAndEmbedded(bytes, before, after);
        },
      ),
      { numRuns: RUNS * 3 },
    );
  }, FUZZ_TIMEOUT);

  it('random bytes never decode into anything but a CodecError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (bytes, withMarker) => {
        if (withMarker && bytes.length >= 2) {
          bytes[0] = 0xb7;
          bytes[1] = FORMAT_VERSION;
        }
        try {
          decodeRecord(Everything, bytes);
        } catch (error) {
          if (!(error instanceof CodecError)) throw error;
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('mutated and truncated records (plain, with a checksum, with a wide table) read as values or fail with CodecError, the same inside a larger buffer', () => {
    const samples = [
      encodeRecord(Everything, sample()).slice(),
      encodeRecord(Everything, sample(), { checksum: true }).slice(),
      encodeRecord(Everything, { ...sample(), text: 'x'.repeat(70_000) }).slice(),
    ];
    // Damage lands in the header and table (where the offsets are) as often as in the data.
    const position = (length: number) => fc.oneof(fc.nat(80), fc.nat(length - 1));
    fc.assert(
      fc.property(
        fc.nat(samples.length - 1).chain((which) =>
          fc.tuple(
            fc.constant(which),
            fc.array(fc.tuple(position(samples[which]!.length), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
            fc.option(fc.nat(samples[which]!.length), { nil: undefined }),
          ),
        ),
        padding,
        padding,
        ([which, flips, cut], before, after) => {
          const bytes = samples[which]!.slice(0, cut === undefined ? undefined : Math.max(cut, 1));
          for (const [at, value] of flips) if (at < bytes.length) bytes[at] = value;
          expectSameAloneAndEmbedded(bytes, before, after);
        },
      ),
      { numRuns: RUNS * 3 },
    );
  }, FUZZ_TIMEOUT);

  it('a record cut short at any byte reads the same alone as inside a larger buffer; a scalar reads right exactly when its bytes are there', () => {
    // A short vector: the cuts then land in the fields around it, not 1536 times inside it.
    const value = { ...sample(), vector: Float32Array.of(1, 2, 3), maybe: 'last' };
    const valid = encodeRecord(Everything, value).slice();
    const scalars = ['flag', 'small', 'count', 'ratio', 'size', 'level'] as const;
    const readers = scalars.map((name) => fieldReader(Everything, name));
    // Where each scalar's bytes end: its offset (from the field table) plus its width (a safeInt's varint length).
    const ends = scalars.map((name) => {
      const slot = 8 + 2 * Everything.fieldNames.indexOf(name);
      const at = valid[slot]! | (valid[slot + 1]! << 8);
      if (name !== 'size') return at + { flag: 1, level: 1, small: 4, count: 4, ratio: 8 }[name];
      let end = at;
      while (valid[end]! >= 0x80) end++;
      return end + 1;
    });
    for (let cut = 1; cut < valid.length; cut++) {
      const bytes = valid.subarray(0, cut);
      expectSameAloneAndEmbedded(bytes, new Uint8Array(3).fill(0xff), new Uint8Array(9).fill(0xff));
      scalars.forEach((name, i) => {
        for (const read of [() => (viewRecord(Everything, bytes) as Record<string, unknown>)[name], () => readers[i]!(bytes)]) {
          if (cut >= ends[i]!) expect(Object.is(read(), value[name]), `${name} at cut ${cut}`).toBe(true);
          else expect(read, `${name} at cut ${cut}`).toThrow(expect.objectContaining({ code: 'MALFORMED' }));
        }
      });
    }
  });

  it('a fixed-size field whose region is too short fails MALFORMED through every reader', () => {
    const kinds = {
      bool: [t.bool(), true],
      enum: [t.enumOf(['a', 'b']), 'b'],
      int32: [t.int32(), -123456],
      uint32: [t.uint32(), 4_000_000_000],
      float64: [t.float64(), Math.PI],
      safeInt: [t.safeInt(), 2 ** 53 - 1],
    } as const;
    let typeId = 960;
    for (const [kind, [field, value]] of Object.entries(kinds)) {
      // The field is last, so its region runs to the end of the data: cutting one byte leaves it one byte short.
      const Last = defineRecord({ name: `Last_${kind}`, typeId: typeId++, version: 1, fields: { s: t.string(), last: field } });
      const whole = encodeRecord(Last, { s: 'x', last: value } as never).slice();
      expect(decodeRecord(Last, whole).last, kind).toBe(value);
      const short = whole.subarray(0, whole.length - 1);
      const malformed = expect.objectContaining({ code: 'MALFORMED', path: `Last_${kind}.last` });
      expect(() => decodeRecord(Last, short), kind).toThrow(malformed);
      expect(() => viewRecord(Last, short).last, kind).toThrow(malformed);
      expect(() => fieldReader(Last, 'last')(short), kind).toThrow(malformed);
    }
  });

  it('random valid values round-trip exactly', () => {
    const text = fc.string({ unit: 'grapheme', maxLength: 40 });
    fc.assert(
      fc.property(
        fc.record({
          id: fc.string({ minLength: 1, maxLength: 20, unit: 'grapheme-ascii' }),
          flag: fc.boolean(),
          small: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
          count: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
          ratio: fc.double(),
          size: fc.maxSafeInteger(),
          text,
          list: fc.array(text, { maxLength: 5 }),
          blob: fc.uint8Array({ maxLength: 50 }),
          vector: fc.float32Array({ maxLength: 20, noDefaultInfinity: false }),
          level: fc.constantFrom('low' as const, 'mid' as const, 'high' as const),
          inner: fc.record({ score: fc.double(), tags: fc.array(text, { maxLength: 3 }) }),
          meta: fc.jsonValue({ maxDepth: 3 }),
          maybe: fc.option(text, { nil: undefined }),
        }),
        (value) => {
          const decoded = decodeRecord(Everything, encodeRecord(Everything, value as Everything));
          // structuredClone: fast-check builds some objects without a prototype; decoded ones are plain objects.
          const expected: Record<string, unknown> = structuredClone(value);
          if (expected.maybe === undefined) delete expected.maybe;
          expect(decoded).toStrictEqual(expected);
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe('fieldReader', () => {
  it('reads one field of many records without views, with the same validation', () => {
    const readSize = fieldReader(Everything, 'size');
    const readMaybe = fieldReader(Everything, 'maybe');
    const readVector = fieldReader(Everything, 'vector');
    const bytes = encodeRecord(Everything, { ...sample(), maybe: 'here' }).slice();
    expect(readSize(bytes)).toBe(2 ** 53 - 1);
    expect(readMaybe(bytes)).toBe('here');
    expect(readMaybe(encodeRecord(Everything, sample()))).toBeUndefined();
    expect(readVector(bytes).buffer).toBe(bytes.buffer);
    expect(() => fieldReader(Everything, 'nope' as 'size')).toThrow(CodecError);
    expect(() => readSize(Uint8Array.of(1, 2, 3))).toThrow(CodecError);
  });
});
