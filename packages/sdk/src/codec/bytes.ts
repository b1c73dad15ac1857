/**
 * Little-endian integer and float reads from a Uint8Array at any offset, without a DataView per buffer, the ASCII
 * string builder, and the copies decoded values are made of: the one copy of these that records (record.ts),
 * metadata (metadata.ts) and the string cache read with. Callers check bounds (and that bytes are ASCII) first.
 */

/** Whether the host is little-endian (typed arrays use the host's byte order). */
export const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Floats are read by copying their bytes into this scratch buffer. */
const scratch = new Uint8Array(8);
const scratchF64 = new Float64Array(scratch.buffer);
const scratchF32 = new Float32Array(scratch.buffer);

export function readU16(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8);
}

export function readU32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}

export function readI32(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24);
}

export function readF64(b: Uint8Array, o: number): number {
  if (LITTLE_ENDIAN) {
    scratch[0] = b[o]!;
    scratch[1] = b[o + 1]!;
    scratch[2] = b[o + 2]!;
    scratch[3] = b[o + 3]!;
    scratch[4] = b[o + 4]!;
    scratch[5] = b[o + 5]!;
    scratch[6] = b[o + 6]!;
    scratch[7] = b[o + 7]!;
  } else {
    for (let i = 0; i < 8; i++) scratch[7 - i] = b[o + i]!;
  }
  return scratchF64[0]!;
}

export function readF32(b: Uint8Array, o: number): number {
  if (LITTLE_ENDIAN) {
    for (let i = 0; i < 4; i++) scratch[i] = b[o + i]!;
  } else {
    for (let i = 0; i < 4; i++) scratch[3 - i] = b[o + i]!;
  }
  return scratchF32[0]!;
}

const fromCharCode = String.fromCharCode;

/**
 * The ASCII bytes `b[p, end)` as a string: one fromCharCode call per 8 bytes makes flat strings, about twice as fast
 * as TextDecoder or a character-by-character loop for short strings.
 */
export function asciiString(b: Uint8Array, p: number, end: number): string {
  let s = '';
  while (end - p > 8) {
    s += fromCharCode(b[p]!, b[p + 1]!, b[p + 2]!, b[p + 3]!, b[p + 4]!, b[p + 5]!, b[p + 6]!, b[p + 7]!);
    p += 8;
  }
  switch (end - p) {
    case 0:
      return s;
    case 1:
      return s + fromCharCode(b[p]!);
    case 2:
      return s + fromCharCode(b[p]!, b[p + 1]!);
    case 3:
      return s + fromCharCode(b[p]!, b[p + 1]!, b[p + 2]!);
    case 4:
      return s + fromCharCode(b[p]!, b[p + 1]!, b[p + 2]!, b[p + 3]!);
    case 5:
      return s + fromCharCode(b[p]!, b[p + 1]!, b[p + 2]!, b[p + 3]!, b[p + 4]!);
    case 6:
      return s + fromCharCode(b[p]!, b[p + 1]!, b[p + 2]!, b[p + 3]!, b[p + 4]!, b[p + 5]!);
    case 7:
      return s + fromCharCode(b[p]!, b[p + 1]!, b[p + 2]!, b[p + 3]!, b[p + 4]!, b[p + 5]!, b[p + 6]!);
    default:
      return s + fromCharCode(b[p]!, b[p + 1]!, b[p + 2]!, b[p + 3]!, b[p + 4]!, b[p + 5]!, b[p + 6]!, b[p + 7]!);
  }
}

/**
 * A copy of `dims` float32 values that start at byte `at` of `bytes` (little-endian, any alignment), in an
 * ArrayBuffer of its own: a decoded value can be posted, cloned or transferred without taking anything else along.
 */
export function copyFloat32(bytes: Uint8Array, at: number, dims: number): Float32Array {
  const out = new Float32Array(dims);
  new Uint8Array(out.buffer).set(bytes.subarray(at, at + dims * 4));
  return out;
}

/**
 * A copy of bytes [from, to) of `bytes` in an ArrayBuffer of its own: a plain Uint8Array. Never `bytes.slice()`,
 * which on a Node Buffer is a view of the same memory (and a Buffer).
 */
export function copyByteRange(bytes: Uint8Array, from: number, to: number): Uint8Array {
  const out = new Uint8Array(to - from);
  out.set(bytes.subarray(from, to));
  return out;
}
