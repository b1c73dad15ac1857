/**
 * Records validated and encoded when an insert is called. Writes run later (after the transaction starts, after
 * reads of the previous versions), and the caller may change its objects meanwhile without awaiting: what is stored,
 * and every index entry derived from it, is the record as it was at the call: the fields the codec reads are copied
 * once, and both the encoding and the index upkeep use that copy (no second decode of the bytes).
 */
import { StorageError } from '../engine/errors.js';
import { encodeEdge, encodeEmbedding, encodeNode } from '../model/nodes.js';
import { EdgeSchema, EmbeddingSchema, NODE_SCHEMAS, type Edge, type Embedding, type Node } from '../model/schemas.js';
import { checkKeyFields } from './index-spec.js';
import { checkId, checkNodeType } from './layout.js';
import { toFloat32 } from './vector-index.js';

/** A node or edge as stored: its bytes, and the copy of the record they were encoded from. */
export interface PreparedRecord<R> {
  readonly record: R;
  readonly bytes: Uint8Array;
}

/** An embedding as stored: its bytes and its own copy of the vector for the vector index. */
export interface PreparedEmbedding {
  readonly id: string;
  readonly vector: Float32Array;
  readonly bytes: Uint8Array;
}

/**
 * The fields the codec reads from `value` (`fieldNames`), each read once, into a plain object (a shallow copy: lists
 * and metadata stay the caller's): what is encoded and what the indexes see are then the same values, getters and
 * prototypes included. A node's `type` is given, as it was read and checked.
 */
function snapshotOf<T>(value: T, fieldNames: readonly string[], type?: string): T {
  const source = value as Record<string, unknown>;
  const copy: Record<string, unknown> = type === undefined ? {} : { type };
  for (const name of fieldNames) copy[name] = source[name];
  return copy as T;
}

export function checkArray(value: unknown, what: string): asserts value is readonly unknown[] {
  if (!Array.isArray(value)) throw new StorageError('INVALID_ARGUMENT', `${what} takes an array.`);
}

/** An options argument: undefined and null mean none; anything else but an object is INVALID_ARGUMENT. */
export function optionsOf<T extends object>(options: T | null | undefined, what: string): T | Partial<T> {
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object') throw new StorageError('INVALID_ARGUMENT', `${what} takes an object of options, got ${typeof options}.`);
  return options;
}

/** Validates and encodes nodes (every one before anything is written). */
export function prepareNodes(nodes: readonly Node[]): PreparedRecord<Node>[] {
  checkArray(nodes, 'insertNodes(nodes)');
  return nodes.map((node) => {
    if (typeof node !== 'object' || node === null) throw new StorageError('INVALID_ARGUMENT', 'A node must be an object.');
    const type = node.type;
    checkNodeType(type);
    const record = snapshotOf(node, NODE_SCHEMAS[type].fieldNames, type);
    checkId(record.id, 'The node id');
    checkKeyFields(record);
    return { record, bytes: encodeNode(record) };
  });
}

/** Validates and encodes edges. */
export function prepareEdges(edges: readonly Edge[]): PreparedRecord<Edge>[] {
  checkArray(edges, 'insertEdges(edges)');
  return edges.map((edge) => {
    if (typeof edge !== 'object' || edge === null) throw new StorageError('INVALID_ARGUMENT', 'An edge must be an object.');
    const record = snapshotOf(edge, EdgeSchema.fieldNames);
    checkId(record.id, 'The edge id');
    checkId(record.fromNode, `Edge ${JSON.stringify(record.id)}: fromNode`);
    checkId(record.toNode, `Edge ${JSON.stringify(record.id)}: toNode`);
    checkId(record.edgeType, `Edge ${JSON.stringify(record.id)}: edgeType`);
    return { record, bytes: encodeEdge(record) };
  });
}

/** Validates and encodes embeddings; the vector is copied (the caller may reuse its Float32Array). */
export function prepareEmbeddings(embeddings: readonly Embedding[]): PreparedEmbedding[] {
  checkArray(embeddings, 'insertEmbeddings(embeddings)');
  return embeddings.map((embedding) => {
    if (typeof embedding !== 'object' || embedding === null) throw new StorageError('INVALID_ARGUMENT', 'An embedding must be an object.');
    const record = snapshotOf(embedding, EmbeddingSchema.fieldNames);
    checkId(record.id, 'The embedding id');
    const vector = toFloat32(record.vector, `Embedding ${JSON.stringify(record.id)}: vector`);
    // An array of numbers is stored as the Float32Array it converts to (the record's field kind).
    const bytes = encodeEmbedding(vector === record.vector ? record : { ...record, vector });
    return { id: record.id, vector: vector === record.vector ? vector.slice() : vector, bytes };
  });
}
