/**
 * The codec benchmark's page: the same cases as the Node run (cases.ts), measured inside Chromium with
 * performance.now(). Here msgpackr runs as every browser runs it: pure JavaScript (its native string extractor
 * exists only for Node). The Node side (bench/codec.ts) calls `runCodecBench`.
 */
import { codecSuite, type CodecSize, type CodecSuite } from './cases.js';

export interface CodecPageRow {
  case: string;
  subject: string;
  ops: number;
  ms: number;
}

export interface CodecPageResult {
  rows: CodecPageRow[];
  sizes: CodecSize[];
  embeddingIsView: boolean;
  checksum: number;
}

/** Runs every case `rounds` times in order, each after an untimed warm-up of a tenth of its operations. */
export function runCodecBench(iterations: number, rounds: number): CodecPageResult {
  const rows: CodecPageRow[] = [];
  let suite: CodecSuite | undefined;
  for (let round = 0; round < Math.max(1, rounds); round++) {
    suite = codecSuite(iterations, round);
    for (const c of suite.cases) {
      c.run(Math.max(1, Math.round(c.ops / 10)));
      const start = performance.now();
      c.run(c.ops);
      rows.push({ case: c.case, subject: c.subject, ops: c.ops, ms: performance.now() - start });
    }
  }
  const last = suite!; // any round's suite: sizes are the same in each, the checksum covers every round
  return { rows, sizes: last.sizes, embeddingIsView: last.embeddingIsView, checksum: last.checksum() };
}

(globalThis as unknown as { runCodecBench: typeof runCodecBench }).runCodecBench = runCodecBench;
