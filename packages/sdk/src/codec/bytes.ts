/**
 * Little-endian integer and float reads from a Uint8Array at any offset, without a DataView per buffer: the one copy
 * of these that records (record.ts) and metadata (metadata.ts) read with. Callers check bounds first.
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
