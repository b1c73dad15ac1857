/**
 * Records validated and encoded when an insert is called. Writes run later (after the transaction starts, after
 * reads of the previous versions), and the caller may change its objects meanwhile without awaiting: what is stored,
 * and every index entry derived from it, is the record as it was at the call. The record kept for the indexes is
 * decoded from the encoded bytes, so the indexes always describe exactly what is stored.
 */
import { StorageError } from '../engine/errors.js';
import { decodeEdge, decodeNode, encodeEdge, encodeEmbedding, encodeNode } from '../model/nodes.js';
import type { Edge, Embedding, Node } from '../model/schemas.js';
import { checkKeyFields } from './index-spec.js';
import { checkId } from './layout.js';
import { toFloat32 } from './vector-index.js';

/** A node or edge as stored: its bytes and the record they decode to. */
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

export function checkArray(value: unknown, what: string): asserts value is readonly unknown[] {
  if (!Array.isArray(value)) throw new StorageError('INVALID_ARGUMENT', `${what} takes an array.`);
}

/** Validates and encodes nodes (every one before anything is written). */
export function prepareNodes(nodes: readonly Node[]): PreparedRecord<Node>[] {
  checkArray(nodes, 'insertNodes(nodes)');
  return nodes.map((node) => {
    if (typeof node !== 'object' || node === null) throw new StorageError('INVALID_ARGUMENT', 'A node must be an object.');
    checkId(node.id, 'The node id');
    checkKeyFields(node);
    const bytes = encodeNode(node);
    return { record: decodeNode(bytes), bytes };
  });
}

/** Validates and encodes edges. */
export function prepareEdges(edges: readonly Edge[]): PreparedRecord<Edge>[] {
  checkArray(edges, 'insertEdges(edges)');
  return edges.map((edge) => {
    if (typeof edge !== 'object' || edge === null) throw new StorageError('INVALID_ARGUMENT', 'An edge must be an object.');
    checkId(edge.id, 'The edge id');
    checkId(edge.fromNode, `Edge ${JSON.stringify(edge.id)}: fromNode`);
    checkId(edge.toNode, `Edge ${JSON.stringify(edge.id)}: toNode`);
    checkId(edge.edgeType, `Edge ${JSON.stringify(edge.id)}: edgeType`);
    const bytes = encodeEdge(edge);
    return { record: decodeEdge(bytes), bytes };
  });
}

/** Validates and encodes embeddings; the vector is copied (the caller may reuse its Float32Array). */
export function prepareEmbeddings(embeddings: readonly Embedding[]): PreparedEmbedding[] {
  checkArray(embeddings, 'insertEmbeddings(embeddings)');
  return embeddings.map((embedding) => {
    if (typeof embedding !== 'object' || embedding === null) throw new StorageError('INVALID_ARGUMENT', 'An embedding must be an object.');
    checkId(embedding.id, 'The embedding id');
    const vector = toFloat32(embedding.vector, `Embedding ${JSON.stringify(embedding.id)}: vector`);
    return { id: embedding.id, vector: vector === embedding.vector ? vector.slice() : vector, bytes: encodeEmbedding(embedding) };
  });
}
