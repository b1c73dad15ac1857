import { ByteWriter } from './byte-writer.js';
import { copyByteRange, copyFloat32 } from './copy-pool.js';
import { CodecError } from './errors.js';
import { decodeMetadata, metadataView, writeMetadata, type JsonValue, type MetadataView } from './metadata.js';
import { SCHEMA_CACHE, type FieldKind, type FieldMap, type FieldValue, type RecordSchema, type ValuesOf } from './schema.js';

/**
 * Binary records: one Uint8Array per record, read field by field without decoding the rest.
 *
 * Layout (little-endian; offsets relative to the record start, which encoders keep 8-byte aligned):
 * ```
 *  0  u8   marker 0xB7 (never the first byte of JSON text)     4  u16  schema version
 *  1  u8   format version (1)                                   6  u8   flags (bit 0: checksum at the end)
 *  2  u16  record type                                          7  u8   field count N
 *  8  u32 × N  field offsets (0: absent)
 *  ...  field data, each where its offset says:
 *       bool/enum u8 · int32/uint32 u32 (4-aligned) · float64/safeInt f64 (8-aligned)
 *       string/bytes/metadata: u32 byte length + bytes · stringList: u32 count + u32 offsets (from the list) of strings
 *       float32Vector: u32 dims + f32 × dims (4-aligned) · table: a nested record (8-aligned), u32 length before it
 *  [u32 FNV-1a checksum of everything before it, when flagged]
 * ```
 */
export const RECORD_MARKER = 0xb7;
export const FORMAT_VERSION = 1;
const HEADER = 8;
const FLAG_CHECKSUM = 1;

/** Options of {@link encodeRecord}. */
export interface EncodeOptions {
  /** Append a checksum that {@link verifyRecord} checks. */
  checksum?: boolean;
}

// ---- scalar reads without allocating a DataView: copy through a scratch buffer (little-endian hosts) ----
const scratch = new Uint8Array(8);
const scratchF64 = new Float64Array(scratch.buffer);
const scratchF32 = new Float32Array(scratch.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function u16(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8);
}
function u32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}
function i32(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24);
}
function f64(b: Uint8Array, o: number): number {
  if (LITTLE_ENDIAN) {
    for (let i = 0; i < 8; i++) scratch[i] = b[o + i]!;
  } else {
    for (let i = 0; i < 8; i++) scratch[7 - i] = b[o + i]!;
  }
  return scratchF64[0]!;
}
function f32(b: Uint8Array, o: number): number {
  if (LITTLE_ENDIAN) {
    for (let i = 0; i < 4; i++) scratch[i] = b[o + i]!;
  } else {
    for (let i = 0; i < 4; i++) scratch[3 - i] = b[o + i]!;
  }
  return scratchF32[0]!;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function malformed(what: string, path: string): CodecError {
  return new CodecError('MALFORMED', `Malformed record: ${what} (at ${path}). The bytes are damaged or not a tabstore record.`, {
    path,
  });
}

/**
 * UTF-8 bytes [o, o+n) as a string. Short ASCII (ids, senders, labels) is built with unrolled fromCharCode calls,
 * about twice as fast as TextDecoder or a character-by-character loop here.
 */
function readString(b: Uint8Array, o: number, n: number, path: string): string {
  if (n > 64) return decodeUtf8(b, o, n, path);
  const end = o + n;
  for (let i = o; i < end; i++) if (b[i]! >= 0x80) return decodeUtf8(b, o, n, path);
  let s = '';
  let i = o;
  for (; i + 8 <= end; i += 8) {
    s += String.fromCharCode(b[i]!, b[i + 1]!, b[i + 2]!, b[i + 3]!, b[i + 4]!, b[i + 5]!, b[i + 6]!, b[i + 7]!);
  }
  for (; i < end; i++) s += String.fromCharCode(b[i]!);
  return s;
}

function decodeUtf8(b: Uint8Array, o: number, n: number, path: string): string {
  try {
    return utf8.decode(b.subarray(o, o + n));
  } catch (cause) {
    throw new CodecError('MALFORMED', `Malformed record: invalid UTF-8 (at ${path}).`, { path, cause });
  }
}

// ---- encoding ----

const writer = new ByteWriter();

function invalid(path: string, expected: string, value: unknown): CodecError {
  const got = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
  return new CodecError('INVALID_INPUT', `${path} must be ${expected}, got ${got}${typeof value === 'number' ? ` ${value}` : ''}.`, {
    path,
  });
}

const isWellFormed = (String.prototype as { isWellFormed?: (this: string) => boolean }).isWellFormed;

/** True when `s` has no lone surrogate (which UTF-8 cannot represent). */
function isLoneSurrogateFree(s: string): boolean {
  if (isWellFormed !== undefined) return isWellFormed.call(s);
  return !/[\uD800-\uDFFF]/.test(s.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, ''));
}

function writeStringField(w: ByteWriter, s: unknown, path: string, nonEmpty: boolean): void {
  if (typeof s !== 'string') throw invalid(path, 'a string', s);
  if (nonEmpty && s.length === 0) throw new CodecError('INVALID_INPUT', `${path} must not be empty.`, { path });
  if (!isLoneSurrogateFree(s)) {
    throw new CodecError('INVALID_INPUT', `${path} contains a lone UTF-16 surrogate, which UTF-8 cannot represent.`, { path });
  }
  // Back-patch by offset from the record start: writing may move the record to a larger chunk.
  const at = w.offset;
  w.u32(0);
  w.patchU32(at, w.utf8(s));
}

/**
 * Writes one field's value (validating it first) and returns the record offset where its data starts, after any
 * alignment padding it wrote: the field table points there.
 */
type FieldWriter = (w: ByteWriter, value: unknown) => number;

/** A writer specialised for one field, chosen once per schema (see {@link makeReader} for why). */
function makeWriter(field: FieldKind<unknown>, path: string): FieldWriter {
  switch (field.kind) {
    case 'bool':
      return (w, value) => {
        if (typeof value !== 'boolean') throw invalid(path, 'a boolean', value);
        const at = w.offset;
        w.u8(value ? 1 : 0);
        return at;
      };
    case 'enum': {
      const values = field.values!;
      return (w, value) => {
        const index = typeof value === 'string' ? values.indexOf(value) : -1;
        if (index < 0) throw invalid(path, `one of ${values.map((v) => JSON.stringify(v)).join(', ')}`, value);
        const at = w.offset;
        w.u8(index);
        return at;
      };
    }
    case 'int32':
      return (w, value) => {
        if (typeof value !== 'number' || !Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) {
          throw invalid(path, 'a 32-bit signed integer', value);
        }
        w.align(4);
        const at = w.offset;
        w.i32(value);
        return at;
      };
    case 'uint32':
      return (w, value) => {
        if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffffffff) {
          throw invalid(path, 'a 32-bit unsigned integer', value);
        }
        w.align(4);
        const at = w.offset;
        w.u32(value);
        return at;
      };
    case 'float64':
      return (w, value) => {
        if (typeof value !== 'number') throw invalid(path, 'a number', value);
        w.align(8);
        const at = w.offset;
        w.f64(value);
        return at;
      };
    case 'safeInt':
      return (w, value) => {
        if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw invalid(path, 'a safe integer (|n| < 2^53)', value);
        w.align(8);
        const at = w.offset;
        w.f64(value);
        return at;
      };
    case 'string': {
      const nonEmpty = field.nonEmpty === true;
      return (w, value) => {
        const at = w.offset;
        writeStringField(w, value, path, nonEmpty);
        return at;
      };
    }
    case 'bytes':
      return (w, value) => {
        if (!(value instanceof Uint8Array)) throw invalid(path, 'a Uint8Array', value);
        const at = w.offset;
        w.u32(value.length);
        w.raw(value);
        return at;
      };
    case 'stringList':
      return (w, value) => {
        if (!Array.isArray(value)) throw invalid(path, 'an array of strings', value);
        w.align(4);
        const table = w.offset;
        w.u32(value.length);
        w.ensure(value.length * 4);
        w.pos += value.length * 4;
        for (let i = 0; i < value.length; i++) {
          w.patchU32(table + 4 + i * 4, w.offset - table); // relative to the list: valid inside nested tables too
          writeStringField(w, value[i], `${path}[${i}]`, false);
        }
        return table;
      };
    case 'float32Vector':
      return (w, value) => {
        if (!(value instanceof Float32Array)) throw invalid(path, 'a Float32Array', value);
        w.align(4);
        const at = w.offset;
        w.u32(value.length);
        w.raw(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
        return at;
      };
    case 'metadata':
      return (w, value) => {
        const start = w.offset;
        w.u32(0);
        const at = w.offset; // an offset, not a position: the record may move to a larger chunk while writing
        writeMetadata(w, value as JsonValue, path);
        w.patchU32(start, w.offset - at);
        return start;
      };
    case 'table': {
      const schema = field.schema!;
      return (w, value) => {
        if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(path, 'an object', value);
        w.align(8);
        w.u32(0);
        w.u32(0); // keep the nested record 8-aligned
        const at = w.offset;
        writeBody(w, schema, value as Record<string, unknown>, path, at, false);
        w.patchU32(at - 8, w.offset - at);
        return at;
      };
    }
  }
}

/** Writes header, table and fields of `schema` for `obj`, starting at record offset `base`. */
function writeBody(
  w: ByteWriter,
  schema: RecordSchema<FieldMap>,
  obj: Record<string, unknown>,
  parentPath: string,
  base: number,
  checksum: boolean,
): void {
  const names = schema.fieldNames;
  const n = names.length;
  w.ensure(HEADER + n * 4);
  w.u8(RECORD_MARKER);
  w.u8(FORMAT_VERSION);
  w.u16(schema.typeId);
  w.u16(schema.version);
  w.u8(checksum ? FLAG_CHECKSUM : 0);
  w.u8(n);
  const table = w.offset;
  for (let i = 0; i < n; i++) w.u32(0);
  const writers = writersOf(schema, parentPath);
  for (let i = 0; i < n; i++) {
    const name = names[i]!;
    const field = schema.fields[name]!;
    const value = obj[name];
    if (value === undefined) {
      if (field.optional) continue;
      const path = `${parentPath}.${name}`;
      throw new CodecError('INVALID_INPUT', `${path} is required.`, { path });
    }
    w.patchU32(table + i * 4, writers[i]!(w, value) - base);
  }
}

/** The field writers of `schema` when it is written at `parentPath` (its own name, or a nested table's path). */
function writersOf(schema: RecordSchema<FieldMap>, parentPath: string): readonly FieldWriter[] {
  const cache = cacheOf(schema) as SchemaCache & { writers?: Map<string, readonly FieldWriter[]> };
  cache.writers ??= new Map();
  let writers = cache.writers.get(parentPath);
  if (writers === undefined) {
    writers = schema.fieldNames.map((name) => makeWriter(schema.fields[name]!, `${parentPath}.${name}`));
    cache.writers.set(parentPath, writers);
  }
  return writers;
}

/**
 * Encodes `obj` as a record of `schema`. Fails with CodecError INVALID_INPUT naming the field path. The result is
 * a view into a shared chunk that later encodes never overwrite (copy it only if you need its own ArrayBuffer).
 */
export function encodeRecord<F extends FieldMap>(schema: RecordSchema<F>, obj: ValuesOf<F>, options: EncodeOptions = {}): Uint8Array {
  if (typeof obj !== 'object' || obj === null) throw invalid(schema.name, 'an object', obj);
  const w = writer;
  w.begin();
  try {
    writeBody(w, schema as unknown as RecordSchema<FieldMap>, obj as Record<string, unknown>, schema.name, 0, options.checksum === true);
    if (options.checksum === true) w.u32(fnv1a(w.bytes, w.start, w.pos));
  } catch (error) {
    w.pos = w.start; // drop the partial record
    throw error;
  }
  return w.finish();
}

/** FNV-1a over bytes [from, to). */
function fnv1a(b: Uint8Array, from: number, to: number): number {
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  return h >>> 0;
}

// ---- reading ----

/** The header of a record. */
export interface RecordHeader {
  typeId: number;
  version: number;
  fieldCount: number;
  hasChecksum: boolean;
}

/** Reads and checks a record header at `start` (bounds of the header and the field table). */
export function readHeader(bytes: Uint8Array, start = 0, length = bytes.length - start, path = 'record'): RecordHeader {
  if (!(bytes instanceof Uint8Array)) throw new CodecError('INVALID_INPUT', 'A record must be a Uint8Array.', { path });
  if (length < HEADER || bytes[start] !== RECORD_MARKER) throw malformed('no record header', path);
  if (bytes[start + 1] !== FORMAT_VERSION) throw malformed(`format version ${bytes[start + 1]} is not supported`, path);
  const fieldCount = bytes[start + 7]!;
  const hasChecksum = (bytes[start + 6]! & FLAG_CHECKSUM) !== 0;
  if (HEADER + fieldCount * 4 + (hasChecksum ? 4 : 0) > length) throw malformed('field table past the end', path);
  return { typeId: u16(bytes, start + 2), version: u16(bytes, start + 4), fieldCount, hasChecksum };
}

/** The record type id of a binary record, without decoding it. */
export function recordTypeOf(bytes: Uint8Array): number {
  return readHeader(bytes).typeId;
}

/** Checks a record's checksum; true when it has one and it matches, CodecError CHECKSUM_MISMATCH when it does not. */
export function verifyRecord(bytes: Uint8Array): boolean {
  const header = readHeader(bytes);
  if (!header.hasChecksum) return false;
  const stored = u32(bytes, bytes.length - 4);
  if (fnv1a(bytes, 0, bytes.length - 4) !== stored) {
    throw new CodecError('CHECKSUM_MISMATCH', 'The record checksum does not match its bytes: the record is damaged.');
  }
  return true;
}

/** What {@link detectFormat} tells apart. */
export type StoredFormat = 'binary' | 'legacy-json' | 'unknown';

/** Tells a binary tabstore record from legacy JSON text (first non-blank byte `{` or `[`) from anything else. */
export function detectFormat(bytes: Uint8Array): StoredFormat {
  if (bytes.length >= HEADER && bytes[0] === RECORD_MARKER && bytes[1] === FORMAT_VERSION) return 'binary';
  let i = 0;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) i = 3; // UTF-8 BOM
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === 0x0a || bytes[i] === 0x0d)) i++;
  return bytes[i] === 0x7b || bytes[i] === 0x5b ? 'legacy-json' : 'unknown';
}

/** Internal state of a view: the bytes and where the record (and its field table) starts. */
interface ViewState {
  readonly bytes: Uint8Array;
  readonly start: number;
  readonly end: number;
  readonly fieldCount: number;
  readonly path: string;
}

/** A lazy view of a record: each property reads only its own bytes. */
export type RecordView<F extends FieldMap> = Readonly<ValuesOf<F>> & {
  /** Every field as a plain object (vectors and bytes copied out of the record). */
  toObject(): ValuesOf<F>;
  /** The binary metadata value of a metadata field, readable key by key, or undefined when absent. */
  metadataOf(field: MetadataFieldOf<F>): MetadataView | undefined;
  /** The record's schema version as written. */
  readonly schemaVersion: number;
  /** The schema's name (for nodes: the node type). */
  readonly type: string;
};

type MetadataFieldOf<F extends FieldMap> = { [K in keyof F]: F[K]['kind'] extends 'metadata' ? K : never }[keyof F] & string;

const STATE = Symbol('record');
type Viewed = { [STATE]: ViewState };

/** Offset (absolute) of field `i`'s data, or 0 when absent. */
function fieldOffset(s: ViewState, i: number): number {
  if (i >= s.fieldCount) return 0;
  const rel = u32(s.bytes, s.start + HEADER + i * 4);
  if (rel === 0) return 0;
  if (rel < HEADER + s.fieldCount * 4 || s.start + rel >= s.end) throw malformed('field offset out of bounds', s.path);
  return s.start + rel;
}

function need(s: ViewState, o: number, n: number, path: string): void {
  if (n < 0 || o + n > s.end) throw malformed('field data past the end', path);
}

/** The value a reader gets for an absent field (a fresh one each time for mutable defaults). */
function defaultFactory(field: FieldKind<unknown>): () => unknown {
  if (field.optional) return () => undefined;
  switch (field.kind) {
    case 'bool':
      return () => false;
    case 'int32':
    case 'uint32':
    case 'float64':
    case 'safeInt':
      return () => 0;
    case 'string':
      return () => '';
    case 'stringList':
      return () => [];
    case 'bytes':
      return () => new Uint8Array(0);
    case 'float32Vector':
      return () => new Float32Array(0);
    case 'enum': {
      const first = field.values![0];
      return () => first;
    }
    case 'metadata':
      return () => null;
    case 'table': {
      const plan = planOf(field.schema!);
      return () => {
        const out: Record<string, unknown> = {};
        for (let i = 0; i < plan.names.length; i++) {
          const v = plan.defaults[i]!();
          if (v !== undefined) out[plan.names[i]!] = v;
        }
        return out;
      };
    }
  }
}

/** Reads one field of a record; `copy` makes vectors and bytes independent of the record's buffer. */
type FieldReader = (s: ViewState, copy: boolean) => unknown;

/**
 * A reader specialised for one field, chosen once per schema: every read goes through a small function of its own
 * kind instead of one switch shared by every schema (which V8 would see as megamorphic).
 */
function makeReader(i: number, field: FieldKind<unknown>, path: string, absent: () => unknown): FieldReader {
  switch (field.kind) {
    case 'bool':
      return (s) => {
        const o = fieldOffset(s, i);
        if (o === 0) return absent();
        need(s, o, 1, path);
        return s.bytes[o] !== 0;
      };
    case 'enum': {
      const values = field.values!;
      return (s) => {
        const o = fieldOffset(s, i);
        if (o === 0) return absent();
        need(s, o, 1, path);
        const value = values[s.bytes[o]!];
        if (value === undefined) throw malformed(`enum index ${s.bytes[o]} unknown`, path);
        return value;
      };
    }
    case 'int32':
      return (s) => {
        const o = fieldOffset(s, i);
        if (o === 0) return absent();
        need(s, o, 4, path);
        return i32(s.bytes, o);
      };
    case 'uint32':
      return (s) => {
        const o = fieldOffset(s, i);
        if (o === 0) return absent();
        need(s, o, 4, path);
        return u32(s.bytes, o);
      };
    case 'float64':
    case 'safeInt':
      return (s) => {
        const o = fieldOffset(s, i);
        if (o === 0) return absent();
        need(s, o, 8, path);
        return f64(s.bytes, o);
      };
    case 'string':
      return (s) => {
        const o = fieldOffset(s, i);
        if (o === 0) return absent();
        need(s, o, 4, path);
        const n = u32(s.bytes, o);
        need(s, o + 4, n, path);
        return readString(s.bytes, o + 4, n, path);
      };
    case 'bytes':
      return (s, copy) => {
        const o = fieldOffset(s, i);
        if (o === 0) return absent();
        need(s, o, 4, path);
        const n = u32(s.bytes, o);
        need(s, o + 4, n, path);
        return copy ? copyByteRange(s.bytes, o + 4, o + 4 + n) : s.bytes.subarray(o + 4, o + 4 + n);
      };
    case 'stringList':
      return (s) => {
        const o = fieldOffset(s, i);
        if (o === 0) return absent();
        const b = s.bytes;
        need(s, o, 4, path);
        const count = u32(b, o);
        need(s, o + 4, count * 4, path);
        const out: string[] = new Array<string>(count);
        for (let j = 0; j < count; j++) {
          const at = o + u32(b, o + 4 + j * 4);
          need(s, at, 4, path);
          const n = u32(b, at);
          need(s, at + 4, n, path);
          out[j] = readString(b, at + 4, n, path);
        }
        return out;
      };
    case 'float32Vector':
      return (s, copy) => {
        const o = fieldOffset(s, i);
        if (o === 0) return absent();
        const b = s.bytes;
        need(s, o, 4, path);
        const dims = u32(b, o);
        need(s, o + 4, dims * 4, path);
        const at = b.byteOffset + o + 4;
        if (!copy && at % 4 === 0 && LITTLE_ENDIAN) return new Float32Array(b.buffer, at, dims);
        if (LITTLE_ENDIAN) return copyFloat32(b, o + 4, dims);
        const out = new Float32Array(dims);
        for (let j = 0; j < dims; j++) out[j] = f32(b, o + 4 + j * 4);
        return out;
      };
    case 'metadata':
      return (s) => {
        const o = fieldOffset(s, i);
        if (o === 0) return absent();
        const n = metadataLength(s, o, path);
        try {
          return decodeMetadata(s.bytes, o + 4, n);
        } catch (error) {
          throw rePath(error, path);
        }
      };
    case 'table': {
      const schema = field.schema!;
      return (s, copy) => {
        const o = fieldOffset(s, i);
        if (o === 0) return absent();
        need(s, o - 8, 8, path);
        const n = u32(s.bytes, o - 8);
        need(s, o, n, path);
        return materialise(openState(s.bytes, o, n, schema, path), planOf(schema), copy);
      };
    }
  }
}

/** Length of the metadata value whose u32 length prefix is at `o`, checked to lie within the record. */
function metadataLength(s: ViewState, o: number, path: string): number {
  need(s, o, 4, path);
  const n = u32(s.bytes, o);
  need(s, o + 4, n, path);
  return n;
}

/** What a schema compiles to, once: its field names, readers and absent-value factories. */
interface SchemaPlan {
  readonly names: readonly string[];
  readonly readers: readonly FieldReader[];
  readonly defaults: readonly (() => unknown)[];
}

/** What the codec compiles per schema, kept in the schema's private cache slot. */
interface SchemaCache {
  plan?: SchemaPlan;
  View?: ViewClass;
}

function cacheOf(schema: RecordSchema<FieldMap>): SchemaCache {
  const cache = (schema as unknown as { [SCHEMA_CACHE]?: SchemaCache })[SCHEMA_CACHE];
  if (cache === undefined) throw new TypeError(`${schema.name} was not made by defineRecord().`);
  return cache;
}

function planOf(schema: RecordSchema<FieldMap>): SchemaPlan {
  const cache = cacheOf(schema);
  if (cache.plan === undefined) {
    const names = schema.fieldNames;
    const defaults = names.map((name) => defaultFactory(schema.fields[name]!));
    const readers = names.map((name, i) => makeReader(i, schema.fields[name]!, `${schema.name}.${name}`, defaults[i]!));
    cache.plan = { names, readers, defaults };
  }
  return cache.plan;
}

function rePath(error: unknown, path: string): unknown {
  if (error instanceof CodecError && error.code === 'MALFORMED') {
    return new CodecError('MALFORMED', `${error.message} (in ${path})`, { path, cause: error });
  }
  return error;
}

function openState(bytes: Uint8Array, start: number, length: number, schema: RecordSchema<FieldMap>, path: string): ViewState {
  if (!(bytes instanceof Uint8Array)) throw new CodecError('INVALID_INPUT', 'A record must be a Uint8Array.', { path });
  if (length < HEADER || bytes[start] !== RECORD_MARKER || bytes[start + 1] !== FORMAT_VERSION) {
    readHeader(bytes, start, length, path); // throws the precise error
  }
  const typeId = u16(bytes, start + 2);
  if (typeId !== schema.typeId) {
    throw new CodecError('UNKNOWN_TYPE', `Record type ${typeId} is not ${schema.name} (${schema.typeId}).`, { path });
  }
  const fieldCount = bytes[start + 7]!;
  const checksum = (bytes[start + 6]! & FLAG_CHECKSUM) !== 0 ? 4 : 0;
  if (HEADER + fieldCount * 4 + checksum > length) throw malformed('field table past the end', path);
  return { bytes, start, end: start + length - checksum, fieldCount, path };
}

function materialise(s: ViewState, plan: SchemaPlan, copy: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const { names, readers } = plan;
  for (let i = 0; i < names.length; i++) {
    const value = readers[i]!(s, copy);
    if (value !== undefined) out[names[i]!] = value;
  }
  return out;
}

/** What every view instance holds: its record's state. Getters live on a per-schema subclass's prototype. */
class ViewBase {
  [STATE]: ViewState;
  constructor(state: ViewState) {
    this[STATE] = state;
  }
}

type ViewClass = new (state: ViewState) => ViewBase;

/** The view class of a schema, made once: a subclass whose prototype has one getter per field. */
function viewClassOf(schema: RecordSchema<FieldMap>): ViewClass {
  const cache = cacheOf(schema);
  if (cache.View !== undefined) return cache.View;
  const plan = planOf(schema);
  const View: ViewClass = class extends ViewBase {};
  const proto = View.prototype as unknown as Viewed;
  Object.defineProperties(proto, {
    toObject: {
      value(this: Viewed) {
        return materialise(this[STATE], plan, true);
      },
    },
    metadataOf: {
      value(this: Viewed, name: string) {
        const i = schema.fieldNames.indexOf(name);
        if (i < 0 || schema.fields[name]!.kind !== 'metadata') {
          throw new CodecError('INVALID_INPUT', `${schema.name}.${name} is not a metadata field.`, { path: `${schema.name}.${name}` });
        }
        const s = this[STATE];
        const o = fieldOffset(s, i);
        return o === 0 ? undefined : metadataView(s.bytes, o + 4, metadataLength(s, o, `${schema.name}.${name}`));
      },
    },
    schemaVersion: {
      get(this: Viewed) {
        const st = this[STATE];
        return u16(st.bytes, st.start + 4);
      },
    },
  });
  // Views carry their record type's name as `type` (the tag of the node union), unless a field takes the name.
  if (!schema.fieldNames.includes('type')) Object.defineProperty(proto, 'type', { value: schema.name, enumerable: true });
  plan.names.forEach((name, i) => {
    const read = plan.readers[i]!;
    Object.defineProperty(proto, name, {
      enumerable: true,
      get(this: Viewed) {
        return read(this[STATE], false);
      },
    });
  });
  cache.View = View;
  return View;
}

/**
 * A lazy view of `bytes` as a record of `schema`: checks the header and field table, then each property reads
 * only its own bytes (a float32 vector is a Float32Array over the same buffer when aligned). Throws CodecError
 * MALFORMED for damaged bytes and UNKNOWN_TYPE for a record of another type.
 */
export function viewRecord<F extends FieldMap>(schema: RecordSchema<F>, bytes: Uint8Array): RecordView<F> {
  const erased = schema as unknown as RecordSchema<FieldMap>;
  const View = viewClassOf(erased);
  return new View(openState(bytes, 0, bytes.length, erased, schema.name)) as unknown as RecordView<F>;
}

/**
 * A reader of one field, compiled once: `fieldReader(MessageSchema, 'timestamp')(bytes)` reads that field's bytes
 * and nothing else, without making a view object. For hot loops over many records (sorting, filtering).
 */
export function fieldReader<F extends FieldMap, K extends keyof F & string>(
  schema: RecordSchema<F>,
  name: K,
): (bytes: Uint8Array) => FieldValue<F[K]> {
  const erased = schema as unknown as RecordSchema<FieldMap>;
  const index = erased.fieldNames.indexOf(name);
  if (index < 0) throw new CodecError('INVALID_INPUT', `${schema.name} has no field ${JSON.stringify(name)}.`, { path: name });
  const field = erased.fields[name]!;
  const width = SCALAR_WIDTH[field.kind];
  if (width !== undefined) {
    // Fixed-size scalars: check the header and this field's slot, then read; no state object, no indirection.
    const typeId = erased.typeId;
    const slot = HEADER + index * 4;
    const path = `${schema.name}.${name}`;
    const absent = planOf(erased).defaults[index]!;
    const decode = scalarDecoder(field, path);
    return (bytes) => {
      const length = bytes.length;
      if (length < HEADER || bytes[0] !== RECORD_MARKER || bytes[1] !== FORMAT_VERSION || u16(bytes, 2) !== typeId) {
        return fieldReaderSlow(erased, index, bytes) as FieldValue<F[K]>;
      }
      const fieldCount = bytes[7]!;
      const end = length - ((bytes[6]! & FLAG_CHECKSUM) !== 0 ? 4 : 0);
      if (HEADER + fieldCount * 4 > end) throw malformed('field table past the end', path);
      if (index >= fieldCount) return absent() as FieldValue<F[K]>;
      const rel = u32(bytes, slot);
      if (rel === 0) return absent() as FieldValue<F[K]>;
      if (rel < HEADER + fieldCount * 4 || rel + width > end) throw malformed('field offset out of bounds', path);
      return decode(bytes, rel) as FieldValue<F[K]>;
    };
  }
  const read = planOf(erased).readers[index]!;
  return (bytes) => read(openState(bytes, 0, bytes.length, erased, schema.name), false) as FieldValue<F[K]>;
}

/** Bytes of the fixed-size scalar kinds. */
const SCALAR_WIDTH: Partial<Record<FieldKind<unknown>['kind'], number>> = {
  bool: 1,
  enum: 1,
  int32: 4,
  uint32: 4,
  float64: 8,
  safeInt: 8,
};

function scalarDecoder(field: FieldKind<unknown>, path: string): (b: Uint8Array, o: number) => unknown {
  switch (field.kind) {
    case 'bool':
      return (b, o) => b[o] !== 0;
    case 'enum': {
      const values = field.values!;
      return (b, o) => {
        const value = values[b[o]!];
        if (value === undefined) throw malformed(`enum index ${b[o]} unknown`, path);
        return value;
      };
    }
    case 'int32':
      return i32;
    case 'uint32':
      return u32;
    default:
      return f64;
  }
}

/** The general path of a fast field reader: full checks and the precise error. */
function fieldReaderSlow(schema: RecordSchema<FieldMap>, index: number, bytes: Uint8Array): unknown {
  return planOf(schema).readers[index]!(openState(bytes, 0, bytes.length, schema, schema.name), false);
}

/** Decodes every field (a copy: nothing refers to `bytes` afterwards). */
export function decodeRecord<F extends FieldMap>(schema: RecordSchema<F>, bytes: Uint8Array): ValuesOf<F> {
  const s = openState(bytes, 0, bytes.length, schema as unknown as RecordSchema<FieldMap>, schema.name);
  return materialise(s, planOf(schema as unknown as RecordSchema<FieldMap>), true) as ValuesOf<F>;
}
