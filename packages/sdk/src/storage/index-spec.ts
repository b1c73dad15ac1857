/**
 * Which index entries a node has: the structural properties of DOMAIN.md, the time orders users query, and the age
 * order the DatabaseCoordinator's lifecycle scans. Pure functions of the node; the IndexManager writes and reads them.
 *
 * Entry tuples (after the namespace), all ending with the node id:
 * - `['type', type, id]`
 * - `['<Type>.<field>', value, id]` for the structural properties, e.g. `['Message.chatId', 'chat_1', 'msg_1']`
 * - `['embeddingId', embeddingId, id]` for every node that points at an embedding
 * - `['t:<Type>', time, id]` by the type's own timestamp (createdAt, timestamp, scrapedAt, ...)
 * - `['t:Message.chatId', chatId, timestamp, id]` and `['t:Log.level', level, timestamp, id]`
 * - `['age', lastActivity, id]` (Chat: updatedAt; others: their timestamp) for tier moves
 */
import type { KeyPart } from '../codec/keys.js';
import type { Node, NodeType } from '../model/schemas.js';
import { checkId } from './layout.js';

/** Structural properties indexed per node type (besides `type` and `embeddingId`). */
export const STRUCTURAL_PROPERTIES = {
  Chat: ['topic'],
  Message: ['chatId', 'sender'],
  Summary: ['chatId'],
  Attachment: ['messageId', 'mimeType'],
  Entity: ['entityType', 'label'],
  WebSearch: [],
  ScrapedPage: ['url'],
  Bookmark: ['url'],
  ImageMetadata: [],
  AudioTranscript: [],
  ModelInfo: ['name'],
  ActionOutcome: ['actionType', 'conversationContext'],
  Log: ['level'],
} as const satisfies { readonly [K in NodeType]: readonly string[] };

/** A structural property of node type `K`. */
export type StructuralProperty<K extends NodeType> = (typeof STRUCTURAL_PROPERTIES)[K][number];

/** The field holding each node type's own time (the one time-range queries use); absent for untimed types. */
export const TIME_FIELDS = {
  Chat: 'createdAt',
  Message: 'timestamp',
  Summary: 'createdAt',
  Attachment: 'createdAt',
  Entity: undefined,
  WebSearch: 'timestamp',
  ScrapedPage: 'scrapedAt',
  Bookmark: 'createdAt',
  ImageMetadata: undefined,
  AudioTranscript: 'transcribedAt',
  ModelInfo: 'loadedAt',
  ActionOutcome: 'timestamp',
  Log: 'timestamp',
} as const satisfies { readonly [K in NodeType]: string | undefined };

/** Node types that can be queried by time. */
export type TimedNodeType = { [K in NodeType]: (typeof TIME_FIELDS)[K] extends string ? K : never }[NodeType];

/**
 * Longest property value kept in an index key, in UTF-16 units. Longer values (a long conversationContext, a long
 * URL) are indexed by this prefix; lookups of long values compare the records' fields to drop prefix collisions.
 */
export const MAX_INDEXED_VALUE = 200;

/** The indexed form of a property value: the whole string, or its first {@link MAX_INDEXED_VALUE} units. */
export function indexedValue(value: string): string {
  if (value.length <= MAX_INDEXED_VALUE) return value;
  let end = MAX_INDEXED_VALUE;
  const last = value.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--; // never split a surrogate pair
  return value.slice(0, end);
}

/** Index names. */
export const TYPE_INDEX = 'type';
export const EMBEDDING_INDEX = 'embeddingId';
export const AGE_INDEX = 'age';
export const structuralIndexName = (type: NodeType, property: string): string => `${type}.${property}`;
export const timeIndexName = (type: NodeType): string => `t:${type}`;
export const CHAT_TIME_INDEX = 't:Message.chatId';
export const LOG_LEVEL_TIME_INDEX = 't:Log.level';

type Fields = Readonly<Record<string, unknown>>;

/** The node's own time, when its type has one and it is set. */
export function timeOf(node: Node): number | undefined {
  const field = TIME_FIELDS[node.type];
  if (field === undefined) return undefined;
  const value = (node as unknown as Fields)[field];
  return typeof value === 'number' ? value : undefined;
}

/** The time a node was last active, which decides its tier: a chat's updatedAt, otherwise {@link timeOf}. */
export function ageOf(node: Node): number | undefined {
  return node.type === 'Chat' ? node.updatedAt : timeOf(node);
}

/** Every index tuple (without the namespace) that describes `node`. */
export function nodeIndexTuples(node: Node): KeyPart[][] {
  const id = node.id;
  const fields = node as unknown as Fields;
  const tuples: KeyPart[][] = [[TYPE_INDEX, node.type, id]];
  for (const property of STRUCTURAL_PROPERTIES[node.type] as readonly string[]) {
    const value = fields[property];
    if (typeof value === 'string') tuples.push([structuralIndexName(node.type, property), indexedValue(value), id]);
  }
  const embedding = fields['embeddingId'];
  if (typeof embedding === 'string') tuples.push([EMBEDDING_INDEX, embedding, id]);
  const time = timeOf(node);
  if (time !== undefined) {
    tuples.push([timeIndexName(node.type), time, id]);
    if (node.type === 'Message') tuples.push([CHAT_TIME_INDEX, node.chatId, time, id]);
    if (node.type === 'Log') tuples.push([LOG_LEVEL_TIME_INDEX, node.level, time, id]);
  }
  const age = ageOf(node);
  if (age !== undefined) tuples.push([AGE_INDEX, age, id]);
  return tuples;
}

/** Fields whose whole value goes into index keys (ids that reference other records): checked like ids. */
const KEY_ID_FIELDS: Partial<Record<NodeType, readonly string[]>> = {
  Message: ['chatId'],
  Summary: ['chatId'],
  Attachment: ['messageId'],
};

/** Throws StorageError INVALID_ARGUMENT when a referenced id of `node` could not be an index key. */
export function checkKeyFields(node: Node): void {
  const fields = node as unknown as Fields;
  for (const field of KEY_ID_FIELDS[node.type] ?? []) checkId(fields[field], `${node.type} ${JSON.stringify(node.id)}: ${field}`);
  if (fields['embeddingId'] !== undefined) checkId(fields['embeddingId'], `${node.type} ${JSON.stringify(node.id)}: embeddingId`);
}
