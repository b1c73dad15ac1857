/**
 * Where the storage layer keeps things: the engine stores it declares and the tuple keys inside them.
 *
 * Every key starts with the manager's namespace (`''` for a standalone manager; `Conversations/Active`,
 * `Conversations/Archive/2024-Q1`, ... under a DatabaseCoordinator), so many managers share one engine and one set of
 * stores, and a namespace is one prefix. IndexedDB fixes its stores at upgrade time, so namespaces are never stores.
 *
 * | store      | key                                         | value                                |
 * | ---------- | ------------------------------------------- | ------------------------------------ |
 * | nodes      | [ns, nodeId]                                | node record                          |
 * | edges      | [ns, edgeId]                                | edge record                          |
 * | embeddings | [ns, embeddingId]                           | embedding record                     |
 * | index      | [ns, indexName, ...values, nodeId]          | empty (structural and time indexes)  |
 * | outgoing   | [ns, fromNode, edgeType, edgeId]            | UTF-8 of toNode                      |
 * | incoming   | [ns, toNode, edgeType, edgeId]              | UTF-8 of fromNode                    |
 * | vectors    | [ns, 'b', blockNo] / [ns, 's', embeddingId] / [ns, 'm'] | vector block / slot / index state |
 * | meta       | [ns, ...]                                   | coordinator bookkeeping              |
 */
import { encodeKey, encodeKeyAfter, type KeyPart } from '../codec/keys.js';
import { isWellFormed } from '../codec/unicode.js';
import { StorageError } from '../engine/errors.js';
import { NODE_SCHEMAS, NODE_TYPES, type NodeType } from '../model/schemas.js';

/** The engine stores the storage layer uses. Open engines with at least these (e.g. `[...STORAGE_STORES]`). */
export const STORAGE_STORES = [
  'nodes',
  'edges',
  'embeddings',
  'index',
  'outgoing',
  'incoming',
  'vectors',
  'meta',
] as const;

/** One of {@link STORAGE_STORES}. */
export type StorageStore = (typeof STORAGE_STORES)[number];

/**
 * Longest id accepted, in UTF-16 units: keeps the index keys of one id below the 1978-byte key limit of every engine
 * (an edge's graph keys hold three ids; long non-ASCII ones together can exceed it, which its write reports).
 */
export const MAX_ID_LENGTH = 256;

/** Checks that `type` is one of the 13 node types (INVALID_ARGUMENT otherwise). */
export function checkNodeType(type: unknown): asserts type is NodeType {
  if (typeof type !== 'string' || !Object.hasOwn(NODE_SCHEMAS, type)) {
    throw new StorageError('INVALID_ARGUMENT', `Unknown node type ${JSON.stringify(type)}; expected one of ${NODE_TYPES.join(', ')}.`);
  }
}

/**
 * INVALID_ARGUMENT unless `value` is a string without lone surrogates (which no stored key holds: UTF-8 cannot
 * represent them). For lookups by value, prefix or type, where an empty string may be meaningful.
 */
export function checkLookupString(value: unknown, what: string): asserts value is string {
  if (typeof value !== 'string') throw new StorageError('INVALID_ARGUMENT', `${what} must be a string, got ${value === null ? 'null' : typeof value}.`);
  if (!isWellFormed(value)) throw new StorageError('INVALID_ARGUMENT', `${what} ${JSON.stringify(value)} contains a lone surrogate; nothing stored can match it.`);
}

/** Checks an id argument; throws StorageError INVALID_ARGUMENT naming what is wrong. */
export function checkId(id: unknown, what: string): asserts id is string {
  if (typeof id !== 'string') {
    throw new StorageError('INVALID_ARGUMENT', `${what} must be a string, got ${id === null ? 'null' : typeof id}.`);
  }
  if (id.length === 0) throw new StorageError('INVALID_ARGUMENT', `${what} is empty; ids are non-empty strings (newId() makes one).`);
  if (id.length > MAX_ID_LENGTH) {
    throw new StorageError('INVALID_ARGUMENT', `${what} is ${id.length} characters long; ids are at most ${MAX_ID_LENGTH}.`);
  }
  if (!isWellFormed(id)) {
    throw new StorageError('INVALID_ARGUMENT', `${what} ${JSON.stringify(id)} contains a lone surrogate; ids must be well-formed Unicode.`);
  }
}

/** Keys of one namespace, each built after its encoded prefix in one allocation. */
export class NamespaceKeys {
  /** The encoding of `[namespace]`: a prefix of every key of the namespace. */
  readonly prefix: Uint8Array;
  private readonly one: [string] = [''];

  constructor(readonly namespace: string) {
    this.prefix = encodeKey([namespace]);
  }

  /** The key `[namespace, id]` (the hot path of single-record reads: no array per call). */
  id(id: string): Uint8Array {
    this.one[0] = id;
    return encodeKeyAfter(this.prefix, this.one);
  }

  /** The key `[namespace, ...parts]`. */
  key(...parts: KeyPart[]): Uint8Array {
    return encodeKeyAfter(this.prefix, parts);
  }

  /**
   * The prefix of every key `[namespace, s, ...]` whose string `s` starts with `stringPrefix`: the encoding without
   * the string's terminator (a string encodes as its escaped UTF-8 followed by one 0x00).
   */
  stringPrefix(stringPrefix: string): Uint8Array {
    const full = this.key(stringPrefix);
    return full.subarray(0, full.length - 1);
  }
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/** UTF-8 bytes of a string. */
export const utf8 = (text: string): Uint8Array => utf8Encoder.encode(text);
/** The string of UTF-8 bytes (strict). */
export const fromUtf8 = (bytes: Uint8Array): string => utf8Decoder.decode(bytes);

/** The empty value of index entries (never mutated). */
export const EMPTY = new Uint8Array(0);
