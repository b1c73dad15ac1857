/**
 * Exact k-NN by cosine similarity over embeddings stored as blocks of unit vectors (see vector-block.ts).
 *
 * Writes go through a {@link VectorWriter} bound to the caller's write transaction, so a vector changes in the same
 * atomic commit as its embedding record. Queries read every block once and keep them in memory (`cache`), keyed by
 * the index's generation: each query reads the state (one small get), and only a generation this process did not
 * produce (another process or tab wrote) makes it read the blocks again. A restart reads the blocks, never the
 * embeddings: the index is persistent.
 */
import { tryDecodeKey } from '../codec/keys.js';
import { copyBytes } from '../engine/bytes.js';
import { StorageError, isStorageError, showArgument } from '../engine/errors.js';
import type { ReadTransaction, StorageEngine, WriteTransaction } from '../engine/types.js';
import { PendingWrites } from './pending-writes.js';
import type { NamespaceKeys } from './layout.js';
import {
  MAX_BLOCK_SLOTS,
  MAX_DIMENSIONS,
  MERGE_RUN,
  blockCapacity,
  decodeBlock,
  decodeSlot,
  decodeState,
  encodeBlock,
  encodeSlot,
  encodeState,
  normalizeInto,
  normalized,
  type SlotRef,
  type VectorBlock,
  type VectorIndexState,
} from './vector-block.js';

const STORE = 'vectors';
/** Blocks read per scan page when loading the index. */
const LOAD_PAGE = 256;

/** One k-NN result: the embedding's id, its cosine similarity `score`, and `distance` = 1 - score. */
export interface VectorMatch {
  readonly id: string;
  readonly score: number;
  readonly distance: number;
}

/** What a query runs over: the blocks by number, and where each id lives. */
interface LoadedIndex {
  readonly generation: number;
  readonly dimensions: number;
  readonly blocks: Map<number, VectorBlock>;
  readonly slots: Map<string, SlotRef>;
}

/** A committed writer's changes, applied to the cache after the commit. */
interface CommittedChanges {
  readonly fromGeneration: number;
  readonly state: VectorIndexState;
  readonly blocks: ReadonlyMap<number, VectorBlock>;
  readonly removedBlocks: ReadonlySet<number>;
  readonly slots: ReadonlyMap<string, SlotRef | undefined>;
}

/** The vector index of one namespace. */
export class VectorIndex {
  private cache: LoadedIndex | undefined;
  private readonly stateKey: Uint8Array;
  readonly namespace: string;

  constructor(
    private readonly engine: StorageEngine,
    private readonly keys: NamespaceKeys,
    private readonly configuredDimensions?: number,
  ) {
    if (configuredDimensions !== undefined && (!Number.isSafeInteger(configuredDimensions) || configuredDimensions < 1 || configuredDimensions > MAX_DIMENSIONS)) {
      throw new StorageError('INVALID_ARGUMENT', `vectorDimensions must be an integer from 1 to ${MAX_DIMENSIONS}, got ${showArgument(configuredDimensions)}.`);
    }
    this.namespace = keys.namespace;
    this.stateKey = keys.key('m');
  }

  /** A writer for one write transaction. */
  writer(tx: WriteTransaction): VectorWriter {
    return new VectorWriter(tx, this.keys, this.stateKey, this.configuredDimensions);
  }

  /** The stored state, or undefined before the first vector. */
  async state(reader: ReadTransaction | StorageEngine = this.engine): Promise<VectorIndexState | undefined> {
    const bytes = await reader.get(STORE, this.stateKey);
    return bytes === undefined ? undefined : decodeState(bytes);
  }

  /** Called after a write transaction that used `writer` committed. */
  committed(changes: CommittedChanges | undefined): void {
    if (changes === undefined) return;
    const cache = this.cache;
    if (cache === undefined) return;
    if (cache.generation !== changes.fromGeneration) {
      this.cache = undefined; // someone else wrote in between: reload on the next query
      return;
    }
    for (const no of changes.removedBlocks) cache.blocks.delete(no);
    for (const [no, block] of changes.blocks) cache.blocks.set(no, block);
    for (const [id, ref] of changes.slots) {
      if (ref === undefined) cache.slots.delete(id);
      else cache.slots.set(id, ref);
    }
    this.cache = { ...cache, generation: changes.state.generation, dimensions: changes.state.dimensions };
  }

  /** Forgets the in-memory copy (the next query reads the blocks). */
  invalidate(): void {
    this.cache = undefined;
  }

  /**
   * The `k` stored vectors most similar to `query` by cosine similarity, best first (ties by id). With `candidates`,
   * only those embedding ids are considered (ids without a vector are ignored). With `reader`, the index as that
   * transaction sees it.
   */
  async nearest(query: Float32Array | readonly number[], k: number, candidates?: Iterable<string>, reader?: ReadTransaction): Promise<VectorMatch[]> {
    checkK(k);
    // The query and the candidates are taken now, before the index loads: the caller may reuse them meanwhile.
    const candidateIds = candidates === undefined ? undefined : ownCandidates(candidates);
    const unit = unitQuery(query);
    // Scored in the same turn as the index is checked: a commit's cache update must not land in between.
    return this.withIndex(reader, (index) => (index === undefined || k === 0 ? [] : this.score(index, unit, k, candidateIds)));
  }

  /** The `k` best of `index` for the unit query (among `candidateIds` when given); synchronous. */
  private score(index: LoadedIndex, unit: Float32Array, k: number, candidateIds: Set<string> | undefined): VectorMatch[] {
    if (unit.length !== index.dimensions) {
      throw new StorageError(
        'INVALID_ARGUMENT',
        `The query vector has ${unit.length} dimensions; this index (namespace ${JSON.stringify(this.namespace)}) holds ${index.dimensions}-dimensional vectors.`,
      );
    }
    const top = new TopK(k);
    const dims = index.dimensions;
    if (candidateIds !== undefined) {
      for (const id of candidateIds) {
        const ref = index.slots.get(id);
        if (ref === undefined) continue;
        const block = index.blocks.get(ref.block);
        if (block === undefined) continue;
        top.offer(clamp(dot(unit, block.vectors, ref.slot * dims, dims)), id);
      }
    } else {
      let scores = new Float64Array(0);
      for (const block of index.blocks.values()) {
        const { ids, vectors } = block;
        if (scores.length < ids.length) scores = new Float64Array(ids.length);
        dotAll(unit, vectors, ids.length, dims, scores);
        for (let s = 0; s < ids.length; s++) {
          const score = clamp(scores[s]!);
          if (score < top.floor) continue;
          const id = ids[s];
          if (id !== undefined) top.offer(score, id);
        }
      }
    }
    return top.sorted();
  }

  /** Every stored slot: id -> normalised vector (for verification). Reads inside `tx`. */
  async readAll(tx: ReadTransaction): Promise<{
    /** The state record: `wrong` when it does not decode or disagrees with the blocks. */
    state: 'matching' | 'absent' | 'wrong';
    /** How many blocks are stored. */
    blocks: number;
    vectors: Map<string, Float32Array>;
    slots: Map<string, SlotRef>;
    /** Ids whose slot reference does not point at a slot holding them, or that more than one slot holds. */
    misplaced: Set<string>;
    /** Keys among the slot references that are not `[namespace, 's', id]` (damaged bytes), as stored. */
    damagedSlotKeys: Uint8Array[];
  }> {
    let state: VectorIndexState | 'damaged' | undefined;
    try {
      state = await this.state(tx);
    } catch (error) {
      if (!isStorageError(error, 'CORRUPTED')) throw error;
      state = 'damaged';
    }
    const vectors = new Map<string, Float32Array>();
    const slots = new Map<string, SlotRef>();
    const misplaced = new Set<string>();
    const damagedSlotKeys: Uint8Array[] = [];
    const blocks = await readBlocks(tx, this.keys);
    for (const block of blocks.values()) {
      block.ids.forEach((id, s) => {
        if (id === undefined) return;
        if (vectors.has(id)) misplaced.add(id);
        vectors.set(id, block.vectors.subarray(s * block.dimensions, (s + 1) * block.dimensions));
      });
    }
    for (const entry of await tx.scan(STORE, { prefix: this.keys.key('s') })) {
      const id = tryDecodeKey(entry.key)?.[2];
      if (typeof id !== 'string') {
        damagedSlotKeys.push(copyBytes(entry.key));
        continue;
      }
      const ref = decodeSlot(entry.value);
      slots.set(id, ref);
      if (blocks.get(ref.block)?.ids[ref.slot] !== id) misplaced.add(id);
    }
    const stateCheck = state === undefined ? 'absent' : state !== 'damaged' && stateMatches(state, blocks) ? 'matching' : 'wrong';
    return { state: stateCheck, blocks: blocks.size, vectors, slots, misplaced, damagedSlotKeys };
  }

  /**
   * Calls `use` with the index in memory: the cached copy when its generation is the stored one (every commit changes
   * it), else read from the store (in `reader` when given, as that transaction sees it). `use` runs in the same turn
   * as that check and must be synchronous: {@link committed} updates the cached copy in place, so a cached copy
   * held across an await could show a later commit's changes.
   */
  private async withIndex<T>(reader: ReadTransaction | undefined, use: (index: LoadedIndex | undefined) => T): Promise<T> {
    const state = await this.state(reader);
    if (state === undefined) {
      if (reader === undefined) this.cache = undefined;
      return use(undefined);
    }
    if (this.cache?.generation === state.generation) return use(this.cache);
    const before = this.cache;
    const loaded = reader === undefined ? await this.engine.read([STORE], (tx) => this.read(tx)) : await this.read(reader);
    // Cached unless a commit updated the cache meanwhile (it is newer than what this query read).
    if (this.cache === before) this.cache = loaded;
    return use(loaded);
  }

  private async read(tx: ReadTransaction): Promise<LoadedIndex | undefined> {
    const current = await this.state(tx);
    if (current === undefined) return undefined;
    const blocks = await readBlocks(tx, this.keys);
    const slots = new Map<string, SlotRef>();
    for (const [no, block] of blocks) {
      // Scored with the state's dimensions: a block of other dimensions would be read misaligned.
      if (block.dimensions !== current.dimensions) {
        throw new StorageError(
          'CORRUPTED',
          `Vector block ${no} of namespace ${JSON.stringify(this.namespace)} holds ${block.dimensions}-dimensional vectors, but its index state says ${current.dimensions}; run manager.indexes.rebuild().`,
          { store: STORE },
        );
      }
      block.ids.forEach((id, slot) => {
        if (id !== undefined) slots.set(id, { block: no, slot });
      });
    }
    return { generation: current.generation, dimensions: current.dimensions, blocks, slots };
  }
}

/**
 * Whether `state` agrees with the stored `blocks`: their dimensions, a next block number past every stored one (else
 * a new block would overwrite one), the small run inside it, the capacity its dimensions give, and the live count.
 */
function stateMatches(state: VectorIndexState, blocks: ReadonlyMap<number, VectorBlock>): boolean {
  if (state.smallFrom > state.blocks || state.capacity !== blockCapacity(state.dimensions)) return false;
  let live = 0;
  for (const [no, block] of blocks) {
    if (no >= state.blocks || block.dimensions !== state.dimensions) return false;
    for (const id of block.ids) if (id !== undefined) live++;
  }
  return live === state.live;
}

/** Every block of a namespace, read in pages (one snapshot: `tx`). */
async function readBlocks(tx: ReadTransaction, keys: NamespaceKeys): Promise<Map<number, VectorBlock>> {
  const blocks = new Map<number, VectorBlock>();
  const prefix = keys.key('b');
  let after: Uint8Array | undefined;
  for (;;) {
    const page = await tx.scan(STORE, after === undefined ? { prefix, limit: LOAD_PAGE } : { prefix, gt: after, limit: LOAD_PAGE });
    for (const entry of page) {
      const no = tryDecodeKey(entry.key)?.[2];
      if (typeof no !== 'number') throw new StorageError('CORRUPTED', 'A vector block key is damaged; run manager.indexes.rebuild().', { store: STORE });
      blocks.set(no, decodeBlock(entry.value));
    }
    if (page.length < LOAD_PAGE) return blocks;
    after = page[page.length - 1]!.key;
  }
}

/**
 * Vector changes inside one write transaction. Blocks it touches are read once, changed in memory and written by
 * {@link finish}, so a batch of inserts rewrites each block once. New vectors go to the tail small block; every
 * {@link MERGE_RUN} full small blocks are merged into one large block (their slot references rewritten), so reads
 * see few large values while a single insert rewrites at most one small block.
 */
export class VectorWriter {
  private state: VectorIndexState | undefined;
  private loaded = false;
  private fromGeneration = 0;
  /** Whether {@link checkNewBlocks} found the block numbers from the state's next one free. */
  private newBlocksChecked = false;
  private readonly blocks = new Map<number, VectorBlock>();
  private readonly dirty = new Set<number>();
  private readonly removedBlocks = new Set<number>();
  private readonly slotChanges = new Map<string, SlotRef | undefined>();

  constructor(
    private readonly tx: WriteTransaction,
    private readonly keys: NamespaceKeys,
    private readonly stateKey: Uint8Array,
    private readonly configuredDimensions: number | undefined,
  ) {}

  /**
   * Checks every vector's dimensions against the index's (an empty index: against the first vector's); resolves to
   * them. Remembers nothing: a rejected call leaves an empty index free to take other dimensions.
   */
  private async checkDimensions(items: readonly { id: string; vector: Float32Array }[]): Promise<number> {
    const known = await this.expectedDimensions();
    const expected = known ?? items[0]!.vector.length;
    for (const { id, vector } of items) {
      const what = `Embedding ${JSON.stringify(id)}`;
      if (vector.length === 0) throw new StorageError('INVALID_ARGUMENT', `${what} has an empty vector.`);
      if (vector.length > MAX_DIMENSIONS) {
        throw new StorageError('INVALID_ARGUMENT', `${what} has ${vector.length} dimensions; the vector index takes at most ${MAX_DIMENSIONS}.`);
      }
      if (vector.length !== expected) {
        const holds = known === undefined ? `the first embedding of this call has ${expected}` : `this index (namespace ${JSON.stringify(this.keys.namespace)}) holds ${expected}-dimensional vectors`;
        throw new StorageError('INVALID_ARGUMENT', `${what} has ${vector.length} dimensions; ${holds}. Store other models' vectors in another namespace.`);
      }
    }
    return expected;
  }

  /** Whether a vector of `dimensions` fits this index (no state yet: anything does). */
  async accepts(dimensions: number): Promise<boolean> {
    const expected = await this.expectedDimensions();
    return expected === undefined || expected === dimensions;
  }

  /** The dimensions of the index (as this transaction changed it), else the configured ones. */
  private async expectedDimensions(): Promise<number | undefined> {
    return (await this.loadState())?.dimensions ?? this.configuredDimensions;
  }

  /** Inserts or replaces the vector of `id`. */
  async upsert(id: string, vector: Float32Array): Promise<void> {
    const ops = new PendingWrites();
    await this.upsertMany([{ id, vector }], ops);
    await ops.settle();
  }

  /**
   * Inserts or replaces several vectors: their slots are read in one getMany; the slot writes are pushed to `ops`
   * (the caller awaits them with its other writes), the blocks are written by {@link finish}. Everything that can
   * fail (dimensions, damaged slot references or blocks, block numbers in use) fails before the first change, in
   * memory or in the transaction: a caller that catches the error commits nothing of this call.
   */
  async upsertMany(items: readonly { id: string; vector: Float32Array }[], ops: PendingWrites): Promise<void> {
    if (items.length === 0) return;
    const dimensions = await this.checkDimensions(items);
    const refs = await this.slotsOf(items.map((item) => item.id));
    let appends = 0;
    for (const ref of refs.values()) if (ref === undefined) appends++;
    await this.prepareAppends(appends, dimensions);
    // Nothing below fails: every block it reads is in memory.
    this.state ??= this.initialState(dimensions);
    for (const { id, vector } of items) {
      // A vector appended or moved (by a merge) earlier in this loop has its new slot in slotChanges.
      let ref = this.slotChanges.has(id) ? this.slotChanges.get(id) : refs.get(id);
      if (ref === undefined) {
        ref = await this.appendSlot(id, ops);
        this.state = { ...this.state, live: this.state.live + 1 };
      }
      const block = await this.blockOf(ref, id);
      normalizeInto(vector, block.vectors, ref.slot * dimensions);
      this.dirty.add(ref.block);
    }
  }

  /** The slot of each of `ids` (undefined: none yet), its block read and checked to hold it. Writes nothing. */
  private async slotsOf(ids: readonly string[]): Promise<Map<string, SlotRef | undefined>> {
    const refs = new Map<string, SlotRef | undefined>();
    const unknown: string[] = [];
    for (const id of new Set(ids)) {
      if (this.slotChanges.has(id)) refs.set(id, this.slotChanges.get(id));
      else unknown.push(id);
    }
    const stored = unknown.length === 0 ? [] : await this.tx.getMany(STORE, unknown.map((id) => this.keys.key('s', id)));
    unknown.forEach((id, i) => refs.set(id, stored[i] === undefined ? undefined : decodeSlot(stored[i])));
    for (const [id, ref] of refs) if (ref !== undefined) await this.blockOf(ref, id);
    return refs;
  }

  /**
   * Reads every stored block that appending `count` vectors will read (the tail block; the small blocks, when a
   * merge may come) and checks the block numbers to be created are free, so the appends themselves cannot fail.
   */
  private async prepareAppends(count: number, dimensions: number): Promise<void> {
    if (count === 0) return;
    const state = this.state ?? this.initialState(dimensions);
    let free = 0;
    if (state.blocks - 1 >= state.smallFrom) {
      const tail = await this.block(state.blocks - 1);
      if (tail !== undefined) free = state.capacity - tail.ids.length;
    }
    if (count <= free) return;
    await this.checkNewBlocks();
    // An over-estimate of whether a merge comes: reading the small blocks needlessly is harmless, and rare.
    if (state.blocks - state.smallFrom + Math.ceil(count / state.capacity) >= MERGE_RUN) {
      for (let no = state.smallFrom; no < state.blocks; no++) await this.block(no);
    }
  }

  /**
   * Refuses (CORRUPTED) to create blocks when a stored block is numbered at or past the state's next block number (a
   * damaged state): a new block would be written over it. Once per transaction, before its first new block.
   */
  private async checkNewBlocks(): Promise<void> {
    if (this.newBlocksChecked) return;
    const next = this.state?.blocks ?? 0;
    const [last] = await this.tx.scanKeys(STORE, { prefix: this.keys.key('b'), reverse: true, limit: 1 });
    const no = last === undefined ? undefined : tryDecodeKey(last)?.[2];
    if (last !== undefined && !(typeof no === 'number' && no < next)) {
      throw new StorageError(
        'CORRUPTED',
        `The vector index state of namespace ${JSON.stringify(this.keys.namespace)} does not match its blocks (${typeof no === 'number' ? `block ${no} is stored, the next new block would be ${next}` : 'a block key is damaged'}); run manager.indexes.rebuild().`,
        { store: STORE },
      );
    }
    this.newBlocksChecked = true;
  }

  /** Removes the vector of `id`; resolves to whether there was one. */
  async remove(id: string): Promise<boolean> {
    const state = await this.loadState();
    if (state === undefined) return false;
    const ref = await this.slotOf(id);
    if (ref === undefined) return false;
    const block = await this.blockOf(ref, id); // the last step that can fail: nothing is changed before it
    block.ids[ref.slot] = undefined;
    block.vectors.fill(0, ref.slot * state.dimensions, (ref.slot + 1) * state.dimensions);
    this.dirty.add(ref.block);
    this.slotChanges.set(id, undefined);
    await this.tx.delete(STORE, this.keys.key('s', id));
    this.state = { ...state, live: state.live - 1 };
    return true;
  }

  /** Writes the changed blocks and the new state; returns what the cache must learn once the commit is done. */
  async finish(): Promise<CommittedChanges | undefined> {
    if (this.dirty.size === 0 && this.slotChanges.size === 0 && this.removedBlocks.size === 0) return undefined;
    const ops = new PendingWrites();
    await this.reclaim(ops);
    const state = { ...this.state!, generation: this.fromGeneration + 1 };
    const blocks = new Map<number, VectorBlock>();
    for (const no of this.dirty) {
      const block = trimmed(this.blocks.get(no)!);
      blocks.set(no, block);
      ops.add(this.tx.put(STORE, this.keys.key('b', no), encodeBlock(block)));
    }
    ops.add(this.tx.put(STORE, this.stateKey, encodeState(state)));
    await ops.settle();
    return { fromGeneration: this.fromGeneration, state, blocks, removedBlocks: this.removedBlocks, slots: this.slotChanges };
  }

  /**
   * Space left by deletions: a changed block with no vector left is deleted; a large block less than a quarter full
   * is dissolved (its vectors appended again at the end). So tier moves, which delete old vectors in bulk, do not
   * leave queries scanning empty slots.
   */
  private async reclaim(ops: PendingWrites): Promise<void> {
    for (const no of [...this.dirty]) {
      const block = this.blocks.get(no);
      if (block === undefined) continue;
      let live = 0;
      for (const id of block.ids) if (id !== undefined) live++;
      const large = no < this.state!.smallFrom;
      if (live > 0 && !(large && live * 4 < block.ids.length)) continue;
      const dims = block.dimensions;
      this.dropBlock(no, ops);
      for (let s = 0; s < block.ids.length; s++) {
        const id = block.ids[s];
        if (id === undefined) continue;
        const ref = await this.appendSlot(id, ops);
        this.blocks.get(ref.block)!.vectors.set(block.vectors.subarray(s * dims, (s + 1) * dims), ref.slot * dims);
      }
    }
  }

  private dropBlock(no: number, ops: PendingWrites): void {
    this.blocks.delete(no);
    this.dirty.delete(no);
    this.removedBlocks.add(no);
    ops.add(this.tx.delete(STORE, this.keys.key('b', no)));
  }

  /**
   * Gives `id` a free slot at the end (the tail small block's next slot, or a new small block, merging a full run
   * first) and writes its slot reference; the caller fills in the vector.
   */
  private async appendSlot(id: string, ops: PendingWrites): Promise<SlotRef> {
    let state = this.state!;
    let ref: SlotRef | undefined;
    const tail = state.blocks - 1;
    if (tail >= state.smallFrom) {
      const tailBlock = await this.block(tail);
      if (tailBlock !== undefined && tailBlock.ids.length < state.capacity) ref = { block: tail, slot: tailBlock.ids.length };
    }
    if (ref === undefined) {
      await this.checkNewBlocks();
      if (state.blocks - state.smallFrom >= MERGE_RUN) {
        await this.mergeSmallBlocks(ops);
        state = this.state!;
      }
      const no = state.blocks;
      this.blocks.set(no, { dimensions: state.dimensions, ids: [], vectors: new Float32Array(state.capacity * state.dimensions) });
      this.state = { ...state, blocks: no + 1 };
      ref = { block: no, slot: 0 };
    }
    this.blocks.get(ref.block)!.ids[ref.slot] = id;
    this.dirty.add(ref.block);
    this.slotChanges.set(id, ref);
    ops.add(this.tx.put(STORE, this.keys.key('s', id), encodeSlot(ref)));
    return ref;
  }

  /**
   * Merges the run of small blocks into large blocks numbered next (one, unless the run holds more than
   * MAX_BLOCK_SLOTS vectors: short vectors); rewrites the moved vectors' slots.
   */
  private async mergeSmallBlocks(ops: PendingWrites): Promise<void> {
    const state = this.state!;
    const dims = state.dimensions;
    const ids: string[] = [];
    const parts: Float32Array[] = [];
    for (let no = state.smallFrom; no < state.blocks; no++) {
      const block = await this.block(no);
      if (block === undefined) continue;
      block.ids.forEach((id, s) => {
        if (id === undefined) return;
        ids.push(id);
        parts.push(block.vectors.subarray(s * dims, (s + 1) * dims));
      });
      this.dropBlock(no, ops);
    }
    let next = state.blocks;
    for (let from = 0; from < ids.length; from += MAX_BLOCK_SLOTS, next++) {
      const blockIds = ids.slice(from, from + MAX_BLOCK_SLOTS);
      const vectors = new Float32Array(blockIds.length * dims);
      blockIds.forEach((_, i) => vectors.set(parts[from + i]!, i * dims));
      this.blocks.set(next, { dimensions: dims, ids: blockIds, vectors });
      this.dirty.add(next);
      blockIds.forEach((id, slot) => {
        const ref = { block: next, slot };
        this.slotChanges.set(id, ref);
        ops.add(this.tx.put(STORE, this.keys.key('s', id), encodeSlot(ref)));
      });
    }
    this.state = { ...state, blocks: next, smallFrom: next };
  }

  private initialState(dimensions: number): VectorIndexState {
    return { dimensions, capacity: blockCapacity(dimensions), blocks: 0, smallFrom: 0, live: 0, generation: this.fromGeneration };
  }

  private async loadState(): Promise<VectorIndexState | undefined> {
    if (!this.loaded) {
      const bytes = await this.tx.get(STORE, this.stateKey);
      this.state = bytes === undefined ? undefined : decodeState(bytes);
      // Without a stored state (a new index, or one a rebuild cleared) generations restart at a random point, so a
      // cache of the old index in another process never matches a new generation by accident.
      this.fromGeneration = this.state?.generation ?? randomGeneration();
      this.loaded = true;
      if (this.state !== undefined && this.configuredDimensions !== undefined && this.state.dimensions !== this.configuredDimensions) {
        throw new StorageError(
          'INVALID_ARGUMENT',
          `This manager was opened with vectorDimensions ${this.configuredDimensions}, but the stored index (namespace ${JSON.stringify(this.keys.namespace)}) holds ${this.state.dimensions}-dimensional vectors.`,
        );
      }
    }
    return this.state;
  }

  private async slotOf(id: string): Promise<SlotRef | undefined> {
    if (this.slotChanges.has(id)) return this.slotChanges.get(id);
    const bytes = await this.tx.get(STORE, this.keys.key('s', id));
    return bytes === undefined ? undefined : decodeSlot(bytes);
  }

  /** Block `no`, read once per transaction (with room to grow when it is a small block). */
  private async block(no: number): Promise<VectorBlock | undefined> {
    const known = this.blocks.get(no);
    if (known !== undefined) return known;
    const state = this.state;
    // Without a state there are no blocks: any stored one is left over (see checkNewBlocks).
    if (state === undefined || this.removedBlocks.has(no)) return undefined;
    const bytes = await this.tx.get(STORE, this.keys.key('b', no));
    if (bytes === undefined) return undefined;
    const block = decodeBlock(bytes, no >= state.smallFrom ? state.capacity : undefined);
    if (block.dimensions !== state.dimensions) throw this.missingBlock(no);
    this.blocks.set(no, block); // bytes a read returns belong to the caller, so a view over them may be changed
    return block;
  }

  /**
   * The block holding `id` at `ref`. A reference to a block that is missing, or to a slot that does not hold `id`
   * (past the block's slots, free, or another vector's), is damage: CORRUPTED, rather than a vector written over
   * another one or past the end of the vectors.
   */
  private async blockOf(ref: SlotRef, id: string): Promise<VectorBlock> {
    const block = await this.block(ref.block);
    if (block === undefined) throw this.missingBlock(ref.block);
    if (block.ids[ref.slot] !== id) throw this.missingBlock(ref.block, ref.slot);
    return block;
  }

  private missingBlock(no: number, slot?: number): StorageError {
    const what = slot === undefined ? `Vector block ${no}` : `Slot ${slot} of vector block ${no}`;
    return new StorageError('CORRUPTED', `${what} of namespace ${JSON.stringify(this.keys.namespace)} is missing or damaged; run manager.indexes.rebuild().`, {
      store: STORE,
    });
  }
}

/** A random starting generation (2^40 values: a repeat is practically impossible). */
function randomGeneration(): number {
  return Math.floor(Math.random() * 2 ** 40);
}

/** The block with its vector array cut to its slots (blocks being filled keep spare room). */
function trimmed(block: VectorBlock): VectorBlock {
  const used = block.ids.length * block.dimensions;
  return block.vectors.length === used ? block : { ...block, vectors: block.vectors.slice(0, used) };
}

/** Checks the `k` of a k-NN query: INVALID_ARGUMENT unless a non-negative integer. */
export function checkK(k: number): void {
  if (!Number.isSafeInteger(k) || k < 0) throw new StorageError('INVALID_ARGUMENT', `k must be a non-negative integer, got ${showArgument(k)}.`);
}

/** `query` as a unit Float32Array; INVALID_ARGUMENT for what is not a vector of finite numbers, or an all-zero one. */
export function unitQuery(query: Float32Array | readonly number[]): Float32Array {
  const unit = normalized(toFloat32(query, 'The query vector'));
  if (unit.every((x) => x === 0)) throw new StorageError('INVALID_ARGUMENT', 'The query vector is empty or all zeros; cosine similarity needs a direction.');
  return unit;
}

/**
 * A copy of a query vector, taken where a query awaits before using it (the caller may reuse its array meanwhile).
 * Anything that is not a vector is returned as it is, for the query's own validation to report.
 */
export function ownQuery(query: Float32Array | readonly number[]): Float32Array | readonly number[] {
  return query instanceof Float32Array || Array.isArray(query) ? query.slice() : query;
}

/**
 * Candidate embedding ids as a set taken now (an iterator is read once, whatever uses the ids later); throws
 * INVALID_ARGUMENT unless `candidates` is an iterable other than a string.
 */
export function ownCandidates(candidates: Iterable<string>): Set<string> {
  if (typeof candidates === 'string' || typeof (candidates as Partial<Iterable<string>> | null)?.[Symbol.iterator] !== 'function') {
    throw new StorageError('INVALID_ARGUMENT', 'candidates must be an array (or other iterable) of embedding ids.');
  }
  return new Set(candidates);
}

/** A Float32Array of `vector` (the same object when it already is one); rejects anything but finite numbers. */
export function toFloat32(vector: Float32Array | readonly number[], what: string): Float32Array {
  if (!(vector instanceof Float32Array) && !Array.isArray(vector)) {
    throw new StorageError('INVALID_ARGUMENT', `${what} must be a Float32Array or an array of numbers.`);
  }
  if (!(vector instanceof Float32Array)) {
    // Float32Array.from would throw a TypeError on a bigint or Symbol, and turn a string or null into a number.
    const at = (vector as readonly unknown[]).findIndex((x) => typeof x !== 'number');
    if (at >= 0) throw new StorageError('INVALID_ARGUMENT', `${what} has a value of type ${typeof vector[at]} at index ${at}; a vector holds numbers only.`);
  }
  const out = vector instanceof Float32Array ? vector : Float32Array.from(vector);
  for (let i = 0; i < out.length; i++) {
    if (!Number.isFinite(out[i])) throw new StorageError('INVALID_ARGUMENT', `${what} has a non-finite number at index ${i}.`);
  }
  return out;
}

/** Dot product of `q` with `dims` floats of `v` from `offset`. */
function dot(q: Float32Array, v: Float32Array, offset: number, dims: number): number {
  // One running sum in index order, as each lane of dotAll adds: equal vectors score exactly the same whichever
  // path scores them (a candidate, a block's last vectors), so ties fall to the id as documented.
  let sum = 0;
  for (let i = 0; i < dims; i++) sum += q[i]! * v[offset + i]!;
  return sum;
}

function dotAll(q: Float32Array, v: Float32Array, count: number, dims: number, out: Float64Array): void {
  let s = 0;
  for (; s + 8 <= count; s += 8) {
    const o0 = s * dims;
    const o1 = o0 + dims;
    const o2 = o1 + dims;
    const o3 = o2 + dims;
    const o4 = o3 + dims;
    const o5 = o4 + dims;
    const o6 = o5 + dims;
    const o7 = o6 + dims;
    let a0 = 0;
    let a1 = 0;
    let a2 = 0;
    let a3 = 0;
    let a4 = 0;
    let a5 = 0;
    let a6 = 0;
    let a7 = 0;
    for (let i = 0; i < dims; i++) {
      const x = q[i]!;
      a0 += x * v[o0 + i]!;
      a1 += x * v[o1 + i]!;
      a2 += x * v[o2 + i]!;
      a3 += x * v[o3 + i]!;
      a4 += x * v[o4 + i]!;
      a5 += x * v[o5 + i]!;
      a6 += x * v[o6 + i]!;
      a7 += x * v[o7 + i]!;
    }
    out[s] = a0;
    out[s + 1] = a1;
    out[s + 2] = a2;
    out[s + 3] = a3;
    out[s + 4] = a4;
    out[s + 5] = a5;
    out[s + 6] = a6;
    out[s + 7] = a7;
  }
  for (; s < count; s++) out[s] = dot(q, v, s * dims, dims);
}

/**
 * A dot product of unit vectors as a cosine similarity: float rounding can take it just past ±1. Scores are clamped
 * before they are ranked, so two vectors that both score 1 tie (and fall to the id) as reported.
 */
function clamp(score: number): number {
  return score > 1 ? 1 : score < -1 ? -1 : score;
}

/** The best `k` (score, id) pairs seen: a min-heap on score (ties: the larger id is worse). */
class TopK {
  private readonly scores: number[] = [];
  private readonly ids: string[] = [];
  /** Scores below this cannot enter: -Infinity until k are held, then the worst held score. */
  floor = -Infinity;

  constructor(private readonly k: number) {}

  offer(score: number, id: string): void {
    const n = this.scores.length;
    if (n < this.k) {
      this.scores.push(score);
      this.ids.push(id);
      this.up(n);
      if (n + 1 === this.k) this.floor = this.scores[0]!;
    } else if (n > 0 && worse(this.scores[0]!, this.ids[0]!, score, id)) {
      this.scores[0] = score;
      this.ids[0] = id;
      this.down(0);
      this.floor = this.scores[0]!;
    }
  }

  sorted(): VectorMatch[] {
    const order = this.scores.map((_, i) => i);
    order.sort((x, y) => this.scores[y]! - this.scores[x]! || (this.ids[x]! < this.ids[y]! ? -1 : this.ids[x]! > this.ids[y]! ? 1 : 0));
    return order.map((i) => ({ id: this.ids[i]!, score: this.scores[i]!, distance: 1 - this.scores[i]! }));
  }

  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!worse(this.scores[i]!, this.ids[i]!, this.scores[parent]!, this.ids[parent]!)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  private down(i: number): void {
    const n = this.scores.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && worse(this.scores[l]!, this.ids[l]!, this.scores[m]!, this.ids[m]!)) m = l;
      if (r < n && worse(this.scores[r]!, this.ids[r]!, this.scores[m]!, this.ids[m]!)) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }

  private swap(i: number, j: number): void {
    [this.scores[i], this.scores[j]] = [this.scores[j]!, this.scores[i]!];
    [this.ids[i], this.ids[j]] = [this.ids[j]!, this.ids[i]!];
  }
}

/** Whether (s1, id1) ranks below (s2, id2). */
function worse(s1: number, id1: string, s2: number, id2: string): boolean {
  return s1 < s2 || (s1 === s2 && id1 > id2);
}
