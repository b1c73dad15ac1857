/**
 * The storage benchmark's page: the same corpus and cases as in Node, on IndexedDbEngine in Chromium, plus the
 * one-vector-per-value design (raw IndexedDB, one record per embedding, read with getAll) as the cold baseline.
 * bench/storage.ts drives it, relaunching the browser between phases so "cold" means a fresh browser process.
 */
import { openDB } from 'idb';
import { STORAGE_STORES, StorageManager } from '@tabstore/sdk';
import { IndexedDbEngine } from '@tabstore/web-backend';
import { checksum, corpusVector, embeddingIdOf, loadCorpus, loadVectors, runCases, type CorpusSize, type StorageRow } from './workload.js';

const DB = 'tabstore-storage-bench';
const RAW_DB = 'raw-vectors-bench';
const SMALL = 'knn10k';

async function timed(rows: StorageRow[], c: string, subject: string, ops: number, run: () => Promise<void>): Promise<void> {
  const start = performance.now();
  await run();
  rows.push({ case: c, subject, ops, ms: performance.now() - start });
}

/** Phase 1: load the corpus, run the warm cases. */
async function loadAndRun(size: CorpusSize, counts: { gets: number; queries: number; knn: number; rounds: number }): Promise<StorageRow[]> {
  const rows: StorageRow[] = [];
  const engine = await IndexedDbEngine.open({ name: DB, stores: STORAGE_STORES });
  const manager = new StorageManager(engine);
  const small = new StorageManager(engine, { namespace: SMALL });
  let records = 0;
  const loadStart = performance.now();
  records = await loadCorpus(manager, size, (done, total) => {
    (globalThis as { progress?: string }).progress = `${done}/${total}`;
  });
  rows.push({ case: 'corpus load (records, 1000 per tx)', subject: 'IndexedDbEngine', ops: records, ms: performance.now() - loadStart });
  await loadVectors(small, Math.min(10_000, size.chats * size.messagesPerChat), size.dimensions);
  await runCases(manager, small, size, (c, s, ops, run) => timed(rows, c, s, ops, run), 'IndexedDbEngine', counts);
  await engine.close();
  return rows;
}

/** Phase 2 (fresh browser): open and run the first k-NN query over 100k and over 10k. */
async function coldQueries(size: CorpusSize): Promise<StorageRow[]> {
  const rows: StorageRow[] = [];
  const query = corpusVector(20_000_000, size.dimensions);
  await timed(rows, 'k-NN top-10 over 100k (cold: open + first query)', 'IndexedDbEngine', 1, async () => {
    const engine = await IndexedDbEngine.open({ name: DB, stores: STORAGE_STORES });
    const result = await new StorageManager(engine).searchSimilar(query, 10);
    if (result.length !== 10) throw new Error('cold query found too little');
    await engine.close();
  });
  await timed(rows, 'k-NN top-10 over 10k (cold: open + first query)', 'IndexedDbEngine', 1, async () => {
    const engine = await IndexedDbEngine.open({ name: DB, stores: STORAGE_STORES });
    const result = await new StorageManager(engine, { namespace: SMALL }).searchSimilar(query, 10);
    if (result.length !== 10) throw new Error('cold query found too little');
    await engine.close();
  });
  return rows;
}

/** Phase 3: the one-vector-per-value design, loaded (not timed as a case). */
async function rawLoad(count: number, dims: number): Promise<void> {
  const db = await openDB(RAW_DB, 1, { upgrade: (d) => void d.createObjectStore('embeddings') });
  for (let m = 0; m < count; m += 1000) {
    const tx = db.transaction('embeddings', 'readwrite', { durability: 'relaxed' });
    for (let i = m; i < Math.min(count, m + 1000); i++) void tx.store.put({ id: embeddingIdOf(i), vector: corpusVector(i, dims) }, embeddingIdOf(i));
    await tx.done;
  }
  db.close();
}

/** Phase 4 (fresh browser): the baseline's cold query: getAll of every embedding, then the same scan. */
async function rawCold(dims: number): Promise<StorageRow[]> {
  const rows: StorageRow[] = [];
  const query = corpusVector(20_000_000, dims);
  await timed(rows, 'k-NN top-10 over 100k (cold: open + first query)', 'one vector per value, getAll (raw idb)', 1, async () => {
    const db = await openDB(RAW_DB, 1);
    const all = (await db.getAll('embeddings')) as { id: string; vector: Float32Array }[];
    let best = -2;
    for (const { vector } of all) {
      let dot = 0;
      for (let d = 0; d < dims; d++) dot += query[d]! * vector[d]!;
      if (dot > best) best = dot;
    }
    if (all.length === 0) throw new Error('raw store is empty');
    db.close();
  });
  return rows;
}

Object.assign(globalThis, { storageBench: { loadAndRun, coldQueries, rawLoad, rawCold, checksum } });
