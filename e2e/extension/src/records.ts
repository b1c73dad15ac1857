/** The records the extension test writes and checks: deterministic, so both sides can compute them. */
const text = new TextEncoder();

/** Key of record `i`: "rec:" and 6 digits. */
export function recordKey(i: number): Uint8Array {
  return text.encode(`rec:${String(i).padStart(6, '0')}`);
}

/** Value of record `i`: 16 float32s (an embedding-like vector) followed by a UTF-8 label. */
export function recordValue(i: number): Uint8Array {
  const label = text.encode(`record ${i} \u{1F4BE}`);
  const out = new Uint8Array(64 + label.length);
  const vector = new Float32Array(out.buffer, 0, 16);
  for (let d = 0; d < 16; d++) vector[d] = Math.sin(i * 16 + d);
  out.set(label, 64);
  return out;
}

/** FNV-1a over every key and value, in order. */
export function checksum(entries: Iterable<{ key: Uint8Array; value: Uint8Array }>): number {
  let h = 0x811c9dc5;
  for (const { key, value } of entries) {
    for (const bytes of [key, value]) for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  }
  return h;
}
