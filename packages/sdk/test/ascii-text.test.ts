import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_ASCII_TEXT } from '../src/codec/ascii-text.js';
import { CodecError, decodeNode, decodeRecord, defineRecord, encodeNode, encodeRecord, newId, readHeader, t, viewRecord, type RecordOf } from '@tabstore/sdk';
import { FUZZ_TIMEOUT, RUNS } from './fuzz-runs.js';

/**
 * All-ASCII records (header flag bit 2): the encoder sets the flag exactly when every string is ASCII, and in Node
 * decodeRecord slices their strings out of one Latin-1 text (ascii-text.ts). Every decode must give the same values
 * as the ordinary path, which the same record with the flag cleared takes (as in a browser).
 */

const Inner = defineRecord({ name: 'AsciiInner', typeId: 970, version: 1, fields: { label: t.string(), n: t.int32() } });

/** Strings before a vector, between two, and after: the text covers only the strings after the last vector. */
const Mixed = defineRecord({
  name: 'AsciiMixed',
  typeId: 971,
  version: 1,
  fields: {
    id: t.id(),
    head: t.string(),
    vector: t.float32Vector(),
    count: t.safeInt(),
    model: t.string(),
    tags: t.stringList(),
    inner: t.table(Inner),
    meta: t.metadata(),
    note: t.optional(t.string()),
    blob: t.bytes(),
  },
});
type Mixed = RecordOf<typeof Mixed>;

const mixed = (): Mixed => ({
  id: 'mix_1',
  head: 'before the vector, long enough to be a sliced string',
  vector: Float32Array.from({ length: 16 }, (_, i) => i / 4),
  count: 2 ** 40 + 3,
  model: 'all-MiniLM-L6-v2',
  tags: ['', 'a', 'x'.repeat(70)],
  inner: { label: 'inner label', n: -7 },
  meta: { key: 'value', long: 'y'.repeat(200), list: ['p', 'q'], nested: { deep: 'z'.repeat(40) }, n: 1.5 },
  note: 'last string, before a bytes field',
  blob: Uint8Array.from([0x80, 0xff, 0x00, 0xc3]),
});

/** The same bytes with the all-ASCII flag cleared: what a decoder without the Latin-1 text reads. */
function withoutFlag(bytes: Uint8Array): Uint8Array {
  const copy = bytes.slice();
  copy[6] = copy[6]! & ~4;
  return copy;
}

describe('all-ASCII records', () => {
  it('are flagged exactly when every string (fields, lists, nested records, metadata keys and values) is ASCII', () => {
    expect(readHeader(encodeRecord(Mixed, mixed())).asciiStrings).toBe(true);
    const nonAscii: Array<Partial<Mixed>> = [
      { head: 'caf\u00e9' },
      { model: '\u{1F600}' },
      { tags: ['a', '\u00fc'] },
      { tags: ['long '.repeat(20) + '\u00e9'] },
      { inner: { label: '\u4e2d', n: 1 } },
      { note: 'x\u0100' },
      { meta: { '\u00e9': 1 } },
      { meta: { k: 'short \u00e9' } },
      { meta: { k: '\u00e9'.repeat(50) } },
      { meta: { k: 'long '.repeat(40) + '\u00e9' } },
      { meta: ['\ud800'] },
      { meta: { list: [{ deeper: '\u2028' }] } },
    ];
    for (const change of nonAscii) {
      const bytes = encodeRecord(Mixed, { ...mixed(), ...change });
      expect(readHeader(bytes).asciiStrings, JSON.stringify(change)).toBe(false);
      expect(decodeRecord(Mixed, bytes)).toStrictEqual({ ...mixed(), ...change });
    }
    // The flag is per record: a non-ASCII record does not leave the next one unflagged, nor the other way round.
    expect(readHeader(encodeRecord(Mixed, mixed())).asciiStrings).toBe(true);
    // Bytes fields and vectors hold bytes of any value: they are not strings.
    expect(readHeader(encodeRecord(Mixed, { ...mixed(), blob: new Uint8Array(300).fill(0xff) })).asciiStrings).toBe(true);
  });

  it('decode to the same values as without the flag, through decodeRecord, toObject and decodeNode', () => {
    const bytes = encodeRecord(Mixed, mixed()).slice();
    const decoded = decodeRecord(Mixed, bytes);
    expect(decoded).toStrictEqual(mixed());
    expect(decodeRecord(Mixed, withoutFlag(bytes))).toStrictEqual(decoded);
    expect(viewRecord(Mixed, bytes).toObject()).toStrictEqual(decoded);
    // A record inside a larger buffer, not at its start.
    const padded = new Uint8Array(bytes.length + 64);
    padded.set(bytes, 64);
    expect(decodeRecord(Mixed, padded.subarray(64))).toStrictEqual(decoded);
    const message = {
      type: 'Message' as const,
      id: newId(),
      chatId: newId(),
      sender: 'user' as const,
      timestamp: 1_700_000_000_000,
      textContent: 'hello '.repeat(100),
      attachmentIds: [],
      metadata: { lang: 'en' },
    };
    const node = encodeNode(message as Parameters<typeof encodeNode>[0]);
    expect(readHeader(node).asciiStrings).toBe(true);
    expect(decodeNode(node)).toStrictEqual(message);
  });

  it('read the same when optional string fields at either end of the text are absent, or no string is present', () => {
    const Sparse = defineRecord({
      name: 'AsciiSparse',
      typeId: 972,
      version: 1,
      fields: { a: t.optional(t.string()), n: t.int32(), b: t.optional(t.string()), c: t.optional(t.string()), v: t.float32Vector() },
    });
    const vector = Float32Array.of(1, 2);
    for (const value of [
      { n: 1, v: vector },
      { a: 'first', n: 1, v: vector },
      { n: 1, b: 'middle', v: vector },
      { n: 1, c: 'last', v: vector },
      { a: '', n: 1, c: '', v: vector },
    ]) {
      const bytes = encodeRecord(Sparse, value);
      expect(readHeader(bytes).asciiStrings).toBe(true);
      expect(decodeRecord(Sparse, bytes)).toStrictEqual(value);
    }
  });

  it('read across schema versions: fields added or unknown at the end of the text', () => {
    const V1 = defineRecord({ name: 'AsciiEvolve', typeId: 973, version: 1, fields: { id: t.id(), title: t.string() } });
    const V2 = defineRecord({
      name: 'AsciiEvolve',
      typeId: 973,
      version: 2,
      fields: { id: t.id(), title: t.string(), extra: t.optional(t.string()), more: t.stringList() },
    });
    const old = encodeRecord(V1, { id: 'e1', title: 'old title' });
    expect(decodeRecord(V2, old)).toStrictEqual({ id: 'e1', title: 'old title', more: [] });
    const newer = encodeRecord(V2, { id: 'e2', title: 'new title', extra: 'unknown to v1', more: ['m'] });
    expect(decodeRecord(V1, newer)).toStrictEqual({ id: 'e2', title: 'new title' });
  });

  it('any all-ASCII value decodes exactly as the same record without the flag', () => {
    const ascii = fc.string({ unit: 'binary-ascii', maxLength: 90 });
    const json = fc.letrec<{ value: unknown }>((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.constant(null),
        fc.boolean(),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        ascii,
        fc.array(tie('value'), { maxLength: 4 }),
        fc.dictionary(ascii, tie('value'), { maxKeys: 4 }),
      ),
    })).value;
    fc.assert(
      fc.property(
        fc.record({
          id: fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 30 }),
          head: ascii,
          model: ascii,
          tags: fc.array(ascii, { maxLength: 4 }),
          label: ascii,
          meta: json,
          note: fc.option(ascii, { nil: undefined }),
        }),
        (v) => {
          const value: Mixed = {
            ...mixed(),
            id: v.id as Mixed['id'],
            head: v.head,
            model: v.model,
            tags: v.tags,
            inner: { label: v.label, n: 0 },
            meta: v.meta as Mixed['meta'],
            note: v.note,
          };
          const bytes = encodeRecord(Mixed, value).slice();
          expect(readHeader(bytes).asciiStrings).toBe(true);
          const decoded = decodeRecord(Mixed, bytes);
          expect(decoded).toStrictEqual(decodeRecord(Mixed, withoutFlag(bytes)));
          const expected: Record<string, unknown> = structuredClone(value);
          if (expected.note === undefined) delete expected.note;
          expect(decoded).toStrictEqual(expected);
        },
      ),
      { numRuns: RUNS },
    );
  }, FUZZ_TIMEOUT);

  it('trust the flag: a damaged string byte reads as its Latin-1 character in Node, and fails UTF-8 validation elsewhere', () => {
    expect(typeof Buffer).toBe('function'); // this suite runs in Node, where the text is made
    const valid = encodeRecord(Mixed, mixed()).slice();
    const damage = (text: string): Uint8Array => {
      const bytes = valid.slice();
      bytes[Buffer.from(bytes).indexOf(Buffer.from(text))] = 0xe9;
      return bytes;
    };
    // Every string after the vector is sliced from the text, up to the last one (right before the bytes field).
    const sliced: Array<[string, (m: Mixed) => unknown, string, string]> = [
      ['all-MiniLM', (m) => m.model, '\u00e9ll-MiniLM-L6-v2', 'AsciiMixed.model'],
      ['xxxxx', (m) => m.tags[2], '\u00e9' + 'x'.repeat(69), 'AsciiMixed.tags'],
      ['inner label', (m) => m.inner.label, '\u00e9nner label', 'AsciiMixed.inner.label'],
      ['yyyyy', (m) => (m.meta as { long: string }).long, '\u00e9' + 'y'.repeat(199), 'AsciiMixed.meta'],
      ['last string', (m) => m.note, '\u00e9ast string, before a bytes field', 'AsciiMixed.note'],
    ];
    for (const [text, read, expected, path] of sliced) {
      const bytes = damage(text);
      expect(read(decodeRecord(Mixed, bytes)), path).toBe(expected);
      // Any decoder without the text (browsers, the flag cleared) validates the UTF-8.
      expect(() => decodeRecord(Mixed, withoutFlag(bytes))).toThrow(expect.objectContaining({ code: 'MALFORMED', path }));
    }
    // Strings before the vector are outside the text (it would copy the vector) and are validated.
    expect(() => decodeRecord(Mixed, damage('before the vector'))).toThrow(expect.objectContaining({ code: 'MALFORMED', path: 'AsciiMixed.head' }));
    // A view's getters never use the text.
    expect(() => viewRecord(Mixed, damage('inner label')).inner).toThrow(CodecError);
  });

  it('a span of strings longer than MAX_ASCII_TEXT is decoded string by string (V8 caps string length)', () => {
    const big = 'b'.repeat(MAX_ASCII_TEXT);
    const bytes = encodeRecord(Mixed, { ...mixed(), model: big }).slice();
    expect(readHeader(bytes).asciiStrings).toBe(true);
    expect(decodeRecord(Mixed, bytes).model).toBe(big);
    // The ordinary path validates: a damaged byte fails instead of reading as Latin-1.
    bytes[Buffer.from(bytes).indexOf(Buffer.from('inner label'))] = 0xe9;
    expect(() => decodeRecord(Mixed, bytes)).toThrow(expect.objectContaining({ code: 'MALFORMED', path: 'AsciiMixed.inner.label' }));
  });

  it('damaged offsets in a flagged record read as values or fail only with CodecError', () => {
    const valid = encodeRecord(Mixed, mixed()).slice();
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), (flips) => {
        const bytes = valid.slice();
        for (const [at, value] of flips) bytes[at] = value;
        bytes[6] = bytes[6]! | 4;
        try {
          decodeRecord(Mixed, bytes);
        } catch (error) {
          if (!(error instanceof CodecError)) throw error;
        }
      }),
      { numRuns: RUNS * 3 },
    );
  }, FUZZ_TIMEOUT);
});
