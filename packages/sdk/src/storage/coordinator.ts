/**
 * The DatabaseCoordinator: the database types and temperature tiers of DOMAIN.md over one engine. Each (database,
 * tier, archive quarter) is a StorageManager namespace; a record moves between tiers in one write transaction
 * (deleted from one namespace and inserted into the other), so it is never in neither tier and never in both.
 */
import { decodeKey, encodeKey } from '../codec/keys.js';
import { StorageError, showArgument } from '../engine/errors.js';
import type { Durability, ReadTransaction, StorageEngine, WriteTransaction } from '../engine/types.js';
import type { Edge, Embedding, Message, Node, NodeType } from '../model/schemas.js';
import type { NodeId } from '../model/ids.js';
import { nodeTypeOf } from '../model/nodes.js';
import type { EdgeQuery, NearestOptions, TimeQuery } from './index-manager.js';
import { ageOf } from './index-spec.js';
import { EMPTY, STORAGE_STORES, checkId, checkNodeType } from './layout.js';
import { compareCodePoints } from '../codec/unicode.js';
import { checkArray, optionsOf, prepareEmbeddings, prepareNodes } from './prepared.js';
import { retryOnConflict } from '../engine/retry.js';
import { ManagerReader, StorageManager, writeTogether, type DeleteNodeOptions, type ManagerWriter } from './storage-manager.js';
import {
  ACTIVE_MAX_AGE,
  DATABASE_TIERS,
  NODE_DATABASE,
  RECENT_MAX_AGE,
  namespaceOf,
  quarterOf,
  summaryTier,
  checkTier,
  tiersOf,
  warmerByAge,
  type DatabaseType,
  type Location,
  type TemperatureTier,
  type TierOf,
} from './tiers.js';
import { checkK, ownCandidates, ownQuery, unitQuery, type VectorMatch } from './vector-index.js';

/** Options of a {@link DatabaseCoordinator}. */
export interface CoordinatorOptions {
  /** Dimensions of every embedding (default: fixed per tier by the first one stored). */
  vectorDimensions?: number;
  /** Durability of the coordinator's writes (default: the engine's). */
  durability?: Durability;
}

/** Where to look for a record and how: its node type narrows the databases, a timestamp picks the archive quarter. */
export interface LocateHint {
  /** The node's type: only its database is searched, so a node of another type is not found (nor deleted). */
  type?: NodeType;
  /** The record's time (epoch ms): its archive quarter is searched first; the others still are. */
  timestampHint?: number;
}

/** Options of {@link DatabaseCoordinator.runLifecycle}. */
export interface LifecycleOptions {
  /** Records moved per transaction (default 500). */
  batchSize?: number;
  /** Stop after this many batches (default: until nothing is due); the next run continues. */
  maxBatches?: number;
  /** Called after each committed batch with the run's totals so far (a copy). */
  onProgress?: (progress: LifecycleReport) => void;
}

/**
 * What {@link DatabaseCoordinator.runLifecycle} moved. It counts moves, not records: a record old enough to go from
 * Active through Recent to Archive in one run counts in `toRecent` and in `toArchive`, its embedding twice.
 */
export interface LifecycleReport {
  /** Active -> Recent moves. */
  toRecent: number;
  /** Recent -> Archive moves. */
  toArchive: number;
  /** Embeddings that moved along with their node. */
  embeddingsMoved: number;
  /** Age-index entries that named no record (index drift: see manager(location).indexes.verify() and rebuild()); left in place. */
  stale: number;
  /** Embeddings left in their tier: the target tier holds vectors of another dimension, or another node of the source tier still uses them. */
  embeddingsKept: number;
  /** Committed transactions. */
  batches: number;
  /** False when `maxBatches` stopped the run before everything due had moved. */
  done: boolean;
}

const META_NAMESPACE = '~coordinator';
const GRAPH: Location = { database: 'Knowledge', tier: 'Active' };

type Bind = (manager: StorageManager) => ManagerWriter;

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
    checkNodeType(type);
    return NODE_DATABASE[type];
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
  async archiveQuarters(database: DatabaseType, reader: ReadTransaction | StorageEngine = this.engine): Promise<string[]> {
    const keys = await reader.scanKeys('meta', { prefix: encodeKey([META_NAMESPACE, 'quarter', database]) });
    return keys.map((key) => decodeKey(key)[3] as string);
  }

  /**
   * The locations to read a record of `database` from, in cascade order: Active -> Recent -> the hinted quarter ->
   * the other quarters (newest first) for tiered conversation data; the database's tiers in order otherwise.
   */
  async cascade(database: DatabaseType, timestampHint?: number, reader: ReadTransaction | StorageEngine = this.engine): Promise<Location[]> {
    const tiers = tiersOf(database);
    const out: Location[] = [];
    for (const tier of tiers) {
      if (tier !== 'Archive') {
        out.push({ database, tier });
        continue;
      }
      const quarters = (await this.archiveQuarters(database, reader)).reverse();
      if (timestampHint !== undefined && Number.isFinite(timestampHint)) {
        const i = quarters.indexOf(quarterOf(timestampHint));
        if (i > 0) quarters.unshift(...quarters.splice(i, 1));
      }
      for (const quarter of quarters) out.push({ database, tier, quarter });
    }
    return out;
  }

  /**
   * The nodes that point at embedding `embeddingId` (a `searchSimilar` match's id), with where each lives: every
   * database's tiers are read in one snapshot, since the embedding-to-node index lives in each node's own tier.
   */
  async nodesOfEmbedding(embeddingId: string): Promise<{ id: NodeId; location: Location }[]> {
    checkId(embeddingId, 'The embedding id');
    return this.engine.read(STORAGE_STORES, async (tx) => {
      const found: { id: NodeId; location: Location }[] = [];
      for (const database of unique(Object.values(NODE_DATABASE))) {
        for (const location of await this.cascade(database, undefined, tx)) {
          for (const id of await this.manager(location).indexes.nodeIdsOfEmbedding(embeddingId, tx)) found.push({ id, location });
        }
      }
      return found;
    });
  }

  /** Where node `id` lives (read in one snapshot), or undefined. */
  async locateNode(id: string, hint: LocateHint = {}): Promise<Location | undefined> {
    checkId(id, 'The node id');
    hint = { ...hint }; // taken at the call: the cascade reads it after awaits
    return this.engine.read(STORAGE_STORES, async (tx) => (await this.findNode(tx, id, hint))?.location);
  }

  /** Node `id`, read through the cascade (Active -> Recent -> Archive); undefined when no tier has it. */
  async getNode(id: string, hint: LocateHint = {}): Promise<Node | undefined> {
    checkId(id, 'The node id');
    hint = { ...hint }; // taken at the call: the cascade reads it after awaits
    // Most reads are of hot data: one single-operation read of the first tier (a zero-copy one on LMDB) before
    // the cascade. A node moving out of it meanwhile is then found by the cascade's snapshot.
    const database = hint.type === undefined ? undefined : this.databaseOf(hint.type);
    const hot = database === undefined ? undefined : await this.manager({ database, tier: DATABASE_TIERS[database][0] }).getNode(id);
    if (hot !== undefined) return hot.type === hint.type ? hot : undefined; // an id is one node: no other is found
    return this.engine.read(STORAGE_STORES, async (tx) => {
      const found = await this.findNode(tx, id, hint);
      return found === undefined ? undefined : new ManagerReader(this.manager(found.location), tx).getNode(id);
    });
  }

  /**
   * Inserts or replaces a node. An existing node is replaced where it lives (a summary whose length calls for
   * another tier moves there, an archived record whose time is in another quarter moves to that quarter); a new one
   * goes to its database's first tier: Active, the summary tier of its length, or `tier` when given (e.g. `Inferred` for a derived entity, `Session` for a summary). An id already used by a
   * node of another type is refused (delete that node first).
   */
  async insertNode(node: Node, options: { tier?: TemperatureTier } = {}): Promise<Location> {
    // Taken now (and checked): the node is stored and placed as it is at this call, whatever the caller changes later.
    const prepared = prepareNodes([node])[0]!;
    const own = prepared.record;
    const database = this.databaseOf(own.type);
    const tier = optionsOf(options, 'insertNode(node, options)').tier;
    return this.write(async (bind, tx) => {
      const existing = await this.findNode(tx, own.id, { timestampHint: ageOf(own) });
      if (existing !== undefined && existing.type !== own.type) {
        throw new StorageError(
          'INVALID_ARGUMENT',
          `Node ${JSON.stringify(own.id)} exists as a ${existing.type} in ${namespaceOf(existing.location)}; a ${own.type} cannot reuse its id (delete it first).`,
        );
      }
      let target: Location;
      if (tier !== undefined) target = this.tierLocation(database, tier, own);
      else if (own.type === 'Summary') target = { database, tier: summaryTier(own.content) };
      else if (existing === undefined) target = { database, tier: DATABASE_TIERS[database][0] };
      // An existing node keeps its tier (an archived one follows its time to its quarter), unless its new time makes it
      // young enough for a warmer one: new conversation data goes to Active.
      else target = this.tierLocation(database, warmerByAge(database, existing.location.tier, ageOf(own), Date.now()), own);
      const moving = existing !== undefined && namespaceOf(existing.location) !== namespaceOf(target);
      if (moving) await bind(this.manager(existing.location)).deleteNode(own.id);
      await bind(this.manager(target)).insertPreparedNodes([prepared]);
      if (target.quarter !== undefined) await this.registerQuarter(tx, target);
      // A node that changes tiers takes its embedding along, as moveNode does.
      if (moving) await this.carryEmbedding(bind, tx, own, existing.location, target);
      return target;
    });
  }

  /**
   * Deletes node `id` from whichever tier holds it (its edges too with `cascadeEdges`); resolves to it. Its embedding
   * stays (other nodes may use it; see {@link deleteEmbedding}).
   */
  async deleteNode(id: string, options: LocateHint & DeleteNodeOptions = {}): Promise<Node | undefined> {
    checkId(id, 'The node id');
    const hint = { ...options }; // taken at the call: the transaction starts later
    return this.write(async (bind, tx) => {
      const found = await this.findNode(tx, id, hint);
      if (found === undefined) return undefined;
      const removed = await bind(this.manager(found.location)).deleteNode(id);
      if (hint.cascadeEdges === true) {
        const graph = bind(this.manager(GRAPH));
        await graph.deleteEdges(await graph.manager.indexes.edgeIds(id, {}, tx));
      }
      return removed;
    });
  }

  /**
   * Moves node `id` to `to` (a tier of its own database) in one transaction, with its embedding when only it used
   * that embedding in its tier. Resolves to false when the node is not found.
   */
  async moveNode(id: string, where: Location, hint: LocateHint = {}): Promise<boolean> {
    checkId(id, 'The node id');
    namespaceOf(where); // validates the location
    const to: Location = { ...where }; // taken at the call: the transaction starts later
    hint = { ...optionsOf(hint, 'moveNode(id, where, hint)') }; // taken at the call: the transaction starts later
    return this.write(async (bind, tx) => {
      const found = await this.findNode(tx, id, hint);
      if (found === undefined) return false;
      if (this.databaseOf(found.type) !== to.database) {
        throw new StorageError('INVALID_ARGUMENT', `A ${found.type} belongs in ${this.databaseOf(found.type)}, not ${to.database}.`);
      }
      if (namespaceOf(found.location) !== namespaceOf(to)) await this.moveIn(bind, tx, id, found.location, to);
      return true;
    });
  }

  /** Moves an entity from Knowledge/Active to Knowledge/Stable. Resolves to false when it is not in Active. */
  async promoteEntity(id: string): Promise<boolean> {
    checkId(id, 'The entity id');
    const active: Location = { database: 'Knowledge', tier: 'Active' };
    return this.write(async (bind, tx) => {
      const bytes = await tx.get('nodes', this.manager(active).keys.id(id));
      if (bytes === undefined) return false;
      const type = nodeTypeOf(bytes);
      if (type !== 'Entity') throw new StorageError('INVALID_ARGUMENT', `Node ${JSON.stringify(id)} is a ${type}, not an Entity.`);
      await this.moveIn(bind, tx, id, active, { database: 'Knowledge', tier: 'Stable' });
      return true;
    });
  }

  /**
   * Moves everything due: conversation records (by their own time; a chat by updatedAt) 30 days old or more from
   * Active to Recent, 90 days old or more from Recent to their Archive quarter, in transactions of `batchSize`.
   * Embeddings move with their node. Each batch is atomic; an interrupted run loses nothing and the next continues.
   */
  async runLifecycle(now: number = Date.now(), options: LifecycleOptions = {}): Promise<LifecycleReport> {
    if (typeof now !== 'number' || !Number.isFinite(now)) throw new StorageError('INVALID_ARGUMENT', `now must be epoch milliseconds, got ${showArgument(now)}.`);
    options = optionsOf(options, 'runLifecycle(now, options)');
    const batchSize = options.batchSize ?? 500;
    if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new StorageError('INVALID_ARGUMENT', `batchSize must be a positive integer, got ${showArgument(batchSize)}.`);
    const maxBatches = options.maxBatches ?? Infinity;
    if (maxBatches !== Infinity && (!Number.isSafeInteger(maxBatches) || maxBatches < 1)) {
      throw new StorageError('INVALID_ARGUMENT', `maxBatches must be a positive integer, got ${showArgument(maxBatches)}.`);
    }
    const report: LifecycleReport = { toRecent: 0, toArchive: 0, embeddingsMoved: 0, embeddingsKept: 0, stale: 0, batches: 0, done: false };
    const phases: { from: Location; before: number; to: (time: number) => Location; count: 'toRecent' | 'toArchive' }[] = [
      // `before` is exclusive: a record exactly 30 (90) days old is due, as DOMAIN's "once 30 days old" says.
      { from: { database: 'Conversations', tier: 'Active' }, before: now - ACTIVE_MAX_AGE + 1, to: () => ({ database: 'Conversations', tier: 'Recent' }), count: 'toRecent' },
      {
        from: { database: 'Conversations', tier: 'Recent' },
        before: now - RECENT_MAX_AGE + 1,
        to: (time) => ({ database: 'Conversations', tier: 'Archive', quarter: quarterOf(time) }),
        count: 'toArchive',
      },
    ];
    for (const [index, phase] of phases.entries()) {
      const source = this.manager(phase.from);
      // Stale entries (no record) stay in the index: each batch scans from the oldest entry again (a record written
      // meanwhile with an older time is not passed over) and skips the stale ones already met.
      const stale = new Set<string>();
      const staleKey = (entry: { id: string; time: number }): string => `${entry.time}\u0000${entry.id}`;
      for (;;) {
        if (report.batches >= maxBatches) {
          report.done = !(await this.anyDue(phases.slice(index)));
          return report;
        }
        const batch = await this.write(async (bind, tx) => {
          const aged = await source.indexes.agedBefore(phase.before, batchSize + stale.size, tx);
          const due = aged.filter((entry) => !stale.has(staleKey(entry))).slice(0, batchSize);
          const result = { moved: 0, embeddings: 0, kept: 0, stale: [] as string[] };
          for (const entry of due) {
            const moved = await this.moveIn(bind, tx, entry.id, phase.from, phase.to(entry.time));
            if (moved === undefined) {
              result.stale.push(staleKey(entry));
              continue;
            }
            result.moved++;
            if (moved === 'moved') result.embeddings++;
            if (moved === 'kept') result.kept++;
          }
          return result;
        });
        if (batch.moved + batch.stale.length === 0) break;
        report[phase.count] += batch.moved;
        report.embeddingsMoved += batch.embeddings;
        report.embeddingsKept += batch.kept;
        report.stale += batch.stale.length;
        report.batches++;
        for (const key of batch.stale) stale.add(key);
        options.onProgress?.({ ...report });
      }
    }
    report.done = true;
    return report;
  }

  /**
   * Whether any of `phases` still has a record due, read in one snapshot. Stale age entries (no record, which a run
   * passes over) are not work left.
   */
  private anyDue(phases: readonly { from: Location; before: number }[]): Promise<boolean> {
    const page = 64;
    return this.engine.read(STORAGE_STORES, async (tx) => {
      for (const phase of phases) {
        const source = this.manager(phase.from);
        let cursor: { id: string; time: number } | undefined;
        for (;;) {
          const due = await source.indexes.agedBefore(phase.before, page, tx, cursor);
          const records = due.length === 0 ? [] : await tx.getMany('nodes', due.map(({ id }) => source.keys.id(id)));
          if (records.some((bytes) => bytes !== undefined)) return true;
          if (due.length < page) break;
          cursor = due[due.length - 1];
        }
      }
      return false;
    });
  }

  /** A chat's messages across Active, Recent and every Archive quarter, in timestamp order. */
  async messagesOfChat(chatId: string, query: TimeQuery = {}): Promise<Message[]> {
    query = { ...query }; // taken at the call: the snapshot opens later
    // One snapshot over every tier: a move committing meanwhile can neither duplicate nor hide a message.
    const all = await this.engine.read(STORAGE_STORES, async (tx) => {
      const found: Message[] = [];
      for (const location of await this.cascade('Conversations', undefined, tx)) {
        const manager = this.manager(location);
        found.push(...(await new ManagerReader(manager, tx).nodesById<Message>(await manager.indexes.messageIdsOfChat(chatId, query, tx))));
      }
      return found;
    });
    const sign = query.reverse === true ? -1 : 1;
    // Ties in key order, as each tier's scan (and its limit) took them.
    all.sort((a, b) => sign * (a.timestamp - b.timestamp || compareCodePoints(a.id, b.id)));
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

  /** The nodes at the other end of a node's edges, read through the cascade in one snapshot. */
  async neighbours(nodeId: string, query: EdgeQuery = {}): Promise<Node[]> {
    query = { ...query }; // taken at the call: the snapshot opens later
    return this.engine.read(STORAGE_STORES, async (tx) => {
      const out: Node[] = [];
      for (const id of await this.manager(GRAPH).indexes.neighbourIds(nodeId, query, tx)) {
        const found = await this.findNode(tx, id, {});
        const node = found === undefined ? undefined : await new ManagerReader(this.manager(found.location), tx).getNode(id);
        if (node !== undefined) out.push(node);
      }
      return out;
    });
  }

  // ---- embeddings ----

  /** Inserts or replaces an embedding where it lives (new ones go to Embeddings/Active). */
  async insertEmbedding(embedding: Embedding): Promise<Location> {
    const prepared = prepareEmbeddings([embedding]);
    const id = prepared[0]!.id;
    return this.write(async (bind, tx) => {
      const location = (await this.findEmbedding(tx, id)) ?? { database: 'Embeddings', tier: 'Active' };
      await bind(this.manager(location)).insertPreparedEmbeddings(prepared);
      return location;
    });
  }

  /** Where embedding `id` lives, or undefined. */
  async locateEmbedding(id: string, timestampHint?: number): Promise<Location | undefined> {
    checkId(id, 'The embedding id');
    return this.engine.read(STORAGE_STORES, (tx) => this.findEmbedding(tx, id, timestampHint));
  }

  /** Embedding `id`, read through the cascade. */
  async getEmbedding(id: string, timestampHint?: number): Promise<Embedding | undefined> {
    checkId(id, 'The embedding id');
    return this.engine.read(STORAGE_STORES, async (tx) => {
      const location = await this.findEmbedding(tx, id, timestampHint);
      return location === undefined ? undefined : new ManagerReader(this.manager(location), tx).getEmbedding(id);
    });
  }

  /**
   * Deletes embedding `id` and its vector from whichever Embeddings tier holds it; resolves to it. Deleting a node
   * keeps its embedding (other nodes may use it): delete the embedding too when nothing else does.
   */
  async deleteEmbedding(id: string, timestampHint?: number): Promise<Embedding | undefined> {
    checkId(id, 'The embedding id');
    return this.write(async (bind, tx) => {
      const location = await this.findEmbedding(tx, id, timestampHint);
      return location === undefined ? undefined : bind(this.manager(location)).deleteEmbedding(id);
    });
  }

  /** The embedding of node `nodeId`. */
  async getEmbeddingByNode(nodeId: string, hint: LocateHint = {}): Promise<Embedding | undefined> {
    hint = { ...hint }; // taken at the call: read again after an await
    const node = await this.getNode(nodeId, hint);
    const embeddingId = node === undefined ? undefined : (node as { embeddingId?: string }).embeddingId;
    return embeddingId === undefined ? undefined : this.getEmbedding(embeddingId, hint.timestampHint ?? (node && ageOf(node)));
  }

  /** k-NN over the embeddings of every Embeddings tier (or of `tiers`), merged: best `k` first. */
  async searchSimilar(
    query: Float32Array | readonly number[],
    k: number,
    options: NearestOptions & { tiers?: TierOf<'Embeddings'>[] } = {},
  ): Promise<(VectorMatch & { location: Location })[]> {
    // Taken now: the tiers are read first, and the caller may reuse its arrays meanwhile.
    const vector = ownQuery(query);
    checkK(k);
    const dimensions = unitQuery(vector).length; // checks the query at the call
    options = optionsOf(options, 'searchSimilar(query, k, options)');
    let tiers: TierOf<'Embeddings'>[] | undefined;
    if (options.tiers !== undefined) {
      checkArray(options.tiers, 'options.tiers');
      tiers = [...options.tiers];
      for (const tier of tiers) checkTier('Embeddings', tier);
    }
    // Candidates once, as a set: an iterator would be used up by the first tier.
    const candidates = options.candidates === undefined ? undefined : ownCandidates(options.candidates);
    // One snapshot for the tier list and every tier's vectors: a move committing meanwhile shows in all or none.
    return this.engine.read(STORAGE_STORES, async (tx) => {
      const locations = (await this.cascade('Embeddings', undefined, tx)).filter((l) => tiers === undefined || tiers.includes(l.tier as TierOf<'Embeddings'>));
      const results: (VectorMatch & { location: Location })[] = [];
      // Tiers of vectors of other dimensions (written by another embedding model) are passed over; only when no
      // tier holds vectors of the query's dimensions does the query fail.
      const otherDimensions = new Set<number>();
      let searched = 0;
      for (const location of locations) {
        const index = this.manager(location).vectors;
        const state = await index.state(tx);
        if (state === undefined) continue;
        if (state.dimensions !== dimensions) {
          otherDimensions.add(state.dimensions);
          continue;
        }
        searched++;
        for (const match of await index.nearest(vector, k, candidates, tx)) results.push({ ...match, location });
      }
      if (searched === 0 && otherDimensions.size > 0) {
        throw new StorageError(
          'INVALID_ARGUMENT',
          `The query vector has ${dimensions} dimensions; the Embeddings tiers hold ${[...otherDimensions].join(', ')}-dimensional vectors.`,
        );
      }
      return results.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).slice(0, k);
    });
  }

  // ---- internals ----

  /**
   * One write transaction of the engine, with this coordinator's durability. Every caller is the coordinator's own
   * and its callback depends only on its arguments and on what it reads: run again on CONFLICT.
   */
  private write<T>(fn: (bind: Bind, tx: WriteTransaction) => Promise<T>): Promise<T> {
    return retryOnConflict(() => writeTogether(this.engine, fn, this.options.durability));
  }

  /** Reading in `tx`: the first location in cascade order holding node `id`, and its type. */
  private async findNode(tx: ReadTransaction, id: string, hint: LocateHint): Promise<{ location: Location; type: NodeType } | undefined> {
    const databases = hint.type === undefined ? unique(Object.values(NODE_DATABASE)) : [this.databaseOf(hint.type)];
    // A node of another type in the hinted database is not the node asked for (and, an id being one node, no other
    // is): it reads as absent, so nothing acts on it.
    const probe = async (location: Location): Promise<{ location: Location; type: NodeType } | undefined> => {
      const bytes = await tx.get('nodes', this.manager(location).keys.id(id));
      if (bytes === undefined) return undefined;
      const type = nodeTypeOf(bytes);
      return hint.type !== undefined && type !== hint.type ? undefined : { location, type };
    };
    // The untiered and hot tiers first; archive quarters (a scan of the quarter list) only when those miss.
    for (const database of databases) {
      for (const tier of DATABASE_TIERS[database] as readonly TemperatureTier[]) {
        if (tier === 'Archive') continue;
        const found = await probe({ database, tier });
        if (found !== undefined) return found;
      }
    }
    for (const database of databases) {
      for (const location of await this.cascade(database, hint.timestampHint, tx)) {
        if (location.tier !== 'Archive') continue;
        const found = await probe(location);
        if (found !== undefined) return found;
      }
    }
    return undefined;
  }

  /** Reading in `tx`: the first Embeddings location holding embedding `id`. */
  private async findEmbedding(tx: ReadTransaction, id: string, timestampHint?: number): Promise<Location | undefined> {
    for (const location of await this.cascade('Embeddings', timestampHint, tx)) {
      if ((await tx.get('embeddings', this.manager(location).keys.id(id))) !== undefined) return location;
    }
    return undefined;
  }

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

  /**
   * Inside a transaction: moves node `id` from `from` to `to`, with its embedding. Resolves to undefined when the
   * node is not in `from`; otherwise to what happened to its embedding: moved along, kept (the target tier holds
   * another dimension, or another node of the tier still uses it) or none.
   */
  private async moveIn(bind: Bind, tx: WriteTransaction, id: string, from: Location, to: Location): Promise<'moved' | 'kept' | 'none' | undefined> {
    const source = bind(this.manager(from));
    const target = bind(this.manager(to));
    const node = await source.deleteNode(id);
    if (node === undefined) return undefined;
    await target.insertNode(node);
    if (to.quarter !== undefined) await this.registerQuarter(tx, to);
    return this.carryEmbedding(bind, tx, node, from, to);
  }

  /**
   * Inside a transaction, after `node` moved from `from` to `to`: moves its embedding along between like-named tiers,
   * unless another node of the source tier still uses it. Resolves to what happened: moved, kept (the target tier
   * holds another dimension, or another node still uses it) or none.
   */
  private async carryEmbedding(bind: Bind, tx: WriteTransaction, node: Node, from: Location, to: Location): Promise<'moved' | 'kept' | 'none'> {
    const embeddingId = (node as { embeddingId?: string }).embeddingId;
    if (from.database !== 'Conversations' || embeddingId === undefined) return 'none';
    const source = bind(this.manager(from));
    if ((await source.manager.indexes.nodeIdsOfEmbedding(embeddingId, source.tx)).length > 0) return 'kept';
    const embeddingsFrom = bind(this.manager({ ...from, database: 'Embeddings' }));
    const embedding = await embeddingsFrom.getEmbedding(embeddingId);
    if (embedding === undefined) return 'none';
    const embeddingsTo = bind(this.manager({ ...to, database: 'Embeddings' }));
    if (!(await embeddingsTo.acceptsVector(embedding.vector.length))) return 'kept';
    await embeddingsFrom.deleteEmbedding(embeddingId);
    await embeddingsTo.insertEmbedding(embedding);
    if (to.quarter !== undefined) await this.registerQuarter(tx, { ...to, database: 'Embeddings' });
    return 'moved';
  }

  private async registerQuarter(tx: WriteTransaction, location: Location): Promise<void> {
    await tx.put('meta', encodeKey([META_NAMESPACE, 'quarter', location.database, location.quarter!]), EMPTY);
  }
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}
