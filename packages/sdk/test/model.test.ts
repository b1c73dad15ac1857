import { describe, expect, it, vi } from 'vitest';
import {
  CodecError,
  MetadataView,
  NODE_SCHEMAS,
  viewRecord,
  NODE_TYPES,
  decodeEdge,
  decodeEmbedding,
  decodeNode,
  edgeView,
  embeddingId,
  embeddingView,
  encodeEdge,
  encodeEmbedding,
  encodeNode,
  newId,
  nodeId,
  nodeTypeOf,
  nodeView,
  edgeId,
  type Node,
  defineRecord,
  t,
} from '@tabstore/sdk';

const id = nodeId;
const T = 1_700_000_000_000;

/** One realistic node of every type. */
export const SAMPLE_NODES: Node[] = [
  { type: 'Chat', id: id('chat_1'), title: 'Trip \u{1F5FA}', topic: 'travel', createdAt: T, updatedAt: T + 5, messageIds: [id('msg_1'), id('msg_2')], summaryIds: [], embeddingId: embeddingId('embed_001'), metadata: { pinned: true } },
  { type: 'Message', id: id('msg_1'), chatId: id('chat_1'), sender: 'user', timestamp: T, textContent: 'Hello \u00e9\u00e8 world', attachmentIds: [id('att_1')], metadata: { tokens: 12, tags: ['a'] } },
  { type: 'Summary', id: id('sum_1'), chatId: id('chat_1'), createdAt: T, content: 'A summary', messageIds: [id('msg_1')], metadata: null },
  { type: 'Attachment', id: id('att_1'), messageId: id('msg_1'), mimeType: 'image/png', createdAt: T, filename: 'map.png', sizeBytes: 5_000_000_000, storagePath: '/blobs/att_1', extractedText: 'Paris', detectedObjects: ['tower'], metadata: {} },
  { type: 'Entity', id: id('ent_paris'), label: 'Paris', entityType: 'PLACE', metadata: { confidence: 0.9 } },
  { type: 'WebSearch', id: id('ws_1'), query: 'paris hotels', timestamp: T, resultsUrls: ['https://a.example', 'https://b.example'], metadata: null },
  { type: 'ScrapedPage', id: id('page_1'), url: 'https://a.example', scrapedAt: T, contentHash: 'abc123', title: 'A', textContent: 'text', storagePath: '/pages/1', metadata: null },
  { type: 'Bookmark', id: id('bm_1'), url: 'https://b.example', title: 'B', createdAt: T, tags: ['travel', 'paris'], metadata: null },
  { type: 'ImageMetadata', id: id('img_1'), filePath: '/img/1.jpg', detectedObjects: ['cat'], detectedFaces: [], ocrText: undefined, metadata: null },
  { type: 'AudioTranscript', id: id('aud_1'), filePath: '/a/1.wav', transcribedAt: T, transcript: 'hi there', speakerDiarization: '[{"speaker":1}]', metadata: null },
  { type: 'ModelInfo', id: id('model_1'), name: 'all-MiniLM-L6-v2', path: '/models/m.onnx', sizeBytes: 90_000_000, sha256: 'f'.repeat(64), format: 'ONNX', loadedAt: T, metadata: null },
  { type: 'ActionOutcome', id: id('act_1'), actionType: 'search', actionArgs: { q: 'paris' }, result: [1, 2], userFeedback: { feedbackType: 'Approval', timestamp: T, userComment: 'good' }, timestamp: T, conversationContext: 'chat_1' },
  { type: 'Log', id: id('log_1'), timestamp: T, level: 'warn', source: 'worker', context: 'sync', message: 'slow', data: { ms: 900 } },
];

/** Drops properties whose value is undefined (absent optionals decode as absent). */
function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

describe('data model', () => {
  it('declares all 13 node types', () => {
    expect(NODE_TYPES).toEqual([
      'Chat', 'Message', 'Summary', 'Attachment', 'Entity', 'WebSearch', 'ScrapedPage', 'Bookmark',
      'ImageMetadata', 'AudioTranscript', 'ModelInfo', 'ActionOutcome', 'Log',
    ]);
    expect(SAMPLE_NODES.map((n) => n.type)).toEqual(NODE_TYPES);
  });

  for (const node of SAMPLE_NODES) {
    it(`${node.type} round-trips through encodeNode, nodeView and decodeNode`, () => {
      const bytes = encodeNode(node);
      expect(nodeTypeOf(bytes)).toBe(node.type);
      const expected = defined(node);
      expect(decodeNode(bytes)).toEqual(expected);
      const view = nodeView(bytes);
      expect(view.type).toBe(node.type);
      expect(view.id).toBe(node.id);
      // toObject() is the whole node, its type tag first, as decodeNode gives it: postable and encodable again.
      const object = view.toObject();
      expect(object).toEqual(expected);
      expect(Object.keys(object)[0]).toBe('type');
      expect(encodeNode(object)).toEqual(bytes);
      // A record view of the same schema is the record's fields only, as decodeRecord gives them.
      expect(viewRecord(NODE_SCHEMAS[node.type] as never, bytes).toObject()).not.toHaveProperty('type');
      // Every getter of the view gives the field's value (metadata fields as their binary value).
      const schema = NODE_SCHEMAS[node.type] as unknown as { fieldNames: readonly string[]; fields: Record<string, { kind: string }> };
      const values = node as unknown as Record<string, unknown>;
      for (const name of schema.fieldNames) {
        const got = (view as unknown as Record<string, unknown>)[name];
        if (schema.fields[name]!.kind === 'metadata') {
          expect(got, name).toBeInstanceOf(MetadataView);
          expect((got as MetadataView).toJSON(), name).toEqual(values[name] ?? null);
        } else {
          expect(got, name).toEqual(values[name]);
        }
      }
    });
  }

  it('decodeNode puts the type tag first, then the fields in schema order', () => {
    for (const node of SAMPLE_NODES) {
      const decoded = decodeNode(encodeNode(node));
      const schema = NODE_SCHEMAS[node.type] as { fieldNames: readonly string[] };
      expect(Object.keys(decoded)).toEqual(['type', ...schema.fieldNames.filter((name) => Object.hasOwn(decoded, name))]);
      expect(decoded.type).toBe(node.type);
    }
  });

  it('views narrow on type', () => {
    const view = nodeView(encodeNode(SAMPLE_NODES[1]!));
    if (view.type !== 'Message') throw new Error('expected a Message');
    expect(view.chatId).toBe('chat_1');
    expect(view.timestamp).toBe(T);
    expect(view.metadata.get('tokens')!.toJSON()).toBe(12);
  });

  it('sizes above 2^32 stay exact', () => {
    const bytes = encodeNode({ ...(SAMPLE_NODES[3] as Node & { type: 'Attachment' }), sizeBytes: 2 ** 53 - 1 });
    const view = nodeView(bytes);
    expect(view.type === 'Attachment' && view.sizeBytes).toBe(2 ** 53 - 1);
  });

  it('edges and embeddings round-trip; an embedding view is zero-copy', () => {
    const edge = { id: edgeId('e1'), fromNode: id('chat_1'), toNode: id('msg_1'), edgeType: 'CONTAINS_MESSAGE', createdAt: T, metadata: { confidence: 0.95 } };
    expect(decodeEdge(encodeEdge(edge))).toEqual(edge);
    expect(edgeView(encodeEdge(edge)).metadata.get('confidence')!.toJSON()).toBe(0.95);
    const vector = Float32Array.from({ length: 384 }, (_, i) => i / 384);
    const embedding = { id: embeddingId('embed_001'), vector, model: 'all-MiniLM-L6-v2', sourceText: 'Hello' };
    const bytes = encodeEmbedding(embedding).slice();
    const view = embeddingView(bytes);
    expect(view.vector.buffer).toBe(bytes.buffer);
    expect(view.vector.length).toBe(384);
    expect(Array.from(view.vector)).toEqual(Array.from(vector));
    expect(decodeEmbedding(bytes)).toEqual(embedding);
  });

  it('unknown node types and empty ids are rejected with CodecError', () => {
    expect(() => encodeNode({ type: 'Nope', id: 'x' } as unknown as Node)).toThrow(expect.objectContaining({ code: 'UNKNOWN_TYPE' }));
    expect(() => encodeNode({ ...(SAMPLE_NODES[0] as Node), id: '' } as Node)).toThrow(CodecError);
    for (const make of [nodeId, edgeId, embeddingId]) {
      expect(() => make('')).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
      expect(() => make(7 as never)).toThrow(CodecError);
      expect(() => make(null as never)).toThrow(/got null\./);
    }
    const edgeBytes = encodeEdge({ id: edgeId('e'), fromNode: id('a'), toNode: id('b'), edgeType: 'X', createdAt: 0, metadata: null });
    expect(() => nodeView(edgeBytes)).toThrow(expect.objectContaining({ code: 'UNKNOWN_TYPE' }));
  });

  it('newId is unique and sorts by creation time, within one millisecond too', () => {
    const ids = Array.from({ length: 5000 }, () => newId());
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    expect(ids[0]).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    const later = newId(Date.now() + 60_000);
    expect(ids[ids.length - 1]! < later).toBe(true);
    expect(newId() < later).toBe(true); // an explicit time does not move the clock's sequence
  });

  it('newId with an explicit time carries that time, even one earlier than the ids made before', () => {
    const timeOf = (id: string): number => [...id.slice(0, 10)].reduce((t, c) => t * 32 + '0123456789ABCDEFGHJKMNPQRSTVWXYZ'.indexOf(c), 0);
    newId();
    const past = Date.UTC(2020, 0, 1);
    const backfilled = Array.from({ length: 100 }, () => newId(past));
    for (const id of backfilled) expect(timeOf(id)).toBe(past);
    expect(new Set(backfilled).size).toBe(100);
    expect(backfilled.every((id) => id < newId())).toBe(true);
    const a = newId();
    const b = newId();
    expect(a < b).toBe(true);
  });

  it('newId goes on to the next millisecond when the random part of one millisecond runs out', () => {
    const at = Date.now() + 10_000_000;
    const clock = vi.spyOn(Date, 'now').mockReturnValue(at);
    const random = vi.spyOn(globalThis.crypto, 'getRandomValues').mockImplementation(((bytes: Uint8Array) => bytes.fill(0xff)) as never);
    try {
      const ids = [newId(), newId(), newId()];
      expect(ids[0]!.slice(10)).toBe('Z'.repeat(16));
      expect([...ids].sort()).toEqual(ids);
      expect(new Set(ids).size).toBe(3);
      expect(ids[1]!.slice(0, 10) > ids[0]!.slice(0, 10)).toBe(true);
      // An explicit time is the id's time even when its millisecond's random bits run over.
      const msOf = (id: string): number => [...id.slice(0, 10)].reduce((t, c) => t * 32 + '0123456789ABCDEFGHJKMNPQRSTVWXYZ'.indexOf(c), 0);
      const clock = newId();
      random.mockRestore();
      const explicit = newId(msOf(clock)); // the clock's millisecond, whose random bits are all ones
      expect(msOf(explicit)).toBe(msOf(clock));
      expect(explicit).not.toBe(clock);
      expect(msOf(newId())).toBe(msOf(clock) + 1); // the clock's sequence went on from where it was
    } finally {
      random.mockRestore();
      clock.mockRestore();
    }
  });

  it('the model cannot be changed at run time: schemas, their fields, NODE_TYPES and NODE_SCHEMAS are frozen', () => {
    expect(Object.isFrozen(NODE_TYPES)).toBe(true);
    expect(Object.isFrozen(NODE_SCHEMAS)).toBe(true);
    for (const schema of Object.values(NODE_SCHEMAS)) expect(Object.isFrozen(schema.fields)).toBe(true);
    // A schema keeps its own copy: the object a caller declared it with stays the caller's.
    const fields = { n: t.int32() };
    const schema = defineRecord({ name: 'Frozen', typeId: 4000, version: 1, fields });
    expect(Object.isFrozen(fields)).toBe(false);
    (fields as Record<string, unknown>)['extra'] = t.string();
    expect(Object.keys(schema.fields)).toEqual(['n']);
  });

  it('id lists refuse empty ids, naming the element; other string lists take empty strings', () => {
    const chat = SAMPLE_NODES[0] as Extract<Node, { type: 'Chat' }>;
    expect(() => encodeNode({ ...chat, messageIds: [id('m1'), '' as never] })).toThrow(
      expect.objectContaining({ code: 'INVALID_INPUT', path: 'Chat.messageIds[1]', message: 'Chat.messageIds[1] must not be empty.' }),
    );
    const bookmark = SAMPLE_NODES[7] as Extract<Node, { type: 'Bookmark' }>;
    expect(decodeNode(encodeNode({ ...bookmark, tags: [''] }))).toMatchObject({ tags: [''] });
  });
});
