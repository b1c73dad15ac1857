import { asciiString } from './bytes.js';

/** Longest string (in bytes) kept in a {@link StringCache}. */
export const CACHED_STRING_MAX = 32;
const SLOTS = 4096;

/**
 * Recently decoded short ASCII strings, by a cheap hash of their bytes (object keys; metadata values such as model
 * names, tags and languages; senders, chat ids: short strings repeat across records). Each slot keeps the string
 * and its bytes, so a hit is a comparison of at most 32 bytes and allocates nothing; a miss builds the string and
 * replaces the slot. Bounded: 4096 slots of 32 bytes.
 */
export class StringCache {
  private readonly bytes = new Uint8Array(SLOTS * CACHED_STRING_MAX);
  private readonly lengths = new Uint8Array(SLOTS);
  private readonly strings: string[] = new Array<string>(SLOTS).fill('');

  /** @param intern store internalized strings (faster as property keys) */
  constructor(private readonly intern: boolean) {}

  /**
   * The bytes b[p, end) (1 to {@link CACHED_STRING_MAX} of them) as a string when they are all ASCII, from the
   * cache when seen recently; undefined when some byte is not ASCII (the caller decodes UTF-8 itself).
   *
   * Kept small so that V8 inlines it into its callers: the hit path is a plain byte loop (measured ~2.5x faster
   * than comparing 4 bytes at a time through assembled words) and the miss path is a call.
   */
  get(b: Uint8Array, p: number, end: number): string | undefined {
    const len = end - p;
    const slot = (len * 0x9e5 + b[p]! * 0x3b + b[end - 1]! * 0x1f3 + b[p + (len >> 1)]! * 0x65 + b[p + (len >> 2)]!) & (SLOTS - 1);
    if (this.lengths[slot] === len) {
      const bytes = this.bytes;
      const shift = slot * CACHED_STRING_MAX - p;
      let i = p;
      while (i < end && b[i] === bytes[shift + i]) i++;
      if (i === end) return this.strings[slot];
    }
    return this.miss(b, p, end, slot);
  }

  private miss(b: Uint8Array, p: number, end: number, slot: number): string | undefined {
    for (let i = p; i < end; i++) if (b[i]! >= 0x80) return undefined;
    let s = asciiString(b, p, end);
    if (this.intern) s = Object.keys({ [s]: 0 })[0]!;
    this.strings[slot] = s;
    this.lengths[slot] = end - p;
    this.bytes.set(b.subarray(p, end), slot * CACHED_STRING_MAX);
    return s;
  }
}

/** Short string values of records and metadata. */
export const stringCache = new StringCache(false);
/** Metadata object keys, internalized. */
export const keyCache = new StringCache(true);
