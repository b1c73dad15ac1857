/** Lone UTF-16 surrogates, which UTF-8 cannot represent. No imports: the engine layer uses this too. */

const nativeIsWellFormed = (String.prototype as { isWellFormed?: (this: string) => boolean }).isWellFormed;
const nativeToWellFormed = (String.prototype as { toWellFormed?: (this: string) => string }).toWellFormed;
/** Every lone surrogate (global, for replace; isWellFormed resets lastIndex before it tests). */
const LONE_SURROGATES = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Whether `s` has no lone surrogate, which UTF-8 cannot represent (native String#isWellFormed where the runtime has
 * it). The one check of the SDK: records, metadata, keys, the legacy format, ids and store names all call it.
 */
export function isWellFormed(s: string): boolean {
  if (nativeIsWellFormed !== undefined) return nativeIsWellFormed.call(s);
  LONE_SURROGATES.lastIndex = 0;
  return !LONE_SURROGATES.test(s);
}

/** `s` with every lone surrogate replaced by U+FFFD (native String#toWellFormed where the runtime has it). */
export function toWellFormed(s: string): string {
  return nativeToWellFormed !== undefined ? nativeToWellFormed.call(s) : s.replace(LONE_SURROGATES, '\uFFFD');
}

/**
 * Orders strings by code point, as their UTF-8 bytes (and so keys) sort; JS `<` compares UTF-16 units and puts
 * U+E000..U+FFFF after astral characters. Negative, zero or positive.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

/** A UTF-16 unit's rank in code point order: surrogates (astral characters) move above U+E000..U+FFFF. */
function codePointRank(unit: number): number {
  return unit < 0xd800 ? unit : unit < 0xe000 ? unit + 0x2000 : unit - 0x800;
}
