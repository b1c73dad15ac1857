/**
 * The indexes of one namespace: structural (property value -> node ids), time orders, graph (edges out of and into
 * a node) and vectors. Entries are composite keys with empty values (graph entries hold the other end's id), written
 * by the StorageManager in the same transaction as the record; a lookup is one prefix scan.
 */
import { decodeKey, tryDecodeKey, tupleScan, type KeyPart } from '../codec/keys.js';
import { bytesToMapKey, compareBytes, copyBytes, equalBytes } from '../engine/bytes.js';
import { CodecError } from '../codec/errors.js';
import { StorageError, showArgument } from '../engine/errors.js';
import { retryOnConflict } from '../engine/retry.js';
import { DEFAULT_MAX_KEY_SIZE } from '../engine/limits.js';
import type { Entry, ReadTransaction, ScanOptions, StorageEngine, WriteTransaction } from '../engine/types.js';
import type { EdgeId, EmbeddingId, NodeId } from '../model/ids.js';
import { decodeEdge, decodeEmbedding, decodeNode, nodeView } from '../model/nodes.js';
import { LOG_LEVELS, type Edge, type Node, type NodeType } from '../model/schemas.js';
import {
  CHAT_TIME_INDEX,
  EMBEDDING_INDEX,
  LOG_LEVEL_TIME_INDEX,
  MAX_INDEXED_VALUE,
  STRUCTURAL_PROPERTIES,
  TIME_FIELDS,
  TYPE_INDEX,
  indexedValue,
  nodeIndexTuples,
  structuralIndexName,
  timeIndexName,
  type StructuralProperty,
  type TimedNodeType,
} from './index-spec.js';
import { EMPTY, checkId, checkLookupString, checkNodeType, fromUtf8, utf8, type NamespaceKeys } from './layout.js';
import { normalized } from './vector-block.js';
import type { PendingWrites } from './pending-writes.js';
import { optionsOf } from './prepared.js';
import type { VectorIndex, VectorMatch } from './vector-index.js';

/** A time range: `from` inclusive, `to` exclusive (epoch ms), newest first with `reverse`, at most `limit`. */
export interface TimeQuery {
  from?: number;
  to?: number;
  limit?: number;
  reverse?: boolean;
  /**
   * Continue after this entry, in the scan's direction: the time and id of the last record of the previous page
   * (`{ time: message.timestamp, id: message.id }`). Records that share a millisecond are ordered by id, so paging
   * with it neither skips nor repeats any, where `to`/`from` set to the last time would.
   */
  after?: { time: number; id: string };
}

/** Which edges of a node: leaving it (`out`), arriving (`in`) or both; optionally of one edge type. */
export interface EdgeQuery {
  direction?: 'out' | 'in' | 'both';
  edgeType?: string;
}

/** Options of a k-NN query. */
export interface NearestOptions {
  /** Consider only these embedding ids (e.g. the embeddings of a structural lookup's nodes). */
  candidates?: Iterable<EmbeddingId | string>;
}

/** One index entry found missing or extra by {@link IndexManager.verify}. */
export interface IndexDrift {
  readonly store: 'index' | 'outgoing' | 'incoming' | 'vectors';
  /** The entry's key, decoded; undefined for an extra entry whose key bytes do not decode (damaged bytes). */
  readonly key: readonly KeyPart[] | undefined;
  /** The key's bytes: as stored for an extra entry (what to delete), as they should be for a missing one. */
  readonly bytes: Uint8Array;
}

/** What {@link IndexManager.verify} found. `ok` when nothing drifted. */
export interface IndexReport {
  readonly ok: boolean;
  readonly checked: { readonly nodes: number; readonly edges: number; readonly embeddings: number };
  /** Entries the records call for that are not stored. */
  readonly missing: readonly IndexDrift[];
  /** Stored entries no record calls for (or with a wrong value). */
  readonly extra: readonly IndexDrift[];
  /** Embedding ids whose indexed vector differs from the record's. */
  readonly vectorMismatches: readonly string[];
}

/** What {@link IndexManager.rebuild} wrote. */
export interface RebuildReport {
  readonly removed: number;
  readonly written: number;
  readonly vectors: number;
}

const INDEX_STORES = ['index', 'outgoing', 'incoming', 'vectors'] as const;

/** The index keys and values an edge has. */
function edgeEntries(keys: NamespaceKeys, edge: Edge): { store: 'outgoing' | 'incoming'; key: Uint8Array; value: Uint8Array }[] {
  return [
    { store: 'outgoing', key: keys.key(edge.fromNode, edge.edgeType, edge.id), value: utf8(edge.toNode) },
    { store: 'incoming', key: keys.key(edge.toNode, edge.edgeType, edge.id), value: utf8(edge.fromNode) },
  ];
}

/** Index lookups and upkeep for one namespace. Get it from `StorageManager.indexes`. */
export class IndexManager {
  readonly namespace: string;

  constructor(
    private readonly engine: StorageEngine,
    /** @internal */
    readonly keys: NamespaceKeys,
    /** @internal */
    readonly vectors: VectorIndex,
  ) {
    this.namespace = keys.namespace;
  }

  // ---- structural ----

  /** Ids of the nodes of `type` whose `property` equals `value` (in id order). */
  async findNodeIds<K extends NodeType>(
    type: K,
    property: StructuralProperty<K>,
    value: string,
    options: { limit?: number } = {},
    tx?: ReadTransaction,
  ): Promise<NodeId[]> {
    checkProperty(type, property);
    checkLookupString(value, `The value of ${type}.${property} to look up`);
    options = optionsOf(options, 'findNodeIds(type, property, value, options)');
    const limit = options.limit;
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) {
      // Checked here too: the exact lookup below slices instead of scanning with it.
      throw new StorageError('INVALID_ARGUMENT', `limit must be a non-negative integer, got ${showArgument(limit)}.`);
    }
    const name = structuralIndexName(type, property);
    // A value of MAX_INDEXED_VALUE - 1 units or more may be the indexed prefix of longer values too (the cut is one
    // unit shorter where it would split a surrogate pair): keep the nodes whose field really equals it.
    if (value.length < MAX_INDEXED_VALUE - 1) return this.idsWithPrefix([name, value], limit, tx);
    const exact = async (reader: ReadTransaction): Promise<NodeId[]> => {
      const ids = await this.idsWithPrefix([name, indexedValue(value)], undefined, reader);
      const records = await reader.getMany('nodes', ids.map((id) => this.keys.id(id)));
      const out: NodeId[] = [];
      records.forEach((bytes, i) => {
        if (bytes !== undefined && (nodeView(bytes) as unknown as Record<string, unknown>)[property] === value) out.push(ids[i]!);
      });
      return limit === undefined ? out : out.slice(0, limit);
    };
    return tx === undefined ? this.engine.read(['index', 'nodes'], exact) : exact(tx);
  }

  /** Ids of the nodes of `type`, in id order (`after`: continue after this id). */
  async nodeIdsOfType(type: NodeType, options: { limit?: number; after?: string; reverse?: boolean } = {}, tx?: ReadTransaction): Promise<NodeId[]> {
    checkNodeType(type);
    options = optionsOf(options, 'nodeIdsOfType(type, options)');
    const prefix = this.keys.key(TYPE_INDEX, type);
    const scan: ScanOptions = { prefix, limit: options.limit, reverse: options.reverse };
    if (options.after !== undefined) {
      checkId(options.after, 'after (the last id of the previous page)');
      const bound = this.keys.key(TYPE_INDEX, type, options.after);
      if (options.reverse) scan.lt = bound;
      else scan.gt = bound;
    }
    return this.lastParts<NodeId>(await (tx ?? this.engine).scanKeys('index', scan));
  }

  /** Ids of the nodes that point at embedding `embeddingId`. */
  async nodeIdsOfEmbedding(embeddingId: string, tx?: ReadTransaction): Promise<NodeId[]> {
    checkId(embeddingId, 'The embedding id');
    return this.idsWithPrefix([EMBEDDING_INDEX, embeddingId], undefined, tx);
  }

  // ---- time ----

  /** Ids of the nodes of `type` by their own time (createdAt, timestamp, scrapedAt, ...). */
  async nodeIdsInTime(type: TimedNodeType, query: TimeQuery = {}, tx?: ReadTransaction): Promise<NodeId[]> {
    checkNodeType(type);
    if (TIME_FIELDS[type] === undefined) throw new StorageError('INVALID_ARGUMENT', `${type} nodes have no time to query by.`);
    return this.timeScan([timeIndexName(type)], query, tx);
  }

  /** Ids of a chat's messages in timestamp order. */
  async messageIdsOfChat(chatId: string, query: TimeQuery = {}, tx?: ReadTransaction): Promise<NodeId[]> {
    checkId(chatId, 'The chat id');
    return this.timeScan([CHAT_TIME_INDEX, chatId], query, tx);
  }

  /** Ids of log entries in time order, optionally of one level. */
  async logIds(query: TimeQuery & { level?: string } = {}, tx?: ReadTransaction): Promise<NodeId[]> {
    query = optionsOf(query, 'logIds(query)');
    if (query.level === undefined) return this.timeScan([timeIndexName('Log')], query, tx);
    if (!(LOG_LEVELS as readonly unknown[]).includes(query.level)) {
      throw new StorageError('INVALID_ARGUMENT', `level must be one of ${LOG_LEVELS.join(', ')}, got ${showArgument(query.level)}.`);
    }
    return this.timeScan([LOG_LEVEL_TIME_INDEX, query.level], query, tx);
  }

  /** Entries `[..., time, id]` under `parts` in a time range; resolves to the ids. */
  async timeScan(parts: KeyPart[], query: TimeQuery, tx?: ReadTransaction): Promise<NodeId[]> {
    query = optionsOf(query, 'A time query');
    const scan: ScanOptions = { ...tupleScan(this.keys.key(...parts)), limit: query.limit, reverse: query.reverse };
    if (query.from !== undefined) scan.gte = this.keys.key(...parts, checkTime(query.from, 'from'));
    if (query.to !== undefined) scan.lt = this.keys.key(...parts, checkTime(query.to, 'to'));
    if (query.after !== undefined) {
      const after = optionsOf(query.after, 'after ({ time, id } of the last record of the previous page)');
      checkId(after.id, 'after.id');
      const bound = this.keys.key(...parts, checkTime(after.time, 'after.time'), after.id);
      // The tighter of the cursor and from/to.
      if (query.reverse === true) {
        if (scan.lt === undefined || compareBytes(bound, scan.lt) < 0) scan.lt = bound;
      } else if (scan.gte === undefined || compareBytes(bound, scan.gte) >= 0) {
        delete scan.gte;
        scan.gt = bound;
      }
    }
    return this.lastParts<NodeId>(await (tx ?? this.engine).scanKeys('index', scan));
  }

  /** `[time, id]` pairs of the age index before `before` (oldest first; after `after`), for tier moves. */
  async agedBefore(
    before: number,
    limit: number,
    tx?: ReadTransaction,
    after?: { id: string; time: number },
  ): Promise<{ id: NodeId; time: number }[]> {
    const keys = await (tx ?? this.engine).scanKeys('index', {
      prefix: this.keys.key('age'),
      lt: this.keys.key('age', before),
      ...(after === undefined ? {} : { gt: this.keys.key('age', after.time, after.id) }),
      limit,
    });
    return keys.map((key) => {
      const parts = decodeKey(key);
      return { time: parts[2] as number, id: parts[3] as NodeId };
    });
  }

  // ---- graph ----

  /** Ids of a node's edges (outgoing first when `both`), in edge type then id order. */
  async edgeIds(nodeId: string, query: EdgeQuery = {}, tx?: ReadTransaction): Promise<EdgeId[]> {
    return (await this.edgeEntries(nodeId, query, tx)).map((e) => e.edgeId);
  }

  /** Ids of the nodes at the other end of a node's edges, each once, in the order first met. */
  async neighbourIds(nodeId: string, query: EdgeQuery = {}, tx?: ReadTransaction): Promise<NodeId[]> {
    const seen = new Set<NodeId>();
    for (const entry of await this.edgeEntries(nodeId, query, tx)) seen.add(entry.other);
    return [...seen];
  }

  /** Graph index entries of a node: edge id, edge type and the node at the other end. */
  async edgeEntries(
    nodeId: string,
    query: EdgeQuery = {},
    tx?: ReadTransaction,
  ): Promise<{ edgeId: EdgeId; edgeType: string; other: NodeId; direction: 'out' | 'in' }[]> {
    checkId(nodeId, 'The node id');
    query = optionsOf(query, 'An edge query');
    const direction = query.direction ?? 'both';
    if (direction !== 'out' && direction !== 'in' && direction !== 'both') {
      throw new StorageError('INVALID_ARGUMENT', `direction must be "out", "in" or "both", got ${showArgument(direction)}.`);
    }
    if (query.edgeType !== undefined) checkLookupString(query.edgeType, 'edgeType');
    const prefix = query.edgeType === undefined ? this.keys.key(nodeId) : this.keys.key(nodeId, query.edgeType);
    const reader = tx ?? this.engine;
    const out: { edgeId: EdgeId; edgeType: string; other: NodeId; direction: 'out' | 'in' }[] = [];
    // An edge from the node to itself is both outgoing and incoming: listed once, as outgoing.
    const selfLoops = new Set<string>();
    for (const dir of direction === 'both' ? (['out', 'in'] as const) : [direction]) {
      for (const entry of await reader.scan(dir === 'out' ? 'outgoing' : 'incoming', tupleScan(prefix))) {
        const parts = decodeKey(entry.key);
        const other = fromUtf8(entry.value) as NodeId;
        const edgeId = parts[3] as EdgeId;
        if (other === nodeId && direction === 'both') {
          if (dir === 'in' && selfLoops.has(edgeId)) continue;
          selfLoops.add(edgeId);
        }
        out.push({ edgeType: parts[2] as string, edgeId, other, direction: dir });
      }
    }
    return out;
  }

  // ---- vectors ----

  /** The `k` embeddings most similar to `query` (cosine), best first: `{id, score, distance}`. */
  async nearest(query: Float32Array | readonly number[], k: number, options: NearestOptions = {}): Promise<VectorMatch[]> {
    return this.vectors.nearest(query, k, optionsOf(options, 'nearest(query, k, options)').candidates);
  }

  // ---- writes (inside the record's transaction) ----

  /**
   * Replaces the index entries of `before` with those of `after` (either may be absent). The writes are issued in
   * order and pushed to `ops` for the caller to await together (IndexedDB then pipelines them).
   */
  nodeEntryOps(tx: WriteTransaction, before: Node | undefined, after: Node | undefined, ops: PendingWrites): void {
    const old = new Map<string, Uint8Array>();
    if (before !== undefined) {
      for (const t of nodeIndexTuples(before)) {
        const key = this.keys.key(...t);
        old.set(bytesToMapKey(key), key);
      }
    }
    if (after !== undefined) {
      for (const t of nodeIndexTuples(after)) {
        const key = this.keys.key(...t);
        if (!old.delete(bytesToMapKey(key))) ops.add(tx.put('index', key, EMPTY));
      }
    }
    for (const key of old.values()) ops.add(tx.delete('index', key));
  }

  /**
   * Refuses an edge whose graph keys would exceed the key size of every engine (INVALID_ARGUMENT): each id is at most
   * MAX_ID_LENGTH units, but three long non-ASCII ids together can exceed it. Called before anything is written.
   */
  checkEdgeKeys(edge: Edge): void {
    for (const e of edgeEntries(this.keys, edge)) {
      if (e.key.length > DEFAULT_MAX_KEY_SIZE) {
        throw new StorageError(
          'INVALID_ARGUMENT',
          `Edge ${JSON.stringify(edge.id)}: its node ids, type and id together make a ${e.key.length}-byte graph key, ` +
            `over the ${DEFAULT_MAX_KEY_SIZE}-byte limit of every engine; use shorter ids (newId() makes 26-character ones).`,
        );
      }
    }
  }

  /**
   * Replaces the graph entries of `before` with those of `after`; writes pushed to `ops` as above. `after` must have
   * passed {@link checkEdgeKeys}.
   */
  edgeEntryOps(tx: WriteTransaction, before: Edge | undefined, after: Edge | undefined, ops: PendingWrites): void {
    const old = new Map<string, { store: 'outgoing' | 'incoming'; key: Uint8Array; value: Uint8Array }>();
    if (before !== undefined) for (const e of edgeEntries(this.keys, before)) old.set(`${e.store}:${bytesToMapKey(e.key)}`, e);
    if (after !== undefined) {
      for (const e of edgeEntries(this.keys, after)) {
        const id = `${e.store}:${bytesToMapKey(e.key)}`;
        const same = old.get(id);
        old.delete(id);
        if (same === undefined || !equalBytes(same.value, e.value)) ops.add(tx.put(e.store, e.key, e.value));
      }
    }
    for (const e of old.values()) ops.add(tx.delete(e.store, e.key));
  }

  // ---- upkeep ----

  /** Compares every index entry with what the records call for, in one snapshot. Writes nothing. */
  async verify(): Promise<IndexReport> {
    return this.engine.read(['nodes', 'edges', 'embeddings', ...INDEX_STORES], async (tx) => {
      const expected = await this.expectedEntries(tx);
      const missing: IndexDrift[] = [];
      const extra: IndexDrift[] = [];
      for (const store of ['index', 'outgoing', 'incoming'] as const) {
        const want = expected.entries[store];
        for (const entry of await tx.scan(store, tupleScan(this.keys.prefix))) {
          const hex = bytesToMapKey(entry.key);
          const value = want.get(hex);
          if (value !== undefined && equalBytes(value.value, entry.value)) want.delete(hex);
          else extra.push({ store, key: tryDecodeKey(entry.key), bytes: copyBytes(entry.key) });
        }
        for (const { key } of want.values()) missing.push({ store, key: decodeKey(key), bytes: key });
      }
      const stored = await this.vectors.readAll(tx);
      const vectorMismatches: string[] = [];
      for (const [id, vector] of expected.vectors) {
        const have = stored.vectors.get(id);
        if (have === undefined || !stored.slots.has(id)) missing.push(this.vectorDrift(id));
        else if (stored.misplaced.has(id) || !sameFloats(have, normalized(vector))) vectorMismatches.push(id);
      }
      for (const id of new Set([...stored.vectors.keys(), ...stored.slots.keys()])) {
        if (!expected.vectors.has(id)) extra.push(this.vectorDrift(id));
      }
      for (const bytes of stored.damagedSlotKeys) extra.push({ store: 'vectors', key: tryDecodeKey(bytes), bytes });
      // The state record: stored but damaged or disagreeing with the blocks, or absent while vectors are called for
      // or stored (a writer would number new blocks over the stored ones).
      const stateDrift = { store: 'vectors', key: [this.namespace, 'm'], bytes: this.keys.key('m') } as const;
      if (stored.state === 'wrong') extra.push(stateDrift);
      else if (stored.state === 'absent' && (stored.blocks > 0 || expected.vectors.size > 0)) missing.push(stateDrift);
      return {
        ok: missing.length === 0 && extra.length === 0 && vectorMismatches.length === 0,
        checked: expected.counts,
        missing,
        extra,
        vectorMismatches,
      };
    });
  }

  /**
   * Rewrites every index of the namespace from its records in one write transaction (the vector blocks come out
   * packed, without free slots). Records are not touched.
   */
  async rebuild(): Promise<RebuildReport> {
    // Run again on CONFLICT: it writes what the records it reads say, and counts inside the callback.
    const report = await retryOnConflict(() => this.engine.write(['nodes', 'edges', 'embeddings', ...INDEX_STORES], async (tx) => {
      const expected = await this.expectedEntries(tx);
      let removed = 0;
      for (const store of INDEX_STORES) {
        for (const key of await tx.scanKeys(store, tupleScan(this.keys.prefix))) {
          await tx.delete(store, key);
          removed++;
        }
      }
      let written = 0;
      for (const store of ['index', 'outgoing', 'incoming'] as const) {
        for (const { key, value } of expected.entries[store].values()) {
          await tx.put(store, key, value);
          written++;
        }
      }
      const writer = this.vectors.writer(tx);
      let vectors = 0;
      for (const [id, vector] of expected.vectors) {
        await writer.upsert(id, vector);
        vectors++;
      }
      await writer.finish();
      return { removed, written, vectors };
    }));
    this.vectors.invalidate();
    return report;
  }

  /** The drift entry of the slot reference of embedding `id`. */
  private vectorDrift(id: string): IndexDrift {
    return { store: 'vectors', key: [this.namespace, 's', id], bytes: this.keys.key('s', id) };
  }

  private async expectedEntries(tx: ReadTransaction) {
    const entries = {
      index: new Map<string, { key: Uint8Array; value: Uint8Array }>(),
      outgoing: new Map<string, { key: Uint8Array; value: Uint8Array }>(),
      incoming: new Map<string, { key: Uint8Array; value: Uint8Array }>(),
    };
    const prefix = tupleScan(this.keys.prefix);
    const counts = { nodes: 0, edges: 0, embeddings: 0 };
    for (const entry of await tx.scan('nodes', prefix)) {
      counts.nodes++;
      for (const t of nodeIndexTuples(decodeStored('nodes', entry, decodeNode))) {
        const key = this.keys.key(...t);
        entries.index.set(bytesToMapKey(key), { key, value: EMPTY });
      }
    }
    for (const entry of await tx.scan('edges', prefix)) {
      counts.edges++;
      for (const e of edgeEntries(this.keys, decodeStored('edges', entry, decodeEdge))) {
        entries[e.store].set(bytesToMapKey(e.key), { key: e.key, value: e.value });
      }
    }
    const vectors = new Map<string, Float32Array>();
    for (const entry of await tx.scan('embeddings', prefix)) {
      counts.embeddings++;
      const embedding = decodeStored('embeddings', entry, decodeEmbedding);
      vectors.set(embedding.id, embedding.vector);
    }
    return { entries, vectors, counts };
  }

  private async idsWithPrefix(parts: KeyPart[], limit?: number, tx?: ReadTransaction): Promise<NodeId[]> {
    return this.lastParts<NodeId>(await (tx ?? this.engine).scanKeys('index', { ...tupleScan(this.keys.key(...parts)), limit }));
  }

  private lastParts<T extends string>(keys: readonly Uint8Array[]): T[] {
    return keys.map((key) => {
      const parts = decodeKey(key);
      return parts[parts.length - 1] as T;
    });
  }
}

/**
 * A stored record decoded for verify/rebuild; one that cannot be is reported with its key (a CodecError alone would
 * not say which record of the scan it was).
 */
function decodeStored<R>(store: string, entry: Entry, decode: (bytes: Uint8Array) => R): R {
  try {
    return decode(entry.value);
  } catch (error) {
    if (!(error instanceof CodecError)) throw error;
    throw new StorageError(
      'CORRUPTED',
      `The ${store} record at key ${describeKey(entry.key)} cannot be decoded (${error.message}); delete or rewrite it, then run the index check again.`,
      { store, cause: error },
    );
  }
}

/** A key as its tuple when it decodes, else as hex. */
function describeKey(key: Uint8Array): string {
  const parts = tryDecodeKey(key);
  return parts !== undefined ? JSON.stringify(parts) : Array.from(key, (b) => b.toString(16).padStart(2, '0')).join('');
}

function sameFloats(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function checkProperty(type: NodeType, property: string): void {
  checkNodeType(type);
  if (!(STRUCTURAL_PROPERTIES[type] as readonly string[]).includes(property)) {
    const known = (STRUCTURAL_PROPERTIES[type] as readonly string[]).join(', ') || 'none';
    throw new StorageError('INVALID_ARGUMENT', `${type}.${property} is not indexed; indexed properties of ${type}: ${known}.`);
  }
}

function checkTime(time: unknown, what: string): number {
  if (typeof time !== 'number' || !Number.isFinite(time)) throw new StorageError('INVALID_ARGUMENT', `${what} must be a finite number of epoch milliseconds.`);
  return time;
}
