/**
 * The DatabaseCoordinator: the database types and temperature tiers of DOMAIN.md over one engine. Each (database,
 * tier, archive quarter) is a StorageManager namespace; a record moves between tiers in one write transaction
 * (deleted from one namespace and inserted into the other), so it is never in neither tier and never in both.
 */
import { decodeKey, encodeKey } from '../codec/keys.js';
import { StorageError } from '../engine/errors.js';
import type { Durability, StorageEngine } from '../engine/types.js';
import type { Edge, Embedding, Message, Node, NodeType } from '../model/schemas.js';
import { NODE_TYPES } from '../model/schemas.js';
import type { EdgeQuery, NearestOptions, TimeQuery } from './index-manager.js';
import { ageOf } from './index-spec.js';
import { EMPTY, STORAGE_STORES, checkId } from './layout.js';
import { ManagerReader, StorageManager, writeTogether, type DeleteNodeOptions, type ManagerWriter } from './storage-manager.js';
import {
  ACTIVE_MAX_AGE,
  DATABASE_TIERS,
  NODE_DATABASE,
  RECENT_MAX_AGE,
  namespaceOf,
  quarterOf,
  summaryTier,
  type DatabaseType,
  type Location,
  type TemperatureTier,
  type TierOf,
} from './tiers.js';
import type { VectorMatch } from './vector-index.js';

/** Options of a {@link DatabaseCoordinator}. */
export interface CoordinatorOptions {
  /** Dimensions of every embedding (default: fixed per tier by the first one stored). */
  vectorDimensions?: number;
  /** Durability of the coordinator's writes (default: the engine's). */
  durability?: Durability;
}

/** Where to look for a record and how: its node type narrows the databases, a timestamp picks the archive quarter. */
export interface LocateHint {
  type?: NodeType;
  timestampHint?: number;
}

/** Options of {@link DatabaseCoordinator.runLifecycle}. */
export interface LifecycleOptions {
  /** Records moved per transaction (default 500). */
  batchSize?: number;
  /** Stop after this many batches (default: until nothing is due); the next run continues. */
  maxBatches?: number;
  /** Called after each committed batch. */
  onProgress?: (progress: LifecycleReport) => void;
}

/** What {@link DatabaseCoordinator.runLifecycle} moved. */
export interface LifecycleReport {
  /** Active -> Recent moves. */
  toRecent: number;
  /** Recent -> Archive moves. */
  toArchive: number;
  /** Embeddings that moved along with their node. */
  embeddingsMoved: number;
  /** Committed transactions. */
  batches: number;
  /** False when `maxBatches` stopped the run before everything due had moved. */
  done: boolean;
}

const META_NAMESPACE = '~coordinator';
const GRAPH: Location = { database: 'Knowledge', tier: 'Active' };

/** The agent's databases and tiers over one engine. */
export class DatabaseCoordinator<E extends StorageEngine = StorageEngine> {
  private readonly managers = new Map<string, StorageManager<E>>();

  constructor(
    readonly engine: E,
    private readonly options: CoordinatorOptions = {},
  ) {
    // Validates the engine's stores once, up front.
    this.manager(GRAPH);
  }

  /** The database a node type is routed to. */
  databaseOf(type: NodeType): DatabaseType {
    const database = (NODE_DATABASE as Record<string, DatabaseType | undefined>)[type];
    if (database === undefined) throw new StorageError('INVALID_ARGUMENT', `Unknown node type ${JSON.stringify(type)}; expected one of ${NODE_TYPES.join(', ')}.`);
    return database;
  }

  /** The StorageManager of one location (database, tier and, for Archive, quarter). */
  manager(location: Location): StorageManager<E> {
    const namespace = namespaceOf(location);
    let manager = this.managers.get(namespace);
    if (manager === undefined) {
      manager = new StorageManager(this.engine, { namespace, vectorDimensions: this.options.vectorDimensions, durability: this.options.durability });
      this.managers.set(namespace, manager);
    }
    return manager;
  }

  /** The archive quarters of a database that hold data, oldest first. */
  async archiveQuarters(database: DatabaseType): Promise<string[]> {
    const keys = await this.engine.scanKeys('meta', { prefix: encodeKey([META_NAMESPACE, 'quarter', database]) });
    return keys.map((key) => decodeKey(key)[3] as string);
  }

  /**
   * The locations to read a record of `database` from, in cascade order: Active -> Recent -> the hinted quarter ->
   * the other quarters (newest first) for tiered conversation data; the database's tiers in order otherwise.
   */
  async cascade(database: DatabaseType, timestampHint?: number): Promise<Location[]> {
    const tiers = DATABASE_TIERS[database] as readonly TemperatureTier[];
    const out: Location[] = [];
    for (const tier of tiers) {
      if (tier !== 'Archive') {
        out.push({ database, tier });
        continue;
      }
      const quarters = (await this.archiveQuarters(database)).reverse();
      if (timestampHint !== undefined) {
        const hinted = quarterOf(timestampHint);
        const i = quarters.indexOf(hinted);
        if (i > 0) quarters.unshift(...quarters.splice(i, 1));
      }
      for (const quarter of quarters) out.push({ database, tier, quarter });
    }
    return out;
  }

  /** Where node `id` lives, or undefined. */
  async locateNode(id: string, hint: LocateHint = {}): Promise<Location | undefined> {
    checkId(id, 'The node id');
    for (const location of await this.candidates(hint)) {
      if ((await this.manager(location).getNodeView(id)) !== undefined) return location;
    }
    return undefined;
  }

  /** Every location a node may be in, in cascade order (only its database's when the hint names its type). */
  private async candidates(hint: LocateHint): Promise<Location[]> {
    const databases = hint.type === undefined ? unique(Object.values(NODE_DATABASE)) : [this.databaseOf(hint.type)];
    const out: Location[] = [];
    for (const database of databases) out.push(...(await this.cascade(database, hint.timestampHint)));
    return out;
  }

  /** Inside a transaction: the first of `locations` whose nodes hold `id`. */
  private async findIn(bind: (m: StorageManager) => ManagerWriter, id: string, locations: readonly Location[]): Promise<Location | undefined> {
    for (const location of locations) {
      const writer = bind(this.manager(location));
      if ((await writer.tx.get('nodes', encodeKey([writer.manager.namespace, id]))) !== undefined) return location;
    }
    return undefined;
  }

  /** Node `id`, read through the cascade (Active -> Recent -> Archive); undefined when no tier has it. */
  async getNode(id: string, hint: LocateHint = {}): Promise<Node | undefined> {
    const location = await this.locateNode(id, hint);
    return location === undefined ? undefined : this.manager(location).getNode(id);
  }

  /**
   * Inserts or replaces a node. An existing node is replaced where it lives (a summary whose length calls for
   * another tier moves there); a new one goes to its database's first tier: Active, the summary tier of its length,
   * or `tier` when given (e.g. `Inferred` for a derived entity, `Session` for a summary).
   */
  async insertNode(node: Node, options: { tier?: TemperatureTier } = {}): Promise<Location> {
    if (typeof node !== 'object' || node === null) throw new StorageError('INVALID_ARGUMENT', 'A node must be an object.');
    checkId(node.id, 'The node id');
    const database = this.databaseOf(node.type);
    const candidates = await this.cascade(database, ageOf(node));
    return writeTogether(
      this.engine,
      async (bind) => {
        const existing = await this.findIn(bind, node.id, candidates);
        let target: Location;
        if (options.tier !== undefined) target = this.tierLocation(database, options.tier, node);
        else if (node.type === 'Summary') target = { database, tier: summaryTier(node.content) };
        else target = existing ?? { database, tier: DATABASE_TIERS[database][0] };
        if (existing !== undefined && namespaceOf(existing) !== namespaceOf(target)) await bind(this.manager(existing)).deleteNode(node.id);
        await bind(this.manager(target)).insertNode(node);
        if (target.quarter !== undefined) await this.registerQuarter(bind(this.manager(target)), target);
        return target;
      },
      this.options.durability,
    );
  }

  /** Deletes node `id` from whichever tier holds it (its edges too with `cascadeEdges`); resolves to it. */
  async deleteNode(id: string, hint: LocateHint & DeleteNodeOptions = {}): Promise<Node | undefined> {
    checkId(id, 'The node id');
    const candidates = await this.candidates(hint);
    return writeTogether(
      this.engine,
      async (bind) => {
        const location = await this.findIn(bind, id, candidates);
        if (location === undefined) return undefined;
        const removed = await bind(this.manager(location)).deleteNode(id);
        if (hint.cascadeEdges === true) {
          const graph = bind(this.manager(GRAPH));
          for (const edgeId of new Set(await graph.manager.indexes.edgeIds(id, {}, graph.tx))) await graph.deleteEdge(edgeId);
        }
        return removed;
      },
      this.options.durability,
    );
  }

  /**
   * Moves node `id` to `to` in one transaction (with its embedding when only it used that embedding in its tier).
   * Resolves to false when the node is not found.
   */
  async moveNode(id: string, to: Location, hint: LocateHint = {}): Promise<boolean> {
    checkId(id, 'The node id');
    namespaceOf(to); // validates
    const candidates = await this.candidates(hint);
    return writeTogether(
      this.engine,
      async (bind) => {
        const from = await this.findIn(bind, id, candidates);
        if (from === undefined) return false;
        if (namespaceOf(from) !== namespaceOf(to)) await this.moveIn(bind, id, from, to);
        return true;
      },
      this.options.durability,
    );
  }

  /** Moves an entity from Knowledge/Active to Knowledge/Stable. Resolves to false when it is not in Active. */
  async promoteEntity(id: string): Promise<boolean> {
    checkId(id, 'The entity id');
    const active: Location = { database: 'Knowledge', tier: 'Active' };
    const view = await this.manager(active).getNodeView(id);
    if (view === undefined) return false;
    if (view.type !== 'Entity') throw new StorageError('INVALID_ARGUMENT', `Node ${JSON.stringify(id)} is a ${view.type}, not an Entity.`);
    await writeTogether(this.engine, async (bind) => this.moveIn(bind, id, active, { database: 'Knowledge', tier: 'Stable' }), this.options.durability);
    return true;
  }

  /**
   * Moves everything due: conversation records (by their own time; a chat by updatedAt) older than 30 days from
   * Active to Recent, older than 90 days from Recent to their Archive quarter, in transactions of `batchSize`.
   * Embeddings move with their node. Each batch is atomic; an interrupted run loses nothing and the next continues.
   */
  async runLifecycle(now: number = Date.now(), options: LifecycleOptions = {}): Promise<LifecycleReport> {
    const batchSize = options.batchSize ?? 500;
    if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new StorageError('INVALID_ARGUMENT', `batchSize must be a positive integer, got ${batchSize}.`);
    const maxBatches = options.maxBatches ?? Infinity;
    const report: LifecycleReport = { toRecent: 0, toArchive: 0, embeddingsMoved: 0, batches: 0, done: false };
    const phases: { from: Location; before: number; to: (time: number) => Location; count: 'toRecent' | 'toArchive' }[] = [
      { from: { database: 'Conversations', tier: 'Active' }, before: now - ACTIVE_MAX_AGE, to: () => ({ database: 'Conversations', tier: 'Recent' }), count: 'toRecent' },
      {
        from: { database: 'Conversations', tier: 'Recent' },
        before: now - RECENT_MAX_AGE,
        to: (time) => ({ database: 'Conversations', tier: 'Archive', quarter: quarterOf(time) }),
        count: 'toArchive',
      },
    ];
    for (const phase of phases) {
      const source = this.manager(phase.from);
      for (;;) {
        if (report.batches >= maxBatches) return report;
        const moved = await writeTogether(
          this.engine,
          async (bind) => {
            const writer = bind(source);
            const due = await source.indexes.agedBefore(phase.before, batchSize, writer.tx);
            let embeddings = 0;
            for (const { id, time } of due) embeddings += await this.moveIn(bind, id, phase.from, phase.to(time));
            return { nodes: due.length, embeddings };
          },
          this.options.durability,
        );
        if (moved.nodes === 0) break;
        report[phase.count] += moved.nodes;
        report.embeddingsMoved += moved.embeddings;
        report.batches++;
        options.onProgress?.({ ...report });
      }
    }
    report.done = true;
    return report;
  }

  /** A chat's messages across Active, Recent and every Archive quarter, in timestamp order. */
  async messagesOfChat(chatId: string, query: TimeQuery = {}): Promise<Message[]> {
    const locations = await this.cascade('Conversations');
    // One snapshot over every tier: a move committing meanwhile can neither duplicate nor hide a message.
    const all = await this.engine.read(STORAGE_STORES, async (tx) => {
      const found: Message[] = [];
      for (const location of locations) {
        const manager = this.manager(location);
        found.push(...(await new ManagerReader(manager, tx).nodesById<Message>(await manager.indexes.messageIdsOfChat(chatId, query, tx))));
      }
      return found;
    });
    const sign = query.reverse === true ? -1 : 1;
    all.sort((a, b) => sign * (a.timestamp - b.timestamp || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)));
    return query.limit === undefined ? all : all.slice(0, query.limit);
  }

  // ---- edges (Knowledge/Active) ----

  /** Inserts or replaces an edge (edges live in Knowledge/Active). */
  async insertEdge(edge: Edge): Promise<void> {
    await this.manager(GRAPH).insertEdge(edge);
  }

  /** Deletes an edge. */
  async deleteEdge(id: string): Promise<Edge | undefined> {
    return this.manager(GRAPH).deleteEdge(id);
  }

  /** A node's edges. */
  async edgesOf(nodeId: string, query: EdgeQuery = {}): Promise<Edge[]> {
    return this.manager(GRAPH).edgesOf(nodeId, query);
  }

  /** The nodes at the other end of a node's edges, read through the cascade. */
  async neighbours(nodeId: string, query: EdgeQuery = {}): Promise<Node[]> {
    const ids = await this.manager(GRAPH).indexes.neighbourIds(nodeId, query);
    const nodes = await Promise.all(ids.map((id) => this.getNode(id)));
    return nodes.filter((n): n is Node => n !== undefined);
  }

  // ---- embeddings ----

  /** Inserts or replaces an embedding where it lives (new ones go to Embeddings/Active). */
  async insertEmbedding(embedding: Embedding): Promise<Location> {
    checkId(embedding.id, 'The embedding id');
    const location = (await this.locateEmbedding(embedding.id)) ?? { database: 'Embeddings', tier: 'Active' };
    await this.manager(location).insertEmbedding(embedding);
    return location;
  }

  /** Where embedding `id` lives, or undefined. */
  async locateEmbedding(id: string, timestampHint?: number): Promise<Location | undefined> {
    checkId(id, 'The embedding id');
    for (const location of await this.cascade('Embeddings', timestampHint)) {
      if ((await this.manager(location).getEmbedding(id)) !== undefined) return location;
    }
    return undefined;
  }

  /** Embedding `id`, read through the cascade. */
  async getEmbedding(id: string, timestampHint?: number): Promise<Embedding | undefined> {
    const location = await this.locateEmbedding(id, timestampHint);
    return location === undefined ? undefined : this.manager(location).getEmbedding(id);
  }

  /** The embedding of node `nodeId`. */
  async getEmbeddingByNode(nodeId: string, hint: LocateHint = {}): Promise<Embedding | undefined> {
    const node = await this.getNode(nodeId, hint);
    const embeddingId = node === undefined ? undefined : (node as { embeddingId?: string }).embeddingId;
    return embeddingId === undefined ? undefined : this.getEmbedding(embeddingId, hint.timestampHint ?? (node && ageOf(node)));
  }

  /** k-NN over the embeddings of every Embeddings tier (or of `tiers`), merged: best `k` first. */
  async searchSimilar(query: Float32Array | readonly number[], k: number, options: NearestOptions & { tiers?: TierOf<'Embeddings'>[] } = {}): Promise<(VectorMatch & { location: Location })[]> {
    const locations = (await this.cascade('Embeddings')).filter((l) => options.tiers === undefined || options.tiers.includes(l.tier as TierOf<'Embeddings'>));
    const results = await Promise.all(
      locations.map(async (location) => (await this.manager(location).searchSimilar(query, k, options)).map((m) => ({ ...m, location }))),
    );
    return results
      .flat()
      .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .slice(0, k);
  }

  // ---- internals ----

  private tierLocation(database: DatabaseType, tier: TemperatureTier, node: Node): Location {
    if (tier === 'Archive') {
      const time = ageOf(node);
      if (time === undefined) throw new StorageError('INVALID_ARGUMENT', `A ${node.type} has no time to pick its archive quarter by.`);
      return { database, tier, quarter: quarterOf(time) };
    }
    const location = { database, tier };
    namespaceOf(location); // validates the tier for the database
    return location;
  }

  /** Inside a transaction: moves node `id` from `from` to `to`, with its embedding; returns embeddings moved (0/1). */
  private async moveIn(bind: (m: StorageManager) => ManagerWriter, id: string, from: Location, to: Location): Promise<number> {
    const source = bind(this.manager(from));
    const target = bind(this.manager(to));
    const node = await source.deleteNode(id);
    if (node === undefined) return 0;
    await target.insertNode(node);
    if (to.quarter !== undefined) await this.registerQuarter(target, to);
    // The embedding follows its node between like-named tiers, unless another node of the source tier still uses it.
    const embeddingId = (node as { embeddingId?: string }).embeddingId;
    if (from.database !== 'Conversations' || embeddingId === undefined) return 0;
    const stillUsed = await source.manager.indexes.nodeIdsOfEmbedding(embeddingId, source.tx);
    if (stillUsed.length > 0) return 0;
    const embeddingsFrom = bind(this.manager({ ...from, database: 'Embeddings' }));
    const embedding = await embeddingsFrom.deleteEmbedding(embeddingId);
    if (embedding === undefined) return 0;
    const embeddingsTo = bind(this.manager({ ...to, database: 'Embeddings' }));
    await embeddingsTo.insertEmbedding(embedding);
    if (to.quarter !== undefined) await this.registerQuarter(embeddingsTo, { ...to, database: 'Embeddings' });
    return 1;
  }

  private async registerQuarter(writer: ManagerWriter, location: Location): Promise<void> {
    await writer.tx.put('meta', encodeKey([META_NAMESPACE, 'quarter', location.database, location.quarter!]), EMPTY);
  }
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}

