/**
 * The browser benchmark's page: raw `idb` against IndexedDbEngine on the same data, every case measured inside the
 * page with performance.now(), in interleaved rounds. The Node side (bench/browser.ts) calls `runBrowserBench`.
 */
import { openDB, type IDBPDatabase } from 'idb';
import { IndexedDbEngine } from '@tabstore/web-backend';
import { benchKey as key, benchValues as values, shuffled } from '../data.js';

export interface PageRow {
  case: string;
  subject: string;
  ops: number;
  ms: number;
}

const STORE = 'records';
/** The same record as a structured-clone object: what apps store when they do not encode to bytes. */
function asObject(i: number, v: Uint8Array): Record<string, unknown> {
  return {
    id: `msg_${i}`,
    chatId: `chat_${i % 100}`,
    sender: i % 2 === 0 ? 'user' : 'assistant',
    timestamp: 1_700_000_000_000 + i,
    textContent: String.fromCharCode(...v.subarray(0, 800).map((b) => 97 + (b % 26))),
    attachmentIds: [`att_${i}`, `att_${i + 1}`],
    metadata: { model: 'all-MiniLM-L6-v2', tokens: v[0], tags: ['a', 'b'], nested: { score: v[1]! / 255 } },
  };
}

let sink = 0;
const use = (bytes: ArrayBuffer | Uint8Array | undefined): void => {
  if (bytes === undefined) throw new Error('benchmark read a missing key');
  sink = (sink + bytes.byteLength) | 0;
};

function deleteDatabase(name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.deleteDatabase(name);
    request.onsuccess = () => resolve();
    request.onerror = () => reject(request.error);
  });
}

/** Runs every case `rounds` times, alternating subjects; returns every measurement (the caller keeps the best). */
export async function runBrowserBench(n: number, rounds: number): Promise<PageRow[]> {
  const rows: PageRow[] = [];
  const time = async (c: string, subject: string, ops: number, run: () => Promise<void>): Promise<void> => {
    const start = performance.now();
    await run();
    rows.push({ case: c, subject, ops, ms: performance.now() - start });
  };
  const vals = values(n);
  const keys = Array.from({ length: n }, (_, i) => key(i));
  const sample = shuffled(n).slice(0, 1000).map((i) => keys[i]!);

  const rawName = 'bench-raw';
  const engineName = 'bench-engine';
  const objectName = 'bench-objects';
  for (const name of [rawName, engineName, objectName]) await deleteDatabase(name);
  const upgrade = (db: IDBPDatabase): void => {
    db.createObjectStore(STORE);
  };
  const raw = await openDB(rawName, 1, { upgrade });
  const objects = await openDB(objectName, 1, { upgrade });
  const engine = await IndexedDbEngine.open({ name: engineName, stores: [STORE] });

  for (let round = 0; round < rounds; round++) {
    const tag = `r${round}:`;
    const roundKeys = Array.from({ length: n }, (_, i) => (round === 0 ? keys[i]! : key(i, tag)));
    const order = round % 2 === 0 ? ['raw', 'engine'] : ['engine', 'raw'];
    for (const durability of ['relaxed', 'strict'] as const) {
      const c = `bulk put ${n} in one tx (${durability})`;
      // Round 0 writes the keys every read case uses; later rounds append under fresh keys.
      const writeKeys = durability === 'relaxed' ? roundKeys : roundKeys.map((_, i) => key(i, `${tag}s:`));
      for (const who of order) {
        if (who === 'raw') {
          await time(c, 'idb (raw)', n, async () => {
            const tx = raw.transaction(STORE, 'readwrite', { durability });
            const store = tx.objectStore(STORE);
            for (let i = 0; i < n; i++) void store.put(vals[i]!.buffer, writeKeys[i]!);
            await tx.done;
          });
        } else {
          await time(c, 'IndexedDbEngine', n, () =>
            engine.write(
              [STORE],
              (tx) => {
                for (let i = 0; i < n; i++) void tx.put(STORE, writeKeys[i]!, vals[i]!);
              },
              { durability },
            ),
          );
        }
      }
    }
    await time(`bulk put ${n} in one tx (relaxed)`, 'idb (raw), objects', n, async () => {
      const tx = objects.transaction(STORE, 'readwrite', { durability: 'relaxed' });
      const store = tx.objectStore(STORE);
      for (let i = 0; i < n; i++) void store.put(asObject(i, vals[i]!), roundKeys[i]!);
      await tx.done;
    });

    for (const who of order) {
      if (who === 'raw') {
        await time('1000 gets, one tx each', 'idb (raw)', 1000, async () => {
          for (const k of sample) use((await raw.get(STORE, k)) as ArrayBuffer);
        });
        await time('1000 gets in one tx', 'idb (raw)', 1000, async () => {
          const store = raw.transaction(STORE).objectStore(STORE);
          for (const k of sample) use((await store.get(k)) as ArrayBuffer);
        });
        await time('getMany of 1000', 'idb (raw)', 1000, async () => {
          const store = raw.transaction(STORE).objectStore(STORE);
          for (const v of await Promise.all(sample.map((k) => store.get(k)))) use(v as ArrayBuffer);
        });
      } else {
        await time('1000 gets, one tx each', 'IndexedDbEngine', 1000, async () => {
          for (const k of sample) use(await engine.get(STORE, k));
        });
        await time('1000 gets in one tx', 'IndexedDbEngine', 1000, () =>
          engine.read([STORE], async (tx) => {
            for (const k of sample) use(await tx.get(STORE, k));
          }),
        );
        await time('getMany of 1000', 'IndexedDbEngine', 1000, async () => {
          for (const v of await engine.getMany(STORE, sample)) use(v);
        });
      }
    }
    await time('1000 gets in one tx', 'idb (raw), objects', 1000, async () => {
      const store = objects.transaction(STORE).objectStore(STORE);
      for (const k of sample) sink = (sink + ((await store.get(k)) === undefined ? 0 : 1)) | 0;
    });

    // Full scans of the n entries written in round 0 (the rec: prefix), three raw ways and the engine.
    const range = IDBKeyRange.bound(key(0), key(n - 1));
    for (const who of order) {
      if (who === 'raw') {
        await time('full scan', 'idb (raw) cursor', n, async () => {
          let cursor = await raw.transaction(STORE).store.openCursor(range);
          while (cursor !== null) {
            use(cursor.value as ArrayBuffer);
            cursor = await cursor.continue();
          }
        });
        await time('full scan', 'idb (raw) paged getAll', n, async () => {
          const store = raw.transaction(STORE).store;
          let query: IDBKeyRange = range;
          for (;;) {
            const [ks, vs] = await Promise.all([store.getAllKeys(query, 500), store.getAll(query, 500)]);
            for (const v of vs) use(v as ArrayBuffer);
            if (ks.length < 500 || indexedDB.cmp(ks[ks.length - 1]!, key(n - 1)) >= 0) break;
            query = IDBKeyRange.bound(ks[ks.length - 1]!, key(n - 1), true, false);
          }
        });
        await time('full scan', 'idb (raw) one getAll', n, async () => {
          for (const v of await raw.transaction(STORE).store.getAll(range)) use(v as ArrayBuffer);
        });
      } else {
        await time('full scan', 'IndexedDbEngine', n, async () => {
          for (const { value } of await engine.scan(STORE, { gte: key(0), lte: key(n - 1) })) use(value);
        });
      }
    }
  }
  raw.close();
  objects.close();
  await engine.close();
  rows.push({ case: 'checksum', subject: String(sink), ops: 0, ms: 0 });
  return rows;
}

(globalThis as unknown as { runBrowserBench: typeof runBrowserBench }).runBrowserBench = runBrowserBench;
