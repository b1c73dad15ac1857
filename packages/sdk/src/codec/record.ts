import { asciiTextSlice, closeAsciiText, HAS_ASCII_TEXT, MAX_ASCII_TEXT, openAsciiText } from './ascii-text.js';
import { ByteWriter } from './byte-writer.js';
import { asciiString, copyByteRange, copyFloat32, LITTLE_ENDIAN, readF32, readF64, readI32, readU16, readU32 } from './bytes.js';
import { CACHED_STRING_MAX, stringCache } from './string-cache.js';
import { CodecError } from './errors.js';
import { isWellFormed } from './unicode.js';
import { decodeMetadata, MetadataView, metadataView, writeMetadata, type JsonValue } from './metadata.js';
import { SCHEMA_CACHE, type FieldKind, type FieldMap, type FieldValue, type RecordSchema, type ValuesOf } from './schema.js';

/**
 * Binary records: one Uint8Array per record, read field by field without decoding the rest.
 *
 * Layout (little-endian; offsets relative to the record start, which encoders keep 8-byte aligned):
 * ```
 *  0  u8   marker 0xB7 (never the first byte of JSON text)     4  u16  schema version
 *  1  u8   format version (2)                                   6  u8   flags (bit 0: checksum at the end,
 *  2  u16  record type                                                   bit 1: wide field table, bit 2: every
 *                                                                        string in the record is ASCII)
 *                                                               7  u8   field count N
 *  8  u16 × N field offsets (u32 × N when wide; 0: absent). Encoders use u16 unless a field starts past 64 KiB.
 *  ...  field data: the present fields in field order, each from its offset to the next present field's offset
 *       (the last one to the end of the data), so no field stores its own length:
 *       bool/enum u8 · int32/uint32 4 bytes · float64 8 bytes · safeInt sign-magnitude varint (1..8 bytes:
 *       bit 0 the sign, bits 1-6 the low 6 bits of the magnitude, bit 7 continuation; then LEB128 groups of 7 bits)
 *       string: UTF-8 · bytes: the bytes · metadata: the binary value (see metadata.ts)
 *       stringList: per string a LEB128 byte length + UTF-8
 *       float32Vector: 0-3 zero bytes so the floats start 4-aligned relative to the record start, then f32 × dims
 *       table: 0-3 zero bytes to the next 4-aligned offset, then a nested record (without a checksum)
 *  [u32 FNV-1a checksum of everything before it, when flagged]
 * ```
 * Scalars are read byte by byte, so nothing but float32 vectors (viewed in place) needs alignment.
 */
/** The first byte of every binary record. */
export const RECORD_MARKER = 0xb7;
/** The record format this codec writes (the record's second byte); records of a newer format are refused. */
export const FORMAT_VERSION = 2;
const HEADER = 8;
const FLAG_CHECKSUM = 1;
const FLAG_WIDE = 2;
/** Every string of the record (nested records and metadata included) is ASCII: see ascii-text.ts. */
const FLAG_ASCII = 4;

/** Options of {@link encodeRecord}. */
export interface EncodeOptions {
  /** Append a checksum that {@link verifyRecord} checks. */
  checksum?: boolean;
}

/** Where the last {@link readVarint} stopped. */
let varintEnd = 0;

/**
 * The LEB128 unsigned integer at `o` (ending before `end`), at most 8 bytes (56 bits, exact in a double); sets
 * {@link varintEnd}. Throws MALFORMED when it runs past `end` or is longer.
 */
function readVarint(b: Uint8Array, o: number, end: number, path: string): number {
  if (o < end) {
    const c = b[o]!;
    if (c < 0x80) {
      varintEnd = o + 1;
      return c;
    }
  }
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 8 && o + i < end; i++) {
    const c = b[o + i]!;
    value += (c & 0x7f) * scale;
    if (c < 0x80) {
      varintEnd = o + i + 1;
      return value;
    }
    scale *= 128;
  }
  throw malformed('a length or integer runs past its field', path);
}

/**
 * A safe integer as written by the safeInt writer: the first byte holds the sign (bit 0), the low 6 bits of the
 * magnitude and a continuation bit; LEB128 groups of 7 bits follow (at most 8 bytes in all).
 */
function readSafeInt(b: Uint8Array, o: number, end: number, path: string): number {
  if (o >= end) throw malformed('integer past the end of its field', path);
  const c = b[o]!;
  if (c < 0x80) return (c & 1) === 0 ? c >> 1 : -(c >> 1);
  return readLongSafeInt(b, o, end, path);
}

/**
 * A safeInt of 2 to 8 bytes: the magnitude is gathered in two int32 halves (27 and 28 bits) with shifts, rather
 * than one double with a multiply per byte.
 */
function readLongSafeInt(b: Uint8Array, o: number, end: number, path: string): number {
  const c = b[o]!;
  let low = (c >> 1) & 0x3f;
  let high = 0;
  let i = 1;
  for (let shift = 6; i < 4; i++, shift += 7) {
    if (o + i >= end) throw malformed('integer past the end of its field', path);
    const d = b[o + i]!;
    low |= (d & 0x7f) << shift;
    if (d < 0x80) return (c & 1) === 0 ? low : -low;
  }
  for (let shift = 0; ; i++, shift += 7) {
    if (i === 8 || o + i >= end) throw malformed('integer past the end of its field', path);
    const d = b[o + i]!;
    high |= (d & 0x7f) << shift;
    if (d < 0x80) break;
  }
  const m = low + high * 0x8000000;
  if (m > Number.MAX_SAFE_INTEGER) throw malformed('integer out of range', path);
  return (c & 1) === 0 ? m : -m;
}

/** Strict UTF-8; `ignoreBOM` keeps a leading U+FEFF, which is part of the string (by default it would be dropped). */
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function malformed(what: string, path: string): CodecError {
  return new CodecError('MALFORMED', `Malformed record: ${what} (at ${path}). The bytes are damaged or not a tabstore record.`, {
    path,
  });
}

/** An enum index past the values the reading schema declares: a value added by a newer schema, or damage. */
function unknownEnumValue(index: number, count: number, path: string): CodecError {
  return new CodecError(
    'MALFORMED',
    `Malformed record: enum index ${index} is not one of the ${count} values of ${path}. A newer schema version may have ` +
      'added it (declare the new values in this schema too, at the end), or the bytes are damaged.',
    { path },
  );
}

/**
 * UTF-8 bytes [o, o+n) as a string: short ASCII (ids, senders, labels) from the string cache or asciiString, the
 * rest through decodeUtf8.
 */
function readString(b: Uint8Array, o: number, n: number, path: string): string {
  const sliced = asciiTextSlice(b, o, o + n);
  if (sliced !== undefined) return sliced;
  if (n <= CACHED_STRING_MAX) {
    if (n === 0) return '';
    return stringCache.get(b, o, o + n) ?? decodeUtf8(b, o, n, path);
  }
  if (n > 64) return decodeUtf8(b, o, n, path);
  const end = o + n;
  for (let i = o; i < end; i++) if (b[i]! >= 0x80) return decodeUtf8(b, o, n, path);
  return asciiString(b, o, end);
}

/**
 * Node's native UTF-8 slice (what Buffer#toString uses), when the host has Buffer: it decodes straight from the
 * bytes, with no subarray and no TextDecoder call, about a third faster for a 1 KB text. It replaces invalid bytes
 * with U+FFFD instead of failing, so a result holding U+FFFD is decoded again by the fatal TextDecoder, which tells
 * a real U+FFFD from damage.
 */
const nodeUtf8Slice = (globalThis as { Buffer?: { prototype?: { utf8Slice?: unknown } } }).Buffer?.prototype?.utf8Slice as
  | ((this: Uint8Array, start: number, end: number) => string)
  | undefined;

function decodeUtf8(b: Uint8Array, o: number, n: number, path: string): string {
  if (nodeUtf8Slice !== undefined) {
    const s = nodeUtf8Slice.call(b, o, o + n);
    if (s.indexOf('\uFFFD') < 0) return s;
  }
  try {
    return utf8.decode(b.subarray(o, o + n));
  } catch (cause) {
    throw new CodecError('MALFORMED', `Malformed record: invalid UTF-8 (at ${path}).`, { path, cause });
  }
}

// ---- encoding ----

const writer = new ByteWriter();

/**
 * The error for a value of the wrong type or range. Numbers are shown; strings only when `showString` (enum values,
 * which are labels): other strings are the user's data (message text, titles), which error logs should not carry.
 */
function invalid(path: string, expected: string, value: unknown, showString = false): CodecError {
  const got = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
  let shown = '';
  if (typeof value === 'number') shown = ` ${value}`;
  else if (typeof value === 'string' && showString) shown = ` ${JSON.stringify(value.slice(0, 40))}${value.length > 40 ? '...' : ''}`;
  return new CodecError('INVALID_INPUT', `${path} must be ${expected}, got ${got}${shown}.`, { path });
}

function checkString(s: unknown, path: string, nonEmpty: boolean): asserts s is string {
  if (typeof s !== 'string') throw invalid(path, 'a string', s);
  if (nonEmpty && s.length === 0) throw new CodecError('INVALID_INPUT', `${path} must not be empty.`, { path });
}

function loneSurrogate(path: string): CodecError {
  return new CodecError('INVALID_INPUT', `${path} contains a lone UTF-16 surrogate, which UTF-8 cannot represent.`, { path });
}

/**
 * Writes a string field's UTF-8. Only a string with non-ASCII characters (more bytes than UTF-16 units) can hold a
 * lone surrogate (which TextEncoder would silently replace): only those are scanned, after writing (a failed encode
 * drops the partial record).
 */
function writeStringField(w: ByteWriter, s: unknown, parentPath: string, name: string, nonEmpty: boolean): void {
  if (typeof s !== 'string' || (nonEmpty && s.length === 0)) checkString(s, `${parentPath}.${name}`, nonEmpty);
  const str = s as string;
  if (w.utf8(str) !== str.length && !isWellFormed(str)) throw loneSurrogate(`${parentPath}.${name}`);
}

/**
 * Writes a safeInt field: sign and low 6 bits of the magnitude first (-0 keeps its sign), then LEB128. The path is
 * given in two parts, joined only on error (no string or closure per field on the hot path).
 */
function writeSafeInt(w: ByteWriter, value: unknown, parentPath: string, name: string): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw invalid(`${parentPath}.${name}`, 'a safe integer (|n| < 2^53)', value);
  }
  w.ensure(8);
  const negative = value < 0 || Object.is(value, -0);
  const m = negative ? -value : value;
  const b = w.bytes;
  const p = w.pos;
  if (m < 64) {
    b[p] = (m << 1) | (negative ? 1 : 0);
    w.pos = p + 1;
  } else {
    b[p] = 0x80 | ((m % 64) << 1) | (negative ? 1 : 0);
    w.pos = putVarint(b, p + 1, Math.floor(m / 64));
  }
}

function writeStringList(w: ByteWriter, value: unknown, parentPath: string, name: string, nonEmpty: boolean): void {
  if (!Array.isArray(value)) throw invalid(`${parentPath}.${name}`, 'an array of strings', value);
  for (let i = 0; i < value.length; i++) {
    const item: unknown = value[i];
    if (typeof item !== 'string' || (nonEmpty && item.length === 0)) checkString(item, `${parentPath}.${name}[${i}]`, nonEmpty);
    if (!writeLengthPrefixed(w, item as string)) throw loneSurrogate(`${parentPath}.${name}[${i}]`);
  }
}

/** Bytes of the LEB128 form of `n`. */
function varintSize(n: number): number {
  let size = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

/** Writes `n` (a non-negative integer below 2^56) as LEB128 at `p` of `b`; returns the end. */
function putVarint(b: Uint8Array, p: number, n: number): number {
  while (n >= 128) {
    b[p++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  b[p++] = n;
  return p;
}

/** A string with its LEB128 byte length in front (a string-list item). */
function writeLengthPrefixed(w: ByteWriter, s: string): boolean {
  const max = 3 * s.length;
  const reserved = varintSize(max);
  w.ensure(reserved + max);
  const at = w.pos;
  w.pos += reserved;
  const n = w.utf8(s);
  if (n !== s.length && !isWellFormed(s)) return false;
  const size = varintSize(n);
  if (size < reserved) {
    w.bytes.copyWithin(at + size, at + reserved, at + reserved + n);
    w.pos -= reserved - size;
  }
  putVarint(w.bytes, at, n);
  return true;
}

/**
 * Writes one field's value (validating it first), from the current position: where it starts is the field's offset,
 * and it ends where the next field starts.
 */
type FieldWriter = (w: ByteWriter, value: unknown) => void;

/**
 * A writer specialised for one field, chosen once per schema (see {@link makeReader} for why). Undefined for the
 * kinds writeBody writes by direct calls (strings, safeInts, string lists), which never go through a closure.
 */
function makeWriter(field: FieldKind<unknown>, path: string): FieldWriter | undefined {
  switch (field.kind) {
    case 'string':
    case 'safeInt':
    case 'stringList':
      return undefined;
    case 'bool':
      return (w, value) => {
        if (typeof value !== 'boolean') throw invalid(path, 'a boolean', value);
        w.u8(value ? 1 : 0);
      };
    case 'enum': {
      const values = field.values!;
      return (w, value) => {
        const index = typeof value === 'string' ? values.indexOf(value) : -1;
        if (index < 0) throw invalid(path, `one of ${values.map((v) => JSON.stringify(v)).join(', ')}`, value, true);
        w.u8(index);
      };
    }
    case 'int32':
      return (w, value) => {
        if (typeof value !== 'number' || !Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) {
          throw invalid(path, 'a 32-bit signed integer', value);
        }
        w.i32(value);
      };
    case 'uint32':
      return (w, value) => {
        if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffffffff) {
          throw invalid(path, 'a 32-bit unsigned integer', value);
        }
        w.u32(value);
      };
    case 'float64':
      return (w, value) => {
        if (typeof value !== 'number') throw invalid(path, 'a number', value);
        w.f64(value);
      };
    case 'bytes':
      return (w, value) => {
        if (!(value instanceof Uint8Array)) throw invalid(path, 'a Uint8Array', value);
        w.raw(value);
      };
    case 'float32Vector':
      return (w, value) => {
        if (!(value instanceof Float32Array)) throw invalid(path, 'a Float32Array', value);
        w.align(4);
        w.raw(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
      };
    case 'metadata':
      return (w, value) => {
        writeMetadata(w, value as JsonValue, path);
      };
    case 'table': {
      const schema = field.schema!;
      return (w, value) => {
        if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(path, 'an object', value);
        w.align(4);
        writeBody(w, schema, value as Record<string, unknown>, path, w.offset, false);
      };
    }
  }
}

/** Thrown (and caught by encodeRecord) when a field starts past 64 KiB in a record with a u16 field table. */
const NEEDS_WIDE_TABLE = Symbol('wide');
/** Whether the current encode writes u32 field tables (the retry after NEEDS_WIDE_TABLE). */
let wideTables = false;

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
  const wide = wideTables;
  const slot = wide ? 4 : 2;
  w.ensure(HEADER + n * slot);
  const b = w.bytes;
  let p = w.pos;
  b[p] = RECORD_MARKER;
  b[p + 1] = FORMAT_VERSION;
  b[p + 2] = schema.typeId;
  b[p + 3] = schema.typeId >> 8;
  b[p + 4] = schema.version;
  b[p + 5] = schema.version >> 8;
  b[p + 6] = (checksum ? FLAG_CHECKSUM : 0) | (wide ? FLAG_WIDE : 0);
  b[p + 7] = n;
  p += HEADER;
  b.fill(0, p, p + n * slot);
  w.pos = p + n * slot;
  const table = base + HEADER;
  const writers = writersOf(schema, parentPath);
  const { kinds, optional, nonEmpty } = planOf(schema);
  for (let i = 0; i < n; i++) {
    const name = names[i]!;
    const value = obj[name];
    if (value === undefined) {
      if (optional[i] === 1) continue;
      const path = `${parentPath}.${name}`;
      throw new CodecError('INVALID_INPUT', `${path} is required.`, { path });
    }
    const at = w.offset - base;
    // The common kinds are written by direct calls (inlinable), the others through their writer closure.
    switch (kinds[i]) {
      case K_STRING:
        writeStringField(w, value, parentPath, name, nonEmpty[i] === 1);
        break;
      case K_SAFEINT:
        writeSafeInt(w, value, parentPath, name);
        break;
      case K_LIST:
        writeStringList(w, value, parentPath, name, nonEmpty[i] === 1);
        break;
      default:
        writers[i]!(w, value);
    }
    // Offsets are patched from the record start: writing may have moved the record to a larger chunk.
    if (wide) {
      w.patchU32(table + i * 4, at);
    } else {
      if (at > 0xffff) throw NEEDS_WIDE_TABLE;
      const q = w.start + table + i * 2;
      w.bytes[q] = at;
      w.bytes[q + 1] = at >> 8;
    }
  }
}

/** The field writers of `schema` when it is written at `parentPath` (its own name, or a nested table's path). */
function writersOf(schema: RecordSchema<FieldMap>, parentPath: string): readonly (FieldWriter | undefined)[] {
  const cache = cacheOf(schema);
  if (cache.writers !== undefined && cache.writersPath === parentPath) return cache.writers;
  const map = (cache.writerMap ??= new Map());
  let writers = map.get(parentPath);
  if (writers === undefined) {
    writers = schema.fieldNames.map((name) => makeWriter(schema.fields[name]!, `${parentPath}.${name}`));
    map.set(parentPath, writers);
  }
  cache.writers = writers;
  cache.writersPath = parentPath;
  return writers;
}

/** Whether an {@link encodeRecord} is running (it uses the shared writer). */
let encoding = false;

/**
 * Encodes `obj` as a record of `schema`. Fails with CodecError INVALID_INPUT naming the field path. The result is
 * a view into a shared chunk that later encodes never overwrite, which holds other records' bytes too: engines copy
 * what they store, but before posting, cloning or transferring the bytes (postMessage sends the whole buffer),
 * `slice()` them into an ArrayBuffer of their own.
 */
export function encodeRecord<F extends FieldMap>(schema: RecordSchema<F>, obj: ValuesOf<F>, options: EncodeOptions = {}): Uint8Array {
  if (typeof obj !== 'object' || obj === null) throw invalid(schema.name, 'an object', obj);
  // A getter of the value may itself encode a record: that inner call gets a writer of its own, since moving the
  // shared writer's record start would corrupt this record.
  const reentered = encoding;
  const outerWide = wideTables;
  const w = reentered ? new ByteWriter() : writer;
  encoding = true;
  wideTables = false;
  try {
    return encodeInto(w, schema as unknown as RecordSchema<FieldMap>, obj as Record<string, unknown>, options.checksum === true);
  } finally {
    encoding = reentered;
    wideTables = outerWide;
  }
}

function encodeInto(w: ByteWriter, schema: RecordSchema<FieldMap>, obj: Record<string, unknown>, checksum: boolean): Uint8Array {
  w.begin();
  try {
    try {
      writeBody(w, schema, obj, schema.name, 0, checksum);
    } catch (error) {
      if (error !== NEEDS_WIDE_TABLE) throw error;
      // A field starts past 64 KiB: write the record again with u32 field tables (rare, so no up-front sizing).
      w.pos = w.start;
      wideTables = true;
      try {
        writeBody(w, schema, obj, schema.name, 0, checksum);
      } finally {
        wideTables = false;
      }
    }
    if (w.ascii) w.bytes[w.start + 6]! |= FLAG_ASCII;
    if (checksum) w.u32(fnv1a(w.bytes, w.start, w.pos));
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
  /**
   * The encoder found every string of the record ASCII. decodeRecord then reads them in Node through one Latin-1
   * text, without UTF-8 validation (see ascii-text.ts); other readers ignore it.
   */
  asciiStrings: boolean;
}

function slotSize(flags: number): number {
  return (flags & FLAG_WIDE) !== 0 ? 4 : 2;
}

/** Reads and checks a record header at `start` (bounds of the header and the field table). */
export function readHeader(bytes: Uint8Array, start = 0, length = bytes?.length - start, path = 'record'): RecordHeader {
  if (!(bytes instanceof Uint8Array)) throw new CodecError('INVALID_INPUT', 'A record must be a Uint8Array.', { path });
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(length) || start < 0 || length < 0 || start + length > bytes.length) {
    throw new CodecError('INVALID_INPUT', `The record region (start ${start}, length ${length}) is outside the ${bytes.length}-byte buffer.`, { path });
  }
  if (length < HEADER || bytes[start] !== RECORD_MARKER) throw malformed('no record header', path);
  if (bytes[start + 1] !== FORMAT_VERSION) {
    const version = bytes[start + 1]!;
    throw new CodecError(
      'MALFORMED',
      isNewerFormat(version)
        ? `Record format version ${version} (at ${path}) is newer than this tabstore reads (${FORMAT_VERSION}): upgrade ` +
            '@tabstore/sdk to read it. If no newer tabstore wrote it, the bytes are damaged.'
        : `Malformed record: format version ${version} is not supported (at ${path}). The bytes are damaged or not a tabstore record.`,
      { path },
    );
  }
  const fieldCount = bytes[start + 7]!;
  const flags = bytes[start + 6]!;
  const hasChecksum = (flags & FLAG_CHECKSUM) !== 0;
  if (HEADER + fieldCount * slotSize(flags) + (hasChecksum ? 4 : 0) > length) throw malformed('field table past the end', path);
  return {
    typeId: readU16(bytes, start + 2),
    version: readU16(bytes, start + 4),
    fieldCount,
    hasChecksum,
    asciiStrings: (flags & FLAG_ASCII) !== 0,
  };
}

/** The record type id of a binary record, without decoding it. */
export function recordTypeOf(bytes: Uint8Array): number {
  return readHeader(bytes).typeId;
}

/**
 * Checks a record's checksum: true when it has one and it matches, false when it has none, CodecError
 * CHECKSUM_MISMATCH when it does not match. Where every record is written with a checksum, treat false as damage too:
 * a damaged flags byte can make a record read as one without a checksum.
 */
export function verifyRecord(bytes: Uint8Array): boolean {
  const header = readHeader(bytes);
  if (!header.hasChecksum) return false;
  const stored = readU32(bytes, bytes.length - 4);
  if (fnv1a(bytes, 0, bytes.length - 4) !== stored) {
    throw new CodecError('CHECKSUM_MISMATCH', 'The record checksum does not match its bytes: the record is damaged.');
  }
  return true;
}

/** What {@link detectFormat} tells apart. */
export type StoredFormat = 'binary' | 'legacy-json' | 'unknown';

/**
 * A format version a later tabstore may write: a few past this one. The marker byte 0xB7 also starts other data
 * (a msgpack 23-character string, a 55-byte metadata string), which carries a character here, not a small number.
 */
function isNewerFormat(version: number): boolean {
  return version > FORMAT_VERSION && version <= FORMAT_VERSION + 8;
}

/**
 * Tells a binary tabstore record (of this format version or a few newer ones: decoding then says to upgrade) from
 * legacy JSON text (first non-blank byte `{` or `[`) from anything else.
 */
export function detectFormat(bytes: Uint8Array): StoredFormat {
  if (!(bytes instanceof Uint8Array)) throw new CodecError('INVALID_INPUT', 'detectFormat takes the stored bytes as a Uint8Array.');
  if (bytes.length >= HEADER && bytes[0] === RECORD_MARKER && (bytes[1] === FORMAT_VERSION || isNewerFormat(bytes[1]!))) return 'binary';
  let i = 0;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) i = 3; // UTF-8 BOM
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === 0x0a || bytes[i] === 0x0d)) i++;
  return bytes[i] === 0x7b || bytes[i] === 0x5b ? 'legacy-json' : 'unknown';
}

/**
 * What a view's properties give: the record's values, except that a metadata field is its binary value
 * ({@link MetadataView}, read key by key in place) rather than a decoded object.
 */
export type ViewValuesOf<F extends FieldMap> = {
  [K in keyof ValuesOf<F>]: K extends MetadataFieldOf<F> ? MetadataView | Extract<ValuesOf<F>[K], undefined> : ValuesOf<F>[K];
};

/**
 * A lazy view of a record: each property reads only its own bytes. A top-level metadata field gives a
 * {@link MetadataView} over the record's bytes (`view.metadata.get('k')` walks the binary value and builds nothing
 * else; a stored null is a MetadataView too: `isNull()`); `toObject()` decodes it. A view is valid as long as its
 * bytes are, and is not plain data: clone or post `toObject()`.
 */
export type RecordView<F extends FieldMap> = Readonly<ViewValuesOf<F>> & {
  /** Every field as a plain object (vectors and bytes copied out of the record, metadata decoded). */
  toObject(): ValuesOf<F>;
  /** What `JSON.stringify(view)` serialises: {@link toObject}'s object. */
  toJSON(): ValuesOf<F>;
  /** The record's schema version as written. */
  readonly schemaVersion: number;
} & ('type' extends keyof F
    ? unknown // a field named `type` is the view's `type`
    : {
        /** The schema's name (for nodes: the node type). */
        readonly type: string;
      });

type MetadataFieldOf<F extends FieldMap> = { [K in keyof F]: F[K]['kind'] extends 'metadata' ? K : never }[keyof F] & string;

/**
 * An opened record (checked header and table bounds): what views hold and field readers read. One class, so every
 * read of it is monomorphic whatever the schema.
 */
const EMPTY = new Uint8Array(0);
// Symbol keys: a view is an Opened, and its schema's field names (`start`, `count`...) must not collide with these.
const BYTES = Symbol('bytes');
const START = Symbol('start');
const END = Symbol('end');
const COUNT = Symbol('count');
const SLOT = Symbol('slot');

class Opened {
  /** The buffer. */
  declare readonly [BYTES]: Uint8Array;
  /** Where the record starts in it. */
  declare readonly [START]: number;
  /** Where its field data ends (before any checksum). */
  declare readonly [END]: number;
  /** Its field count. */
  declare readonly [COUNT]: number;
  /** Its field table's slot size: 2 or 4. */
  declare readonly [SLOT]: number;
  constructor(b: Uint8Array, start: number, end: number, count: number, slot: number) {
    this[BYTES] = b;
    this[START] = start;
    this[END] = end;
    this[COUNT] = count;
    this[SLOT] = slot;
  }
}

/** Keeps the layout of Opened (what decodeRecord and fieldReader open) alive across full GCs (see viewClassOf). */
const openedKeepAlive = new Opened(EMPTY, 0, 0, 0, 2);
void openedKeepAlive;

/** Relative offset in slot `i` of the table of the record at `start`. */
function slotAt(b: Uint8Array, start: number, slot: number, i: number): number {
  const q = start + HEADER + i * slot;
  return slot === 2 ? b[q]! | (b[q + 1]! << 8) : readU32(b, q);
}

/** A view whose bytes were detached (their ArrayBuffer transferred) or shrunk: every field would read as absent. */
function detached(path: string): CodecError {
  return new CodecError(
    'INVALID_INPUT',
    `The bytes of this view are gone (reading ${path}): their ArrayBuffer was transferred or resized after the view was made. Keep the buffer, or take toObject() before transferring it.`,
    { path },
  );
}

/** The end of the region of field `i` found by the last {@link fieldStart}. */
let regionEnd = 0;

/**
 * Absolute start of field `i`'s data, or -1 when absent; sets {@link regionEnd} to where it ends (the next present
 * field's start, or the end of the data). Checks that the region lies inside the record's data.
 */
function fieldStart(r: Opened, i: number, path: string): number {
  const n = r[COUNT];
  const b = r[BYTES];
  if (b.length < r[END]) throw detached(path);
  if (i >= n) return -1;
  const start = r[START];
  const slot = r[SLOT];
  const rel = slotAt(b, start, slot, i);
  if (rel === 0) return -1;
  const o = start + rel;
  if (rel < HEADER + n * slot || o > r[END]) throw malformed('field offset out of bounds', path);
  regionEnd = fieldEnd(b, start, slot, n, i, o, r[END], path);
  return o;
}

/**
 * Where field `i` (starting at `o`) of the record at `start` ends: where the next present field starts, or at
 * `dataEnd`. MALFORMED when that next offset lies before `o` or past `dataEnd`.
 */
function fieldEnd(b: Uint8Array, start: number, slot: number, count: number, i: number, o: number, dataEnd: number, path: string): number {
  for (let j = i + 1; j < count; j++) {
    const next = slotAt(b, start, slot, j);
    if (next !== 0) {
      const end = start + next;
      if (end < o || end > dataEnd) throw malformed('field offsets out of order', path);
      return end;
    }
  }
  return dataEnd;
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

/**
 * Reads one present field from its region [o, end) of `b`; `copy` makes vectors and bytes independent of the
 * record's buffer.
 */
type FieldReader = (b: Uint8Array, o: number, end: number, copy: boolean) => unknown;

function tooShort(o: number, end: number, n: number, path: string): void {
  if (end - o < n) throw malformed('field data past its end', path);
}

/**
 * A reader specialised for one field, chosen once per schema: every read goes through a small function of its own
 * kind instead of one switch shared by every schema (which V8 would see as megamorphic).
 */
function makeReader(field: FieldKind<unknown>, path: string): FieldReader {
  switch (field.kind) {
    case 'bool':
      return (b, o, end) => {
        tooShort(o, end, 1, path);
        return b[o] !== 0;
      };
    case 'enum': {
      const values = field.values!;
      return (b, o, end) => {
        tooShort(o, end, 1, path);
        const value = values[b[o]!];
        if (value === undefined) throw unknownEnumValue(b[o]!, values.length, path);
        return value;
      };
    }
    case 'int32':
      return (b, o, end) => {
        tooShort(o, end, 4, path);
        return readI32(b, o);
      };
    case 'uint32':
      return (b, o, end) => {
        tooShort(o, end, 4, path);
        return readU32(b, o);
      };
    case 'float64':
      return (b, o, end) => {
        tooShort(o, end, 8, path);
        return readF64(b, o);
      };
    case 'safeInt':
      return (b, o, end) => readSafeInt(b, o, end, path);
    case 'string':
      return (b, o, end) => readString(b, o, end - o, path);
    case 'bytes':
      return (b, o, end, copy) => (copy ? copyByteRange(b, o, end) : b.subarray(o, end));
    case 'stringList':
      return (b, o, end) => readStringList(b, o, end, path);
    case 'float32Vector':
      return (b, o, end, copy) => {
        const at = alignedStart(o, end, path);
        const bytes = end - at;
        if (bytes % 4 !== 0) throw malformed('vector length is not a multiple of 4 bytes', path);
        const dims = bytes / 4;
        const abs = b.byteOffset + at;
        if (!copy && abs % 4 === 0 && LITTLE_ENDIAN) return new Float32Array(b.buffer, abs, dims);
        if (LITTLE_ENDIAN) return copyFloat32(b, at, dims);
        const out = new Float32Array(dims);
        for (let j = 0; j < dims; j++) out[j] = readF32(b, at + j * 4);
        return out;
      };
    case 'metadata':
      return (b, o, end) => decodeMetadata(b, o, end - o, path);
    case 'table': {
      const schema = field.schema!;
      // A nested record is read as a plain object, from a view too: its vectors and bytes are copies, since nothing
      // marks a plain object as memory on loan (viewedBytes, LmdbEngine.borrow).
      return (b, o, end) => {
        const at = alignedStart(o, end, path);
        try {
          return materialise(openRecord(b, at, end - at, schema, path, false), planOf(schema), true);
        } catch (error) {
          throw reNest(error, path, schema.name);
        }
      };
    }
  }
}

function readStringList(b: Uint8Array, o: number, end: number, path: string): string[] {
  const out: string[] = [];
  while (o < end) {
    const n = readVarint(b, o, end, path);
    o = varintEnd;
    if (n > end - o) throw malformed('string past the end of its list', path);
    out.push(readString(b, o, n, path));
    o += n;
  }
  return out;
}

/**
 * Where the data of a 4-aligned field (a vector, a nested record) begins in its region [o, end): after 0-3 bytes of
 * padding, at a multiple of 4 from the top-level record's start. Readers always open that record at index 0 of its
 * bytes, and nested records start 4-aligned, so `o` itself gives the padding.
 */
function alignedStart(o: number, end: number, path: string): number {
  const pad = (4 - (o & 3)) & 3;
  if (pad > end - o) throw malformed('field data past its end', path);
  return o + pad;
}

/** What a schema compiles to, once: its field names, readers and absent-value factories. */
interface SchemaPlan {
  readonly names: readonly string[];
  readonly readers: readonly FieldReader[];
  readonly defaults: readonly (() => unknown)[];
  /** Per field: the kind as a small number, which materialise switches on (see KIND_CODES). */
  readonly kinds: Uint8Array;
  /** Per field: 1 when optional (absent means undefined: nothing to store). */
  readonly optional: Uint8Array;
  /** Per field: its path, for errors. */
  readonly paths: readonly string[];
  /** Per field: 1 for a string that must not be empty (ids). */
  readonly nonEmpty: Uint8Array;
  /**
   * The fields an all-ASCII record's text spans (see openText): the last field that can hold strings (a string,
   * string list, metadata or nested table), or -1 when none can, and the first such field after the last vector or
   * bytes field before it, so that the text never copies a vector.
   */
  readonly firstText: number;
  readonly lastText: number;
}

/**
 * Kinds that materialise decodes inline (direct calls V8 can inline) instead of through their reader closure.
 * writeBody likewise writes K_STRING, K_SAFEINT and K_LIST by direct calls (makeWriter makes no closure for them).
 */
const K_OTHER = 0;
const K_STRING = 1;
const K_SAFEINT = 2;
const K_LIST = 3;
const K_FLOAT64 = 4;
const K_METADATA = 5;
const KIND_CODES: Partial<Record<FieldKind<unknown>['kind'], number>> = {
  string: K_STRING,
  safeInt: K_SAFEINT,
  stringList: K_LIST,
  float64: K_FLOAT64,
  metadata: K_METADATA,
};

/** What the codec compiles per schema, kept in the schema's private cache slot. */
interface SchemaCache {
  plan?: SchemaPlan;
  View?: ViewClass;
  /** The view class whose toObject() leads with `type: schema.name` (node views; see viewTaggedRecord). */
  TaggedView?: ViewClass;
  taggedKeepAlive?: Viewed;
  /** One live view, so the view objects' layout (V8 maps) survives full GCs; see viewClassOf. */
  keepAlive?: Viewed;
  writerMap?: Map<string, readonly (FieldWriter | undefined)[]>;
  writers?: readonly (FieldWriter | undefined)[];
  writersPath?: string;
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
    const paths = names.map((name) => `${schema.name}.${name}`);
    const readers = names.map((name, i) => makeReader(schema.fields[name]!, paths[i]!));
    const kinds = Uint8Array.from(names, (name) => KIND_CODES[schema.fields[name]!.kind] ?? K_OTHER);
    const optional = Uint8Array.from(names, (name) => (schema.fields[name]!.optional ? 1 : 0));
    const nonEmpty = Uint8Array.from(names, (name) => (schema.fields[name]!.nonEmpty === true ? 1 : 0));
    const kindOf = (i: number): string => schema.fields[names[i]!]!.kind;
    const holdsText = (i: number): boolean => ['string', 'stringList', 'metadata', 'table'].includes(kindOf(i));
    let lastText = names.length - 1;
    while (lastText >= 0 && !holdsText(lastText)) lastText--;
    let firstText = lastText;
    for (let i = lastText - 1; i >= 0 && kindOf(i) !== 'float32Vector' && kindOf(i) !== 'bytes'; i--) {
      if (holdsText(i)) firstText = i;
    }
    cache.plan = { names, readers, defaults, kinds, optional, paths, nonEmpty, firstText, lastText };
  }
  return cache.plan;
}

/**
 * A MALFORMED error from inside the nested record of table field `path` (schema `name`), its path made the outer one:
 * `Inner.s` becomes `Outer.b.s`, as encode errors name it.
 */
function reNest(error: unknown, path: string, name: string): unknown {
  if (!(error instanceof CodecError) || error.code !== 'MALFORMED' || !error.path.startsWith(`${name}.`)) return error;
  const nested = path + error.path.slice(name.length);
  return new CodecError('MALFORMED', `${error.message} (in ${nested})`, { path: nested, cause: error });
}

// What the last checkRecord found: the end of the record's data, its field count and its table's slot size.
let checkedEnd = 0;
let checkedCount = 0;
let checkedSlot = 2;

/** Checks the header and table bounds of the record at [start, start + length) (sets checkedEnd/Count/Slot). */
function checkRecord(
  bytes: Uint8Array,
  start: number,
  length: number,
  schema: RecordSchema<FieldMap>,
  path: string,
  top: boolean,
): void {
  if (!(bytes instanceof Uint8Array)) throw new CodecError('INVALID_INPUT', 'A record must be a Uint8Array.', { path });
  if (length < HEADER || bytes[start] !== RECORD_MARKER || bytes[start + 1] !== FORMAT_VERSION) {
    readHeader(bytes, start, length, path); // throws the precise error
  }
  const typeId = bytes[start + 2]! | (bytes[start + 3]! << 8);
  if (typeId !== schema.typeId) {
    throw new CodecError('UNKNOWN_TYPE', `Record type ${typeId} is not ${schema.name} (${schema.typeId}).`, { path });
  }
  const count = bytes[start + 7]!;
  const flags = bytes[start + 6]!;
  const slot = (flags & FLAG_WIDE) !== 0 ? 4 : 2;
  const checksum = top && (flags & FLAG_CHECKSUM) !== 0 ? 4 : 0;
  if (HEADER + count * slot + checksum > length) throw malformed('field table past the end', path);
  checkedEnd = start + length - checksum;
  checkedCount = count;
  checkedSlot = slot;
}

/** The length of a record given to a reader, or 0 when it is not a Uint8Array (checkRecord then refuses it). */
function recordLength(bytes: Uint8Array): number {
  return bytes instanceof Uint8Array ? bytes.length : 0;
}

/** Checks the header and table bounds of the record at [start, start + length) and opens it. */
function openRecord(
  bytes: Uint8Array,
  start: number,
  length: number,
  schema: RecordSchema<FieldMap>,
  path: string,
  top: boolean,
): Opened {
  checkRecord(bytes, start, length, schema, path, top);
  return new Opened(bytes, start, checkedEnd, checkedCount, checkedSlot);
}

/**
 * {@link materialise} for a whole top-level record. On hosts that can, the strings of an all-ASCII record are
 * sliced from one text over its string-bearing fields (see ascii-text.ts).
 */
function materialiseRecord(r: Opened, plan: SchemaPlan, tag?: string): Record<string, unknown> {
  const text = HAS_ASCII_TEXT && plan.lastText >= 0 && (r[BYTES][r[START] + 6]! & FLAG_ASCII) !== 0 && openText(r, plan);
  try {
    return materialise(r, plan, true, tag);
  } finally {
    if (text) closeAsciiText();
  }
}

/**
 * Opens the text over the fields plan.firstText..lastText of `r` that are present: from the first one's offset to
 * where the last one ends. False when none is present, when they span more than MAX_ASCII_TEXT bytes, or when the
 * offsets are out of place (materialise then reports them without a text).
 */
function openText(r: Opened, plan: SchemaPlan): boolean {
  const b = r[BYTES];
  const start = r[START];
  const slot = r[SLOT];
  const count = r[COUNT];
  const last = Math.min(plan.lastText, count - 1);
  let from = 0;
  for (let i = plan.firstText; i <= last && from === 0; i++) from = slotAt(b, start, slot, i);
  if (from === 0) return false;
  let to = r[END] - start;
  for (let i = plan.lastText + 1; i < count; i++) {
    const rel = slotAt(b, start, slot, i);
    if (rel !== 0) {
      to = rel;
      break;
    }
  }
  if (from < HEADER + count * slot || to < from || start + to > r[END] || to - from > MAX_ASCII_TEXT) return false;
  openAsciiText(b, start + from, start + to);
  return true;
}

/**
 * Every field of the opened record as a plain object (after a `type: tag` property when a tag is given); errors name
 * the field (`Schema.field`), as a view's do.
 */
function materialise(r: Opened, plan: SchemaPlan, copy: boolean, tag?: string): Record<string, unknown> {
  const b = r[BYTES];
  const start = r[START];
  const count = r[COUNT];
  const slot = r[SLOT];
  const min = HEADER + count * slot;
  const out: Record<string, unknown> = tag === undefined ? {} : { type: tag };
  const { names, readers, defaults, kinds, optional, paths } = plan;
  const n = names.length;
  // Field i spans from its offset to the next present field's offset: `next` is the first slot after i to look at.
  let next = 0;
  let nextStart = -1;
  for (let i = 0; i < n; i++) {
    let o = -1;
    if (i < count) {
      const rel = slotAt(b, start, slot, i);
      if (rel !== 0) {
        o = start + rel;
        if (rel < min || o > r[END]) throw malformed('field offset out of bounds', paths[i]!);
      }
    }
    if (o < 0) {
      if (optional[i] === 0) storeAt(out, i, names[i]!, defaults[i]!());
      continue;
    }
    if (next <= i) {
      next = i + 1;
      nextStart = r[END];
      for (; next < count; next++) {
        const rel = slotAt(b, start, slot, next);
        if (rel !== 0) {
          nextStart = start + rel;
          break;
        }
      }
    }
    const end = nextStart;
    if (end < o || end > r[END]) throw malformed('field offsets out of order', paths[i]!);
    let value: unknown;
    switch (kinds[i]) {
      case K_STRING:
        value = readString(b, o, end - o, paths[i]!);
        break;
      case K_SAFEINT:
        value = readSafeInt(b, o, end, paths[i]!);
        break;
      case K_LIST:
        value = readStringList(b, o, end, paths[i]!);
        break;
      case K_FLOAT64:
        if (end - o < 8) throw malformed('field data past its end', paths[i]!);
        value = readF64(b, o);
        break;
      case K_METADATA:
        value = decodeMetadata(b, o, end - o, paths[i]!);
        break;
      default:
        value = readers[i]!(b, o, end, copy);
    }
    storeAt(out, i, names[i]!, value);
  }
  return out;
}

/**
 * `obj[key] = value` for field `i`: one store site per position, so that each site sees one shape and one key while
 * one schema is decoded (a monomorphic transition) instead of one megamorphic site for every field of every schema.
 * metadata.ts has its own copy on purpose: sharing one would mix record and metadata object shapes at each site.
 */
function storeAt(obj: Record<string, unknown>, i: number, key: string, value: unknown): void {
  switch (i) {
    case 0:
      obj[key] = value;
      return;
    case 1:
      obj[key] = value;
      return;
    case 2:
      obj[key] = value;
      return;
    case 3:
      obj[key] = value;
      return;
    case 4:
      obj[key] = value;
      return;
    case 5:
      obj[key] = value;
      return;
    case 6:
      obj[key] = value;
      return;
    case 7:
      obj[key] = value;
      return;
    case 8:
      obj[key] = value;
      return;
    case 9:
      obj[key] = value;
      return;
    case 10:
      obj[key] = value;
      return;
    case 11:
      obj[key] = value;
      return;
    default:
      obj[key] = value;
  }
}

/** The record a view reads: the view holds it in one slot, so constructing a view is one store. */
const RECORD = Symbol('record');
type Viewed = { readonly [RECORD]: Opened };
type ViewClass = new (r: Opened) => Viewed;

/** A view getter of field `i`. */
function makeGetter(field: FieldKind<unknown>, i: number, read: FieldReader, absent: () => unknown, path: string): (this: Viewed) => unknown {
  // One factory per common kind, so that each getter calls its decoder directly (V8 can inline it). Scalars too
  // end where the next present field starts, as decodeRecord reads them: damaged offsets fail in every reader.
  switch (field.kind) {
    case 'safeInt':
      return function (this: Viewed) {
        const r = this[RECORD];
        const o = fieldStart(r, i, path);
        return o < 0 ? absent() : readSafeInt(r[BYTES], o, regionEnd, path);
      };
    case 'float64':
      return function (this: Viewed) {
        const r = this[RECORD];
        const o = fieldStart(r, i, path);
        if (o < 0) return absent();
        if (o + 8 > regionEnd) throw malformed('field data past its end', path);
        return readF64(r[BYTES], o);
      };
    case 'string':
      return function (this: Viewed) {
        const r = this[RECORD];
        const o = fieldStart(r, i, path);
        return o < 0 ? absent() : readString(r[BYTES], o, regionEnd - o, path);
      };
    case 'metadata': {
      // The binary value itself, checked only where it is read. An absent required field (a record older than the
      // field) reads as the binary null, in bytes of its own so no caller can change what another one reads.
      const optional = field.optional;
      return function (this: Viewed) {
        const r = this[RECORD];
        const o = fieldStart(r, i, path);
        if (o < 0) return optional ? undefined : metadataView(Uint8Array.of(0), 0, 1, path);
        return metadataView(r[BYTES], o, regionEnd - o, path);
      };
    }
    default:
      return function (this: Viewed) {
        const r = this[RECORD];
        const o = fieldStart(r, i, path);
        return o < 0 ? absent() : read(r[BYTES], o, regionEnd, false);
      };
  }
}

/**
 * The view class of a schema, made once: a class whose prototype has one getter per field. A tagged class's
 * toObject() leads with `type: schema.name`, as decodeTaggedRecord does.
 */
function viewClassOf(schema: RecordSchema<FieldMap>, tagged = false): ViewClass {
  const cache = cacheOf(schema);
  const made = tagged ? cache.TaggedView : cache.View;
  if (made !== undefined) return made;
  const plan = planOf(schema);
  const tag = tagged ? schema.name : undefined;
  // A view is a small object of its schema's class (the getters live on its prototype) over one Opened record.
  // Not a subclass of Opened: in V8 (11.x) constructing a derived class cost ~15 ns more per view.
  const View: ViewClass = class {
    declare readonly [RECORD]: Opened;
    constructor(r: Opened) {
      this[RECORD] = r;
    }
  };
  const proto = View.prototype as unknown as Viewed;
  Object.defineProperties(proto, {
    toObject: {
      value(this: Viewed) {
        const r = this[RECORD];
        if (r[BYTES].length < r[END]) throw detached(schema.name);
        return materialiseRecord(r, plan, tag);
      },
    },
    // JSON.stringify(view) gives the record, not "{}" (its fields are getters on the prototype).
    toJSON: {
      value(this: { toObject(): unknown }) {
        return this.toObject();
      },
    },
    schemaVersion: {
      get(this: Viewed) {
        return readU16(this[RECORD][BYTES], this[RECORD][START] + 4);
      },
    },
  });
  // Views carry their record type's name as `type` (the tag of the node union), unless a field takes the name.
  if (!schema.fieldNames.includes('type')) Object.defineProperty(proto, 'type', { value: schema.name, enumerable: true });
  plan.names.forEach((name, i) => {
    Object.defineProperty(proto, name, {
      enumerable: true,
      get: makeGetter(schema.fields[name]!, i, plan.readers[i]!, plan.defaults[i]!, `${schema.name}.${name}`),
    });
  });
  if (tagged) cache.TaggedView = View;
  else cache.View = View;
  // V8 holds the layouts reached by adding properties only weakly: when no view of this schema is alive at a full GC
  // they are dropped, and the optimized code of every getter that depends on them is thrown away (measured: views
  // 2.5x slower right after each GC). One tiny view kept here keeps them.
  if (tagged) cache.taggedKeepAlive = new View(openedKeepAlive);
  else cache.keepAlive = new View(openedKeepAlive);
  return View;
}

/**
 * A lazy view of `bytes` as a record of `schema`: checks the header and field table bounds, then each property
 * reads only its own bytes (a float32 vector is a Float32Array over the same buffer when aligned). Throws CodecError
 * MALFORMED for damaged bytes and UNKNOWN_TYPE for a record of another type.
 */
export function viewRecord<F extends FieldMap>(schema: RecordSchema<F>, bytes: Uint8Array): RecordView<F> {
  return openView(schema, bytes, false);
}

/**
 * @internal {@link viewRecord} whose `toObject()` leads with `type: schema.name` (nodeView's tagged union, so the
 * object is a whole node again). Not part of the public codec API.
 */
export function viewTaggedRecord<F extends FieldMap>(schema: RecordSchema<F>, bytes: Uint8Array): RecordView<F> {
  return openView(schema, bytes, true);
}

function openView<F extends FieldMap>(schema: RecordSchema<F>, bytes: Uint8Array, tagged: boolean): RecordView<F> {
  const erased = schema as unknown as RecordSchema<FieldMap>;
  const cache = cacheOf(erased);
  const View = (tagged ? cache.TaggedView : cache.View) ?? viewClassOf(erased, tagged);
  checkRecord(bytes, 0, recordLength(bytes), erased, schema.name, true);
  return new View(new Opened(bytes, 0, checkedEnd, checkedCount, checkedSlot)) as unknown as RecordView<F>;
}

/**
 * The bytes a lazy value reads: a typed array's own, a record view's or a {@link MetadataView}'s; undefined for
 * anything else. For code that lends memory out for a moment (`LmdbEngine.borrow`): a result whose bytes are that
 * memory must not outlive the loan.
 */
export function viewedBytes(value: unknown): ArrayBufferView | undefined {
  if (ArrayBuffer.isView(value)) return value;
  if (value instanceof MetadataView) return value.bytes;
  if (typeof value === 'object' && value !== null && RECORD in value) return (value as Viewed)[RECORD][BYTES];
  return undefined;
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
  const path = `${schema.name}.${name}`;
  const absent = planOf(erased).defaults[index]!;
  const read = planOf(erased).readers[index]!;
  const width = SCALAR_WIDTH[field.kind];
  if (width !== undefined) {
    // Scalars: check the header and this field's slot (scalarAt), then decode with a module-level function called
    // directly: a decoder closure made per fieldReader() would be a new call target each time, and optimized code
    // that inlined one is thrown away once it is collected.
    const typeId = erased.typeId;
    switch (field.kind) {
      case 'safeInt':
        return (bytes) => {
          const o = scalarAt(bytes, typeId, index, width, path);
          return o > 0 ? (readSafeInt(bytes, o, scalarEnd, path) as FieldValue<F[K]>) : o === 0 ? (absent() as FieldValue<F[K]>) : (fieldReaderSlow(erased, index, bytes, path) as FieldValue<F[K]>);
        };
      case 'float64':
        return (bytes) => {
          const o = scalarAt(bytes, typeId, index, width, path);
          return o > 0 ? (readF64(bytes, o) as FieldValue<F[K]>) : o === 0 ? (absent() as FieldValue<F[K]>) : (fieldReaderSlow(erased, index, bytes, path) as FieldValue<F[K]>);
        };
      default: {
        const decode = scalarDecoder(field, path);
        return (bytes) => {
          const o = scalarAt(bytes, typeId, index, width, path);
          return o > 0 ? (decode(bytes, o, scalarEnd) as FieldValue<F[K]>) : o === 0 ? (absent() as FieldValue<F[K]>) : (fieldReaderSlow(erased, index, bytes, path) as FieldValue<F[K]>);
        };
      }
    }
  }
  return (bytes) => {
    const r = openRecord(bytes, 0, recordLength(bytes), erased, schema.name, true);
    const o = fieldStart(r, index, path);
    return (o < 0 ? absent() : read(bytes, o, regionEnd, false)) as FieldValue<F[K]>;
  };
}

/** The end of the data of the record last checked by scalarAt. */
let scalarEnd = 0;

/**
 * Where scalar field `index` (at least `width` bytes) of a record of type `typeId` starts: > 0, or 0 when absent,
 * or -1 when `bytes` is not a Uint8Array or the header is not that of such a record (the caller takes the slow path,
 * which throws the precise error). Sets scalarEnd.
 */
function scalarAt(bytes: Uint8Array, typeId: number, index: number, width: number, path: string): number {
  if (!(bytes instanceof Uint8Array)) return -1;
  const length = bytes.length;
  if (length < HEADER || bytes[0] !== RECORD_MARKER || bytes[1] !== FORMAT_VERSION || (bytes[2]! | (bytes[3]! << 8)) !== typeId) return -1;
  const count = bytes[7]!;
  const flags = bytes[6]!;
  const end = length - ((flags & FLAG_CHECKSUM) !== 0 ? 4 : 0);
  const wide = (flags & FLAG_WIDE) !== 0;
  const tableEnd = HEADER + count * (wide ? 4 : 2);
  if (tableEnd > end) throw malformed('field table past the end', path);
  if (index >= count) return 0;
  const slot = wide ? 4 : 2;
  const rel = slotAt(bytes, 0, slot, index);
  if (rel === 0) return 0;
  if (rel < tableEnd || rel > end) throw malformed('field offset out of bounds', path);
  // The field ends where the next present one starts, as decodeRecord reads it: damaged offsets fail here too.
  const limit = fieldEnd(bytes, 0, slot, count, index, rel, end, path);
  if (rel + width > limit) throw malformed('field data past its end', path);
  scalarEnd = limit;
  return rel;
}

/** Bytes the fixed-size scalar kinds take at least (a safeInt varint: 1 to 8). */
const SCALAR_WIDTH: Partial<Record<FieldKind<unknown>['kind'], number>> = {
  bool: 1,
  enum: 1,
  int32: 4,
  uint32: 4,
  float64: 8,
  safeInt: 1,
};

/** The decoder of a bool, enum, int32 or uint32 field for fieldReader (which reads safeInts and float64s itself). */
function scalarDecoder(field: FieldKind<unknown>, path: string): (b: Uint8Array, o: number, end: number) => unknown {
  switch (field.kind) {
    case 'bool':
      return (b, o) => b[o] !== 0;
    case 'enum': {
      const values = field.values!;
      return (b, o) => {
        const value = values[b[o]!];
        if (value === undefined) throw unknownEnumValue(b[o]!, values.length, path);
        return value;
      };
    }
    case 'int32':
      return readI32;
    default:
      return readU32;
  }
}

/** The general path of a fast field reader: full checks and the precise error. */
function fieldReaderSlow(schema: RecordSchema<FieldMap>, index: number, bytes: Uint8Array, path: string): unknown {
  const r = openRecord(bytes, 0, recordLength(bytes), schema, schema.name, true);
  const o = fieldStart(r, index, path);
  return o < 0 ? planOf(schema).defaults[index]!() : planOf(schema).readers[index]!(bytes, o, regionEnd, false);
}

/** Decodes every field (a copy: nothing refers to `bytes` afterwards). */
export function decodeRecord<F extends FieldMap>(schema: RecordSchema<F>, bytes: Uint8Array): ValuesOf<F> {
  const erased = schema as unknown as RecordSchema<FieldMap>;
  const r = openRecord(bytes, 0, recordLength(bytes), erased, schema.name, true);
  return materialiseRecord(r, planOf(erased)) as ValuesOf<F>;
}

/**
 * @internal {@link decodeRecord} with a leading `type: tag` property (decodeNode's tagged union), built in the same
 * object instead of spread into a second one. Not part of the public codec API.
 */
export function decodeTaggedRecord<F extends FieldMap>(schema: RecordSchema<F>, bytes: Uint8Array, tag: string): ValuesOf<F> & { type: string } {
  const erased = schema as unknown as RecordSchema<FieldMap>;
  const r = openRecord(bytes, 0, recordLength(bytes), erased, schema.name, true);
  return materialiseRecord(r, planOf(erased), tag) as ValuesOf<F> & { type: string };
}
