/**
 * The strings of an all-ASCII record, sliced out of one text made by one native call (Node, Electron's main process).
 *
 * The encoder flags a record whose strings (fields, string lists, metadata keys and values, nested records) are all
 * ASCII. While such a record is decoded whole, the bytes of its string-bearing fields become one string through
 * Node's `Buffer#latin1Slice` (one character per byte, a plain copy), and each string is a slice of that text.
 * Making each string on its own costs a native call per long string and a cache lookup per short one: a Message
 * (800 characters of text, 25 short strings) decodes about a quarter faster this way. Browsers have no native
 * one-byte-per-character decoder faster than what the codec does already, so there nothing changes.
 *
 * The flag is trusted: a damaged byte of 0x80 or more inside a string of a flagged record reads as its Latin-1
 * character instead of failing UTF-8 validation, as a damaged ASCII byte reads as another ASCII character. Records
 * written with a checksum detect both (`verifyRecord`). Slices of 13 characters or more share the text's memory
 * (V8 sliced strings), so they keep the string bytes of their record alive, as msgpackr's decoded strings do.
 */

type Latin1Slice = (this: Uint8Array, start: number, end: number) => string;

/**
 * Node's Latin-1 slice, when the host has Buffer and it takes any Uint8Array as `this` and a byte range, as Node's
 * does (checked once here, so a host whose Buffer only looks like Node's keeps the ordinary path).
 */
const nodeLatin1Slice = ((): Latin1Slice | undefined => {
  const slice = (globalThis as { Buffer?: { prototype?: { latin1Slice?: unknown } } }).Buffer?.prototype?.latin1Slice;
  if (typeof slice !== 'function') return undefined;
  try {
    return (slice as Latin1Slice).call(Uint8Array.of(0x21, 0x68, 0x69, 0xe9, 0x21), 1, 4) === 'hi\u00e9' ? (slice as Latin1Slice) : undefined;
  } catch {
    return undefined;
  }
})();

/** Whether this host decodes all-ASCII records through one text. */
export const HAS_ASCII_TEXT = nodeLatin1Slice !== undefined;

/**
 * The longest span of string-bearing bytes read through one text. Past it each string is decoded on its own: the
 * one native call saves nothing on a few long strings, the span may hold a nested record's vectors or bytes (copied
 * for nothing), and V8 cannot make a string of more than about 2^29 characters at all.
 */
export const MAX_ASCII_TEXT = 1 << 20;

// The current text: bytes [from, from + text.length) of `source`, as characters.
let text = '';
let source: Uint8Array | undefined;
let from = 0;

/**
 * Makes bytes [start, end) of `bytes` (all string bytes ASCII) the current text, until {@link closeAsciiText}.
 * Only on hosts where {@link HAS_ASCII_TEXT}.
 */
export function openAsciiText(bytes: Uint8Array, start: number, end: number): void {
  text = nodeLatin1Slice!.call(bytes, start, end);
  source = bytes;
  from = start;
}

export function closeAsciiText(): void {
  text = '';
  source = undefined;
}

/**
 * Bytes [p, end) of `b` as a string, sliced from the current text, or undefined when no text is open over `b` or
 * the bytes lie outside it (the caller decodes them itself).
 */
export function asciiTextSlice(b: Uint8Array, p: number, end: number): string | undefined {
  if (b !== source) return undefined;
  const i = p - from;
  const j = end - from;
  if (i < 0 || j > text.length) return undefined;
  return text.slice(i, j);
}
