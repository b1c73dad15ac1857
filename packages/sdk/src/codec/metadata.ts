/**
 * Binary metadata: any JSON value in a compact binary form that a record carries and that is read lazily, in place.
 *
 * ## Layout (integers little-endian)
 *
 * Every value starts with a one-byte tag:
 *
 * | tag            | value                                                                                    |
 * |----------------|------------------------------------------------------------------------------------------|
 * | `0x00`         | null                                                                                     |
 * | `0x01`/`0x02`  | false / true                                                                             |
 * | `0x03`         | int8: 1 byte follows                                                                     |
 * | `0x04`         | int16: 2 bytes                                                                           |
 * | `0x05`         | int32: 4 bytes                                                                           |
 * | `0x06`         | float64: 8 bytes                                                                         |
 * | `0x07/08/09`   | string: u8 / u16 / u32 byte length, then the bytes                                       |
 * | `0x0a/0b/0c`   | decimal m / 10^k: u8 k (1..9), then m as int8 / int16 / int32                            |
 * | `0x10/11/12`   | array, header integers W = 1 / 2 / 4 bytes wide                                          |
 * | `0x14/15/16`   | object, header integers W = 1 / 2 / 4 bytes wide                                         |
 * | `0x18`-`0x1f`  | integer -8..-1 (tag - 0x20)                                                              |
 * | `0x20`-`0x2f`  | small array: 0..15 elements (the low 4 bits)                                             |
 * | `0x30`-`0x3f`  | small object: 0..15 entries (the low 4 bits)                                             |
 * | `0x40`-`0x7f`  | integer 0..63, in the tag                                                                |
 * | `0x80`-`0xff`  | string of 0..127 bytes (length in the low 7 bits), then the bytes                        |
 *
 * Other tags are malformed. Numbers use the smallest integer form when they are an int32 (and not -0), else a
 * decimal when some m / 10^k (|m| < 2^31, k <= 9) computes to exactly the same double, else float64, so every double
 * round-trips bit for bit (-0 included). Strings are WTF-8: UTF-8, except that a lone surrogate
 * (which a JS string may hold, and which JSON.stringify writes as `\udXXX`) is written as its 3-byte code point, so
 * every JS string round-trips exactly. A surrogate pair is always one 4-byte sequence.
 *
 * A container is `tag | size (W) | count (W) | body | table (count × W)`, where `size` is the byte length of the
 * whole value (tag included), so every value delimits itself, and table entries are offsets from the tag:
 * - array: the body holds the elements in order; table entry i is the offset of element i.
 * - object: the body holds the entries in insertion order (so `toJSON` gives back the original key order), each
 *   being the key (a string, tag included) followed by its value; the table lists the entries' offsets sorted by key.
 * W is the narrowest of 1, 2, 4 that holds `size`. A container of at most 15 entries whose size fits a byte is
 * small: `tag (with the count) | size (u8) | body | table`, where small arrays have no table (`at(i)` skips i
 * elements) and small objects have a 1-byte table only from 3 entries on (with 1 or 2, `get` compares each key).
 *
 * Key order: bytewise order of the keys' WTF-8 bytes, which is Unicode code point order, NOT the UTF-16 code unit
 * order of `<` on JS strings (they differ for astral characters). `get(key)` encodes the probe once and binary
 * searches the table comparing raw bytes, decoding no key.
 *
 * The encoding is deterministic: equal values with the same key insertion order give the same bytes.
 *
 * ## Validation
 * Writing accepts exactly JSON data: null, booleans, finite numbers, strings (lone surrogates included), arrays and
 * plain objects (prototype `Object.prototype`, null, or another realm's `Object.prototype`), nested at most
 * {@link MAX_METADATA_DEPTH} arrays/objects deep, without cycles. Anything else (undefined, NaN, ±Infinity,
 * functions, symbols, bigints, Dates, Maps, typed arrays, class instances, holes in arrays) throws
 * `CodecError('INVALID_INPUT')` whose `path` names the offending value. Only own enumerable string keys are written;
 * symbol keys are ignored, as JSON.stringify ignores them.
 *
 * Reading never touches bytes outside the view's region, never recurses more than {@link MAX_METADATA_DEPTH}
 * levels, does work bounded by the number of bytes, and throws only `CodecError('MALFORMED')` on bytes that are not
 * a valid encoding (typed accessors throw `INVALID_INPUT` when the value has another type). Each accessor checks
 * the bounds of what it touches; nothing is validated ahead.
 */
import { asciiTextSlice } from './ascii-text.js';
import { ByteWriter } from './byte-writer.js';
import { asciiString, readF64, readU16, readU32 } from './bytes.js';
import { CACHED_STRING_MAX, keyCache, stringCache } from './string-cache.js';
import { CodecError } from './errors.js';
import { isWellFormed } from './unicode.js';

/** A JSON value, as `JSON.parse` builds it. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** What a {@link MetadataView} holds. */
export type MetadataType = 'null' | 'boolean' | 'number' | 'string' | 'array' | 'object';

/** The deepest nesting of arrays and objects that metadata may have (checked when writing and when reading). */
export const MAX_METADATA_DEPTH = 256;

const T_NULL = 0x00;
const T_FALSE = 0x01;
const T_TRUE = 0x02;
const T_INT8 = 0x03;
const T_INT16 = 0x04;
const T_INT32 = 0x05;
const T_F64 = 0x06;
const T_STR8 = 0x07;
const T_STR16 = 0x08;
const T_STR32 = 0x09;
const T_DEC8 = 0x0a;
const T_DEC16 = 0x0b;
const T_DEC32 = 0x0c;
const T_ARRAY = 0x10;
const T_OBJECT = 0x14;
const T_NEGINT = 0x18;
const T_SMALL_ARRAY = 0x20;
const T_SMALL_OBJECT = 0x30;
const T_FIXINT = 0x40;
const T_FIXSTR = 0x80;
/** Most entries a small container (count in its tag, 1-byte size) has. */
const SMALL_COUNT = 15;
/** Small objects with at most this many entries have no table: `get` compares their keys in turn. */
const UNTABLED_ENTRIES = 2;
/** Exact powers of ten that decimals divide by (k = 1..9). */
const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];
const MAX_SCALE = 9;

// ---------------------------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------------------------

/** An invalid value met while writing; the containers around it add their key or index as it unwinds. */
class InvalidValue {
  readonly segments: (string | number)[] = [];
  constructor(readonly reason: string) {}
}

/**
 * Offsets of the children of the containers being written, relative to their container: arrays push one slot per
 * element, objects {@link ENTRY} per entry. A nested container pushes above its parent's slots.
 */
let stack = new Uint32Array(1024);
let sp = 0;
/** Object entries take 3 stack slots (entry offset, key bytes offset, key byte length) and one key in `keyStack`. */
const ENTRY = 3;
const keyStack: string[] = [];
let kp = 0;
/** The containers being written, by depth, for cycle detection. */
const ancestors: unknown[] = [];
let writing = false;
/** Whether `Object.prototype` has enumerable properties (someone added some), so `for...in` needs an own check. */
let prototypePolluted = false;

/**
 * Appends the binary encoding of `value` at `writer.pos`. The value must be JSON data (see the module comment);
 * otherwise throws `CodecError('INVALID_INPUT')` whose `path` (after the prefix `path`, e.g. `metadata`) names the
 * offending value, e.g. `metadata.tags[2]`, and leaves `writer.pos` where it was.
 */
export function writeMetadata(writer: ByteWriter, value: JsonValue, path = ''): void {
  if (writing) throw nestedWrite(path);
  writing = true;
  prototypePolluted = hasEnumerableProperty(Object.prototype);
  const startRel = writer.pos - writer.start;
  try {
    writeValue(writer, value, 0);
  } catch (error) {
    writer.pos = writer.start + startRel;
    ancestors.fill(undefined);
    if (error instanceof InvalidValue) {
      const at = formatPath(path, error.segments);
      throw new CodecError('INVALID_INPUT', `Invalid metadata${at === '' ? '' : ` at ${at}`}: ${error.reason}`, {
        path: at,
      });
    }
    throw error;
  } finally {
    writing = false;
    sp = 0;
    kp = 0;
  }
}

/** A write of metadata started while one is running (from a getter in the value): it would move the shared state. */
function nestedWrite(path: string): CodecError {
  return new CodecError('INVALID_INPUT', 'writeMetadata was called while writing metadata (from a getter in the value?); pass plain data', { path });
}

function hasEnumerableProperty(o: object): boolean {
  for (const key in o) if (key !== undefined) return true;
  return false;
}

let standaloneWriter: ByteWriter | undefined;

/**
 * Encodes `value` on its own (see {@link writeMetadata} for what is accepted). The result is a view into a shared
 * scratch chunk that later writes never touch (see {@link ByteWriter.finish}); `slice()` it to own a compact copy.
 */
export function encodeMetadata(value: JsonValue): Uint8Array {
  // A nested call (from a getter of the value being written) is refused before it moves the shared writer: the outer
  // encode's bytes would come out damaged.
  if (writing) throw nestedWrite('');
  const writer = (standaloneWriter ??= new ByteWriter());
  writer.begin();
  writeMetadata(writer, value);
  return writer.finish();
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

function formatPath(prefix: string, segments: (string | number)[]): string {
  let out = prefix;
  for (let i = segments.length - 1; i >= 0; i--) {
    const s = segments[i]!;
    if (typeof s === 'number') out += `[${s}]`;
    else if (IDENTIFIER.test(s)) out += out === '' ? s : `.${s}`;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

function writeValue(w: ByteWriter, v: unknown, depth: number): void {
  switch (typeof v) {
    case 'string':
      writeString(w, v);
      return;
    case 'number':
      writeNumber(w, v);
      return;
    case 'boolean':
      w.u8(v ? T_TRUE : T_FALSE);
      return;
    case 'object': {
      if (v === null) {
        w.u8(T_NULL);
        return;
      }
      if (Array.isArray(v)) {
        writeArray(w, v, depth);
        return;
      }
      const proto: unknown = Object.getPrototypeOf(v);
      if (proto === Object.prototype) writeObject(w, v as Record<string, unknown>, depth, prototypePolluted);
      else if (proto === null) writeObject(w, v as Record<string, unknown>, depth, false);
      else if (isForeignObjectPrototype(proto, v)) writeObject(w, v as Record<string, unknown>, depth, true);
      else throw new InvalidValue(describeInstance(v));
      return;
    }
    case 'undefined':
      throw new InvalidValue('undefined is not a JSON value; leave the property out or store null');
    case 'bigint':
      throw new InvalidValue(
        'a bigint is not a JSON value; store it as a string (String(n)), or as a number if it is within ±2^53',
      );
    case 'function':
      throw new InvalidValue('a function is not a JSON value; store plain data only');
    default:
      throw new InvalidValue(`a ${typeof v} is not a JSON value; store plain data only`);
  }
}

/**
 * @internal True for what metadata writes as an object: an object (not an array) whose prototype is
 * `Object.prototype`, null, or another realm's `Object.prototype`. The legacy JSON writer uses the same rule.
 */
export function isPlainJsonObject(v: object): boolean {
  if (Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null || isForeignObjectPrototype(proto, v);
}

/** True for a plain object from another realm (iframe, vm context): its prototype is that realm's Object.prototype. */
function isForeignObjectPrototype(proto: unknown, v: object): boolean {
  return (
    typeof proto === 'object' &&
    proto !== null &&
    Object.getPrototypeOf(proto) === null &&
    Object.prototype.toString.call(v) === '[object Object]' &&
    typeof (proto as { constructor?: unknown }).constructor === 'function' &&
    (proto as { constructor: { name?: unknown } }).constructor.name === 'Object'
  );
}

function describeInstance(v: object): string {
  const tag = Object.prototype.toString.call(v).slice(8, -1);
  const ctor = (v as { constructor?: { name?: unknown } }).constructor;
  const name = typeof ctor?.name === 'string' && ctor.name !== '' ? ctor.name : tag;
  let hint = 'a plain object with the fields you need';
  if (tag === 'Date') hint = 'date.toISOString() or date.getTime()';
  else if (tag === 'Map') hint = 'Object.fromEntries(map)';
  else if (tag === 'Set') hint = '[...set]';
  else if (ArrayBuffer.isView(v) || tag === 'ArrayBuffer') hint = 'Array.from(...) or a base64 string';
  else if (tag === 'String' || tag === 'Number' || tag === 'Boolean') hint = 'its primitive value (x.valueOf())';
  else if (v instanceof MetadataView) hint = 'view.toJSON(), the value it holds';
  const article = /^[AEIOU]/.test(name) ? 'an' : 'a';
  return `${article} ${name} is not a plain object or array; convert it to JSON data first (${hint})`;
}

function writeNumber(w: ByteWriter, v: number): void {
  const i = v | 0;
  if (i === v && (i !== 0 || 1 / v > 0)) {
    w.ensure(5);
    const b = w.bytes;
    const p = w.pos;
    if (i >= 0 && i < 64) {
      b[p] = T_FIXINT | i;
      w.pos = p + 1;
    } else if (i < 0 && i >= -8) {
      b[p] = T_NEGINT + 8 + i;
      w.pos = p + 1;
    } else if (i >= -0x80 && i < 0x80) {
      b[p] = T_INT8;
      b[p + 1] = i;
      w.pos = p + 2;
    } else if (i >= -0x8000 && i < 0x8000) {
      b[p] = T_INT16;
      b[p + 1] = i;
      b[p + 2] = i >> 8;
      w.pos = p + 3;
    } else {
      b[p] = T_INT32;
      writeU32(b, p + 1, i);
      w.pos = p + 5;
    }
  } else if (v - v === 0) {
    w.ensure(9);
    if (writeDecimal(w, v)) return;
    w.bytes[w.pos] = T_F64;
    w.view.setFloat64(w.pos + 1, v, true);
    w.pos += 9;
  } else {
    throw new InvalidValue(`${v} is not a JSON number; store a finite number, null or a string instead`);
  }
}

/**
 * Writes `v` (finite, not an int32) as m / 10^k with a small integer m when that division gives back exactly `v`
 * (0.7, 19.99, -2.5: the numbers people type), in 3 to 6 bytes instead of 9. Room for 9 bytes must exist.
 */
function writeDecimal(w: ByteWriter, v: number): boolean {
  if (v > 2e8 || v < -2e8 || v === 0) return false; // v === 0: -0, which a decimal would turn into 0
  for (let k = 1; k <= MAX_SCALE; k++) {
    const scaled = v * POW10[k]!;
    if (scaled > 0x7fffffff || scaled < -0x80000000) return false;
    const m = Math.round(scaled);
    if (m / POW10[k]! !== v) continue;
    const b = w.bytes;
    const p = w.pos;
    b[p + 1] = k;
    if (m >= -0x80 && m < 0x80) {
      b[p] = T_DEC8;
      b[p + 2] = m;
      w.pos = p + 3;
    } else if (m >= -0x8000 && m < 0x8000) {
      b[p] = T_DEC16;
      b[p + 2] = m;
      b[p + 3] = m >> 8;
      w.pos = p + 4;
    } else {
      b[p] = T_DEC32;
      writeU32(b, p + 2, m);
      w.pos = p + 6;
    }
    return true;
  }
  return false;
}

/** Writes `s` (tag, length, WTF-8 bytes) and returns its byte length. */
function writeString(w: ByteWriter, s: string): number {
  const n = s.length;
  if (n < 0x80) {
    // Optimistic: ASCII, with a one-byte header.
    w.ensure(5 + 3 * n);
    const b = w.bytes;
    const h = w.pos;
    let p = h + 1;
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      b[p++] = c;
    }
    if (i === n) {
      b[h] = T_FIXSTR | n;
      w.pos = p;
      return n;
    }
    w.ascii = false; // longer strings are written by w.utf8, which tells by itself
    if (3 * n < 0x80) {
      p = wtf8Encode(s, i, b, p);
      const len = p - h - 1;
      b[h] = T_FIXSTR | len;
      w.pos = p;
      return len;
    }
  }
  // Reserve the header for the longest possible encoding, then move the bytes down if it was too long.
  const max = 3 * n;
  const reserved = stringHeaderSize(max);
  w.ensure(reserved + max);
  const b = w.bytes;
  const h = w.pos;
  const data = h + reserved;
  let len: number;
  if (n <= 64) {
    len = wtf8Encode(s, 0, b, data) - data;
  } else {
    // The writer's native UTF-8 path (no subarray per string; room for 3 bytes per unit is already there). It writes
    // lone surrogates as U+FFFD: write those (rare) strings ourselves, exactly.
    w.pos = data;
    len = w.utf8(s);
    if (len !== n && !isWellFormed(s)) len = wtf8Encode(s, 0, b, data) - data;
  }
  const hs = stringHeaderSize(len);
  if (hs < reserved) moveDown(b, h + hs, data, len);
  if (hs === 1) {
    b[h] = T_FIXSTR | len;
  } else if (hs === 2) {
    b[h] = T_STR8;
    b[h + 1] = len;
  } else if (hs === 3) {
    b[h] = T_STR16;
    b[h + 1] = len;
    b[h + 2] = len >> 8;
  } else {
    b[h] = T_STR32;
    writeU32(b, h + 1, len);
  }
  w.pos = h + hs + len;
  return len;
}

function stringHeaderSize(len: number): number {
  return len < 0x80 ? 1 : len <= 0xff ? 2 : len <= 0xffff ? 3 : 5;
}

/** Writes `s` from index `i` as WTF-8 at `b[p]` (room for 3 bytes per unit must exist); returns the end. */
function wtf8Encode(s: string, i: number, b: Uint8Array, p: number): number {
  const n = s.length;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      b[p++] = c;
    } else if (c < 0x800) {
      b[p++] = 0xc0 | (c >> 6);
      b[p++] = 0x80 | (c & 0x3f);
    } else {
      if (c >= 0xd800 && c < 0xdc00 && i + 1 < n) {
        const d = s.charCodeAt(i + 1);
        if (d >= 0xdc00 && d < 0xe000) {
          const cp = ((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000;
          b[p++] = 0xf0 | (cp >> 18);
          b[p++] = 0x80 | ((cp >> 12) & 0x3f);
          b[p++] = 0x80 | ((cp >> 6) & 0x3f);
          b[p++] = 0x80 | (cp & 0x3f);
          i++;
          continue;
        }
      }
      b[p++] = 0xe0 | (c >> 12);
      b[p++] = 0x80 | ((c >> 6) & 0x3f);
      b[p++] = 0x80 | (c & 0x3f);
    }
  }
  return p;
}

function writeU32(b: Uint8Array, p: number, v: number): void {
  b[p] = v;
  b[p + 1] = v >> 8;
  b[p + 2] = v >> 16;
  b[p + 3] = v >>> 24;
}

function writeW(b: Uint8Array, p: number, v: number, width: number): void {
  b[p] = v;
  if (width === 1) return;
  b[p + 1] = v >> 8;
  if (width === 2) return;
  b[p + 2] = v >> 16;
  b[p + 3] = v >>> 24;
}

/** Copies `len` bytes from `src` down to `dst < src` (small copies in JS: cheaper than a native call). */
function moveDown(b: Uint8Array, dst: number, src: number, len: number): void {
  if (len > 48) {
    b.copyWithin(dst, src, src + len);
    return;
  }
  for (let i = 0; i < len; i++) b[dst + i] = b[src + i]!;
}

/** Makes room for `n` more stack slots from `sp`. */
function growStack(n: number): void {
  if (sp + n > stack.length) {
    const grown = new Uint32Array(Math.max(stack.length * 2, sp + n));
    grown.set(stack.subarray(0, sp));
    stack = grown;
  }
}

function enterContainer(v: object, depth: number): void {
  if (depth >= MAX_METADATA_DEPTH) {
    throw new InvalidValue(`arrays and objects are nested more than ${MAX_METADATA_DEPTH} deep; flatten the value`);
  }
  for (let d = 0; d < depth; d++) {
    if (ancestors[d] === v) {
      throw new InvalidValue('circular reference: the value contains itself and JSON must be a tree; remove the cycle');
    }
  }
  ancestors[depth] = v;
}

/** The header width to reserve for a container before its size is known (a guess; a wrong one costs a move). */
function guessWidth(n: number): number {
  return n <= 64 ? 1 : n <= 0x3000 ? 2 : 4;
}

function writeArray(w: ByteWriter, arr: readonly unknown[], depth: number): void {
  enterContainer(arr, depth);
  const n = arr.length;
  const start = w.pos - w.start;
  const reserved = n <= SMALL_COUNT ? 2 : 1 + 2 * guessWidth(n);
  w.ensure(reserved);
  w.pos += reserved;
  growStack(n);
  const base = sp;
  sp += n;
  let i = 0;
  try {
    for (; i < n; i++) {
      stack[base + i] = w.pos - w.start - start;
      writeValue(w, arr[i], depth + 1);
    }
  } catch (error) {
    if (error instanceof InvalidValue) error.segments.push(i);
    throw error;
  }
  finishContainer(w, false, start, reserved, n, base, 1, undefined);
  sp = base;
  ancestors[depth] = undefined;
}

function writeObject(w: ByteWriter, obj: Record<string, unknown>, depth: number, ownCheck: boolean): void {
  enterContainer(obj, depth);
  const start = w.pos - w.start;
  // The key count is not known yet: reserve a small object's 2-byte header (a bigger object moves its body once).
  const reserved = 2;
  w.ensure(reserved);
  w.pos += reserved;
  const base = sp;
  const keyBase = kp;
  let key = '';
  let ascii = true;
  try {
    for (key in obj) {
      if (ownCheck && !Object.prototype.hasOwnProperty.call(obj, key)) continue;
      growStack(ENTRY);
      const e = sp;
      sp += ENTRY;
      keyStack[kp++] = key;
      const entry = w.pos - w.start - start;
      const len = writeString(w, key);
      if (len !== key.length) ascii = false;
      stack[e] = entry;
      stack[e + 1] = w.pos - w.start - start - len;
      stack[e + 2] = len;
      writeValue(w, obj[key], depth + 1);
    }
  } catch (error) {
    if (error instanceof InvalidValue) error.segments.push(key);
    throw error;
  }
  const n = kp - keyBase;
  const sorted = n > 1 ? sortedOrder(w, start, base, keyBase, n, ascii) : undefined;
  finishContainer(w, true, start, reserved, n, base, ENTRY, sorted);
  sp = base;
  kp = keyBase;
  ancestors[depth] = undefined;
}

// --- key order ---------------------------------------------------------------------------------------------------

/** A key list seen before and the order of its keys, so objects of the same shape skip sorting. */
interface Shape {
  readonly keys: string[];
  readonly order: Uint32Array;
}
const shapes: (Shape | undefined)[] = new Array<Shape | undefined>(256).fill(undefined);
let order = new Uint32Array(64);

/**
 * The entries' indexes (0..n-1, in insertion order) sorted by key bytes, from the shape cache when this key list was
 * seen recently. Keys are at `keyStack[keyBase]`, entries at `stack[base]`.
 */
function sortedOrder(
  w: ByteWriter,
  start: number,
  base: number,
  keyBase: number,
  n: number,
  ascii: boolean,
): Uint32Array {
  const first = keyStack[keyBase]!;
  const last = keyStack[keyBase + n - 1]!;
  const slot = (n * 0x9e5 + first.length * 0x3b + last.length * 0x1f3 + first.charCodeAt(0) + last.charCodeAt(0)) & 255;
  const shape = shapes[slot];
  if (shape !== undefined && shape.keys.length === n) {
    const keys = shape.keys;
    let i = 0;
    while (i < n && keys[i] === keyStack[keyBase + i]) i++;
    if (i === n) return shape.order;
  }
  if (order.length < n) order = new Uint32Array(Math.max(n, order.length * 2));
  const o = order;
  for (let i = 0; i < n; i++) o[i] = i;
  if (ascii) {
    // For ASCII keys, JS string order is byte order.
    sortIndexes(o, n, (x, y) => keyStack[keyBase + x]! > keyStack[keyBase + y]!);
  } else {
    const b = w.bytes;
    const abs = w.start + start;
    const st = stack;
    sortIndexes(o, n, (x, y) => {
      const ex = base + ENTRY * x;
      const ey = base + ENTRY * y;
      return compareBytes(b, abs + st[ex + 1]!, st[ex + 2]!, abs + st[ey + 1]!, st[ey + 2]!) > 0;
    });
  }
  if (n <= 64) shapes[slot] = { keys: keyStack.slice(keyBase, keyBase + n), order: o.slice(0, n) };
  return o;
}

/** Sorts `o[0, n)` (distinct indexes): insertion sort when small, else the built-in sort. */
function sortIndexes(o: Uint32Array, n: number, greater: (x: number, y: number) => boolean): void {
  if (n > 16) {
    o.subarray(0, n).sort((x, y) => (greater(x, y) ? 1 : -1));
    return;
  }
  for (let i = 1; i < n; i++) {
    const v = o[i]!;
    let j = i - 1;
    while (j >= 0 && greater(o[j]!, v)) {
      o[j + 1] = o[j]!;
      j--;
    }
    o[j + 1] = v;
  }
}

/** Bytewise comparison of two byte ranges of `b`. */
function compareBytes(b: Uint8Array, a: number, aLen: number, c: number, cLen: number): number {
  const n = aLen < cLen ? aLen : cLen;
  for (let i = 0; i < n; i++) {
    const d = b[a + i]! - b[c + i]!;
    if (d !== 0) return d;
  }
  return aLen - cLen;
}

/**
 * Completes the container that starts at `start` (relative to the record start), whose body was written after a
 * `reserved`-byte header: picks the smallest form (small: count in the tag and a 1-byte size; else the narrowest
 * width), moves the body if its header size differs, writes the header and appends the table of the `n` child
 * offsets at `stack[base]` (one every `stride` slots, relative to the reserved layout), in `sorted` order when
 * given. Small arrays and small objects of up to UNTABLED_ENTRIES entries have no table.
 */
function finishContainer(
  w: ByteWriter,
  object: boolean,
  start: number,
  reserved: number,
  n: number,
  base: number,
  stride: number,
  sorted: Uint32Array | undefined,
): void {
  const body = w.pos - w.start - start - reserved;
  let header: number;
  let width: number;
  let tag: number;
  const smallTable = object && n > UNTABLED_ENTRIES ? n : 0;
  if (n <= SMALL_COUNT && 2 + body + smallTable <= 0xff) {
    header = 2;
    width = smallTable === 0 ? 0 : 1;
    tag = (object ? T_SMALL_OBJECT : T_SMALL_ARRAY) | n;
  } else {
    width = 1;
    if (3 + body + n > 0xff) {
      width = 2;
      if (5 + body + 2 * n > 0xffff) {
        width = 4;
        if (9 + body + 4 * n > 0xffffffff) throw new InvalidValue('an array or object is larger than 4 GiB; split it');
      }
    }
    header = 1 + 2 * width;
    tag = (object ? T_OBJECT : T_ARRAY) | (width >> 1);
  }
  const shift = header - reserved;
  const entries = width === 0 ? 0 : n;
  w.ensure(shift + entries * width);
  const b = w.bytes;
  const abs = w.start + start;
  if (shift < 0) moveDown(b, abs + header, abs + reserved, body);
  else if (shift > 0) b.copyWithin(abs + header, abs + reserved, abs + reserved + body);
  const tableAt = w.pos + shift;
  const size = tableAt + entries * width - abs;
  b[abs] = tag;
  if (header === 2) {
    b[abs + 1] = size;
  } else {
    writeW(b, abs + 1, size, width);
    writeW(b, abs + 1 + width, n, width);
  }
  if (entries > 0) {
    const st = stack;
    if (sorted === undefined) {
      for (let i = 0, p = tableAt; i < n; i++, p += width) writeW(b, p, st[base + i * stride]! + shift, width);
    } else {
      for (let i = 0, p = tableAt; i < n; i++, p += width) writeW(b, p, st[base + sorted[i]! * stride]! + shift, width);
    }
  }
  w.pos = abs + size;
}

// ---------------------------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------------------------

function malformed(message: string): CodecError {
  return new CodecError('MALFORMED', `Malformed metadata: ${message}`);
}

function truncated(p: number): CodecError {
  return malformed(`the value at byte ${p} runs past the end of its region`);
}

function readW(b: Uint8Array, p: number, width: number): number {
  return width === 1 ? b[p]! : width === 2 ? readU16(b, p) : readU32(b, p);
}

function readFiniteF64(b: Uint8Array, p: number): number {
  const v = readF64(b, p);
  if (v - v !== 0) throw malformed(`non-finite number at byte ${p - 1}`);
  return v;
}

function isContainer(t: number): boolean {
  return (t >= T_SMALL_ARRAY && t < T_FIXINT) || (t >= T_ARRAY && t <= (T_OBJECT | 2) && (t & 3) !== 3);
}

function isObjectTag(t: number): boolean {
  return (t >= T_SMALL_OBJECT && t < T_FIXINT) || (t >= T_OBJECT && t <= (T_OBJECT | 2));
}

function isArrayTag(t: number): boolean {
  return (t >= T_SMALL_ARRAY && t < T_SMALL_OBJECT) || (t >= T_ARRAY && t <= (T_ARRAY | 2));
}

function isNumberTag(t: number): boolean {
  return (t >= T_FIXINT && t < T_FIXSTR) || (t >= T_INT8 && t <= T_F64) || (t >= T_DEC8 && t <= T_DEC32) || (t >= T_NEGINT && t < T_SMALL_ARRAY);
}

// The layout of the container last given to layoutOf: where its body and table start, its count and table width
// (0: no table).
let cBody = 0;
let cTable = 0;
let cCount = 0;
let cWidth = 0;

/** Reads the layout of the container at `p` that ends at `end` (its header already checked by valueEnd). */
function layoutOf(b: Uint8Array, p: number, end: number): void {
  const t = b[p]!;
  if (t >= T_SMALL_ARRAY) {
    const count = t & 15;
    cCount = count;
    cBody = p + 2;
    if (t >= T_SMALL_OBJECT && count > UNTABLED_ENTRIES) {
      cWidth = 1;
      cTable = end - count;
    } else {
      cWidth = 0;
      cTable = end;
    }
    return;
  }
  const width = 1 << (t & 3);
  const count = readW(b, p + 1 + width, width);
  cCount = count;
  cWidth = width;
  cBody = p + 1 + 2 * width;
  cTable = end - count * width;
}

/**
 * The end of the value at `p`, which must lie within `limit`, from its header alone. A container's header is
 * checked to be consistent (its table inside it, room for at least one byte per element and two per object entry),
 * so loops over its entries stay bounded by its size.
 */
function valueEnd(b: Uint8Array, p: number, limit: number): number {
  if (p >= limit) throw malformed(`value expected at byte ${p}, past the end of its region`);
  const t = b[p]!;
  let end: number;
  if (t >= T_FIXSTR) end = p + 1 + (t & 0x7f);
  else if (t >= T_FIXINT) end = p + 1;
  else if (t >= T_SMALL_ARRAY) {
    if (p + 2 > limit) throw truncated(p);
    const size = b[p + 1]!;
    const count = t & 15;
    const min = t < T_SMALL_OBJECT ? 2 + count : 2 + 2 * count + (count > UNTABLED_ENTRIES ? count : 0);
    if (size < min) throw malformed(`container at byte ${p} declares ${count} entries in ${size} bytes`);
    end = p + size;
  } else if (t <= T_TRUE || t >= T_NEGINT) end = p + 1;
  else if (t === T_INT8) end = p + 2;
  else if (t === T_INT16) end = p + 3;
  else if (t === T_INT32) end = p + 5;
  else if (t === T_F64) end = p + 9;
  else if (t === T_DEC8) end = p + 3;
  else if (t === T_DEC16) end = p + 4;
  else if (t === T_DEC32) end = p + 6;
  else if (t === T_STR8) {
    if (p + 2 > limit) throw truncated(p);
    end = p + 2 + b[p + 1]!;
  } else if (t === T_STR16) {
    if (p + 3 > limit) throw truncated(p);
    end = p + 3 + readU16(b, p + 1);
  } else if (t === T_STR32) {
    if (p + 5 > limit) throw truncated(p);
    end = p + 5 + readU32(b, p + 1);
  } else if (isContainer(t)) {
    const width = 1 << (t & 3);
    if (p + 1 + 2 * width > limit) throw truncated(p);
    const size = readW(b, p + 1, width);
    const count = readW(b, p + 1 + width, width);
    if (size < 1 + 2 * width + count * (width + (t < T_OBJECT ? 1 : 2))) {
      throw malformed(`container at byte ${p} declares ${count} entries in ${size} bytes`);
    }
    end = p + size;
  } else {
    throw malformed(`unknown tag 0x${t.toString(16).padStart(2, '0')} at byte ${p}`);
  }
  if (end > limit) throw truncated(p);
  return end;
}

// Where the last key read by readKey starts, and its byte length.
let keyStart = 0;
let keyLength = 0;

/** Reads the header of the key string at `p` (within `limit`) into keyStart/keyLength. */
function readKey(b: Uint8Array, p: number, limit: number): void {
  if (p >= limit) throw truncated(p);
  const t = b[p]!;
  if (t >= T_FIXSTR) {
    keyStart = p + 1;
    keyLength = t & 0x7f;
  } else if (t === T_STR8 && p + 2 <= limit) {
    keyStart = p + 2;
    keyLength = b[p + 1]!;
  } else if (t === T_STR16 && p + 3 <= limit) {
    keyStart = p + 3;
    keyLength = readU16(b, p + 1);
  } else if (t === T_STR32 && p + 5 <= limit) {
    keyStart = p + 5;
    keyLength = readU32(b, p + 1);
  } else {
    throw malformed(`object key expected at byte ${p}`);
  }
  if (keyStart + keyLength > limit) throw truncated(p);
}

// --- strings -------------------------------------------------------------------------------------------------------

const fatalDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Decodes the WTF-8 bytes `b[p, end)`. */
function decodeString(b: Uint8Array, p: number, end: number): string {
  const sliced = asciiTextSlice(b, p, end);
  if (sliced !== undefined) return sliced;
  if (end - p <= CACHED_STRING_MAX) {
    if (end === p) return '';
    return stringCache.get(b, p, end) ?? decodeWtf8(b, p, end);
  }
  if (end - p <= 64) {
    // Short strings: JS beats the fixed cost of TextDecoder.
    for (let i = p; i < end; i++) if (b[i]! >= 0x80) return decodeWtf8(b, p, end);
    return asciiString(b, p, end);
  }
  try {
    return fatalDecoder.decode(b.subarray(p, end));
  } catch {
    // Lone surrogates (WTF-8) are not UTF-8: decode those ourselves, or report the bytes as malformed.
    return decodeWtf8(b, p, end);
  }
}

const fromCharCode = String.fromCharCode;

/** A decoded object key: short ASCII keys come from a cache of internalized strings (faster property stores). */
function decodeKey(b: Uint8Array, p: number, end: number): string {
  const len = end - p;
  if (len === 0) return '';
  if (len > CACHED_STRING_MAX) return decodeString(b, p, end);
  return keyCache.get(b, p, end) ?? decodeWtf8(b, p, end);
}

function badUtf8(p: number): CodecError {
  return malformed(`invalid UTF-8 at byte ${p}`);
}

let units = new Uint16Array(256);

/** Decodes and validates WTF-8 (UTF-8 plus lone surrogates as 3-byte sequences; a pair must be one 4-byte sequence). */
function decodeWtf8(b: Uint8Array, p: number, end: number): string {
  if (units.length < end - p) units = new Uint16Array(Math.max(end - p, units.length * 2));
  const u = units;
  let k = 0;
  // True after a 3-byte high surrogate: a low one right after it would be a pair in the wrong (CESU-8) form.
  let afterHigh = false;
  while (p < end) {
    const c = b[p]!;
    if (c < 0x80) {
      u[k++] = c;
      p++;
      afterHigh = false;
    } else if (c < 0xc2) {
      throw badUtf8(p);
    } else if (c < 0xe0) {
      if (p + 1 >= end) throw badUtf8(p);
      const c1 = b[p + 1]!;
      if ((c1 & 0xc0) !== 0x80) throw badUtf8(p);
      u[k++] = ((c & 0x1f) << 6) | (c1 & 0x3f);
      p += 2;
      afterHigh = false;
    } else if (c < 0xf0) {
      if (p + 2 >= end) throw badUtf8(p);
      const c1 = b[p + 1]!;
      const c2 = b[p + 2]!;
      if ((c1 & 0xc0) !== 0x80 || (c2 & 0xc0) !== 0x80 || (c === 0xe0 && c1 < 0xa0)) throw badUtf8(p);
      const cp = ((c & 0x0f) << 12) | ((c1 & 0x3f) << 6) | (c2 & 0x3f);
      if (afterHigh && cp >= 0xdc00 && cp < 0xe000) throw badUtf8(p);
      u[k++] = cp;
      p += 3;
      afterHigh = cp >= 0xd800 && cp < 0xdc00;
    } else if (c < 0xf5) {
      if (p + 3 >= end) throw badUtf8(p);
      const c1 = b[p + 1]!;
      const c2 = b[p + 2]!;
      const c3 = b[p + 3]!;
      if (
        (c1 & 0xc0) !== 0x80 ||
        (c2 & 0xc0) !== 0x80 ||
        (c3 & 0xc0) !== 0x80 ||
        (c === 0xf0 && c1 < 0x90) ||
        (c === 0xf4 && c1 >= 0x90)
      ) {
        throw badUtf8(p);
      }
      const cp = (((c & 0x07) << 18) | ((c1 & 0x3f) << 12) | ((c2 & 0x3f) << 6) | (c3 & 0x3f)) - 0x10000;
      u[k++] = 0xd800 + (cp >> 10);
      u[k++] = 0xdc00 + (cp & 0x3ff);
      p += 4;
      afterHigh = false;
    } else {
      throw badUtf8(p);
    }
  }
  let s = '';
  for (let i = 0; i < k; i += 4096) {
    // eslint-disable-next-line prefer-spread -- apply takes the typed array as is; a spread would iterate it.
    s += fromCharCode.apply(null, u.subarray(i, Math.min(k, i + 4096)) as unknown as number[]);
  }
  return s;
}

/** The probe of the last get(), as WTF-8. */
let probe = new Uint8Array(256);

function encodeProbe(key: string): number {
  if (probe.length < 3 * key.length) probe = new Uint8Array(3 * key.length);
  const b = probe;
  const n = key.length;
  for (let i = 0; i < n; i++) {
    const c = key.charCodeAt(i);
    if (c >= 0x80) return wtf8Encode(key, i, b, i);
    b[i] = c;
  }
  return n;
}

function compareProbe(b: Uint8Array, p: number, len: number, probeLength: number): number {
  const q = probe;
  const n = len < probeLength ? len : probeLength;
  for (let i = 0; i < n; i++) {
    const d = b[p + i]! - q[i]!;
    if (d !== 0) return d;
  }
  return len - probeLength;
}

// --- materialising -------------------------------------------------------------------------------------------------

/** Read cursor of {@link readValue}. */
let cursor = 0;

/** Decodes the value at `cursor` (which must end within `limit`) and moves `cursor` past it. */
function readValue(b: Uint8Array, limit: number, depth: number): JsonValue {
  const p = cursor;
  if (p >= limit) throw malformed(`value expected at byte ${p}, past the end of its region`);
  const t = b[p]!;
  if (t >= T_FIXSTR) {
    const end = p + 1 + (t & 0x7f);
    if (end > limit) throw truncated(p);
    cursor = end;
    return decodeString(b, p + 1, end);
  }
  if (t >= T_FIXINT) {
    cursor = p + 1;
    return t - T_FIXINT;
  }
  if (t <= T_TRUE) {
    cursor = p + 1;
    return t === T_NULL ? null : t === T_TRUE;
  }
  const end = valueEnd(b, p, limit);
  cursor = end;
  switch (t) {
    case T_INT8:
      return (b[p + 1]! << 24) >> 24;
    case T_INT16:
      return (readU16(b, p + 1) << 16) >> 16;
    case T_INT32:
      return readU32(b, p + 1) | 0;
    case T_F64:
      return readFiniteF64(b, p + 1);
    case T_DEC8:
    case T_DEC16:
    case T_DEC32:
      return readDecimal(b, p, t);
    case T_STR8:
      return decodeString(b, p + 2, end);
    case T_STR16:
      return decodeString(b, p + 3, end);
    case T_STR32:
      return decodeString(b, p + 5, end);
  }
  if (t >= T_NEGINT && t < T_SMALL_ARRAY) return t - T_SMALL_ARRAY;
  // A container (valueEnd accepts no other tag).
  const value = readContainer(b, p, t, end, depth);
  cursor = end;
  return value;
}

function readDecimal(b: Uint8Array, p: number, t: number): number {
  const k = b[p + 1]!;
  if (k < 1 || k > MAX_SCALE) throw malformed(`decimal scale ${k} at byte ${p}`);
  const m = t === T_DEC8 ? (b[p + 2]! << 24) >> 24 : t === T_DEC16 ? (readU16(b, p + 2) << 16) >> 16 : readU32(b, p + 2) | 0;
  return m / POW10[k]!;
}

/**
 * Decodes the container at `p` (tag `t`, ending at `end`). Short strings and small integers, the common elements,
 * are decoded in the loops; anything else recurses through readValue.
 */
function readContainer(b: Uint8Array, p: number, t: number, end: number, depth: number): JsonValue {
  if (depth >= MAX_METADATA_DEPTH) throw malformed(`nested more than ${MAX_METADATA_DEPTH} deep at byte ${p}`);
  layoutOf(b, p, end);
  const count = cCount;
  const table = cTable;
  const width = cWidth;
  let q = cBody;
  let result: JsonValue;
  if (isArrayTag(t)) {
    const arr: JsonValue[] = new Array<JsonValue>(count);
    for (let i = 0; i < count; i++) {
      if (width !== 0 && readW(b, table + i * width, width) !== q - p) {
        throw malformed(`array at byte ${p}: the offset of element ${i} is not where the element is`);
      }
      if (q >= table) throw malformed(`value expected at byte ${q}, past the end of its region`);
      const e = b[q]!;
      if (e >= T_FIXSTR) {
        const se = q + 1 + (e & 0x7f);
        if (se > table) throw truncated(q);
        arr[i] = decodeString(b, q + 1, se);
        q = se;
      } else if (e >= T_FIXINT) {
        arr[i] = e - T_FIXINT;
        q++;
      } else {
        cursor = q;
        arr[i] = readValue(b, table, depth + 1);
        q = cursor;
      }
    }
    result = arr;
  } else {
    const obj: { [key: string]: JsonValue } = {};
    for (let i = 0; i < count; i++) {
      if (q >= table) throw truncated(q);
      const kt = b[q]!;
      let ks: number;
      let ke: number;
      if (kt >= T_FIXSTR) {
        ks = q + 1;
        ke = ks + (kt & 0x7f);
        if (ke > table) throw truncated(q);
      } else {
        readKey(b, q, table);
        ks = keyStart;
        ke = keyStart + keyLength;
      }
      const key = decodeKey(b, ks, ke);
      q = ke;
      if (q >= table) throw malformed(`value expected at byte ${q}, past the end of its region`);
      const e = b[q]!;
      let value: JsonValue;
      if (e >= T_FIXSTR) {
        const se = q + 1 + (e & 0x7f);
        if (se > table) throw truncated(q);
        value = decodeString(b, q + 1, se);
        q = se;
      } else if (e >= T_FIXINT) {
        value = e - T_FIXINT;
        q++;
      } else {
        cursor = q;
        value = readValue(b, table, depth + 1);
        q = cursor;
      }
      if (key === '__proto__') {
        Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
      } else {
        storeAt(obj, i, key, value);
      }
    }
    result = obj;
  }
  if (q !== table) throw malformed(`container at byte ${p}: its entries do not end where its table starts`);
  return result;
}

/**
 * `obj[key] = value` for the entry at position `i`: one store site per position, so while objects of one shape are
 * decoded, each site sees one map and one key (a monomorphic transition), where a single site shared by every key
 * goes megamorphic (about 6x slower per property in V8). record.ts has its own copy on purpose: sharing one would mix
 * record and metadata object shapes at each site.
 */
function storeAt(obj: { [key: string]: JsonValue }, i: number, key: string, value: JsonValue): void {
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

function checkRegion(bytes: Uint8Array, offset: number, length: number): void {
  if (!(bytes instanceof Uint8Array)) {
    throw new CodecError('INVALID_INPUT', 'metadata bytes must be a Uint8Array');
  }
  if (
    !Number.isSafeInteger(offset) ||
    !Number.isSafeInteger(length) ||
    offset < 0 ||
    length < 0 ||
    offset + length > bytes.length
  ) {
    throw malformed(`region (offset ${offset}, length ${length}) is outside the ${bytes.length}-byte buffer`);
  }
}

/**
 * Decodes the whole metadata value filling `[offset, offset + length)` of `bytes` (by default, all of it); `path`
 * (e.g. `Message.metadata`) locates its errors.
 */
export function decodeMetadata(bytes: Uint8Array, offset = 0, length = bytes?.length - offset, path = ''): JsonValue {
  try {
    checkRegion(bytes, offset, length);
    const end = offset + length;
    cursor = offset;
    const value = readValue(bytes, end, 0);
    if (cursor !== end) throw malformed(`${end - cursor} bytes after the value`);
    return value;
  } catch (error) {
    throw located(error, path);
  }
}

function typeOfTag(t: number): MetadataType {
  if (t >= T_FIXSTR) return 'string';
  if (isNumberTag(t)) return 'number';
  if (t === T_NULL) return 'null';
  if (t <= T_TRUE) return 'boolean';
  if (t >= T_STR8 && t <= T_STR32) return 'string';
  return isArrayTag(t) ? 'array' : 'object';
}

/**
 * A lazy view of one metadata value inside `bytes` (typically a whole record): reads only what it is asked for and
 * builds no JS value until {@link toJSON}. Child views (`get`, `at`) share the bytes; none is copied.
 */
export class MetadataView {
  /** The buffer holding the value. */
  declare readonly bytes: Uint8Array;
  /** Where the value starts in `bytes`. */
  declare readonly offset: number;
  /** The value's byte length. */
  declare readonly byteLength: number;
  /** The path given to the view this one was read from (`get`, `at`, `entries`), or to this view itself. */
  declare private readonly origin: string;
  /** The view this one was read from, and the key or index it was read at (none for a view made directly). */
  declare private readonly parent: MetadataView | undefined;
  declare private readonly step: string | number | undefined;

  /**
   * A view of the value that fills exactly `[offset, offset + length)` of `bytes`. Checks the value's header only;
   * throws `CodecError('MALFORMED')` when the region does not hold exactly one value's extent. Damage inside the
   * value is found by the accessors that read it.
   */
  constructor(bytes: Uint8Array, offset = 0, length = bytes?.length - offset, path = '') {
    try {
      checkRegion(bytes, offset, length);
      if (valueEnd(bytes, offset, offset + length) !== offset + length) {
        throw malformed(`the value at byte ${offset} does not fill its ${length}-byte region`);
      }
    } catch (error) {
      throw located(error, path);
    }
    this.bytes = bytes;
    this.offset = offset;
    this.byteLength = length;
    this.origin = path;
    this.parent = undefined;
    this.step = undefined;
  }

  /**
   * Where the value is, e.g. `Message.metadata.source` for a record's metadata or `tags[2]` inside a standalone
   * value ('' for a standalone value itself): the `path` of the errors its accessors throw. Built when asked for.
   */
  get path(): string {
    // Innermost step first, as formatPath takes an error's segments.
    if (this.parent === undefined) return this.origin;
    const steps: (string | number)[] = [this.step!];
    let view = this.parent;
    for (; view.parent !== undefined; view = view.parent) steps.push(view.step!);
    return formatPath(view.origin, steps);
  }

  /**
   * The binary form of a JSON value, as a view over its own compact bytes: `MetadataView.fromJSON(v).toJSON()` gives
   * back `v` exactly (-0, key order and lone surrogates included). Throws `CodecError('INVALID_INPUT')`, with the
   * offending value's path, for anything that is not JSON data (see the module comment).
   */
  static fromJSON(value: JsonValue): MetadataView {
    return new MetadataView(encodeMetadata(value).slice());
  }

  /** What the value is. */
  get type(): MetadataType {
    return typeOfTag(this.bytes[this.offset]!);
  }

  /** The number of elements of an array or of entries of an object; throws `INVALID_INPUT` for other values. */
  get length(): number {
    const t = this.bytes[this.offset]!;
    if (!isContainer(t)) throw this.mismatch('an array or object');
    if (t >= T_SMALL_ARRAY) return t & 15;
    const width = 1 << (t & 3);
    return readW(this.bytes, this.offset + 1 + width, width);
  }

  /**
   * The value of `key` in an object: a binary search over its sorted keys, comparing bytes. Undefined when there is
   * no such key or this is not an object. The search trusts the object's table of sorted entries, which decoding
   * (walking the entries themselves) does not read: damage to that table alone can hide a key here that
   * {@link toJSON} reports. Checking it on every decode would cost about half as much again per object; a record
   * encoded with `{ checksum: true }` detects such damage with `verifyRecord`.
   */
  get(key: string): MetadataView | undefined {
    try {
      return this.find(key);
    } catch (error) {
      throw located(error, this.path);
    }
  }

  private find(key: string): MetadataView | undefined {
    const b = this.bytes;
    const p = this.offset;
    const t = b[p]!;
    if (!isObjectTag(t)) return undefined;
    layoutOf(b, p, p + this.byteLength);
    const count = cCount;
    const table = cTable;
    const body = cBody;
    const width = cWidth;
    const probeLength = encodeProbe(key);
    if (width === 0) {
      // A small object without a table (at most UNTABLED_ENTRIES entries): compare each key.
      let at = body;
      for (let i = 0; i < count; i++) {
        readKey(b, at, table);
        const valueAt = keyStart + keyLength;
        if (compareProbe(b, keyStart, keyLength, probeLength) === 0) return child(b, valueAt, table, this, key);
        at = valueEnd(b, valueAt, table);
      }
      return undefined;
    }
    let lo = 0;
    let hi = count - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const entry = p + readW(b, table + mid * width, width);
      if (entry < body || entry >= table) throw malformed(`object at byte ${p}: entry ${mid} is outside its body`);
      readKey(b, entry, table);
      const c = compareProbe(b, keyStart, keyLength, probeLength);
      if (c === 0) return child(b, keyStart + keyLength, table, this, key);
      if (c < 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  }

  /** True when this is an object with `key`. */
  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /**
   * Element `index` of an array (a negative index counts from the end, as in `Array.prototype.at`). Undefined when
   * out of range or this is not an array.
   */
  at(index: number): MetadataView | undefined {
    try {
      return this.element(index);
    } catch (error) {
      throw located(error, this.path);
    }
  }

  private element(index: number): MetadataView | undefined {
    const b = this.bytes;
    const p = this.offset;
    const t = b[p]!;
    if (!isArrayTag(t)) return undefined;
    layoutOf(b, p, p + this.byteLength);
    const count = cCount;
    const table = cTable;
    const width = cWidth;
    const i = index < 0 ? index + count : index;
    if (!Number.isInteger(i) || i < 0 || i >= count) return undefined;
    if (width === 0) {
      // A small array (at most SMALL_COUNT elements) has no table: skip the elements before it.
      let at = cBody;
      for (let j = 0; j < i; j++) at = valueEnd(b, at, table);
      return child(b, at, table, this, i);
    }
    const element = p + readW(b, table + i * width, width);
    if (element < cBody || element >= table) {
      throw malformed(`array at byte ${p}: element ${i} is outside its body`);
    }
    return child(b, element, table, this, i);
  }

  /** The keys of an object, in their original (insertion) order; throws `INVALID_INPUT` for other values. */
  keys(): string[] {
    const keys: string[] = [];
    this.walk((key) => keys.push(key));
    return keys;
  }

  /** The entries of an object, in their original order; throws `INVALID_INPUT` for other values. */
  entries(): [string, MetadataView][] {
    const entries: [string, MetadataView][] = [];
    this.walk((key, at, limit) => entries.push([key, child(this.bytes, at, limit, this, key)]));
    return entries;
  }

  private walk(visit: (key: string, valueAt: number, limit: number) => void): void {
    const b = this.bytes;
    const p = this.offset;
    const t = b[p]!;
    if (!isObjectTag(t)) throw this.mismatch('an object');
    try {
      layoutOf(b, p, p + this.byteLength);
      const count = cCount;
      const table = cTable;
      let at = cBody;
      for (let i = 0; i < count; i++) {
        readKey(b, at, table);
        const valueAt = keyStart + keyLength;
        visit(decodeKey(b, keyStart, valueAt), valueAt, table);
        at = valueEnd(b, valueAt, table);
      }
    } catch (error) {
      throw located(error, this.path);
    }
  }

  /** The string; throws `INVALID_INPUT` when the value is not a string. */
  asString(): string {
    const t = this.bytes[this.offset]!;
    if (t < T_FIXSTR && (t < T_STR8 || t > T_STR32)) throw this.mismatch('a string');
    return this.toJSON() as string;
  }

  /** The number; throws `INVALID_INPUT` when the value is not a number. */
  asNumber(): number {
    const t = this.bytes[this.offset]!;
    if (!isNumberTag(t)) throw this.mismatch('a number');
    return this.toJSON() as number;
  }

  /** The boolean; throws `INVALID_INPUT` when the value is not a boolean. */
  asBoolean(): boolean {
    const t = this.bytes[this.offset]!;
    if (t !== T_TRUE && t !== T_FALSE) throw this.mismatch('a boolean');
    return t === T_TRUE;
  }

  /** True when the value is null. */
  isNull(): boolean {
    return this.bytes[this.offset] === T_NULL;
  }

  /** The value as a JS value (same as {@link toJSON}). */
  get value(): JsonValue {
    return this.toJSON();
  }

  /** Builds this value, and only this subtree, as a JS value (so `JSON.stringify(view)` works too). */
  toJSON(): JsonValue {
    cursor = this.offset;
    try {
      return readValue(this.bytes, this.offset + this.byteLength, 0);
    } catch (error) {
      throw located(error, this.path);
    }
  }

  private mismatch(expected: string): CodecError {
    const type = this.type;
    const actual = type === 'null' ? 'null' : type === 'array' || type === 'object' ? `an ${type}` : `a ${type}`;
    const at = this.path === '' ? '' : ` (at ${this.path})`;
    return new CodecError('INVALID_INPUT', `Expected ${expected} but the metadata value${at} is ${actual}`, { path: this.path });
  }
}

/** The value at `p` (ending within `limit`) inside `parent`, read at `step` (a key or an index). */
function child(b: Uint8Array, p: number, limit: number, parent: MetadataView, step: string | number): MetadataView {
  const view = new MetadataView(b, p, valueEnd(b, p, limit) - p);
  const links = view as unknown as { parent: MetadataView; step: string | number };
  links.parent = parent;
  links.step = step;
  return view;
}

/** A MALFORMED error from reading the value at `path`, located there (errors that already name a place keep it). */
function located(error: unknown, path: string): unknown {
  if (path === '' || !(error instanceof CodecError) || error.code !== 'MALFORMED' || error.path !== '') return error;
  return new CodecError('MALFORMED', `${error.message} (at ${path})`, { path, cause: error });
}

/**
 * A lazy {@link MetadataView} of the value filling `[offset, offset + length)` of `bytes` (by default, all of it);
 * `path` names it in errors.
 */
export function metadataView(bytes: Uint8Array, offset = 0, length = bytes?.length - offset, path = ''): MetadataView {
  return new MetadataView(bytes, offset, length, path);
}
