import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, defaultClientConditions } from 'vite';
import { chromium } from 'playwright';
import { CHROMIUM, CHROMIUM_ARGS } from '../e2e/chromium-flags.js';
import { Report, type Target } from './harness.js';
import type { PageRow, runBrowserBench } from './browser/page.js';

const N = Number(process.env.BENCH_BROWSER_N ?? 10_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const here = dirname(fileURLToPath(import.meta.url));

/** Bundles the page with Vite and serves it on a loopback port (IndexedDB needs a real origin). */
async function servePage(dir: string): Promise<{ url: string; server: Server }> {
  await build({
    configFile: false,
    logLevel: 'warn',
    resolve: { conditions: ['@tabstore/source', ...defaultClientConditions] },
    build: {
      outDir: dir,
      emptyOutDir: true,
      target: 'chrome120',
      lib: { entry: join(here, 'browser/page.ts'), formats: ['es'], fileName: () => 'page.js' },
    },
  });
  const html = '<!doctype html><meta charset="utf-8"><title>tabstore bench</title><script type="module" src="/page.js"></script>';
  const script = await readFile(join(dir, 'page.js'));
  const server = createServer((request, response) => {
    if (request.url === '/page.js') {
      response.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
    } else {
      response.writeHead(200, { 'content-type': 'text/html' }).end(html);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { url: `http://127.0.0.1:${address.port}/`, server };
}

/** Runs the browser suite in headless Chromium; returns the targets it missed. */
export async function runBrowserBenchSuite(): Promise<string[]> {
  const report = new Report('browser');
  const dir = await mkdtemp(join(tmpdir(), 'tabstore-bench-page-'));
  const profile = await mkdtemp(join(tmpdir(), 'tabstore-bench-profile-'));
  const { url, server } = await servePage(dir);
  // A persistent profile: IndexedDB on disk, as users have it (an off-the-record context keeps it in memory).
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS] });
  try {
    const page = await context.newPage();
    await page.goto(url);
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
    server.close();
    await rm(dir, { recursive: true, force: true });
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
