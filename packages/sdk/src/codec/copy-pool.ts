/**
 * Copies for decoded values, carved out of shared 256 KiB slabs. In V8 every new ArrayBuffer above a few dozen
 * bytes costs about a microsecond (a 1.5 KB copy of a 384-d vector: ~1.3 us, more than decoding the rest of a
 * record), so decoded vectors and byte strings share slabs, as Node's Buffer pool does for small Buffers. A copy never
 * aliases the record it came from; its `.buffer` is the slab (use byteOffset/length, never the whole buffer).
 */
const SLAB = 256 * 1024;
const OWN_BUFFER_ABOVE = 16 * 1024;

let slab = new ArrayBuffer(SLAB);
let used = 0;

/** Room for `n` bytes, 8-byte aligned (so any typed array view fits): returns the offset in `slab`. */
function take(n: number): number {
  if (used + n > SLAB) {
    slab = new ArrayBuffer(SLAB);
    used = 0;
  }
  const at = used;
  used = (used + n + 7) & ~7;
  return at;
}

/** A copy of `dims` float32 values that start at byte `at` of `bytes` (little-endian, any alignment). */
export function copyFloat32(bytes: Uint8Array, at: number, dims: number): Float32Array {
  const n = dims * 4;
  if (n > OWN_BUFFER_ABOVE) {
    const out = new Float32Array(dims);
    new Uint8Array(out.buffer).set(bytes.subarray(at, at + n));
    return out;
  }
  const offset = take(n);
  new Uint8Array(slab, offset, n).set(bytes.subarray(at, at + n));
  return new Float32Array(slab, offset, dims);
}

/** A copy of bytes [from, to) of `bytes`. */
export function copyByteRange(bytes: Uint8Array, from: number, to: number): Uint8Array {
  const n = to - from;
  if (n > OWN_BUFFER_ABOVE) return bytes.slice(from, to);
  const out = new Uint8Array(slab, take(n), n);
  out.set(bytes.subarray(from, to));
  return out;
}
