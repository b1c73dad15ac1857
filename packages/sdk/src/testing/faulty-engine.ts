import { StorageError } from '../engine/errors.js';
import type { StorageEngine, WriteOptions, WriteTransaction } from '../engine/types.js';

/** Controls of an engine made by {@link withFailingWrites}. */
export interface WriteFault {
  /**
   * Every write transaction from now on fails at its n-th put/delete/clear (0 = the first) until this is set back
   * to undefined. Single-operation writes (`engine.put`, ...) count as transactions of one operation.
   */
  failAtOperation: number | undefined;
  /** Write operations the last faulted transaction performed before failing. */
  operationsBeforeFailure: number;
  /** How many write transactions a fault ended. */
  failures: number;
}

/**
 * Wraps `engine` so a write transaction fails part-way: its n-th write operation throws StorageError('IO'), as a
 * disk error or a crash would end it. The engine's atomicity must then discard the transaction's earlier writes.
 * Reads and everything else go straight to `engine`.
 */
export function withFailingWrites<E extends StorageEngine>(engine: E): { engine: E; fault: WriteFault } {
  const fault: WriteFault = { failAtOperation: undefined, operationsBeforeFailure: 0, failures: 0 };
  const wrapTx = (tx: WriteTransaction): WriteTransaction => {
    const failAt = fault.failAtOperation;
    let ops = 0;
    let failed = false;
    const step = (): void => {
      if (failAt !== undefined && ops >= failAt) {
        if (!failed) {
          failed = true;
          fault.operationsBeforeFailure = ops;
          fault.failures++;
        }
        throw new StorageError('IO', `Injected write failure at operation ${ops}.`);
      }
      ops++;
    };
    return {
      get: (store, key) => tx.get(store, key),
      getMany: (store, keys) => tx.getMany(store, keys),
      scan: (store, options) => tx.scan(store, options),
      scanKeys: (store, options) => tx.scanKeys(store, options),
      count: (store, range) => tx.count(store, range),
      put: async (store, key, value) => {
        step();
        return tx.put(store, key, value);
      },
      delete: async (store, key) => {
        step();
        return tx.delete(store, key);
      },
      clear: async (store) => {
        step();
        return tx.clear(store);
      },
    };
  };
  const wrapped = new Proxy(engine, {
    get(target, property, receiver) {
      if (property === 'write') {
        return <T>(stores: readonly string[], fn: (tx: WriteTransaction) => Promise<T> | T, options?: WriteOptions): Promise<T> =>
          target.write(stores, (tx) => fn(wrapTx(tx)), options);
      }
      if (property === 'put') {
        return (store: string, key: Uint8Array, value: Uint8Array, options?: WriteOptions) =>
          target.write([store], (tx) => wrapTx(tx).put(store, key, value), options);
      }
      if (property === 'delete') {
        return (store: string, key: Uint8Array, options?: WriteOptions) => target.write([store], (tx) => wrapTx(tx).delete(store, key), options);
      }
      if (property === 'clear') {
        return (store: string, options?: WriteOptions) => target.write([store], (tx) => wrapTx(tx).clear(store), options);
      }
      const value: unknown = Reflect.get(target, property, receiver === wrapped ? target : receiver);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { engine: wrapped, fault };
}
