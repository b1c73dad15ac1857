import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { open } from 'lmdb';
import { LmdbEngine, LevelEngine } from '@tabstore/node-backend';
import { MemoryEngine, type StorageEngine } from '@tabstore/sdk';
import { benchKeys as makeKeys, benchValues as makeValues, shuffled } from './data.js';
import { Report, type Target } from './harness.js';

const N = Number(process.env.BENCH_N ?? 100_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const BATCH = 1000;
const SINGLE_PUTS = 1000;
const PREFIX_SCANS = 1000;
const STORE = 'records';

let sink = 0;
const use = (bytes: Uint8Array | undefined): void => {
  if (bytes === undefined) throw new Error('benchmark read a missing key');
  sink = (sink + bytes.length + bytes[0]!) | 0;
};

/** One thing measured: how it writes, and its read cases (case name, subject label, run). */
interface Subject {
  name: string;
  batchedPuts(keys: Uint8Array[], values: Uint8Array[]): Promise<void>;
  singlePut(key: Uint8Array, value: Uint8Array): Promise<void>;
  /** Read cases: case name, subject label, number of operations one run performs, the run. */
  reads: Array<[string, string, number, () => Promise<void> | void]>;
  /** Waits until everything written is on disk (not timed). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

interface Data {
  keys: Uint8Array[];
  /** Random order of every key, for the LMDB and memory subjects. */
  order: number[];
  /** The first 20k of `order`: LevelDB gets cost ~50 us each, so they read a sample to keep the run short. */
  sample: number[];
  prefixes: Uint8Array[];
  /** Entries in the store once every write round has run: the op count of a full scan. */
  entries: number;
}

function rawLmdb(path: string, d: Data): Subject {
  const root = open({ path, maxDbs: 4 });
  const db = root.openDB<Uint8Array, Uint8Array>({ name: STORE, encoding: 'binary', keyEncoding: 'binary', cache: false });
  const view = (b: Uint8Array): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.length);
  const copy = Uint8Array.prototype.slice;
  return {
    name: 'lmdb-js (raw)',
    async batchedPuts(keys, values) {
      // lmdb-js's own batching: every put of one event turn goes into one transaction.
      for (let b = 0; b < keys.length; b += BATCH) {
        let last: Promise<boolean> | undefined;
        for (let i = b; i < b + BATCH; i++) last = db.put(keys[i]!, values[i]!);
        await last;
      }
    },
    async singlePut(key, value) {
      await db.put(key, value);
    },
    reads: [
      ['random gets (copy)', 'lmdb-js getBinaryFast+slice', N, () => {
        for (const i of d.order) {
          const fast = db.getBinaryFast(d.keys[i]!)!;
          use(copy.call(fast, 0, fast.length));
        }
      }],
      ['random gets (copy)', 'lmdb-js getBinary', N, () => {
        for (const i of d.order) use(db.getBinary(d.keys[i]!));
      }],
      ['random gets (borrow)', 'lmdb-js getBinaryFast', N, () => {
        for (const i of d.order) use(db.getBinaryFast(d.keys[i]!));
      }],
      ['full scan', 'lmdb-js (raw)', d.entries, () => {
        for (const { key, value } of db.getRange({})) sink = (sink + view(key).length + view(value).length) | 0;
      }],
      ['prefix scans of 10', 'lmdb-js (raw)', PREFIX_SCANS, () => {
        for (const prefix of d.prefixes) {
          const end = Uint8Array.from(prefix);
          end[end.length - 1]! += 1;
          for (const { value } of db.getRange({ start: prefix, end })) sink = (sink + view(value).length) | 0;
        }
      }],
    ],
    flush: async () => {
      await root.flushed;
    },
    close: () => root.close(),
  };
}

async function rawLevel(location: string, d: Data): Promise<Subject> {
  const db = new ClassicLevel<Uint8Array, Uint8Array>(location, { keyEncoding: 'view', valueEncoding: 'view' });
  const sub = db.sublevel<Uint8Array, Uint8Array>(STORE, { keyEncoding: 'view', valueEncoding: 'view' });
  await db.open();
  const name = 'classic-level (raw)';
  return {
    name,
    async batchedPuts(keys, values) {
      for (let b = 0; b < keys.length; b += BATCH) {
        const ops = [];
        for (let i = b; i < b + BATCH; i++) ops.push({ type: 'put' as const, key: keys[i]!, value: values[i]! });
        await sub.batch(ops);
      }
    },
    async singlePut(key, value) {
      await sub.put(key, value);
    },
    reads: [
      ['random gets (copy)', name, d.sample.length, async () => {
        for (const i of d.sample) use(await sub.get(d.keys[i]!));
      }],
      ['full scan', name, d.entries, async () => {
        for await (const [key, value] of sub.iterator()) sink = (sink + key.length + value.length) | 0;
      }],
      ['prefix scans of 10', name, PREFIX_SCANS, async () => {
        for (const prefix of d.prefixes) {
          const end = Uint8Array.from(prefix);
          end[end.length - 1]! += 1;
          for (const value of await sub.values({ gte: prefix, lt: end }).all()) sink = (sink + value.length) | 0;
        }
      }],
    ],
    flush: () => db.del(new Uint8Array([0xff, 0xff]), { sync: true }),
    close: () => db.close(),
  };
}

function engineSubject(name: string, engine: StorageEngine, d: Data): Subject {
  const gets = engine instanceof LevelEngine ? d.sample : d.order;
  const reads: Subject['reads'] = [
    ['random gets (copy)', name, gets.length, async () => {
      for (const i of gets) use(await engine.get(STORE, d.keys[i]!));
    }],
  ];
  if (engine instanceof LmdbEngine) {
    reads.push(['random gets (borrow)', name, N, () => {
      for (const i of d.order) engine.borrow(STORE, d.keys[i]!, use);
    }]);
  }
  reads.push(
    ['full scan', name, d.entries, async () => {
      for (const { key, value } of await engine.scan(STORE)) sink = (sink + key.length + value.length) | 0;
    }],
    ['prefix scans of 10', name, PREFIX_SCANS, async () => {
      for (const prefix of d.prefixes) for (const { value } of await engine.scan(STORE, { prefix })) sink = (sink + value.length) | 0;
    }],
  );
  return {
    name,
    async batchedPuts(keys, values) {
      for (let b = 0; b < keys.length; b += BATCH) {
        await engine.write([STORE], (tx) => {
          for (let i = b; i < b + BATCH; i++) void tx.put(STORE, keys[i]!, values[i]!);
        });
      }
    },
    singlePut: (key, value) => engine.put(STORE, key, value),
    reads,
    flush: () => engine.flush(),
    close: () => engine.close(),
  };
}

/** Runs the engines suite; returns the targets it missed. */
export async function runEnginesBench(): Promise<string[]> {
  const report = new Report('engines');
  const keys = makeKeys(N);
  const values = makeValues(N);
  const order = shuffled(N);
  const data: Data = {
    keys,
    order,
    sample: order.slice(0, 20_000),
    entries: (N + SINGLE_PUTS) * ROUNDS,
    prefixes: shuffled(N / 10).slice(0, PREFIX_SCANS).map((g) => keys[g * 10]!.subarray(0, keys[0]!.length - 1)),
  };
  const dirs: string[] = [];
  const tempDir = async (): Promise<string> => {
    const dir = await mkdtemp(join(tmpdir(), 'tabstore-bench-'));
    dirs.push(dir);
    return dir;
  };
  process.stdout.write(
    `engines: ${N} values of ~1.2 KB, keys of ${keys[0]!.length} bytes; best of ${ROUNDS} interleaved rounds per case\n` +
      'durability: lmdb-js and LmdbEngine fsync every commit; classic-level and LevelEngine use sync:false (LevelEngine default)\n',
  );

  const subjects: Subject[] = [];
  try {
    const openers: Array<() => Promise<Subject>> = [
      async () => rawLmdb(await tempDir(), data),
      async () => engineSubject('LmdbEngine', await LmdbEngine.open({ path: await tempDir(), stores: [STORE] }), data),
      async () => rawLevel(await tempDir(), data),
      async () => engineSubject('LevelEngine', await LevelEngine.open({ location: await tempDir(), stores: [STORE] }), data),
      async () => engineSubject('MemoryEngine', await MemoryEngine.open({ stores: [STORE] }), data),
    ];
    for (const openSubject of openers) subjects.push(await openSubject());
    // Every case runs in interleaved rounds (each subject once per round) and keeps each subject's best round, so
    // drift on this shared VM hits all subjects alike. Write rounds use fresh keys: every round appends.
    // Every case runs in interleaved rounds and keeps each subject's best round, so drift on this shared VM hits all
    // subjects alike. Each round starts with a different subject, and every write run is followed by an untimed
    // flush, so no subject pays for the previous one's background fsync. Write rounds use fresh keys: all append.
    const rotated = (round: number): Subject[] => subjects.map((_, i) => subjects[(i + round) % subjects.length]!);
    for (let round = 0; round < ROUNDS; round++) {
      const roundKeys = round === 0 ? keys : makeKeys(N, `r${round}:`);
      const roundSingles = makeKeys(SINGLE_PUTS, `one${round}:`);
      for (const subject of rotated(round)) {
        await report.time('batched puts (1000/txn)', subject.name, N, () => subject.batchedPuts(roundKeys, values));
        await subject.flush();
      }
      for (const subject of rotated(round)) {
        await report.time('1000 single-put txns', subject.name, SINGLE_PUTS, async () => {
          for (let i = 0; i < SINGLE_PUTS; i++) await subject.singlePut(roundSingles[i]!, values[i]!);
        });
        await subject.flush();
      }
    }
    const cases = [...new Set(subjects.flatMap((s) => s.reads.map(([c]) => c)))];
    for (let round = 0; round < ROUNDS; round++) {
      for (const caseName of cases) {
        for (const subject of rotated(round)) {
          for (const [c, label, ops, run] of subject.reads) if (c === caseName) await report.time(c, label, ops, run);
        }
      }
    }
  } finally {
    for (const subject of subjects) await subject.close();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  }

  const targets: Target[] = [
    { case: 'random gets (copy)', subject: 'LmdbEngine', baseline: 'lmdb-js getBinaryFast+slice', min: 0.7 },
    { case: 'random gets (borrow)', subject: 'LmdbEngine', baseline: 'lmdb-js getBinaryFast', min: 0.8 },
    { case: 'batched puts (1000/txn)', subject: 'LmdbEngine', baseline: 'lmdb-js (raw)', min: 0.8 },
    { case: 'random gets (copy)', subject: 'LmdbEngine', baseline: 'LevelEngine', min: 3 },
  ];
  const missed = report.print(targets);
  process.stdout.write(`results: ${report.save()}  (checksum ${sink})\n`);
  return missed;
}
