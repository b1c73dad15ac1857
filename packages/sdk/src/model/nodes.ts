import { CodecError } from '../codec/errors.js';
import {
  decodeRecord,
  decodeTaggedRecord,
  encodeRecord,
  readHeader,
  viewRecord,
  viewTaggedRecord,
  type EncodeOptions,
  type RecordView,
} from '../codec/record.js';
import type { FieldMap, RecordSchema } from '../codec/schema.js';
import {
  EdgeSchema,
  EmbeddingSchema,
  NODE_SCHEMAS,
  NODE_TYPES,
  type Edge,
  type Embedding,
  type Node,
  type NodeType,
} from './schemas.js';

type NodeSchemas = typeof NODE_SCHEMAS;
type FieldsOf<S> = S extends RecordSchema<infer F> ? F : never;

/**
 * A lazy view of a node of type `K`; `type` is the tag. `toObject()` gives the whole node, `type` included (what
 * {@link decodeNode} gives), so it can be posted and encoded again.
 */
export type NodeViewOf<K extends NodeType> = Omit<RecordView<FieldsOf<NodeSchemas[K]>>, 'toObject'> & {
  readonly type: K;
  /** Every field as a plain object, after `type` (vectors and bytes copied out of the record, metadata decoded). */
  toObject(): Extract<Node, { type: K }>;
};
/** A lazy view of any node: narrow it with `view.type`. */
export type NodeView = { [K in NodeType]: NodeViewOf<K> }[NodeType];

const BY_TYPE_ID = new Map<number, NodeType>(NODE_TYPES.map((type) => [NODE_SCHEMAS[type].typeId, type]));

function schemaOf(type: unknown): RecordSchema<FieldMap> {
  const schema = typeof type === 'string' ? (NODE_SCHEMAS as unknown as Record<string, RecordSchema<FieldMap>>)[type] : undefined;
  if (schema === undefined || !Object.hasOwn(NODE_SCHEMAS, type as string)) {
    throw new CodecError('UNKNOWN_TYPE', `Unknown node type ${JSON.stringify(type)}; expected one of ${NODE_TYPES.join(', ')}.`, {
      path: 'type',
    });
  }
  return schema;
}

/** The node type of a binary node record, read from its header. */
export function nodeTypeOf(bytes: Uint8Array): NodeType {
  const typeId = readHeader(bytes).typeId;
  const type = BY_TYPE_ID.get(typeId);
  if (type === undefined) throw new CodecError('UNKNOWN_TYPE', `Record type ${typeId} is not a node type.`);
  return type;
}

/** Encodes any node (dispatching on `node.type`). */
export function encodeNode(node: Node, options?: EncodeOptions): Uint8Array {
  if (typeof node !== 'object' || node === null) throw new CodecError('INVALID_INPUT', 'A node must be an object with a type.');
  return encodeRecord(schemaOf(node.type), node as unknown as Record<string, unknown>, options);
}

/** A lazy view of any node record; its `toObject()` is the whole node, `type` included. */
export function nodeView(bytes: Uint8Array): NodeView {
  return viewTaggedRecord(schemaOf(nodeTypeOf(bytes)), bytes) as unknown as NodeView;
}

/** Decodes any node record into a plain object with its `type` tag (first, then the fields in schema order). */
export function decodeNode(bytes: Uint8Array): Node {
  const type = nodeTypeOf(bytes);
  return decodeTaggedRecord(schemaOf(type), bytes, type) as unknown as Node;
}

/** Encodes an edge. */
export const encodeEdge = (edge: Edge, options?: EncodeOptions): Uint8Array => encodeRecord(EdgeSchema, edge, options);
/** A lazy view of an edge record. */
export const edgeView = (bytes: Uint8Array): RecordView<FieldsOf<typeof EdgeSchema>> => viewRecord(EdgeSchema, bytes);
/** Decodes an edge record. */
export const decodeEdge = (bytes: Uint8Array): Edge => decodeRecord(EdgeSchema, bytes);

/** Encodes an embedding. */
export const encodeEmbedding = (embedding: Embedding, options?: EncodeOptions): Uint8Array =>
  encodeRecord(EmbeddingSchema, embedding, options);
/** A lazy view of an embedding record: `view.vector` is a Float32Array over the record's own bytes. */
export const embeddingView = (bytes: Uint8Array): RecordView<FieldsOf<typeof EmbeddingSchema>> => viewRecord(EmbeddingSchema, bytes);
/** Decodes an embedding record (the vector copied out). */
export const decodeEmbedding = (bytes: Uint8Array): Embedding => decodeRecord(EmbeddingSchema, bytes);
