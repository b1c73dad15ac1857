import type { JsonValue } from './metadata.js';

/**
 * The schema DSL: a record schema is declared once and its TypeScript type is inferred from the declaration.
 *
 * ```ts
 * const Point = defineRecord({ name: 'Point', typeId: 1, version: 1, fields: { x: t.float64(), label: t.optional(t.string()) } });
 * type Point = RecordOf<typeof Point>; // { x: number; label?: string | undefined }
 * ```
 * Fields are only ever appended (a new version adds fields at the end); their order is their identity.
 */

/** How a field is stored. */
export type FieldKindName =
  | 'bool'
  | 'int32'
  | 'uint32'
  | 'float64'
  | 'safeInt'
  | 'string'
  | 'stringList'
  | 'bytes'
  | 'float32Vector'
  | 'enum'
  | 'table'
  | 'metadata';

/** A field kind; `T` is the TypeScript type of its values (phantom), `K` the kind's name. */
export interface FieldKind<T, K extends FieldKindName = FieldKindName> {
  readonly kind: K;
  /** For optional fields: absent (`undefined`) is allowed. */
  readonly optional: boolean;
  /** The allowed values of an enum. */
  readonly values?: readonly string[];
  /** The nested schema of a table. */
  readonly schema?: RecordSchema<FieldMap>;
  /** Strings that must not be empty (ids); for a string list, each of its elements (id lists). */
  readonly nonEmpty?: boolean;
  /** @internal phantom */
  readonly __type?: T;
}

/** The fields of a record, by name, in storage order. */
export type FieldMap = Record<string, FieldKind<unknown>>;

type ValueOf<K> = K extends FieldKind<infer T> ? T : never;
type OptionalKeys<F extends FieldMap> = { [K in keyof F]: F[K]['optional'] extends true ? K : never }[keyof F];
type RequiredKeys<F extends FieldMap> = Exclude<keyof F, OptionalKeys<F>>;
type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** The value type of one field kind (`undefined` allowed for optional kinds). */
export type FieldValue<K> = K extends FieldKind<infer T> ? (K['optional'] extends true ? T | undefined : T) : never;

/** The plain object type of a field map: optional kinds become optional properties. */
export type ValuesOf<F extends FieldMap> = Simplify<
  { [K in RequiredKeys<F>]: ValueOf<F[K]> } & { [K in OptionalKeys<F>]?: ValueOf<F[K]> | undefined }
>;

/** A declared record type. */
export interface RecordSchema<F extends FieldMap> {
  readonly name: string;
  /** Stored in every record's header (1..65535); unique within a registry. */
  readonly typeId: number;
  /** Schema version stored in the header of records this schema writes. */
  readonly version: number;
  readonly fields: F;
  /** Field names in storage order. */
  readonly fieldNames: readonly (keyof F & string)[];
}

/** The record type of a schema. */
export type RecordOf<S> = S extends RecordSchema<infer F> ? ValuesOf<F> : never;

function kind<T, K extends FieldKindName>(name: K, extra: Partial<FieldKind<T, K>> = {}): FieldKind<T, K> & { optional: false } {
  return Object.freeze({ kind: name, optional: false, ...extra }) as FieldKind<T, K> & { optional: false };
}

/** Field kinds. */
export const t = {
  bool: () => kind<boolean, 'bool'>('bool'),
  /** An integer within -2^31..2^31-1, in 4 bytes (-0 reads back as 0). */
  int32: () => kind<number, 'int32'>('int32'),
  /** An integer within 0..2^32-1, in 4 bytes (-0 reads back as 0). */
  uint32: () => kind<number, 'uint32'>('uint32'),
  /** Any number, in 8 bytes: reads back exactly (-0, ±Infinity and NaN included). */
  float64: () => kind<number, 'float64'>('float64'),
  /** An integer within ±(2^53-1): timestamps (epoch ms), sizes. */
  safeInt: () => kind<number, 'safeInt'>('safeInt'),
  /** A UTF-8 string; `T` may be a branded string type. */
  string: <T extends string = string>() => kind<T, 'string'>('string'),
  /** A non-empty string, for identifiers; `T` is usually a branded id type. */
  id: <T extends string = string>() => kind<T, 'string'>('string', { nonEmpty: true }),
  /** A list of UTF-8 strings. */
  stringList: <T extends string = string>() => kind<T[], 'stringList'>('stringList'),
  /** A list of non-empty strings, for references to other records; `T` is usually a branded id type. */
  idList: <T extends string = string>() => kind<T[], 'stringList'>('stringList', { nonEmpty: true }),
  bytes: () => kind<Uint8Array, 'bytes'>('bytes'),
  /** A vector of float32: a view reads it as a Float32Array over the record's bytes (when aligned); decode copies it. */
  float32Vector: () => kind<Float32Array, 'float32Vector'>('float32Vector'),
  /** One of 1 to 256 strings, stored as its index (one byte); new values are only ever appended. */
  enumOf: <const V extends readonly [string, ...string[]]>(values: V) =>
    kind<V[number], 'enum'>('enum', { values: Object.freeze([...checkEnumValues(values)]) }),
  /** A nested record of another schema. */
  table: <F extends FieldMap>(schema: RecordSchema<F>) =>
    kind<ValuesOf<F>, 'table'>('table', { schema: schema as unknown as RecordSchema<FieldMap> }),
  /** Any JSON value, stored in binary form (see `metadataView`). */
  metadata: <T extends JsonValue = JsonValue>() => kind<T, 'metadata'>('metadata'),
  /** The same kind, but `undefined` is allowed (and is what readers of older records get). */
  optional: <T, K extends FieldKindName>(inner: FieldKind<T, K>): FieldKind<T, K> & { optional: true } =>
    Object.freeze({ ...inner, optional: true }) as FieldKind<T, K> & { optional: true },
};

/** The values of an enum: 1 to 256 of them, since a record stores the index in one byte. */
function checkEnumValues(values: readonly string[]): readonly string[] {
  if (!Array.isArray(values) || values.length < 1 || values.length > 256) {
    throw new TypeError(`An enum has 1 to 256 values (stored as a one-byte index), got ${Array.isArray(values) ? values.length : typeof values}.`);
  }
  return values;
}

/** The members of every record view (see `RecordView`), which no field may shadow (`type` may: the field wins). */
const VIEW_MEMBERS: readonly string[] = ['toObject', 'toJSON', 'schemaVersion'];

const KIND_NAMES: ReadonlySet<string> = new Set<FieldKindName>([
  'bool', 'int32', 'uint32', 'float64', 'safeInt', 'string', 'stringList', 'bytes', 'float32Vector', 'enum', 'table', 'metadata',
]);

/** An array index ('0', '5'): JavaScript lists such keys first, in numeric order, whatever order they were declared in. */
const ARRAY_INDEX = /^(0|[1-9]\d*)$/;

/** Checks the field declarations of schema `name` (TypeError: these are mistakes in code, not in data). */
function checkFields(name: string, fields: unknown): void {
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) {
    throw new TypeError(`${name}: fields must be an object of field kinds, e.g. { id: t.id(), text: t.string() }.`);
  }
  if (Object.getOwnPropertySymbols(fields).length > 0) throw new TypeError(`${name}: field names must be strings, not symbols.`);
  for (const [field, declared] of Object.entries(fields)) {
    // The field order is the storage order, and only appending keeps old records readable.
    if (ARRAY_INDEX.test(field)) {
      throw new TypeError(`${name}: a field cannot be named ${field}: JavaScript orders such names before the others, not as declared. Use a name like f${field}.`);
    }
    // An absent optional field would read as the inherited member (a function) when a record is encoded.
    if (field in Object.prototype) throw new TypeError(`${name}: a field cannot be named ${field}, which every object inherits.`);
    if (VIEW_MEMBERS.includes(field)) throw new TypeError(`${name}: a field cannot be named ${field}, which every record view has.`);
    const kindName = (declared as { kind?: unknown } | null)?.kind;
    if (typeof declared !== 'object' || declared === null || typeof kindName !== 'string' || !KIND_NAMES.has(kindName)) {
      throw new TypeError(`${name}.${field}: not a field kind; declare it with t (e.g. t.string(), not t.string).`);
    }
    const nested = (declared as { schema?: unknown }).schema;
    if (kindName === 'table' && (typeof nested !== 'object' || nested === null || !(SCHEMA_CACHE in nested))) {
      throw new TypeError(`${name}.${field}: t.table() takes a schema made by defineRecord().`);
    }
  }
}

/** Declares a record schema. */
export function defineRecord<const F extends FieldMap>(definition: {
  name: string;
  typeId: number;
  version: number;
  fields: F;
}): RecordSchema<F> {
  const { name, typeId, version, fields } = definition;
  if (typeof name !== 'string' || name.length === 0) throw new TypeError('A record schema needs a name (a non-empty string).');
  if (!Number.isInteger(typeId) || typeId < 1 || typeId > 0xffff) throw new TypeError(`${name}: typeId must be 1..65535`);
  if (!Number.isInteger(version) || version < 1 || version > 0xffff) throw new TypeError(`${name}: version must be 1..65535`);
  // __proto__ is among the names refused: stored into a decoded object it would set the object's prototype.
  checkFields(name, fields);
  const fieldNames = Object.keys(fields) as (keyof F & string)[];
  if (fieldNames.length > 255) throw new TypeError(`${name}: at most 255 fields`);
  // Its own frozen copy of the fields: a caller changing its object later cannot change the schema.
  const schema = { name, typeId, version, fields: Object.freeze({ ...fields }), fieldNames: Object.freeze(fieldNames) };
  // A private, mutable slot where the codec keeps what it compiles for this schema (a property read, not a lookup).
  Object.defineProperty(schema, SCHEMA_CACHE, { value: {} });
  return Object.freeze(schema);
}

/** @internal The codec's per-schema cache slot. */
export const SCHEMA_CACHE: unique symbol = Symbol('tabstore.schemaCache');
