import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright';
import { CHROMIUM, CHROMIUM_ARGS } from '../e2e/chromium-flags.js';
import { servePage } from '../e2e/page-server.js';
import { Report, type Target } from './harness.js';
import type { PageRow, runBrowserBench } from './browser/page.js';

const N = Number(process.env.BENCH_BROWSER_N ?? 10_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const here = dirname(fileURLToPath(import.meta.url));

/** Runs the browser suite in headless Chromium; returns the targets it missed. */
export async function runBrowserBenchSuite(): Promise<string[]> {
  const report = new Report('browser');
  const profile = await mkdtemp(join(tmpdir(), 'tabstore-bench-profile-'));
  const served = await servePage(join(here, 'browser/page.ts'));
  // A persistent profile: IndexedDB on disk, as users have it (an off-the-record context keeps it in memory).
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS] });
  try {
    const page = await context.newPage();
    await page.goto(served.url);
    await page.waitForFunction(() => 'runBrowserBench' in globalThis);
    process.stdout.write(`browser: ${N} values of ~1.2 KB in headless Chromium, best of ${ROUNDS} interleaved rounds\n`);
    const rows: PageRow[] = await page.evaluate(
      ([n, rounds]) => (globalThis as unknown as { runBrowserBench: typeof runBrowserBench }).runBrowserBench(n!, rounds!),
      [N, ROUNDS],
    );
    for (const row of rows) {
      if (row.case === 'checksum') continue;
      await report.time(row.case, row.subject, row.ops, () => undefined, row.ms * 1e6);
    }
  } finally {
    await context.close();
    await served.close();
    await rm(profile, { recursive: true, force: true });
  }
  const bulk = (d: string): string => `bulk put ${N} in one tx (${d})`;
  const targets: Target[] = [
    { case: bulk('relaxed'), subject: 'IndexedDbEngine', baseline: 'idb (raw)', min: 0.8 },
    { case: bulk('strict'), subject: 'IndexedDbEngine', baseline: 'idb (raw)', min: 0.8 },
    { case: '1000 gets, one tx each', subject: 'IndexedDbEngine', baseline: 'idb (raw)', min: 0.8 },
    { case: '1000 gets in one tx', subject: 'IndexedDbEngine', baseline: 'idb (raw)', min: 0.8 },
    { case: 'getMany of 1000', subject: 'IndexedDbEngine', baseline: 'idb (raw)', min: 0.8 },
    { case: 'full scan', subject: 'IndexedDbEngine', baseline: 'idb (raw) cursor', min: 1 },
    { case: 'full scan', subject: 'IndexedDbEngine', baseline: 'idb (raw) paged getAll', min: 1 },
  ];
  const missed = report.print(targets);
  process.stdout.write(`results: ${report.save()}\n`);
  return missed;
}
