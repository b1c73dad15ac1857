/**
 * The stored form of the vector index: blocks of unit-length Float32 vectors, kept contiguous so a k-NN query is a
 * few large reads and one tight loop.
 *
 * Block value (little-endian):
 * ```
 * 0   u32  magic 0x42565354 ("TSVB")
 * 4   u16  format version (1)      6  u16 reserved (0)
 * 8   u32  dimensions              12 u32 slots in this block
 * 16  f32  slots x dimensions      the vectors, normalised to length 1 (zero vectors stay zero)
 * ..  then per slot: u16 byte length + UTF-8 id (length 0: a free slot)
 * ```
 * Vectors start at byte 16, so a value whose bytes start 4-aligned is read without a copy.
 */
import { copyBytes } from '../engine/bytes.js';
import { StorageError } from '../engine/errors.js';

const MAGIC = 0x42565354;
const VERSION = 1;
const HEADER = 16;
/**
 * Size of a new block's vector data. New vectors are appended to small blocks (a single insert rewrites at most
 * this much), and every {@link MERGE_RUN} full small blocks are merged into one large block (~768 KiB), because
 * reading a few large values is much faster than many small ones (Chromium IndexedDB here: 150 MB in ~0.7 s as
 * 1 MiB values, ~1.5 s as 48 KiB values).
 */
export const BLOCK_BYTES = 48 * 1024;
/** How many full small blocks are merged into one large block. */
export const MERGE_RUN = 16;

/** The most dimensions a vector of the index has (a block with more is damage). */
export const MAX_DIMENSIONS = 65536;

/** The most slots a block holds: slot references store the slot number in 16 bits. */
export const MAX_BLOCK_SLOTS = 0x10000;

/** Slots of a small block for vectors of `dimensions`. */
export const blockCapacity = (dimensions: number): number => Math.max(1, Math.floor(BLOCK_BYTES / (dimensions * 4)));

/** One block in memory: `ids[s]` is undefined for a free slot; slot `s` is `vectors[s*dim .. (s+1)*dim)`. */
export interface VectorBlock {
  readonly dimensions: number;
  ids: (string | undefined)[];
  vectors: Float32Array;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Encodes a block (its `ids.length` slots). */
export function encodeBlock(block: VectorBlock): Uint8Array {
  const { dimensions, ids } = block;
  const idBytes = ids.map((id) => (id === undefined ? new Uint8Array(0) : encoder.encode(id)));
  const vectorBytes = ids.length * dimensions * 4;
  let size = HEADER + vectorBytes;
  for (const b of idBytes) size += 2 + b.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint16(4, VERSION, true);
  view.setUint32(8, dimensions, true);
  view.setUint32(12, ids.length, true);
  new Float32Array(out.buffer, HEADER, ids.length * dimensions).set(block.vectors.subarray(0, ids.length * dimensions));
  let pos = HEADER + vectorBytes;
  for (const b of idBytes) {
    view.setUint16(pos, b.length, true);
    out.set(b, pos + 2);
    pos += 2 + b.length;
  }
  return out;
}

const corrupted = (what: string): StorageError =>
  new StorageError('CORRUPTED', `A vector index block is damaged (${what}); run manager.indexes.rebuild() to rewrite the index from the embeddings.`, {
    store: 'vectors',
  });

/**
 * Decodes a block. The vectors are a view over `bytes` when they are 4-aligned (no copy), otherwise a copy; pass
 * `capacity` to get room for that many slots (always a copy then), for a block that will be written to.
 */
export function decodeBlock(bytes: Uint8Array, capacity?: number): VectorBlock {
  if (bytes.length < HEADER) throw corrupted('shorter than its header');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== MAGIC || view.getUint16(4, true) !== VERSION) throw corrupted('unknown format');
  const dimensions = view.getUint32(8, true);
  const slots = view.getUint32(12, true);
  if (dimensions === 0 || dimensions > MAX_DIMENSIONS) throw corrupted(`${dimensions} dimensions`);
  const vectorBytes = slots * dimensions * 4;
  if (HEADER + vectorBytes > bytes.length) throw corrupted('vectors past its end');
  const floats = slots * dimensions;
  let vectors: Float32Array;
  if (capacity !== undefined) {
    vectors = new Float32Array(Math.max(capacity, slots) * dimensions);
    new Uint8Array(vectors.buffer).set(bytes.subarray(HEADER, HEADER + vectorBytes));
  } else {
    vectors = floatsOf(bytes, floats);
  }
  const ids: (string | undefined)[] = new Array<string | undefined>(slots);
  let pos = HEADER + vectorBytes;
  for (let s = 0; s < slots; s++) {
    if (pos + 2 > bytes.length) throw corrupted('id table past its end');
    const length = view.getUint16(pos, true);
    pos += 2;
    if (pos + length > bytes.length) throw corrupted('id past its end');
    try {
      ids[s] = length === 0 ? undefined : decoder.decode(bytes.subarray(pos, pos + length));
    } catch {
      throw corrupted('an id that is not UTF-8');
    }
    pos += length;
  }
  if (pos !== bytes.length) throw corrupted('bytes after its id table');
  return { dimensions, ids, vectors };
}

function floatsOf(bytes: Uint8Array, count: number): Float32Array {
  const start = bytes.byteOffset + HEADER;
  if (start % 4 === 0) return new Float32Array(bytes.buffer, start, count);
  return new Float32Array(copyBytes(bytes.subarray(HEADER, HEADER + count * 4)).buffer);
}

/** A slot reference: which block, which slot. Stored as u32 block + u16 slot. */
export interface SlotRef {
  readonly block: number;
  readonly slot: number;
}

export function encodeSlot(ref: SlotRef): Uint8Array {
  // A wider slot number would be stored wrapped: another vector's slot. Blocks never grow this large.
  if (!(ref.slot >= 0 && ref.slot < MAX_BLOCK_SLOTS)) throw new RangeError(`Vector slot ${ref.slot} does not fit a slot reference.`);
  const out = new Uint8Array(6);
  const view = new DataView(out.buffer);
  view.setUint32(0, ref.block, true);
  view.setUint16(4, ref.slot, true);
  return out;
}

export function decodeSlot(bytes: Uint8Array): SlotRef {
  if (bytes.length !== 6) throw corrupted('a slot reference of the wrong size');
  const view = new DataView(bytes.buffer, bytes.byteOffset, 6);
  return { block: view.getUint32(0, true), slot: view.getUint16(4, true) };
}

/**
 * The index's state: fixed dimensions and small-block capacity; `blocks` is the next block number; blocks from
 * `smallFrom` on are small (the run that will be merged), earlier ones large or gone; `live` vectors; a generation
 * bumped by every commit.
 */
export interface VectorIndexState {
  readonly dimensions: number;
  readonly capacity: number;
  readonly blocks: number;
  readonly smallFrom: number;
  readonly live: number;
  readonly generation: number;
}

export function encodeState(state: VectorIndexState): Uint8Array {
  return encoder.encode(JSON.stringify({ v: 1, ...state }));
}

export function decodeState(bytes: Uint8Array): VectorIndexState {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(bytes));
  } catch {
    throw corrupted('its state is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null) throw corrupted('its state is not an object');
  const s = parsed as Partial<Record<keyof VectorIndexState | 'v', unknown>>;
  const ints = [s.dimensions, s.capacity, s.blocks, s.smallFrom, s.live, s.generation];
  if (s.v !== 1 || !ints.every((n) => Number.isSafeInteger(n) && (n as number) >= 0)) throw corrupted('its state is malformed');
  if (s.dimensions === 0 || (s.dimensions as number) > MAX_DIMENSIONS) throw corrupted(`its state has ${s.dimensions as number} dimensions`);
  return parsed as VectorIndexState;
}

/** `vector` scaled to length 1, as float32 (a zero vector stays zero). */
export function normalized(vector: Float32Array): Float32Array {
  const out = new Float32Array(vector.length);
  normalizeInto(vector, out, 0);
  return out;
}

/** Writes {@link normalized}(`vector`) into `out` from index `at` (no array of its own: straight into a block). */
export function normalizeInto(vector: Float32Array, out: Float32Array, at: number): void {
  let sum = 0;
  for (let i = 0; i < vector.length; i++) sum += vector[i]! * vector[i]!;
  if (sum === 0) {
    out.fill(0, at, at + vector.length);
    return;
  }
  const scale = 1 / Math.sqrt(sum);
  for (let i = 0; i < vector.length; i++) out[at + i] = vector[i]! * scale;
}
