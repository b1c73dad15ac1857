/**
 * Random operation sequences run against an engine and against a plain in-memory model of the contract, step by
 * step: every read's answer, every delete's "existed" and the final contents must agree. Seeded and deterministic:
 * a failure names the seed and the step, and the same seed replays the same sequence.
 */
import { compareBytes } from '../engine/bytes.js';
import type { Entry, ReadTransaction, ScanOptions, StorageEngine, WriteTransaction } from '../engine/types.js';

/** Options of {@link checkAgainstModel}. */
export interface ModelCheckOptions {
  /** The stores to use (declared by the engine). */
  stores: readonly string[];
  /** First seed; sequences use seed, seed + 1, ... */
  seed?: number;
  sequences?: number;
  /** Steps (single operations or transactions) per sequence. */
  steps?: number;
}

/** A small xorshift PRNG: deterministic, so a seed replays its sequence. */
class Random {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    let s = this.state;
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    this.state = s >>> 0;
    return this.state / 2 ** 32;
  }
  below(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** Keys over bytes where orderings break: 0x00, 0x01, 0x7f, 0x80, 0xff, one to three bytes long. */
const KEY_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff];

function randomKey(random: Random): Uint8Array {
  const length = 1 + random.below(3);
  return Uint8Array.from({ length }, () => random.pick(KEY_BYTES));
}

function randomValue(random: Random): Uint8Array {
  return Uint8Array.from({ length: random.below(5) }, () => random.below(256));
}

const hex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

/** The contents of the stores as the contract says they are. */
class Model {
  private readonly stores = new Map<string, Map<string, { key: Uint8Array; value: Uint8Array }>>();

  constructor(stores: readonly string[]) {
    for (const store of stores) this.stores.set(store, new Map());
  }

  clone(): Model {
    const copy = new Model([]);
    for (const [store, entries] of this.stores) copy.stores.set(store, new Map(entries));
    return copy;
  }

  put(store: string, key: Uint8Array, value: Uint8Array): void {
    this.stores.get(store)!.set(hex(key), { key: key.slice(), value: value.slice() });
  }

  delete(store: string, key: Uint8Array): boolean {
    return this.stores.get(store)!.delete(hex(key));
  }

  clear(store: string): void {
    this.stores.get(store)!.clear();
  }

  get(store: string, key: Uint8Array): Uint8Array | undefined {
    return this.stores.get(store)!.get(hex(key))?.value;
  }

  scan(store: string, options: ScanOptions): Entry[] {
    const { gt, gte, lt, lte, prefix, reverse, limit } = options;
    const inRange = (key: Uint8Array): boolean =>
      (gt === undefined || compareBytes(key, gt) > 0) &&
      (gte === undefined || compareBytes(key, gte) >= 0) &&
      (lt === undefined || compareBytes(key, lt) < 0) &&
      (lte === undefined || compareBytes(key, lte) <= 0) &&
      (prefix === undefined || (key.length >= prefix.length && prefix.every((b, i) => key[i] === b)));
    const entries = [...this.stores.get(store)!.values()].filter((e) => inRange(e.key)).sort((a, b) => compareBytes(a.key, b.key));
    if (reverse === true) entries.reverse();
    return entries.slice(0, limit ?? Infinity);
  }
}

function randomScan(random: Random): ScanOptions {
  const options: ScanOptions = {};
  if (random.chance(0.3)) options[random.chance(0.5) ? 'gt' : 'gte'] = randomKey(random);
  if (random.chance(0.3)) options[random.chance(0.5) ? 'lt' : 'lte'] = randomKey(random);
  if (random.chance(0.2)) options.prefix = Uint8Array.from({ length: 1 + random.below(2) }, () => random.pick(KEY_BYTES));
  if (random.chance(0.4)) options.reverse = true;
  if (random.chance(0.3)) options.limit = random.below(5);
  return options;
}

const show = (entries: readonly Entry[]): string[] => entries.map((e) => `${hex(e.key)}=${hex(e.value)}`);
const showValue = (value: Uint8Array | undefined): string => (value === undefined ? 'absent' : hex(value));

/**
 * Reads of `reader` checked against `model`: a get, a getMany, a scan, a scanKeys and a count of random keys and
 * ranges. Throws an Error naming `where` on the first difference.
 */
async function checkReads(reader: ReadTransaction | WriteTransaction | StorageEngine, model: Model, store: string, random: Random, where: string): Promise<void> {
  const key = randomKey(random);
  const expectOne = (what: string, actual: string | string[] | number, expected: string | string[] | number): void => {
    if (JSON.stringify(actual) !== JSON.stringify(expected)) {
      throw new Error(`${where}: ${what} gave ${JSON.stringify(actual)}, the model ${JSON.stringify(expected)}`);
    }
  };
  expectOne(`get(${store}, ${hex(key)})`, showValue(await reader.get(store, key)), showValue(model.get(store, key)));
  const keys = [randomKey(random), randomKey(random)];
  expectOne(`getMany(${store}, ${keys.map(hex).join(',')})`, (await reader.getMany(store, keys)).map(showValue), keys.map((k) => showValue(model.get(store, k))));
  const scan = randomScan(random);
  const described = JSON.stringify(scan, (_, v: unknown) => (v instanceof Uint8Array ? hex(v) : v));
  expectOne(`scan(${store}, ${described})`, show(await reader.scan(store, scan)), show(model.scan(store, scan)));
  expectOne(`scanKeys(${store}, ${described})`, (await reader.scanKeys(store, scan)).map(hex), model.scan(store, scan).map((e) => hex(e.key)));
  const range = { ...scan, reverse: undefined, limit: undefined };
  expectOne(`count(${store}, ${described})`, await reader.count(store, range), model.scan(store, range).length);
}

class Aborted extends Error {}

/**
 * Runs `sequences` random sequences of `steps` operations on `engine` (which must start with the stores empty, and
 * is left holding the last sequence's data after clearing the stores before each sequence) and checks each answer
 * against the model. Steps: single puts, deletes and clears; write transactions of several operations (un-awaited
 * ones too, reads among them, some rolled back by a throw); read transactions.
 */
export async function checkAgainstModel(engine: StorageEngine, options: ModelCheckOptions): Promise<void> {
  const { stores } = options;
  const sequences = options.sequences ?? 10;
  const steps = options.steps ?? 30;
  const firstSeed = options.seed ?? 1;
  for (let seed = firstSeed; seed < firstSeed + sequences; seed++) {
    const random = new Random(seed);
    for (const store of stores) await engine.clear(store);
    let model = new Model(stores);
    for (let step = 0; step < steps; step++) {
      const where = `seed ${seed}, step ${step}`;
      const store = random.pick(stores);
      const kind = random.below(10);
      if (kind === 0) {
        const key = randomKey(random);
        const value = randomValue(random);
        await engine.put(store, key, value);
        model.put(store, key, value);
      } else if (kind === 1) {
        const key = randomKey(random);
        const existed = await engine.delete(store, key);
        const expected = model.delete(store, key);
        if (existed !== expected) throw new Error(`${where}: delete(${store}, ${hex(key)}) said ${existed}, the model ${expected}`);
      } else if (kind === 2 && random.chance(0.3)) {
        await engine.clear(store);
        model.clear(store);
      } else if (kind <= 6) {
        // A write transaction over every store: its reads see its own writes; a throw at the end rolls it back.
        const inTx = model.clone();
        const rollBack = random.chance(0.2);
        const operations = 1 + random.below(8);
        const unawaited: Promise<unknown>[] = [];
        const outcome = await engine
          .write(stores, async (tx) => {
            for (let i = 0; i < operations; i++) {
              const target = random.pick(stores);
              const op = random.below(6);
              const key = randomKey(random);
              if (op <= 1) {
                const value = randomValue(random);
                const put = tx.put(target, key, value);
                inTx.put(target, key, value);
                if (random.chance(0.5)) await put;
                else unawaited.push(put);
              } else if (op === 2) {
                const expected = inTx.delete(target, key);
                const existed = await tx.delete(target, key);
                if (existed !== expected) throw new Error(`${where} (in a write): delete(${target}, ${hex(key)}) said ${existed}, the model ${expected}`);
              } else if (op === 3 && random.chance(0.3)) {
                await tx.clear(target);
                inTx.clear(target);
              } else {
                await checkReads(tx, inTx, target, random, `${where} (in a write)`);
              }
            }
            await Promise.all(unawaited);
            if (rollBack) throw new Aborted('rolled back');
          })
          .then(
            () => undefined,
            (error: unknown) => error,
          );
        if (outcome instanceof Aborted) continue;
        if (outcome !== undefined) throw outcome;
        model = inTx;
      } else if (kind <= 8) {
        await engine.read(stores, async (tx) => {
          for (let i = 0; i < 1 + random.below(3); i++) await checkReads(tx, model, random.pick(stores), random, `${where} (in a read)`);
        });
      } else {
        await checkReads(engine, model, store, random, where);
      }
    }
    for (const store of stores) {
      const actual = show(await engine.scan(store));
      const expected = show(model.scan(store, {}));
      if (JSON.stringify(actual) !== JSON.stringify(expected)) {
        throw new Error(`seed ${seed}, end: ${store} holds ${JSON.stringify(actual)}, the model ${JSON.stringify(expected)}`);
      }
    }
  }
}
