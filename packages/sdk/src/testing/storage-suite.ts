import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeKey, type KeyPart } from '../codec/keys.js';
import { CodecError } from '../codec/errors.js';
import { StorageError } from '../engine/errors.js';
import type { ReadTransaction, StorageEngine } from '../engine/types.js';
import type { Message, Node } from '../model/schemas.js';
import { NODE_TYPES } from '../model/schemas.js';
import { STORAGE_STORES } from '../storage/layout.js';
import { StorageManager, writeTogether } from '../storage/storage-manager.js';
import { encodeSlot } from '../storage/vector-block.js';
import type { EngineFixture } from './engine-suite.js';
import { expectStorageError } from './engine-suite.js';

/** The code of a typed error, or the error as text (so an untyped one fails an assertion on codes). */
function codeOf(error: unknown): string {
  return error instanceof StorageError || error instanceof CodecError ? error.code : String(error);
}
import { withFailingWrites } from './faulty-engine.js';
import { allSampleNodes, edge, embedding, logEntry, message, randomVectors, sampleNodes } from './samples.js';

const T = 1_700_000_000_000;

/** Wraps `engine` to record which stores its reads touch (engine-level and inside read transactions). */
export function withReadLog<E extends StorageEngine>(engine: E): { engine: E; storesRead: string[] } {
  const storesRead: string[] = [];
  const logTx = (tx: ReadTransaction): ReadTransaction => ({
    get: (store, key) => (storesRead.push(store), tx.get(store, key)),
    getMany: (store, keys) => (storesRead.push(store), tx.getMany(store, keys)),
    scan: (store, options) => (storesRead.push(store), tx.scan(store, options)),
    scanKeys: (store, options) => (storesRead.push(store), tx.scanKeys(store, options)),
    count: (store, range) => (storesRead.push(store), tx.count(store, range)),
  });
  const wrapped = new Proxy(engine, {
    get(target, property) {
      if (property === 'read') {
        return <T>(stores: readonly string[], fn: (tx: ReadTransaction) => Promise<T> | T) => target.read(stores, (tx) => fn(logTx(tx)));
      }
      if (property === 'get' || property === 'getMany' || property === 'scan' || property === 'scanKeys' || property === 'count') {
        return (store: string, ...rest: unknown[]) => {
          storesRead.push(store);
          return (target[property] as (...args: unknown[]) => unknown).call(target, store, ...rest);
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { engine: wrapped, storesRead };
}

/** Cosine similarity computed the plain way, for checking k-NN results. */
function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(na * nb);
}

/** Plain objects of nodes (drops undefined optionals) for comparisons. */
const plain = (value: unknown): unknown =>
  JSON.parse(JSON.stringify(value, (_k, v: unknown) => (v instanceof Float32Array ? Array.from(v) : v))) as unknown;

/**
 * The StorageManager behaviour every engine must show: records, indexes in the record's transaction, time, graph
 * and vector queries, verification and repair. Run it in one line per engine, like the conformance suite.
 */
export function testStorageManager<E extends StorageEngine>(
  name: string,
  createFixture: () => EngineFixture<E> | Promise<EngineFixture<E>>,
  options: { vectorCount?: number } = {},
): void {
  describe(`${name} StorageManager`, () => {
    let fixture: EngineFixture<E>;
    let engine: E;
    let manager: StorageManager<E>;
    const opened: StorageEngine[] = [];

    const reopen = async (): Promise<StorageManager<E>> => {
      await engine.close();
      engine = await fixture.open(STORAGE_STORES);
      opened.push(engine);
      manager = new StorageManager(engine);
      return manager;
    };

    beforeEach(async () => {
      fixture = await createFixture();
      engine = await fixture.open(STORAGE_STORES);
      opened.push(engine);
      manager = new StorageManager(engine);
    });

    afterEach(async () => {
      for (const e of opened.splice(0)) await e.close();
      await fixture.destroy?.();
    });

    describe('nodes', () => {
      it('stores and reads back a node of every type, as objects and as views', async () => {
        const nodes = allSampleNodes();
        await manager.insertNodes(nodes);
        for (const node of nodes) {
          expect(plain(await manager.getNode(node.id)), node.type).toEqual(plain(node));
          const view = await manager.getNodeView(node.id);
          expect(view?.type).toBe(node.type);
          expect(view?.id).toBe(node.id);
        }
        const message = await manager.getNodeView('Message');
        expect(message?.type === 'Message' && message.timestamp).toBe(T);
        expect(await manager.getNode('absent')).toBeUndefined();
        expect((await manager.getNodes(['Chat', 'nope', 'Log'])).map((n) => n?.type)).toEqual(['Chat', undefined, 'Log']);
      });

      it('insert is an upsert and moves the index entries with the value', async () => {
        await manager.insertNode(message('m1', 'chat_a', T));
        await manager.insertNode(message('m1', 'chat_b', T + 5, { sender: 'assistant' }));
        expect((await manager.getNode('m1')) as { chatId: string }).toMatchObject({ chatId: 'chat_b', timestamp: T + 5 });
        expect(await manager.indexes.findNodeIds('Message', 'chatId', 'chat_a')).toEqual([]);
        expect(await manager.indexes.findNodeIds('Message', 'chatId', 'chat_b')).toEqual(['m1']);
        expect(await manager.indexes.findNodeIds('Message', 'sender', 'user')).toEqual([]);
        expect(await manager.indexes.findNodeIds('Message', 'sender', 'assistant')).toEqual(['m1']);
        expect((await manager.messagesOfChat('chat_a')).length).toBe(0);
        expect((await manager.indexes.verify()).ok).toBe(true);
      });

      it('the same id twice in one batch ends as its last version, indexes included', async () => {
        await manager.insertNode(message('x', 'c1', T));
        await manager.insertNodes([message('x', 'c2', T + 1), message('x', 'c1', T + 2)]);
        expect(await manager.indexes.findNodeIds('Message', 'chatId', 'c1')).toEqual(['x']);
        expect(await manager.indexes.findNodeIds('Message', 'chatId', 'c2')).toEqual([]);
        expect((await manager.messagesOfChat('c1')).map((m) => m.timestamp)).toEqual([T + 2]);
        await manager.batch({ deleteNodes: ['x'], nodes: [message('x', 'c3', T)] });
        expect(await manager.indexes.findNodeIds('Message', 'chatId', 'c3')).toEqual(['x']);
        expect((await manager.indexes.verify()).ok).toBe(true);
      });

      it('stores records as they were at the insert call, with index entries matching what is stored', async () => {
        type Mutable = { -readonly [K in keyof Message]: Message[K] };
        // Through the manager: the transaction starts later, so the caller's change must not reach the record.
        const first = message('m1', 'chat_a', T) as Mutable;
        const inserting = manager.insertNode(first);
        first.chatId = 'chat_b' as Message['chatId'];
        first.timestamp = T + 9;
        await inserting;
        // Inside a write: the record is encoded at the call, its index entries computed after a read; a change in
        // between must reach neither.
        const second = message('m2', 'chat_a', T + 1) as Mutable;
        await manager.write(async (w) => {
          const pending = w.insertNode(second);
          second.chatId = 'chat_b' as Message['chatId'];
          await pending;
        });
        const e = embedding('e1', [1, 0, 0, 0]);
        const edgeInsert = manager.insertEdge(edge('g1', 'm1', 'm2', 'follows'));
        const embeddingInsert = manager.insertEmbedding(e);
        e.vector.set([0, 0, 0, 1]);
        await Promise.all([edgeInsert, embeddingInsert]);
        expect(await manager.getNode('m1')).toMatchObject({ chatId: 'chat_a', timestamp: T });
        expect(await manager.getNode('m2')).toMatchObject({ chatId: 'chat_a' });
        expect((await manager.messagesOfChat('chat_a')).map((m) => m.id)).toEqual(['m1', 'm2']);
        expect(await manager.indexes.findNodeIds('Message', 'chatId', 'chat_b')).toEqual([]);
        expect(Array.from((await manager.getEmbedding('e1'))!.vector)).toEqual([1, 0, 0, 0]);
        const [best] = await manager.searchSimilar([1, 0, 0, 0], 1);
        expect(best).toMatchObject({ id: 'e1' });
        expect(best!.score).toBeCloseTo(1, 6);
        expect((await manager.indexes.verify()).ok).toBe(true);
        // A record whose fields are getters on its prototype (a class instance) is stored and indexed the same.
        const fromClass = Object.create({
          get chatId() {
            return 'chat_c';
          },
        }) as Message;
        const { chatId: _chatId, ...rest } = message('m9', 'unused', T + 3);
        Object.assign(fromClass, rest);
        await manager.insertNode(fromClass);
        expect(await manager.getNode('m9')).toMatchObject({ chatId: 'chat_c' });
        expect(await manager.indexes.findNodeIds('Message', 'chatId', 'chat_c')).toEqual(['m9']);
        // Each field is read once: a getter giving another value per read is stored and indexed with its one value.
        const reads = { type: 0, chatId: 0 };
        const changing = { ...message('m8', 'unused', T + 4) } as Record<string, unknown>;
        Object.defineProperty(changing, 'type', { enumerable: true, get: () => (reads.type++ === 0 ? 'Message' : 'Log') });
        Object.defineProperty(changing, 'chatId', { enumerable: true, get: () => `chat_${reads.chatId++}` });
        await manager.insertNode(changing as unknown as Message);
        expect(reads).toEqual({ type: 1, chatId: 1 });
        expect(await manager.getNode('m8')).toMatchObject({ type: 'Message', chatId: 'chat_0' });
        expect(await manager.indexes.findNodeIds('Message', 'chatId', 'chat_0')).toEqual(['m8']);
        // Deletes take their ids at the call too.
        const ids = ['m1'];
        const deleting = manager.deleteNodes(ids);
        ids[0] = 'm2';
        expect((await deleting).map((n) => n?.id)).toEqual(['m1']);
        expect((await manager.getNodes(['m1', 'm2'])).map((n) => n?.id)).toEqual([undefined, 'm2']);
      });

      it('read queries are taken at the call, though their snapshot opens later', async () => {
        await manager.insertNodes([message('m1', 'chat_a', T), message('m2', 'chat_a', T + 1), message('m3', 'chat_a', T + 2)]);
        const query: { limit?: number; reverse?: boolean } = { limit: 1, reverse: true };
        const reading = manager.messagesOfChat('chat_a', query);
        const paging = manager.nodesOfType('Message', query);
        query.limit = 3;
        query.reverse = false;
        expect((await reading).map((m) => m.id)).toEqual(['m3']);
        expect((await paging).map((m) => m.id)).toEqual(['m3']);
      });

      it('rejects non-arrays and over-long referenced ids with typed errors', async () => {
        await expectStorageError(() => manager.batch(null as never), 'INVALID_ARGUMENT');
        const unknownType = await expectStorageError(() => manager.insertNode({ ...message('u', 'c', T), type: 'Memo' } as never), 'INVALID_ARGUMENT');
        expect(unknownType.message).toMatch(/Unknown node type "Memo"; expected one of Chat, Message/);
        await expectStorageError(() => manager.insertNodes(undefined as never), 'INVALID_ARGUMENT');
        await expectStorageError(() => manager.getNodes('ab' as never), 'INVALID_ARGUMENT');
        const error = await expectStorageError(() => manager.insertNode(message('m', 'c'.repeat(300), T)), 'INVALID_ARGUMENT');
        expect(error.message).toMatch(/chatId/);
        await expectStorageError(() => manager.insertEdge(edge('e', 'a', 'b', 'T'.repeat(300))), 'INVALID_ARGUMENT');
        expect((await engine.stats()).entries['nodes']).toBe(0);
        // Each id within the limit, but three of 256 three-byte characters make a graph key too large for any engine.
        const big = '\u4e2d'.repeat(256);
        const tooLong = await expectStorageError(() => manager.insertEdge(edge(big, big, big, big)), 'INVALID_ARGUMENT');
        expect(tooLong.message).toMatch(/graph key.*shorter ids/);
        expect((await engine.stats()).entries['edges']).toBe(0);
      });

      it('delete returns the removed node and removes its index entries', async () => {
        const nodes = allSampleNodes();
        await manager.insertNodes(nodes);
        const removed = await manager.deleteNode('Entity');
        expect(plain(removed)).toEqual(plain(sampleNodes().Entity));
        expect(await manager.deleteNode('Entity')).toBeUndefined();
        expect(await manager.getNode('Entity')).toBeUndefined();
        expect(await manager.indexes.findNodeIds('Entity', 'entityType', 'PERSON')).toEqual([]);
        expect(await manager.indexes.nodeIdsOfType('Entity')).toEqual([]);
        const report = await manager.indexes.verify();
        expect(report).toMatchObject({ ok: true, checked: { nodes: nodes.length - 1 } });
        const removedMany = await manager.deleteNodes(['Chat', 'missing', 'Log']);
        expect(removedMany.map((n) => n?.type)).toEqual(['Chat', undefined, 'Log']);
      });

      it('rejects empty and malformed ids with a typed error and writes nothing', async () => {
        const before = await engine.stats();
        await expectStorageError(() => manager.getNode(''), 'INVALID_ARGUMENT');
        await expectStorageError(() => manager.getNode(42 as unknown as string), 'INVALID_ARGUMENT');
        await expectStorageError(() => manager.insertNode({ ...sampleNodes().Chat, id: '' as Node['id'] }), 'INVALID_ARGUMENT');
        await expectStorageError(() => manager.insertNode({ ...sampleNodes().Chat, id: 'bad\uD800' as Node['id'] }), 'INVALID_ARGUMENT');
        await expectStorageError(() => manager.insertNode({ ...sampleNodes().Chat, id: 'x'.repeat(1000) as Node['id'] }), 'INVALID_ARGUMENT');
        await expectStorageError(() => manager.deleteNode(''), 'INVALID_ARGUMENT');
        await expectStorageError(() => manager.insertEdge(edge('e1', '', 'b', 'REPLY')), 'INVALID_ARGUMENT');
        await expectStorageError(() => manager.getEmbeddingByNode(''), 'INVALID_ARGUMENT');
        const error = await expectStorageError(() => manager.getEdge(''), 'INVALID_ARGUMENT');
        expect(error.message).toMatch(/empty/);
        expect((await engine.stats()).entries).toEqual(before.entries);
      });

      it('a batch with one invalid record writes none of it (CodecError names the field)', async () => {
        const bad = { ...sampleNodes().Message, id: 'm_bad', timestamp: 'yesterday' } as unknown as Node;
        let caught: unknown;
        try {
          await manager.batch({ nodes: [message('m_ok', 'c1', T), bad], edges: [edge('e1', 'm_ok', 'c1', 'IN')] });
        } catch (error) {
          caught = error;
        }
        expect(caught).toBeInstanceOf(CodecError);
        expect((caught as CodecError).message).toMatch(/timestamp/);
        expect(await manager.getNode('m_ok')).toBeUndefined();
        const stats = await engine.stats();
        for (const store of STORAGE_STORES) expect(stats.entries[store], store).toBe(0);
      });

      it('scans nodes by type (paged) and by id prefix', async () => {
        await manager.insertNodes([...allSampleNodes(), ...['m3', 'm1', 'm2', 'x1'].map((id) => message(id, 'c', T))]);
        expect((await manager.nodesOfType('Message')).map((n) => n.id)).toEqual(['Message', 'm1', 'm2', 'm3', 'x1']);
        const page1 = await manager.nodesOfType('Message', { limit: 2 });
        const page2 = await manager.nodesOfType('Message', { limit: 2, after: page1[1]!.id });
        expect([...page1, ...page2].map((n) => n.id)).toEqual(['Message', 'm1', 'm2', 'm3']);
        expect((await manager.nodesWithIdPrefix('m')).map((n) => n.id)).toEqual(['m1', 'm2', 'm3']);
        expect((await manager.nodesWithIdPrefix('m', { reverse: true, limit: 1 })).map((n) => n.id)).toEqual(['m3']);
        expect((await manager.nodesWithIdPrefix('')).length).toBe(NODE_TYPES.length + 4);
      });
    });

    describe('structural and time indexes', () => {
      it('finds nodes by every indexed property of DOMAIN.md', async () => {
        await manager.insertNodes(allSampleNodes());
        const s = sampleNodes();
        const cases: [Node['type'], string, string, string][] = [
          ['Chat', 'topic', 'travel', 'Chat'],
          ['Message', 'chatId', 'Chat', 'Message'],
          ['Message', 'sender', 'user', 'Message'],
          ['Entity', 'entityType', 'PERSON', 'Entity'],
          ['Entity', 'label', 'Ada Lovelace', 'Entity'],
          ['Summary', 'chatId', 'Chat', 'Summary'],
          ['Attachment', 'messageId', 'Message', 'Attachment'],
          ['Attachment', 'mimeType', 'image/png', 'Attachment'],
          ['ScrapedPage', 'url', s.ScrapedPage.url, 'ScrapedPage'],
          ['Bookmark', 'url', s.Bookmark.url, 'Bookmark'],
          ['ModelInfo', 'name', 'llama', 'ModelInfo'],
          ['ActionOutcome', 'actionType', 'search', 'ActionOutcome'],
          ['ActionOutcome', 'conversationContext', 'ctx-1', 'ActionOutcome'],
          ['Log', 'level', 'info', 'Log'],
        ];
        for (const [type, property, value, id] of cases) {
          expect(await manager.indexes.findNodeIds(type, property as never, value), `${type}.${property}`).toEqual([id]);
          expect(await manager.indexes.findNodeIds(type, property as never, `${value}-other`), `${type}.${property}`).toEqual([]);
        }
        expect((await manager.findNodes('Entity', 'entityType', 'PERSON')).map((n) => n.label)).toEqual(['Ada Lovelace']);
        expect(await manager.indexes.nodeIdsOfEmbedding('emb_1')).toEqual(['Message']);
        await expectStorageError(() => manager.indexes.findNodeIds('Entity', 'nickname' as never, 'x'), 'INVALID_ARGUMENT');
      });

      it('long property values are found exactly, not by their indexed prefix', async () => {
        const long = 'c'.repeat(300);
        const a = { ...sampleNodes().ActionOutcome, id: 'a1', conversationContext: `${long}-a` } as Node;
        const b = { ...sampleNodes().ActionOutcome, id: 'a2', conversationContext: `${long}-b` } as Node;
        await manager.insertNodes([a, b]);
        expect(await manager.indexes.findNodeIds('ActionOutcome', 'conversationContext', `${long}-b`)).toEqual(['a2']);
        expect(await manager.indexes.findNodeIds('ActionOutcome', 'conversationContext', long)).toEqual([]);
      });

      it('a value as long as an indexed prefix finds only itself, not the longer values cut to it', async () => {
        const base = `https://example.com/${'a'.repeat(180)}`; // exactly 200 units: the indexed prefix of longer URLs
        const pair = '\u{1F600}';
        const cutShort = `${'b'.repeat(199)}${pair}tail`; // its cut stops before the pair: 199 units
        const nodes = [
          { ...sampleNodes().Bookmark, id: 'short', url: base },
          { ...sampleNodes().Bookmark, id: 'long', url: `${base}/more` },
          { ...sampleNodes().Bookmark, id: 'b199', url: 'b'.repeat(199) },
          { ...sampleNodes().Bookmark, id: 'surrogate', url: cutShort },
        ] as Node[];
        await manager.insertNodes(nodes);
        expect(await manager.indexes.findNodeIds('Bookmark', 'url', base)).toEqual(['short']);
        expect((await manager.findNodes('Bookmark', 'url', base)).map((n) => n.id)).toEqual(['short']);
        expect(await manager.indexes.findNodeIds('Bookmark', 'url', 'b'.repeat(199))).toEqual(['b199']);
        expect(await manager.indexes.findNodeIds('Bookmark', 'url', cutShort)).toEqual(['surrogate']);
        expect(await manager.indexes.findNodeIds('Bookmark', 'url', base, { limit: 1 })).toEqual(['short']);
        // A bad limit is refused whatever the value's length (the exact lookup of long values slices by it).
        for (const limit of [-1, 1.5, Number.NaN]) {
          for (const value of ['b', 'b'.repeat(199), base]) {
            await expectStorageError(() => manager.indexes.findNodeIds('Bookmark', 'url', value, { limit }), 'INVALID_ARGUMENT');
          }
        }
      });

      it('findNodes reads the index and the nodes in one snapshot', async () => {
        // Writes that move m1 between two chats commit while lookups are under way, at every point of the lookup
        // (it starts 0..29 microtask turns after the write): whether a lookup sees m1 or not, what it returns matches its query.
        for (let turns = 0; turns < 30; turns++) {
          await manager.insertNode(message('m1', turns % 2 === 0 ? 'c1' : 'c2', T));
          const write = manager.insertNode(message('m1', turns % 2 === 0 ? 'c2' : 'c1', T));
          for (let i = 0; i < turns; i++) await Promise.resolve();
          const [seen] = await Promise.all([manager.findNodes('Message', 'chatId', 'c1'), write]);
          for (const node of seen) expect((node as Message).chatId).toBe('c1');
        }
      });

      it("a chat's messages in timestamp order, by range, newest first with a limit", async () => {
        const times = [50, 10, 40, 20, 30];
        await manager.insertNodes(times.map((t, i) => message(`m${i}`, 'chat_1', T + t)));
        await manager.insertNode(message('other', 'chat_2', T + 15));
        expect((await manager.messagesOfChat('chat_1')).map((m) => m.timestamp - T)).toEqual([10, 20, 30, 40, 50]);
        expect((await manager.messagesOfChat('chat_1', { from: T + 20, to: T + 40 })).map((m) => m.timestamp - T)).toEqual([20, 30]);
        expect((await manager.messagesOfChat('chat_1', { reverse: true, limit: 2 })).map((m) => m.timestamp - T)).toEqual([50, 40]);
        expect((await manager.messagesOfChat('chat_2')).map((m) => m.id)).toEqual(['other']);
      });

      it('logs by time and level, and nodes of a type in a time range', async () => {
        await manager.insertNodes([logEntry('l1', T + 1, 'info'), logEntry('l2', T + 2, 'error'), logEntry('l3', T + 3, 'info'), logEntry('l4', T + 4, 'warn')]);
        expect((await manager.logs()).map((l) => l.id)).toEqual(['l1', 'l2', 'l3', 'l4']);
        expect((await manager.logs({ level: 'info' })).map((l) => l.id)).toEqual(['l1', 'l3']);
        expect((await manager.logs({ level: 'info', reverse: true, limit: 1 })).map((l) => l.id)).toEqual(['l3']);
        expect((await manager.logs({ from: T + 2, to: T + 4 })).map((l) => l.id)).toEqual(['l2', 'l3']);
        const chats = [0, 100, 200].map((d, i) => ({ ...sampleNodes().Chat, id: `chat${i}`, createdAt: T + d }) as Node);
        await manager.insertNodes(chats);
        expect((await manager.nodesInTimeRange('Chat', { from: T + 50 })).map((c) => c.id)).toEqual(['chat1', 'chat2']);
        await expectStorageError(() => manager.nodesInTimeRange('Entity' as never), 'INVALID_ARGUMENT');
        await expectStorageError(() => manager.logs({ from: Number.NaN }), 'INVALID_ARGUMENT');
      });
    });

    describe('graph', () => {
      beforeEach(async () => {
        await manager.insertNodes(['a', 'b', 'c', 'd'].map((id) => ({ ...sampleNodes().Entity, id }) as Node));
        await manager.insertEdges([
          edge('e1', 'a', 'b', 'MENTIONS'),
          edge('e2', 'a', 'c', 'REPLY'),
          edge('e3', 'd', 'a', 'MENTIONS'),
          edge('e4', 'a', 'b', 'REPLY'),
        ]);
      });

      it('outgoing and incoming edges, by edge type, and neighbours in one call', async () => {
        expect(await manager.indexes.edgeIds('a', { direction: 'out' })).toEqual(['e1', 'e2', 'e4']);
        expect(await manager.indexes.edgeIds('a', { direction: 'out', edgeType: 'REPLY' })).toEqual(['e2', 'e4']);
        expect(await manager.indexes.edgeIds('a', { direction: 'in' })).toEqual(['e3']);
        expect((await manager.edgesOf('a', { direction: 'in' })).map((e) => e.fromNode)).toEqual(['d']);
        expect((await manager.edgesOf('b')).map((e) => e.id)).toEqual(['e1', 'e4']);
        expect(await manager.indexes.neighbourIds('a')).toEqual(['b', 'c', 'd']);
        expect((await manager.neighbours('a', { direction: 'out', edgeType: 'MENTIONS' })).map((n) => n.id)).toEqual(['b']);
        await expectStorageError(() => manager.edgesOf('a', { direction: 'sideways' as never }), 'INVALID_ARGUMENT');
      });

      it('updating an edge in place keeps its graph entries', async () => {
        await manager.insertEdge({ ...edge('e1', 'a', 'b', 'MENTIONS'), metadata: { confidence: 0.5 } });
        await manager.insertEdges([edge('e2', 'a', 'c', 'REPLY'), { ...edge('e2', 'a', 'c', 'REPLY'), metadata: { confidence: 0.1 } }]);
        expect(await manager.indexes.edgeIds('a', { direction: 'out' })).toEqual(['e1', 'e2', 'e4']);
        expect((await manager.getEdge('e1'))?.metadata).toEqual({ confidence: 0.5 });
        expect((await manager.indexes.verify()).ok).toBe(true);
      });

      it('re-pointing an edge moves its graph entries', async () => {
        await manager.insertEdge(edge('e1', 'c', 'd', 'MENTIONS'));
        expect(await manager.indexes.edgeIds('a', { direction: 'out', edgeType: 'MENTIONS' })).toEqual([]);
        expect(await manager.indexes.edgeIds('c', { direction: 'out' })).toEqual(['e1']);
        expect(await manager.indexes.edgeIds('b', { direction: 'in' })).toEqual(['e4']);
        expect((await manager.indexes.verify()).ok).toBe(true);
      });

      it('deleting a node keeps its edges, unless cascadeEdges', async () => {
        // batch() takes its options at the call: cascading asked for after it does not apply.
        const options = { cascadeEdges: false };
        const deleting = manager.batch({ deleteNodes: ['b'] }, options);
        options.cascadeEdges = true;
        await deleting;
        expect(await manager.indexes.edgeIds('a', { direction: 'out' })).toEqual(['e1', 'e2', 'e4']);
        await manager.deleteNode('a', { cascadeEdges: true });
        for (const id of ['e1', 'e2', 'e3', 'e4']) expect(await manager.getEdge(id)).toBeUndefined();
        expect(await manager.indexes.edgeIds('d')).toEqual([]);
        expect(await manager.indexes.edgeIds('c')).toEqual([]);
        expect((await manager.indexes.verify()).ok).toBe(true);
        expect(await manager.deleteEdge('e1')).toBeUndefined();
      });
    });

    describe('embeddings and vector search', () => {
      const dims = 16;
      const count = options.vectorCount ?? 150;
      const vectors = randomVectors(count, dims);
      const ids = vectors.map((_, i) => `emb_${String(i).padStart(4, '0')}`);
      const insertAll = (m: StorageManager<E>) => m.insertEmbeddings(vectors.map((v, i) => embedding(ids[i]!, v)));
      const bruteForce = (query: Float32Array, k: number, among: readonly number[] = vectors.map((_, i) => i)) =>
        among
          .map((i) => ({ id: ids[i]!, score: cosine(query, vectors[i]!) }))
          .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1))
          .slice(0, k);

      it('k-NN returns the exact top k by cosine similarity, with score and distance', async () => {
        await insertAll(manager);
        for (const query of randomVectors(5, dims, 7)) {
          const got = await manager.searchSimilar(query, 10);
          const want = bruteForce(query, 10);
          expect(got.map((m) => m.id)).toEqual(want.map((m) => m.id));
          got.forEach((m, i) => {
            expect(m.score).toBeCloseTo(want[i]!.score, 5);
            expect(m.distance).toBeCloseTo(1 - m.score, 12);
          });
        }
        const exact = await manager.searchSimilar(vectors[3]!, 1);
        expect(exact[0]).toMatchObject({ id: ids[3] });
        expect(exact[0]!.score).toBeCloseTo(1, 5);
        expect(await manager.searchSimilar(vectors[0]!, 0)).toEqual([]);
      });

      it('restricts k-NN to a candidate set', async () => {
        await insertAll(manager);
        const among = [5, 17, 42, 99, 120].filter((i) => i < count);
        const query = randomVectors(1, dims, 9)[0]!;
        const got = await manager.searchSimilar(query, 3, { candidates: [...among.map((i) => ids[i]!), 'unknown'] });
        expect(got.map((m) => m.id)).toEqual(bruteForce(query, 3, among).map((m) => m.id));
      });

      it('restricts k-NN to the embeddings of a structural lookup\'s nodes', async () => {
        await insertAll(manager);
        await manager.insertNodes(
          Array.from({ length: 30 }, (_, i) => message(`m${i}`, i % 3 === 0 ? 'chat_x' : 'chat_y', T + i, { embeddingId: ids[i] as never })),
        );
        const inChat = await manager.indexes.findNodeIds('Message', 'chatId', 'chat_x');
        expect(inChat).toHaveLength(10);
        const query = randomVectors(1, dims, 13)[0]!;
        const got = await manager.searchSimilar(query, 4, { nodeIds: inChat });
        const among = Array.from({ length: 30 }, (_, i) => i).filter((i) => i % 3 === 0);
        expect(got.map((m) => m.id)).toEqual(bruteForce(query, 4, among).map((m) => m.id));
        // The query is taken at the call, though it is used only after the nodes are read.
        const reused = query.slice();
        const searching = manager.searchSimilar(reused, 4, { nodeIds: inChat });
        reused.set(randomVectors(1, dims, 99)[0]!);
        expect((await searching).map((m) => m.id)).toEqual(got.map((m) => m.id));
      });

      it('updates and deletions change the results; wrong dimensions are rejected and nothing is written', async () => {
        await insertAll(manager);
        const target = randomVectors(1, dims, 11)[0]!;
        await manager.insertEmbedding(embedding(ids[7]!, target));
        expect((await manager.searchSimilar(target, 1))[0]!.id).toBe(ids[7]);
        const removed = await manager.deleteEmbedding(ids[7]!);
        expect(removed?.id).toBe(ids[7]);
        expect((await manager.searchSimilar(target, 5)).map((m) => m.id)).not.toContain(ids[7]);
        const before = await engine.stats();
        await expectStorageError(() => manager.insertEmbedding(embedding('wrong', new Float32Array(dims + 1).fill(1))), 'INVALID_ARGUMENT');
        await expectStorageError(() => manager.searchSimilar(new Float32Array(dims - 1).fill(1), 3), 'INVALID_ARGUMENT');
        await expectStorageError(() => manager.searchSimilar(new Float32Array(dims), 3), 'INVALID_ARGUMENT');
        await expectStorageError(() => manager.insertEmbedding(embedding('nan', new Float32Array(dims).fill(Number.NaN))), 'INVALID_ARGUMENT');
        expect((await engine.stats()).entries).toEqual(before.entries);
        expect(await manager.getEmbedding('wrong')).toBeUndefined();
        expect((await manager.indexes.verify()).ok).toBe(true);
      });

      it('an embedding whose vector is an array of numbers is stored as its Float32Array', async () => {
        await manager.insertEmbedding({ ...embedding('arr', [0]), vector: [1, 2, 3] as never });
        const stored = await manager.getEmbedding('arr');
        expect(stored?.vector).toBeInstanceOf(Float32Array);
        expect([...stored!.vector]).toEqual([1, 2, 3]);
        expect((await manager.searchSimilar([1, 2, 3], 1))[0]!.id).toBe('arr');
      });

      it('options that are not objects, and node ids that are not an array, fail with INVALID_ARGUMENT', async () => {
        await manager.insertNodes([message('m1', 'c', T)]);
        await manager.insertEmbedding(embedding('e', [1, 0]));
        // null means no options, as undefined does.
        expect(await manager.searchSimilar([1, 0], 1, null as never)).toHaveLength(1);
        expect((await manager.nodesWithIdPrefix('m', null as never)).map((n) => n.id)).toEqual(['m1']);
        expect(new StorageManager(engine, null as never).namespace).toBe('');
        for (const nodeIds of ['m1', new Set(['m1']), null]) {
          await expectStorageError(() => manager.searchSimilar([1, 0], 1, { nodeIds: nodeIds as never }), 'INVALID_ARGUMENT');
        }
        await expectStorageError(() => manager.searchSimilar([1, 0], 1, 'fast' as never), 'INVALID_ARGUMENT');
      });

      it('a batch of mixed dimensions into an empty index is refused whole', async () => {
        await expectStorageError(() => manager.insertEmbeddings([embedding('a', [1, 0, 0]), embedding('b', [1, 0, 0, 0])]), 'INVALID_ARGUMENT');
        expect(await manager.getEmbedding('a')).toBeUndefined();
        await expectStorageError(() => manager.insertEmbedding({ ...embedding('c', [1]), vector: undefined as never }), 'INVALID_ARGUMENT');
        await expectStorageError(() => manager.searchSimilar(null as never, 1), 'INVALID_ARGUMENT');
        await expectStorageError(() => manager.searchSimilar([1, 0], 1, { candidates: 'ab' as never }), 'INVALID_ARGUMENT');
        await expectStorageError(() => manager.searchSimilar([1, 0], 1, { candidates: 'ab' as never, nodeIds: ['m1'] }), 'INVALID_ARGUMENT');
        expect((await engine.stats()).entries['vectors']).toBe(0);
      });

      it('a warm index never mistakes a rebuilt one for itself', async () => {
        await manager.insertEmbedding(embedding('X', [1, 0, 0]));
        expect((await manager.searchSimilar([1, 0, 0], 1))[0]!.id).toBe('X'); // warm
        const other = new StorageManager(engine);
        await other.deleteEmbedding('X');
        await other.indexes.rebuild();
        await other.insertEmbedding(embedding('Y', [1, 0, 0]));
        expect((await manager.searchSimilar([1, 0, 0], 1)).map((m) => m.id)).toEqual(['Y']);
      });

      it('a slot reference past its block fails CORRUPTED on update and delete, changes nothing, and rebuild repairs it', async () => {
        await manager.insertEmbeddings([embedding('a', [1, 0, 0]), embedding('b', [0, 1, 0])]);
        await engine.put('vectors', encodeKey(['', 's', 'a']), encodeSlot({ block: 0, slot: 60000 }));
        const before = await engine.scan('vectors');
        const damaged = expect.objectContaining({ code: 'CORRUPTED', message: expect.stringContaining('Slot 60000 of vector block 0') });
        await expect(manager.insertEmbedding(embedding('a', [0, 0, 1]))).rejects.toThrow(damaged);
        await expect(manager.deleteEmbedding('a')).rejects.toThrow(damaged);
        expect(await engine.scan('vectors')).toEqual(before);
        expect(Array.from((await manager.getEmbedding('a'))!.vector)).toEqual([1, 0, 0]);
        await manager.indexes.rebuild();
        await manager.insertEmbedding(embedding('a', [0, 0, 1]));
        expect((await manager.searchSimilar([0, 0, 1], 1))[0]!.id).toBe('a');
      });

      it('indexes.rebuild() repairs a damaged vector index state', async () => {
        await insertAll(manager);
        await engine.put('vectors', encodeKey(['', 'm']), new Uint8Array([1, 2, 3]));
        await expectStorageError(() => new StorageManager(engine).searchSimilar(vectors[0]!, 1), 'CORRUPTED');
        await manager.indexes.rebuild();
        expect((await new StorageManager(engine).searchSimilar(vectors[0]!, 1))[0]!.id).toBe(ids[0]);
      });

      it('merges full small blocks into large ones and stays exact through inserts, updates and deletes', async () => {
        const big = 4096; // 3 vectors per small block: a merge every 48 vectors
        const many = randomVectors(110, big, 77);
        const bigIds = many.map((_, i) => `big${String(i).padStart(3, '0')}`);
        const m = new StorageManager(engine, { namespace: 'big' });
        await m.insertEmbeddings(many.slice(0, 60).map((v, i) => embedding(bigIds[i]!, v)));
        for (let i = 60; i < 110; i++) await m.insertEmbedding(embedding(bigIds[i]!, many[i]!));
        await m.insertEmbedding(embedding(bigIds[5]!, many[100]!)); // an update inside a merged block
        await m.deleteEmbedding(bigIds[70]!);
        const state = await m.vectors.state();
        expect(state).toMatchObject({ dimensions: big, capacity: 3, live: 109 });
        expect(state!.smallFrom).toBeGreaterThan(0);
        expect((await m.indexes.verify()).ok).toBe(true);
        const query = randomVectors(1, big, 78)[0]!;
        const current = many.map((v, i) => (i === 5 ? many[100]! : v));
        const want = current
          .map((v, i) => ({ id: bigIds[i]!, score: cosine(query, v) }))
          .filter((x) => x.id !== bigIds[70])
          .sort((a, b) => b.score - a.score)
          .slice(0, 5)
          .map((x) => x.id);
        expect((await m.searchSimilar(query, 5)).map((x) => x.id)).toEqual(want);
        expect((await new StorageManager(engine, { namespace: 'big' }).searchSimilar(query, 5)).map((x) => x.id)).toEqual(want);
      });

      it('deleting most vectors gives their blocks back (empty ones deleted, sparse large ones dissolved)', async () => {
        const big = 4096; // 3 vectors per small block, 48 per large one
        const many = randomVectors(150, big, 91);
        const bigIds = many.map((_, i) => `v${String(i).padStart(3, '0')}`);
        const m = new StorageManager(engine, { namespace: 'reclaim' });
        await m.insertEmbeddings(many.map((v, i) => embedding(bigIds[i]!, v)));
        const full = (await engine.scanKeys('vectors', { prefix: encodeKey(['reclaim', 'b']) })).length;
        const keep = [3, 77, 140];
        await m.batch({ deleteEmbeddings: bigIds.filter((_, i) => !keep.includes(i)) });
        const after = (await engine.scanKeys('vectors', { prefix: encodeKey(['reclaim', 'b']) })).length;
        expect(after).toBeLessThan(full);
        expect(after).toBeLessThanOrEqual(2);
        expect((await m.indexes.verify()).ok).toBe(true);
        const query = many[77]!;
        expect((await m.searchSimilar(query, 5)).map((x) => x.id)).toEqual(
          keep.map((i) => ({ id: bigIds[i]!, score: cosine(query, many[i]!) })).sort((a, b) => b.score - a.score).map((x) => x.id),
        );
        expect(await m.vectors.state()).toMatchObject({ live: 3 });
      });

      it('getEmbeddingByNode follows the node\'s embeddingId', async () => {
        await manager.insertEmbedding(embedding('emb_1', vectors[0]!));
        await manager.insertNodes(allSampleNodes());
        const found = await manager.getEmbeddingByNode('Message');
        expect(found?.id).toBe('emb_1');
        expect(Array.from(found!.vector)).toEqual(Array.from(vectors[0]!));
        expect(await manager.getEmbeddingByNode('Chat')).toBeUndefined();
        expect(await manager.getEmbeddingByNode('absent')).toBeUndefined();
      });

      it('is persistent: after a restart queries read the vector blocks, not the embeddings', async () => {
        await insertAll(manager);
        const query = randomVectors(1, dims, 3)[0]!;
        const before = await manager.searchSimilar(query, 5);
        await engine.close();
        engine = await fixture.open(STORAGE_STORES);
        opened.push(engine);
        const logged = withReadLog(engine);
        const reopened = new StorageManager(logged.engine);
        expect(await reopened.searchSimilar(query, 5)).toEqual(before);
        expect(logged.storesRead).toContain('vectors');
        expect(logged.storesRead).not.toContain('embeddings');
        // A warm query reads only the index state.
        logged.storesRead.length = 0;
        await reopened.searchSimilar(query, 5);
        expect(logged.storesRead).toEqual(['vectors']);
      });

      it('another manager (process, tab) writing makes a warm index reload', async () => {
        await insertAll(manager);
        const query = randomVectors(1, dims, 5)[0]!;
        await manager.searchSimilar(query, 3); // warm
        const other = new StorageManager(engine);
        const near = Float32Array.from(query, (x) => x * 2);
        await other.insertEmbedding(embedding('from-other', near));
        expect((await manager.searchSimilar(query, 1))[0]!.id).toBe('from-other');
      });
    });

    describe('atomicity, verification and repair', () => {
      it('a write failing part-way leaves neither the record nor any index entry', async () => {
        const faulty = withFailingWrites(engine);
        const m = new StorageManager(faulty.engine);
        await m.insertNodes([message('keep', 'c', T)]);
        await m.insertEmbedding(embedding('v0', [1, 0, 0, 0]));
        for (let failAt = 0; ; failAt++) {
          faulty.fault.failAtOperation = failAt;
          const work = m.batch({
            nodes: [message('m1', 'c', T + 1, { embeddingId: 'v1' as never })],
            edges: [edge('e1', 'm1', 'keep', 'REPLY')],
            embeddings: [embedding('v1', [0, 1, 0, 0])],
            deleteNodes: ['keep'],
          });
          let failed = false;
          try {
            await work;
          } catch (error) {
            expect(error).toBeInstanceOf(StorageError);
            failed = true;
          }
          if (!failed) break;
          expect(await m.getNode('m1'), `failAt ${failAt}`).toBeUndefined();
          expect(await m.getNode('keep'), `failAt ${failAt}`).toBeDefined();
          expect((await m.indexes.verify()).ok, `failAt ${failAt}`).toBe(true);
          expect((await m.searchSimilar([0, 1, 0, 0], 5)).map((x) => x.id)).toEqual(['v0']);
          expect(failAt).toBeLessThan(100);
        }
        faulty.fault.failAtOperation = undefined;
        expect(await m.getNode('m1')).toBeDefined();
        expect(await m.getNode('keep')).toBeUndefined();
        expect((await m.indexes.verify()).ok).toBe(true);
        expect((await m.searchSimilar([0, 1, 0, 0], 1))[0]!.id).toBe('v1');
      });

      it("a writer's overlapping calls (Promise.all, or not awaited) run one after another, in call order", async () => {
        await manager.insertNode(message('m1', 'c1', T));
        await manager.write((w) => Promise.all([w.insertNode(message('m1', 'c2', T + 1)), w.insertNode(message('m1', 'c3', T + 2))]));
        expect(await manager.findNodes('Message', 'chatId', 'c2')).toEqual([]);
        expect((await manager.findNodes('Message', 'chatId', 'c3')).map((n) => n.id)).toEqual(['m1']);
        await manager.write((w) => Promise.all([w.insertEmbedding(embedding('e1', [1, 0, 0])), w.insertEmbedding(embedding('e2', [0, 1, 0]))]));
        expect((await manager.searchSimilar([1, 1, 0], 5)).map((m) => m.id)).toEqual(['e1', 'e2']);
        // The second vector's dimensions are checked against the first's, not against the same empty state.
        await expectStorageError(
          () => manager.write((w) => Promise.all([w.insertEmbedding(embedding('e3', [1, 0, 0])), w.insertEmbedding(embedding('e4', [0, 1]))])),
          'INVALID_ARGUMENT',
        );
        // Calls not awaited by the callback still finish before the commit.
        await manager.write(async (w) => {
          void w.insertNode(message('m2', 'c', T));
          void w.deleteNode('m1');
          void w.insertEdge(edge('x', 'm2', 'm2', 'SELF'));
        });
        expect((await manager.getNode('m2'))?.id).toBe('m2');
        expect(await manager.getNode('m1')).toBeUndefined();
        expect((await manager.edgesOf('m2')).map((e) => e.id)).toEqual(['x']);
        // A call chained on an un-awaited one is part of the commit too.
        await manager.write(async (w) => {
          void w.insertNode(message('m3', 'c', T)).then(() => w.insertEmbedding(embedding('e9', [0, 0, 1])));
        });
        expect((await manager.getEmbedding('e9'))?.id).toBe('e9');
        expect((await manager.getNode('m3'))?.id).toBe('m3');
        const removed = await manager.write((w) => Promise.all([w.deleteNode('m2', { cascadeEdges: true }), w.deleteNode('m2')]));
        expect(removed.map((node) => node?.id)).toEqual(['m2', undefined]);
        expect(await manager.edgesOf('m2')).toEqual([]);
        expect((await manager.indexes.verify()).ok).toBe(true);
      });

      it('a cascading delete that meets a damaged edge deletes nothing, also when its error is caught', async () => {
        await manager.insertNodes([message('n1', 'c', T)]);
        await manager.insertEdges([edge('e1', 'n1', 'n2', 'REPLY'), edge('e2', 'n3', 'n1', 'REPLY')]);
        await engine.put('edges', encodeKey(['', 'e2']), Uint8Array.of(1, 2, 3, 4, 5));
        const outcome = await manager.write(async (w) => {
          try {
            await w.deleteNode('n1', { cascadeEdges: true });
            return 'deleted';
          } catch (error) {
            return codeOf(error);
          }
        });
        expect(outcome).toBe('MALFORMED'); // the damaged edge, found before anything is deleted
        expect((await manager.getNode('n1'))?.id).toBe('n1');
        expect((await manager.getEdge('e1'))?.id).toBe('e1');
        expect((await manager.messagesOfChat('c')).map((m) => m.id)).toEqual(['n1']);
      });

      it('a call that fails inside a write and is caught there writes nothing of itself', async () => {
        await manager.insertNodes([message('a', 'c', T), message('b', 'c', T + 1)]);
        await manager.insertEdge(edge('kept', 'a', 'b', 'REPLY'));
        await engine.put('nodes', encodeKey(['', 'broken']), new Uint8Array([0xb7, 2, 1, 0]));
        const before = await engine.stats();
        const long = '\u4e2d'.repeat(256); // a valid id, but three of them make a graph key over the size limit
        const failures = await manager.write(async (w) => {
          const codes: string[] = [];
          const attempt = async (call: () => Promise<unknown>): Promise<void> => {
            try {
              await call();
              codes.push('ok');
            } catch (error) {
              codes.push(codeOf(error));
            }
          };
          await attempt(() => w.insertEdges([edge('fine', 'a', 'b', 'REPLY'), edge(long, 'a', long, long)]));
          await attempt(() => w.deleteNodes(['a', 'broken']));
          await attempt(() => w.deleteEdges(['kept']).then(() => Promise.reject(new Error('after'))));
          return codes;
        });
        // The graph key over the size limit, the damaged node, then the caller's own rejection.
        expect(failures).toEqual(['INVALID_ARGUMENT', 'MALFORMED', 'Error: after']);
        // Only the third call, whose own work succeeded, changed anything: the edge it deleted.
        expect(await manager.getEdge('fine')).toBeUndefined();
        expect(await manager.getNode('a')).toBeDefined();
        expect(await manager.getEdge('kept')).toBeUndefined();
        const after = await engine.stats();
        expect(after.entries.nodes).toBe(before.entries.nodes);
        expect(after.entries.edges).toBe(before.entries.edges! - 1);
        await engine.delete('nodes', encodeKey(['', 'broken']));
        expect((await manager.indexes.verify()).ok).toBe(true);
      });

      it('indexes.verify() reports drift and indexes.rebuild() repairs it', async () => {
        await manager.insertNodes(allSampleNodes());
        await manager.insertEdges([edge('e1', 'Chat', 'Message', 'CONTAINS_MESSAGE')]);
        await manager.insertEmbeddings(randomVectors(40, 8).map((v, i) => embedding(`v${i}`, v)));
        await manager.deleteEmbedding('v3'); // leaves a free slot
        expect((await manager.indexes.verify()).ok).toBe(true);

        const typeKey = encodeKey(['', 'type', 'Chat', 'Chat']);
        // Entries of this namespace whose keys do not decode (0x01: a byte no key part starts with; 0xFF would make
        // them keys of a namespace that goes on with U+0000).
        const damagedKey = Uint8Array.of(...encodeKey(['']), 0x01);
        const damagedSlotKey = Uint8Array.of(...encodeKey(['', 's']), 0x01);
        await engine.write(STORAGE_STORES, async (tx) => {
          await tx.delete('index', typeKey);
          await tx.put('index', encodeKey(['', 'type', 'Chat', 'ghost']), new Uint8Array(0));
          await tx.put('index', damagedKey, new Uint8Array(0));
          await tx.put('vectors', damagedSlotKey, new Uint8Array(6));
          await tx.delete('outgoing', encodeKey(['', 'Chat', 'CONTAINS_MESSAGE', 'e1']));
          await tx.delete('embeddings', encodeKey(['', 'v5']));
        });
        const report = await manager.indexes.verify();
        expect(report.ok).toBe(false);
        const drift = (store: string, key: KeyPart[] | undefined, bytes = encodeKey(key!)) => ({ store, key, bytes });
        expect(report.missing).toEqual(
          expect.arrayContaining([
            drift('index', ['', 'type', 'Chat', 'Chat']),
            drift('outgoing', ['', 'Chat', 'CONTAINS_MESSAGE', 'e1']),
          ]),
        );
        expect(report.extra).toEqual(
          expect.arrayContaining([
            drift('index', ['', 'type', 'Chat', 'ghost']),
            drift('index', undefined, damagedKey),
            drift('vectors', ['', 's', 'v5']),
            drift('vectors', undefined, damagedSlotKey),
          ]),
        );
        const rebuilt = await manager.indexes.rebuild();
        expect(rebuilt.vectors).toBe(38);
        expect((await manager.indexes.verify()).ok).toBe(true);
        expect(await manager.indexes.nodeIdsOfType('Chat')).toEqual(['Chat']);
        expect((await manager.searchSimilar(randomVectors(1, 8, 1)[0]!, 50)).length).toBe(38);
      });

      it('an undecodable record makes verify and rebuild fail naming it, and nothing is changed', async () => {
        await manager.insertNodes(allSampleNodes());
        await engine.put('nodes', encodeKey(['', 'broken']), new Uint8Array([0xb7, 2, 1, 0]));
        const before = await engine.stats();
        for (const run of [() => manager.indexes.verify(), () => manager.indexes.rebuild()]) {
          const error = await expectStorageError(run, 'CORRUPTED');
          expect(error.message).toMatch(/"broken"/);
          expect(error.cause).toBeInstanceOf(CodecError);
        }
        expect((await engine.stats()).entries).toEqual(before.entries);
        expect((await manager.getNode('Chat'))?.type).toBe('Chat');
      });

      it('ids, values and namespaces that go on with U+0000 are other keys, not extensions of the shorter one', async () => {
        // ['c'] encodes as a byte prefix of ['c\0x']: lookups must match tuples, not bytes.
        await manager.insertNodes([message('a', 'c', T), message('a\u0000b', 'c\u0000', T + 1)]);
        await manager.insertEdge(edge('x1', 'a\u0000b', 'z', 'REPLY'));
        expect((await manager.messagesOfChat('c')).map((m) => m.id)).toEqual(['a']);
        expect((await manager.findNodes('Message', 'chatId', 'c')).map((m) => m.id)).toEqual(['a']);
        expect(await manager.edgesOf('a')).toEqual([]);
        // A lookup whose key would be longer than any key finds nothing (the bound of an exact scan is not too long).
        expect(await manager.edgesOf('a', { edgeType: 'x'.repeat(1975) })).toEqual([]);
        await expectStorageError(() => manager.logs({ level: 'x'.repeat(1975) as never }), 'INVALID_ARGUMENT'); // not a level
        expect((await manager.deleteNode('a', { cascadeEdges: true }))?.id).toBe('a');
        expect((await manager.getEdge('x1'))?.id).toBe('x1'); // an edge of 'a\0b', not of 'a'
        const other = new StorageManager(engine, { namespace: '\u0000x' });
        await other.insertNodes([message('b1', 'c', T)]);
        await other.insertEmbedding(embedding('be', [1, 0, 0]));
        // The default namespace '' is a byte prefix of every other: verify and rebuild must see only their own.
        expect((await manager.indexes.verify()).ok).toBe(true);
        await manager.indexes.rebuild();
        expect((await other.findNodes('Message', 'chatId', 'c')).map((m) => m.id)).toEqual(['b1']);
        expect((await other.searchSimilar([1, 0, 0], 3)).map((m) => m.id)).toEqual(['be']);
        expect(await manager.searchSimilar([1, 0, 0], 3)).toEqual([]);
        expect((await other.indexes.verify()).ok).toBe(true);
      });

      it('namespaces on one engine are isolated', async () => {
        const a = new StorageManager(engine, { namespace: 'A' });
        const b = new StorageManager(engine, { namespace: 'AB' });
        await a.insertNodes(allSampleNodes());
        await a.insertEmbedding(embedding('e', [1, 2, 3]));
        await b.insertEmbedding(embedding('e', [1, 2, 3, 4]));
        expect(await b.getNode('Chat')).toBeUndefined();
        expect(await manager.getNode('Chat')).toBeUndefined();
        expect(await b.indexes.nodeIdsOfType('Chat')).toEqual([]);
        expect((await b.searchSimilar([1, 2, 3, 4], 3)).map((m) => m.id)).toEqual(['e']);
        expect((await a.indexes.verify()).ok && (await b.indexes.verify()).ok).toBe(true);
        await a.deleteNode('Chat');
        expect((await reopen()) && (await new StorageManager(engine, { namespace: 'A' }).getNode('Message'))?.type).toBe('Message');
      });

      it('two manager objects of one namespace in one transaction share its vector blocks', async () => {
        const a = new StorageManager(engine);
        const b = new StorageManager(engine);
        await writeTogether(engine, async (bind) => {
          await bind(a).insertEmbedding(embedding('a', [1, 0]));
          await bind(b).insertEmbedding(embedding('b', [0, 1]));
        });
        expect((await manager.searchSimilar([1, 0.1], 2)).map((m) => m.id)).toEqual(['a', 'b']);
        expect((await manager.indexes.verify()).ok).toBe(true);
      });

      it('an engine without the storage stores is refused with a clear error', async () => {
        const other = await createFixture();
        const small = await other.open(['only']);
        try {
          const error = await expectStorageError(() => new StorageManager(small), 'STORE_NOT_FOUND');
          expect(error.message).toMatch(/STORAGE_STORES/);
        } finally {
          await small.close();
          await other.destroy?.();
        }
      });
    });
  });
}
