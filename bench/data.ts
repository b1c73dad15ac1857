/**
 * The generated data every benchmark suite uses, deterministic and browser-safe (the browser bench bundles it into
 * its page), so Node and Chromium measure the same records.
 */

const encoder = new TextEncoder();

/** Key `i` of 26 bytes with the default tag ("rec:" + 22 digits); without its last digit it prefixes 10 keys. */
export function benchKey(i: number, tag = 'rec:'): Uint8Array<ArrayBuffer> {
  return encoder.encode(`${tag}${String(i).padStart(22, '0')}`);
}

/** `n` keys from {@link benchKey}. */
export function benchKeys(n: number, tag = 'rec:'): Uint8Array<ArrayBuffer>[] {
  return Array.from({ length: n }, (_, i) => benchKey(i, tag));
}

/** `n` values of about 1.2 KB (1100-1300 bytes) of pseudo-random (incompressible) bytes. */
export function benchValues(n: number): Uint8Array<ArrayBuffer>[] {
  let seed = 0x2545f491;
  const next = (): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return seed >>> 0;
  };
  return Array.from({ length: n }, () => {
    const v = new Uint8Array(1100 + (next() % 201));
    for (let i = 0; i < v.length; i++) v[i] = next() & 0xff;
    return v;
  });
}

/** 0..n-1 in a fixed pseudo-random order. */
export function shuffled(n: number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  let seed = 12345;
  for (let i = n - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const j = seed % (i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}
