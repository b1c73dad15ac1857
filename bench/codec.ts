import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright';
import { CHROMIUM, CHROMIUM_ARGS } from '../e2e/chromium-flags.js';
import { servePage } from '../e2e/page-server.js';
import { CODEC_TARGETS, codecSuite, type CodecSize, type CodecSuite } from './codec/cases.js';
import type { CodecPageResult, runCodecBench as runInPage } from './codec/page.js';
import { Report } from './harness.js';

/** Enough iterations that a 20 ns read is not mostly JIT warm-up (at 50k it was). */
const ITERATIONS = Number(process.env.BENCH_CODEC_N ?? 200_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/** BENCH_CODEC_BROWSER=0 skips the Chromium half. */
const IN_BROWSER = process.env.BENCH_CODEC_BROWSER !== '0';
const here = dirname(fileURLToPath(import.meta.url));

/**
 * Runs the codec suite in Node (msgpackr as installed: with its native string extractor when msgpackr-extract
 * loads), then the same cases in headless Chromium (msgpackr in pure JavaScript, as in every browser); returns the
 * targets either run missed.
 */
export async function runCodecBench(): Promise<string[]> {
  const missed = await runInNode();
  if (IN_BROWSER) missed.push(...(await runInChromium()));
  return missed;
}

async function runInNode(): Promise<string[]> {
  const report = new Report('codec');
  process.stdout.write(`codec (Node): ${ITERATIONS} iterations per case, best of ${ROUNDS} interleaved rounds\n`);
  let suite: CodecSuite | undefined;
  for (let round = 0; round < Math.max(1, ROUNDS); round++) {
    suite = codecSuite(ITERATIONS, round);
    for (const c of suite.cases) {
      // Each closure first runs untimed on a tenth of its operations: V8 compiles the loop then, so the timed run
      // measures the code rather than JIT warm-up (most of a 20-50 ns operation's time even at 200k iterations).
      // Every subject, baselines included, gets the same warm-up.
      c.run(Math.max(1, Math.round(c.ops / 10)));
      await report.time(c.case, c.subject, c.ops, () => c.run(c.ops));
    }
  }
  // Sizes and the embedding check are the same in every round; the checksum covers every round's results. Any
  // round's suite gives them (the loop runs at least once).
  const last = suite!;
  addSizes(report, last.sizes);
  process.stdout.write(`embedding view shares the record's buffer (no copy): ${last.embeddingIsView}\n`);
  const missed = report.print(CODEC_TARGETS);
  process.stdout.write(`results: ${report.save()}  (checksum ${last.checksum()})\n`);
  return missed.map((m) => `Node: ${m}`);
}

async function runInChromium(): Promise<string[]> {
  const report = new Report('codec-chromium');
  const served = await servePage(join(here, 'codec/page.ts'));
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS] });
  let result: CodecPageResult;
  try {
    const page = await browser.newPage();
    await page.goto(served.url);
    await page.waitForFunction(() => 'runCodecBench' in globalThis);
    process.stdout.write(`\ncodec (Chromium ${browser.version()}): ${ITERATIONS} iterations per case, best of ${ROUNDS} rounds\n`);
    result = await page.evaluate(
      ([n, rounds]) => (globalThis as unknown as { runCodecBench: typeof runInPage }).runCodecBench(n!, rounds!),
      [ITERATIONS, ROUNDS],
    );
  } finally {
    await browser.close();
    await served.close();
  }
  for (const row of result.rows) await report.time(row.case, row.subject, row.ops, () => undefined, row.ms * 1e6);
  addSizes(report, result.sizes);
  process.stdout.write(`embedding view shares the record's buffer (no copy): ${result.embeddingIsView}\n`);
  const missed = report.print(CODEC_TARGETS);
  process.stdout.write(`results: ${report.save()}  (checksum ${result.checksum})\n`);
  return missed.map((m) => `Chromium: ${m}`);
}

function addSizes(report: Report, sizes: readonly CodecSize[]): void {
  for (const s of sizes) report.rows.push({ suite: report.suite, case: s.case, subject: s.subject, ops_per_sec: 1 / s.bytes, ns_per_op: s.bytes });
}
