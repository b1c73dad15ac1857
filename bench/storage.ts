/**
 * `npm run bench -- storage`: the StorageManager on a generated corpus (1k chats, 100k messages, 100k 384-d
 * embeddings, 20k entities, 200k edges) on LmdbEngine in Node and IndexedDbEngine in Chromium, with baselines
 * measured in the same run: raw lmdb-js reads of the same record bytes, brute-force k-NN over one flat in-memory
 * array, and (Chromium) the one-vector-per-value design read with getAll. Writes bench/results/storage.json.
 *
 * BENCH_STORAGE_SCALE=0.1 runs a tenth of the corpus; BENCH_STORAGE_BROWSER=0 skips Chromium.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { open } from 'lmdb';
import { chromium, type Page } from 'playwright';
import { LmdbEngine } from '@tabstore/node-backend';
import { DatabaseCoordinator, STORAGE_STORES, StorageManager, encodeKey, namespaceOf } from '@tabstore/sdk';
import { decodeNode } from '@tabstore/sdk';
import { CHROMIUM, CHROMIUM_ARGS } from '../e2e/chromium-flags.js';
import { servePage } from '../e2e/page-server.js';
import { Report } from './harness.js';
import type { StorageRow } from './storage/workload.js';
import { FULL_CORPUS, checksum, corpusVector, flatKnn, flatVectors, loadCorpus, loadVectors, messageId, random, runCases, type CorpusSize } from './storage/workload.js';

const SCALE = Number(process.env.BENCH_STORAGE_SCALE ?? 1);
const BROWSER = process.env.BENCH_STORAGE_BROWSER !== '0';
const here = dirname(fileURLToPath(import.meta.url));

const size: CorpusSize = {
  ...FULL_CORPUS,
  chats: Math.max(10, Math.round(FULL_CORPUS.chats * SCALE)),
  entities: Math.max(100, Math.round(FULL_CORPUS.entities * SCALE)),
};
const MESSAGES = size.chats * size.messagesPerChat;
const ACTIVE = namespaceOf({ database: 'Conversations', tier: 'Active' });
const COUNTS = { gets: 20_000, queries: 1000, knn: 20, rounds: Number(process.env.BENCH_ROUNDS ?? 2) };

/** Absolute targets of the issue: case, subject, most ns per op. */
const LIMITS: [string, string, number][] = [
  ['getNode (message)', 'LmdbEngine', 10_000],
  ['getNode (message)', 'LmdbEngine via DatabaseCoordinator (Active tier)', 10_000],
  ['k-NN top-10 over 100k (warm)', 'LmdbEngine', 60e6],
  ['k-NN top-10 over 100k (warm)', 'IndexedDbEngine', 150e6],
  ['k-NN top-10 over 100k (cold: open + first query)', 'IndexedDbEngine', 1.5e9],
];

const log = (line: string): void => void process.stdout.write(`${line}\n`);

async function nodeSide(report: Report): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tabstore-storage-bench-'));
  try {
    let engine = await LmdbEngine.open({ path: join(dir, 'db'), stores: STORAGE_STORES });
    // The corpus lives where the coordinator keeps hot conversation data, so its Active-tier reads can be timed too.
    let manager = new StorageManager(engine, { namespace: ACTIVE });
    const small = new StorageManager(engine, { namespace: 'knn10k' });
    const loadStart = process.hrtime.bigint();
    const records = await loadCorpus(manager, size, (done, total) => {
      if (done % 40_000 === 0) process.stdout.write(`  lmdb: loaded ${done}/${total}\r`);
    });
    const loadNs = Number(process.hrtime.bigint() - loadStart);
    await report.time('corpus load (records, 1000 per tx)', 'LmdbEngine', records, () => undefined, loadNs);
    await loadVectors(small, Math.min(10_000, MESSAGES), size.dimensions);
    await engine.flush();

    await runCases(manager, small, size, (c, s, ops, run) => report.time(c, s, ops, run).then(() => undefined), 'LmdbEngine', COUNTS);
    const coordinator = new DatabaseCoordinator(engine);
    const pickForCoordinator = random(7);
    const hotIds = Array.from({ length: COUNTS.gets }, () => messageId(Math.floor(pickForCoordinator() * MESSAGES)));
    for (let round = 0; round < COUNTS.rounds; round++) {
      await report.time('getNode (message)', 'LmdbEngine via DatabaseCoordinator (Active tier)', hotIds.length, async () => {
        for (const id of hotIds) {
          const node = await coordinator.getNode(id, { type: 'Message' });
          if (node === undefined) throw new Error(`missing ${id}`);
        }
      });
    }

    // Baselines: the same record bytes read with raw lmdb-js, and decoded.
    const raw = open({ path: join(dir, 'raw'), maxDbs: 2 });
    const rawDb = raw.openDB<Uint8Array, Uint8Array>({ name: 'nodes', encoding: 'binary', keyEncoding: 'binary', cache: false });
    const pick = random(99);
    const ids = Array.from({ length: COUNTS.gets }, () => messageId(Math.floor(pick() * MESSAGES)));
    // The same record bytes under the same keys: one scan of the namespace's nodes, one raw transaction.
    const stored = await engine.scan('nodes', { prefix: encodeKey([ACTIVE]) });
    await raw.transaction(() => {
      for (const { key, value } of stored) void rawDb.put(key, value);
    });
    const keys = ids.map((id) => encodeKey([ACTIVE, id]));
    let sink = 0;
    for (let round = 0; round < COUNTS.rounds; round++) {
      await report.time('getNode (message)', 'lmdb-js getBinary (raw, no decode)', keys.length, () => {
        for (const key of keys) sink += rawDb.getBinary(key)!.length;
      });
      await report.time('getNode (message)', 'lmdb-js getBinary + decodeNode', keys.length, () => {
        for (const key of keys) sink += decodeNode(rawDb.getBinary(key)!).id.length;
      });
    }
    await raw.close();

    const flat = flatVectors(MESSAGES, size.dimensions);
    const queries = Array.from({ length: COUNTS.knn }, (_, i) => corpusVector(10_000_000 + i, size.dimensions));
    await report.time('k-NN top-10 over 100k (warm)', 'flat Float32Array in memory (brute force)', queries.length, () => {
      for (const q of queries) sink += flatKnn(flat, size.dimensions, q, 10).length;
    });

    // Cold: a new engine on the same files, first query.
    await engine.close();
    const query = corpusVector(20_000_000, size.dimensions);
    await report.time('k-NN top-10 over 100k (cold: open + first query)', 'LmdbEngine', 1, async () => {
      engine = await LmdbEngine.open({ path: join(dir, 'db'), stores: STORAGE_STORES });
      manager = new StorageManager(engine, { namespace: ACTIVE });
      sink += (await manager.searchSimilar(query, 10)).length;
    });
    await report.time('k-NN top-10 over 10k (cold: open + first query)', 'LmdbEngine', 1, async () => {
      sink += (await new StorageManager(engine, { namespace: 'knn10k' }).searchSimilar(query, 10)).length;
    });
    await engine.close();
    log(`  node side done (checksum ${(sink + checksum()) | 0})`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

interface StorageBenchPage {
  storageBench: {
    loadAndRun(size: CorpusSize, counts: typeof COUNTS): Promise<StorageRow[]>;
    coldQueries(size: CorpusSize): Promise<StorageRow[]>;
    rawLoad(count: number, dims: number): Promise<void>;
    rawCold(dims: number): Promise<StorageRow[]>;
  };
}

async function browserSide(report: Report): Promise<void> {
  const profile = await mkdtemp(join(tmpdir(), 'tabstore-storage-profile-'));
  const served = await servePage(join(here, 'storage/page.ts'));
  /** Runs `work` in a freshly launched browser on the same on-disk profile. */
  const inFreshBrowser = async <T>(work: (page: Page) => Promise<T>): Promise<T> => {
    const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS] });
    try {
      const page = await context.newPage();
      await page.goto(served.url);
      await page.waitForFunction(() => 'storageBench' in globalThis);
      return await work(page);
    } finally {
      await context.close();
    }
  };
  const add = async (rows: StorageRow[]): Promise<void> => {
    for (const row of rows) await report.time(row.case, row.subject, row.ops, () => undefined, row.ms * 1e6);
  };
  try {
    log('  chromium: loading the corpus into IndexedDB ...');
    await add(
      await inFreshBrowser(async (page) => {
        const timer = setInterval(() => {
          void page.evaluate(() => (globalThis as { progress?: string }).progress).then((p) => p && process.stdout.write(`  chromium: loaded ${p}\r`), () => undefined);
        }, 10_000);
        try {
          return await page.evaluate(([s, c]) => (globalThis as unknown as StorageBenchPage).storageBench.loadAndRun(s!, c!), [size, COUNTS] as const);
        } finally {
          clearInterval(timer);
        }
      }),
    );
    await add(await inFreshBrowser((page) => page.evaluate((s) => (globalThis as unknown as StorageBenchPage).storageBench.coldQueries(s), size)));
    await inFreshBrowser((page) => page.evaluate(([n, d]) => (globalThis as unknown as StorageBenchPage).storageBench.rawLoad(n!, d!), [MESSAGES, size.dimensions] as const));
    await add(await inFreshBrowser((page) => page.evaluate((d) => (globalThis as unknown as StorageBenchPage).storageBench.rawCold(d), size.dimensions)));
  } finally {
    await served.close();
    await rm(profile, { recursive: true, force: true });
  }
}

/** Runs the storage suite; returns the targets it missed. */
export async function runStorageBench(): Promise<string[]> {
  const report = new Report('storage');
  log(`storage: ${size.chats} chats, ${MESSAGES} messages + ${size.dimensions}-d embeddings, ${size.entities} entities, ${MESSAGES * 2} edges`);
  await nodeSide(report);
  if (BROWSER) await browserSide(report);
  report.print([]);
  const missed: string[] = [];
  log('\n  absolute targets');
  for (const [c, subject, limit] of LIMITS) {
    const row = report.find(c, subject);
    if (row === undefined) {
      if (subject === 'LmdbEngine' || BROWSER) missed.push(`${c}: ${subject} not measured`);
      continue;
    }
    const ok = row.ns_per_op <= limit;
    log(`    ${ok ? 'ok  ' : 'MISS'} ${c}: ${subject} ${fmt(row.ns_per_op)} (target < ${fmt(limit)})`);
    if (!ok) missed.push(`${c}: ${subject} ${fmt(row.ns_per_op)} (target < ${fmt(limit)})`);
  }
  log(`results: ${report.save()}`);
  return missed;
}

function fmt(ns: number): string {
  return ns >= 1e6 ? `${(ns / 1e6).toFixed(1)} ms` : `${(ns / 1e3).toFixed(2)} us`;
}
