/**
 * Records, the data model and the legacy format, end to end:
 *
 *   npm run example:records
 *
 * Converts a legacy LevelDB JSON message to the model, stores it as a binary record in LMDB, reads one field and the
 * embedding without decoding the rest, and builds an order-preserving index key.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  MessageSchema,
  detectFormat,
  embeddingId,
  embeddingView,
  encodeEmbedding,
  encodeKey,
  encodeNode,
  fieldReader,
  tupleScan,
  nodeView,
  parseLegacyNode,
} from '@tabstore/sdk';
import { LmdbEngine } from '@tabstore/node-backend';

const text = new TextEncoder();

// 1. A message as the old store wrote it (snake_case, externally tagged, a timestamp given as a string).
const legacy = text.encode(
  JSON.stringify({
    Message: {
      id: 'msg_1',
      chat_id: 'chat_1',
      sender: 'user',
      timestamp: '1700000000000',
      text_content: 'Find me a hotel in Paris \u{1F5FC}',
      attachment_ids: [],
      embedding_id: 'embed_001',
      metadata: { tokens: 9, source: { app: 'extension' } },
    },
  }),
);
console.log(`stored bytes look like: ${detectFormat(legacy)}`);
const notes: string[] = [];
const message = parseLegacyNode(legacy, { notes });
console.log(`converted ${message.type} ${message.id}; conversion notes:\n  ${notes.join('\n  ')}`);

// 2. Binary records in LMDB: one for the node, one for its embedding.
const path = await mkdtemp(join(tmpdir(), 'tabstore-records-'));
const engine = await LmdbEngine.open({ path, stores: ['nodes', 'embeddings', 'index'] });
const vector = Float32Array.from({ length: 384 }, (_, i) => Math.cos(i / 10));
await engine.write(['nodes', 'embeddings', 'index'], async (tx) => {
  await tx.put('nodes', text.encode(message.id), encodeNode(message));
  await tx.put('embeddings', text.encode('embed_001'), encodeEmbedding({ id: embeddingId('embed_001'), vector, model: 'all-MiniLM-L6-v2' }));
  // 3. An index entry is just a key: [property, value, timestamp, id] sorts messages of a chat by time.
  if (message.type === 'Message') {
    await tx.put('index', encodeKey(['Message.chatId', message.chatId, message.timestamp, message.id]), new Uint8Array(0));
  }
});

// 4. Read back lazily: one field, one metadata key, and the vector as a view over the stored bytes.
const stored = (await engine.get('nodes', text.encode('msg_1')))!;
const view = nodeView(stored);
if (view.type === 'Message') {
  console.log(`timestamp ${view.timestamp}, tokens ${String(view.metadata.get('tokens')?.toJSON())}`);
}
console.log(`fieldReader: ${fieldReader(MessageSchema, 'textContent')(stored)}`);
const embedding = embeddingView((await engine.get('embeddings', text.encode('embed_001')))!);
console.log(`embedding ${embedding.model}: ${embedding.vector.length} dims, first ${embedding.vector[0]!.toFixed(3)} (a view, no copy)`);

// 5. All messages of chat_1, in time order, with one prefix scan of the index.
const chatKeys = await engine.scanKeys('index', tupleScan(encodeKey(['Message.chatId', 'chat_1'])));
console.log(`index entries for chat_1: ${chatKeys.length}`);

await engine.close();
await rm(path, { recursive: true, force: true });
