import { defineRecord, t, type RecordOf } from '../codec/schema.js';
import type { EdgeId, EmbeddingId, NodeId } from './ids.js';

/**
 * The data model of DOMAIN.md, declared once: every TypeScript type below is inferred from these schemas.
 * Record type ids are stored in every record and never reused: nodes 1-13, edge 20, embedding 21, feedback 22.
 * Fields are only ever appended, in later schema versions.
 */

const embeddingRef = () => t.optional(t.id<EmbeddingId>());

/** A conversation: its title and topic, and the ids of its messages and summaries (type id 1). */
export const ChatSchema = defineRecord({
  name: 'Chat',
  typeId: 1,
  version: 1,
  fields: {
    id: t.id<NodeId>(),
    title: t.string(),
    topic: t.string(),
    createdAt: t.safeInt(),
    updatedAt: t.safeInt(),
    messageIds: t.idList<NodeId>(),
    summaryIds: t.idList<NodeId>(),
    embeddingId: embeddingRef(),
    metadata: t.metadata(),
  },
});

/** One message of a chat: sender, time, text, attachments (type id 2). */
export const MessageSchema = defineRecord({
  name: 'Message',
  typeId: 2,
  version: 1,
  fields: {
    id: t.id<NodeId>(),
    chatId: t.id<NodeId>(),
    /** "user", "assistant" or a user id. */
    sender: t.string(),
    timestamp: t.safeInt(),
    textContent: t.string(),
    attachmentIds: t.idList<NodeId>(),
    embeddingId: embeddingRef(),
    metadata: t.metadata(),
  },
});

/** A summary of part of a chat (type id 3). */
export const SummarySchema = defineRecord({
  name: 'Summary',
  typeId: 3,
  version: 1,
  fields: {
    id: t.id<NodeId>(),
    chatId: t.id<NodeId>(),
    createdAt: t.safeInt(),
    content: t.string(),
    messageIds: t.idList<NodeId>(),
    embeddingId: embeddingRef(),
    metadata: t.metadata(),
  },
});

/** A file attached to a message (type id 4). */
export const AttachmentSchema = defineRecord({
  name: 'Attachment',
  typeId: 4,
  version: 1,
  fields: {
    id: t.id<NodeId>(),
    messageId: t.id<NodeId>(),
    mimeType: t.string(),
    createdAt: t.safeInt(),
    filename: t.string(),
    /** May exceed 2^32; exact up to 2^53-1. */
    sizeBytes: t.safeInt(),
    storagePath: t.string(),
    extractedText: t.optional(t.string()),
    detectedObjects: t.stringList(),
    embeddingId: embeddingRef(),
    metadata: t.metadata(),
  },
});

/** A named thing of the knowledge graph: a person, a place, a concept (type id 5). */
export const EntitySchema = defineRecord({
  name: 'Entity',
  typeId: 5,
  version: 1,
  fields: {
    id: t.id<NodeId>(),
    label: t.string(),
    /** "PERSON", "PROJECT", "CONCEPT", ... */
    entityType: t.string(),
    embeddingId: embeddingRef(),
    metadata: t.metadata(),
  },
});

/** A web search the agent ran and the URLs it found (type id 6). */
export const WebSearchSchema = defineRecord({
  name: 'WebSearch',
  typeId: 6,
  version: 1,
  fields: {
    id: t.id<NodeId>(),
    query: t.string(),
    timestamp: t.safeInt(),
    resultsUrls: t.stringList(),
    embeddingId: embeddingRef(),
    metadata: t.metadata(),
  },
});

/** A web page the agent scraped: its text, and where the page is stored (type id 7). */
export const ScrapedPageSchema = defineRecord({
  name: 'ScrapedPage',
  typeId: 7,
  version: 1,
  fields: {
    id: t.id<NodeId>(),
    url: t.string(),
    scrapedAt: t.safeInt(),
    contentHash: t.string(),
    title: t.optional(t.string()),
    textContent: t.string(),
    storagePath: t.string(),
    embeddingId: embeddingRef(),
    metadata: t.metadata(),
  },
});

/** A bookmarked URL (type id 8). */
export const BookmarkSchema = defineRecord({
  name: 'Bookmark',
  typeId: 8,
  version: 1,
  fields: {
    id: t.id<NodeId>(),
    url: t.string(),
    title: t.string(),
    description: t.optional(t.string()),
    createdAt: t.safeInt(),
    tags: t.stringList(),
    embeddingId: embeddingRef(),
    metadata: t.metadata(),
  },
});

/** What is known about an image (type id 9). */
export const ImageMetadataSchema = defineRecord({
  name: 'ImageMetadata',
  typeId: 9,
  version: 1,
  fields: {
    id: t.id<NodeId>(),
    filePath: t.string(),
    detectedObjects: t.stringList(),
    detectedFaces: t.stringList(),
    ocrText: t.optional(t.string()),
    embeddingId: embeddingRef(),
    metadata: t.metadata(),
  },
});

/** The transcript of an audio recording (type id 10). */
export const AudioTranscriptSchema = defineRecord({
  name: 'AudioTranscript',
  typeId: 10,
  version: 1,
  fields: {
    id: t.id<NodeId>(),
    filePath: t.string(),
    transcribedAt: t.safeInt(),
    transcript: t.string(),
    /** JSON text, as the diarisation tool produced it. */
    speakerDiarization: t.optional(t.string()),
    embeddingId: embeddingRef(),
    metadata: t.metadata(),
  },
});

/** File formats of a local model ({@link ModelInfoSchema}). */
export const MODEL_FORMATS = ['GGUF', 'ONNX', 'SafeTensors'] as const;

/** A model the agent can run (type id 11). */
export const ModelInfoSchema = defineRecord({
  name: 'ModelInfo',
  typeId: 11,
  version: 1,
  fields: {
    id: t.id<NodeId>(),
    name: t.string(),
    path: t.string(),
    sizeBytes: t.safeInt(),
    sha256: t.string(),
    format: t.enumOf(MODEL_FORMATS),
    loadedAt: t.optional(t.safeInt()),
    metadata: t.metadata(),
  },
});

/** Kinds of user feedback on an action ({@link UserFeedbackSchema}). */
export const FEEDBACK_TYPES = ['Correction', 'Approval', 'Rejection', 'Neutral'] as const;

/** The user's feedback on an action's outcome, nested in an ActionOutcome (type id 22). */
export const UserFeedbackSchema = defineRecord({
  name: 'UserFeedback',
  typeId: 22,
  version: 1,
  fields: {
    feedbackType: t.enumOf(FEEDBACK_TYPES),
    userComment: t.optional(t.string()),
    correction: t.optional(t.string()),
    timestamp: t.safeInt(),
  },
});

/** What an action of the agent led to, with the user's feedback when given (type id 12). */
export const ActionOutcomeSchema = defineRecord({
  name: 'ActionOutcome',
  typeId: 12,
  version: 1,
  fields: {
    id: t.id<NodeId>(),
    actionType: t.string(),
    actionArgs: t.metadata(),
    result: t.metadata(),
    userFeedback: t.optional(t.table(UserFeedbackSchema)),
    timestamp: t.safeInt(),
    conversationContext: t.string(),
  },
});

/** Levels of a {@link LogSchema} entry, least severe first. */
export const LOG_LEVELS = ['debug', 'log', 'info', 'warn', 'error'] as const;

/** One log entry (type id 13). */
export const LogSchema = defineRecord({
  name: 'Log',
  typeId: 13,
  version: 1,
  fields: {
    id: t.id<NodeId>(),
    timestamp: t.safeInt(),
    level: t.enumOf(LOG_LEVELS),
    source: t.string(),
    context: t.string(),
    message: t.string(),
    data: t.metadata(),
  },
});

/** A typed, directed link between two nodes of the knowledge graph (type id 20). */
export const EdgeSchema = defineRecord({
  name: 'Edge',
  typeId: 20,
  version: 1,
  fields: {
    id: t.id<EdgeId>(),
    fromNode: t.id<NodeId>(),
    toNode: t.id<NodeId>(),
    /** Free text: CONTAINS_MESSAGE, CONTAINS_SUMMARY, MENTIONS, REPLY, IS_SEMANTICALLY_SIMILAR_TO, ... */
    edgeType: t.string(),
    createdAt: t.safeInt(),
    metadata: t.metadata(),
  },
});

/** A vector embedding of some content, with the model that made it (type id 21). */
export const EmbeddingSchema = defineRecord({
  name: 'Embedding',
  typeId: 21,
  version: 1,
  fields: {
    id: t.id<EmbeddingId>(),
    vector: t.float32Vector(),
    /** e.g. "all-MiniLM-L6-v2". */
    model: t.string(),
    /** The text that was embedded, when known. */
    sourceText: t.optional(t.string()),
  },
});

/** Every node schema by node type name. */
export const NODE_SCHEMAS = Object.freeze({
  Chat: ChatSchema,
  Message: MessageSchema,
  Summary: SummarySchema,
  Attachment: AttachmentSchema,
  Entity: EntitySchema,
  WebSearch: WebSearchSchema,
  ScrapedPage: ScrapedPageSchema,
  Bookmark: BookmarkSchema,
  ImageMetadata: ImageMetadataSchema,
  AudioTranscript: AudioTranscriptSchema,
  ModelInfo: ModelInfoSchema,
  ActionOutcome: ActionOutcomeSchema,
  Log: LogSchema,
} as const);

/** The 13 node type names. */
export type NodeType = keyof typeof NODE_SCHEMAS;
/** The 13 node type names, in type id order. */
export const NODE_TYPES: readonly NodeType[] = Object.freeze(Object.keys(NODE_SCHEMAS) as NodeType[]);

/** The fields of a node of type `K` (without its `type` tag). */
export type NodeFields<K extends NodeType> = RecordOf<(typeof NODE_SCHEMAS)[K]>;
/** A node of type `K`: its fields plus the `type` tag. */
export type NodeOf<K extends NodeType> = { type: K } & NodeFields<K>;
/** Any node: a tagged union on `type`. */
export type Node = { [K in NodeType]: NodeOf<K> }[NodeType];

/** The node types, each a {@link NodeOf} its schema. */
export type Chat = NodeOf<'Chat'>;
export type Message = NodeOf<'Message'>;
export type Summary = NodeOf<'Summary'>;
export type Attachment = NodeOf<'Attachment'>;
export type Entity = NodeOf<'Entity'>;
export type WebSearch = NodeOf<'WebSearch'>;
export type ScrapedPage = NodeOf<'ScrapedPage'>;
export type Bookmark = NodeOf<'Bookmark'>;
export type ImageMetadata = NodeOf<'ImageMetadata'>;
export type AudioTranscript = NodeOf<'AudioTranscript'>;
export type ModelInfo = NodeOf<'ModelInfo'>;
export type ActionOutcome = NodeOf<'ActionOutcome'>;
export type Log = NodeOf<'Log'>;
/** User feedback, as nested in an ActionOutcome. */
export type UserFeedback = RecordOf<typeof UserFeedbackSchema>;
/** A knowledge-graph edge. */
export type Edge = RecordOf<typeof EdgeSchema>;
/** An embedding: its vector is a Float32Array. */
export type Embedding = RecordOf<typeof EmbeddingSchema>;
/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];
/** One of {@link FEEDBACK_TYPES}. */
export type FeedbackType = (typeof FEEDBACK_TYPES)[number];
/** One of {@link MODEL_FORMATS}. */
export type ModelFormat = (typeof MODEL_FORMATS)[number];
