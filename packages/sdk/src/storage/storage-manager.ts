/**
 * The agent-facing store: typed nodes, edges and embeddings over any {@link StorageEngine}, in the binary record
 * format, with the IndexManager's entries written in the same transaction as each record.
 */
import { StorageError } from '../engine/errors.js';
import { retryOnConflict } from '../engine/retry.js';
import { WriteLock } from '../engine/write-lock.js';
import type { BorrowingReader, Durability, ReadTransaction, StorageEngine, WriteTransaction } from '../engine/types.js';
import {
  decodeEdge,
  decodeEmbedding,
  decodeNode,
  nodeView,
  type NodeView,
} from '../model/nodes.js';
import type { Edge, Embedding, Log, Message, Node, NodeOf, NodeType } from '../model/schemas.js';
import { PendingWrites } from './pending-writes.js';
import { IndexManager, type EdgeQuery, type NearestOptions, type TimeQuery } from './index-manager.js';
import type { StructuralProperty, TimedNodeType } from './index-spec.js';
import { NamespaceKeys, STORAGE_STORES, checkId, checkLookupString } from './layout.js';
import { checkArray, optionsOf, prepareEdges, prepareEmbeddings, prepareNodes, type PreparedEmbedding, type PreparedRecord } from './prepared.js';
import { VectorIndex, ownCandidates, ownQuery, type VectorMatch, type VectorWriter } from './vector-index.js';

/** Options of a {@link StorageManager}. */
export interface StorageManagerOptions {
  /**
   * Keys of this manager start with this namespace, so several managers share one engine ('' by default). The
   * DatabaseCoordinator gives each database and tier its own.
   */
  namespace?: string;
  /** The dimensions every embedding of this namespace must have. Default: fixed by the first one stored. */
  vectorDimensions?: number;
  /** Durability of this manager's writes (default: the engine's). */
  durability?: Durability;
}

/** Options of node deletion. */
export interface DeleteNodeOptions {
  /** Also delete every edge into or out of the node (in the same transaction). */
  cascadeEdges?: boolean;
}

/** Several writes applied in one transaction by {@link StorageManager.batch}. Deletions run first. */
export interface Batch {
  deleteNodes?: readonly string[];
  deleteEdges?: readonly string[];
  deleteEmbeddings?: readonly string[];
  nodes?: readonly Node[];
  edges?: readonly Edge[];
  embeddings?: readonly Embedding[];
}

/** A page of nodes: `limit` caps it, `after` continues after an id. */
export interface PageQuery {
  limit?: number;
  after?: string;
  reverse?: boolean;
}

/**
 * Typed CRUD of nodes, edges and embeddings, their indexes, and time-ordered, graph and vector queries, over any
 * engine that declares {@link STORAGE_STORES}.
 */
export class StorageManager<E extends StorageEngine = StorageEngine> {
  /** Index lookups and upkeep (structural, graph, vector; verify and rebuild). */
  readonly indexes: IndexManager;
  readonly namespace: string;
  /** @internal */
  readonly vectors: VectorIndex;
  /** @internal */
  readonly keys: NamespaceKeys;
  private readonly durability: Durability | undefined;
  /** The engine's zero-copy reads, when it has them: a full decode copies what it keeps, so it may borrow. */
  private readonly borrowing: BorrowingReader | undefined;

  constructor(
    readonly engine: E,
    options: StorageManagerOptions = {},
  ) {
    options = optionsOf(options, 'new StorageManager(engine, options)');
    const missing = STORAGE_STORES.filter((store) => !engine.stores.includes(store));
    if (missing.length > 0) {
      throw new StorageError(
        'STORE_NOT_FOUND',
        `The engine lacks the stores ${missing.join(', ')}; open it with the stores in STORAGE_STORES (e.g. stores: [...STORAGE_STORES]).`,
      );
    }
    this.namespace = options.namespace ?? '';
    if (typeof this.namespace !== 'string') throw new StorageError('INVALID_ARGUMENT', 'namespace must be a string.');
    this.durability = options.durability;
    this.keys = new NamespaceKeys(this.namespace);
    const maybeBorrowing = engine as Partial<BorrowingReader>;
    this.borrowing = engine.supports.zeroCopyReads && typeof maybeBorrowing.borrow === 'function' ? (engine as unknown as BorrowingReader) : undefined;
    this.vectors = new VectorIndex(engine, this.keys, options.vectorDimensions);
    this.indexes = new IndexManager(engine, this.keys, this.vectors);
  }

  // ---- transactions ----

  /**
   * Runs `fn` in one atomic write transaction: every write through the {@link ManagerWriter} commits together, or
   * none does. Await only the writer's own calls inside `fn` (IndexedDB commits on any other await). The writer runs
   * its calls one after another in call order, also when they overlap (`Promise.all`), and the commit waits for calls
   * `fn` did not await (and for calls chained on them). A call that fails writes nothing of itself; the other calls'
   * writes commit when its error is caught, and also when it was not awaited (its rejection is then unhandled, as
   * any promise's): await the calls, or let `fn` fail, to roll everything back. Write through `writer` only: the
   * manager's own writes (`store.insertNode`, ...) and the engine's `close()` wait for `fn` to finish, so awaiting one
   * inside `fn` never settles.
   */
  async write<T>(fn: (writer: ManagerWriter) => Promise<T>): Promise<T> {
    return writeTogether(this.engine, (bind) => fn(bind(this)), this.durability);
  }

  /**
   * {@link write} for this manager's own single calls (insertNode, deleteEdge, ...), whose callbacks depend on nothing
   * but their arguments, taken at the call: run again when another process outdated what they read (CONFLICT).
   */
  private writeOwn<T>(fn: (writer: ManagerWriter) => Promise<T>): Promise<T> {
    return retryOnConflict(() => this.write(fn));
  }

  /** Runs `fn` over one snapshot of the manager's stores. */
  async read<T>(fn: (reader: ManagerReader) => Promise<T>): Promise<T> {
    return this.engine.read(STORAGE_STORES, (tx) => fn(new ManagerReader(this, tx)));
  }

  // ---- nodes ----

  /** The node `id`, or undefined. */
  async getNode(id: string): Promise<Node | undefined> {
    return this.readRecord('nodes', id);
  }

  /** A lazy view of node `id` (each field read from the bytes when asked for; metadata as a MetadataView), or undefined. */
  async getNodeView(id: string): Promise<NodeView | undefined> {
    checkId(id, 'The node id');
    const bytes = await this.engine.get('nodes', this.keys.id(id));
    return bytes === undefined ? undefined : nodeView(bytes);
  }

  /** The nodes `ids`, in order, undefined where absent. */
  async getNodes(ids: readonly string[]): Promise<(Node | undefined)[]> {
    checkArray(ids, 'getNodes(ids)');
    for (const id of ids) checkId(id, 'A node id');
    const values = await this.engine.getMany('nodes', ids.map((id) => this.keys.id(id)));
    return values.map((bytes) => (bytes === undefined ? undefined : decodeNode(bytes)));
  }

  /** Inserts or replaces a node, updating its index entries; stores the node as it is at the call. */
  async insertNode(node: Node): Promise<void> {
    await this.insertNodes([node]);
  }

  /** Inserts or replaces several nodes in one transaction; stores them as they are at the call. */
  async insertNodes(nodes: readonly Node[]): Promise<void> {
    const prepared = prepareNodes(nodes);
    await this.writeOwn((w) => w.insertPreparedNodes(prepared));
  }

  /** Deletes a node (and its index entries; its edges too with `cascadeEdges`); resolves to the removed node. */
  async deleteNode(id: string, options?: DeleteNodeOptions): Promise<Node | undefined> {
    return (await this.deleteNodes([id], options))[0];
  }

  /** Deletes several nodes in one transaction; resolves to the removed ones (undefined where absent). */
  async deleteNodes(ids: readonly string[], options?: DeleteNodeOptions): Promise<(Node | undefined)[]> {
    checkArray(ids, 'The ids to delete');
    const own = ids.slice(); // taken at the call: the transaction starts later
    const cascade: DeleteNodeOptions = { cascadeEdges: options?.cascadeEdges };
    return this.writeOwn((w) => w.deleteNodes(own, cascade));
  }

  /** Nodes of one type, in id order (pages with `limit` and `after`). */
  async nodesOfType<K extends NodeType>(type: K, query: PageQuery = {}): Promise<NodeOf<K>[]> {
    query = { ...query }; // taken at the call: the snapshot opens later
    return this.read(async (r) => r.nodesById<NodeOf<K>>(await this.indexes.nodeIdsOfType(type, query, r.tx)));
  }

  /** Nodes whose id starts with `prefix`, in id order. */
  async nodesWithIdPrefix(prefix: string, query: { limit?: number; reverse?: boolean } = {}): Promise<Node[]> {
    checkLookupString(prefix, 'The id prefix');
    query = optionsOf(query, 'nodesWithIdPrefix(prefix, query)');
    const entries = await this.engine.scan('nodes', { prefix: this.keys.stringPrefix(prefix), limit: query.limit, reverse: query.reverse });
    return entries.map((e) => decodeNode(e.value));
  }

  /** Nodes of `type` whose indexed `property` equals `value`. */
  async findNodes<K extends NodeType>(type: K, property: StructuralProperty<K>, value: string, options: { limit?: number } = {}): Promise<NodeOf<K>[]> {
    options = { ...options }; // taken at the call: the snapshot opens later
    return this.read(async (r) => r.nodesById<NodeOf<K>>(await this.indexes.findNodeIds(type, property, value, options, r.tx)));
  }

  // ---- time ----

  /** A chat's messages in timestamp order (`reverse` + `limit` for the newest). */
  async messagesOfChat(chatId: string, query: TimeQuery = {}): Promise<Message[]> {
    query = { ...query }; // taken at the call: the snapshot opens later
    return this.read(async (r) => r.nodesById<Message>(await this.indexes.messageIdsOfChat(chatId, query, r.tx)));
  }

  /** Log entries in time order, optionally of one level. */
  async logs(query: TimeQuery & { level?: Log['level'] } = {}): Promise<Log[]> {
    query = { ...query }; // taken at the call: the snapshot opens later
    return this.read(async (r) => r.nodesById<Log>(await this.indexes.logIds(query, r.tx)));
  }

  /** Nodes of `type` whose own time (createdAt, timestamp, ...) is in `[from, to)`. */
  async nodesInTimeRange<K extends TimedNodeType>(type: K, query: TimeQuery = {}): Promise<NodeOf<K>[]> {
    query = { ...query }; // taken at the call: the snapshot opens later
    return this.read(async (r) => r.nodesById<NodeOf<K>>(await this.indexes.nodeIdsInTime(type, query, r.tx)));
  }

  // ---- edges ----

  /** The edge `id`, or undefined. */
  async getEdge(id: string): Promise<Edge | undefined> {
    return this.readRecord('edges', id);
  }

  /** Inserts or replaces an edge, updating the graph index; stores the edge as it is at the call. */
  async insertEdge(edge: Edge): Promise<void> {
    await this.insertEdges([edge]);
  }

  /** Inserts or replaces several edges in one transaction; stores them as they are at the call. */
  async insertEdges(edges: readonly Edge[]): Promise<void> {
    const prepared = prepareEdges(edges);
    await this.writeOwn((w) => w.insertPreparedEdges(prepared));
  }

  /** Deletes an edge; resolves to the removed edge. */
  async deleteEdge(id: string): Promise<Edge | undefined> {
    return this.writeOwn((w) => w.deleteEdge(id));
  }

  /** A node's edges (both directions by default), optionally of one type. */
  async edgesOf(nodeId: string, query: EdgeQuery = {}): Promise<Edge[]> {
    query = { ...query }; // taken at the call: the snapshot opens later
    return this.read(async (r) => r.edgesOf(nodeId, query));
  }

  /** The nodes at the other end of a node's edges, each once. */
  async neighbours(nodeId: string, query: EdgeQuery = {}): Promise<Node[]> {
    query = { ...query }; // taken at the call: the snapshot opens later
    return this.read(async (r) => r.nodesById(await this.indexes.neighbourIds(nodeId, query, r.tx)));
  }

  // ---- embeddings ----

  /** The embedding `id`, or undefined. */
  async getEmbedding(id: string): Promise<Embedding | undefined> {
    return this.readRecord('embeddings', id);
  }

  /** The embedding node `nodeId` points at (through its `embeddingId`), or undefined. */
  async getEmbeddingByNode(nodeId: string): Promise<Embedding | undefined> {
    return this.read((r) => r.embeddingOfNode(nodeId));
  }

  /** Inserts or replaces an embedding and its vector in the index; stores it (vector included) as it is at the call. */
  async insertEmbedding(embedding: Embedding): Promise<void> {
    await this.insertEmbeddings([embedding]);
  }

  /** Inserts or replaces several embeddings in one transaction; stores them as they are at the call. */
  async insertEmbeddings(embeddings: readonly Embedding[]): Promise<void> {
    const prepared = prepareEmbeddings(embeddings);
    await this.writeOwn((w) => w.insertPreparedEmbeddings(prepared));
  }

  /** Deletes an embedding and its vector; resolves to the removed embedding. */
  async deleteEmbedding(id: string): Promise<Embedding | undefined> {
    return this.writeOwn((w) => w.deleteEmbedding(id));
  }

  /**
   * The `k` embeddings most similar to `query` by cosine similarity: `{id, score, distance}`, best first. Restrict
   * it with `candidates` (embedding ids) or `nodeIds` (e.g. a structural lookup's result: their embeddings).
   */
  async searchSimilar(
    query: Float32Array | readonly number[],
    k: number,
    options: NearestOptions & { nodeIds?: readonly string[] } = {},
  ): Promise<VectorMatch[]> {
    options = optionsOf(options, 'searchSimilar(query, k, options)');
    if (options.nodeIds === undefined) return this.indexes.nearest(query, k, options);
    const ownVector = ownQuery(query); // used after the nodes are read
    const embeddingIds = options.candidates === undefined ? new Set<string>() : ownCandidates(options.candidates);
    const restrictToCandidates = options.candidates !== undefined;
    const fromNodes = new Set<string>();
    checkArray(options.nodeIds, 'options.nodeIds');
    const nodeIds = options.nodeIds.slice();
    for (const id of nodeIds) checkId(id, 'A node id');
    const views = await this.engine.getMany('nodes', nodeIds.map((id) => this.keys.id(id)));
    for (const bytes of views) {
      const embeddingId = bytes === undefined ? undefined : (nodeView(bytes) as { embeddingId?: string }).embeddingId;
      if (embeddingId !== undefined && (!restrictToCandidates || embeddingIds.has(embeddingId))) fromNodes.add(embeddingId);
    }
    return this.indexes.nearest(ownVector, k, { candidates: fromNodes });
  }

  /**
   * One record, decoded. A full decode copies everything it keeps, so engines with zero-copy reads lend their
   * memory for it (no copy of the stored bytes first).
   */
  private async readRecord<S extends RecordStore>(store: S, id: string): Promise<StoredRecords[S] | undefined> {
    const { what, decode } = RECORDS[store] as RecordKind<StoredRecords[S]>;
    checkId(id, what);
    const key = this.keys.id(id);
    if (this.borrowing !== undefined) return this.borrowing.borrow(store, key, decode);
    return decode(await this.engine.get(store, key));
  }

  // ---- several at once ----

  /** Applies a {@link Batch} in one transaction: deletions first, then nodes, edges and embeddings. */
  async batch(batch: Batch, options?: DeleteNodeOptions): Promise<void> {
    if (typeof batch !== 'object' || batch === null || Array.isArray(batch)) {
      throw new StorageError('INVALID_ARGUMENT', 'batch() takes an object like { nodes, edges, embeddings, deleteNodes, ... }.');
    }
    // Taken at the call, as the single inserts do: every record is validated and encoded before anything is written.
    const ids = (value: readonly string[] | undefined, what: string): string[] => {
      if (value === undefined) return [];
      checkArray(value, what);
      return value.slice();
    };
    const deleteNodes = ids(batch.deleteNodes, 'batch.deleteNodes');
    const deleteEdges = ids(batch.deleteEdges, 'batch.deleteEdges');
    const deleteEmbeddings = ids(batch.deleteEmbeddings, 'batch.deleteEmbeddings');
    const nodes = prepareNodes(batch.nodes ?? []);
    const edges = prepareEdges(batch.edges ?? []);
    const embeddings = prepareEmbeddings(batch.embeddings ?? []);
    const deleteOptions = options === undefined ? undefined : { ...options };
    await this.writeOwn(async (w) => {
      await w.deleteNodes(deleteNodes, deleteOptions);
      await w.deleteEdges(deleteEdges);
      for (const id of deleteEmbeddings) await w.deleteEmbedding(id);
      await w.insertPreparedNodes(nodes);
      await w.insertPreparedEdges(edges);
      await w.insertPreparedEmbeddings(embeddings);
    });
  }
}

/** What each record store holds. */
interface StoredRecords {
  nodes: Node;
  edges: Edge;
  embeddings: Embedding;
}
type RecordStore = keyof StoredRecords;

/** How a store's ids are named in errors, and how its stored bytes (or their absence) decode. */
interface RecordKind<R> {
  what: string;
  decode(bytes: Uint8Array | undefined): R | undefined;
}

const RECORDS: { [S in RecordStore]: RecordKind<StoredRecords[S]> } = {
  nodes: { what: 'The node id', decode: (b) => (b === undefined ? undefined : decodeNode(b)) },
  edges: { what: 'The edge id', decode: (b) => (b === undefined ? undefined : decodeEdge(b)) },
  embeddings: { what: 'The embedding id', decode: (b) => (b === undefined ? undefined : decodeEmbedding(b)) },
};

/** Reads of one manager inside one snapshot ({@link StorageManager.read}) or one write transaction. */
export class ManagerReader {
  constructor(
    /** @internal */
    readonly manager: StorageManager,
    /** The engine transaction (for IndexManager calls that take one). */
    readonly tx: ReadTransaction,
  ) {}

  protected key(id: string): Uint8Array {
    return this.manager.keys.id(id);
  }

  async getNode(id: string): Promise<Node | undefined> {
    return this.readRecord('nodes', id);
  }

  async getEdge(id: string): Promise<Edge | undefined> {
    return this.readRecord('edges', id);
  }

  async getEmbedding(id: string): Promise<Embedding | undefined> {
    return this.readRecord('embeddings', id);
  }

  private async readRecord<S extends RecordStore>(store: S, id: string): Promise<StoredRecords[S] | undefined> {
    const { what, decode } = RECORDS[store] as RecordKind<StoredRecords[S]>;
    checkId(id, what);
    return decode(await this.tx.get(store, this.key(id)));
  }

  /** The nodes of `ids` that exist, in order. */
  async nodesById<T = Node>(ids: readonly string[]): Promise<T[]> {
    if (ids.length === 0) return [];
    const values = await this.tx.getMany('nodes', ids.map((id) => this.key(id)));
    const out: T[] = [];
    for (const bytes of values) if (bytes !== undefined) out.push(decodeNode(bytes) as unknown as T);
    return out;
  }

  /** The edges of a node, in the graph index's order. */
  async edgesOf(nodeId: string, query: EdgeQuery = {}): Promise<Edge[]> {
    const ids = await this.manager.indexes.edgeIds(nodeId, query, this.tx);
    if (ids.length === 0) return [];
    const values = await this.tx.getMany('edges', ids.map((id) => this.key(id)));
    const out: Edge[] = [];
    for (const bytes of values) if (bytes !== undefined) out.push(decodeEdge(bytes));
    return out;
  }

  /** The embedding a node points at. */
  async embeddingOfNode(nodeId: string): Promise<Embedding | undefined> {
    checkId(nodeId, 'The node id');
    const bytes = await this.tx.get('nodes', this.key(nodeId));
    if (bytes === undefined) return undefined;
    const embeddingId = (nodeView(bytes) as { embeddingId?: string }).embeddingId;
    return embeddingId === undefined ? undefined : this.getEmbedding(embeddingId);
  }
}

/** Writes of one manager inside one write transaction (see {@link StorageManager.write}). */
export class ManagerWriter extends ManagerReader {
  private vectorWriter: VectorWriter | undefined;
  /**
   * The writer's calls run one after another, in call order, even when the caller does not await one before the next
   * (`Promise.all` over writer calls): each reads previous versions and free vector slots before it writes, so two
   * at once would build on the same state and corrupt indexes and vectors. {@link idle} waits for them all.
   */
  private readonly calls = new WriteLock();
  /** How node and edge writes keep their index entries (shared by inserts and deletes). */
  private readonly nodeEntryOps: EntryOps<Node> = (before, after, ops) => this.manager.indexes.nodeEntryOps(this.tx, before, after, ops);
  private readonly edgeEntryOps: EntryOps<Edge> = (before, after, ops) => this.manager.indexes.edgeEntryOps(this.tx, before, after, ops);

  constructor(
    manager: StorageManager,
    override readonly tx: WriteTransaction,
  ) {
    super(manager, tx);
  }

  /** Inserts or replaces a node and its index entries. */
  insertNode(node: Node): Promise<void> {
    return this.insertNodes([node]);
  }

  /**
   * Inserts or replaces nodes as they are at the call: every node is validated and encoded first, the previous
   * versions are read in one getMany, then the records and index entries are written together (pipelined where the
   * engine can).
   */
  insertNodes(nodes: readonly Node[]): Promise<void> {
    return this.call(() => prepareNodes(nodes), (prepared) => this.upsertAll('nodes', prepared, decodeNode, this.nodeEntryOps, sameNodeType));
  }

  /** @internal Writes nodes prepared at their insert call. */
  insertPreparedNodes(prepared: readonly PreparedRecord<Node>[]): Promise<void> {
    return this.call(() => prepared, () => this.upsertAll('nodes', prepared, decodeNode, this.nodeEntryOps, sameNodeType));
  }

  /** Deletes a node and its index entries (and its edges with `cascadeEdges`); resolves to the removed node. */
  deleteNode(id: string, options: DeleteNodeOptions = {}): Promise<Node | undefined> {
    return this.call(
      () => ({ own: ownIds([id], 'The node id'), cascade: options?.cascadeEdges === true }),
      async ({ own, cascade }) => (await this.removeNodes(own, cascade))[0],
    );
  }

  /** Deletes nodes (read in one getMany); resolves to the removed ones, undefined where absent. */
  deleteNodes(ids: readonly string[], options: DeleteNodeOptions = {}): Promise<(Node | undefined)[]> {
    return this.call(
      () => ({ own: ownIds(ids, 'The node id'), cascade: options?.cascadeEdges === true }),
      ({ own, cascade }) => this.removeNodes(own, cascade),
    );
  }

  private async removeNodes(own: readonly string[], cascade: boolean): Promise<(Node | undefined)[]> {
    // Everything is read and decoded (the nodes, then with cascadeEdges their edges) before the first delete: a
    // damaged record fails the call with nothing of it written.
    const nodes = await this.readForDelete('nodes', own, decodeNode);
    let edges: { keys: Uint8Array[]; removed: (Edge | undefined)[] } | undefined;
    if (cascade) {
      const edgeIds = new Set<string>();
      for (const node of nodes.removed) {
        if (node === undefined) continue;
        for (const id of await this.manager.indexes.edgeIds(node.id, {}, this.tx)) edgeIds.add(id);
      }
      edges = await this.readForDelete('edges', [...edgeIds], decodeEdge);
    }
    const ops = new PendingWrites();
    this.issueDeletes('nodes', nodes, ops, this.nodeEntryOps);
    if (edges !== undefined) this.issueDeletes('edges', edges, ops, this.edgeEntryOps);
    await ops.settle();
    return nodes.removed;
  }

  /** Inserts or replaces an edge and its graph entries. */
  insertEdge(edge: Edge): Promise<void> {
    return this.insertEdges([edge]);
  }

  /** Inserts or replaces edges as they are at the call (validated first, previous versions read in one getMany). */
  insertEdges(edges: readonly Edge[]): Promise<void> {
    return this.call(() => prepareEdges(edges), (prepared) => this.upsertEdges(prepared));
  }

  /** @internal Writes edges prepared at their insert call. */
  insertPreparedEdges(prepared: readonly PreparedRecord<Edge>[]): Promise<void> {
    return this.call(() => prepared, () => this.upsertEdges(prepared));
  }

  private upsertEdges(prepared: readonly PreparedRecord<Edge>[]): Promise<void> {
    return this.upsertAll('edges', prepared, decodeEdge, this.edgeEntryOps, (_, edge) => this.manager.indexes.checkEdgeKeys(edge));
  }

  /** Deletes an edge and its graph entries; resolves to the removed edge. */
  deleteEdge(id: string): Promise<Edge | undefined> {
    return this.call(() => ownIds([id], 'The edge id'), async (own) => (await this.removeEdges(own))[0]);
  }

  /** Deletes edges; resolves to the removed ones, undefined where absent. */
  deleteEdges(ids: readonly string[]): Promise<(Edge | undefined)[]> {
    return this.call(() => ownIds(ids, 'The edge id'), (own) => this.removeEdges(own));
  }

  private async removeEdges(own: readonly string[]): Promise<(Edge | undefined)[]> {
    const edges = await this.readForDelete('edges', own, decodeEdge);
    const ops = new PendingWrites();
    this.issueDeletes('edges', edges, ops, this.edgeEntryOps);
    await ops.settle();
    return edges.removed;
  }

  /**
   * Writes encoded records of one store with their index entries: previous versions in one getMany (a record twice
   * in the batch sees its earlier version), then every write issued and awaited together.
   */
  private async upsertAll<R extends { id: string }>(
    store: 'nodes' | 'edges',
    prepared: readonly { record: R; bytes: Uint8Array }[],
    decode: (bytes: Uint8Array) => R,
    entryOps: EntryOps<R>,
    check: (before: R | undefined, record: R) => void,
  ): Promise<void> {
    if (prepared.length === 0) return;
    const keys = prepared.map((p) => this.key(p.record.id));
    const olds = await this.tx.getMany(store, keys);
    // Everything that can fail (a damaged stored version, a record the indexes refuse) fails before the first write:
    // a caller that catches the error inside its transaction commits nothing of this call.
    const latest = new Map<string, R>();
    const befores = prepared.map(({ record }, i) => {
      const old = olds[i];
      const before = latest.has(record.id) ? latest.get(record.id) : old === undefined ? undefined : decode(old);
      check(before, record);
      latest.set(record.id, record);
      return before;
    });
    const ops = new PendingWrites();
    prepared.forEach(({ record, bytes }, i) => {
      ops.add(this.tx.put(store, keys[i]!, bytes));
      entryOps(befores[i], record, ops);
    });
    await ops.settle();
  }

  /**
   * The first half of a delete: reads and decodes the records of `ids` (once per id; undefined where absent or
   * repeated). Writes nothing, so a damaged record fails the call before anything is deleted.
   */
  private async readForDelete<R>(
    store: 'nodes' | 'edges',
    ids: readonly string[],
    decode: (bytes: Uint8Array) => R,
  ): Promise<{ keys: Uint8Array[]; removed: (R | undefined)[] }> {
    if (ids.length === 0) return { keys: [], removed: [] };
    const keys = ids.map((id) => this.key(id));
    const olds = await this.tx.getMany(store, keys);
    const gone = new Set<string>();
    const removed = olds.map((old, i) => {
      if (old === undefined || gone.has(ids[i]!)) return undefined;
      gone.add(ids[i]!);
      return decode(old);
    });
    return { keys, removed };
  }

  /** The second half: issues the deletes of the records read, with their index entries, into `ops`. */
  private issueDeletes<R>(
    store: 'nodes' | 'edges',
    read: { keys: Uint8Array[]; removed: (R | undefined)[] },
    ops: PendingWrites,
    entryOps: EntryOps<R>,
  ): void {
    read.removed.forEach((record, i) => {
      if (record === undefined) return;
      ops.add(this.tx.delete(store, read.keys[i]!));
      entryOps(record, undefined, ops);
    });
  }

  /** Inserts or replaces an embedding and its indexed vector. */
  insertEmbedding(embedding: Embedding): Promise<void> {
    return this.insertEmbeddings([embedding]);
  }

  /**
   * Inserts or replaces embeddings and their indexed vectors as they are at the call (every one validated before
   * anything is written).
   */
  insertEmbeddings(embeddings: readonly Embedding[]): Promise<void> {
    return this.call(() => prepareEmbeddings(embeddings), (prepared) => this.upsertEmbeddings(prepared));
  }

  /** @internal Writes embeddings prepared at their insert call. */
  insertPreparedEmbeddings(prepared: readonly PreparedEmbedding[]): Promise<void> {
    return this.call(() => prepared, () => this.upsertEmbeddings(prepared));
  }

  private async upsertEmbeddings(prepared: readonly PreparedEmbedding[]): Promise<void> {
    if (prepared.length === 0) return;
    const ops = new PendingWrites();
    // upsertMany fails, if it does, before it changes anything; the records are written after it.
    await this.vectorsWriter().upsertMany(prepared, ops);
    for (const p of prepared) ops.add(this.tx.put('embeddings', this.key(p.id), p.bytes));
    await ops.settle();
  }

  /** Deletes an embedding and its vector; resolves to the removed embedding. */
  deleteEmbedding(id: string): Promise<Embedding | undefined> {
    return this.call(
      () => checkId(id, 'The embedding id'),
      async () => {
        const key = this.key(id);
        const old = await this.tx.get('embeddings', key);
        if (old === undefined) return undefined;
        const removed = decodeEmbedding(old); // a damaged record fails the call before anything is deleted
        // The vector first: remove() fails (a damaged slot reference) before it changes anything, the record's
        // delete cannot.
        await this.vectorsWriter().remove(id);
        await this.tx.delete('embeddings', key);
        return removed;
      },
    );
  }

  /** Whether this namespace's vector index takes vectors of `dimensions` (any, before its first vector). */
  acceptsVector(dimensions: number): Promise<boolean> {
    return this.call(() => dimensions, () => this.vectorsWriter().accepts(dimensions));
  }

  /** @internal Writes what was buffered (vector blocks); once, before the commit, after {@link idle}. */
  async finish(): Promise<(() => void) | undefined> {
    if (this.vectorWriter === undefined) return undefined;
    const changes = await this.vectorWriter.finish();
    return () => this.manager.vectors.committed(changes);
  }

  /**
   * @internal Waits until every call made on this writer has settled, calls made meanwhile (a `.then` on an
   * un-awaited call) included; resolves to whether there was any to wait for.
   */
  async idle(): Promise<boolean> {
    let rounds = 0;
    for (; this.calls.size > 0; rounds++) await this.calls.idle();
    return rounds > 1;
  }

  /**
   * One writer call: `take` checks and takes its arguments now (its error rejects the call), `work` runs after the
   * writer's earlier calls have settled (see {@link calls}). The promise returned is the queued work itself, with no
   * wrapper in between, so a `.then` on it runs before the transaction checks for more calls ({@link idle}).
   */
  private call<A, T>(take: () => A, work: (args: A) => Promise<T>): Promise<T> {
    let args: A;
    try {
      args = take();
    } catch (error) {
      return Promise.reject(error as Error);
    }
    return this.calls.run(() => work(args));
  }

  private vectorsWriter(): VectorWriter {
    this.vectorWriter ??= this.manager.vectors.writer(this.tx);
    return this.vectorWriter;
  }
}

/**
 * Runs `fn` in one write transaction of `engine` in which any number of managers of that engine write (the
 * DatabaseCoordinator moves records between namespaces this way): `bind(manager)` gives that manager's writer, `tx`
 * the transaction they share.
 */
export async function writeTogether<T>(
  engine: StorageEngine,
  fn: (bind: (manager: StorageManager) => ManagerWriter, tx: WriteTransaction) => Promise<T>,
  durability?: Durability,
): Promise<T> {
  const afterCommit: (() => void)[] = [];
  const result = await engine.write(
    STORAGE_STORES,
    async (tx) => {
      // One writer per namespace: two manager objects of one namespace share it (and its vector blocks).
      const writers = new Map<string, ManagerWriter>();
      const bind = (manager: StorageManager): ManagerWriter => {
        if (manager.engine !== engine) throw new StorageError('INVALID_ARGUMENT', 'A manager of another engine cannot join this transaction.');
        let writer = writers.get(manager.namespace);
        if (writer === undefined) {
          writer = new ManagerWriter(manager, tx);
          writers.set(manager.namespace, writer);
        }
        return writer;
      };
      // Calls the callback did not await (and calls chained on them) run inside the transaction, also when the
      // callback failed: none may run after it ended.
      const settle = async (): Promise<void> => {
        for (let moved = true; moved; ) {
          moved = false;
          for (const writer of [...writers.values()]) if (await writer.idle()) moved = true;
        }
      };
      let value: T;
      try {
        value = await fn(bind, tx);
      } catch (error) {
        await settle();
        throw error;
      }
      await settle();
      for (const writer of writers.values()) {
        const done = await writer.finish();
        if (done !== undefined) afterCommit.push(done);
      }
      return value;
    },
    durability === undefined ? undefined : { durability },
  );
  for (const done of afterCommit) done();
  return result;
}

/** Replaces the index entries of a record's `before` version with those of `after`, pushing the writes to `ops`. */
type EntryOps<R> = (before: R | undefined, after: R | undefined, ops: PendingWrites) => void;

/** An id is one node: a node of another type would replace it silently (the coordinator refuses it too). */
function sameNodeType(before: Node | undefined, node: Node): void {
  if (before !== undefined && before.type !== node.type) {
    throw new StorageError('INVALID_ARGUMENT', `Node ${JSON.stringify(node.id)} exists as a ${before.type}; a ${node.type} cannot reuse its id (delete it first).`);
  }
}

/** A checked copy of the ids of a delete, taken at the call (the delete may run after earlier calls). */
function ownIds(ids: readonly string[], what: string): string[] {
  checkArray(ids, 'The ids to delete');
  const own = ids.slice();
  for (const id of own) checkId(id, what);
  return own;
}
