import { Packr } from 'msgpackr';
import { decodeRecord, defineRecord, encodeRecord, fieldReader, MessageSchema, t, viewRecord, type RecordOf } from '@tabstore/sdk';
import { Report, type Target } from './harness.js';

/** Enough iterations that a 20 ns read is not mostly JIT warm-up (at 50k it was). */
const ITERATIONS = Number(process.env.BENCH_CODEC_N ?? 200_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

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

/** Results feed this so no loop is optimised away; loops add into a local and publish once (no boxing per op). */
let sink = 0;

/** Runs the codec suite; returns the targets it missed. */
export async function runCodecBench(): Promise<string[]> {
  const report = new Report('codec');
  const plain = message();
  const vector = Float32Array.from({ length: 384 }, (_, i) => Math.sin(i) / 3);
  const withEmbedding: MessageWithEmbeddingRecord = { ...plain, embedding: vector };
  // What JSON and msgpackr store: the same objects (the vector as a plain array for JSON, as msgpackr would need it
  // to stay portable; msgpackr also gets the Float32Array as its typed-array extension).
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
  process.stdout.write(`codec: ${ITERATIONS} iterations per case, best of ${ROUNDS} interleaved rounds\n`);
  /**
   * Times one case. Its closure first runs untimed on a tenth of the operations: V8 compiles the loop then, so the
   * timed run measures the code rather than JIT warm-up, which otherwise was most of a 20-50 ns operation's time
   * even at 200k iterations (the closures are new each round, so later rounds did not escape it). Every subject,
   * baselines included, gets the same warm-up.
   */
  const time = async (caseName: string, subject: string, ops: number, run: (n: number) => void): Promise<void> => {
    run(Math.max(1, Math.round(ops / 10)));
    await report.time(caseName, subject, ops, () => run(ops));
  };

  for (let round = 0; round < ROUNDS; round++) {
    for (const name of ['plain', 'embedding'] as const) {
      const s = samples[name];
      const label = name === 'plain' ? 'message' : 'message+embedding';
      const object = name === 'plain' ? plain : withEmbedding;
      const jsonObject = asJson[name === 'plain' ? 'plain' : 'withEmbedding'];
      const schema = name === 'plain' ? MessageSchema : MessageWithEmbedding;
      await time(`${label}: encode`, 'tabstore', ITERATIONS, (n) => {
        let acc = 0;
        for (let i = 0; i < n; i++) acc += encodeRecord(schema as typeof MessageSchema, object).length;
        sink += acc;
      });
      await time(`${label}: encode`, 'msgpackr', ITERATIONS, (n) => {
        let acc = 0;
        for (let i = 0; i < n; i++) acc += packr.pack(object).length;
        sink += acc;
      });
      // JSON with a 384-d vector costs ~40 us per op: a twentieth of the iterations measures it as well.
      const jsonOps = name === 'embedding' ? ITERATIONS / 20 : ITERATIONS;
      await time(`${label}: encode`, 'JSON', jsonOps, (n) => {
        let acc = 0;
        for (let i = 0; i < n; i++) acc += enc.encode(JSON.stringify(jsonObject)).length;
        sink += acc;
      });
      await time(`${label}: full decode`, 'tabstore', ITERATIONS, (n) => {
        let acc = 0;
        for (let i = 0; i < n; i++) acc += decodeRecord(schema as typeof MessageSchema, s.tabstore).timestamp;
        sink += acc;
      });
      await time(`${label}: full decode`, 'msgpackr', ITERATIONS, (n) => {
        let acc = 0;
        for (let i = 0; i < n; i++) acc += (packr.unpack(s.msgpackr) as MessageRecord).timestamp;
        sink += acc;
      });
      await time(`${label}: full decode`, 'JSON', jsonOps, (n) => {
        let acc = 0;
        for (let i = 0; i < n; i++) acc += (JSON.parse(dec.decode(s.json)) as MessageRecord).timestamp;
        sink += acc;
      });
      await time(`${label}: one scalar field`, 'tabstore', ITERATIONS, (n) => {
        let acc = 0;
        for (let i = 0; i < n; i++) acc += viewRecord(schema as typeof MessageSchema, s.tabstore).timestamp;
        sink += acc;
      });
      const readTimestamp = fieldReader(schema as typeof MessageSchema, 'timestamp');
      await time(`${label}: one scalar field`, 'tabstore fieldReader', ITERATIONS, (n) => {
        let acc = 0;
        for (let i = 0; i < n; i++) acc += readTimestamp(s.tabstore);
        sink += acc;
      });
      await time(`${label}: one metadata key`, 'tabstore', ITERATIONS, (n) => {
        let acc = 0;
        for (let i = 0; i < n; i++) {
          acc += viewRecord(schema as typeof MessageSchema, s.tabstore).metadataOf('metadata')!.get('tokens')!.toJSON() as number;
        }
        sink += acc;
      });
      await time(`${label}: one metadata key`, 'msgpackr', ITERATIONS, (n) => {
        let acc = 0;
        for (let i = 0; i < n; i++) acc += ((packr.unpack(s.msgpackr) as MessageRecord).metadata as { tokens: number }).tokens;
        sink += acc;
      });
      if (name === 'embedding') {
        await time(`${label}: the embedding`, 'tabstore', ITERATIONS, (n) => {
          let acc = 0;
        for (let i = 0; i < n; i++) acc += viewRecord(MessageWithEmbedding, s.tabstore).embedding.length;
        sink += acc;
        });
        await time(`${label}: the embedding`, 'msgpackr', ITERATIONS, (n) => {
          let acc = 0;
        for (let i = 0; i < n; i++) acc += (packr.unpack(s.msgpackr) as MessageWithEmbeddingRecord).embedding.length;
        sink += acc;
        });
        await time(`${label}: the embedding`, 'JSON', jsonOps, (n) => {
          let acc = 0;
          for (let i = 0; i < n; i++) {
            acc += new Float32Array((JSON.parse(dec.decode(s.json)) as { embedding: number[] }).embedding).length;
          }
          sink += acc;
        });
      }
    }
  }
  // Sizes, reported as rows whose "ops/s" is 1/bytes so that the ratio column reads as relative compactness.
  for (const name of ['plain', 'embedding'] as const) {
    const label = name === 'plain' ? 'message' : 'message+embedding';
    for (const [subject, bytes] of Object.entries(samples[name])) {
      report.rows.push({ suite: 'codec', case: `${label}: encoded size (bytes)`, subject, ops_per_sec: 1 / bytes.length, ns_per_op: bytes.length });
    }
  }
  const view = viewRecord(MessageWithEmbedding, samples.embedding.tabstore).embedding;
  process.stdout.write(`embedding view shares the record's buffer (no copy): ${view.buffer === samples.embedding.tabstore.buffer}\n`);

  const targets: Target[] = [];
  for (const label of ['message', 'message+embedding']) {
    targets.push(
      { case: `${label}: one scalar field`, subject: 'tabstore', baseline: 'msgpackr', baselineCase: `${label}: full decode`, min: 20 },
      { case: `${label}: one scalar field`, subject: 'tabstore fieldReader', baseline: 'msgpackr', baselineCase: `${label}: full decode`, min: 20 },
      { case: `${label}: encode`, subject: 'tabstore', baseline: 'msgpackr', min: 1 },
      { case: `${label}: full decode`, subject: 'tabstore', baseline: 'msgpackr', min: 0.8 },
      { case: `${label}: encoded size (bytes)`, subject: 'tabstore', baseline: 'msgpackr', min: 1 / 1.1 },
    );
  }
  targets.push({ case: 'message+embedding: the embedding', subject: 'tabstore', baseline: 'JSON', min: 100 });
  const missed = report.print(targets);
  process.stdout.write(`results: ${report.save()}  (checksum ${sink | 0})\n`);
  return missed;
}
