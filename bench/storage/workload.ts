/**
 * The storage benchmark's corpus and cases, engine-agnostic and browser-safe: bench/storage.ts runs them on
 * LmdbEngine in Node, bench/storage/page.ts on IndexedDbEngine in Chromium.
 *
 * Corpus (defaults): 1k chats, 100k messages (100 per chat, ~300 characters each, one 384-d embedding each),
 * 20k entities, 200k edges (chat -CONTAINS_MESSAGE-> message, message -MENTIONS-> entity).
 */
import type {
  StorageManager,
  Chat,
  Edge,
  EdgeId,
  Embedding,
  EmbeddingId,
  Entity,
  Message,
  Node,
  NodeId,
} from '@tabstore/sdk';

export interface CorpusSize {
  chats: number;
  messagesPerChat: number;
  entities: number;
  dimensions: number;
}

export const FULL_CORPUS: CorpusSize = { chats: 1000, messagesPerChat: 100, entities: 20_000, dimensions: 384 };

/** A measurement: `ops` operations took `ms`; `note` is printed with it. */
export interface StorageRow {
  case: string;
  subject: string;
  ops: number;
  ms: number;
}

const T0 = Date.UTC(2025, 0, 1);
const WORDS = ['travel', 'paris', 'museum', 'train', 'hotel', 'dinner', 'tomorrow', 'budget', 'weather', 'ticket', 'agent', 'notes'];

const chatId = (c: number): NodeId => `chat_${String(c).padStart(5, '0')}` as NodeId;
const messageId = (m: number): NodeId => `msg_${String(m).padStart(7, '0')}` as NodeId;
const entityId = (e: number): NodeId => `ent_${String(e).padStart(6, '0')}` as NodeId;
const embeddingIdOf = (m: number): EmbeddingId => `emb_${String(m).padStart(7, '0')}` as EmbeddingId;

/** A deterministic xorshift generator in [0, 1). */
export function random(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

function vector(m: number, dims: number): Float32Array {
  const next = random(m * 2654435761 + 1);
  const v = new Float32Array(dims);
  for (let i = 0; i < dims; i++) v[i] = next() * 2 - 1;
  return v;
}

function messageOf(m: number, size: CorpusSize): Message {
  const c = m % size.chats;
  let text = '';
  for (let i = 0; text.length < 300; i++) text += `${WORDS[(m + i * 7) % WORDS.length]} `;
  return {
    type: 'Message',
    id: messageId(m),
    chatId: chatId(c),
    sender: m % 2 === 0 ? 'user' : 'assistant',
    timestamp: T0 + m * 1000,
    textContent: text,
    attachmentIds: [],
    embeddingId: embeddingIdOf(m),
    metadata: { tokens: 60 + (m % 40), model: 'llama-3.1-8b' },
  };
}

function chatOf(c: number): Chat {
  return { type: 'Chat', id: chatId(c), title: `Chat ${c}`, topic: WORDS[c % WORDS.length]!, createdAt: T0 + c, updatedAt: T0 + c, messageIds: [], summaryIds: [], metadata: {} };
}

function entityOf(e: number): Entity {
  return { type: 'Entity', id: entityId(e), label: `Entity ${e}`, entityType: ['PERSON', 'PROJECT', 'CONCEPT'][e % 3]!, metadata: {} };
}

function edgeOf(id: string, from: NodeId, to: NodeId, edgeType: string, t: number): Edge {
  return { id: id as EdgeId, fromNode: from, toNode: to, edgeType, createdAt: t, metadata: { confidence: 0.9 } };
}

/** Writes the corpus through `manager` in transactions of `batch` records; reports progress. */
export async function loadCorpus(manager: StorageManager, size: CorpusSize, onProgress?: (done: number, total: number) => void, batch = 1000): Promise<number> {
  const messages = size.chats * size.messagesPerChat;
  const total = size.chats + messages * 4 + size.entities; // messages, embeddings, 2 edges each
  let done = 0;
  for (let c = 0; c < size.chats; c += batch) {
    const nodes: Node[] = [];
    for (let i = c; i < Math.min(size.chats, c + batch); i++) nodes.push(chatOf(i));
    await manager.insertNodes(nodes);
    done += nodes.length;
  }
  for (let e = 0; e < size.entities; e += batch) {
    const nodes: Node[] = [];
    for (let i = e; i < Math.min(size.entities, e + batch); i++) nodes.push(entityOf(i));
    await manager.insertNodes(nodes);
    done += nodes.length;
  }
  for (let m = 0; m < messages; m += batch) {
    const nodes: Node[] = [];
    const edges: Edge[] = [];
    const embeddings: Embedding[] = [];
    for (let i = m; i < Math.min(messages, m + batch); i++) {
      const message = messageOf(i, size);
      nodes.push(message);
      embeddings.push({ id: embeddingIdOf(i), vector: vector(i, size.dimensions), model: 'all-MiniLM-L6-v2' });
      edges.push(edgeOf(`c${i}`, message.chatId, message.id, 'CONTAINS_MESSAGE', message.timestamp));
      edges.push(edgeOf(`m${i}`, message.id, entityId((i * 7919) % size.entities), 'MENTIONS', message.timestamp));
    }
    await manager.batch({ nodes, edges, embeddings });
    done += nodes.length * 4;
    onProgress?.(done, total);
  }
  return done;
}

/** Loads only the embeddings of the first `count` messages (the small k-NN namespace). */
export async function loadVectors(manager: StorageManager, count: number, dims: number, batch = 1000): Promise<void> {
  for (let m = 0; m < count; m += batch) {
    const embeddings: Embedding[] = [];
    for (let i = m; i < Math.min(count, m + batch); i++) embeddings.push({ id: embeddingIdOf(i), vector: vector(i, dims), model: 'all-MiniLM-L6-v2' });
    await manager.insertEmbeddings(embeddings);
  }
}

let sink = 0;
/** Keeps results alive so nothing is optimised away. */
export const checksum = (): number => sink;

/** The read and write cases on a loaded corpus. `time` measures one case; the caller decides the clock. */
export async function runCases(
  manager: StorageManager,
  small: StorageManager,
  size: CorpusSize,
  time: (caseName: string, subject: string, ops: number, run: () => Promise<void>) => Promise<void>,
  subject: string,
  counts: { gets: number; queries: number; knn: number; rounds: number },
): Promise<void> {
  const messages = size.chats * size.messagesPerChat;
  const pick = random(99);
  const ids = Array.from({ length: counts.gets }, () => messageId(Math.floor(pick() * messages)));
  const chats = Array.from({ length: counts.queries }, () => chatId(Math.floor(pick() * size.chats)));
  const entities = Array.from({ length: counts.queries }, () => entityId(Math.floor(pick() * size.entities)));
  const queries = Array.from({ length: counts.knn }, (_, i) => vector(10_000_000 + i, size.dimensions));

  // Read cases run `rounds` times (the caller keeps each case's best: the VM's timings drift between runs).
  for (let round = 0; round < counts.rounds; round++) {
    await time('getNode (message)', subject, ids.length, async () => {
      for (const id of ids) {
        const node = await manager.getNode(id);
        if (node === undefined) throw new Error(`missing ${id}`);
        sink += node.id.length;
      }
    });
    await time('getNodeView + one field', subject, ids.length, async () => {
      for (const id of ids) {
        const view = await manager.getNodeView(id);
        if (view?.type !== 'Message') throw new Error(`missing ${id}`);
        sink += view.timestamp;
      }
    });
    await time('messages of a chat (50 newest)', subject, chats.length, async () => {
      for (const c of chats) {
        const list = await manager.messagesOfChat(c, { reverse: true, limit: 50 });
        if (list.length !== 50) throw new Error(`chat ${c}: ${list.length} messages`);
        sink += list.length;
      }
    });
    await time('neighbours of an entity', subject, entities.length, async () => {
      for (const e of entities) sink += (await manager.neighbours(e)).length;
    });
    await small.searchSimilar(queries[0]!, 10); // warm the index
    await time('k-NN top-10 over 10k (warm)', subject, queries.length, async () => {
      for (const q of queries) sink += (await small.searchSimilar(q, 10)).length;
    });
    await manager.searchSimilar(queries[0]!, 10); // warm
    await time('k-NN top-10 over 100k (warm)', subject, queries.length, async () => {
      for (const q of queries) sink += (await manager.searchSimilar(q, 10)).length;
    });
  }
  let next = messages;
  await time('insertNode with indexes (one tx each)', subject, counts.queries, async () => {
    for (let i = 0; i < counts.queries; i++) await manager.insertNode(messageOf(next++, size));
  });
}

/** Brute-force k-NN over one flat array (the floor any layout is compared with). */
export function flatKnn(flat: Float32Array, dims: number, query: Float32Array, k: number): number[] {
  const scores: { i: number; s: number }[] = [];
  let qn = 0;
  for (let d = 0; d < dims; d++) qn += query[d]! * query[d]!;
  for (let off = 0, i = 0; off < flat.length; off += dims, i++) {
    let dot = 0;
    let vn = 0;
    for (let d = 0; d < dims; d++) {
      dot += query[d]! * flat[off + d]!;
      vn += flat[off + d]! * flat[off + d]!;
    }
    const s = dot / Math.sqrt(qn * vn);
    if (scores.length < k) scores.push({ i, s });
    else {
      let worst = 0;
      for (let j = 1; j < k; j++) if (scores[j]!.s < scores[worst]!.s) worst = j;
      if (s > scores[worst]!.s) scores[worst] = { i, s };
    }
  }
  return scores.sort((a, b) => b.s - a.s).map((x) => x.i);
}

/** The corpus's vectors as one flat array (for the brute-force baseline). */
export function flatVectors(count: number, dims: number): Float32Array {
  const flat = new Float32Array(count * dims);
  for (let m = 0; m < count; m++) flat.set(vector(m, dims), m * dims);
  return flat;
}

export { embeddingIdOf, messageId, vector as corpusVector };
