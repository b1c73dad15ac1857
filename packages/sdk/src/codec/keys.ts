/**
 * Order-preserving tuple keys: a tuple of strings, numbers, booleans and byte strings becomes one `Uint8Array` whose
 * bytewise order (the order every engine keeps, see `compareBytes`) equals the tuples' natural order
 * ({@link compareKeyTuples}), and whose encoding is a byte prefix of the encoding of every longer tuple that starts
 * with it, so `[property, value]` finds every `[property, value, nodeId]` index entry with one scan ({@link tupleScan}:
 * the byte prefix, bounded so that a value that goes on with U+0000 is left out).
 *
 * Encoding (each part is a type tag byte followed by its payload; parts are simply concatenated):
 *
 * | part         | tag    | payload                                                                                |
 * | ------------ | ------ | -------------------------------------------------------------------------------------- |
 * | `false`      | `0x02` | none                                                                                   |
 * | `true`       | `0x03` | none                                                                                   |
 * | number       | `0x10` | 8 bytes: float64 big-endian, sign bit set if >= 0, all bits flipped if < 0 (-0 as 0)   |
 * | string       | `0x20` | UTF-8 with each 0x00 written as 0x00 0xFF, then a 0x00 terminator                      |
 * | `Uint8Array` | `0x30` | the bytes with each 0x00 written as 0x00 0xFF, then a 0x00 terminator                  |
 *
 * Tags 0x00, 0x01 and 0xFF are never used; the gaps leave room for more types (null, dates, nested tuples) without
 * moving the existing ones. After a terminator comes a tag (at most 0x30) or the end of the key, both below the 0xFF
 * of an escaped zero, and 0x00 is below every other payload byte: so a string or byte string sorts before each of
 * its extensions, whatever parts follow it. UTF-8's byte order is code point order.
 *
 * Decoding is strict: it accepts exactly the bytes {@link encodeKey} produces (so `encodeKey(decodeKey(b))` equals
 * `b` whenever it returns), never reads outside the buffer, and throws `CodecError('MALFORMED')` for anything else.
 */
import { showArgument } from '../engine/errors.js';
import { DEFAULT_MAX_KEY_SIZE } from '../engine/limits.js';
import { compareCodePoints, isWellFormed } from './unicode.js';
import { CodecError } from './errors.js';

/**
 * One element of a key tuple.
 *
 * Numbers are one type: integers and fractions, `±Infinity`, all compared numerically with each other
 * (`2 < 2.5 < 3`), encoded as float64, so every safe integer (and every other finite double) round-trips exactly.
 * There is no separate integer type. `NaN` is rejected; `-0` is the same key as `0` (it decodes as `0`).
 *
 * Strings must be well-formed UTF-16 (a lone surrogate is rejected: UTF-8 cannot hold it, and replacing it with
 * U+FFFD would make different strings share one key).
 */
export type KeyPart = string | number | boolean | Uint8Array;

/** A key: a sequence of parts, e.g. `['Message.chatId', 'chat_123', 'msg_456']`. */
export type KeyTuple = readonly KeyPart[];

const TAG_FALSE = 0x02;
const TAG_TRUE = 0x03;
const TAG_NUMBER = 0x10;
const TAG_STRING = 0x20;
const TAG_BYTES = 0x30;

/**
 * Parts longer than this (UTF-16 units when encoding, bytes when decoding) go through native code: TextEncoder,
 * TextDecoder, `Uint8Array#set`. Below it a plain loop is faster than the call into native code.
 */
const LONG = 64;
/** A scratch buffer that grew larger than this for one huge key is not kept. */
const SCRATCH_KEEP = 64 * 1024;

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Encoders write here and copy the result out once, so a key costs one allocation whatever its parts. */
let scratch: Uint8Array = new Uint8Array(256);
/** The 8 bytes of one float64, big-endian (DataView's default). */
const f64 = new DataView(new ArrayBuffer(8));
const f64Bytes = new Uint8Array(f64.buffer);
/** Where the last string or byte-string reader stopped (one past its terminator). */
let cursor = 0;


function invalidPart(part: unknown, index: number): CodecError {
  if (typeof part === 'number') {
    return new CodecError(
      'INVALID_INPUT',
      `Key part ${index} is NaN; NaN cannot be a key part (it equals nothing, not even itself, so it has no place ` +
        `in the key order).`,
      { path: `[${index}]` },
    );
  }
  if (typeof part === 'string') {
    return new CodecError(
      'INVALID_INPUT',
      `Key part ${index} is a string with a lone surrogate (an unpaired UTF-16 unit in U+D800..U+DFFF); key strings ` +
        `must be well-formed Unicode (see String.prototype.toWellFormed).`,
      { path: `[${index}]` },
    );
  }
  return new CodecError(
    'INVALID_INPUT',
    `Key part ${index} is ${showArgument(part)}; key parts must be strings, numbers, booleans or Uint8Arrays.`,
    { path: `[${index}]` },
  );
}

function notATuple(tuple: unknown): CodecError {
  return new CodecError('INVALID_INPUT', `A key must be an array of key parts, got ${showArgument(tuple)}.`);
}

function malformed(message: string, offset: number): CodecError {
  return new CodecError('MALFORMED', `Malformed key: ${message} at byte ${offset}.`);
}

function grow(buf: Uint8Array, used: number, need: number): Uint8Array {
  const next = new Uint8Array(Math.max(buf.length * 2, used + need));
  next.set(buf.subarray(0, used));
  return next;
}

/**
 * True while an encode writes into {@link scratch}. A part's getter (or a Proxy tuple) may encode a key itself: that
 * nested encode writes into a buffer of its own instead of the bytes the outer one is still writing.
 */
let encoding = false;

/** Writes a string part (tag, escaped UTF-8, terminator) at `pos`; room for `3 * length + 2` bytes is ensured. */
function writeString(buf: Uint8Array, pos: number, s: string, index: number): number {
  buf[pos++] = TAG_STRING;
  const n = s.length;
  if (n > LONG && s.indexOf('\0') === -1) {
    if (!isWellFormed(s)) throw invalidPart(s, index);
    pos += textEncoder.encodeInto(s, buf.subarray(pos)).written;
  } else {
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x80) {
        if (c === 0) {
          buf[pos++] = 0;
          buf[pos++] = 0xff;
        } else {
          buf[pos++] = c;
        }
      } else if (c < 0x800) {
        buf[pos++] = 0xc0 | (c >> 6);
        buf[pos++] = 0x80 | (c & 0x3f);
      } else if (c < 0xd800 || c >= 0xe000) {
        buf[pos++] = 0xe0 | (c >> 12);
        buf[pos++] = 0x80 | ((c >> 6) & 0x3f);
        buf[pos++] = 0x80 | (c & 0x3f);
      } else {
        // A surrogate: must be a high one followed by a low one.
        if (c >= 0xdc00 || i + 1 >= n) throw invalidPart(s, index);
        const d = s.charCodeAt(i + 1);
        if (d < 0xdc00 || d >= 0xe000) throw invalidPart(s, index);
        i++;
        const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        buf[pos++] = 0xf0 | (cp >> 18);
        buf[pos++] = 0x80 | ((cp >> 12) & 0x3f);
        buf[pos++] = 0x80 | ((cp >> 6) & 0x3f);
        buf[pos++] = 0x80 | (cp & 0x3f);
      }
    }
  }
  buf[pos++] = 0;
  return pos;
}

/** Writes a byte-string part (tag, escaped bytes, terminator) at `pos`; room for `2 * length + 2` bytes is ensured. */
function writeBytes(buf: Uint8Array, pos: number, b: Uint8Array): number {
  buf[pos++] = TAG_BYTES;
  const n = b.length;
  if (n > LONG && b.indexOf(0) === -1) {
    buf.set(b, pos);
    pos += n;
  } else {
    for (let i = 0; i < n; i++) {
      const x = b[i]!;
      buf[pos++] = x;
      if (x === 0) buf[pos++] = 0xff;
    }
  }
  buf[pos++] = 0;
  return pos;
}

/** Writes a number part (tag, 8 order-preserving bytes) at `pos`; room for 9 bytes is ensured. */
function writeNumber(buf: Uint8Array, pos: number, x: number): number {
  buf[pos++] = TAG_NUMBER;
  // `x === 0` is also true for -0: both are written as +0.
  f64.setFloat64(0, x === 0 ? 0 : x);
  if (f64Bytes[0]! & 0x80) {
    // Negative: flip every bit, so larger magnitudes sort lower and all negatives sort below all positives.
    for (let j = 0; j < 8; j++) buf[pos++] = ~f64Bytes[j]! & 0xff;
  } else {
    // Positive: set the sign bit, so positives sort above negatives; the rest is already in numeric order.
    buf[pos++] = f64Bytes[0]! | 0x80;
    for (let j = 1; j < 8; j++) buf[pos++] = f64Bytes[j]!;
  }
  return pos;
}

/**
 * Encodes a key tuple to bytes whose bytewise order is the tuples' natural order ({@link compareKeyTuples}). The
 * empty tuple encodes to empty bytes (a prefix of every key; engines do not accept it as a key itself).
 * Throws `CodecError('INVALID_INPUT')` (with `path` `[i]`) for a part that is not a valid {@link KeyPart}.
 */
export function encodeKey(tuple: KeyTuple): Uint8Array {
  return encodeAfter(undefined, tuple);
}

/**
 * `prefix` (the encoding of a tuple, e.g. a namespace's) followed by the encoding of `tuple`: the same bytes as
 * encoding the concatenated tuples, in one allocation.
 */
export function encodeKeyAfter(prefix: Uint8Array, tuple: KeyTuple): Uint8Array {
  return encodeAfter(prefix, tuple);
}

function encodeAfter(prefix: Uint8Array | undefined, tuple: KeyTuple): Uint8Array {
  if (!Array.isArray(tuple)) throw notATuple(tuple);
  // An encode started while another one is writing (from a part's getter) must not touch the shared scratch.
  if (encoding) return encodeInto(new Uint8Array(256), prefix, tuple, false);
  encoding = true;
  try {
    return encodeInto(scratch, prefix, tuple, true);
  } finally {
    encoding = false;
  }
}

/** Encodes into `start` (growing it as needed); `shared`: `start` is the scratch buffer, which keeps a grown copy. */
function encodeInto(start: Uint8Array, prefix: Uint8Array | undefined, tuple: KeyTuple, shared: boolean): Uint8Array {
  let buf = start;
  let pos = 0;
  if (prefix !== undefined) {
    if (prefix.length > buf.length) buf = grow(buf, 0, prefix.length);
    buf.set(prefix);
    pos = prefix.length;
  }
  for (let i = 0; i < tuple.length; i++) {
    const part: unknown = tuple[i];
    if (typeof part === 'string') {
      const need = 3 * part.length + 2;
      if (pos + need > buf.length) buf = grow(buf, pos, need);
      pos = writeString(buf, pos, part, i);
    } else if (typeof part === 'number') {
      if (part !== part) throw invalidPart(part, i);
      if (pos + 9 > buf.length) buf = grow(buf, pos, 9);
      pos = writeNumber(buf, pos, part);
    } else if (typeof part === 'boolean') {
      if (pos + 1 > buf.length) buf = grow(buf, pos, 1);
      buf[pos++] = part ? TAG_TRUE : TAG_FALSE;
    } else if (part instanceof Uint8Array) {
      const need = 2 * part.length + 2;
      if (pos + need > buf.length) buf = grow(buf, pos, need);
      pos = writeBytes(buf, pos, part);
    } else {
      throw invalidPart(part, i);
    }
  }
  const key = buf.slice(0, pos);
  if (shared) scratch = buf.length > SCRATCH_KEEP ? new Uint8Array(256) : buf;
  return key;
}

/**
 * The prefix to scan for every key that starts with `tuple`: the same bytes as {@link encodeKey}, since a tuple's
 * encoding is a byte prefix of every longer tuple's that starts with it. Named for readability at scan sites.
 *
 * When the tuple ends with a string or bytes part, the prefix alone also matches keys whose last part goes on with
 * U+0000 (`['c']` is a byte prefix of `['c\u0000x']`): scan {@link tupleScan} of it to get exactly the tuples that
 * start with `tuple`.
 */
export const keyPrefix: (tuple: KeyTuple) => Uint8Array = encodeKey;

/**
 * Scan bounds for exactly the keys of tuples that start with the tuple `prefix` encodes (that tuple included). A
 * byte prefix is not enough: a string part ends with the terminator 0x00, and a longer string that goes on with
 * U+0000 continues with 0x00 0xFF, so `['c']` is a byte prefix of `['c\u0000x']`. Every part that can follow a
 * terminator starts with a tag below 0xFF, so the keys to leave out are exactly those from `prefix` + 0xFF on. A
 * prefix as long as the longest key gets no bound: no key extends it.
 */
export function tupleScan(prefix: Uint8Array): { prefix: Uint8Array; lt?: Uint8Array } {
  // No key of any engine is longer than DEFAULT_MAX_KEY_SIZE: a prefix that long has no extensions to leave out,
  // and the bound would be longer than engines accept (KEY_TOO_LARGE where the answer is simply nothing).
  if (prefix.length >= DEFAULT_MAX_KEY_SIZE) return { prefix };
  const lt = new Uint8Array(prefix.length + 1);
  lt.set(prefix);
  lt[prefix.length] = 0xff;
  return { prefix, lt };
}

/** How many escaped zeros (0x00 0xFF) the last {@link findTerminator} passed. */
let escapes = 0;

/**
 * Finds the terminator of the escaped part (string or byte string) at `partOffset`, scanning from `start`; returns
 * its index and counts the escaped zeros passed into `escapes`. Throws MALFORMED when the buffer ends first.
 */
function findTerminator(bytes: Uint8Array, start: number, partOffset: number): number {
  const end = bytes.length;
  let i = start;
  let n = 0;
  for (;;) {
    if (i >= end) throw malformed('unterminated string or byte string', partOffset);
    if (bytes[i] === 0) {
      if (bytes[i + 1] !== 0xff) break;
      n++;
      i += 2;
    } else {
      i++;
    }
  }
  escapes = n;
  return i;
}

function readNumber(bytes: Uint8Array, start: number): number {
  if (start + 8 > bytes.length) throw malformed('truncated number', start - 1);
  const first = bytes[start]!;
  if (first & 0x80) {
    f64Bytes[0] = first ^ 0x80;
    for (let j = 1; j < 8; j++) f64Bytes[j] = bytes[start + j]!;
  } else {
    for (let j = 0; j < 8; j++) f64Bytes[j] = ~bytes[start + j]! & 0xff;
  }
  const x = f64.getFloat64(0);
  if (x !== x) throw malformed('NaN number', start - 1);
  // The encoder writes -0 as +0, whose first byte is 0x80; the -0 pattern is never produced.
  if (x === 0 && first !== 0x80) throw malformed('non-canonical zero', start - 1);
  return x;
}

function readString(bytes: Uint8Array, start: number): string {
  // Short strings (most keys): one pass with a strict UTF-8 decoder (no overlongs, no surrogates, nothing above
  // U+10FFFF) that stops at the terminator. A read past the end gives undefined, taken as 0, which no check accepts.
  const limit = Math.min(bytes.length, start + LONG);
  const units: number[] = [];
  let p = start;
  while (p < limit) {
    const b0 = bytes[p]!;
    if (b0 < 0x80) {
      if (b0 === 0) {
        if (bytes[p + 1] !== 0xff) {
          cursor = p + 1;
          return String.fromCharCode.apply(null, units);
        }
        p++; // an escaped U+0000
      }
      units.push(b0);
      p++;
      continue;
    }
    const b1 = bytes[p + 1] ?? 0;
    if (b0 < 0xc2) break;
    if (b0 < 0xe0) {
      if ((b1 & 0xc0) !== 0x80) break;
      units.push(((b0 & 0x1f) << 6) | (b1 & 0x3f));
      p += 2;
    } else if (b0 < 0xf0) {
      if (b1 < (b0 === 0xe0 ? 0xa0 : 0x80) || b1 > (b0 === 0xed ? 0x9f : 0xbf)) break;
      const b2 = bytes[p + 2] ?? 0;
      if ((b2 & 0xc0) !== 0x80) break;
      units.push(((b0 & 0x0f) << 12) | ((b1 & 0x3f) << 6) | (b2 & 0x3f));
      p += 3;
    } else if (b0 < 0xf5) {
      if (b1 < (b0 === 0xf0 ? 0x90 : 0x80) || b1 > (b0 === 0xf4 ? 0x8f : 0xbf)) break;
      const b2 = bytes[p + 2] ?? 0;
      if ((b2 & 0xc0) !== 0x80) break;
      const b3 = bytes[p + 3] ?? 0;
      if ((b3 & 0xc0) !== 0x80) break;
      const cp = (((b0 & 0x07) << 18) | ((b1 & 0x3f) << 12) | ((b2 & 0x3f) << 6) | (b3 & 0x3f)) - 0x10000;
      units.push(0xd800 | (cp >> 10), 0xdc00 | (cp & 0x3ff));
      p += 4;
    } else {
      break;
    }
  }
  if (p < limit || limit === bytes.length) {
    // Stopped on invalid UTF-8, or the key ended without a terminator (the clearer message when both hold).
    findTerminator(bytes, p, start - 1);
    throw malformed('invalid UTF-8 in a string', p);
  }
  // A long string: the rest (from `p`, a character boundary) through the native decoder, as strict as the loop.
  const stop = findTerminator(bytes, p, start - 1);
  cursor = stop + 1;
  let rest: string;
  try {
    if (escapes === 0) {
      rest = textDecoder.decode(bytes.subarray(p, stop));
    } else {
      const unescaped = new Uint8Array(stop - p - escapes);
      for (let i = p, k = 0; i < stop; i++) {
        unescaped[k++] = bytes[i]!;
        if (bytes[i] === 0) i++;
      }
      rest = textDecoder.decode(unescaped);
    }
  } catch (cause) {
    throw new CodecError('MALFORMED', `Malformed key: invalid UTF-8 in the string at byte ${start - 1}.`, { cause });
  }
  return String.fromCharCode.apply(null, units) + rest;
}

function readBytes(bytes: Uint8Array, start: number): Uint8Array {
  const stop = findTerminator(bytes, start, start - 1);
  cursor = stop + 1;
  // Always a plain Uint8Array of its own: on a Node Buffer (as Node engines return), `slice` is a view, not a copy.
  const out = new Uint8Array(stop - start - escapes);
  if (escapes === 0 && out.length > LONG) {
    out.set(bytes.subarray(start, stop));
  } else {
    for (let i = start, k = 0; i < stop; i++) {
      out[k++] = bytes[i]!;
      if (bytes[i] === 0) i++;
    }
  }
  return out;
}

/**
 * Decodes bytes made by {@link encodeKey} back to the tuple (`-0` comes back as `0`; byte-string parts are fresh
 * copies that do not share memory with `bytes`). Throws `CodecError('MALFORMED')` for bytes `encodeKey` would never
 * produce: truncated parts, unknown tags, invalid UTF-8, NaN or -0 patterns.
 */
export function decodeKey(bytes: Uint8Array): KeyPart[] {
  if (!(bytes instanceof Uint8Array)) {
    throw new CodecError('INVALID_INPUT', `A key to decode must be a Uint8Array, got ${showArgument(bytes)}.`);
  }
  const parts: KeyPart[] = [];
  const end = bytes.length;
  let pos = 0;
  while (pos < end) {
    const tag = bytes[pos]!;
    switch (tag) {
      case TAG_FALSE:
        parts.push(false);
        pos++;
        break;
      case TAG_TRUE:
        parts.push(true);
        pos++;
        break;
      case TAG_NUMBER:
        parts.push(readNumber(bytes, pos + 1));
        pos += 9;
        break;
      case TAG_STRING:
        parts.push(readString(bytes, pos + 1));
        pos = cursor;
        break;
      case TAG_BYTES:
        parts.push(readBytes(bytes, pos + 1));
        pos = cursor;
        break;
      default:
        throw malformed(`unknown type tag 0x${tag.toString(16).padStart(2, '0')}`, pos);
    }
  }
  return parts;
}

/** {@link decodeKey}, or undefined for bytes that are not an encoded key (damage), where the caller reports them. */
export function tryDecodeKey(bytes: Uint8Array): KeyPart[] | undefined {
  try {
    return decodeKey(bytes);
  } catch (error) {
    if (error instanceof CodecError) return undefined;
    throw error;
  }
}

/** The tag of a valid part (the first level of the natural order); throws INVALID_INPUT for an invalid one. */
function tagOf(part: unknown, index: number): number {
  switch (typeof part) {
    case 'boolean':
      return part ? TAG_TRUE : TAG_FALSE;
    case 'number':
      if (part !== part) throw invalidPart(part, index);
      return TAG_NUMBER;
    case 'string':
      if (!isWellFormed(part)) throw invalidPart(part, index);
      return TAG_STRING;
    default:
      if (part instanceof Uint8Array) return TAG_BYTES;
      throw invalidPart(part, index);
  }
}

function compareParts(a: unknown, b: unknown, index: number): number {
  const ta = tagOf(a, index);
  const tb = tagOf(b, index);
  if (ta !== tb) return ta < tb ? -1 : 1;
  if (ta === TAG_NUMBER) {
    const x = a as number;
    const y = b as number;
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (ta === TAG_STRING) return Math.sign(compareCodePoints(a as string, b as string));
  if (ta === TAG_BYTES) {
    const x = a as Uint8Array;
    const y = b as Uint8Array;
    const n = Math.min(x.length, y.length);
    for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1;
    return x.length === y.length ? 0 : x.length < y.length ? -1 : 1;
  }
  return 0; // booleans: the tag is the value
}

/**
 * The natural order of key tuples, which the bytes of {@link encodeKey} reproduce exactly. Returns -1, 0 or 1.
 *
 * - Parts are compared in turn; the first difference decides. A tuple that is a prefix of another sorts first.
 * - Parts of different types order by type: `false` < `true` < numbers < strings < byte strings (numbers before
 *   strings before binary, as in IndexedDB's key order).
 * - Numbers compare numerically, integers and fractions alike: -Infinity < -1.5 < -1 < 0 < 1e-300 < 2 < 2.5 <
 *   Infinity; `-0` equals `0`.
 * - Strings compare by Unicode code point (the order of their UTF-8 bytes), not by UTF-16 unit: '\uFFFF' <
 *   '\u{10000}'. A string sorts before its extensions ('a' < 'a\u0000' < 'a\u0001').
 * - Byte strings compare bytewise, a prefix before its extensions.
 *
 * Throws `CodecError('INVALID_INPUT')` for a part {@link encodeKey} rejects (NaN, lone surrogates, other types).
 */
export function compareKeyTuples(a: KeyTuple, b: KeyTuple): number {
  if (!Array.isArray(a)) throw notATuple(a);
  if (!Array.isArray(b)) throw notATuple(b);
  // Every part is checked, not only those before the first difference: an invalid tuple never compares quietly.
  for (let i = 0; i < a.length; i++) tagOf(a[i], i);
  for (let i = 0; i < b.length; i++) tagOf(b[i], i);
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const c = compareParts(a[i], b[i], i);
    if (c !== 0) return c;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}
