import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeKey } from '../codec/keys.js';
import { StorageError } from '../engine/errors.js';
import type { StorageEngine } from '../engine/types.js';
import type { Node } from '../model/schemas.js';
import { NODE_TYPES } from '../model/schemas.js';
import { DatabaseCoordinator, type LifecycleReport, type LocateHint } from '../storage/coordinator.js';
import { STORAGE_STORES } from '../storage/layout.js';
import { NODE_DATABASE, namespaceOf, type Location } from '../storage/tiers.js';
import type { EngineFixture } from './engine-suite.js';
import { expectStorageError } from './engine-suite.js';
import { withFailingWrites } from './faulty-engine.js';
import { allSampleNodes, edge, embedding, message, sampleNodes } from './samples.js';

const DAY = 24 * 60 * 60 * 1000;
/** "Now" of the lifecycle tests: 2024-06-15 UTC. */
const NOW = Date.UTC(2024, 5, 15);

/** The namespaces holding node `id`, found by reading every location's manager directly. */
async function whereIs(coordinator: DatabaseCoordinator, id: string, locations: readonly Location[]): Promise<string[]> {
  const found: string[] = [];
  for (const location of locations) if ((await coordinator.manager(location).getNode(id)) !== undefined) found.push(namespaceOf(location));
  return found;
}

const EMBEDDING_LOCATIONS: Location[] = [
  { database: 'Embeddings', tier: 'Active' },
  { database: 'Embeddings', tier: 'Recent' },
  { database: 'Embeddings', tier: 'Archive', quarter: '2024-Q1' },
];

const CONVERSATION_LOCATIONS: Location[] = [
  { database: 'Conversations', tier: 'Active' },
  { database: 'Conversations', tier: 'Recent' },
  { database: 'Conversations', tier: 'Archive', quarter: '2024-Q1' },
  { database: 'Conversations', tier: 'Archive', quarter: '2023-Q4' },
];

/**
 * The DatabaseCoordinator behaviour every engine must show: routing, read cascade, lifecycle moves in bounded
 * batches, promotion, summary tiers, cross-tier queries, and atomic moves under a write that fails part-way.
 */
export function testDatabaseCoordinator<E extends StorageEngine>(name: string, createFixture: () => EngineFixture<E> | Promise<EngineFixture<E>>): void {
  describe(`${name} DatabaseCoordinator`, () => {
    let fixture: EngineFixture<E>;
    let engine: E;
    let coordinator: DatabaseCoordinator<E>;

    beforeEach(async () => {
      fixture = await createFixture();
      engine = await fixture.open(STORAGE_STORES);
      coordinator = new DatabaseCoordinator(engine);
    });

    afterEach(async () => {
      await engine.close();
      await fixture.destroy?.();
    });

    /** Messages 10, 40 and 100 days old in one chat (the last from 2024-Q1), a chat updated 45 days ago. */
    const seedAges = async (c: DatabaseCoordinator): Promise<void> => {
      await c.insertEmbedding(embedding('emb_old', [1, 0, 0]));
      await c.insertEmbedding(embedding('emb_new', [0, 1, 0]));
      await c.insertNode(message('m_new', 'chat', NOW - 10 * DAY, { embeddingId: 'emb_new' as never }));
      await c.insertNode(message('m_mid', 'chat', NOW - 40 * DAY));
      await c.insertNode(message('m_old', 'chat', NOW - 100 * DAY, { embeddingId: 'emb_old' as never }));
      await c.insertNode({ ...sampleNodes().Chat, id: 'chat', createdAt: NOW - 200 * DAY, updatedAt: NOW - 45 * DAY } as Node);
    };

    it('routes every node type to its database and reads it back through the cascade', async () => {
      for (const node of allSampleNodes()) {
        const location = await coordinator.insertNode(node);
        expect(location.database, node.type).toBe(NODE_DATABASE[node.type]);
        expect((await coordinator.getNode(node.id))?.type).toBe(node.type);
        expect(await coordinator.locateNode(node.id, { type: node.type })).toEqual(location);
      }
      expect(NODE_TYPES.every((type) => NODE_DATABASE[type] !== undefined)).toBe(true);
      expect(await coordinator.getNode('absent')).toBeUndefined();
      await expectStorageError(() => coordinator.getNode(''), 'INVALID_ARGUMENT');
      await expectStorageError(() => coordinator.insertNode({ ...sampleNodes().Entity, id: '' } as Node), 'INVALID_ARGUMENT');
      await expectStorageError(() => coordinator.manager({ database: 'Logs', tier: 'Active' } as never), 'INVALID_ARGUMENT');
    });

    it('runLifecycle moves Active -> Recent after 30 days and Recent -> Archive/quarter after 90, embeddings along', async () => {
      await seedAges(coordinator);
      const report = await coordinator.runLifecycle(NOW);
      expect(report).toMatchObject({ toRecent: 3, toArchive: 1, embeddingsMoved: 2, done: true });
      expect(await whereIs(coordinator, 'm_new', CONVERSATION_LOCATIONS)).toEqual(['Conversations/Active']);
      expect(await whereIs(coordinator, 'm_mid', CONVERSATION_LOCATIONS)).toEqual(['Conversations/Recent']);
      expect(await whereIs(coordinator, 'chat', CONVERSATION_LOCATIONS)).toEqual(['Conversations/Recent']);
      expect(await whereIs(coordinator, 'm_old', CONVERSATION_LOCATIONS)).toEqual(['Conversations/Archive/2024-Q1']);
      expect(await coordinator.archiveQuarters('Conversations')).toEqual(['2024-Q1']);
      expect(await coordinator.locateEmbedding('emb_old')).toEqual({ database: 'Embeddings', tier: 'Archive', quarter: '2024-Q1' });
      expect(await coordinator.locateEmbedding('emb_new')).toEqual({ database: 'Embeddings', tier: 'Active' });
      // The cascade finds every record, with or without a hint; the embedding follows the node.
      for (const id of ['m_new', 'm_mid', 'm_old', 'chat']) expect((await coordinator.getNode(id))?.id).toBe(id);
      expect((await coordinator.getNode('m_old', { type: 'Message', timestampHint: NOW - 100 * DAY }))?.id).toBe('m_old');
      expect((await coordinator.getEmbeddingByNode('m_old'))?.id).toBe('emb_old');
      // Nothing more is due; every tier's indexes agree with its records.
      expect(await coordinator.runLifecycle(NOW)).toMatchObject({ toRecent: 0, toArchive: 0, batches: 0, done: true });
      for (const location of [...CONVERSATION_LOCATIONS.slice(0, 3), { database: 'Embeddings', tier: 'Archive', quarter: '2024-Q1' } as Location]) {
        expect((await coordinator.manager(location).indexes.verify()).ok, namespaceOf(location)).toBe(true);
      }
    });

    it('works in bounded batches, reports progress, and a later run continues', async () => {
      for (let i = 0; i < 7; i++) await coordinator.insertNode(message(`m${i}`, 'c', NOW - (35 + i) * DAY));
      const progress: LifecycleReport[] = [];
      const first = await coordinator.runLifecycle(NOW, { batchSize: 2, maxBatches: 2, onProgress: (p) => progress.push(p) });
      expect(first).toMatchObject({ toRecent: 4, batches: 2, done: false });
      expect(progress.map((p) => p.toRecent)).toEqual([2, 4]);
      const second = await coordinator.runLifecycle(NOW, { batchSize: 2 });
      expect(second).toMatchObject({ toRecent: 3, done: true });
      expect((await coordinator.manager({ database: 'Conversations', tier: 'Recent' }).indexes.nodeIdsOfType('Message')).length).toBe(7);
      await expectStorageError(() => coordinator.runLifecycle(NOW, { batchSize: 0 }), 'INVALID_ARGUMENT');
      // A run whose last allowed batch moved the last record due is done.
      await coordinator.insertNode(message('m7', 'c', NOW - 40 * DAY));
      expect(await coordinator.runLifecycle(NOW, { maxBatches: 1 })).toMatchObject({ toRecent: 1, batches: 1, done: true });
      // A stale age entry (its record deleted behind the index's back) is passed over, not work left.
      const recent = coordinator.manager({ database: 'Conversations', tier: 'Recent' });
      await recent.insertNode(message('ghost', 'c', NOW - 100 * DAY));
      await coordinator.engine.delete('nodes', recent.keys.id('ghost'));
      await coordinator.insertNode(message('m8', 'c', NOW - 40 * DAY));
      expect(await coordinator.runLifecycle(NOW, { maxBatches: 1 })).toMatchObject({ toRecent: 1, batches: 1, done: true });
      expect(await coordinator.runLifecycle(NOW)).toMatchObject({ stale: 1, toArchive: 0, done: true });
      // A record written during a run with an older time than the stale entry met is not passed over.
      const active = coordinator.manager({ database: 'Conversations', tier: 'Active' });
      await active.insertNode(message('a', 'c', NOW - 50 * DAY));
      await active.insertNode(message('ghost2', 'c', NOW - 48 * DAY));
      await coordinator.engine.delete('nodes', active.keys.id('ghost2'));
      let inserted = false;
      const report = await coordinator.runLifecycle(NOW, {
        batchSize: 2,
        onProgress: () => {
          if (!inserted) void coordinator.insertNode(message('late', 'c', NOW - 60 * DAY));
          inserted = true;
        },
      });
      expect(report).toMatchObject({ toRecent: 2, stale: 2, done: true }); // the stale ones: ghost2 and the earlier ghost
      expect(await coordinator.locateNode('late')).toEqual({ database: 'Conversations', tier: 'Recent' });
    });

    it("a chat's messages across tiers, in timestamp order", async () => {
      await seedAges(coordinator);
      await coordinator.runLifecycle(NOW);
      await coordinator.insertNode(message('m_newest', 'chat', NOW - DAY));
      expect((await coordinator.messagesOfChat('chat')).map((m) => m.id)).toEqual(['m_old', 'm_mid', 'm_new', 'm_newest']);
      expect((await coordinator.messagesOfChat('chat', { reverse: true, limit: 3 })).map((m) => m.id)).toEqual(['m_newest', 'm_new', 'm_mid']);
    });

    it('updating a node keeps it in the tier that holds it', async () => {
      await seedAges(coordinator);
      await coordinator.runLifecycle(NOW);
      await coordinator.insertNode(message('m_mid', 'chat', NOW - 40 * DAY, { textContent: 'edited' }));
      expect(await whereIs(coordinator, 'm_mid', CONVERSATION_LOCATIONS)).toEqual(['Conversations/Recent']);
      expect(((await coordinator.getNode('m_mid')) as { textContent: string }).textContent).toBe('edited');
    });

    it('stores and places a node as it was at the insert call, and an embedding with its vector as it was', async () => {
      const summary = { ...sampleNodes().Summary, id: 's1', content: 'short' } as Node & { content: string };
      const options: { tier?: 'Session' } = { tier: 'Session' };
      const inserting = coordinator.insertNode(summary, options);
      summary.content = 'x'.repeat(5000); // would place it in Monthly
      delete options.tier;
      expect(await inserting).toEqual({ database: 'Summaries', tier: 'Session' });
      expect(await coordinator.getNode('s1')).toMatchObject({ content: 'short' });
      const e = embedding('emb', [1, 0, 0]);
      const storing = coordinator.insertEmbedding(e);
      e.vector.set([0, 0, 1]);
      await storing;
      expect(Array.from((await coordinator.getEmbedding('emb'))!.vector)).toEqual([1, 0, 0]);
      expect((await coordinator.searchSimilar([1, 0, 0], 1))[0]).toMatchObject({ id: 'emb' });
      expect((await coordinator.searchSimilar([1, 0, 0], 1))[0]!.score).toBeCloseTo(1, 6);
    });

    it('entity promotion, explicit tiers, and summaries tiered by length', async () => {
      const entity = { ...sampleNodes().Entity, id: 'ada' } as Node;
      expect(await coordinator.insertNode(entity)).toEqual({ database: 'Knowledge', tier: 'Active' });
      expect(await coordinator.promoteEntity('ada')).toBe(true);
      expect(await coordinator.locateNode('ada')).toEqual({ database: 'Knowledge', tier: 'Stable' });
      expect(await coordinator.promoteEntity('ada')).toBe(false);
      expect(await coordinator.insertNode({ ...entity, id: 'guess' } as Node, { tier: 'Inferred' })).toEqual({ database: 'Knowledge', tier: 'Inferred' });
      await coordinator.insertNode(sampleNodes().Bookmark);
      await expectStorageError(() => coordinator.promoteEntity('Bookmark'), 'INVALID_ARGUMENT');

      const summary = (length: number) => ({ ...sampleNodes().Summary, id: 's1', content: 'x'.repeat(length) }) as Node;
      expect(await coordinator.insertNode(summary(999))).toEqual({ database: 'Summaries', tier: 'Daily' });
      expect(await coordinator.insertNode(summary(1000))).toEqual({ database: 'Summaries', tier: 'Weekly' });
      expect(await coordinator.insertNode(summary(5000))).toEqual({ database: 'Summaries', tier: 'Monthly' });
      const summaryTiers = (['Session', 'Daily', 'Weekly', 'Monthly'] as const).map((tier) => ({ database: 'Summaries', tier }) as Location);
      expect(await whereIs(coordinator, 's1', summaryTiers)).toEqual(['Summaries/Monthly']);
      expect(await coordinator.insertNode(summary(10), { tier: 'Session' })).toEqual({ database: 'Summaries', tier: 'Session' });
      expect(await whereIs(coordinator, 's1', summaryTiers)).toEqual(['Summaries/Session']);
    });

    it('edges live in one graph whatever tier their nodes are in; delete can cascade them', async () => {
      await seedAges(coordinator);
      await coordinator.insertEdge(edge('e1', 'chat', 'm_old', 'CONTAINS_MESSAGE'));
      await coordinator.insertEdge(edge('e2', 'chat', 'm_new', 'CONTAINS_MESSAGE'));
      await coordinator.runLifecycle(NOW);
      expect((await coordinator.neighbours('chat')).map((n) => n.id).sort()).toEqual(['m_new', 'm_old']);
      expect((await coordinator.deleteNode('m_old', { cascadeEdges: true }))?.id).toBe('m_old');
      expect((await coordinator.edgesOf('chat')).map((e) => e.id)).toEqual(['e2']);
      expect(await coordinator.getNode('m_old')).toBeUndefined();
    });

    it('k-NN across the Embeddings tiers', async () => {
      await seedAges(coordinator);
      await coordinator.runLifecycle(NOW);
      const all = await coordinator.searchSimilar([1, 0.1, 0], 2);
      expect(all.map((m) => [m.id, namespaceOf(m.location)])).toEqual([
        ['emb_old', 'Embeddings/Archive/2024-Q1'],
        ['emb_new', 'Embeddings/Active'],
      ]);
      expect((await coordinator.searchSimilar([1, 0.1, 0], 2, { tiers: ['Active'] })).map((m) => m.id)).toEqual(['emb_new']);
      // Candidates given as an iterator serve every tier; query and options are taken at the call.
      const query = [1, 0.1, 0];
      const tiers: ('Active' | 'Archive')[] = ['Active', 'Archive'];
      const searching = coordinator.searchSimilar(query, 2, { tiers, candidates: ['emb_old', 'emb_new'].values() });
      query.splice(0, 3, 0, 1, 0);
      tiers.pop();
      expect((await searching).map((m) => m.id)).toEqual(['emb_old', 'emb_new']);
    });

    it('refuses an id reused by another node type, and moves into another database', async () => {
      await coordinator.insertNode(message('x', 'c', NOW));
      await expectStorageError(() => coordinator.insertNode({ ...sampleNodes().Entity, type: 'Memo' } as unknown as Node), 'INVALID_ARGUMENT');
      const error = await expectStorageError(() => coordinator.insertNode({ ...sampleNodes().Entity, id: 'x' } as Node), 'INVALID_ARGUMENT');
      expect(error.message).toMatch(/exists as a Message/);
      await expectStorageError(() => coordinator.moveNode('x', { database: 'Logs', tier: 'Single' }), 'INVALID_ARGUMENT');
      expect(await coordinator.locateNode('x')).toEqual({ database: 'Conversations', tier: 'Active' });
      // The hint is taken at the call, though the cascade reads it after awaits.
      const hint: LocateHint = { type: 'Message' };
      const locating = coordinator.locateNode('x', hint);
      const getting = coordinator.getNode('x', hint);
      hint.type = 'Log';
      expect(await locating).toEqual({ database: 'Conversations', tier: 'Active' });
      expect((await getting)?.id).toBe('x');
      expect(await coordinator.moveNode('x', { database: 'Conversations', tier: 'Recent' })).toBe(true);
      expect(await whereIs(coordinator, 'x', CONVERSATION_LOCATIONS)).toEqual(['Conversations/Recent']);
      expect(await coordinator.moveNode('absent', { database: 'Conversations', tier: 'Recent' })).toBe(false);
    });

    it('re-inserting a node into another tier takes its embedding along, as moveNode does', async () => {
      await coordinator.insertEmbedding(embedding('E', [1, 0, 0]));
      await coordinator.insertNode(message('m', 'c', NOW, { embeddingId: 'E' as never }));
      expect(await coordinator.locateEmbedding('E')).toEqual({ database: 'Embeddings', tier: 'Active' });
      expect(await coordinator.insertNode(message('m', 'c', NOW, { embeddingId: 'E' as never }), { tier: 'Recent' })).toEqual({
        database: 'Conversations',
        tier: 'Recent',
      });
      expect(await coordinator.locateEmbedding('E')).toEqual({ database: 'Embeddings', tier: 'Recent' });
      // Another node of the tier still using it keeps it where it is.
      await coordinator.insertEmbedding(embedding('F', [0, 1, 0]));
      await coordinator.insertNode(message('n1', 'c', NOW, { embeddingId: 'F' as never }));
      await coordinator.insertNode(message('n2', 'c', NOW, { embeddingId: 'F' as never }));
      await coordinator.insertNode(message('n1', 'c', NOW, { embeddingId: 'F' as never }), { tier: 'Recent' });
      expect(await coordinator.locateEmbedding('F')).toEqual({ database: 'Embeddings', tier: 'Active' });
      expect((await coordinator.searchSimilar([1, 0, 0], 5)).map((m) => m.id)).toEqual(['E', 'F']);
    });

    it('an archived record re-inserted with a time in another quarter moves to that quarter, with its embedding', async () => {
      const q1 = Date.UTC(2024, 1, 10); // 2024-Q1
      const q3 = Date.UTC(2023, 7, 10); // 2023-Q3
      await coordinator.insertEmbedding(embedding('E', [1, 0, 0]));
      await coordinator.insertNode(message('m', 'chat', q1, { embeddingId: 'E' as never }));
      await coordinator.runLifecycle(NOW);
      expect(await coordinator.locateNode('m')).toEqual({ database: 'Conversations', tier: 'Archive', quarter: '2024-Q1' });
      expect(await coordinator.insertNode(message('m', 'chat', q3, { embeddingId: 'E' as never }))).toEqual({
        database: 'Conversations',
        tier: 'Archive',
        quarter: '2023-Q3',
      });
      expect(await whereIs(coordinator, 'm', [...CONVERSATION_LOCATIONS, { database: 'Conversations', tier: 'Archive', quarter: '2023-Q3' }])).toEqual([
        'Conversations/Archive/2023-Q3',
      ]);
      expect(await coordinator.locateEmbedding('E')).toEqual({ database: 'Embeddings', tier: 'Archive', quarter: '2023-Q3' });
      expect((await coordinator.messagesOfChat('chat')).map((m) => m.timestamp)).toEqual([q3]);
    });

    it('a type hint finds only a node of that type: another type in the same database is neither read nor deleted', async () => {
      await coordinator.insertNode(message('m1', 'chat', NOW)); // Chats live in Conversations too
      expect(await coordinator.getNode('m1', { type: 'Chat' })).toBeUndefined();
      expect(await coordinator.locateNode('m1', { type: 'Chat' })).toBeUndefined();
      expect(await coordinator.deleteNode('m1', { type: 'Chat' })).toBeUndefined();
      expect(await coordinator.moveNode('m1', { database: 'Conversations', tier: 'Recent' }, { type: 'Chat' })).toBe(false);
      expect((await coordinator.getNode('m1', { type: 'Message' }))?.id).toBe('m1');
      expect(await coordinator.locateNode('m1')).toEqual({ database: 'Conversations', tier: 'Active' });
    });

    it('deleteEmbedding removes an embedding from the tier that holds it; deleting its node keeps it', async () => {
      await coordinator.insertEmbedding(embedding('E', [1, 0, 0]));
      await coordinator.insertNode(message('m', 'c', NOW - 40 * DAY, { embeddingId: 'E' as never }));
      await coordinator.runLifecycle(NOW); // both move to Recent
      expect(await coordinator.locateEmbedding('E')).toEqual({ database: 'Embeddings', tier: 'Recent' });
      expect((await coordinator.deleteNode('m'))?.id).toBe('m');
      expect((await coordinator.searchSimilar([1, 0, 0], 3)).map((match) => match.id)).toEqual(['E']);
      expect((await coordinator.deleteEmbedding('E'))?.id).toBe('E');
      expect(await coordinator.deleteEmbedding('E')).toBeUndefined();
      expect(await coordinator.searchSimilar([1, 0, 0], 3)).toEqual([]);
      expect(await coordinator.locateEmbedding('E')).toBeUndefined();
      await expectStorageError(() => coordinator.deleteEmbedding(''), 'INVALID_ARGUMENT');
    });

    it('bad locations, tiers and options fail with INVALID_ARGUMENT; null options mean none', async () => {
      await coordinator.insertNode(message('m', 'c', NOW));
      // A quarter belongs to Archive locations only: on another tier it would register a fake archive quarter.
      await expectStorageError(() => coordinator.moveNode('m', { database: 'Conversations', tier: 'Recent', quarter: '1999-Q1' }), 'INVALID_ARGUMENT');
      expect(await coordinator.archiveQuarters('Conversations')).toEqual([]);
      await expectStorageError(() => coordinator.moveNode('m', null as never), 'INVALID_ARGUMENT');
      expect(() => coordinator.manager(null as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
      expect(() => coordinator.manager({ database: 'toString', tier: 'Active' } as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
      await expectStorageError(() => coordinator.cascade('Nope' as never), 'INVALID_ARGUMENT');
      await coordinator.insertEmbedding(embedding('E', [1, 0, 0]));
      for (const tiers of ['Active', ['Nope']]) {
        await expectStorageError(() => coordinator.searchSimilar([1, 0, 0], 1, { tiers: tiers as never }), 'INVALID_ARGUMENT');
      }
      expect((await coordinator.searchSimilar([1, 0, 0], 1, null as never)).map((m) => m.id)).toEqual(['E']);
      expect(await coordinator.insertNode(message('n', 'c', NOW), null as never)).toEqual({ database: 'Conversations', tier: 'Active' });
      expect(await coordinator.runLifecycle(NOW, null as never)).toMatchObject({ done: true });
      expect(await coordinator.moveNode('m', { database: 'Conversations', tier: 'Recent' }, null as never)).toBe(true);
    });

    it('an embedding whose target tier holds another dimension stays; its node still moves', async () => {
      await coordinator.manager({ database: 'Embeddings', tier: 'Recent' }).insertEmbedding(embedding('old_model', [1, 0, 0]));
      await coordinator.insertEmbedding(embedding('new_model', [1, 0, 0, 0]));
      await coordinator.insertNode(message('m', 'c', NOW - 40 * DAY, { embeddingId: 'new_model' as never }));
      await coordinator.insertNode(message('plain', 'c', NOW - 40 * DAY));
      const report = await coordinator.runLifecycle(NOW);
      expect(report).toMatchObject({ toRecent: 2, embeddingsMoved: 0, embeddingsKept: 1, done: true });
      expect(await coordinator.locateEmbedding('new_model')).toEqual({ database: 'Embeddings', tier: 'Active' });
      expect((await coordinator.getEmbeddingByNode('m'))?.id).toBe('new_model');
      // k-NN searches the tiers of the query's dimensions and passes over the others.
      expect((await coordinator.searchSimilar([1, 0, 0, 0], 5)).map((m) => m.id)).toEqual(['new_model']);
      expect((await coordinator.searchSimilar([1, 0, 0], 5)).map((m) => m.id)).toEqual(['old_model']);
      const error = await expectStorageError(() => coordinator.searchSimilar([1, 0], 5), 'INVALID_ARGUMENT');
      expect(error.message).toMatch(/2 dimensions.*(4, 3|3, 4)-dimensional/);
      await expectStorageError(() => coordinator.searchSimilar([0, 0, 0], 5), 'INVALID_ARGUMENT');
      await expectStorageError(() => coordinator.searchSimilar([1, 0, 0], -1), 'INVALID_ARGUMENT');
    });

    it('k-NN reads every tier in one snapshot: an embedding moving between tiers is found exactly once', async () => {
      await coordinator.insertEmbedding(embedding('E', [1, 0, 0]));
      await coordinator.insertEmbedding(embedding('F', [0, 1, 0]));
      await coordinator.insertNode(message('m', 'c', NOW - 40 * DAY, { embeddingId: 'E' as never }));
      await coordinator.searchSimilar([1, 0, 0], 5); // the indexes are in memory now
      const tiers = [
        { database: 'Conversations', tier: 'Recent' },
        { database: 'Conversations', tier: 'Active' },
      ] as const;
      // Searches start 0..159 microtask turns after each move: whatever a search sees, it sees E once.
      for (let turns = 0; turns < 160; turns++) {
        const moving = coordinator.moveNode('m', tiers[turns % 2]!);
        for (let i = 0; i < turns; i++) await Promise.resolve();
        const [found] = await Promise.all([coordinator.searchSimilar([1, 0, 0], 5), moving]);
        expect(found.filter((match) => match.id === 'E')).toHaveLength(1);
        expect(found.map((match) => match.id).sort()).toEqual(['E', 'F']);
      }
    });

    it('times outside years 0-9999 (a timestamp in the wrong unit) neither fail an insert nor stop the lifecycle', async () => {
      const micro = message('us', 'c', 1_700_000_000_000_000); // microseconds by mistake: year ~55 800
      await coordinator.insertNode(micro);
      expect(await coordinator.locateNode('us')).toEqual({ database: 'Conversations', tier: 'Active' });
      expect((await coordinator.getNode('us', { timestampHint: micro.timestamp }))?.id).toBe('us');
      const recent = coordinator.manager({ database: 'Conversations', tier: 'Recent' });
      await recent.insertNode(message('ancient', 'c', -70_000_000_000_000)); // before year 0
      await recent.insertNode(message('old', 'c', NOW - 200 * DAY));
      expect(await coordinator.runLifecycle(NOW)).toMatchObject({ toArchive: 2, done: true });
      expect(await coordinator.locateNode('ancient')).toEqual({ database: 'Conversations', tier: 'Archive', quarter: '0000-Q1' });
      expect((await coordinator.locateNode('old'))?.tier).toBe('Archive');
      await coordinator.insertNode(message('future', 'c', 300_000_000_000_000), { tier: 'Archive' });
      expect(await coordinator.locateNode('future')).toEqual({ database: 'Conversations', tier: 'Archive', quarter: '9999-Q4' });
    });

    it('a stale age entry is reported, not retried forever', async () => {
      const active = coordinator.manager({ database: 'Conversations', tier: 'Active' });
      await engine.put('index', encodeKey([active.namespace, 'age', NOW - 40 * DAY, 'ghost']), new Uint8Array(0));
      await coordinator.insertNode(message('m', 'c', NOW - 40 * DAY));
      const report = await coordinator.runLifecycle(NOW, { batchSize: 1 });
      expect(report).toMatchObject({ toRecent: 1, stale: 1, done: true });
      expect((await active.indexes.verify()).ok).toBe(false);
    });

    it('a move failing at any point leaves each record in exactly one tier', async () => {
      const faulty = withFailingWrites(engine);
      const c = new DatabaseCoordinator(faulty.engine);
      await seedAges(c);
      const ids = ['m_new', 'm_mid', 'm_old', 'chat'];
      let failAt = 0;
      for (; ; failAt++) {
        faulty.fault.failAtOperation = failAt;
        let failed = false;
        try {
          await c.runLifecycle(NOW);
        } catch (error) {
          expect(error).toBeInstanceOf(StorageError);
          failed = true;
        }
        for (const id of ids) expect(await whereIs(c, id, CONVERSATION_LOCATIONS), `${id}, failing at write ${failAt}`).toHaveLength(1);
        for (const id of ['emb_old', 'emb_new']) {
          const holding: string[] = [];
          for (const location of EMBEDDING_LOCATIONS) if ((await c.manager(location).getEmbedding(id)) !== undefined) holding.push(namespaceOf(location));
          expect(holding, `${id}, failing at write ${failAt}`).toHaveLength(1);
        }
        for (const location of [...CONVERSATION_LOCATIONS, ...EMBEDDING_LOCATIONS]) {
          expect((await c.manager(location).indexes.verify()).ok, `${namespaceOf(location)} at ${failAt}`).toBe(true);
        }
        if (!failed) break;
        expect(failAt).toBeLessThan(200);
      }
      expect(failAt).toBeGreaterThan(5); // the faults really landed inside moves
      faulty.fault.failAtOperation = undefined;
      await c.runLifecycle(NOW);
      expect(await whereIs(c, 'm_old', CONVERSATION_LOCATIONS)).toEqual(['Conversations/Archive/2024-Q1']);
    });
  });
}
