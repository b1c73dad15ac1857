import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CodecError } from '../src/codec/errors.js';
import { codecErrorOf } from './codec-error.js';
import type { JsonValue } from '../src/codec/metadata.js';
import { defineRecord, t, type FieldKind, type FieldMap, type RecordSchema } from '../src/codec/schema.js';
import {
  LEGACY_MAX_DEPTH,
  parseLegacyAny,
  parseLegacyEdge,
  parseLegacyEmbedding,
  parseLegacyNode,
  parseLegacyRecord,
  toLegacyEdge,
  toLegacyEmbedding,
  toLegacyNode,
  toLegacyRecord,
  type LegacyReadOptions,
} from '../src/model/legacy-json.js';
import { decodeEdge, decodeEmbedding, decodeNode, encodeEdge, encodeEmbedding, encodeNode } from '../src/model/nodes.js';
import {
  EdgeSchema,
  EmbeddingSchema,
  NODE_SCHEMAS,
  NODE_TYPES,
  type ActionOutcome,
  type AudioTranscript,
  type Edge,
  type Embedding,
  type Message,
  type Node,
  type NodeType,
} from '../src/model/schemas.js';

/** `npm run fuzz` multiplies every property run count (FUZZ_RUNS / 300). */
const FUZZ_SCALE = Math.max(1, Math.round(Number(process.env.FUZZ_RUNS ?? 300) / 300));

type Json = JsonValue;
type JsonObject = { [key: string]: Json };

const T0 = 1_700_000_000_000;
const utf8 = new TextDecoder();
const text = (bytes: Uint8Array): string => utf8.decode(bytes);
const json = (value: unknown): string => JSON.stringify(value);

/** A deterministic 384-d (or n-d) vector of float32 values, as a legacy JSON number array. */
function vector(n: number, seed = 1): number[] {
  return Array.from({ length: n }, (_, i) => Math.fround(Math.sin((i + 1) * 12.9898 * seed) * 0.5));
}

// ---- fixtures: one canonical legacy record per node type (every field, schema order, absent optionals as null) ----

const LEGACY_NODES: Record<NodeType, JsonObject> = {
  Chat: {
    Chat: {
      id: 'chat_123',
      title: 'Trip to Kyōto 🗾',
      topic: 'travel',
      created_at: T0,
      updated_at: T0 + 60_000,
      message_ids: ['msg_1', 'msg_2'],
      summary_ids: ['sum_1'],
      embedding_id: 'embed_001',
      metadata: { pinned: true, tags: ['japan', 'food'], score: 0.75 },
    },
  },
  Message: {
    Message: {
      id: 'msg_1',
      chat_id: 'chat_123',
      sender: 'user',
      timestamp: T0,
      text_content: 'Bonjour 👋 naïve café, 日本語, שלום, e\u0301, 👨‍👩‍👧 "quoted" \\ back\nslash',
      attachment_ids: ['att_1'],
      embedding_id: null,
      metadata: {},
    },
  },
  Summary: {
    Summary: {
      id: 'sum_1',
      chat_id: 'chat_123',
      created_at: T0 + 120_000,
      content: 'The user plans a trip to Kyoto and asks about ramen.',
      message_ids: ['msg_1', 'msg_2'],
      embedding_id: 'embed_002',
      metadata: null,
    },
  },
  Attachment: {
    Attachment: {
      id: 'att_1',
      message_id: 'msg_1',
      mime_type: 'video/mp4',
      created_at: T0,
      filename: 'holiday 🎥.mp4',
      size_bytes: 5_000_000_000,
      storage_path: '/data/attachments/att_1.mp4',
      extracted_text: null,
      detected_objects: ['person', 'boat'],
      embedding_id: null,
      metadata: { duration_s: 312.5 },
    },
  },
  Entity: {
    Entity: { id: 'ent_alice', label: 'Alice', entity_type: 'PERSON', embedding_id: 'embed_003', metadata: { aliases: ['Al'] } },
  },
  WebSearch: {
    WebSearch: {
      id: 'ws_1',
      query: 'best ramen kyoto',
      timestamp: T0 + 5_000,
      results_urls: ['https://example.com/ramen', 'https://example.org/kyoto?q=ramen&x=1'],
      embedding_id: null,
      metadata: { engine: 'duckduckgo' },
    },
  },
  ScrapedPage: {
    ScrapedPage: {
      id: 'page_1',
      url: 'https://example.com/ramen',
      scraped_at: T0 + 6_000,
      content_hash: 'sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
      title: 'Ramen guide',
      text_content: 'Ichiran… 一蘭',
      storage_path: '/data/pages/page_1.html',
      embedding_id: 'embed_004',
      metadata: { status: 200 },
    },
  },
  Bookmark: {
    Bookmark: {
      id: 'bm_1',
      url: 'https://example.com/ramen',
      title: 'Ramen',
      description: null,
      created_at: T0,
      tags: ['food', 'travel'],
      embedding_id: null,
      metadata: {},
    },
  },
  ImageMetadata: {
    ImageMetadata: {
      id: 'img_1',
      file_path: '/photos/IMG_0001.jpg',
      detected_objects: ['torii'],
      detected_faces: [],
      ocr_text: '伏見稲荷大社',
      embedding_id: null,
      metadata: { width: 4032, height: 3024 },
    },
  },
  AudioTranscript: {
    AudioTranscript: {
      id: 'aud_1',
      file_path: '/data/audio/meeting.wav',
      transcribed_at: T0 + 1,
      transcript: 'Hello everyone, let us start.',
      speaker_diarization: '[{"speaker":"S1","start":0,"end":4.2}]',
      embedding_id: null,
      metadata: { language: 'en' },
    },
  },
  ModelInfo: {
    ModelInfo: {
      id: 'model_llama',
      name: 'llama-3-8b-instruct.Q4_K_M',
      path: '/models/llama-3-8b.gguf',
      size_bytes: 4_920_734_016,
      sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      format: 'GGUF',
      loaded_at: null,
      metadata: { context: 8192 },
    },
  },
  ActionOutcome: {
    ActionOutcome: {
      id: 'act_1',
      action_type: 'web_search',
      action_args: { query: 'ramen', limit: 5 },
      result: { urls: ['https://example.com/ramen'], ok: true },
      user_feedback: { feedback_type: 'Approval', user_comment: 'great 👍', correction: null, timestamp: T0 + 9_000 },
      timestamp: T0 + 8_000,
      conversation_context: 'chat_123',
    },
  },
  Log: {
    Log: {
      id: 'log_1',
      timestamp: T0 + 10_000,
      level: 'warn',
      source: 'background',
      context: 'sync',
      message: 'retrying after timeout',
      data: { attempt: 2, delays: [100, 200] },
    },
  },
};

const ACTION_WITHOUT_FEEDBACK: JsonObject = {
  ActionOutcome: {
    id: 'act_2',
    action_type: 'open_tab',
    action_args: ['https://example.com'],
    result: null,
    user_feedback: null,
    timestamp: T0,
    conversation_context: '',
  },
};

const LEGACY_EDGE: JsonObject = {
  id: 'edge_1',
  from_node: 'chat_123',
  to_node: 'msg_1',
  edge_type: 'CONTAINS_MESSAGE',
  created_at: T0,
  metadata: { confidence: 0.95 },
};

const LEGACY_EMBEDDING: JsonObject = { id: 'embed_001', vector: vector(384), model: 'all-MiniLM-L6-v2', source_text: 'Trip to Kyōto 🗾' };

/** The record inside a node fixture, with some fields replaced (undefined: removed). */
function withFields(type: NodeType, changes: Record<string, Json | undefined>, base: JsonObject = LEGACY_NODES[type]): string {
  const inner: JsonObject = { ...(base[type] as JsonObject) };
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) delete inner[k];
    else inner[k] = v;
  }
  return json({ [type]: inner });
}

/** Parses with a fresh notes array; returns both. */
function parseNode(input: string | Uint8Array, options: LegacyReadOptions = {}): { node: Node; notes: string[] } {
  const notes: string[] = [];
  const node = parseLegacyNode(input, { ...options, notes });
  return { node, notes };
}

function expectUnconvertible(fn: () => unknown, message: string | RegExp, path?: string): CodecError {
  const error = codecErrorOf(fn);
  expect(error.code).toBe('LEGACY_UNCONVERTIBLE');
  if (typeof message === 'string') expect(error.message).toBe(message);
  else expect(error.message).toMatch(message);
  if (path !== undefined) expect(error.path).toBe(path);
  return error;
}

// ---------------------------------------------------------------------------------------------------------------

describe('legacy JSON round trips', () => {
  const fixtures: [string, JsonObject][] = [...NODE_TYPES.map((type): [string, JsonObject] => [type, LEGACY_NODES[type]]), ['ActionOutcome without feedback', ACTION_WITHOUT_FEEDBACK]];

  it.each(fixtures)('%s: legacy -> model -> legacy -> model, and through the binary codec', (_name, fixture) => {
    const { node, notes } = parseNode(json(fixture));
    expect(notes).toEqual([]);
    // The legacy writer gives back the canonical fixture, byte for byte.
    const legacy = toLegacyNode(node);
    expect(text(legacy)).toBe(json(fixture));
    expect(parseLegacyNode(legacy)).toEqual(node);
    // Every parsed node satisfies the binary codec.
    expect(decodeNode(encodeNode(node))).toEqual(node);
  });

  it('reads fields into the model (snake_case -> camelCase, null -> absent, big sizes exact)', () => {
    const message = parseLegacyNode(json(LEGACY_NODES.Message)) as Message;
    expect(message).toEqual({
      type: 'Message',
      id: 'msg_1',
      chatId: 'chat_123',
      sender: 'user',
      timestamp: T0,
      textContent: (LEGACY_NODES.Message.Message as JsonObject).text_content,
      attachmentIds: ['att_1'],
      metadata: {},
    });
    expect('embeddingId' in message).toBe(false);
    const attachment = parseLegacyNode(json(LEGACY_NODES.Attachment));
    expect(attachment.type === 'Attachment' && attachment.sizeBytes).toBe(5_000_000_000);
    const action = parseLegacyNode(json(LEGACY_NODES.ActionOutcome)) as ActionOutcome;
    expect(action.userFeedback).toEqual({ feedbackType: 'Approval', userComment: 'great 👍', timestamp: T0 + 9_000 });
    expect(action.actionArgs).toEqual({ query: 'ramen', limit: 5 });
    const without = parseLegacyNode(json(ACTION_WITHOUT_FEEDBACK)) as ActionOutcome;
    expect(without.userFeedback).toBeUndefined();
    expect(without.result).toBeNull();
    const audio = parseLegacyNode(json(LEGACY_NODES.AudioTranscript)) as AudioTranscript;
    expect(audio.speakerDiarization).toBe('[{"speaker":"S1","start":0,"end":4.2}]');
  });

  it('sizes up to 2^53-1 round-trip exactly', () => {
    const node = parseLegacyNode(withFields('ModelInfo', { size_bytes: Number.MAX_SAFE_INTEGER }));
    expect(node.type === 'ModelInfo' && node.sizeBytes).toBe(Number.MAX_SAFE_INTEGER);
    expect(text(toLegacyNode(node))).toContain(`"size_bytes":${Number.MAX_SAFE_INTEGER}`);
    expect(decodeNode(encodeNode(node))).toEqual(node);
  });

  it('edge: legacy -> model -> legacy -> model, and through the binary codec', () => {
    const edge = parseLegacyEdge(json(LEGACY_EDGE));
    expect(edge).toEqual({ id: 'edge_1', fromNode: 'chat_123', toNode: 'msg_1', edgeType: 'CONTAINS_MESSAGE', createdAt: T0, metadata: { confidence: 0.95 } });
    expect(text(toLegacyEdge(edge))).toBe(json(LEGACY_EDGE));
    expect(parseLegacyEdge(toLegacyEdge(edge))).toEqual(edge);
    expect(decodeEdge(encodeEdge(edge))).toEqual(edge);
  });

  it('embedding: a 384-d vector reads as a Float32Array and writes back to the same float32 values', () => {
    const embedding = parseLegacyEmbedding(json(LEGACY_EMBEDDING));
    expect(embedding.vector).toBeInstanceOf(Float32Array);
    expect(embedding.vector.length).toBe(384);
    expect(Array.from(embedding.vector)).toEqual(LEGACY_EMBEDDING.vector);
    expect(embedding.sourceText).toBe('Trip to Kyōto 🗾');
    const legacy = toLegacyEmbedding(embedding);
    const again = parseLegacyEmbedding(legacy);
    expect(again).toEqual(embedding);
    expect(decodeEmbedding(encodeEmbedding(again))).toEqual(embedding);
    // Shortest decimals: what a float32 writer (serde_json/ryu) would have written.
    const written = JSON.parse(text(legacy)) as { vector: number[] };
    for (let i = 0; i < 384; i++) expect(Math.fround(written.vector[i]!)).toBe(embedding.vector[i]);
    expect(text(legacy).length).toBeLessThan(json(LEGACY_EMBEDDING).length);
  });

  it('embedding: f32 decimals as an f32 writer stores them, -0 kept, source_text absent', () => {
    const embedding = parseLegacyEmbedding('{"id":"embed_002","vector":[0.1,-0,1e-45,3.4028235e38,-2.5],"model":"all-mpnet-base-v2"}');
    expect(Array.from(embedding.vector)).toEqual([Math.fround(0.1), -0, Math.fround(1e-45), Math.fround(3.4028235e38), -2.5]);
    expect(Object.is(embedding.vector[1], -0)).toBe(true);
    expect(embedding.sourceText).toBeUndefined();
    expect(text(toLegacyEmbedding(embedding))).toBe(
      '{"id":"embed_002","vector":[0.1,-0,1e-45,3.4028235e+38,-2.5],"model":"all-mpnet-base-v2","source_text":null}',
    );
  });

  it('model -> legacy -> model for generated records of every type (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...NODE_TYPES).chain((type) => recordArb(NODE_SCHEMAS[type] as unknown as RecordSchema<FieldMap>, type).map((r) => ({ type, ...r }) as Node)),
        (node) => {
          const back = parseLegacyNode(toLegacyNode(node));
          expect(back).toEqual(stripUndefined(node));
          expect(decodeNode(encodeNode(back))).toEqual(back);
        },
      ),
      { numRuns: 300 * FUZZ_SCALE },
    );
    fc.assert(
      fc.property(recordArb(EdgeSchema as unknown as RecordSchema<FieldMap>, 'Edge'), (edge) => {
        expect(parseLegacyEdge(toLegacyEdge(edge as Edge))).toEqual(stripUndefined(edge));
      }),
      { numRuns: 100 * FUZZ_SCALE },
    );
    fc.assert(
      fc.property(recordArb(EmbeddingSchema as unknown as RecordSchema<FieldMap>, 'Embedding'), (embedding) => {
        expect(parseLegacyEmbedding(toLegacyEmbedding(embedding as Embedding))).toEqual(stripUndefined(embedding));
      }),
      { numRuns: 100 * FUZZ_SCALE },
    );
  });

  it('a JSON-valued field holding a string of JSON object text reads back parsed (documented exception)', () => {
    const node = { ...(parseLegacyNode(json(LEGACY_NODES.Log)) as Node), data: '{"a":1}' } as Node;
    expect(parseLegacyNode(toLegacyNode(node))).toEqual({ ...node, data: { a: 1 } });
  });
});

/** Small JSON values (fc.jsonValue is slow to generate): -0, lone surrogates and "__proto__" keys included. */
const jsonLeaf = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(-0, 2 ** 53 - 1, 'a\ud800', '\udfff', ''),
  fc.string({ unit: 'binary', maxLength: 8 }),
);
const jsonArb: fc.Arbitrary<Json> = fc.letrec<{ v: Json }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    jsonLeaf,
    fc.array(tie('v'), { maxLength: 3 }),
    fc.dictionary(fc.oneof(fc.string({ maxLength: 4 }), fc.constantFrom('__proto__', 'k\ud800')), tie('v'), { maxKeys: 3, noNullPrototype: true }),
  ),
})).v;

/** A fast-check arbitrary of records of a schema (model values). */
function recordArb(schema: RecordSchema<FieldMap>, path: string): fc.Arbitrary<Record<string, unknown>> {
  const fields: Record<string, fc.Arbitrary<unknown>> = {};
  for (const name of schema.fieldNames) fields[name] = fieldArb(schema.fields[name]!, `${path}.${name}`);
  return fc.record(fields);
}

const JSON_TEXT_FIELDS = new Set(['ActionOutcome.actionArgs', 'ActionOutcome.result', 'Log.data']);

function fieldArb(field: FieldKind<unknown>, path: string): fc.Arbitrary<unknown> {
  let arb: fc.Arbitrary<unknown>;
  switch (field.kind) {
    case 'string':
      arb = fc.string({ unit: 'binary', minLength: field.nonEmpty === true ? 1 : 0, maxLength: 12 });
      break;
    case 'safeInt':
      arb = fc.oneof(fc.maxSafeInteger(), fc.integer({ min: 0, max: 4_102_444_800_000 }));
      break;
    case 'stringList':
      arb = fc.array(fc.string({ unit: 'binary', minLength: field.nonEmpty === true ? 1 : 0, maxLength: 8 }), { maxLength: 4 });
      break;
    case 'enum':
      arb = fc.constantFrom(...field.values!);
      break;
    case 'metadata':
      // A string of JSON object/array text in a JSON-text field reads back parsed (the documented exception).
      arb = JSON_TEXT_FIELDS.has(path)
        ? jsonArb.filter((v) => !(typeof v === 'string' && /^\s*[[{]/.test(v)))
        : jsonArb;
      break;
    case 'float32Vector':
      arb = fc.float32Array({ noNaN: true, noDefaultInfinity: true, maxLength: 24 });
      break;
    case 'table':
      arb = recordArb(field.schema!, path);
      break;
    default:
      throw new Error(`no arbitrary for ${field.kind}`);
  }
  return field.optional ? fc.option(arb, { nil: undefined }) : arb;
}

function stripUndefined<T>(value: T): T {
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value) || Array.isArray(value)) return value;
  // fromEntries defines own properties, also "__proto__".
  return Object.fromEntries(Object.entries(value).flatMap(([k, v]) => (v === undefined ? [] : [[k, stripUndefined(v)]]))) as T;
}

// ---------------------------------------------------------------------------------------------------------------

describe('tolerance rules', () => {
  it('missing or null optional field -> undefined, without a note', () => {
    const { node, notes } = parseNode(withFields('Attachment', { extracted_text: undefined, embedding_id: undefined }));
    expect(node.type === 'Attachment' && node.extractedText).toBeUndefined();
    expect(notes).toEqual([]);
    const bookmark = parseNode(withFields('Bookmark', { description: null, embedding_id: null }));
    expect(bookmark.node.type === 'Bookmark' && bookmark.node.description).toBeUndefined();
    expect(bookmark.notes).toEqual([]);
    const action = parseNode(withFields('ActionOutcome', { user_feedback: undefined }));
    expect((action.node as ActionOutcome).userFeedback).toBeUndefined();
    const feedback = parseNode(
      withFields('ActionOutcome', { user_feedback: { feedback_type: 'Rejection', timestamp: T0 } }),
    );
    expect((feedback.node as ActionOutcome).userFeedback).toEqual({ feedbackType: 'Rejection', timestamp: T0 });
    expect(feedback.notes).toEqual([]);
  });

  it('empty optional id -> undefined, with a note', () => {
    const { node, notes } = parseNode(withFields('Chat', { embedding_id: '' }));
    expect(node.type === 'Chat' && node.embeddingId).toBeUndefined();
    expect(notes).toEqual(['Chat.embeddingId: empty id (embedding_id: "") read as absent']);
  });

  it('empty ids in an id list are left out, each with a note; the writer refuses them; other lists keep empty strings', () => {
    const { node, notes } = parseNode(withFields('Chat', { message_ids: ['', 'msg_1', ''] }));
    expect(node.type === 'Chat' && node.messageIds).toEqual(['msg_1']);
    expect(notes).toEqual([
      'Chat.messageIds[0]: empty id (message_ids[0]: "") left out',
      'Chat.messageIds[2]: empty id (message_ids[2]: "") left out',
    ]);
    expect(() => toLegacyNode({ ...node, messageIds: ['' as never] } as Node)).toThrow(
      expect.objectContaining({ code: 'INVALID_INPUT', path: 'Chat.messageIds[0]' }),
    );
    const bookmark = parseNode(withFields('Bookmark', { tags: ['', 'x'] }));
    expect(bookmark.node.type === 'Bookmark' && bookmark.node.tags).toEqual(['', 'x']);
    expect(bookmark.notes).toEqual([]);
  });

  it('missing or null required list -> [], with a note', () => {
    const { node, notes } = parseNode(withFields('Chat', { message_ids: undefined, summary_ids: null }));
    expect(node.type === 'Chat' && [node.messageIds, node.summaryIds]).toEqual([[], []]);
    expect(notes).toEqual(['Chat.messageIds: missing list (message_ids) read as []', 'Chat.summaryIds: null list (summary_ids) read as []']);
  });

  it('missing metadata (and action_args, result, data) -> null, with a note; explicit null is no tolerance', () => {
    const chat = parseNode(withFields('Chat', { metadata: undefined }));
    expect(chat.node.type === 'Chat' && chat.node.metadata).toBeNull();
    expect(chat.notes).toEqual(['Chat.metadata: missing (metadata); read as null']);
    const action = parseNode(withFields('ActionOutcome', { action_args: undefined, result: undefined }));
    expect([(action.node as ActionOutcome).actionArgs, (action.node as ActionOutcome).result]).toEqual([null, null]);
    expect(action.notes).toEqual(['ActionOutcome.actionArgs: missing (action_args); read as null', 'ActionOutcome.result: missing (result); read as null']);
    const edge: string[] = [];
    expect(parseLegacyEdge(json({ ...LEGACY_EDGE, metadata: undefined }), { notes: edge }).metadata).toBeNull();
    expect(edge).toEqual(['Edge.metadata: missing (metadata); read as null']);
    expect(parseNode(withFields('Summary', { metadata: null })).notes).toEqual([]);
  });

  it('unknown extra fields are ignored with a note listing each with its value', () => {
    const { node, notes } = parseNode(withFields('Message', { reactions: ['👍'], is_pinned: true }));
    expect(node).toEqual(parseLegacyNode(json(LEGACY_NODES.Message)));
    expect(notes).toEqual(['Message: unknown fields ignored: reactions=["👍"], is_pinned=true']);
    const feedback = parseNode(
      withFields('ActionOutcome', { user_feedback: { feedback_type: 'Neutral', timestamp: T0, rating: 3 } }),
    );
    expect(feedback.notes).toEqual(['ActionOutcome.userFeedback: unknown field ignored: rating=3']);
    const beside = parseNode(json({ ...LEGACY_NODES.Entity, version: 2 }));
    expect(beside.notes).toEqual(['Entity: unknown top-level key beside the node type ignored: version=2']);
    const edge: string[] = [];
    parseLegacyEdge(json({ ...LEGACY_EDGE, weight: 0.5 }), { notes: edge });
    expect(edge).toEqual(['Edge: unknown field ignored: weight=0.5']);
    const longValue = parseNode(withFields('Entity', { blob: 'x'.repeat(500) }));
    expect(longValue.notes[0]!.length).toBeLessThan(200);
  });

  it('camelCase field names are read, with a note; both spellings: same value -> note, different -> error', () => {
    const { node, notes } = parseNode(withFields('Message', { chat_id: undefined, chatId: 'chat_123', text_content: undefined, textContent: 'hi' }));
    expect(node.type === 'Message' && [node.chatId, node.textContent]).toEqual(['chat_123', 'hi']);
    expect(notes).toEqual([
      'Message.chatId: camelCase field name "chatId" read as chat_id',
      'Message.textContent: camelCase field name "textContent" read as text_content',
    ]);
    const feedback = parseNode(withFields('ActionOutcome', { user_feedback: { feedbackType: 'Correction', correction: 'use 5', timestamp: T0 } }));
    expect((feedback.node as ActionOutcome).userFeedback).toEqual({ feedbackType: 'Correction', correction: 'use 5', timestamp: T0 });
    expect(feedback.notes).toEqual(['ActionOutcome.userFeedback.feedbackType: camelCase field name "feedbackType" read as feedback_type']);
    const both = parseNode(withFields('Message', { chatId: 'chat_123' }));
    expect(both.notes).toEqual(['Message.chatId: given as both chat_id and chatId with the same value; read once']);
    expectUnconvertible(
      () => parseLegacyNode(withFields('Message', { chatId: 'chat_999' })),
      'Message msg_1: chat_id is given twice with different values (chat_id: "chat_123", chatId: "chat_999").',
      'Message.chatId',
    );
  });

  it('integers written as strings are converted, with a note', () => {
    const { node, notes } = parseNode(withFields('Message', { timestamp: '1700000000000' }));
    expect(node.type === 'Message' && node.timestamp).toBe(T0);
    expect(notes).toEqual(['Message.timestamp: number given as string "1700000000000" converted']);
    const padded = parseNode(withFields('Attachment', { size_bytes: ' 5000000000 ', created_at: '1700000000000.0' }));
    expect(padded.node.type === 'Attachment' && [padded.node.sizeBytes, padded.node.createdAt]).toEqual([5_000_000_000, T0]);
    expect(padded.notes).toEqual([
      'Attachment.createdAt: number given as string "1700000000000.0" converted',
      'Attachment.sizeBytes: number given as string " 5000000000 " converted',
    ]);
    const feedback = parseNode(withFields('ActionOutcome', { user_feedback: { feedback_type: 'Approval', timestamp: ' 42 ' } }));
    expect((feedback.node as ActionOutcome).userFeedback?.timestamp).toBe(42);
    expect(feedback.notes).toEqual(['ActionOutcome.userFeedback.timestamp: number given as string " 42 " converted']);
  });

  it('timestamps given as ISO-8601 dates are converted to epoch ms, with a note', () => {
    const cases: [string, number, string][] = [
      ['2023-11-14T22:13:20Z', T0, ''],
      ['2023-11-14T22:13:20.123Z', T0 + 123, ''],
      ['2023-11-14T23:13:20+01:00', T0, ''],
      ['2023-11-14T17:13:20-0500', T0, ''],
      ['2023-11-14 22:13:20', T0, ' (no offset given: UTC assumed)'],
      ['2023-11-14', Date.UTC(2023, 10, 14), ' (no offset given: UTC assumed)'],
      ['2023-11-14T22:13:20.1239Z', T0 + 123, ' (sub-millisecond digits dropped)'],
    ];
    for (const [iso, ms, extra] of cases) {
      const { node, notes } = parseNode(withFields('Log', { timestamp: iso }));
      expect(node.type === 'Log' && node.timestamp).toBe(ms);
      expect(notes).toEqual([`Log.timestamp: ISO date ${json(iso)} converted to epoch ms ${ms}${extra}`]);
    }
    const edge = parseLegacyEdge(json({ ...LEGACY_EDGE, created_at: '2023-11-14T22:13:20Z' }));
    expect(edge.createdAt).toBe(T0);
    // Not a timestamp field: an ISO date is no size.
    expectUnconvertible(
      () => parseLegacyNode(withFields('ModelInfo', { size_bytes: '2023-11-14' })),
      'ModelInfo model_llama: size_bytes must be a safe integer, got "2023-11-14".',
    );
    for (const bad of ['2023-02-30', '2023-13-01T00:00:00Z', '2023-11-14T24:00:00Z', '2023-11-14T22:13:20+25:00']) {
      expectUnconvertible(() => parseLegacyNode(withFields('Log', { timestamp: bad })), `Log log_1: timestamp must be an integer epoch-ms, got ${json(bad)}.`);
    }
  });

  it('vector elements written as strings are converted, with one note', () => {
    const notes: string[] = [];
    const embedding = parseLegacyEmbedding(json({ ...LEGACY_EMBEDDING, vector: ['0.25', ' -1.5 ', 3, '1e-3'] }), { notes });
    expect(Array.from(embedding.vector)).toEqual([0.25, -1.5, 3, Math.fround(1e-3)]);
    expect(notes).toEqual(['Embedding.vector: 3 element(s) given as strings converted']);
  });

  it('booleans written as "true"/"false" are converted where a bool is expected (schemas with bool fields)', () => {
    const Flagged = defineRecord({ name: 'Flagged', typeId: 900, version: 1, fields: { id: t.id(), on: t.bool(), n: t.int32(), x: t.float64() } });
    const notes: string[] = [];
    expect(parseLegacyRecord(Flagged, '{"id":"f_1","on":"TRUE","n":"-7","x":"2.5"}', { notes })).toEqual({ id: 'f_1', on: true, n: -7, x: 2.5 });
    expect(notes).toEqual([
      'Flagged.on: boolean given as string "TRUE" converted',
      'Flagged.n: number given as string "-7" converted',
      'Flagged.x: number given as string "2.5" converted',
    ]);
    expect(parseLegacyRecord(Flagged, '{"id":"f_1","on":false,"n":1,"x":0.5}')).toEqual({ id: 'f_1', on: false, n: 1, x: 0.5 });
    expect(text(toLegacyRecord(Flagged, { id: 'f_1', on: false, n: 1, x: 0.5 }))).toBe('{"id":"f_1","on":false,"n":1,"x":0.5}');
    expectUnconvertible(() => parseLegacyRecord(Flagged, '{"id":"f_1","on":"yes","n":1,"x":1}'), 'Flagged f_1: on must be a boolean, got "yes".');
    expectUnconvertible(() => parseLegacyRecord(Flagged, '{"id":"f_1","on":true,"n":3000000000,"x":1}'), 'Flagged f_1: n must be a 32-bit integer, got 3000000000.');
  });

  it('enum values in another case read as the model spelling, with a note', () => {
    const log = parseNode(withFields('Log', { level: 'WARN' }));
    expect(log.node.type === 'Log' && log.node.level).toBe('warn');
    expect(log.notes).toEqual(['Log.level: "WARN" read as "warn"']);
    const model = parseNode(withFields('ModelInfo', { format: 'safetensors' }));
    expect(model.node.type === 'ModelInfo' && model.node.format).toBe('SafeTensors');
    expect(model.notes).toEqual(['ModelInfo.format: "safetensors" read as "SafeTensors"']);
    const feedback = parseNode(withFields('ActionOutcome', { user_feedback: { feedback_type: 'approval', timestamp: T0 } }));
    expect((feedback.node as ActionOutcome).userFeedback?.feedbackType).toBe('Approval');
    expect(feedback.notes).toEqual(['ActionOutcome.userFeedback.feedbackType: "approval" read as "Approval"']);
  });

  it('node type tags in another case or snake_case, and internally tagged nodes, are read with a note', () => {
    const inner = LEGACY_NODES.WebSearch.WebSearch as JsonObject;
    const expected = parseLegacyNode(json(LEGACY_NODES.WebSearch));
    for (const tag of ['web_search', 'WEB_SEARCH', 'websearch']) {
      const { node, notes } = parseNode(json({ [tag]: inner }));
      expect(node).toEqual(expected);
      expect(notes).toEqual([`WebSearch: node type key ${json(tag)} read as WebSearch`]);
    }
    const internal = parseNode(json({ type: 'WebSearch', ...inner }));
    expect(internal.node).toEqual(expected);
    expect(internal.notes).toEqual(['WebSearch: internally tagged node ("type": "WebSearch") read as externally tagged']);
  });

  it('lone surrogates in string fields and list elements become U+FFFD, with a note; metadata keeps them exactly', () => {
    const raw = `{"Message":{"id":"msg_1","chat_id":"chat_123","sender":"user","timestamp":${T0},"text_content":"bad \\ud83d end","attachment_ids":["ok","\\udc00x"],"embedding_id":null,"metadata":{"k\\ud800":"v\\udfff"}}}`;
    const { node, notes } = parseNode(raw);
    const message = node as Message;
    expect(message.textContent).toBe('bad \uFFFD end');
    expect(message.attachmentIds).toEqual(['ok', '\uFFFDx']);
    expect(message.metadata).toEqual({ 'k\ud800': 'v\udfff' });
    expect(notes).toEqual([
      'Message.textContent: lone UTF-16 surrogate replaced with U+FFFD',
      'Message.attachmentIds[1]: lone UTF-16 surrogate replaced with U+FFFD',
    ]);
    expect(decodeNode(encodeNode(node))).toEqual(node);
    expect(parseLegacyNode(toLegacyNode(node))).toEqual(node);
    // A surrogate pair written as two escapes is one character, not an oddity.
    expect(parseNode(withFields('Message', { text_content: '😀' }).replace('😀', '\\ud83d\\ude00')).notes).toEqual([]);
  });

  it('bytes that are not UTF-8 become U+FFFD, and a leading BOM is ignored, with notes', () => {
    const good = new TextEncoder().encode(withFields('Entity', { label: 'Al#ce' }));
    const bad = good.slice();
    bad[good.indexOf('#'.charCodeAt(0))] = 0xff;
    const { node, notes } = parseNode(bad, { key: 'ent_alice' });
    expect(node.type === 'Entity' && node.label).toBe('Al\uFFFDce');
    expect(notes).toEqual(['Legacy record ent_alice: bytes that are not valid UTF-8 replaced with U+FFFD']);
    const bom = parseNode(new Uint8Array([0xef, 0xbb, 0xbf, ...good]));
    expect(bom.node.type === 'Entity' && bom.node.label).toBe('Al#ce');
    expect(bom.notes).toEqual(['Legacy record: leading byte order mark ignored']);
  });

  it('duplicate JSON keys: same value -> read once with a note, different values -> error', () => {
    const same = `{"Entity":{"id":"ent_1","label":"A","label":"A","entity_type":"PERSON","embedding_id":null,"metadata":{"x":[1],"x":[1]}}}`;
    const { node, notes } = parseNode(same);
    expect(node.type === 'Entity' && node.label).toBe('A');
    expect(notes).toEqual(['Entity.label: duplicate JSON key with the same value; read once', 'Entity.metadata.x: duplicate JSON key with the same value; read once']);
    expectUnconvertible(
      () => parseLegacyNode(same.replace('"label":"A","label":"A"', '"label":"A","label":"B"'), { key: 'ent_1' }),
      'Legacy record ent_1: duplicate JSON key "label" with different values (Entity.label).',
    );
  });

  it('integers beyond 2^53 inside metadata read as the nearest double, with a note', () => {
    const { node, notes } = parseNode(withFields('Entity', { metadata: 0 }).replace('"metadata":0', '"metadata":{"big":12345678901234567891}'));
    expect(node.type === 'Entity' && node.metadata).toEqual({ big: Number('12345678901234567891') });
    expect(notes).toEqual(['Entity.metadata.big: integer 12345678901234567891 is beyond 2^53; read as 12345678901234567000']);
    // Exactly representable big integers need no note.
    expect(parseNode(withFields('Entity', { metadata: 0 }).replace('"metadata":0', '"metadata":9007199254740992')).notes).toEqual([]);
  });

  it('action_args / result / data given as JSON text strings are parsed; any other string stays a string', () => {
    const { node, notes } = parseNode(withFields('ActionOutcome', { action_args: ' {"query": "ramen"} ', result: '[1, 2]' }));
    const action = node as ActionOutcome;
    expect([action.actionArgs, action.result]).toEqual([{ query: 'ramen' }, [1, 2]]);
    expect(notes).toEqual(['ActionOutcome.actionArgs: JSON object given as a string parsed', 'ActionOutcome.result: JSON array given as a string parsed']);
    const plain = parseNode(withFields('ActionOutcome', { action_args: 'hello', result: '"quoted"' }));
    expect([(plain.node as ActionOutcome).actionArgs, (plain.node as ActionOutcome).result]).toEqual(['hello', '"quoted"']);
    expect(plain.notes).toEqual([]);
    const broken = parseNode(withFields('Log', { data: '{"attempt": 2' }));
    expect(broken.node.type === 'Log' && broken.node.data).toBe('{"attempt": 2');
    expect(broken.notes).toEqual(['Log.data: string starting with "{" kept as a string (not valid JSON: expected "," or "}" at offset 13)']);
    const clash = parseNode(withFields('Log', { data: '{"a":1,"a":2}' }));
    expect(clash.node.type === 'Log' && clash.node.data).toBe('{"a":1,"a":2}');
    expect(clash.notes).toEqual(['Log.data: string starting with "{" kept as a string (duplicate JSON key "a" with different values (data.a))']);
    const log = parseNode(withFields('Log', { data: '{"a":{"a":1,"a":1}}' }));
    expect(log.node.type === 'Log' && log.node.data).toEqual({ a: { a: 1 } });
    expect(log.notes).toEqual(['data.a.a: duplicate JSON key with the same value; read once', 'Log.data: JSON object given as a string parsed']);
    // metadata is any JSON value: a string there is just a string.
    expect(parseNode(withFields('Chat', { metadata: '{"a":1}' })).node).toMatchObject({ metadata: '{"a":1}' });
  });

  it('speaker_diarization given as a JSON value is kept as its JSON text, with a note', () => {
    const segments = [{ speaker: 'S1', start: 0, end: 4.2 }];
    const { node, notes } = parseNode(withFields('AudioTranscript', { speaker_diarization: segments }));
    expect((node as AudioTranscript).speakerDiarization).toBe('[{"speaker":"S1","start":0,"end":4.2}]');
    expect(notes).toEqual(['AudioTranscript.speakerDiarization: JSON array stored as its JSON text']);
    expectUnconvertible(
      () => parseLegacyNode(withFields('AudioTranscript', { speaker_diarization: 3 })),
      'AudioTranscript aud_1: speaker_diarization must be a string, got 3.',
    );
  });

  it('a record key that differs from the id: the id is kept, with a note', () => {
    const { node, notes } = parseNode(json(LEGACY_NODES.Message), { key: 'msg_01' });
    expect(node.id).toBe('msg_1');
    expect(notes).toEqual(['Message.id: record key "msg_01" differs from the id "msg_1"; the id is kept']);
    expect(parseNode(json(LEGACY_NODES.Message), { key: 'msg_1' }).notes).toEqual([]);
  });

  it('sender "ai" stays "ai" (the browser legacy reader maps it, not this format)', () => {
    const { node, notes } = parseNode(withFields('Message', { sender: 'ai' }));
    expect(node.type === 'Message' && node.sender).toBe('ai');
    expect(notes).toEqual([]);
  });

  it('notes are appended after the caller\'s, and only when the record converts', () => {
    const notes = ['earlier'];
    expect(() => parseLegacyNode(withFields('Message', { metadata: undefined, timestamp: 'yesterday' }), { notes })).toThrow(CodecError);
    expect(notes).toEqual(['earlier']);
    parseLegacyNode(withFields('Message', { metadata: undefined }), { notes });
    expect(notes).toEqual(['earlier', 'Message.metadata: missing (metadata); read as null']);
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('unconvertible records', () => {
  it('JSON that does not parse, empty input, wrong input types', () => {
    expectUnconvertible(() => parseLegacyNode('{"Message": {"id": "msg_7",', { key: 'msg_7' }), /^Legacy record msg_7: not valid JSON: unexpected end of input at offset 27 \(in Message\)\.$/);
    expectUnconvertible(() => parseLegacyNode("{'Message': {}}"), 'Legacy record: not valid JSON: expected a string key at offset 1.');
    expectUnconvertible(() => parseLegacyNode('{"a":1} x'), 'Legacy record: not valid JSON: unexpected data after the JSON value at offset 8.');
    expectUnconvertible(() => parseLegacyNode('{"a":"\\x"}'), /bad escape \\x/);
    expectUnconvertible(() => parseLegacyNode('{"a":"line\nbreak"}'), /unescaped control character/);
    expectUnconvertible(() => parseLegacyNode('{"a":NaN}'), /unexpected character "N"/);
    expectUnconvertible(() => parseLegacyNode('{"a":01}'), /expected "," or "}"/);
    expectUnconvertible(() => parseLegacyNode(new Uint8Array()), 'Legacy record: empty value, not a JSON record.');
    expectUnconvertible(() => parseLegacyNode('  '), 'Legacy record: empty value, not a JSON record.');
    expectUnconvertible(() => parseLegacyNode(42 as unknown as string), 'Legacy record: input must be a Uint8Array or a string, got number.');
  });

  it('a top-level value that is not an object', () => {
    expectUnconvertible(() => parseLegacyNode('[1,2]', { key: 'msg_7' }), 'Legacy record msg_7: the top-level JSON value must be an object, got an array.');
    expectUnconvertible(() => parseLegacyEdge('"edge_1"'), 'Legacy record: the top-level JSON value must be an object, got "edge_1".');
    expectUnconvertible(() => parseLegacyEmbedding('null'), 'Legacy record: the top-level JSON value must be an object, got null.');
    expectUnconvertible(() => parseLegacyAny('17'), 'Legacy record: the top-level JSON value must be an object, got 17.');
  });

  it('an unknown node type key, two node types, a tag that does not hold an object', () => {
    const error = expectUnconvertible(
      () => parseLegacyNode('{"Mesage": {"id": "msg_7"}}', { key: 'msg_7' }),
      'Legacy record msg_7: unknown node type: expected an object with one key, one of Chat, Message, Summary, Attachment, Entity, WebSearch, ScrapedPage, Bookmark, ImageMetadata, AudioTranscript, ModelInfo, ActionOutcome, Log; got key "Mesage".',
    );
    expect(error.path).toBe('type');
    expectUnconvertible(() => parseLegacyNode('{}'), /unknown node type: .* got no keys\.$/);
    expectUnconvertible(() => parseLegacyNode(json(LEGACY_EDGE)), /unknown node type: .* got keys "id", "from_node", "to_node"/);
    expectUnconvertible(
      () => parseLegacyNode(json({ ...LEGACY_NODES.Chat, ...LEGACY_NODES.Message })),
      'Legacy record: more than one node type key (Chat, Message); a node has exactly one.',
    );
    expectUnconvertible(
      () => parseLegacyNode('{"Message": "msg_7"}', { key: 'msg_7' }),
      'Message (key msg_7): the value of the node type key must be an object, got "msg_7".',
      'Message',
    );
  });

  it('a missing or empty id', () => {
    expectUnconvertible(() => parseLegacyNode(withFields('Message', { id: '' }), { key: 'msg_7' }), 'Message (key msg_7): id must not be empty.', 'Message.id');
    expectUnconvertible(() => parseLegacyNode(withFields('Message', { id: undefined })), 'Message (no id): id is missing.', 'Message.id');
    expectUnconvertible(() => parseLegacyEdge(json({ ...LEGACY_EDGE, id: null })), 'Edge (no id): id must not be null.', 'Edge.id');
    expectUnconvertible(() => parseLegacyEmbedding(json({ ...LEGACY_EMBEDDING, id: 7 })), 'Embedding (no id): id must be a string, got 7.', 'Embedding.id');
  });

  it('wrong scalar values name the record and the field', () => {
    const msg7 = (changes: Record<string, Json | undefined>): string => withFields('Message', { id: 'msg_7', ...changes });
    expectUnconvertible(() => parseLegacyNode(msg7({ timestamp: 'yesterday' })), 'Message msg_7: timestamp must be an integer epoch-ms, got "yesterday".', 'Message.timestamp');
    expectUnconvertible(() => parseLegacyNode(msg7({ timestamp: 1.5 })), 'Message msg_7: timestamp must be an integer epoch-ms, got 1.5.');
    expectUnconvertible(() => parseLegacyNode(msg7({ timestamp: '1.5' })), 'Message msg_7: timestamp must be an integer epoch-ms, got "1.5".');
    expectUnconvertible(() => parseLegacyNode(msg7({ timestamp: '' })), 'Message msg_7: timestamp must be an integer epoch-ms, got "".');
    expectUnconvertible(() => parseLegacyNode(msg7({ timestamp: '0x10' })), 'Message msg_7: timestamp must be an integer epoch-ms, got "0x10".');
    expectUnconvertible(() => parseLegacyNode(msg7({ timestamp: true })), 'Message msg_7: timestamp must be an integer epoch-ms, got true.');
    expectUnconvertible(() => parseLegacyNode(msg7({ text_content: undefined })), 'Message msg_7: text_content is missing.', 'Message.textContent');
    expectUnconvertible(() => parseLegacyNode(msg7({ text_content: null })), 'Message msg_7: text_content must not be null.');
    expectUnconvertible(() => parseLegacyNode(msg7({ sender: 1 })), 'Message msg_7: sender must be a string, got 1.', 'Message.sender');
    expectUnconvertible(() => parseLegacyNode(msg7({ chat_id: '' })), 'Message msg_7: chat_id must not be empty.', 'Message.chatId');
    expectUnconvertible(() => parseLegacyNode(msg7({ embedding_id: 5 })), 'Message msg_7: embedding_id must be a string, got 5.', 'Message.embeddingId');
    expectUnconvertible(
      () => parseLegacyNode(withFields('Attachment', { size_bytes: 2 ** 53 })),
      'Attachment att_1: size_bytes must be a safe integer, got 9007199254740992.',
      'Attachment.sizeBytes',
    );
    expectUnconvertible(
      () => parseLegacyNode(withFields('Attachment', { size_bytes: '9007199254740993' })),
      'Attachment att_1: size_bytes must be a safe integer, got "9007199254740993".',
    );
    expectUnconvertible(
      () => parseLegacyNode(withFields('Log', { level: 'fatal' })),
      'Log log_1: level must be one of "debug", "log", "info", "warn", "error", got "fatal".',
      'Log.level',
    );
    expectUnconvertible(
      () => parseLegacyNode(withFields('ModelInfo', { format: 'pytorch' })),
      'ModelInfo model_llama: format must be one of "GGUF", "ONNX", "SafeTensors", got "pytorch".',
    );
    expectUnconvertible(() => parseLegacyNode('{"Log":{"id":"log_1","timestamp":1e400}}'), /^Legacy record: not valid JSON: number 1e400 is out of range/);
  });

  it('wrong lists name the element', () => {
    expectUnconvertible(() => parseLegacyNode(withFields('Chat', { message_ids: ['msg_1', 42] })), 'Chat chat_123: message_ids[1] must be a string, got 42.', 'Chat.messageIds');
    expectUnconvertible(() => parseLegacyNode(withFields('Bookmark', { tags: 'food,travel' })), 'Bookmark bm_1: tags must be an array of strings, got "food,travel".');
  });

  it('user_feedback problems name the nested field', () => {
    expectUnconvertible(
      () => parseLegacyNode(withFields('ActionOutcome', { user_feedback: { feedback_type: 'Approval', timestamp: 'soon' } })),
      'ActionOutcome act_1: user_feedback.timestamp must be an integer epoch-ms, got "soon".',
      'ActionOutcome.userFeedback.timestamp',
    );
    expectUnconvertible(
      () => parseLegacyNode(withFields('ActionOutcome', { user_feedback: { feedback_type: 'Thumbs', timestamp: T0 } })),
      'ActionOutcome act_1: user_feedback.feedback_type must be one of "Correction", "Approval", "Rejection", "Neutral", got "Thumbs".',
    );
    expectUnconvertible(
      () => parseLegacyNode(withFields('ActionOutcome', { user_feedback: 'Approval' })),
      'ActionOutcome act_1: user_feedback must be an object, got "Approval".',
      'ActionOutcome.userFeedback',
    );
    expectUnconvertible(
      () => parseLegacyNode(withFields('ActionOutcome', { user_feedback: { timestamp: T0 } })),
      'ActionOutcome act_1: user_feedback.feedback_type is missing.',
    );
  });

  it('vectors: elements that are not finite float32 numbers', () => {
    const withVector = (v: Json): string => json({ ...LEGACY_EMBEDDING, id: 'embed_007', vector: v });
    expectUnconvertible(() => parseLegacyEmbedding(withVector([0.5, null])), 'Embedding embed_007: vector[1] must be a finite number, got null.', 'Embedding.vector');
    expectUnconvertible(() => parseLegacyEmbedding(withVector(['abc'])), 'Embedding embed_007: vector[0] must be a finite number, got "abc".');
    expectUnconvertible(() => parseLegacyEmbedding(withVector(['NaN'])), 'Embedding embed_007: vector[0] must be a finite number, got "NaN".');
    expectUnconvertible(() => parseLegacyEmbedding(withVector([[1]])), 'Embedding embed_007: vector[0] must be a finite number, got [1].');
    expectUnconvertible(() => parseLegacyEmbedding(withVector([1e39])), 'Embedding embed_007: vector[0] 1e+39 is outside the float32 range.');
    expectUnconvertible(() => parseLegacyEmbedding(withVector('0.1,0.2')), 'Embedding embed_007: vector must be an array of numbers, got "0.1,0.2".');
    expectUnconvertible(() => parseLegacyEmbedding(json({ id: 'embed_007', model: 'm' })), 'Embedding embed_007: vector is missing.');
  });

  it('edges: missing endpoints, wrong created_at', () => {
    expectUnconvertible(() => parseLegacyEdge(json({ ...LEGACY_EDGE, to_node: undefined })), 'Edge edge_1: to_node is missing.', 'Edge.toNode');
    expectUnconvertible(() => parseLegacyEdge(json({ ...LEGACY_EDGE, created_at: -1.25 })), 'Edge edge_1: created_at must be an integer epoch-ms, got -1.25.');
  });

  it('JSON nested deeper than metadata can hold', () => {
    const deep = (n: number): string => '['.repeat(n) + ']'.repeat(n);
    // The node wrapper and the record take two levels: metadata of exactly MAX depth converts.
    const ok = parseLegacyNode(withFields('Entity', { metadata: 0 }).replace('"metadata":0', `"metadata":${deep(LEGACY_MAX_DEPTH - 2)}`));
    expect(() => encodeNode(ok)).not.toThrow();
    expectUnconvertible(
      () => parseLegacyNode(withFields('Entity', { metadata: 0 }).replace('"metadata":0', `"metadata":${deep(LEGACY_MAX_DEPTH - 1)}`)),
      /^Legacy record: not valid JSON: nested deeper than 258 levels/,
    );
    // An edge's metadata is one level higher in the document: the field check catches it.
    expectUnconvertible(
      () => parseLegacyEdge(json({ ...LEGACY_EDGE, metadata: 0 }).replace('"metadata":0', `"metadata":${deep(257)}`)),
      'Edge edge_1: metadata nests deeper than 256 levels.',
      'Edge.metadata',
    );
    expectUnconvertible(() => parseLegacyNode(deep(100_000)), /nested deeper than/);
  });

  it('writers reject model values the format cannot hold, with INVALID_INPUT (or UNKNOWN_TYPE)', () => {
    const message = parseLegacyNode(json(LEGACY_NODES.Message)) as Message;
    const codeOf = (fn: () => unknown): string | undefined => {
      try {
        fn();
      } catch (error) {
        return error instanceof CodecError ? `${error.code} ${error.path}` : 'not a CodecError';
      }
      return undefined;
    };
    expect(codeOf(() => toLegacyNode({ ...message, textContent: 'x\ud800' }))).toBe('INVALID_INPUT Message.textContent');
    expect(codeOf(() => toLegacyNode({ ...message, timestamp: 1.5 }))).toBe('INVALID_INPUT Message.timestamp');
    expect(codeOf(() => toLegacyNode({ ...message, chatId: undefined } as unknown as Node))).toBe('INVALID_INPUT Message.chatId');
    expect(codeOf(() => toLegacyNode({ ...message, metadata: { at: new Date(0) } } as unknown as Node))).toBe('INVALID_INPUT Message.metadata.at');
    expect(codeOf(() => toLegacyNode({ ...message, metadata: { n: NaN } }))).toBe('INVALID_INPUT Message.metadata.n');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(codeOf(() => toLegacyNode({ ...message, metadata: cyclic } as unknown as Node))).toMatch(/^INVALID_INPUT Message\.metadata(\.self)+$/);
    expect(codeOf(() => toLegacyNode({ ...message, type: 'Memo' } as unknown as Node))).toBe('UNKNOWN_TYPE type');
    expect(codeOf(() => toLegacyNode(null as unknown as Node))).toBe('INVALID_INPUT Node');
    const embedding = parseLegacyEmbedding(json(LEGACY_EMBEDDING));
    expect(codeOf(() => toLegacyEmbedding({ ...embedding, vector: new Float32Array([1, NaN]) }))).toBe('INVALID_INPUT Embedding.vector[1]');
    expect(codeOf(() => toLegacyEmbedding({ ...embedding, vector: [1, 2] as unknown as Float32Array }))).toBe('INVALID_INPUT Embedding.vector');
    expect(codeOf(() => toLegacyEdge({ ...parseLegacyEdge(json(LEGACY_EDGE)), id: '' as Edge['id'] }))).toBe('INVALID_INPUT Edge.id');
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('reader robustness', () => {
  it('a record with hundreds of thousands of notes converts, and the notes all reach options.notes', () => {
    const big = '123456789012345678901'; // an integer a double cannot hold: one note each
    const metadata = `[${Array.from({ length: 200_000 }, () => big).join(',')}]`;
    const text = json({ ...LEGACY_EDGE, metadata: null }).replace('"metadata":null', `"metadata":${metadata}`);
    const notes: string[] = [];
    const edge = parseLegacyEdge(text, { notes });
    expect((edge.metadata as unknown[]).length).toBe(200_000);
    expect(notes.length).toBeGreaterThanOrEqual(200_000);
    // The same inside a JSON-text field given as a string.
    const action = { ...(LEGACY_NODES.ActionOutcome.ActionOutcome as JsonObject), action_args: metadata };
    const parsed = parseLegacyNode(json({ ActionOutcome: action }), { notes: [] }) as ActionOutcome;
    expect((parsed.actionArgs as unknown[]).length).toBe(200_000);
  });

  it('options.notes that cannot take notes, or a key getter that throws, give CodecErrors', () => {
    const frozen = Object.freeze([] as string[]);
    const error = codecErrorOf(() => parseLegacyEdge(json({ ...LEGACY_EDGE, extra: 1 }), { notes: frozen as string[] }));
    expect(error.code).toBe('INVALID_INPUT');
    const throwing = {
      get key(): string {
        throw new Error('no key');
      },
    } as LegacyReadOptions;
    expect(codecErrorOf(() => parseLegacyEdge(json(LEGACY_EDGE), throwing)).code).toBe('LEGACY_UNCONVERTIBLE');
  });

  it('the writer refuses metadata the binary codec refuses: objects inheriting enumerable keys, class instances', () => {
    const base = parseLegacyEdge(json(LEGACY_EDGE));
    const inheriting = Object.create(Object.create(null, { hidden: { value: 1, enumerable: true } }) as object) as JsonObject;
    class Point {
      x = 1;
    }
    for (const metadata of [inheriting, new Point() as unknown as JsonObject]) {
      expect(codecErrorOf(() => toLegacyEdge({ ...base, metadata })).code).toBe('INVALID_INPUT');
      expect(codecErrorOf(() => encodeEdge({ ...base, metadata })).code).toBe('INVALID_INPUT');
    }
    const plain = Object.assign(Object.create(null) as JsonObject, { a: 1 });
    expect(parseLegacyEdge(toLegacyEdge({ ...base, metadata: plain })).metadata).toEqual({ a: 1 });
  });

  it('a JSON-text field keeps a string that starts with non-JSON whitespace (U+FEFF, U+3000, U+00A0) as the string', () => {
    for (const value of ['\uFEFF{}', '\u3000{}', '\u00a0[1]']) {
      const node: ActionOutcome = { ...(parseLegacyNode(json(LEGACY_NODES.ActionOutcome)) as ActionOutcome), actionArgs: value };
      expect((parseLegacyNode(toLegacyNode(node)) as ActionOutcome).actionArgs).toBe(value);
    }
    // JSON's own whitespace around a JSON text is still tolerated.
    const padded = { ...(LEGACY_NODES.ActionOutcome.ActionOutcome as JsonObject), action_args: ' \n{"a":1}\t' };
    expect((parseLegacyNode(json({ ActionOutcome: padded })) as ActionOutcome).actionArgs).toEqual({ a: 1 });
  });
});

describe('parseLegacyAny', () => {
  it('classifies nodes, edges and embeddings by shape', () => {
    for (const type of NODE_TYPES) {
      const record = parseLegacyAny(json(LEGACY_NODES[type]));
      expect(record.kind).toBe('node');
      expect(record.value).toEqual(parseLegacyNode(json(LEGACY_NODES[type])));
    }
    expect(parseLegacyAny(json(LEGACY_EDGE))).toEqual({ kind: 'edge', value: parseLegacyEdge(json(LEGACY_EDGE)) });
    expect(parseLegacyAny(json(LEGACY_EMBEDDING))).toEqual({ kind: 'embedding', value: parseLegacyEmbedding(json(LEGACY_EMBEDDING)) });
    expect(parseLegacyAny(new TextEncoder().encode(json(LEGACY_EMBEDDING))).kind).toBe('embedding');
    expect(parseLegacyAny(json({ type: 'Log', ...(LEGACY_NODES.Log.Log as JsonObject) })).kind).toBe('node');
    expect(parseLegacyAny(json({ log: LEGACY_NODES.Log.Log })).kind).toBe('node');
    // A Log's own "message" field (a string) is no Message tag.
    const internalLog = parseNode(json({ type: 'Log', ...(LEGACY_NODES.Log.Log as JsonObject) }));
    expect(internalLog.node).toEqual(parseLegacyNode(json(LEGACY_NODES.Log)));
    expectUnconvertible(() => parseLegacyNode('{"message": "hi"}'), /unknown node type: .* got key "message"\.$/);
    expectUnconvertible(() => parseLegacyNode(json({ message: {}, chat: {} })), 'Legacy record: more than one node type key (message, chat); a node has exactly one.');
    expect(parseLegacyAny(json({ fromNode: 'a', toNode: 'b', id: 'e', edgeType: 'REPLY', createdAt: T0, metadata: null })).kind).toBe('edge');
  });

  it('an edge with an extra field named like a node type is still an edge (with a note)', () => {
    const notes: string[] = [];
    const record = parseLegacyAny(json({ ...LEGACY_EDGE, message: 'hello' }), { notes });
    expect(record.kind).toBe('edge');
    expect(notes).toEqual(['Edge: unknown field ignored: message="hello"']);
  });

  it('a node tagged internally with an exact type stays a node though an extra field is named vector or from_node', () => {
    const message = { type: 'Message', ...(LEGACY_NODES.Message.Message as JsonObject) };
    for (const extra of [{ vector: [0.1] }, { from_node: 'x' }]) {
      const notes: string[] = [];
      const record = parseLegacyAny(json({ ...message, ...extra }), { notes });
      expect(record).toEqual({ kind: 'node', value: parseLegacyNode(json(LEGACY_NODES.Message)) });
      expect(notes.some((note) => note.includes('unknown field ignored'))).toBe(true);
    }
  });

  it('rejects shapes it cannot tell apart', () => {
    expectUnconvertible(() => parseLegacyAny('{}', { key: 'x_1' }), 'Legacy record x_1: cannot tell whether it is a node, an edge or an embedding (keys: none).');
    expectUnconvertible(() => parseLegacyAny('{"id":"x","title":"t"}'), 'Legacy record: cannot tell whether it is a node, an edge or an embedding (keys: id, title).');
    expectUnconvertible(
      () => parseLegacyAny(json({ ...LEGACY_EDGE, vector: [1] })),
      'Legacy record: cannot tell whether it is a node, an edge or an embedding (it has both from_node/to_node and vector).',
    );
    expectUnconvertible(() => parseLegacyAny('{"Message": 3}'), 'Message (no id): the value of the node type key must be an object, got 3.');
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('fuzz: only CodecError, and whatever converts encodes', () => {
  const readers = [parseLegacyAny, parseLegacyNode, parseLegacyEdge, parseLegacyEmbedding] as const;

  /** Runs every reader; a converted record must satisfy the binary codec and write back as legacy JSON. */
  function check(input: string | Uint8Array): void {
    for (const read of readers) {
      let value: unknown;
      try {
        value = read(input, { key: 'fuzz_1', notes: [] });
      } catch (error) {
        if (!(error instanceof CodecError) || error.code !== 'LEGACY_UNCONVERTIBLE') throw error;
        continue;
      }
      const record = read === parseLegacyAny ? (value as ReturnType<typeof parseLegacyAny>) : undefined;
      const kind = record?.kind ?? (read === parseLegacyNode ? 'node' : read === parseLegacyEdge ? 'edge' : 'embedding');
      const v = record?.value ?? value;
      if (kind === 'node') {
        expect(decodeNode(encodeNode(v as Node))).toEqual(v);
        expect(parseLegacyNode(toLegacyNode(v as Node))).toBeDefined();
      } else if (kind === 'edge') {
        expect(decodeEdge(encodeEdge(v as Edge))).toEqual(v);
        expect(parseLegacyEdge(toLegacyEdge(v as Edge))).toEqual(v);
      } else {
        expect(decodeEmbedding(encodeEmbedding(v as Embedding))).toEqual(v);
        expect(parseLegacyEmbedding(toLegacyEmbedding(v as Embedding))).toEqual(v);
      }
    }
  }

  const allFixtures: JsonObject[] = [...NODE_TYPES.map((type) => LEGACY_NODES[type]), ACTION_WITHOUT_FEEDBACK, LEGACY_EDGE, { ...LEGACY_EMBEDDING, vector: vector(4) }];

  it('random strings and bytes', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 64 }), check), { numRuns: 300 * FUZZ_SCALE });
    fc.assert(fc.property(fc.string({ unit: fc.constantFrom(...'{}[]":,0123456789.eE-+ truefalsnl\\u"abMessage'.split('')), maxLength: 48 }), check), {
      numRuns: 300 * FUZZ_SCALE,
    });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), check), { numRuns: 200 * FUZZ_SCALE });
    fc.assert(fc.property(jsonArb, (v) => check(json(v))), { numRuns: 200 * FUZZ_SCALE });
  });

  it('valid fixtures with random structural mutations (replace, delete, add, retag)', () => {
    const anyJson = fc.oneof(
      jsonArb,
      fc.constantFrom<Json>('', ' 42 ', '1700000000000', '2023-11-14T22:13:20Z', 'WARN', '\ud800', '{"a":1}', '[1,"x"]', -0, 2 ** 53, 1e39, null),
    );
    const mutation = fc.record({
      fixture: fc.constantFrom(...allFixtures),
      steps: fc.array(fc.tuple(fc.nat(), fc.constantFrom('replace', 'delete', 'add', 'camel'), anyJson, fc.string({ maxLength: 6 })), {
        minLength: 1,
        maxLength: 4,
      }),
    });
    fc.assert(
      fc.property(mutation, ({ fixture, steps }) => {
        const doc = structuredClone(fixture);
        for (const [pick, op, value, name] of steps) mutate(doc, pick, op, value, name);
        check(json(doc));
      }),
      { numRuns: 600 * FUZZ_SCALE },
    );
  });

  it('valid fixture text with random character edits', () => {
    const texts = allFixtures.map((f) => json(f));
    fc.assert(
      fc.property(fc.constantFrom(...texts), fc.array(fc.tuple(fc.nat(), fc.nat({ max: 3 }), fc.string({ unit: 'binary', maxLength: 3 })), { maxLength: 3 }), (source, edits) => {
        let s = source;
        for (const [at, del, ins] of edits) {
          const i = at % (s.length + 1);
          s = s.slice(0, i) + ins + s.slice(i + del);
        }
        check(s);
        check(new TextEncoder().encode(s));
      }),
      { numRuns: 400 * FUZZ_SCALE },
    );
  });
});

/** Applies one structural edit to a random container inside `doc`. */
function mutate(doc: JsonObject, pick: number, op: string, value: Json, name: string): void {
  const containers: (JsonObject | Json[])[] = [];
  const visit = (v: Json): void => {
    if (typeof v !== 'object' || v === null) return;
    containers.push(v);
    for (const child of Array.isArray(v) ? v : Object.values(v)) visit(child);
  };
  visit(doc);
  const target = containers[pick % containers.length]!;
  const keys = Array.isArray(target) ? target.map((_, i) => i) : Object.keys(target);
  if (keys.length === 0 || op === 'add') {
    if (Array.isArray(target)) target.push(value);
    else target[name === '' ? 'extra' : name] = value;
    return;
  }
  const key = keys[pick % keys.length]!;
  if (Array.isArray(target)) {
    if (op === 'delete') target.splice(key as number, 1);
    else target[key as number] = value;
    return;
  }
  const k = key as string;
  if (op === 'delete') delete target[k];
  else if (op === 'camel') {
    const camel = k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
    const v = target[k]!;
    delete target[k];
    target[camel === k ? k.toLowerCase() : camel] = v;
  } else target[k] = value;
}
