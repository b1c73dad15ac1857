const CHUNK = 64 * 1024;
const textEncoder = new TextEncoder();
/**
 * Node's native UTF-8 writer (what Buffer#write uses), when the host has Buffer: it writes straight into the bytes,
 * with no subarray and no result object per call. Like TextEncoder.encodeInto, it writes a lone surrogate as U+FFFD
 * (callers that must keep or refuse those check for them) and never splits a character at the end of the room.
 */
const nodeUtf8Write = (globalThis as { Buffer?: { prototype?: { utf8Write?: unknown } } }).Buffer?.prototype?.utf8Write as
  | ((this: Uint8Array, s: string, offset: number, length: number) => number)
  | undefined;

/**
 * A growable writer over one scratch buffer. Encoders write into it and take the result with {@link finish}, which
 * returns a view of a region that is never written again (like msgpackr: the next encode continues after it, or in
 * a fresh chunk), so encoding costs no allocation per record.
 */
export class ByteWriter {
  bytes: Uint8Array = new Uint8Array(CHUNK);
  view: DataView = new DataView(this.bytes.buffer);
  /** Where the current record starts. */
  start = 0;
  /** Where the next byte goes. */
  pos = 0;
  /** True until a string with a non-ASCII character is written into the current record (record.ts flags it). */
  ascii = true;

  /** Starts a new record (after the previous one, or in a fresh chunk when little room is left). */
  begin(): void {
    if (this.bytes.length - this.pos < 1024) this.replace(CHUNK);
    // Keep records 8-byte aligned within the chunk so float vectors can be aligned relative to the record start.
    this.pos = (this.pos + 7) & ~7;
    this.start = this.pos;
    this.ascii = true;
  }

  /** Makes room for `n` more bytes, moving the current record to a larger chunk if needed. */
  ensure(n: number): void {
    if (this.pos + n <= this.bytes.length) return;
    const used = this.pos - this.start;
    const old = this.bytes.subarray(this.start, this.pos);
    this.replace(Math.max(CHUNK, (used + n) * 2));
    this.bytes.set(old, 0);
    this.start = 0;
    this.pos = used;
  }

  private replace(size: number): void {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
    this.start = 0;
    this.pos = 0;
  }

  /** Offset of the next byte relative to the record start. */
  get offset(): number {
    return this.pos - this.start;
  }

  /** Pads with zeros so the next byte is at a multiple of `n` relative to the record start. */
  align(n: number): void {
    const pad = (n - (this.offset % n)) % n;
    this.ensure(pad);
    for (let i = 0; i < pad; i++) this.bytes[this.pos++] = 0;
  }

  u8(v: number): void {
    this.ensure(1);
    this.bytes[this.pos++] = v;
  }

  u16(v: number): void {
    this.ensure(2);
    this.view.setUint16(this.pos, v, true);
    this.pos += 2;
  }

  u32(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.pos, v, true);
    this.pos += 4;
  }

  i32(v: number): void {
    this.ensure(4);
    this.view.setInt32(this.pos, v, true);
    this.pos += 4;
  }

  f64(v: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  /** Writes raw bytes. */
  raw(b: Uint8Array): void {
    this.ensure(b.length);
    this.bytes.set(b, this.pos);
    this.pos += b.length;
  }

  /** Writes `s` as UTF-8 and returns the number of bytes written (no length prefix). */
  utf8(s: string): number {
    // Worst case 3 bytes per UTF-16 unit.
    this.ensure(s.length * 3);
    const n = s.length;
    if (n <= 64) {
      // Short ASCII (ids, keys, labels) in a plain loop: TextEncoder.encodeInto costs more to call than to run here.
      const bytes = this.bytes;
      const start = this.pos;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        bytes[start + i] = c;
      }
      if (i === n) {
        this.pos += n;
        return n;
      }
    }
    const written =
      nodeUtf8Write !== undefined
        ? nodeUtf8Write.call(this.bytes, s, this.pos, this.bytes.length - this.pos)
        : textEncoder.encodeInto(s, this.bytes.subarray(this.pos)).written;
    // More bytes than UTF-16 units: some character is not ASCII.
    if (written !== n) this.ascii = false;
    this.pos += written;
    return written;
  }

  /** Writes a u32 at an absolute offset relative to the record start (for back-patching). */
  patchU32(offset: number, v: number): void {
    this.view.setUint32(this.start + offset, v, true);
  }

  /** The finished record: a view of its bytes, which later writes never touch. */
  finish(): Uint8Array {
    const out = this.bytes.subarray(this.start, this.pos);
    this.start = this.pos;
    return out;
  }
}
