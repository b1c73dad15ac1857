/**
 * The codec benchmark's cases, shared by the Node run (bench/codec.ts) and the Chromium page (bench/codec/page.ts),
 * so both measure exactly the same operations on the same records. Nothing here touches Node APIs.
 */
import { Packr } from 'msgpackr';
import { decodeRecord, defineRecord, encodeRecord, fieldReader, MessageSchema, t, viewRecord, type RecordOf } from '@tabstore/sdk';
import type { Target } from '../harness.js';

/** The Message plus its 384-d embedding in the same record. */
const MessageWithEmbedding = defineRecord({
  name: 'MessageWithEmbedding',
  typeId: 990,
  version: 1,
  fields: { ...MessageSchema.fields, embedding: t.float32Vector() },
});
type MessageRecord = RecordOf<typeof MessageSchema>;
type MessageWithEmbeddingRecord = RecordOf<typeof MessageWithEmbedding>;

function message(): MessageRecord {
  const words = ['travel', 'paris', 'museum', 'train', 'hotel', 'dinner', 'tomorrow', 'budget', 'weather', 'ticket'];
  let text = '';
  for (let i = 0; text.length < 800; i++) text += `${words[(i * 7) % words.length]} `;
  return {
    id: 'msg_01HZX3Y7Q8K2' as MessageRecord['id'],
    chatId: 'chat_01HZX3Y7Q8' as MessageRecord['chatId'],
    sender: 'assistant',
    timestamp: 1_700_000_123_456,
    textContent: text.slice(0, 800),
    attachmentIds: ['att_01HZX3Y7Q8K2A', 'att_01HZX3Y7Q8K2B'] as MessageRecord['attachmentIds'],
    metadata: {
      model: 'llama-3.1-8b-instruct',
      tokens: 812,
      temperature: 0.7,
      tags: ['travel', 'plans', '2024'],
      source: { url: 'https://example.com/paris/guide', title: 'Paris guide' },
      flags: { starred: true, pinned: false },
      votes: [3, -1],
      lang: 'en',
    },
  };
}

/** One timed case: `run(n)` performs n operations. */
export interface CodecCase {
  case: string;
  subject: string;
  ops: number;
  run: (n: number) => void;
}

/** An encoded size, reported as a row whose "ops/s" is 1/bytes so the ratio column reads as relative compactness. */
export interface CodecSize {
  case: string;
  subject: string;
  bytes: number;
}

/** What one round measures. */
export interface CodecSuite {
  cases: CodecCase[];
  sizes: CodecSize[];
  /** True when the embedding view shares the record's buffer (no copy). */
  embeddingIsView: boolean;
  /** A value every case feeds, so no loop is optimised away. */
  checksum(): number;
}

/** Results feed this so no loop is optimised away; loops add into a local and publish once (no boxing per op). */
let sink = 0;

/** The records, encoders and encoded samples every round shares (as one app would keep one Packr). */
function makeFixtures() {
  const plain = message();
  const vector = Float32Array.from({ length: 384 }, (_, i) => Math.sin(i) / 3);
  const withEmbedding: MessageWithEmbeddingRecord = { ...plain, embedding: vector };
  // What JSON and msgpackr store: the same objects (the vector as a plain array for JSON, as it would need to stay
  // portable; msgpackr gets the Float32Array as its typed-array extension).
  const asJson = { plain, withEmbedding: { ...plain, embedding: Array.from(vector) } };
  // moreTypes: without it msgpackr packs a Float32Array as raw bytes and unpacks a Buffer over the input (1536
  // bytes, not 384 floats): not the same value back. With it, both sides return a Float32Array.
  const packr = new Packr({ useRecords: true, structures: [], moreTypes: true });
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  const samples = {
    plain: {
      tabstore: encodeRecord(MessageSchema, plain).slice(),
      json: enc.encode(JSON.stringify(asJson.plain)),
      msgpackr: packr.pack(plain),
    },
    embedding: {
      tabstore: encodeRecord(MessageWithEmbedding, withEmbedding).slice(),
      json: enc.encode(JSON.stringify(asJson.withEmbedding)),
      msgpackr: packr.pack(withEmbedding),
    },
  };
  return { plain, withEmbedding, asJson, packr, enc, dec, samples };
}
let fixtures: ReturnType<typeof makeFixtures> | undefined;

/**
 * The cases of round `round`, `iterations` operations each (a twentieth for JSON with a vector). Call it once per
 * round: each round gets fresh closures, as each subject gets the same treatment. Rounds alternate which record goes
 * first: V8 measurably slows whichever record's closures run first once the second record's arrive (one timestamp
 * read: ~48 ns first, ~22 ns second, either record), and the best of the rounds should not depend on that order.
 */
export function codecSuite(iterations: number, round = 0): CodecSuite {
  const { plain, withEmbedding, asJson, packr, enc, dec, samples } = (fixtures ??= makeFixtures());
  const cases: CodecCase[] = [];
  const add = (caseName: string, subject: string, ops: number, run: (n: number) => void): void => {
    cases.push({ case: caseName, subject, ops, run });
  };
  for (const name of round % 2 === 0 ? (['plain', 'embedding'] as const) : (['embedding', 'plain'] as const)) {
    const s = samples[name];
    const label = labelOf(name);
    const object = name === 'plain' ? plain : withEmbedding;
    const jsonObject = asJson[name === 'plain' ? 'plain' : 'withEmbedding'];
    const schema = (name === 'plain' ? MessageSchema : MessageWithEmbedding) as typeof MessageSchema;
    // JSON with a 384-d vector costs ~40 us per op: a twentieth of the iterations measures it as well.
    const jsonOps = name === 'embedding' ? iterations / 20 : iterations;
    add(`${label}: encode`, 'tabstore', iterations, (n) => {
      let acc = 0;
      for (let i = 0; i < n; i++) acc += encodeRecord(schema, object).length;
      sink += acc;
    });
    add(`${label}: encode`, 'msgpackr', iterations, (n) => {
      let acc = 0;
      for (let i = 0; i < n; i++) acc += packr.pack(object).length;
      sink += acc;
    });
    add(`${label}: encode`, 'JSON', jsonOps, (n) => {
      let acc = 0;
      for (let i = 0; i < n; i++) acc += enc.encode(JSON.stringify(jsonObject)).length;
      sink += acc;
    });
    add(`${label}: full decode`, 'tabstore', iterations, (n) => {
      let acc = 0;
      for (let i = 0; i < n; i++) acc += decodeRecord(schema, s.tabstore).timestamp;
      sink += acc;
    });
    add(`${label}: full decode`, 'msgpackr', iterations, (n) => {
      let acc = 0;
      for (let i = 0; i < n; i++) acc += (packr.unpack(s.msgpackr) as MessageRecord).timestamp;
      sink += acc;
    });
    add(`${label}: full decode`, 'JSON', jsonOps, (n) => {
      let acc = 0;
      for (let i = 0; i < n; i++) acc += (JSON.parse(dec.decode(s.json)) as MessageRecord).timestamp;
      sink += acc;
    });
    add(`${label}: one scalar field`, 'tabstore', iterations, (n) => {
      let acc = 0;
      for (let i = 0; i < n; i++) acc += viewRecord(schema, s.tabstore).timestamp;
      sink += acc;
    });
    const readTimestamp = fieldReader(schema, 'timestamp');
    add(`${label}: one scalar field`, 'tabstore fieldReader', iterations, (n) => {
      let acc = 0;
      for (let i = 0; i < n; i++) acc += readTimestamp(s.tabstore);
      sink += acc;
    });
    add(`${label}: one metadata key`, 'tabstore', iterations, (n) => {
      let acc = 0;
      for (let i = 0; i < n; i++) acc += viewRecord(schema, s.tabstore).metadata.get('tokens')!.toJSON() as number;
      sink += acc;
    });
    add(`${label}: one metadata key`, 'msgpackr', iterations, (n) => {
      let acc = 0;
      for (let i = 0; i < n; i++) acc += ((packr.unpack(s.msgpackr) as MessageRecord).metadata as { tokens: number }).tokens;
      sink += acc;
    });
    if (name === 'embedding') {
      add(`${label}: the embedding`, 'tabstore', iterations, (n) => {
        let acc = 0;
        for (let i = 0; i < n; i++) acc += viewRecord(MessageWithEmbedding, s.tabstore).embedding.length;
        sink += acc;
      });
      add(`${label}: the embedding`, 'msgpackr', iterations, (n) => {
        let acc = 0;
        for (let i = 0; i < n; i++) acc += (packr.unpack(s.msgpackr) as MessageWithEmbeddingRecord).embedding.length;
        sink += acc;
      });
      add(`${label}: the embedding`, 'JSON', jsonOps, (n) => {
        let acc = 0;
        for (let i = 0; i < n; i++) acc += new Float32Array((JSON.parse(dec.decode(s.json)) as { embedding: number[] }).embedding).length;
        sink += acc;
      });
    }
  }
  const sizes: CodecSize[] = [];
  for (const name of ['plain', 'embedding'] as const) {
    for (const [subject, bytes] of Object.entries(samples[name])) sizes.push({ case: `${labelOf(name)}: encoded size (bytes)`, subject, bytes: bytes.length });
  }
  const view = viewRecord(MessageWithEmbedding, samples.embedding.tabstore).embedding;
  return { cases, sizes, embeddingIsView: view.buffer === samples.embedding.tabstore.buffer, checksum: () => sink | 0 };
}

function labelOf(name: 'plain' | 'embedding'): string {
  return name === 'plain' ? 'message' : 'message+embedding';
}

/** The targets, as ratios in the same run. */
export const CODEC_TARGETS: readonly Target[] = [
  ...['message', 'message+embedding'].flatMap((label): Target[] => [
    { case: `${label}: one scalar field`, subject: 'tabstore', baseline: 'msgpackr', baselineCase: `${label}: full decode`, min: 20 },
    { case: `${label}: one scalar field`, subject: 'tabstore fieldReader', baseline: 'msgpackr', baselineCase: `${label}: full decode`, min: 20 },
    { case: `${label}: encode`, subject: 'tabstore', baseline: 'msgpackr', min: 1 },
    { case: `${label}: full decode`, subject: 'tabstore', baseline: 'msgpackr', min: 0.8 },
    { case: `${label}: encoded size (bytes)`, subject: 'tabstore', baseline: 'msgpackr', min: 1 / 1.1 },
  ]),
  { case: 'message+embedding: the embedding', subject: 'tabstore', baseline: 'JSON', min: 100 },
];
