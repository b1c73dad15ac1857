/**
 * The agent's memory on LMDB: a DatabaseCoordinator stores a chat, its messages with embeddings, entities and
 * edges; the lifecycle moves old conversation data to colder tiers; queries read across tiers; vector search finds
 * similar messages; indexes.verify() checks every index against its records.
 *
 *   npm run example:memory                 # a fresh temporary directory
 *   npm run example:memory -- ./my-data    # or a directory of your choice (kept afterwards)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LmdbEngine } from '@tabstore/node-backend';
import {
  DatabaseCoordinator,
  STORAGE_STORES,
  namespaceOf,
  nodeId,
  embeddingId,
  edgeId,
  type Message,
} from '@tabstore/sdk';

const DAY = 24 * 60 * 60 * 1000;
const chosen = process.argv[2];
const path = chosen ?? (await mkdtemp(join(tmpdir(), 'tabstore-memory-')));

// One engine per host, opened with the storage layer's stores; the coordinator namespaces databases and tiers in it.
const engine = await LmdbEngine.open({ path, stores: STORAGE_STORES });
const memory = new DatabaseCoordinator(engine, { vectorDimensions: 8 });

// A toy embedding: 8 dimensions from the words of a text (a real agent uses its embedding model here).
const WORDS = ['paris', 'train', 'hotel', 'museum', 'budget', 'weather', 'dinner', 'ticket'];
const embed = (text: string): Float32Array => Float32Array.from(WORDS, (w) => (text.includes(w) ? 1 : 0.05));

const now = Date.UTC(2024, 5, 15);
const texts: [number, string][] = [
  [120, 'Find a hotel in paris near the museum'],
  [100, 'Which train goes from London to paris?'],
  [45, 'What is the weather in paris next week?'],
  [40, 'Book a table for dinner on Friday'],
  [2, 'Remind me of the train ticket budget'],
];
const chat = nodeId('chat_paris');
await memory.insertNode({
  type: 'Chat', id: chat, title: 'Paris trip', topic: 'travel', createdAt: now - 120 * DAY, updatedAt: now - 2 * DAY,
  messageIds: [], summaryIds: [], metadata: { pinned: true },
});
for (const [i, [age, text]] of texts.entries()) {
  const id = `msg_${i}`;
  await memory.insertEmbedding({ id: embeddingId(`emb_${i}`), vector: embed(text), model: 'toy-8d', sourceText: text });
  await memory.insertNode({
    type: 'Message', id: nodeId(id), chatId: chat, sender: i % 2 === 0 ? 'user' : 'assistant', timestamp: now - age * DAY,
    textContent: text, attachmentIds: [], embeddingId: embeddingId(`emb_${i}`), metadata: { tokens: text.length / 4 },
  });
}
await memory.insertNode({ type: 'Entity', id: nodeId('ent_paris'), label: 'Paris', entityType: 'PLACE', metadata: {} });
await memory.insertEdge({ id: edgeId('e_1'), fromNode: nodeId('msg_0'), toNode: nodeId('ent_paris'), edgeType: 'MENTIONS', createdAt: now, metadata: { confidence: 0.95 } });
await memory.insertEdge({ id: edgeId('e_2'), fromNode: nodeId('msg_1'), toNode: nodeId('ent_paris'), edgeType: 'MENTIONS', createdAt: now, metadata: { confidence: 0.9 } });

// Move what is due: older than 30 days to Recent, older than 90 days to its Archive quarter. Atomic per batch.
// The report counts moves: a message older than 90 days goes to Recent, then to Archive, in the same run.
const report = await memory.runLifecycle(now, {
  batchSize: 2,
  onProgress: (p) => console.log(`lifecycle after batch ${p.batches}: ${p.toRecent} moves to Recent, ${p.toArchive} to Archive so far`),
});
console.log(
  `lifecycle done: ${report.toRecent} moves to Recent, ${report.toArchive} to Archive, ${report.embeddingsMoved} embedding moves along with their nodes`,
);
for (let i = 0; i < texts.length; i++) {
  const where = await memory.locateNode(`msg_${i}`, { type: 'Message' });
  console.log(`  msg_${i} (${texts[i]![0]} days old) lives in ${where === undefined ? '?' : namespaceOf(where)}`);
}

// Reads cascade Active -> Recent -> Archive; a chat's messages come back in order across tiers.
const all: Message[] = await memory.messagesOfChat(chat);
console.log(`\nmessages of ${chat} across tiers, oldest first:\n${all.map((m) => `  ${new Date(m.timestamp).toISOString().slice(0, 10)}  ${m.textContent}`).join('\n')}`);
const newest = await memory.messagesOfChat(chat, { reverse: true, limit: 2 });
console.log(`two newest: ${newest.map((m) => m.id).join(', ')}`);

// The graph: who mentions Paris? Neighbours are read through the cascade too.
const mentions = await memory.neighbours('ent_paris', { direction: 'in', edgeType: 'MENTIONS' });
console.log(`\nmessages mentioning Paris: ${mentions.map((n) => n.id).join(', ')}`);

// Vector search over every Embeddings tier: results carry where they were found.
const similar = await memory.searchSimilar(embed('train to paris'), 3);
console.log('\nmost similar to "train to paris":');
for (const match of similar) console.log(`  ${match.id}  score ${match.score.toFixed(3)}  (${namespaceOf(match.location)})`);

// Every tier's indexes agree with its records.
for (const location of [{ database: 'Conversations', tier: 'Active' }, { database: 'Conversations', tier: 'Recent' }] as const) {
  const check = await memory.manager(location).indexes.verify();
  console.log(`${namespaceOf(location)}: ${check.checked.nodes} nodes, indexes ${check.ok ? 'consistent' : 'DRIFTED'}`);
}

await engine.close();
if (chosen === undefined) await rm(path, { recursive: true, force: true });
else console.log(`\ndata kept in ${path}`);
