/**
 * The types the schema DSL infers. `npm run typecheck` (part of CI) checks every line here: an `expectTypeOf`
 * that does not hold, or a `@ts-expect-error` line that compiles, fails it. The runtime assertions check that the
 * values behind those types are what the types say.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  decodeRecord,
  defineRecord,
  edgeId,
  encodeNode,
  encodeRecord,
  MetadataView,
  newId,
  nodeId,
  nodeView,
  t,
  viewRecord,
  type EdgeId,
  type EmbeddingId,
  type JsonValue,
  type Message,
  type NodeId,
  type RecordOf,
} from '@tabstore/sdk';

const Point = defineRecord({
  name: 'TypedPoint',
  typeId: 957,
  version: 1,
  fields: {
    x: t.float64(),
    label: t.optional(t.string()),
    kind: t.enumOf(['a', 'b']),
    tags: t.stringList(),
    meta: t.metadata(),
    extra: t.optional(t.metadata()),
    vector: t.float32Vector(),
  },
});
type Point = RecordOf<typeof Point>;

describe('schema types', () => {
  it('a record type has required and optional properties as declared, enums as unions of their values', () => {
    expectTypeOf<Point>().toEqualTypeOf<{
      x: number;
      kind: 'a' | 'b';
      tags: string[];
      meta: JsonValue;
      vector: Float32Array;
      label?: string | undefined;
      extra?: JsonValue | undefined;
    }>();
    const point: Point = { x: 1, kind: 'b', tags: [], meta: { k: 1 }, vector: new Float32Array(2) };
    // @ts-expect-error an enum takes only its declared values
    const wrongKind: Point = { ...point, kind: 'c' };
    // @ts-expect-error a required field cannot be left out
    const missing: Point = { x: 1, kind: 'a', tags: [], meta: null };
    void wrongKind;
    void missing;
    expect(decodeRecord(Point, encodeRecord(Point, point))).toEqual(point);
  });

  it('a view gives metadata fields as MetadataView and every other field as its value type', () => {
    const view = viewRecord(Point, encodeRecord(Point, { x: 2, kind: 'a', tags: ['t'], meta: [1], vector: new Float32Array(1) }));
    expectTypeOf(view.x).toEqualTypeOf<number>();
    expectTypeOf(view.kind).toEqualTypeOf<'a' | 'b'>();
    expectTypeOf(view.meta).toEqualTypeOf<MetadataView>();
    expectTypeOf(view.extra).toEqualTypeOf<MetadataView | undefined>();
    expectTypeOf(view.label).toEqualTypeOf<string | undefined>();
    expectTypeOf(view.toObject()).toEqualTypeOf<Point>();
    expect(() => {
      // @ts-expect-error views are read-only
      view.x = 3;
    }).toThrow(TypeError);
    expect(view.meta).toBeInstanceOf(MetadataView);
    expect(view.extra).toBeUndefined();
    expectTypeOf(view.type).toEqualTypeOf<string>();
    // A field named `type` is the view's `type`, with the field's type.
    const Typed = defineRecord({ name: 'TypedMeta', typeId: 958, version: 1, fields: { type: t.metadata() } });
    const typed = viewRecord(Typed, encodeRecord(Typed, { type: { k: 1 } }));
    expectTypeOf(typed.type).toEqualTypeOf<MetadataView>();
    expect(typed.type.get('k')!.toJSON()).toBe(1);
    expect(view.kind).toBe('a');
  });
});

describe('model types', () => {
  it('NodeId, EdgeId and EmbeddingId cannot be mixed, nor given plain strings', () => {
    const node = nodeId('chat_1');
    const edge = edgeId('edge_1');
    expectTypeOf(node).toEqualTypeOf<NodeId>();
    expectTypeOf(newId()).toEqualTypeOf<NodeId>();
    expectTypeOf(newId<EmbeddingId>()).toEqualTypeOf<EmbeddingId>();
    expectTypeOf<NodeId>().not.toEqualTypeOf<EdgeId>();
    // @ts-expect-error an edge id is not a node id
    const asNode: NodeId = edge;
    // @ts-expect-error a plain string is not a node id
    const fromString: NodeId = 'chat_1';
    // @ts-expect-error a node id is not an embedding id
    const asEmbedding: EmbeddingId = node;
    void [asNode, fromString, asEmbedding];
    // Branding is compile-time only: the values are the strings themselves.
    expect(node).toBe('chat_1');
    expect(edge).toBe('edge_1');
  });

  it('a node view narrows on its type tag', () => {
    const message: Message = {
      type: 'Message',
      id: nodeId('msg_1'),
      chatId: nodeId('chat_1'),
      sender: 'user',
      timestamp: 1,
      textContent: 'hi',
      attachmentIds: [],
      metadata: { tokens: 3 },
    };
    const view = nodeView(encodeNode(message));
    // @ts-expect-error only Message views have a chatId, so it needs narrowing first
    void view.chatId;
    if (view.type !== 'Message') throw new Error('expected a Message view');
    expectTypeOf(view.chatId).toEqualTypeOf<NodeId>();
    expectTypeOf(view.metadata).toEqualTypeOf<MetadataView>();
    expect(view.chatId).toBe('chat_1');
    expect(view.metadata.get('tokens')?.toJSON()).toBe(3);
  });
});
