import { CodecError } from '../codec/errors.js';
import { isWellFormed, toWellFormed } from '../codec/unicode.js';
import { isPlainJsonObject, MAX_METADATA_DEPTH, type JsonValue } from '../codec/metadata.js';
import type { FieldKind, FieldMap, RecordOf, RecordSchema } from '../codec/schema.js';
import { EdgeSchema, EmbeddingSchema, NODE_SCHEMAS, NODE_TYPES, type Edge, type Embedding, type Node, type NodeType } from './schemas.js';

/**
 * The legacy JSON format: what the old LevelDB store (`classic-level`, sublevels `nodes`, `edges`, `embeddings`)
 * holds, one UTF-8 JSON value per record, with the snake_case field names of DOMAIN.md.
 *
 * ```json
 * {"Message": {"id": "msg_1", "chat_id": "chat_1", "sender": "user", "timestamp": 1700000000000,
 *              "text_content": "hi", "attachment_ids": [], "embedding_id": null, "metadata": {}}}
 * {"id": "e_1", "from_node": "chat_1", "to_node": "msg_1", "edge_type": "CONTAINS_MESSAGE", "created_at": 1700000000000, "metadata": null}
 * {"id": "embed_001", "vector": [0.25, -1.5], "model": "all-MiniLM-L6-v2", "source_text": null}
 * ```
 * A node is externally tagged (one key, the node type); its fields, an edge's and an embedding's are the model's
 * field names in snake_case (`createdAt` -> `created_at`, `sha256` stays). `user_feedback` is
 * `{"feedback_type", "user_comment", "correction", "timestamp"}`. Writers put every field, in schema order, an absent
 * optional as `null`, vectors as JSON numbers (the shortest decimal that reads back to the same float32).
 *
 * Readers convert a record or throw `CodecError('LEGACY_UNCONVERTIBLE')` whose message names the record (type and
 * id, or the key given in the options) and the field, and says why; its `path` is the model path
 * (`Message.timestamp`). Nothing else is ever thrown, whatever the input. Real legacy data is messy, so readers
 * apply these tolerance rules, each reported as a note in `options.notes` (none is silent):
 *
 * | input | read as | note |
 * |---|---|---|
 * | optional field missing or `null` | `undefined` | no (the normal format) |
 * | optional id (`embedding_id`) `""` | `undefined` | yes |
 * | `""` in an id list (`message_ids`, `summary_ids`, `attachment_ids`) | left out of the list | yes, one per element |
 * | required list (`message_ids`, `tags`, ...) missing or `null` | `[]` | yes |
 * | `metadata` (or `action_args`, `result`, `data`) missing | `null` | yes |
 * | unknown extra fields, in the record, in `user_feedback` or beside the node tag | ignored | yes, listing each with its value |
 * | camelCase field name (`chatId` for `chat_id`) | the field | yes (both given: same value -> note, different -> error) |
 * | integer written as a string (`"1700000000000"`, `" 42 "`, `"42.0"`) | the number, if a safe integer | yes |
 * | timestamp (`timestamp`, `*_at`) as an ISO-8601 date (`"2023-11-14T22:13:20Z"`) | epoch ms (no offset: UTC) | yes |
 * | vector element written as a string (`"0.25"`) | the number | yes (one note per vector) |
 * | boolean written as `"true"` / `"false"` (any case) | the boolean (no model field is a bool today) | yes |
 * | enum in another case (`"WARN"`, `"gguf"`, `"approval"`) | the model's spelling | yes |
 * | node type tag in another case or snake_case (`"message"`, `"web_search"`) | the node type | yes |
 * | internally tagged node (`{"type": "Message", "id": ...}`) | the node | yes |
 * | lone UTF-16 surrogate (`"\ud800"`) in a string field or list element | U+FFFD (the record codec rejects them) | yes |
 * | ... inside `metadata` / `action_args` / `result` / `data` | kept exactly (binary metadata holds any JS string) | no |
 * | bytes that are not valid UTF-8 | U+FFFD for each bad sequence | yes |
 * | leading byte order mark | ignored | yes |
 * | duplicate JSON key with the same value | read once | yes (different values -> error) |
 * | integer literal beyond 2^53 inside metadata | the nearest double (as any JSON reader would) | yes |
 * | `action_args` / `result` (ActionOutcome), `data` (Log) as a string holding a JSON object or array | the parsed value | yes |
 * | ... as any other string (including one starting with `{`/`[` that does not parse) | the string itself | only when it looked like JSON |
 * | `speaker_diarization` as a JSON object or array (the model keeps JSON text) | its compact JSON text | yes |
 * | record key (`options.key`) differing from the record's id | the id is kept | yes |
 *
 * `sender` is free text: `"ai"` stays `"ai"` here (mapping it to `"assistant"` is the browser legacy reader's job).
 * Anything else is an error: JSON that does not parse (or nests deeper than {@link LEGACY_MAX_DEPTH}), a top-level
 * value that is not an object, an unknown node type, a missing or empty id, a missing required scalar, a value of
 * the wrong type, a number that is not a (safe) integer where one is required, a vector element that is not a finite
 * float32, an enum value that matches nothing, a JSON number out of the float64 range.
 *
 * Round trip: model -> legacy -> model gives the same value, except a JSON-valued field (`actionArgs`, `result`,
 * `data`) holding a *string* that is itself JSON object/array text, which reads back parsed (the format cannot
 * tell the two apart).
 */

/** Options of the legacy readers. */
export interface LegacyReadOptions {
  /** The record's key (its id, without any sublevel prefix), named in error messages and checked against the id. */
  key?: string;
  /** Every tolerance rule applied is appended here as a note naming the field; nothing is appended on error. */
  notes?: string[];
}

/** A legacy record of any of the three stores, as {@link parseLegacyAny} classified it. */
export type LegacyRecord = { kind: 'node'; value: Node } | { kind: 'edge'; value: Edge } | { kind: 'embedding'; value: Embedding };

/**
 * How deep a legacy JSON document may nest (objects and arrays): metadata's limit plus the node wrapper and the
 * record. Deeper input is unconvertible; so is a JSON-valued field nesting deeper than metadata can.
 */
export const LEGACY_MAX_DEPTH = MAX_METADATA_DEPTH + 2;

type JsonObject = { [key: string]: JsonValue };

// ---------------------------------------------------------------------------------------------------------------
// Errors, notes, small helpers
// ---------------------------------------------------------------------------------------------------------------

function unconvertible(message: string, path = ''): CodecError {
  return new CodecError('LEGACY_UNCONVERTIBLE', message, { path });
}

function invalidOutput(path: string, expected: string, value: unknown): CodecError {
  const got = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
  return new CodecError('INVALID_INPUT', `${path} must be ${expected}, got ${got}${typeof value === 'number' ? ` ${value}` : ''}.`, {
    path,
  });
}

/** A value for a message: its JSON text, shortened. */
function show(value: unknown): string {
  let text: string;
  try {
    text = value === undefined ? 'nothing' : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

const isObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);

const snakeCache = new Map<string, string>();
/** The legacy (snake_case) name of a model field: `createdAt` -> `created_at`, `sha256` -> `sha256`. */
export function legacyFieldName(modelName: string): string {
  let snake = snakeCache.get(modelName);
  if (snake === undefined) {
    snake = modelName.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    snakeCache.set(modelName, snake);
  }
  return snake;
}

function jsonEqual(a: JsonValue, b: JsonValue): boolean {
  if (a === b) return typeof a !== 'number' || Object.is(a, b);
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]!));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k]!, b[k]!));
  }
  return false;
}

/** Sets `obj[key]` as an own data property (also for `__proto__`). */
function setKey(obj: JsonObject, key: string, value: JsonValue): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

// ---------------------------------------------------------------------------------------------------------------
// JSON text -> value (strict RFC 8259, reporting duplicate keys and inexact big integers)
// ---------------------------------------------------------------------------------------------------------------

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const HEX4 = /^[0-9a-fA-F]{4}$/;
const IDENT = /^[A-Za-z_$][\w$]*$/;

function joinPath(base: string, segments: readonly (string | number)[]): string {
  let path = base;
  for (const s of segments) {
    if (typeof s === 'number') path += `[${s}]`;
    else if (IDENT.test(s)) path += path === '' ? s : `.${s}`;
    else path += `[${JSON.stringify(s)}]`;
  }
  return path === '' ? '(top level)' : path;
}

/** Why JSON text could not be read (what {@link parseJsonText} throws before naming the record). */
class UnreadableJson extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

/**
 * Parses JSON text. `what` names the record in errors; notes use JSON paths under `base` (legacy field names).
 * Lone surrogates are kept here (the converters replace them, naming the model field).
 */
function parseJsonText(text: string, what: string, notes: string[], base: string, maxDepth: number): JsonValue {
  try {
    return parseJsonOrThrowReason(text, notes, base, maxDepth);
  } catch (error) {
    if (error instanceof UnreadableJson) throw unconvertible(`${what}: ${error.reason}.`);
    throw error;
  }
}

/** {@link parseJsonText}, throwing {@link UnreadableJson} with the reason alone (no record name). */
function parseJsonOrThrowReason(text: string, notes: string[], base: string, maxDepth: number): JsonValue {
  const n = text.length;
  let i = 0;
  const segments: (string | number)[] = [];
  const fail = (reason: string): never => {
    throw new UnreadableJson(`not valid JSON: ${reason} at offset ${Math.min(i, n)}${segments.length > 0 ? ` (in ${joinPath(base, segments)})` : ''}`);
  };
  const skipSpace = (): void => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
  };
  const parseString = (): string => {
    i++; // opening quote
    let out = '';
    let start = i;
    for (;;) {
      if (i >= n) fail('unterminated string');
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        out += text.slice(start, i);
        i++;
        return out;
      }
      if (c === 0x5c) {
        out += text.slice(start, i);
        const e = text[i + 1];
        switch (e) {
          case '"':
          case '\\':
          case '/':
            out += e;
            break;
          case 'b':
            out += '\b';
            break;
          case 'f':
            out += '\f';
            break;
          case 'n':
            out += '\n';
            break;
          case 'r':
            out += '\r';
            break;
          case 't':
            out += '\t';
            break;
          case 'u': {
            const hex = text.slice(i + 2, i + 6);
            if (!HEX4.test(hex)) fail('bad \\u escape');
            out += String.fromCharCode(parseInt(hex, 16));
            i += 4;
            break;
          }
          default:
            fail(e === undefined ? 'unterminated string' : `bad escape \\${e}`);
        }
        i += 2;
        start = i;
        continue;
      }
      if (c < 0x20) fail('unescaped control character in a string');
      i++;
    }
  };
  const parseValue = (depth: number): JsonValue => {
    skipSpace();
    if (i >= n) return fail('unexpected end of input');
    const c = text.charCodeAt(i);
    if (c === 0x7b || c === 0x5b) {
      if (depth >= maxDepth) fail(`nested deeper than ${maxDepth} levels`);
      return c === 0x7b ? parseObject(depth + 1) : parseArray(depth + 1);
    }
    if (c === 0x22) return parseString();
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(text);
      if (m === null) return fail('bad number');
      const literal = m[0];
      i += literal.length;
      const value = Number(literal);
      if (!Number.isFinite(value)) fail(`number ${literal.length > 40 ? `${literal.slice(0, 40)}...` : literal} is out of range`);
      if (!Number.isSafeInteger(value) && /^-?\d+$/.test(literal) && BigInt(literal) !== BigInt(value)) {
        notes.push(`${joinPath(base, segments)}: integer ${literal} is beyond 2^53; read as ${value}`);
      }
      return value;
    }
    if (text.startsWith('true', i)) {
      i += 4;
      return true;
    }
    if (text.startsWith('false', i)) {
      i += 5;
      return false;
    }
    if (text.startsWith('null', i)) {
      i += 4;
      return null;
    }
    return fail(`unexpected character ${JSON.stringify(text[i])}`);
  };
  const parseArray = (depth: number): JsonValue[] => {
    i++;
    const out: JsonValue[] = [];
    skipSpace();
    if (text.charCodeAt(i) === 0x5d) {
      i++;
      return out;
    }
    for (;;) {
      segments.push(out.length);
      out.push(parseValue(depth));
      segments.pop();
      skipSpace();
      const c = text.charCodeAt(i);
      i++;
      if (c === 0x2c) continue;
      if (c === 0x5d) return out;
      i--;
      fail('expected "," or "]"');
    }
  };
  const parseObject = (depth: number): JsonObject => {
    i++;
    const out: JsonObject = {};
    skipSpace();
    if (text.charCodeAt(i) === 0x7d) {
      i++;
      return out;
    }
    for (;;) {
      skipSpace();
      if (i >= n) fail('unexpected end of input');
      if (text.charCodeAt(i) !== 0x22) fail('expected a string key');
      const key = parseString();
      skipSpace();
      if (text.charCodeAt(i) !== 0x3a) fail('expected ":"');
      i++;
      segments.push(key);
      const value = parseValue(depth);
      if (Object.hasOwn(out, key)) {
        const where = joinPath(base, segments);
        if (!jsonEqual(out[key]!, value)) {
          throw new UnreadableJson(`duplicate JSON key ${JSON.stringify(key)} with different values (${where})`);
        }
        notes.push(`${where}: duplicate JSON key with the same value; read once`);
      } else {
        setKey(out, key, value);
      }
      segments.pop();
      skipSpace();
      const c = text.charCodeAt(i);
      i++;
      if (c === 0x2c) continue;
      if (c === 0x7d) return out;
      i--;
      fail('expected "," or "}"');
    }
  };
  const value = parseValue(0);
  skipSpace();
  if (i < n) fail('unexpected data after the JSON value');
  return value;
}

// ---------------------------------------------------------------------------------------------------------------
// Reading records
// ---------------------------------------------------------------------------------------------------------------

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const lenientUtf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/** How the record is named in messages before its id is known. */
function recordName(options: LegacyReadOptions | undefined): string {
  const key = options?.key;
  return typeof key === 'string' && key !== '' ? `Legacy record ${shortId(key)}` : 'Legacy record';
}

const shortId = (id: string): string => (id.length > 80 ? `${id.slice(0, 77)}...` : id);

/** Input bytes or text -> the parsed top-level JSON object. */
function readTopObject(input: Uint8Array | string, what: string, notes: string[]): JsonObject {
  let text: string;
  if (typeof input === 'string') {
    text = input;
  } else if (input instanceof Uint8Array) {
    try {
      text = fatalUtf8.decode(input);
    } catch {
      text = lenientUtf8.decode(input);
      notes.push(`${what}: bytes that are not valid UTF-8 replaced with U+FFFD`);
    }
  } else {
    throw unconvertible(`${what}: input must be a Uint8Array or a string, got ${input === null ? 'null' : typeof input}.`);
  }
  if (text.charCodeAt(0) === 0xfeff) {
    text = text.slice(1);
    notes.push(`${what}: leading byte order mark ignored`);
  }
  if (text.trim() === '') throw unconvertible(`${what}: empty value, not a JSON record.`);
  const value = parseJsonText(text, what, notes, '', LEGACY_MAX_DEPTH);
  if (!isObject(value)) {
    throw unconvertible(`${what}: the top-level JSON value must be an object, got ${Array.isArray(value) ? 'an array' : show(value)}.`);
  }
  return value;
}

/** Reading state of one record. */
interface Ctx {
  /** "Message msg_1" (or "Message (key msg_1)" before the id is read). */
  label: string;
  notes: string[];
  key: string | undefined;
}

/** One field being read: model path for `CodecError.path` and notes, legacy name for error messages. */
interface Field {
  path: string;
  legacy: string;
}

function fieldError(ctx: Ctx, f: Field, why: string): CodecError {
  return unconvertible(`${ctx.label}: ${f.legacy} ${why}.`, f.path);
}

const TIMESTAMP_FIELD = /(^timestamp$|At$)/;
/** Model fields whose legacy value may be a JSON value or a string holding JSON text. */
const JSON_TEXT_FIELDS = new Set(['ActionOutcome.actionArgs', 'ActionOutcome.result', 'Log.data']);
/** String fields holding JSON text in the model, which legacy may have as a JSON value. */
const JSON_STRING_FIELDS = new Set(['AudioTranscript.speakerDiarization']);

/** Replaces lone surrogates in a string (with a note). */
function cleanString(s: string, path: string, ctx: Ctx): string {
  if (isWellFormed(s)) return s;
  ctx.notes.push(`${path}: lone UTF-16 surrogate replaced with U+FFFD`);
  return toWellFormed(s);
}

/** Checks that a JSON value nests at most MAX_METADATA_DEPTH containers deep (what metadata can hold). */
function checkDepth(value: JsonValue, f: Field, ctx: Ctx): void {
  const visit = (v: JsonValue, depth: number): void => {
    if (typeof v !== 'object' || v === null) return;
    if (depth >= MAX_METADATA_DEPTH) throw fieldError(ctx, f, `nests deeper than ${MAX_METADATA_DEPTH} levels`);
    for (const child of Array.isArray(v) ? v : Object.values(v)) visit(child, depth + 1);
  };
  visit(value, 0);
}

const INTEGER_TEXT = /^[+-]?\d+(?:\.0*)?$/;
const FLOAT_TEXT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

function readInteger(raw: JsonValue, f: Field, ctx: Ctx, min: number, max: number, what: string): number {
  if (typeof raw === 'number') {
    if (Number.isInteger(raw) && raw >= min && raw <= max) return raw;
    throw fieldError(ctx, f, `must be ${what}, got ${show(raw)}`);
  }
  if (typeof raw === 'string') {
    const text = raw.trim();
    if (INTEGER_TEXT.test(text)) {
      const n = Number(text);
      if (Number.isInteger(n) && n >= min && n <= max) {
        ctx.notes.push(`${f.path}: number given as string ${show(raw)} converted`);
        return n;
      }
    }
    if (TIMESTAMP_FIELD.test(f.path.slice(f.path.lastIndexOf('.') + 1))) {
      const ms = parseIsoDate(text);
      if (ms !== undefined && ms.value >= min && ms.value <= max) {
        ctx.notes.push(`${f.path}: ISO date ${show(raw)} converted to epoch ms ${ms.value}${ms.assumedUtc ? ' (no offset given: UTC assumed)' : ''}${ms.truncated ? ' (sub-millisecond digits dropped)' : ''}`);
        return ms.value;
      }
    }
  }
  throw fieldError(ctx, f, `must be ${what}, got ${show(raw)}`);
}

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*([Zz]|[+-]\d{2}(?::?\d{2})?)?$/;

/** An ISO-8601 date or date-time as epoch ms, or undefined. */
function parseIsoDate(text: string): { value: number; assumedUtc: boolean; truncated: boolean } | undefined {
  const m = ISO_DATE.exec(text);
  if (m === null) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return undefined;
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  if (date.getUTCDate() !== day) return undefined; // e.g. 2023-02-30
  date.setUTCHours(hour, minute, second, Number(frac.slice(0, 3).padEnd(3, '0')));
  let value = date.getTime();
  if (zone !== undefined && zone.toUpperCase() !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const offsetHours = Number(digits.slice(0, 2));
    const offsetMinutes = digits.length > 2 ? Number(digits.slice(2)) : 0;
    if (offsetHours > 23 || offsetMinutes > 59) return undefined;
    value -= sign * (offsetHours * 60 + offsetMinutes) * 60_000;
  }
  if (!Number.isSafeInteger(value)) return undefined;
  return { value, assumedUtc: zone === undefined, truncated: /[1-9]/.test(frac.slice(3)) };
}

/**
 * A JSON-valued field (metadata, actionArgs, result, data). Lone surrogates are kept: binary metadata holds any JS
 * string exactly.
 */
function readJsonField(raw: JsonValue, f: Field, ctx: Ctx): JsonValue {
  if (typeof raw === 'string' && JSON_TEXT_FIELDS.has(f.path)) {
    // Only JSON's own whitespace: a string that starts with U+FEFF or U+3000 before its brace is no JSON text.
    const text = trimJsonWhitespace(raw);
    if (text.startsWith('{') || text.startsWith('[')) {
      const inner: string[] = [];
      let parsed: JsonValue | undefined;
      let reason = '';
      try {
        parsed = parseJsonOrThrowReason(text, inner, f.legacy, MAX_METADATA_DEPTH);
      } catch (error) {
        if (!(error instanceof UnreadableJson)) throw error;
        reason = error.reason;
      }
      if (parsed === undefined) {
        ctx.notes.push(`${f.path}: string starting with "${text[0]}" kept as a string (${reason})`);
      } else {
        checkDepth(parsed, f, ctx);
        appendAll(ctx.notes, inner);
        ctx.notes.push(`${f.path}: JSON ${Array.isArray(parsed) ? 'array' : 'object'} given as a string parsed`);
        return parsed;
      }
    }
  }
  checkDepth(raw, f, ctx);
  return raw;
}

function readField(field: FieldKind<unknown>, raw: JsonValue | undefined, f: Field, ctx: Ctx): unknown {
  if (raw === undefined || raw === null) {
    if (field.optional) return undefined;
    if (field.kind === 'stringList') {
      ctx.notes.push(`${f.path}: ${raw === null ? 'null' : 'missing'} list (${f.legacy}) read as []`);
      return [];
    }
    if (field.kind === 'metadata') {
      if (raw === undefined) ctx.notes.push(`${f.path}: missing (${f.legacy}); read as null`);
      return null;
    }
    throw fieldError(ctx, f, raw === undefined ? 'is missing' : 'must not be null');
  }
  switch (field.kind) {
    case 'string': {
      if (typeof raw === 'string') {
        const s = cleanString(raw, f.path, ctx);
        if (field.nonEmpty === true && s === '') {
          if (field.optional) {
            ctx.notes.push(`${f.path}: empty id (${f.legacy}: "") read as absent`);
            return undefined;
          }
          throw fieldError(ctx, f, 'must not be empty');
        }
        return s;
      }
      if (JSON_STRING_FIELDS.has(f.path) && typeof raw === 'object') {
        const text = JSON.stringify(raw); // escapes lone surrogates: the text is well-formed
        ctx.notes.push(`${f.path}: JSON ${Array.isArray(raw) ? 'array' : 'object'} stored as its JSON text`);
        return text;
      }
      throw fieldError(ctx, f, `must be a string, got ${show(raw)}`);
    }
    case 'safeInt': {
      const isTime = TIMESTAMP_FIELD.test(f.path.slice(f.path.lastIndexOf('.') + 1));
      return readInteger(raw, f, ctx, -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, isTime ? 'an integer epoch-ms' : 'a safe integer');
    }
    case 'int32':
      return readInteger(raw, f, ctx, -0x80000000, 0x7fffffff, 'a 32-bit integer');
    case 'uint32':
      return readInteger(raw, f, ctx, 0, 0xffffffff, 'a 32-bit unsigned integer');
    case 'float64': {
      if (typeof raw === 'number') return raw;
      if (typeof raw === 'string' && FLOAT_TEXT.test(raw.trim())) {
        const n = Number(raw.trim());
        if (Number.isFinite(n)) {
          ctx.notes.push(`${f.path}: number given as string ${show(raw)} converted`);
          return n;
        }
      }
      throw fieldError(ctx, f, `must be a number, got ${show(raw)}`);
    }
    case 'bool': {
      if (typeof raw === 'boolean') return raw;
      const text = typeof raw === 'string' ? raw.trim().toLowerCase() : '';
      if (text === 'true' || text === 'false') {
        ctx.notes.push(`${f.path}: boolean given as string ${show(raw)} converted`);
        return text === 'true';
      }
      throw fieldError(ctx, f, `must be a boolean, got ${show(raw)}`);
    }
    case 'enum': {
      const values = field.values ?? [];
      if (typeof raw === 'string') {
        if (values.includes(raw)) return raw;
        const lower = raw.trim().toLowerCase();
        const match = values.find((v) => v.toLowerCase() === lower);
        if (match !== undefined) {
          ctx.notes.push(`${f.path}: ${show(raw)} read as ${JSON.stringify(match)}`);
          return match;
        }
      }
      throw fieldError(ctx, f, `must be one of ${values.map((v) => JSON.stringify(v)).join(', ')}, got ${show(raw)}`);
    }
    case 'stringList': {
      if (!Array.isArray(raw)) throw fieldError(ctx, f, `must be an array of strings, got ${show(raw)}`);
      const out: string[] = [];
      for (let i = 0; i < raw.length; i++) {
        const item = raw[i];
        if (typeof item !== 'string') throw fieldError(ctx, { ...f, legacy: `${f.legacy}[${i}]` }, `must be a string, got ${show(item)}`);
        const s = cleanString(item, `${f.path}[${i}]`, ctx);
        // An empty id refers to nothing: left out of the list, and said so (a single empty id reads as absent).
        if (field.nonEmpty === true && s === '') ctx.notes.push(`${f.path}[${i}]: empty id (${f.legacy}[${i}]: "") left out`);
        else out.push(s);
      }
      return out;
    }
    case 'metadata':
      return readJsonField(raw, f, ctx);
    case 'table': {
      if (!isObject(raw)) throw fieldError(ctx, f, `must be an object, got ${show(raw)}`);
      return readFields(field.schema!, raw, ctx, f.path, `${f.legacy}.`, false);
    }
    case 'float32Vector': {
      if (!Array.isArray(raw)) throw fieldError(ctx, f, `must be an array of numbers, got ${show(raw)}`);
      const out = new Float32Array(raw.length);
      let fromStrings = 0;
      for (let i = 0; i < raw.length; i++) {
        let x = raw[i];
        if (typeof x === 'string' && FLOAT_TEXT.test(x.trim())) {
          x = Number(x.trim());
          fromStrings++;
        }
        if (typeof x !== 'number' || !Number.isFinite(x)) {
          throw fieldError(ctx, { ...f, legacy: `${f.legacy}[${i}]` }, `must be a finite number, got ${show(raw[i])}`);
        }
        const y = Math.fround(x);
        if (!Number.isFinite(y)) throw fieldError(ctx, { ...f, legacy: `${f.legacy}[${i}]` }, `${x} is outside the float32 range`);
        out[i] = y;
      }
      if (fromStrings > 0) ctx.notes.push(`${f.path}: ${fromStrings} element(s) given as strings converted`);
      return out;
    }
    case 'bytes':
      throw fieldError(ctx, f, 'has no legacy JSON form');
  }
}

/**
 * Reads the fields of `schema` from a legacy object. `top`: this is the record itself (its id names it in later
 * messages), not a nested table.
 */
function readFields(
  schema: RecordSchema<FieldMap>,
  obj: JsonObject,
  ctx: Ctx,
  modelPrefix: string,
  legacyPrefix: string,
  top: boolean,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const consumed = new Set<string>();
  const names = schema.fieldNames;
  // The id first: it names the record in every later message.
  const order = names.includes('id') ? ['id', ...names.filter((n) => n !== 'id')] : names;
  for (const name of order) {
    const field = schema.fields[name]!;
    const snake = legacyFieldName(name);
    const f: Field = { path: `${modelPrefix}.${name}`, legacy: `${legacyPrefix}${snake}` };
    let raw: JsonValue | undefined;
    const hasSnake = Object.hasOwn(obj, snake);
    if (hasSnake) {
      raw = obj[snake];
      consumed.add(snake);
    }
    if (snake !== name && Object.hasOwn(obj, name)) {
      consumed.add(name);
      const camel = obj[name]!;
      if (!hasSnake) {
        ctx.notes.push(`${f.path}: camelCase field name "${name}" read as ${snake}`);
        raw = camel;
      } else if (jsonEqual(raw!, camel)) {
        ctx.notes.push(`${f.path}: given as both ${snake} and ${name} with the same value; read once`);
      } else {
        throw fieldError(ctx, f, `is given twice with different values (${snake}: ${show(raw)}, ${name}: ${show(camel)})`);
      }
    }
    const value = readField(field, raw, f, ctx);
    if (value !== undefined) out[name] = value;
    if (top && name === 'id') {
      const id = value as string;
      ctx.label = `${modelPrefix} ${shortId(id)}`;
      if (ctx.key !== undefined && ctx.key !== id) {
        ctx.notes.push(`${f.path}: record key ${JSON.stringify(ctx.key)} differs from the id ${JSON.stringify(id)}; the id is kept`);
      }
    }
  }
  const unknown = Object.keys(obj).filter((k) => !consumed.has(k));
  if (unknown.length > 0) {
    ctx.notes.push(`${modelPrefix}: unknown field${unknown.length > 1 ? 's' : ''} ignored: ${unknown.map((k) => `${k}=${show(obj[k])}`).join(', ')}`);
  }
  // Fields in schema order, like the binary decoder returns them.
  const ordered: Record<string, unknown> = {};
  for (const name of names) if (Object.hasOwn(out, name)) ordered[name] = out[name];
  return ordered;
}

function newCtx(typeName: string, options: LegacyReadOptions | undefined, notes: string[]): Ctx {
  const key = typeof options?.key === 'string' && options.key !== '' ? options.key : undefined;
  return { label: `${typeName} ${key === undefined ? '(no id)' : `(key ${shortId(key)})`}`, notes, key };
}

/** Runs a reader: notes are handed out only on success; anything but a CodecError becomes one. */
function guarded<T>(options: LegacyReadOptions | undefined, read: (notes: string[]) => T): T {
  const notes: string[] = [];
  let value: T;
  try {
    value = read(notes);
  } catch (error) {
    if (error instanceof CodecError) throw error;
    let name = 'Legacy record';
    try {
      name = recordName(options);
    } catch {
      // an options.key getter that throws: the record stays unnamed
    }
    throw new CodecError('LEGACY_UNCONVERTIBLE', `${name}: cannot be read (${error instanceof Error ? error.message : String(error)}).`, {
      cause: error,
    });
  }
  const sink = options?.notes;
  if (Array.isArray(sink)) {
    try {
      appendAll(sink, notes);
    } catch (error) {
      throw new CodecError('INVALID_INPUT', 'options.notes must be an array the reader can append to (this one is frozen or sealed).', { cause: error });
    }
  }
  return value;
}

/** Appends `items` one by one: a spread passes them as arguments, and a record with ~100k notes overflows the stack. */
function appendAll<T>(to: T[], items: readonly T[]): void {
  for (const item of items) to.push(item);
}

/** `s` without JSON's whitespace (space, tab, line feed, carriage return) at either end; linear (a regex is not). */
function trimJsonWhitespace(s: string): string {
  const isSpace = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
  let start = 0;
  let end = s.length;
  while (start < end && isSpace(s.charCodeAt(start))) start++;
  while (end > start && isSpace(s.charCodeAt(end - 1))) end--;
  return start === 0 && end === s.length ? s : s.slice(start, end);
}

const TYPE_BY_LOOSE_NAME = new Map<string, NodeType>(NODE_TYPES.map((type) => [type.toLowerCase(), type]));

/** The node type a tag names: exactly, or (`exact: false`) in another case or snake_case. */
function nodeTypeOfTag(tag: string): { type: NodeType; exact: boolean } | undefined {
  if (Object.hasOwn(NODE_SCHEMAS, tag)) return { type: tag as NodeType, exact: true };
  const type = TYPE_BY_LOOSE_NAME.get(tag.replace(/[_\s-]/g, '').toLowerCase());
  return type === undefined ? undefined : { type, exact: false };
}

/** The node-type keys of a top-level object. */
function nodeTags(root: JsonObject): { tag: string; type: NodeType; exact: boolean }[] {
  const tags: { tag: string; type: NodeType; exact: boolean }[] = [];
  for (const tag of Object.keys(root)) {
    const t = nodeTypeOfTag(tag);
    if (t !== undefined) tags.push({ tag, ...t });
  }
  return tags;
}

/** An internally tagged node's type (`{"type": "Message", ...}`). */
function internalTag(root: JsonObject): { type: NodeType; exact: boolean } | undefined {
  const type = root.type;
  return typeof type === 'string' ? nodeTypeOfTag(type) : undefined;
}

/**
 * Finds the node in a top-level object: exactly one exact node type key; else an internal `type` tag; else exactly
 * one node type key in another spelling whose value is an object (a loose key holding a scalar is no tag: a Log's
 * own `message` field must not read as a Message).
 */
function nodeFromObject(root: JsonObject, options: LegacyReadOptions | undefined, notes: string[], what: string): Node {
  const tags = nodeTags(root);
  const exact = tags.filter((t) => t.exact);
  const loose = tags.filter((t) => !t.exact && isObject(root[t.tag]));
  const internal = exact.length === 0 ? internalTag(root) : undefined;
  let type: NodeType;
  let inner: JsonValue;
  if (exact.length > 1 || (exact.length === 0 && internal === undefined && loose.length > 1)) {
    const many = exact.length > 1 ? exact : loose;
    throw unconvertible(`${what}: more than one node type key (${many.map((t) => t.tag).join(', ')}); a node has exactly one.`, 'type');
  }
  const tag = exact[0] ?? (internal === undefined ? loose[0] : undefined);
  if (tag !== undefined) {
    type = tag.type;
    inner = root[tag.tag]!;
    if (!tag.exact) notes.push(`${type}: node type key ${JSON.stringify(tag.tag)} read as ${type}`);
    const others = Object.keys(root).filter((k) => k !== tag.tag);
    if (others.length > 0) {
      notes.push(`${type}: unknown top-level key${others.length > 1 ? 's' : ''} beside the node type ignored: ${others.map((k) => `${k}=${show(root[k])}`).join(', ')}`);
    }
  } else if (internal !== undefined) {
    type = internal.type;
    const { type: _tag, ...rest } = root;
    inner = rest;
    notes.push(`${type}: internally tagged node ("type": ${JSON.stringify(root.type)}) read as externally tagged`);
  } else {
    const keys = Object.keys(root);
    throw unconvertible(
      `${what}: unknown node type: expected an object with one key, one of ${NODE_TYPES.join(', ')}; got ${keys.length === 0 ? 'no keys' : `key${keys.length > 1 ? 's' : ''} ${keys.slice(0, 10).map((k) => JSON.stringify(k)).join(', ')}`}.`,
      'type',
    );
  }
  const ctx = newCtx(type, options, notes);
  if (!isObject(inner)) throw unconvertible(`${ctx.label}: the value of the node type key must be an object, got ${show(inner)}.`, type);
  return { type, ...readFields(NODE_SCHEMAS[type] as unknown as RecordSchema<FieldMap>, inner, ctx, type, '', true) } as Node;
}

/**
 * Reads a legacy node (`{"Message": {...}}`, one value of the `nodes` sublevel).
 * Throws `CodecError('LEGACY_UNCONVERTIBLE')` naming the record and field when it cannot be converted.
 */
export function parseLegacyNode(input: Uint8Array | string, options?: LegacyReadOptions): Node {
  return guarded(options, (notes) => {
    const what = recordName(options);
    return nodeFromObject(readTopObject(input, what, notes), options, notes, what);
  });
}

/**
 * Reads a legacy record of any schema whose fields are stored snake_case at the top level (edges, embeddings,
 * and any record declared with `defineRecord`). `typeName` names it in messages (default: the schema's name).
 */
export function parseLegacyRecord<F extends FieldMap>(
  schema: RecordSchema<F>,
  input: Uint8Array | string,
  options?: LegacyReadOptions,
): RecordOf<RecordSchema<F>> {
  return guarded(options, (notes) => {
    const root = readTopObject(input, recordName(options), notes);
    return readFields(schema as unknown as RecordSchema<FieldMap>, root, newCtx(schema.name, options, notes), schema.name, '', true) as RecordOf<
      RecordSchema<F>
    >;
  });
}

/** Reads a legacy edge (`{"id", "from_node", "to_node", "edge_type", "created_at", "metadata"}`). */
export function parseLegacyEdge(input: Uint8Array | string, options?: LegacyReadOptions): Edge {
  return parseLegacyRecord(EdgeSchema, input, options);
}

/** Reads a legacy embedding (`{"id", "vector": [numbers], "model", "source_text"?}`); the vector becomes a Float32Array. */
export function parseLegacyEmbedding(input: Uint8Array | string, options?: LegacyReadOptions): Embedding {
  return parseLegacyRecord(EmbeddingSchema, input, options);
}

/**
 * Reads a legacy value without knowing its sublevel, deciding by shape: an object with one node-type key (or a
 * `type` naming one) is a node; one with `from_node`/`to_node` an edge; one with `vector` an embedding.
 */
export function parseLegacyAny(input: Uint8Array | string, options?: LegacyReadOptions): LegacyRecord {
  return guarded(options, (notes): LegacyRecord => {
    const what = recordName(options);
    const root = readTopObject(input, what, notes);
    const tags = nodeTags(root);
    const edgeLike = ['from_node', 'to_node', 'fromNode', 'toNode'].some((k) => Object.hasOwn(root, k));
    const embeddingLike = Object.hasOwn(root, 'vector');
    // An exact node type key holding an object, or a `type` naming a node type exactly, is a node (an unknown extra
    // field of it might be called "vector" or "from_node"); then the edge and embedding shapes (an unknown extra
    // field of an edge might be called "message"); then the looser node shapes.
    if (tags.some((t) => t.exact && isObject(root[t.tag])) || internalTag(root)?.exact === true) {
      return { kind: 'node', value: nodeFromObject(root, options, notes, what) };
    }
    if (edgeLike && !embeddingLike) {
      const schema = EdgeSchema as unknown as RecordSchema<FieldMap>;
      return { kind: 'edge', value: readFields(schema, root, newCtx('Edge', options, notes), 'Edge', '', true) as Edge };
    }
    if (embeddingLike && !edgeLike) {
      const schema = EmbeddingSchema as unknown as RecordSchema<FieldMap>;
      return { kind: 'embedding', value: readFields(schema, root, newCtx('Embedding', options, notes), 'Embedding', '', true) as Embedding };
    }
    if (!edgeLike && (tags.some((t) => t.exact || isObject(root[t.tag])) || internalTag(root) !== undefined)) {
      return { kind: 'node', value: nodeFromObject(root, options, notes, what) };
    }
    const keys = Object.keys(root);
    throw unconvertible(
      `${what}: cannot tell whether it is a node, an edge or an embedding (${edgeLike ? 'it has both from_node/to_node and vector' : `keys: ${keys.length === 0 ? 'none' : keys.slice(0, 10).join(', ')}`}).`,
    );
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Writing records
// ---------------------------------------------------------------------------------------------------------------

const utf8Encoder = new TextEncoder();

/** A number as JSON text (`-0` kept). */
const numberText = (n: number): string => (Object.is(n, -0) ? '-0' : String(n));

/**
 * The shortest decimal that reads back (through Math.fround) to the float32 `x`, as a float32 writer (ryu) prints
 * it. Binary search over the digit count (9 always suffices); every answer is checked, so at worst (the rare
 * non-monotonic case at a power of two) it is a digit longer than needed, never wrong.
 */
function float32Text(x: number): string {
  if (x === 0) return numberText(x);
  let lo = 1;
  let hi = 9;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (Math.fround(Number(x.toPrecision(mid))) === x) hi = mid;
    else lo = mid + 1;
  }
  const candidate = Number(x.toPrecision(lo));
  return String(Math.fround(candidate) === x ? candidate : x); // x itself always reads back: it is a float32 value
}

/** A string as JSON text; `wellFormed`: reject lone surrogates (record string fields), else escape them (metadata). */
function writeString(s: unknown, path: string, nonEmpty: boolean, wellFormed = true): string {
  if (typeof s !== 'string') throw invalidOutput(path, 'a string', s);
  if (nonEmpty && s === '') throw new CodecError('INVALID_INPUT', `${path} must not be empty.`, { path });
  if (wellFormed && !isWellFormed(s)) throw new CodecError('INVALID_INPUT', `${path} contains a lone UTF-16 surrogate, which UTF-8 cannot represent.`, { path });
  return JSON.stringify(s);
}

/** A JSON value as JSON text; `ancestors` are the arrays and objects around it (for the depth limit and cycles). */
function writeJson(value: unknown, path: string, ancestors: object[]): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw invalidOutput(path, 'a finite number (JSON has no NaN or Infinity)', value);
      return numberText(value);
    case 'string':
      return writeString(value, path, false, false);
    case 'object': {
      if (ancestors.includes(value)) {
        throw new CodecError('INVALID_INPUT', `${path} is a circular reference: the value contains itself and JSON must be a tree; remove the cycle.`, {
          path,
        });
      }
      if (ancestors.length >= MAX_METADATA_DEPTH) {
        throw new CodecError('INVALID_INPUT', `${path} nests deeper than ${MAX_METADATA_DEPTH} levels.`, { path });
      }
      const parts: string[] = [];
      if (Array.isArray(value)) {
        ancestors.push(value);
        for (let i = 0; i < value.length; i++) parts.push(writeJson(value[i], `${path}[${i}]`, ancestors));
        ancestors.pop();
        return `[${parts.join(',')}]`;
      }
      // The binary codec's rule: anything else (a class instance, an object inheriting enumerable keys) would lose data.
      if (!isPlainJsonObject(value)) throw invalidOutput(path, 'a JSON value (a plain object)', value);
      ancestors.push(value);
      for (const key of Object.keys(value)) {
        const v = (value as Record<string, unknown>)[key];
        const keyText = writeString(key, `${path} key`, false, false);
        parts.push(`${keyText}:${writeJson(v, `${path}.${key}`, ancestors)}`);
      }
      ancestors.pop();
      return `{${parts.join(',')}}`;
    }
    default:
      throw invalidOutput(path, 'a JSON value', value);
  }
}

function writeInteger(value: unknown, path: string, min: number, max: number, expected: string): string {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw invalidOutput(path, expected, value);
  return numberText(value);
}

function writeField(field: FieldKind<unknown>, value: unknown, path: string): string {
  switch (field.kind) {
    case 'string':
      return writeString(value, path, field.nonEmpty === true);
    case 'safeInt':
      return writeInteger(value, path, -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, 'a safe integer (|n| < 2^53)');
    case 'int32':
      return writeInteger(value, path, -0x80000000, 0x7fffffff, 'a 32-bit signed integer');
    case 'uint32':
      return writeInteger(value, path, 0, 0xffffffff, 'a 32-bit unsigned integer');
    case 'float64':
      if (typeof value !== 'number' || !Number.isFinite(value)) throw invalidOutput(path, 'a finite number', value);
      return numberText(value);
    case 'bool':
      if (typeof value !== 'boolean') throw invalidOutput(path, 'a boolean', value);
      return value ? 'true' : 'false';
    case 'enum':
      if (typeof value !== 'string' || !(field.values ?? []).includes(value)) {
        throw invalidOutput(path, `one of ${(field.values ?? []).map((v) => JSON.stringify(v)).join(', ')}`, value);
      }
      return JSON.stringify(value);
    case 'stringList':
      if (!Array.isArray(value)) throw invalidOutput(path, 'an array of strings', value);
      return `[${value.map((s, i) => writeString(s, `${path}[${i}]`, field.nonEmpty === true)).join(',')}]`;
    case 'metadata':
      return writeJson(value, path, []);
    case 'table':
      return writeObject(field.schema!, value, path);
    case 'float32Vector': {
      if (!(value instanceof Float32Array)) throw invalidOutput(path, 'a Float32Array', value);
      const parts = new Array<string>(value.length);
      for (let i = 0; i < value.length; i++) {
        const x = value[i]!;
        if (!Number.isFinite(x)) throw invalidOutput(`${path}[${i}]`, 'a finite number (JSON has no NaN or Infinity)', x);
        parts[i] = float32Text(x);
      }
      return `[${parts.join(',')}]`;
    }
    case 'bytes':
      throw new CodecError('INVALID_INPUT', `${path}: bytes fields have no legacy JSON form.`, { path });
  }
}

function writeObject(schema: RecordSchema<FieldMap>, obj: unknown, path: string): string {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw invalidOutput(path, 'an object', obj);
  const parts: string[] = [];
  for (const name of schema.fieldNames) {
    const field = schema.fields[name]!;
    const value = (obj as Record<string, unknown>)[name];
    const fieldPath = `${path}.${name}`;
    let text: string;
    if (value === undefined) {
      if (!field.optional) throw new CodecError('INVALID_INPUT', `${fieldPath} is required.`, { path: fieldPath });
      text = 'null';
    } else {
      text = writeField(field, value, fieldPath);
    }
    parts.push(`${JSON.stringify(legacyFieldName(name))}:${text}`);
  }
  return `{${parts.join(',')}}`;
}

function guardedWrite(what: string, write: () => string): Uint8Array {
  try {
    return utf8Encoder.encode(write());
  } catch (error) {
    if (error instanceof CodecError) throw error;
    throw new CodecError('INVALID_INPUT', `${what} cannot be written as legacy JSON (${error instanceof Error ? error.message : String(error)}).`, {
      cause: error,
    });
  }
}

/** The legacy JSON text of a record of any schema (snake_case fields at the top level, absent optionals as null). */
export function toLegacyRecord<F extends FieldMap>(schema: RecordSchema<F>, record: RecordOf<RecordSchema<F>>): Uint8Array {
  return guardedWrite(schema.name, () => writeObject(schema as unknown as RecordSchema<FieldMap>, record, schema.name));
}

/**
 * A node as legacy JSON bytes: `{"<type>": {snake_case fields}}`. Throws CodecError INVALID_INPUT (UNKNOWN_TYPE for
 * an unknown `type`) when the node does not fit its schema.
 */
export function toLegacyNode(node: Node): Uint8Array {
  return guardedWrite('Node', () => {
    if (typeof node !== 'object' || node === null) throw invalidOutput('Node', 'an object with a type', node);
    const type = (node as { type?: unknown }).type;
    if (typeof type !== 'string' || !Object.hasOwn(NODE_SCHEMAS, type)) {
      throw new CodecError('UNKNOWN_TYPE', `Unknown node type ${show(type)}; expected one of ${NODE_TYPES.join(', ')}.`, { path: 'type' });
    }
    const schema = NODE_SCHEMAS[type as NodeType] as unknown as RecordSchema<FieldMap>;
    return `{${JSON.stringify(type)}:${writeObject(schema, node, type)}}`;
  });
}

/** An edge as legacy JSON bytes. */
export function toLegacyEdge(edge: Edge): Uint8Array {
  return toLegacyRecord(EdgeSchema, edge);
}

/** An embedding as legacy JSON bytes; vector elements as the shortest decimals that read back to the same float32. */
export function toLegacyEmbedding(embedding: Embedding): Uint8Array {
  return toLegacyRecord(EmbeddingSchema, embedding);
}
