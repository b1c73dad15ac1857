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
