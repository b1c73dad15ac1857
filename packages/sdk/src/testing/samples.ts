import type { EdgeId, EmbeddingId, NodeId } from '../model/ids.js';
import type { Edge, Embedding, Log, Message, Node, NodeOf, NodeType } from '../model/schemas.js';

const nid = (id: string): NodeId => id as NodeId;

/** One valid node of every type, all at time `t` (epoch ms), ids `<prefix><type>`. */
export function sampleNodes(t = 1_700_000_000_000, prefix = ''): { [K in NodeType]: NodeOf<K> } {
  const id = (type: string): NodeId => nid(`${prefix}${type}`);
  return {
    Chat: { type: 'Chat', id: id('Chat'), title: 'Trip', topic: 'travel', createdAt: t, updatedAt: t, messageIds: [id('Message')], summaryIds: [], metadata: { pinned: true } },
    Message: {
      type: 'Message',
      id: id('Message'),
      chatId: id('Chat'),
      sender: 'user',
      timestamp: t,
      textContent: 'Hello \u{1F600}',
      attachmentIds: [id('Attachment')],
      embeddingId: 'emb_1' as EmbeddingId,
      metadata: { tokens: 3 },
    },
    Summary: { type: 'Summary', id: id('Summary'), chatId: id('Chat'), createdAt: t, content: 'A short summary.', messageIds: [id('Message')], metadata: null },
    Attachment: {
      type: 'Attachment',
      id: id('Attachment'),
      messageId: id('Message'),
      mimeType: 'image/png',
      createdAt: t,
      filename: 'a.png',
      sizeBytes: 2 ** 40,
      storagePath: '/files/a.png',
      detectedObjects: ['cat'],
      metadata: {},
    },
    Entity: { type: 'Entity', id: id('Entity'), label: 'Ada Lovelace', entityType: 'PERSON', metadata: { aliases: ['Ada'] } },
    WebSearch: { type: 'WebSearch', id: id('WebSearch'), query: 'paris museums', timestamp: t, resultsUrls: ['https://example.com/'], metadata: {} },
    ScrapedPage: {
      type: 'ScrapedPage',
      id: id('ScrapedPage'),
      url: 'https://example.com/',
      scrapedAt: t,
      contentHash: 'abc123',
      title: 'Example',
      textContent: 'Example page',
      storagePath: '/pages/1',
      metadata: {},
    },
    Bookmark: { type: 'Bookmark', id: id('Bookmark'), url: 'https://example.com/b', title: 'B', createdAt: t, tags: ['x'], metadata: {} },
    ImageMetadata: { type: 'ImageMetadata', id: id('ImageMetadata'), filePath: '/img/1.jpg', detectedObjects: ['tree'], detectedFaces: [], metadata: {} },
    AudioTranscript: { type: 'AudioTranscript', id: id('AudioTranscript'), filePath: '/a/1.wav', transcribedAt: t, transcript: 'hi', metadata: {} },
    ModelInfo: {
      type: 'ModelInfo',
      id: id('ModelInfo'),
      name: 'llama',
      path: '/models/llama.gguf',
      sizeBytes: 4_000_000_000,
      sha256: 'f'.repeat(64),
      format: 'GGUF',
      loadedAt: t,
      metadata: {},
    },
    ActionOutcome: {
      type: 'ActionOutcome',
      id: id('ActionOutcome'),
      actionType: 'search',
      actionArgs: { q: 'x' },
      result: { ok: true },
      userFeedback: { feedbackType: 'Approval', timestamp: t },
      timestamp: t,
      conversationContext: 'ctx-1',
    },
    Log: { type: 'Log', id: id('Log'), timestamp: t, level: 'info', source: 'test', context: 'suite', message: 'hello', data: { n: 1 } },
  };
}

/** Every sample node as a list. */
export const allSampleNodes = (t?: number, prefix?: string): Node[] => Object.values(sampleNodes(t, prefix)) as Node[];

/** A message of `chatId` at time `t`. */
export function message(id: string, chatId: string, t: number, extra: Partial<Message> = {}): Message {
  return { type: 'Message', id: nid(id), chatId: nid(chatId), sender: 'user', timestamp: t, textContent: `text of ${id}`, attachmentIds: [], metadata: {}, ...extra };
}

/** A log entry. */
export function logEntry(id: string, t: number, level: Log['level']): Log {
  return { type: 'Log', id: nid(id), timestamp: t, level, source: 'test', context: '', message: id, data: null };
}

/** An edge. */
export function edge(id: string, from: string, to: string, edgeType: string, t = 1_700_000_000_000): Edge {
  return { id: id as EdgeId, fromNode: nid(from), toNode: nid(to), edgeType, createdAt: t, metadata: { confidence: 0.9 } };
}

/** An embedding with `vector`. */
export function embedding(id: string, vector: readonly number[] | Float32Array, model = 'test-model'): Embedding {
  return { id: id as EmbeddingId, vector: Float32Array.from(vector), model };
}

/** `n` deterministic pseudo-random vectors of `dims` (values in [-1, 1)). */
export function randomVectors(n: number, dims: number, seed = 42): Float32Array[] {
  let s = seed >>> 0 || 1;
  const next = (): number => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
  return Array.from({ length: n }, () => Float32Array.from({ length: dims }, () => next() * 2 - 1));
}
